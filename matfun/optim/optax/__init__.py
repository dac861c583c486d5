"""optax forms of the optimisers of :mod:`matfun.optim` (import explicitly; needs JAX and optax).

Same function names and options as :mod:`matfun.optim` -- :func:`sfn_series`,
:func:`exact_sfn`, :func:`adaptive`, :func:`adamqlr`, :func:`grouped_newton` -- each an
:class:`optax.GradientTransformationExtraArgs` over pytrees of parameters, called like
:func:`optax.lbfgs`::

    updates, state = opt.update(grads, state, params, value=loss, grad=grads,
                                value_fn=loss_fn, **data)
    params = optax.apply_updates(params, updates)

``value_fn`` is the objective (``extra_args`` that it accepts, e.g. a batch, are passed
to it); Hessian-vector products come from ``jax.linearize(jax.grad(value_fn))``. Every
``update`` is jit-compatible; a failed step returns zero updates and records why in
``state.status`` (:data:`STATUS`, :func:`raise_for_status`). See ``docs/optim_optax.md``.
"""

from ._common import STATUS, raise_for_status
from .adamqlr import AdamQLRState, adamqlr
from .adaptive import AdaptiveState, adaptive
from .grouped_newton import MODEL_CASES, GroupedNewtonState, grouped_newton
from .sfn import ExactSFNState, SFNSeriesState, exact_sfn, sfn_series

__all__ = ["MODEL_CASES", "STATUS", "AdamQLRState", "AdaptiveState", "ExactSFNState",
           "GroupedNewtonState", "SFNSeriesState", "adamqlr", "adaptive", "exact_sfn",
           "grouped_newton", "raise_for_status", "sfn_series"]

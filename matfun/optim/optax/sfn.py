r"""Saddle-free Newton as optax transformations: :func:`sfn_series` and :func:`exact_sfn`.

The mathematics, options and defaults are those of :func:`matfun.optim.sfn_series` and
:func:`matfun.optim.exact_sfn` (whose validation they reuse); the step is returned as
optax *updates* :math:`\delta_t = -\eta s_t + \mu \delta_{t-1}`, to be applied with
:func:`optax.apply_updates`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .. import sfn as numpy_sfn
from ._common import (
    NONFINITE,
    OK,
    SINGULAR,
    check_like,
    eigh,
    flatten_params,
    keep_on_failure,
    norm,
    step_inputs,
)
from ._series import saddle_free_series

__all__ = ["ExactSFNState", "SFNSeriesState", "exact_sfn", "sfn_series"]

_ACCELERATORS = (None, "sablonniere", "shanks")


class SFNSeriesState(NamedTuple):
    r"""State of :func:`sfn_series` (a pytree).

    Attributes
    ----------
    count : int32
        Steps taken.
    scale : array
        ``V`` for the next step (caller's units).
    update : pytree
        The previous update :math:`\delta_{t-1}`, shaped like the parameters.
    status : int32
        0, or the failure of the last step (:data:`matfun.optim.optax.STATUS`).
    info : dict
        The last step's ``loss`` (before it), ``grad_norm``, ``matvecs``, ``terms``,
        ``restarts``.
    """

    count: Any
    scale: Any
    update: Any
    status: Any
    info: dict


class ExactSFNState(NamedTuple):
    """State of :func:`exact_sfn` (a pytree): ``count``, ``update``, ``status``, ``info``.

    ``info`` holds the last step's ``loss``, ``grad_norm``, ``matvecs``,
    ``negative_eigenvalues`` and ``replaced_eigenvalues``.
    """

    count: Any
    update: Any
    status: Any
    info: dict


def sfn_series(
    *,
    learning_rate: float | Callable[[Any], Any],
    terms: int,
    order: int = 1,
    accelerate: str | None = "sablonniere",
    initial_scale: float = 100.0,
    scale: str = "paper",
    damping: float = 0.0,
    damping_kind: str = "abs",
    momentum: float = 0.0,
) -> optax.GradientTransformationExtraArgs:
    r"""Saddle-free Newton by the series of Hessian-vector products, as an optax transformation.

    The step of :func:`matfun.optim.sfn_series` (seed paper Algorithm 1):
    :math:`V \leftarrow \max(V, \|H^2 g\|/\|g\|)`, ``K`` terms of
    :math:`V^{-1/2} \sum_k c_k (I - H^2/V)^k g`, accelerated,
    :math:`\delta_t = -\eta s + \mu \delta_{t-1}`. ``g`` is the incoming ``updates``
    (the gradient when this transformation comes first) and ``H`` the Hessian of
    ``value_fn`` at ``params``, applied by ``jax.linearize(jax.grad(value_fn))``:
    ``2 max(K - 1, 1)`` products per step, plus restarts with ``scale="adaptive"``.

    Parameters
    ----------
    learning_rate : float or callable
        As :func:`matfun.optim.sfn_series`, or an optax schedule: ``learning_rate(count)``
        with ``count`` the number of steps taken (``state.count``), e.g.
        ``optax.cosine_decay_schedule``. A step whose scheduled rate is NaN or inf
        fails with ``status`` NONFINITE.
    terms, order, initial_scale, scale, damping, damping_kind, momentum
        As :func:`matfun.optim.sfn_series`.
    accelerate : {"sablonniere", "shanks"} or None
        The epsilon algorithms of :mod:`accel` on the newest ``2N + 1`` partial sums
        (Samelson inverse); the other :mod:`accel` methods have no traceable form here.

    Returns
    -------
    optax.GradientTransformationExtraArgs
        ``update(updates, state, params, *, value=None, grad=None, value_fn,
        **extra_args)``, jit-compatible. A step that fails (the series diverges with
        the paper's rule, a NaN or inf) returns zero updates and the state passed in
        with ``status`` set (:func:`~matfun.optim.optax.raise_for_status`).

    Examples
    --------
    >>> import jax.numpy as jnp, optax
    >>> from matfun.optim import optax as mo
    >>> h = jnp.array([2.0, -1.0])
    >>> def f(x): return 0.5 * jnp.sum(h * x * x)
    >>> opt = mo.sfn_series(learning_rate=1.0, terms=60, accelerate=None, initial_scale=5.0)
    >>> x = jnp.array([1.0, 0.5])
    >>> state = opt.init(x)
    >>> updates, state = opt.update(jax.grad(f)(x), state, x, value_fn=f)
    >>> [round(float(v), 4) for v in optax.apply_updates(x, updates)], int(state.info["matvecs"])
    ([0.0, 1.0], 118)
    """
    schedule = learning_rate if callable(learning_rate) else None
    reference = numpy_sfn.sfn_series(
        learning_rate=1.0 if schedule else learning_rate, terms=terms, order=order,
        accelerate="sablonniere" if accelerate is None else accelerate,
        initial_scale=initial_scale, scale=scale, damping=damping,
        damping_kind=damping_kind, momentum=momentum)
    if accelerate not in _ACCELERATORS:
        raise ValueError(f"accelerate must be one of {_ACCELERATORS} in the optax form (the "
                         f"traceable epsilon algorithms), got {accelerate!r}")
    rule = reference.update.saddle_free_rule
    rule.accelerate = accelerate
    rate = None if schedule else float(learning_rate)
    mu, lam = float(momentum), float(damping)

    def init_fn(params: Any) -> SFNSeriesState:
        x, _ = flatten_params(params, "sfn_series")
        return SFNSeriesState(jnp.asarray(0, jnp.int32), jnp.asarray(rule.initial_scale, x.dtype),
                              jax.tree_util.tree_map(jnp.zeros_like, params),
                              jnp.asarray(OK, jnp.int32), _series_info(x.dtype))

    def update_fn(updates, state, params=None, *, value=None, grad=None, value_fn=None,
                  **extra_args):
        inputs = step_inputs(updates, state, params, value, grad, value_fn, extra_args,
                             SFNSeriesState, "sfn_series")
        check_like(state.update, params, "state.update")
        result = series_direction(rule, inputs, state.scale, lam, damped=lam > 0)
        previous, _ = jax.flatten_util.ravel_pytree(state.update)
        step_rate, rate_finite = rate_at(rate, schedule, state.count, inputs.x.dtype)
        delta = -step_rate * result.direction + mu * previous.astype(inputs.x.dtype)
        status = jnp.where(inputs.finite & rate_finite, result.status,
                           NONFINITE).astype(jnp.int32)
        info = {"loss": inputs.loss, "grad_norm": norm(inputs.gradient),
                "matvecs": result.matvecs.astype(jnp.int32),
                "terms": result.terms.astype(jnp.int32),
                "restarts": result.restarts.astype(jnp.int32)}
        new = SFNSeriesState(state.count + 1,
                             jnp.where(result.scale > 0, result.scale, state.scale),
                             inputs.unravel(delta), status, info)
        return finish(status, state, new, inputs.unravel(delta), params)

    update_fn.saddle_free_rule = rule
    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def exact_sfn(
    *,
    learning_rate: float | Callable[[Any], Any] = 1.0,
    threshold: float = 1e-4,
    replacement: float | None = None,
    momentum: float = 0.0,
) -> optax.GradientTransformationExtraArgs:
    r"""Exact saddle-free Newton from the dense Hessian's eigendecomposition, as optax.

    :math:`s = Q \tilde\Lambda^{-1} Q^T g`, :math:`\tilde\lambda_i = |\lambda_i|`, or
    ``replacement`` where :math:`|\lambda_i| <` ``threshold``;
    :math:`\delta_t = -\eta s + \mu\delta_{t-1}` (:func:`matfun.optim.exact_sfn`). The
    Hessian is built from ``p`` Hessian-vector products (``jax.vmap`` over the unit
    vectors) and symmetrised; ``jnp.linalg.eigh`` decomposes it. Small models only.
    ``learning_rate`` may be an optax schedule, as in :func:`sfn_series`.

    Returns
    -------
    optax.GradientTransformationExtraArgs
        As :func:`sfn_series`; a singular curvature (``threshold = 0`` and a zero
        eigenvalue) sets ``status`` instead of raising.

    Examples
    --------
    >>> import jax, jax.numpy as jnp, optax
    >>> from matfun.optim import optax as mo
    >>> h = jnp.array([2.0, -1.0])
    >>> def f(x): return 0.5 * jnp.sum(h * x * x)
    >>> opt = mo.exact_sfn()
    >>> x = jnp.array([1.0, 0.5])
    >>> updates, state = opt.update(jax.grad(f)(x), opt.init(x), x, value_fn=f)
    >>> [float(v) for v in optax.apply_updates(x, updates)]
    [0.0, 1.0]
    """
    schedule = learning_rate if callable(learning_rate) else None
    reference = numpy_sfn.exact_sfn(learning_rate=1.0 if schedule else learning_rate,
                                    threshold=threshold, replacement=replacement,
                                    momentum=momentum)
    rule = reference.update.saddle_free_rule
    rate, mu = (None if schedule else float(learning_rate)), float(momentum)

    def init_fn(params: Any) -> ExactSFNState:
        x, _ = flatten_params(params, "exact_sfn")
        return ExactSFNState(jnp.asarray(0, jnp.int32),
                             jax.tree_util.tree_map(jnp.zeros_like, params),
                             jnp.asarray(OK, jnp.int32), _exact_info(x.dtype))

    def update_fn(updates, state, params=None, *, value=None, grad=None, value_fn=None,
                  **extra_args):
        inputs = step_inputs(updates, state, params, value, grad, value_fn, extra_args,
                             ExactSFNState, "exact_sfn")
        check_like(state.update, params, "state.update")
        proposal = exact_direction(rule, inputs, 0.0)
        previous, _ = jax.flatten_util.ravel_pytree(state.update)
        step_rate, rate_finite = rate_at(rate, schedule, state.count, inputs.x.dtype)
        delta = -step_rate * proposal.direction + mu * previous.astype(inputs.x.dtype)
        status = jnp.where(inputs.finite & rate_finite, proposal.status,
                           NONFINITE).astype(jnp.int32)
        info = {"loss": inputs.loss, "grad_norm": norm(inputs.gradient),
                "matvecs": jnp.asarray(inputs.x.size, jnp.int32),
                "negative_eigenvalues": proposal.negative, "replaced_eigenvalues":
                proposal.replaced}
        new = ExactSFNState(state.count + 1, inputs.unravel(delta), status, info)
        return finish(status, state, new, inputs.unravel(delta), params)

    update_fn.saddle_free_rule = rule
    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def rate_at(rate: float | None, schedule: Callable | None, count: Any, dtype: Any):
    """``(learning rate of this step, whether it is finite)``: ``rate``, or ``schedule(count)``."""
    if schedule is None:
        return rate, True
    value = jnp.asarray(schedule(count), dtype)
    if value.shape != ():
        raise ValueError(f"learning_rate(count) must be a scalar, got shape {value.shape}")
    return value, jnp.isfinite(value)


def finish(status: Any, state: Any, new: Any, updates: Any, params: Any):
    """``(updates, new)``, or ``(0, state with status)`` when ``status`` is a failure."""
    failed = status != OK
    kept = state._replace(status=status, info=new.info) if "info" in state._fields \
        else state._replace(status=status)
    new_state = keep_on_failure(failed, kept, new)
    zeros = jax.tree_util.tree_map(jnp.zeros_like, updates)
    updates = keep_on_failure(failed, zeros, updates)
    updates = jax.tree_util.tree_map(lambda u, p: u.astype(jnp.result_type(p)), updates, params)
    return updates, new_state


def series_direction(rule: Any, inputs: Any, scale: Any, damping: Any, *, damped: bool):
    """The series rule's direction on the flat inputs (:func:`saddle_free_series`)."""
    return saddle_free_series(
        inputs.linearized_hvp(), inputs.direction, initial_scale=scale, damping=damping,
        terms=rule.terms, order=rule.order, accelerate=rule.accelerate,
        adaptive=rule.scale == "adaptive", damping_kind=rule.damping_kind, damped=damped)


class ExactProposal(NamedTuple):
    direction: Any
    status: Any
    negative: Any
    replaced: Any
    hessian: Any  # this step's (symmetrised) Hessian
    averaged: Any  # the matrix that was inverted
    model_eigenvalues: Any  # |eigenvalues| + damping of this step's Hessian (2x2 model)
    model_vectors: Any


def exact_direction(rule: Any, inputs: Any, damping: Any, *, average: Any = None,
                    ema: float = 0.0, has_average: Any = False) -> ExactProposal:
    """``Q (|Lambda| + lam, small ones replaced)^{-1} Q^T g`` from ``p`` HVPs."""
    x = inputs.x
    hvp = inputs.linearized_hvp()
    rows = jax.vmap(hvp)(jnp.eye(x.size, dtype=x.dtype))
    hessian = 0.5 * (rows + rows.T)
    averaged = hessian
    if ema > 0.0:
        averaged = jnp.where(has_average, ema * average + (1 - ema) * hessian, hessian)
    eigenvalues, vectors = eigh(averaged)
    magnitude = jnp.abs(eigenvalues) + damping
    small = magnitude < rule.threshold
    magnitude = jnp.where(small, jnp.asarray(rule.replacement, x.dtype), magnitude)
    singular = ~(jnp.min(magnitude) > 0)
    safe = jnp.where(magnitude > 0, magnitude, jnp.ones_like(magnitude))
    direction = vectors @ ((inputs.direction @ vectors) / safe)
    finite = jnp.all(jnp.isfinite(direction)) & jnp.all(jnp.isfinite(rows))
    status = jnp.where(~jnp.all(jnp.isfinite(rows)), NONFINITE,
                       jnp.where(singular | ~finite, SINGULAR, OK))
    if ema > 0.0:
        model_eigenvalues, model_vectors = eigh(hessian)
    else:
        model_eigenvalues, model_vectors = eigenvalues, vectors
    return ExactProposal(
        jnp.where(status == OK, direction, jnp.zeros_like(direction)), status,
        jnp.sum(eigenvalues < 0).astype(jnp.int32), jnp.sum(small).astype(jnp.int32),
        hessian, averaged, jnp.abs(model_eigenvalues) + damping, model_vectors)


def _series_info(dtype) -> dict:
    zero = jnp.asarray(0, jnp.int32)
    return {"loss": jnp.zeros((), dtype), "grad_norm": jnp.zeros((), dtype), "matvecs": zero,
            "terms": zero, "restarts": zero}


def _exact_info(dtype) -> dict:
    zero = jnp.asarray(0, jnp.int32)
    return {"loss": jnp.zeros((), dtype), "grad_norm": jnp.zeros((), dtype), "matvecs": zero,
            "negative_eigenvalues": zero, "replaced_eigenvalues": zero}

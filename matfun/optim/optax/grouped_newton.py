r"""Grouped Newton (seed 001) as an optax transformation, one group per pytree leaf by default.

The step of :func:`matfun.optim.grouped_newton`: with the direction ``u`` (the
incoming ``updates``, or their moving average) restricted to each group,
:math:`\bar H_{st} = u_s^T H u_t` (``S`` Hessian-vector products, ``jax.vmap`` of
``jax.linearize(jax.grad(value_fn))``), :math:`\bar g_s = g^T u_s`, and per-group
learning rates from :math:`\bar H \eta = \bar g` (minimum norm in equilibrated
variables, traceable) or, with ``cubic > 0``, from the anisotropic cubic model with
:math:`d_s = D^3 f[u_s, u_s, u_s]` (nested ``jax.jvp``).

The cubic model's minimiser is the host solver of :mod:`matfun.optim._cubic` (an
eigendecomposition of the small ``S x S`` matrix and a scalar root search, with
branches on the data): it is called through :func:`jax.pure_callback`, so a jitted step
synchronises once with the host and copies ``S^2 + 2S`` numbers each way. Without the
cubic term (``cubic = 0``) the step has no callback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._cubic import UnboundedModelError, minimize_cubic_model
from ..grouped_newton import _checked_groups, _labels
from ..grouped_newton import grouped_newton as numpy_grouped_newton
from ._common import NONFINITE, OK, UNBOUNDED, check_like, eigh, flatten_params, norm, step_inputs
from .sfn import finish

__all__ = ["MODEL_CASES", "GroupedNewtonState", "grouped_newton"]

#: Meaning of ``info["model"]``: how the learning rates were found.
MODEL_CASES = ("zero", "linear", "quadratic", "interior", "easy", "hard")


class GroupedNewtonState(NamedTuple):
    r"""State of :func:`grouped_newton` (a pytree).

    Attributes
    ----------
    count : int32
    direction : pytree
        The averaged direction ``u`` of the last step, shaped like the parameters.
    status : int32
    info : dict
        The last step's ``loss``, ``grad_norm``, ``matvecs`` (``S`` products computed),
        ``learning_rates`` (:math:`\eta`, shape ``(S,)``, before the damping factor),
        ``third`` (:math:`d_s`, zeros without the cubic term) and ``model`` (an index
        into :data:`MODEL_CASES`).
    """

    count: Any
    direction: Any
    status: Any
    info: dict


def grouped_newton(
    *,
    groups: Sequence[Any] | None = None,
    damping: float = 1.0,
    cubic: float = 0.0,
    momentum: float = 0.0,
) -> optax.GradientTransformationExtraArgs:
    r"""Grouped Newton with per-group learning rates (seed 001), as an optax transformation.

    Parameters
    ----------
    groups : sequence of slices or integer index sequences, optional
        A partition of the flat parameter vector (the order of
        :func:`jax.flatten_util.ravel_pytree`, i.e. of the pytree's leaves); default one
        group per (non-empty) leaf.
    damping, cubic, momentum
        As :func:`matfun.optim.grouped_newton`.

    Returns
    -------
    optax.GradientTransformationExtraArgs
        A step whose cubic model is unbounded (the NumPy form's
        :class:`~matfun.optim._cubic.UnboundedModelError`) returns zero updates with
        ``status`` set.

    Examples
    --------
    On a quadratic with one group per leaf (here per coordinate), one step is Newton's:

    >>> import jax, jax.numpy as jnp, optax
    >>> from matfun.optim import optax as mo
    >>> A = jnp.array([[3.0, 1.0], [1.0, 2.0]])
    >>> def f(p): x = jnp.stack([p["a"], p["b"]]); return 0.5 * x @ A @ x
    >>> params = {"a": jnp.array(1.0), "b": jnp.array(-2.0)}
    >>> opt = mo.grouped_newton()
    >>> updates, state = opt.update(jax.grad(f)(params), opt.init(params), params, value_fn=f)
    >>> new = optax.apply_updates(params, updates)
    >>> round(float(new["a"]), 5) == 0.0 and round(float(new["b"]), 5) == 0.0
    True
    """
    numpy_grouped_newton(groups=[slice(None)] if groups is None else groups, damping=damping,
                         cubic=cubic, momentum=momentum)  # the same checks and messages
    group_list = None if groups is None else _checked_groups(groups)
    factor, lam, beta = float(damping), float(cubic), float(momentum)

    def labels_for(params: Any, x: Any) -> np.ndarray:
        if group_list is not None:
            return _labels(group_list, x.size)
        sizes = [int(np.size(leaf)) for leaf in jax.tree_util.tree_leaves(params)]
        kept = [size for size in sizes if size > 0]
        return np.repeat(np.arange(len(kept)), kept)

    def init_fn(params: Any) -> GroupedNewtonState:
        x, _ = flatten_params(params, "grouped_newton")
        size = int(labels_for(params, x).max()) + 1
        return GroupedNewtonState(jnp.asarray(0, jnp.int32),
                                  jax.tree_util.tree_map(jnp.zeros_like, params),
                                  jnp.asarray(OK, jnp.int32), _info(x.dtype, size))

    def update_fn(updates, state, params=None, *, value=None, grad=None, value_fn=None,
                  **extra_args):
        inputs = step_inputs(updates, state, params, value, grad, value_fn, extra_args,
                             GroupedNewtonState, "grouped_newton")
        check_like(state.direction, params, "state.direction")
        x = inputs.x
        dtype = x.dtype
        labels = labels_for(params, x)
        size = int(labels.max()) + 1
        if state.info["learning_rates"].shape != (size,):
            raise ValueError(f"state has {state.info['learning_rates'].shape[0]} groups, the "
                             f"partition of params has {size}: a state of another problem?")
        previous, _ = jax.flatten_util.ravel_pytree(state.direction)
        u = jnp.where(state.count == 0, inputs.direction,
                      beta * previous.astype(dtype) + (1 - beta) * inputs.direction)
        member = jnp.asarray(labels)[None, :] == jnp.arange(size)[:, None]
        pieces = jnp.where(member, u[None, :], jnp.zeros((), dtype))
        active = jnp.max(jnp.abs(pieces), axis=1) > 0
        hvp = inputs.linearized_hvp()
        products = jax.vmap(hvp)(pieces)
        summary = pieces @ products.T
        summary = 0.5 * (summary + summary.T)
        g_bar = pieces @ inputs.gradient
        finite = jnp.all(jnp.isfinite(products))
        if lam > 0:
            gradient_fn = jax.grad(inputs.objective)

            def third_derivative(v):
                def along(w):
                    return jax.jvp(gradient_fn, (w,), (v,))[1]
                return jax.jvp(along, (x,), (v,))[1] @ v

            third = jax.vmap(third_derivative)(pieces)
            finite = finite & jnp.all(jnp.isfinite(third))
            eta, case, status = _cubic_rates(summary, g_bar, third, active, lam)
        else:
            third = jnp.zeros(size, dtype)
            eta = _least_norm_rates(summary, g_bar, active)
            case = jnp.where(jnp.any(active), 1, 0)
            status = jnp.asarray(OK)
        eta = jnp.where(active, eta, jnp.zeros_like(eta))
        step = factor * eta[jnp.asarray(labels)] * u
        status = jnp.where(inputs.finite & finite, status, NONFINITE).astype(jnp.int32)
        info = {"loss": inputs.loss, "grad_norm": norm(inputs.gradient),
                "matvecs": jnp.asarray(size, jnp.int32), "learning_rates": eta.astype(dtype),
                "third": third.astype(dtype), "model": jnp.asarray(case, jnp.int32)}
        new = GroupedNewtonState(state.count + 1, inputs.unravel(u), status, info)
        return finish(status, state, new, inputs.unravel(-step), params)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def _least_norm_rates(summary: Any, g_bar: Any, active: Any) -> Any:
    """``Hbar^+ gbar`` in equilibrated variables (:func:`matfun.optim.grouped_newton`'s rule)."""
    dtype = summary.dtype
    diagonal = jnp.abs(jnp.diag(summary))
    scale = jnp.where(diagonal > 0, jnp.sqrt(jnp.where(diagonal > 0, diagonal, 1.0)), 1.0)
    c = jnp.exp2(-jnp.round(jnp.log2(scale)))
    eigenvalues, vectors = eigh(c[:, None] * summary * c[None, :])
    count = jnp.sum(active).astype(dtype)
    cutoff = count * jnp.finfo(dtype).eps * jnp.max(jnp.abs(eigenvalues))
    keep = jnp.abs(eigenvalues) > cutoff
    coefficients = jnp.where(keep, (vectors.T @ (c * g_bar))
                             / jnp.where(keep, eigenvalues, 1.0), 0.0)
    return c * (vectors @ coefficients)


def _cubic_rates(summary: Any, g_bar: Any, third: Any, active: Any, lam: float):
    """The cubic model's minimiser on the host (:func:`jax.pure_callback`)."""
    dtype = summary.dtype
    size = g_bar.shape[0]

    def host(summary, g_bar, third, active):
        summary, g_bar, third = (np.asarray(a, dtype=np.float64) for a in (summary, g_bar,
                                                                             third))
        active = np.asarray(active, dtype=bool)
        eta = np.zeros(size)
        case, status = 0, OK
        if active.any():
            try:
                solution = minimize_cubic_model(
                    summary[np.ix_(active, active)], g_bar[active],
                    np.abs(third[active]) ** (1.0 / 3.0), cubic=lam)
                eta[active] = solution.eta
                case = MODEL_CASES.index(solution.case)
            except UnboundedModelError:
                status = UNBOUNDED
        return (eta.astype(dtype), np.asarray(case, np.int32), np.asarray(status, np.int32))

    shapes = (jax.ShapeDtypeStruct((size,), dtype), jax.ShapeDtypeStruct((), jnp.int32),
              jax.ShapeDtypeStruct((), jnp.int32))
    return jax.pure_callback(host, shapes, summary, g_bar, third, active,
                             vmap_method="sequential")


def _info(dtype: Any, size: int) -> dict:
    zero = jnp.zeros((), dtype)
    return {"loss": zero, "grad_norm": zero, "matvecs": jnp.asarray(0, jnp.int32),
            "learning_rates": jnp.zeros(size, dtype), "third": jnp.zeros(size, dtype),
            "model": jnp.asarray(0, jnp.int32)}

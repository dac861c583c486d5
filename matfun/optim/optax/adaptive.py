r"""K-FAC's adaptive learning rate, momentum and damping around an optax SFN step.

The step of :func:`matfun.optim.adaptive`: the update
:math:`\delta = -\alpha s + \mu \delta_0` minimises the damped saddle-free model on the
span of the proposal and the previous update (a 2x2 solve, branch-free here), the
damping follows the Levenberg-Marquardt rule with the reduction ratio
:math:`\rho = (f(w + \delta) - f(w)) / M(\delta)`, and a step whose loss is not finite
is rejected (zero updates, :math:`\lambda \leftarrow \lambda/\omega`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._base import Optimizer
from .._saddle_free_rules import ExactRule, SeriesRule
from ..adaptive import adaptive as numpy_adaptive
from ._common import NONFINITE, OK, check_like, flatten_params, norm, step_inputs
from .sfn import _ACCELERATORS, exact_direction, finish, series_direction

__all__ = ["AdaptiveState", "adaptive"]

_COLLINEAR = 1e-12  # as matfun.optim.adaptive


class AdaptiveState(NamedTuple):
    r"""State of :func:`adaptive` (a pytree).

    Attributes
    ----------
    count : int32
    damping : array
        :math:`\lambda` for the next step.
    update : pytree
        The previous update :math:`\delta_0` (zero at the start and after a rejection).
    aux : array
        ``V`` for the series; the averaged Hessian (``p x p``) for exact SFN with
        ``curvature_ema > 0``; an unused 0 otherwise.
    status : int32
    info : dict
        The last step's ``loss``, ``grad_norm``, ``matvecs``, ``learning_rate``
        (:math:`\alpha`), ``momentum`` (:math:`\mu`), ``damping`` (used), ``rho`` (NaN
        where none was measured), ``predicted_change``, ``rejected``.
    """

    count: Any
    damping: Any
    update: Any
    aux: Any
    status: Any
    info: dict


def adaptive(
    base: Any,
    *,
    initial_damping: float = 1.0,
    omega: float = 0.95,
    curvature_ema: float = 0.0,
    min_damping: float = 1e-8,
    max_damping: float = 1e8,
) -> optax.GradientTransformationExtraArgs:
    r"""Adaptive learning rate, momentum and damping (K-FAC) for an optax SFN transformation.

    Parameters
    ----------
    base
        Made by :func:`matfun.optim.optax.sfn_series` or
        :func:`matfun.optim.optax.exact_sfn` (or their NumPy forms): its direction
        settings are used, its learning rate, momentum and damping replaced.
    initial_damping, omega, curvature_ema, min_damping, max_damping
        As :func:`matfun.optim.adaptive`.

    Returns
    -------
    optax.GradientTransformationExtraArgs
        Each step spends the base method's HVPs, one more for the series' momentum
        term (from the second step on), and one extra value of ``value_fn``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp, optax
    >>> from matfun.optim import optax as mo
    >>> h = jnp.array([2.0, -1.0])
    >>> def f(x): return 0.5 * jnp.sum(h * x * x)
    >>> opt = mo.adaptive(mo.exact_sfn(), initial_damping=1e-3)
    >>> x = jnp.array([1.0, 0.5])
    >>> state = opt.init(x)
    >>> for _ in range(3):
    ...     updates, state = opt.update(jax.grad(f)(x), state, x, value_fn=f)
    ...     x = optax.apply_updates(x, updates)
    >>> bool(abs(x[0]) < 1e-3 and abs(x[1]) > 1.0)     # float32, JAX's default
    True
    """
    update = getattr(base, "update", None)
    rule = getattr(update, "saddle_free_rule", None)
    if not isinstance(rule, ExactRule | SeriesRule):
        raise TypeError("base must be a transformation made by sfn_series or exact_sfn "
                        f"(matfun.optim.optax or matfun.optim), got {type(base).__name__}")
    numpy_adaptive(Optimizer(base.init, update, "base"),
                            initial_damping=initial_damping, omega=omega,
                            curvature_ema=curvature_ema, min_damping=min_damping,
                            max_damping=max_damping)  # the same checks and messages
    series = isinstance(rule, SeriesRule)
    if series and rule.accelerate not in _ACCELERATORS:
        raise ValueError(f"base's accelerate must be one of {_ACCELERATORS} in the optax "
                         f"form, got {rule.accelerate!r}")
    lam0, factor, ema = float(initial_damping), float(omega), float(curvature_ema)
    low, high = float(min_damping), float(max_damping)

    def init_fn(params: Any) -> AdaptiveState:
        x, _ = flatten_params(params, "adaptive")
        if series:
            aux = jnp.asarray(rule.initial_scale, x.dtype)
        elif ema > 0:
            aux = jnp.zeros((x.size, x.size), x.dtype)
        else:
            aux = jnp.zeros((), x.dtype)
        return AdaptiveState(jnp.asarray(0, jnp.int32), jnp.asarray(lam0, x.dtype),
                             jax.tree_util.tree_map(jnp.zeros_like, params), aux,
                             jnp.asarray(OK, jnp.int32), _info(x.dtype))

    def update_fn(updates, state, params=None, *, value=None, grad=None, value_fn=None,
                  **extra_args):
        inputs = step_inputs(updates, state, params, value, grad, value_fn, extra_args,
                             AdaptiveState, "adaptive")
        check_like(state.update, params, "state.update")
        dtype = inputs.x.dtype
        lam = state.damping
        previous, _ = jax.flatten_util.ravel_pytree(state.update)
        previous = previous.astype(dtype)
        g = inputs.gradient
        has_previous = jnp.max(jnp.abs(previous)) > 0
        if series:
            result = series_direction(rule, inputs, state.aux, lam, damped=True)
            s, status, aux = result.direction, result.status, jnp.where(
                result.scale > 0, result.scale, state.aux)
            hvp = inputs.linearized_hvp()
            g11 = jax.lax.cond(has_previous, lambda p: _curvature_bound(
                rule.damping_kind, hvp(p), p, lam), lambda p: jnp.zeros((), dtype), previous)
            linear0, linear1 = -(g @ s), g @ previous
            g00, g01 = -linear0, -linear1
            matvecs = result.matvecs + jnp.where(has_previous, 1, 0)
        else:
            proposal = exact_direction(rule, inputs, lam, average=state.aux, ema=ema,
                                       has_average=state.count > 0)
            s, status = proposal.direction, proposal.status
            aux = proposal.averaged if ema > 0 else state.aux

            def curvature(v):
                vectors = proposal.model_vectors
                return vectors @ (proposal.model_eigenvalues * (v @ vectors))

            step = -s
            linear0, linear1 = -(g @ s), g @ previous
            g00 = step @ curvature(step)
            c_previous = curvature(previous)
            g01 = jnp.where(has_previous, step @ c_previous, 0.0)
            g11 = jnp.where(has_previous, previous @ c_previous, 0.0)
            matvecs = jnp.asarray(inputs.x.size)
        alpha, mu = _minimise_2x2(g00, g01, g11, linear0, linear1)
        delta = (-alpha) * s + mu * previous
        predicted = (alpha * linear0 + mu * linear1
                     + 0.5 * (alpha**2 * g00 + 2 * alpha * mu * g01 + mu**2 * g11))
        new_loss = jnp.asarray(inputs.objective(inputs.x + delta)).astype(dtype)
        rejected = ~jnp.isfinite(new_loss)
        measured = ~rejected & (predicted < 0)
        rho = jnp.where(measured, (new_loss - inputs.loss) / jnp.where(measured, predicted,
                                                                      1.0), jnp.nan)
        adapted = jnp.where(rho > 0.75, lam * factor, jnp.where(rho < 0.25, lam / factor, lam))
        new_lam = jnp.where(rejected, jnp.minimum(lam / factor, high),
                            jnp.where(measured, jnp.clip(adapted, low, high), lam))
        delta = jnp.where(rejected, jnp.zeros_like(delta), delta)
        status = jnp.where(inputs.finite, status, NONFINITE).astype(jnp.int32)
        info = {"loss": inputs.loss, "grad_norm": norm(g), "matvecs": matvecs.astype(jnp.int32),
                "learning_rate": alpha.astype(dtype), "momentum": mu.astype(dtype),
                "damping": lam, "rho": rho.astype(dtype),
                "predicted_change": predicted.astype(dtype), "rejected": rejected}
        new = AdaptiveState(state.count + 1, new_lam.astype(dtype), inputs.unravel(delta),
                            aux.astype(dtype), status, info)
        return finish(status, state, new, inputs.unravel(delta), params)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def _curvature_bound(kind: str, product: Any, delta: Any, damping: Any) -> Any:
    """Upper bound on ``delta^T C delta``.

    As :meth:`matfun.optim._saddle_free_rules.SeriesRule.curvature_bound`.
    """
    delta_norm = norm(delta)
    if kind == "shift":
        return norm(product + damping * delta) * delta_norm
    product_norm = norm(product)
    if kind == "square":
        return jnp.sqrt(product_norm**2 + damping * delta_norm**2) * delta_norm
    return product_norm * delta_norm + damping * delta_norm**2


def _minimise_2x2(g00, g01, g11, linear0, linear1):
    """``(alpha, mu)`` of :func:`matfun.optim.adaptive._minimise_2x2`, branch-free."""
    descent = (g00 > 0) & (linear0 < 0)
    det = g00 * g11 - g01 * g01
    one_dimensional = (g11 <= 0) | (det <= _COLLINEAR * g00 * g11)
    safe_g00 = jnp.where(descent, g00, 1.0)
    safe_det = jnp.where(one_dimensional, 1.0, det)
    alpha_1d = -linear0 / safe_g00
    alpha_2d = -(g11 * linear0 - g01 * linear1) / safe_det
    mu_2d = -(g00 * linear1 - g01 * linear0) / safe_det
    alpha = jnp.where(descent, jnp.where(one_dimensional, alpha_1d, alpha_2d), 0.0)
    mu = jnp.where(descent & ~one_dimensional, mu_2d, 0.0)
    return alpha, mu


def _info(dtype) -> dict:
    zero = jnp.zeros((), dtype)
    return {"loss": zero, "grad_norm": zero, "matvecs": jnp.asarray(0, jnp.int32),
            "learning_rate": zero, "momentum": zero, "damping": zero,
            "rho": jnp.full((), jnp.nan, dtype), "predicted_change": zero,
            "rejected": jnp.asarray(False)}

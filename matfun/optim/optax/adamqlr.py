r"""AdamQLR as an optax transformation: Adam's direction, a damped quadratic model's step.

The step of :func:`matfun.optim.adamqlr` (seed 003), leaf by leaf over the parameter
pytree (no flattening, so the Adam part costs what :func:`optax.adam` costs):

.. math::

    d_t = -\frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}, \qquad
    \alpha_t = \frac{-g_t^T d_t}{d_t^T H d_t + \lambda d_t^T d_t}, \qquad
    \delta_t = \alpha_t d_t,

one Hessian-vector product (``jax.jvp`` of ``jax.grad(value_fn)``) and one extra value
(``value_fn`` at the trial point, for the reduction ratio of the Levenberg-Marquardt
rule) per step.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from ..adamqlr import _check_guard as check_guard
from ..adamqlr import adamqlr as numpy_adamqlr
from ._common import NONFINITE, OK, check_like, flatten_params, keep_on_failure, working_dtype
from ._common import _value_fn_kwargs as value_fn_kwargs

__all__ = ["AdamQLRState", "adamqlr"]


class AdamQLRState(NamedTuple):
    r"""State of :func:`adamqlr` (a pytree).

    Attributes
    ----------
    count : int32
    first_moment, second_moment : pytree
        Adam's moments, shaped like the parameters.
    damping : array
        :math:`\lambda` for the next step.
    status : int32
        0, or :data:`matfun.optim.optax.STATUS` of the last step.
    info : dict
        The last step's ``loss``, ``grad_norm``, ``matvecs`` (1), ``learning_rate``
        (:math:`\alpha`), ``damping`` (used), ``rho`` (NaN where none was measured:
        the NumPy form's ``None``), ``predicted_change`` and ``rejected``.
    """

    count: Any
    first_moment: Any
    second_moment: Any
    damping: Any
    status: Any
    info: dict


def adamqlr(
    *,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    initial_damping: float = 1.0,
    omega: float = 0.95,
    curvature: str = "hessian",
    min_damping: float = 1e-8,
    max_damping: float = 1e8,
) -> optax.GradientTransformationExtraArgs:
    r"""AdamQLR (seed 003) as an optax transformation.

    Options as :func:`matfun.optim.adamqlr`; ``curvature`` must be ``"hessian"`` (the
    optax form sees only ``value_fn``, which has no Gauss-Newton split). Adam's
    moments are fed ``updates``; the model's slope and the gradient norm use ``grad``
    (default ``updates``). A trial point whose value is not finite is rejected as in
    the NumPy form: zero updates, :math:`\lambda \leftarrow \lambda/\omega`, the
    moments still advance.

    Returns
    -------
    optax.GradientTransformationExtraArgs

    Examples
    --------
    >>> import jax, jax.numpy as jnp, optax
    >>> from matfun.optim import optax as mo
    >>> h = jnp.array([1.0, 4.0])
    >>> def f(x): return 0.5 * jnp.sum(h * x * x)
    >>> opt = mo.adamqlr(initial_damping=1e-8)
    >>> x = jnp.array([1.0, 1.0])
    >>> updates, state = opt.update(jax.grad(f)(x), opt.init(x), x, value_fn=f)
    >>> round(float(state.info["learning_rate"]), 4), round(float(state.info["rho"]), 4)
    (1.0, 1.0)
    """
    numpy_adamqlr(b1=b1, b2=b2, eps=eps, initial_damping=initial_damping,
                          omega=omega, curvature=curvature, min_damping=min_damping,
                          max_damping=max_damping)  # the same checks, the same messages
    if curvature != "hessian":
        raise ValueError("curvature must be 'hessian' in the optax form (value_fn has no "
                         f"Gauss-Newton split), got {curvature!r}")
    beta1, beta2, guard = float(b1), float(b2), float(eps)
    lam0, factor = float(initial_damping), float(omega)
    low, high = float(min_damping), float(max_damping)

    def init_fn(params: Any) -> AdamQLRState:
        x, _ = flatten_params(params, "adamqlr")
        check_guard(jnp, guard, x.dtype)  # static: the dtype is known when tracing
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        return AdamQLRState(jnp.asarray(0, jnp.int32), zeros, zeros,
                            jnp.asarray(lam0, x.dtype), jnp.asarray(OK, jnp.int32),
                            _info(x.dtype))

    def update_fn(updates, state, params=None, *, value=None, grad=None, value_fn=None,
                  **extra_args):
        if not isinstance(state, AdamQLRState):
            raise TypeError("state must be the AdamQLRState returned by adamqlr's "
                            f"init(params), got {type(state).__name__}")
        if value_fn is None or not callable(value_fn):
            raise TypeError("adamqlr.update needs value_fn=, the objective (a callable "
                            f"params -> scalar, as for optax.lbfgs), got {value_fn!r}")
        fn_kwargs = value_fn_kwargs(value_fn, extra_args, "adamqlr")
        x, _ = flatten_params(params, "adamqlr")
        for tree, what in ((updates, "updates"), (state.first_moment, "state.first_moment"),
                           (state.second_moment, "state.second_moment")):
            check_like(tree, params, what)
        if grad is not None:
            check_like(grad, params, "grad")
        gradient = updates if grad is None else grad

        def objective(p):
            return value_fn(p, **fn_kwargs)

        loss = jnp.asarray(objective(params) if value is None else value)
        if loss.ndim != 0:
            raise ValueError(f"value must be a scalar (the objective at params), got shape "
                             f"{loss.shape}")
        dtype = x.dtype
        loss = loss.astype(dtype)
        t = state.count + 1
        m = jax.tree_util.tree_map(lambda m, g: beta1 * m + (1 - beta1) * g,
                                   state.first_moment, updates)
        v = jax.tree_util.tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g,
                                   state.second_moment, updates)
        # In float32 at least: bfloat16 rounds b2 = 0.999 to 1, and 1 - 1^t = 0.
        work = working_dtype(dtype)
        bias1 = (1 - jnp.power(jnp.asarray(beta1, work), t)).astype(dtype)
        bias2 = (1 - jnp.power(jnp.asarray(beta2, work), t)).astype(dtype)
        d = jax.tree_util.tree_map(lambda m, v: -(m / bias1) / (jnp.sqrt(v / bias2) + guard),
                                   m, v)
        _, product = jax.jvp(jax.grad(objective), (params,), (d,))
        slope = _tree_vdot(gradient, d)
        curvature_d = _tree_vdot(d, product)
        length = _tree_vdot(d, d)
        lam = state.damping
        negative = (length > 0) & (curvature_d + lam * length <= 0)
        safe_length = jnp.where(length > 0, length, 1.0)
        lam = jnp.where(negative, jnp.minimum(jnp.maximum(2.0 * -curvature_d / safe_length,
                                                          lam), high), lam)
        denominator = curvature_d + lam * length
        usable = (length > 0) & (denominator > 0)
        alpha = jnp.where(usable, -slope / jnp.where(usable, denominator, 1.0), 0.0)
        predicted = alpha * slope + 0.5 * alpha**2 * denominator
        step = jax.tree_util.tree_map(lambda d: alpha * d, d)
        new_loss = jnp.asarray(objective(optax.apply_updates(params, step))).astype(dtype)
        rejected = ~jnp.isfinite(new_loss)
        measured = ~rejected & (predicted < 0)
        rho = jnp.where(measured, (new_loss - loss) / jnp.where(measured, predicted, 1.0),
                        jnp.nan)
        adapted = jnp.where(rho > 0.75, lam * factor, jnp.where(rho < 0.25, lam / factor, lam))
        new_lam = jnp.where(rejected, jnp.minimum(lam / factor, high),
                            jnp.where(measured, jnp.clip(adapted, low, high), lam))
        finite = (jnp.isfinite(loss) & _tree_finite(gradient) & _tree_finite(updates)
                  & _tree_finite(params) & _tree_finite(product))
        status = jnp.where(finite, OK, NONFINITE).astype(jnp.int32)
        step = keep_on_failure(rejected, jax.tree_util.tree_map(jnp.zeros_like, step), step)
        info = {"loss": loss, "grad_norm": jnp.sqrt(_tree_vdot(gradient, gradient)).astype(dtype),
                "matvecs": jnp.asarray(1, jnp.int32), "learning_rate": alpha.astype(dtype),
                "damping": lam.astype(dtype), "rho": rho.astype(dtype),
                "predicted_change": predicted.astype(dtype), "rejected": rejected}
        new = AdamQLRState(t, m, v, new_lam.astype(dtype), status, info)
        failed = status != OK
        new = keep_on_failure(failed, state._replace(status=status, info=info), new)
        step = keep_on_failure(failed, jax.tree_util.tree_map(jnp.zeros_like, step), step)
        return step, new

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def _tree_vdot(a: Any, b: Any) -> Any:
    """``sum_leaves <a, b>`` (own helper: ``optax.tree`` needs optax >= 0.2.5)."""
    pairs = zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True)
    return sum(jnp.vdot(x, y) for x, y in pairs)


def _tree_finite(tree: Any) -> Any:
    leaves = [jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree_util.tree_leaves(tree)]
    return jnp.all(jnp.stack(leaves))


def _info(dtype) -> dict:
    zero = jnp.zeros((), dtype)
    return {"loss": zero, "grad_norm": zero, "matvecs": jnp.asarray(0, jnp.int32),
            "learning_rate": zero, "damping": zero, "rho": jnp.full((), jnp.nan, dtype),
            "predicted_change": zero, "rejected": jnp.asarray(False)}

r"""Baselines for comparison: gradient descent with momentum, Adam, damped Newton.

They follow the same protocol as the saddle-free methods (``init`` / ``update`` over
frozen dataclass states, an :class:`~matfun.optim.Oracle` for the derivatives) so
that :func:`~matfun.optim.run` compares them like for like:

* :func:`gradient_descent` -- heavy ball,
  :math:`\delta_t = -\eta g_t + \mu \delta_{t-1}`;
* :func:`adam` -- Kingma and Ba's bias-corrected moment estimates;
* :func:`newton` -- :math:`\delta_t = -\eta (H + \lambda I)^{-1} g` from the dense
  Hessian. On a nondegenerate saddle it is *attracted* to the saddle (it solves
  :math:`\nabla f = 0` regardless of the curvature's sign): the behaviour that
  saddle-free Newton corrects.

L-BFGS, the quasi-Newton baseline, is :func:`matfun.optim.lbfgs` (its own module).
Gradient descent on a minibatch oracle is SGD; there is no separate ``sgd``. K-FAC,
the seed paper's other baseline (through ``kfac-jax``), is not provided: ``kfac-jax``
is not a dependency, and K-FAC needs the layer structure that an oracle on a flat
vector hides.

References
----------
Polyak (1964), *Some methods of speeding up the convergence of iteration methods*.
Kingma and Ba (2015), *Adam: a method for stochastic optimization*, ICLR, Algorithm 1.
Nocedal and Wright (2006), *Numerical Optimization*, 2nd ed., section 3.3 (Newton's
method) and 3.4 (Hessian modification).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._backend import namespace
from ._base import Optimizer, SingularCurvatureError
from ._oracle_calls import (
    HVPCounter,
    check_fraction,
    check_learning_rate,
    check_nonnegative,
    check_positive,
    dense_hessian,
    gradient_and_loss,
    parameters,
    step_inputs,
)

__all__ = ["AdamState", "MomentumState", "adam", "gradient_descent", "newton"]


@dataclass(frozen=True)
class MomentumState:
    """State of :func:`gradient_descent` and :func:`newton`: step count, previous update."""

    step: int
    update: Any


@dataclass(frozen=True)
class AdamState:
    """State of :func:`adam`: step count and the two moment estimates."""

    step: int
    first_moment: Any
    second_moment: Any


def gradient_descent(*, learning_rate: float, momentum: float = 0.0) -> Optimizer:
    r"""Gradient descent with heavy-ball momentum.

    .. math::

        \delta_t = -\eta\, \nabla f(w_t) + \mu\, \delta_{t-1}, \qquad
        w_{t+1} = w_t + \delta_t, \qquad \delta_{-1} = 0 .

    Parameters
    ----------
    learning_rate : float
        :math:`\eta > 0`; on a quadratic with Hessian eigenvalues in
        :math:`[l, L]`, :math:`\mu = 0` converges iff :math:`\eta < 2/L`.
    momentum : float
        :math:`\mu \in [0, 1)`.

    Returns
    -------
    Optimizer
        No Hessian-vector products (``info["matvecs"] == 0``).

    Examples
    --------
    >>> import numpy as np
    >>> from matfun.optim import Oracle
    >>> oracle = Oracle(value=lambda x: 0.5 * x @ x, grad=lambda x: x,
    ...                 hvp=lambda x, v: v)
    >>> opt = gradient_descent(learning_rate=0.5)
    >>> x = np.array([2.0, -4.0])
    >>> x, state, info = opt.update(opt.init(x), x, oracle)
    >>> x, info["loss"]
    (array([ 1., -2.]), 10.0)
    """
    rate = check_learning_rate(learning_rate)
    mu = check_fraction(momentum, "momentum")

    def init(params: Any) -> MomentumState:
        params = parameters(params)
        return MomentumState(step=0, update=0.0 * params)

    def update(state: MomentumState, params: Any, oracle: Any):
        params = step_inputs(state, params, oracle, MomentumState, "gradient_descent")
        loss, gradient, grad_norm = gradient_and_loss(oracle, params, state.step)
        delta = -rate * gradient + mu * state.update
        info = {"loss": loss, "grad_norm": grad_norm, "matvecs": 0,
                "learning_rate": rate, "momentum": mu}
        return params + delta, MomentumState(step=state.step + 1, update=delta), info

    return Optimizer(init, update, "gradient_descent")


def adam(
    *,
    learning_rate: float = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> Optimizer:
    r"""Adam (Kingma and Ba 2015, Algorithm 1).

    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \quad
        w_{t+1} = w_t - \eta \frac{m_t / (1 - \beta_1^t)}
                                  {\sqrt{v_t / (1 - \beta_2^t)} + \epsilon} .

    Parameters
    ----------
    learning_rate : float
        :math:`\eta > 0`.
    b1, b2 : float
        Moment decay rates in ``[0, 1)``.
    eps : float
        Denominator guard, ``> 0``.

    Returns
    -------
    Optimizer
        No Hessian-vector products.

    Examples
    --------
    The first step moves every coordinate by about ``learning_rate``, against the
    sign of its gradient:

    >>> import numpy as np
    >>> from matfun.optim import Oracle
    >>> oracle = Oracle(value=lambda x: 0.5 * x @ x, grad=lambda x: x,
    ...                 hvp=lambda x, v: v)
    >>> opt = adam(learning_rate=0.1)
    >>> x = np.array([2.0, -4.0])
    >>> x, state, info = opt.update(opt.init(x), x, oracle)
    >>> np.round(x, 6)
    array([ 1.9, -3.9])
    """
    rate = check_learning_rate(learning_rate)
    beta1 = check_fraction(b1, "b1")
    beta2 = check_fraction(b2, "b2")
    guard = check_positive(eps, "eps")

    def init(params: Any) -> AdamState:
        params = parameters(params)
        zeros = 0.0 * params
        return AdamState(step=0, first_moment=zeros, second_moment=zeros)

    def update(state: AdamState, params: Any, oracle: Any):
        params = step_inputs(state, params, oracle, AdamState, "adam")
        xp = namespace(params)
        loss, gradient, grad_norm = gradient_and_loss(oracle, params, state.step)
        t = state.step + 1
        m = beta1 * state.first_moment + (1 - beta1) * gradient
        v = beta2 * state.second_moment + (1 - beta2) * gradient * gradient
        delta = -rate * (m / (1 - beta1**t)) / (xp.sqrt(v / (1 - beta2**t)) + guard)
        info = {"loss": loss, "grad_norm": grad_norm, "matvecs": 0, "learning_rate": rate}
        return params + delta, AdamState(step=t, first_moment=m, second_moment=v), info

    return Optimizer(init, update, "adam")


def newton(*, learning_rate: float = 1.0, damping: float = 0.0) -> Optimizer:
    r"""Damped Newton's method from the dense Hessian.

    .. math::

        \delta_t = -\eta\, (H + \lambda I)^{-1} \nabla f(w_t), \qquad
        w_{t+1} = w_t + \delta_t,

    with :math:`H` assembled from ``p`` Hessian-vector products and inverted through
    its eigendecomposition. No sign correction: on an indefinite Hessian this is the
    step to the quadratic model's stationary point, a saddle.

    Parameters
    ----------
    learning_rate : float
        :math:`\eta > 0` (``1``: the full Newton step).
    damping : float
        :math:`\lambda \ge 0`, Tikhonov damping.

    Returns
    -------
    Optimizer
        ``p`` Hessian-vector products per step.

    Raises
    ------
    SingularCurvatureError
        From ``update``, when :math:`H + \lambda I` is singular to working precision
        (an eigenvalue below ``p * eps`` times the largest in magnitude).

    Examples
    --------
    One full step reaches the stationary point of a quadratic -- here a saddle:

    >>> import numpy as np
    >>> from matfun.optim import Oracle
    >>> h = np.array([2.0, -1.0])
    >>> oracle = Oracle(value=lambda x: 0.5 * np.sum(h * x * x), grad=lambda x: h * x,
    ...                 hvp=lambda x, v: h * v)
    >>> opt = newton()
    >>> x = np.array([1.0, 0.5])
    >>> x, state, info = opt.update(opt.init(x), x, oracle)
    >>> x, info["matvecs"]
    (array([0., 0.]), 2)
    """
    rate = check_learning_rate(learning_rate)
    lam = check_nonnegative(damping, "damping")

    def init(params: Any) -> MomentumState:
        params = parameters(params)
        return MomentumState(step=0, update=0.0 * params)

    def update(state: MomentumState, params: Any, oracle: Any):
        params = step_inputs(state, params, oracle, MomentumState, "newton")
        xp = namespace(params)
        loss, gradient, grad_norm = gradient_and_loss(oracle, params, state.step)
        hvp = HVPCounter(oracle, params, state.step)
        eigenvalues, Q = xp.linalg.eigh(dense_hessian(hvp, params))
        shifted = eigenvalues + lam
        magnitude = xp.abs(shifted)
        # A decision on two host scalars: is H + lam I numerically invertible?
        largest = float(xp.max(magnitude))
        smallest = float(xp.min(magnitude))
        eps = float(xp.finfo(params.dtype).eps)
        if not smallest > params.shape[0] * eps * largest:
            raise SingularCurvatureError(
                f"H + damping I is singular at step {state.step} (eigenvalues of magnitude "
                f"{smallest:.3g} to {largest:.3g}); use damping > 0")
        delta = -rate * (Q @ ((gradient @ Q) / shifted))
        info = {"loss": loss, "grad_norm": grad_norm, "matvecs": hvp.matvecs,
                "learning_rate": rate, "damping": lam}
        return params + delta, MomentumState(step=state.step + 1, update=delta), info

    return Optimizer(init, update, "newton")

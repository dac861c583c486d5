r"""AdamQLR: Adam's direction, K-FAC's learning rate and damping.

Clarke, Oldewage and Hernandez-Lobato (seed 003) keep the update direction of Adam
and replace its learning rate by the minimiser of a damped quadratic model along it:

.. math::

    m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
    v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \quad
    d_t = -\frac{m_t / (1 - \beta_1^t)}{\sqrt{v_t / (1 - \beta_2^t)} + \epsilon},

.. math::

    \alpha_t = \frac{-g_t^T d_t}{d_t^T C d_t + \lambda d_t^T d_t}, \qquad
    w_{t+1} = w_t + \alpha_t d_t,

``C`` the Hessian (one HVP per step) or a Gauss-Newton matrix when the oracle
supplies one. ``alpha`` minimises
:math:`M(\alpha d) = \alpha g^Td + \tfrac{\alpha^2}{2} d^T(C + \lambda I)d` and the
damping follows the Levenberg-Marquardt rule of
:func:`~matfun.optim.adaptive` with :math:`\rho = (f(w + \alpha d) - f(w)) / M(\alpha d)`
(:math:`\rho > 3/4`: :math:`\lambda \leftarrow \omega\lambda`; :math:`\rho < 1/4`:
:math:`\lambda \leftarrow \lambda / \omega`).

The Hessian may have negative curvature along ``d``; then the damped model has no
minimiser unless :math:`\lambda > -d^TCd / d^Td`, and the damping is raised to twice
that value for the step (``info["damping"]`` reports what was used). A step whose
loss is not finite is rejected: the parameters stay, the damping is divided by
``omega``, Adam's moments still advance.

References
----------
Clarke, Oldewage, Hernandez-Lobato (2023), *Adam through a second-order lens*
(AdamQLR). Kingma and Ba (2015), *Adam*. Martens and Grosse (2015), K-FAC, section 6.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._backend import all_finite, namespace, to_float
from ._base import Optimizer
from ._oracle_calls import (
    HVPCounter,
    check_fraction,
    check_positive,
    gradient_and_loss,
    parameters,
    step_inputs,
)
from .adaptive import _levenberg_marquardt

__all__ = ["AdamQLRState", "adamqlr"]

_CURVATURES = {"hessian": "hvp", "gauss_newton": "gauss_newton"}


@dataclass(frozen=True)
class AdamQLRState:
    """State of :func:`adamqlr`: step count, Adam's two moments and the damping."""

    step: int
    first_moment: Any
    second_moment: Any
    damping: float


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
) -> Optimizer:
    r"""AdamQLR (seed 003): Adam's direction with the learning rate of a damped quadratic model.

    Parameters
    ----------
    b1, b2 : float
        Adam's moment decay rates, in ``[0, 1)``.
    eps : float
        Adam's denominator guard, ``> 0``.
    initial_damping : float
        :math:`\lambda_0 > 0`.
    omega : float
        The damping factor :math:`\omega \in (0, 1)`.
    curvature : {"hessian", "gauss_newton"}
        ``C``: ``oracle.hvp`` or ``oracle.gauss_newton`` (which must then exist).
    min_damping, max_damping : float
        Clipping range of :math:`\lambda`.

    Returns
    -------
    Optimizer
        One curvature product and one extra function value per step;
        ``info["learning_rate"]`` is :math:`\alpha`, ``info["rho"]`` the reduction
        ratio.

    Examples
    --------
    On a quadratic with ``lam -> 0`` the step is exact along ``d``:

    >>> import numpy as np
    >>> from matfun.optim import Oracle
    >>> h = np.array([1.0, 4.0])
    >>> oracle = Oracle(value=lambda x: 0.5 * np.sum(h * x * x), grad=lambda x: h * x,
    ...                 hvp=lambda x, v: h * v)
    >>> opt = adamqlr(initial_damping=1e-8)
    >>> x = np.array([1.0, 1.0])
    >>> x, state, info = opt.update(opt.init(x), x, oracle)
    >>> round(info["learning_rate"], 6), round(info["rho"], 6)   # d = -(1, 1): g^T d / d^T H d
    (1.0, 1.0)
    """
    beta1 = check_fraction(b1, "b1")
    beta2 = check_fraction(b2, "b2")
    guard = check_positive(eps, "eps")
    lam0 = check_positive(initial_damping, "initial_damping")
    factor = check_fraction(omega, "omega", open_low=True)
    low = check_positive(min_damping, "min_damping")
    high = check_positive(max_damping, "max_damping")
    if not low <= lam0 <= high:
        raise ValueError(f"initial_damping must lie in [min_damping, max_damping] = "
                         f"[{low}, {high}], got {lam0}")
    if curvature not in _CURVATURES:
        raise ValueError(f"curvature must be one of {tuple(_CURVATURES)}, got {curvature!r}")
    product_name = _CURVATURES[curvature]

    def init(params: Any) -> AdamQLRState:
        params = parameters(params)
        zeros = 0.0 * params
        return AdamQLRState(step=0, first_moment=zeros, second_moment=zeros, damping=lam0)

    def update(state: AdamQLRState, params: Any, oracle: Any):
        params = step_inputs(state, params, oracle, AdamQLRState, "adamqlr")
        xp = namespace(params)
        if getattr(oracle, product_name) is None:
            raise ValueError(f"curvature={curvature!r} needs the oracle's {product_name} "
                             "callable")
        _check_guard(xp, guard, params.dtype)
        loss, gradient, grad_norm = gradient_and_loss(oracle, params, state.step)
        t = state.step + 1
        # m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g g, d = -(m / c1) / (sqrt(v / c2) + eps),
        # the sums and the quotient written into the fresh temporaries (the same floats:
        # a + b is b + a, -(m / c) is m / -c); the state's moments are never written.
        m = beta1 * state.first_moment
        m += (1 - beta1) * gradient
        v = (1 - beta2) * gradient
        v *= gradient
        v += beta2 * state.second_moment
        d = xp.sqrt(v / (1 - beta2**t))
        d += guard
        d = (m / -(1 - beta1**t)) / d
        product = HVPCounter(oracle, params, state.step, product_name)
        slope = to_float(gradient @ d)
        curved = product.unchecked(d)
        # A NaN/inf entry of the product makes d^T C d NaN/inf (d is finite): a finite
        # one proves the product finite, else the entries say (NonFiniteError).
        curvature_d = to_float(d @ curved)
        if not math.isfinite(curvature_d):
            product.check(curved)
        length = to_float(d @ d)
        lam = state.damping
        if length > 0 and curvature_d + lam * length <= 0:
            lam = min(max(2.0 * -curvature_d / length, lam), high)
        denominator = curvature_d + lam * length
        alpha = -slope / denominator if length > 0 and denominator > 0 else 0.0
        predicted = alpha * slope + 0.5 * alpha**2 * denominator
        trial = params + alpha * d
        new_loss = xp.asarray(oracle.value(trial))
        new_value = to_float(new_loss) if new_loss.ndim == 0 else None
        rejected = (not math.isfinite(new_value) if new_value is not None
                    else not all_finite(xp, new_loss))
        rho = None
        if rejected:
            trial, new_lam = params, min(lam / factor, high)
        elif predicted < 0:
            rho = ((new_value if new_value is not None else to_float(new_loss)) - loss
                   ) / predicted
            new_lam = _levenberg_marquardt(lam, rho, factor, low, high)
        else:
            new_lam = lam
        info = {"loss": loss, "grad_norm": grad_norm, "matvecs": product.matvecs,
                "learning_rate": alpha, "damping": lam, "rho": rho,
                "predicted_change": predicted, "rejected": rejected}
        new_state = AdamQLRState(step=t, first_moment=m, second_moment=v, damping=new_lam)
        return trial, new_state, info

    return Optimizer(init, update, "adamqlr")


def _check_guard(xp: Any, eps: float, dtype: Any) -> None:
    """``ValueError`` when ``eps`` rounds to 0 in ``dtype`` (``1e-8`` in float16).

    Then a zero gradient entry gives the direction ``0 / 0``: a NaN that would surface
    as a non-finite Hessian-vector product, blaming the oracle. (Half the smallest
    subnormal number is ``smallest_normal * eps / 2`` in every IEEE format.)
    """
    info = xp.finfo(dtype)
    if eps < float(info.smallest_normal) * float(info.eps) / 2:
        raise ValueError(f"eps = {eps:g} rounds to 0 in {dtype}: the Adam direction would "
                         "be 0/0 wherever a gradient entry is 0; pass eps >= "
                         f"{float(info.smallest_normal):.3g} (the smallest normal number)")

r"""Exact values of the truncated series: what ``K`` terms of each series give.

Each function evaluates the series' polynomial on the eigenvalues of the operator,

.. math::

    s_K(H)\, g = Q \, \mathrm{diag}\big(s_K(\lambda_1), \dots, s_K(\lambda_n)\big) \, Q^H g ,

so that a series can be checked to rounding error rather than to its truncation
error. The coefficients come from :mod:`matfun._exact_mp` (mpmath, algorithms
independent of :mod:`matfun.coefficients`); the eigendecomposition and the checks
from :mod:`matfun._eigen`. :mod:`matfun.exact` re-exports these functions: use them
from there.

References
----------
Oldewage, Clarke, Hernandez-Lobato (2024), *Series of Hessian-vector products for
tractable saddle-free Newton optimisation of neural networks*, TMLR, eq. (3)-(4).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ._eigen import apply_values, check_damping, check_scale, check_terms
from ._exact_mp import mp_abs_damped_coefficients, mp_binomial_coefficients
from ._validation import check_real

__all__ = ["truncated_inv_sqrt_series", "truncated_neumann_series",
           "truncated_binomial_series"]


def truncated_inv_sqrt_series(
    op: Any,
    g: Any,
    *,
    terms: int,
    scale: float,
    damping: float = 0.0,
    damping_kind: str = "abs",
) -> Any:
    r"""Exactly what ``terms`` terms of :func:`matfun.inv_sqrt_series` give at fixed ``V``.

    .. math::

        s_K = V^{-1/2} \sum_{k<K} c_k\, z_i^k, \qquad z_i = 1 - a_i / V,

    on the eigenvalues :math:`a_i` of the series operator: :math:`l_i^2` (no damping,
    ``"abs"``), :math:`(l_i + \lambda)^2` (``"shift"``), :math:`l_i^2 + \lambda`
    (``"square"``); :math:`c_k = c_k(1/2)`, or for ``"abs"`` with :math:`\lambda > 0`
    the coefficients :math:`d_k` of :math:`1/(\sqrt{1-z} + \delta)`,
    :math:`\delta = \lambda/\sqrt V`. The coefficients are computed in mpmath by
    algorithms independent of :mod:`matfun.coefficients` (40-digit recurrence for
    :math:`c_k`; for :math:`d_k` the forward recurrence at the extra precision it
    needs), and the polynomial by Horner's rule in float64. Valid for any ``V > 0``,
    convergent or not.

    Examples
    --------
    >>> import numpy as np
    >>> truncated_inv_sqrt_series(np.diag([1.0]), np.ones(1), terms=2, scale=2.0)
    array([0.88388348])
    """
    lam = check_damping(damping, damping_kind)
    K, V = check_terms(terms), check_scale(scale)
    if damping_kind == "abs" and lam > 0:
        coefficients = mp_abs_damped_coefficients(lam / math.sqrt(V), K)
    else:
        coefficients = mp_binomial_coefficients(0.5, K)

    def values(xp: Any, w: Any) -> Any:
        if damping_kind == "shift":
            squared = (w + lam) ** 2
        elif damping_kind == "square":
            squared = w * w + lam
        else:
            squared = w * w
        return V**-0.5 * _horner(coefficients, 1.0 - squared / V)

    return apply_values(op, g, values)


def truncated_neumann_series(op: Any, g: Any, *, terms: int, scale: float) -> Any:
    r"""Exactly what ``terms`` terms of :func:`matfun.neumann_series` give at fixed ``V``.

    In closed form, with :math:`z_i = 1 - l_i/V`:

    .. math::

        V^{-1} \sum_{k<K} z_i^k = \frac{1 - z_i^K}{l_i} \quad (l_i \ne 0), \qquad
        \frac{K}{V} \quad (l_i = 0),

    with :math:`1 - z^K = -\mathrm{expm1}(K \log(1 - l/V))` for :math:`z > 0`, accurate
    when :math:`z^K` is close to 1.

    Examples
    --------
    >>> import numpy as np
    >>> truncated_neumann_series(np.diag([1.0]), np.ones(1), terms=3, scale=2.0)
    array([0.875])
    """
    K, V = check_terms(terms), check_scale(scale)

    def values(xp: Any, w: Any) -> Any:
        u = w / V
        z = 1.0 - u
        positive = z > 0
        safe_u = xp.where(positive, u, xp.zeros_like(u))  # keep log1p's domain
        one_minus_power = xp.where(positive, -xp.expm1(K * xp.log1p(-safe_u)), 1.0 - z**K)
        zero = w == 0
        return xp.where(zero, xp.full_like(w, K / V),
                        one_minus_power / xp.where(zero, xp.ones_like(w), w))

    return apply_values(op, g, values)


def truncated_binomial_series(
    op: Any, g: Any, exponent: float, *, terms: int, scale: float
) -> Any:
    r"""Exactly what ``terms`` terms of :func:`matfun.binomial_series` give at fixed ``V``.

    .. math::

        V^{p} \sum_{k<K} c_k(-p)\, z_i^k, \qquad z_i = 1 - l_i / V,

    with :math:`c_k(-p)` the coefficients of :math:`(1 - z)^{p}` from a 40-digit mpmath
    recurrence, Horner's rule in float64.

    Examples
    --------
    >>> import numpy as np
    >>> truncated_binomial_series(np.diag([1.0]), np.ones(1), -1.0, terms=3, scale=2.0)
    array([0.875])
    """
    p = check_real(exponent, "exponent")
    K, V = check_terms(terms), check_scale(scale)
    try:
        factor = V**p
    except OverflowError:
        factor = math.inf
    if not math.isfinite(factor) or factor == 0.0:
        raise ValueError(f"scale ** exponent = {V:g} ** {p:g} is not a normal float64 "
                         "number: rescale op")
    coefficients = mp_binomial_coefficients(-p, K)
    return apply_values(op, g, lambda xp, w: factor * _horner(coefficients, 1.0 - w / V))


def _horner(coefficients: Sequence[float], z: Any) -> Any:
    """``sum_k c_k z^k`` elementwise: positive/alternating sums, error ~ K eps sum|c_k z^k|."""
    result = 0.0 * z + coefficients[-1]
    for c in reversed(coefficients[:-1]):
        result = result * z + c
    return result

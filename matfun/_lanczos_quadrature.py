r"""``|T|^{-1} e_1`` of a symmetric tridiagonal ``T`` in ``O(N k)``: an elliptic quadrature.

For ``0 < m <= lambda <= M``,

.. math::

    \lambda^{-1/2} = \frac{2}{\pi} \int_0^\infty \frac{dt}{\lambda + t^2}
    = \frac{2\sqrt m}{\pi} \int_0^{K} \frac{\operatorname{dn} u}
      {\lambda \operatorname{cn}^2 u + m \operatorname{sn}^2 u}\, du ,
    \qquad t = \sqrt m \operatorname{sc}(u \mid k),\ k'^2 = m / M ,

(Jacobi elliptic functions of modulus ``k``, ``K = K(k)``, ``K' = K(k')``). The
integrand is even, ``2K``-periodic and analytic in ``|Im u| < K'`` for every such
``lambda`` (``sn`` maps the rectangle ``[-K, K] x [0, K']`` onto the upper half-plane,
so ``sn^2 = lambda / (lambda - m) >= 1/k^2`` only on ``Im u = K'``), so the
``N``-point midpoint rule ``u_j = (j - 1/2) K / N`` converges geometrically:

.. math::

    \Bigl|\sqrt\lambda \sum_{j=1}^N \frac{w_j}{\lambda + t_j^2} - 1\Bigr|
      \le 4\, e^{-\pi^2 N / K}, \qquad K \approx \ln(4 \sqrt{M/m}),

the rate of method 3 of Hale, Higham and Trefethen (2008) for ``A^{-1/2}``. The constant
4 is the asymptotic one: measured against the closed form on 3001 points of each of 61
intervals with ``M/m`` up to ``1e12``, the error is at most 1.4 times the estimate (at
``N = 2``) and within 1% of it from ``N = 6``; :func:`inv_abs_rule` reports twice the
estimate plus a rounding allowance ``(N + sqrt(M/m) / 16) eps`` for the sum and the nodes
(``scipy.special.ellipj`` loses up to about ``sqrt(M/m) eps / 60`` for ``M/m`` below
``1e9``; measured at most ``3e-13`` overall),
``tests/matfun/test_lanczos_quadrature.py`` checks both. With
``lambda = x^2`` and :math:`(T^2 + t^2)^{-1} e_1 = \operatorname{Im} (T - i t)^{-1} e_1 / t`,

.. math::

    |T|^{-1} e_1 \approx y = \sum_j \frac{w_j}{t_j} \operatorname{Im} (T - i t_j)^{-1} e_1 ,
    \qquad \|y - |T|^{-1} e_1\| \le \varepsilon\, \||T|^{-1} e_1\|

whenever every eigenvalue of ``T`` has ``sqrt(m) <= |theta| <= sqrt(M)``, ``epsilon`` the
scalar rule's relative error (the error is ``U (r(Theta) - |Theta|^{-1}) U^T e_1`` with
``|r - f| <= epsilon f`` at every Ritz value, and ``||U^T e_1|| = 1``), plus the
rounding of the ``N`` complex tridiagonal solves (LAPACK ``zgtsv``, partial pivoting,
``O(eps cond(T))``, like the eigendecomposition's). All ``N``
solves are one ``zgtsv`` call on the block-diagonal matrix (no pivot crosses a zero
off-diagonal). Only the interval ``[sqrt m, sqrt M]`` is needed, which bisection gives in
``O(k)``; the cost is ``O(N k)`` with ``N`` about ``4 ln(4 sqrt(M/m))`` for an estimate
of ``1e-16``, against ``O(k^2)`` for the eigendecomposition.

The elliptic functions are evaluated only on ``[0, K/2]`` (``scipy.special.ellipj``);
the other half of the nodes comes from ``u -> K - u``: ``sc(K - v) = cs(v) / k'``,
``dn(K - v) = k' / dn(v)``. The rule is used for ``M / m <= 1e14`` (:data:`RATIO_LIMIT`):
above about ``1e15`` the elliptic functions of SciPy lose accuracy (measured ``2e-7``
at ``M/m = 1e16``).

Reference: N. Hale, N. J. Higham, L. N. Trefethen, *Computing A^alpha, log(A), and
related matrix functions by contour integrals*, SIAM J. Numer. Anal. 46(5), 2008,
section 4 (method 3).

Examples
--------
>>> import numpy as np
>>> y, error = inv_abs_e1(np.array([2.0, -3.0]), np.array([1.0]), 1.0, 4.0)
>>> T = np.array([[2.0, 1.0], [1.0, -3.0]])
>>> theta, U = np.linalg.eigh(T)
>>> bool(np.allclose(y, U @ (U[0] / np.abs(theta)), rtol=1e-14, atol=0))
True
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["RATIO_LIMIT", "inv_abs_e1", "inv_abs_e1_within", "inv_abs_rule"]

RATIO_LIMIT = 1e14  # largest M / m = (high / low)^2 the rule is used for
_ACCURACY = 1e-16  # target of 4 exp(-pi^2 N / K)


def inv_abs_rule(low: float, high: float, accuracy: float = _ACCURACY
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    r"""Nodes ``t_j > 0``, weights ``w_j > 0`` and error of ``1/|x|``, ``low <= |x| <= high``.

    :math:`1/|x| \approx \sum_j w_j / (x^2 + t_j^2)` with relative error at most the
    returned ``8 exp(-pi^2 N / K) + (N + sqrt(M/m) / 16) eps`` (twice the estimate, the
    rounding of the sum and of the nodes; module docstring); ``N`` is the smallest even
    number of nodes whose estimate ``4 exp(-pi^2 N / K)`` reaches ``accuracy``.
    """
    from scipy.special import ellipj, ellipkm1  # lazy: SciPy submodules are slow to import

    if not 0 < low <= high or (high / low) ** 2 > RATIO_LIMIT:
        raise ValueError(f"need 0 < low <= high with (high/low)^2 <= {RATIO_LIMIT:g}, got "
                         f"low={low!r}, high={high!r}")
    parameter = 1.0 - (low / high) ** 2  # k^2, rounded; the rule uses this k consistently
    complement = 1.0 - parameter  # k'^2, exact (Sterbenz)
    if complement == 0.0:  # low = high up to rounding: any k works, take k' = 1/2
        parameter, complement = 0.75, 0.25
    quarter = float(ellipkm1(complement))  # K(k)
    count = max(2, 2 * math.ceil(quarter * math.log(4.0 / accuracy) / (2 * math.pi ** 2)))
    v = (np.arange(count // 2) + 0.5) * quarter / count  # midpoints in [0, K/2]
    sn, cn, dn, _ = ellipj(v, parameter)
    scale = low  # sqrt(m)
    top = low / math.sqrt(complement)  # sqrt(m) / k'
    factor = (2.0 / math.pi) * quarter / count
    nodes = np.concatenate([scale * sn / cn, top * cn / sn])
    weights = np.concatenate([factor * scale * dn / cn ** 2, factor * top * dn / sn ** 2])
    rounding = (count + high / low / 16) * float(np.finfo(np.float64).eps)
    return nodes, weights, 8.0 * math.exp(-math.pi ** 2 * count / quarter) + rounding


def inv_abs_e1(alphas: np.ndarray, betas: np.ndarray, low: float, high: float,
               accuracy: float = _ACCURACY) -> tuple[np.ndarray, float]:
    r"""``(y, error)``: :math:`y \approx |T|^{-1} e_1` and the rule's relative error.

    ``T`` has diagonal ``alphas`` (``k``) and off-diagonal ``betas`` (``k - 1``), every
    eigenvalue ``low <= |theta| <= high``; ``error`` (of :func:`inv_abs_rule` for
    ``accuracy``) bounds ``||y - |T|^{-1} e_1|| / || |T|^{-1} e_1 ||`` up to the rounding
    of the solves (module docstring).
    """
    from scipy.linalg import lapack  # lazy: SciPy submodules are slow to import

    nodes, weights, error = inv_abs_rule(low, high, accuracy)
    k, count = alphas.size, nodes.size
    diagonal = (alphas[None, :] - 1j * nodes[:, None]).ravel()
    off = np.zeros((count, k), dtype=complex)
    off[:, :-1] = betas
    off = off.ravel()[:-1]
    rhs = np.zeros((count, k), dtype=complex)
    rhs[:, 0] = 1.0
    *_, solution, info = lapack.zgtsv(off, diagonal, off.copy(), rhs.ravel())
    if info != 0:
        raise np.linalg.LinAlgError("singular shifted tridiagonal system")
    solution = solution.reshape(count, k)
    y = (weights / nodes) @ solution.imag
    return y, error


def inv_abs_e1_within(alphas: np.ndarray, betas: np.ndarray, low: float, high: float,
                      budget: float) -> np.ndarray | None:
    """:func:`inv_abs_e1`'s ``y`` when its error is at most ``budget`` and it is finite.

    ``None`` otherwise, or when a shifted system is singular: the caller then takes the
    eigendecomposition's way.
    """
    try:
        y, error = inv_abs_e1(alphas, betas, low, high)
    except np.linalg.LinAlgError:
        return None
    return y if error <= budget and np.all(np.isfinite(y)) else None

r"""A full check of a ``1/|x|`` Lanczos run without the eigenvectors of ``T_k``.

:func:`matfun._lanczos_checks.evaluate` needs, of a full check, the iterate
``y = f(T_k) e_1``, the Ritz values (for the bound-type estimate and the extremes) and
the Ritz-value guard: the first and last eigenvector entries ``u_1j``, ``u_kj`` of the
pairs whose interval ``|theta_j - pole| <= max(beta_k |u_kj|, floor)`` holds the pole.
The eigendecomposition with vectors (LAPACK ``stemr``, ~15-18 ms at ``k = 620``) gives
them all; for ``f = 1/|x|`` (pole 0) this module gets the same numbers from cheaper
pieces (~6.5 ms there, three quarters of it the Ritz values):

* the Ritz values alone (``eigvalsh_tridiagonal``, ~4.6 ms; the bound screen of
  :class:`matfun._lanczos_frame.Cadence` has often computed them already);
* ``|u_1j|`` and ``|u_kj|`` only of the pairs with ``|theta_j| <= max(beta_k, floor)``
  -- every other pair is reliable, its radius being at most ``max(beta_k, floor)`` --
  from determinants: ``u_kj^2 = |det(T_{k-1} - theta_j)| / prod_{i != j} |theta_j -
  theta_i|`` and ``|u_1j u_kj| = beta_1 ... beta_{k-1} / prod_{i != j} |theta_j -
  theta_i|`` (Parlett, *The Symmetric Eigenvalue Problem*, section 7.9; one LU of the
  block-diagonal matrix of all shifts, ``O(k)`` per pair, ~1 ms for 60 pairs): the
  guard and the smallest reliable ``|theta|`` are those of the eigendecomposition, up
  to rounding (``u_kj^2`` to ``10 k eps ||T|| / gap_j``, ``gap_j`` the distance of
  ``theta_j`` to the next Ritz value: a determinant of a block ``theta_j`` nearly
  annihilates is exact only for a matrix ``eps ||T||`` away);
* ``y = |T_k|^{-1} e_1`` by the elliptic quadrature of :mod:`matfun._lanczos_quadrature`
  on ``[min |theta|, max |theta|]`` (``O(N k)``, ~0.5 ms; relative error at most
  ``1e-3 rtol`` by its bound, about ``1e-15`` at ``max |theta| / min |theta| = 100``,
  plus the rounding of the solves, ``O(eps cond(T_k))`` like the eigendecomposition's).

Before the Ritz values, :func:`inv_abs_bound_estimate` gives the bound screen an
``O(N k)`` estimate of the bound from the same quadrature's solves (no Ritz value but
the two next to 0; Gershgorin's bound for the largest), so that most screened checks
need no ``O(k^2)`` work at all.

``None`` (the caller falls back to the eigendecomposition) when a Ritz value is 0 or
within the rounding floor of it, the quadrature's error bound exceeds the caller's
budget (``1e-3 rtol``: ``y`` is then right to a thousandth of the tolerance; its
rounding part ``max |theta| / min |theta| * eps / 16`` rules out ratios above
``7e13 rtol``, ``7e5`` at ``rtol = 1e-8``), ``T_k`` splits, two Ritz values of the
window nearly coincide, or the error of a ``u_kj^2`` could flip a flag or spoil an
unreliable pair's ``|u_1j| = |u_1j u_kj| / |u_kj|``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._lanczos_bounds import _QUADRATURE_SAFETY
from ._lanczos_guard import gershgorin
from ._lanczos_quadrature import RATIO_LIMIT, inv_abs_e1_within, inv_abs_rule

__all__ = ["inv_abs_bound_estimate", "inv_abs_pieces"]

# u_kj^2 from determinants carries an absolute error of about k eps ||T|| / gap_j
# (gap_j: distance of theta_j to the next Ritz value); this multiple of it is what
# tests/matfun/test_lanczos_quadrature.py checks.
_ERROR_FACTOR = 10.0
# Ritz values of the window closer than this (relative to max(1, ||T||)) to another:
# the eigendecomposition decides.
_CLOSEST = 1e-8
# The estimate's elliptic rule targets this accuracy (14 nodes instead of 24 at
# max/min |theta| = 100): its kinks already cost it 0.5-2%; measured changes below 3e-4.
_ESTIMATE_ACCURACY = 1e-8


def _end_entries(alphas: np.ndarray, betas: np.ndarray, theta: np.ndarray,
                 window: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``|u_1j|``, ``|u_kj|`` of the Ritz pairs ``j`` in ``window`` (``betas > 0``).

    ``u_kj^2 = |det(T_{k-1} - theta_j)| / prod_{i != j} |theta_j - theta_i|`` (the
    leading block's determinant by one LU, LAPACK ``gttrf``, of the block-diagonal
    matrix of all shifts) and ``|u_1j u_kj| = beta_1 ... beta_{k-1} / prod_{i != j}
    |theta_j - theta_i|`` (Parlett, *The Symmetric Eigenvalue Problem*, section 7.9),
    all in logarithms. Also the error estimate of ``u_kj^2``, ``10 k eps ||T|| / gap_j``
    (the determinant of a block ``theta_j`` nearly annihilates is exact only for a
    matrix ``eps ||T||`` away); ``|u_1j|`` then has relative error about that over
    ``u_kj^2``. ``None`` when two Ritz values are closer than ``_CLOSEST ||T||``.
    """
    from scipy.linalg import lapack  # lazy: SciPy submodules are slow to import

    k, count = alphas.size, window.size
    differences = np.abs(theta[window, None] - theta[None, :])
    differences[np.arange(count), window] = np.inf
    gaps = np.min(differences, axis=1)
    scale = max(1.0, float(np.max(np.abs(theta))))
    if float(np.min(gaps)) < _CLOSEST * scale:
        return None  # products of nearly equal differences: inverse iteration's job
    differences[np.arange(count), window] = 1.0
    with np.errstate(divide="ignore"):
        log_derivative = np.sum(np.log(differences), axis=1)
    diagonal = (alphas[None, : k - 1] - theta[window, None]).ravel()
    off = np.zeros((count, k - 1))
    off[:, : k - 2] = betas[: k - 2]
    # Two decoupled unit rows at the end: SciPy's gttrf refuses orders below 3.
    off = np.concatenate([off.ravel()[:-1], [0.0, 0.0]])
    _, pivots, *_ = lapack.dgttrf(off, np.concatenate([diagonal, [1.0, 1.0]]), off.copy())
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        log_block = np.sum(np.log(np.abs(pivots[:-2].reshape(count, k - 1))), axis=1)
        last = np.exp(np.minimum(0.5 * (log_block - log_derivative), 0.0))
        first = np.minimum(1.0, np.exp(float(np.sum(np.log(betas))) - log_derivative) / last)
    error = _ERROR_FACTOR * k * float(np.finfo(np.float64).eps) * scale / gaps
    return first, last, error


def inv_abs_pieces(alphas: np.ndarray, betas: np.ndarray, residual: float,
                   theta: np.ndarray | None, floor: Any, function: Any, budget: float,
                   iterate: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """``(y, theta, spurious, reliable_min)`` of ``T_k`` for ``f = 1/|x|``, or ``None``.

    ``y = f(T_k) e_1`` (unit start), ``theta`` all Ritz values (computed unless given),
    ``spurious = ||f(theta) u_1||`` over the unreliable pairs; ``floor(theta)`` is the
    rounding floor of the Ritz residuals; ``function.evaluate`` gives ``f``. ``None``
    also when the quadrature's error bound exceeds ``budget`` (relative). ``iterate``:
    ``y`` already computed by the same quadrature on an interval holding every
    ``|theta|``, within ``budget`` (:func:`matfun._lanczos_probe.provisional_iterate`).
    """
    from scipy.linalg import eigvalsh_tridiagonal  # lazy: SciPy submodules are slow to import

    k = alphas.size
    if theta is None:
        theta = eigvalsh_tridiagonal(alphas, betas)
    magnitudes = np.abs(theta)
    low, high = float(np.min(magnitudes)), float(np.max(magnitudes))
    if not low > 0 or (high / low) ** 2 > RATIO_LIMIT:
        return None
    radius_floor = floor(theta)
    window = np.flatnonzero(magnitudes <= max(residual, radius_floor))
    reliable_min = low
    spurious = 0.0
    if window.size:
        if np.any(magnitudes[window] <= radius_floor) or np.any(betas <= 0):
            return None  # a Ritz value on the pole, or a split T: the eigendecomposition
        entries = _end_entries(alphas, betas, theta, window)
        if entries is None:
            return None
        first, last, error = entries
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            values = np.asarray(function.evaluate(theta[window]), dtype=np.float64)
        unreliable = magnitudes[window] <= np.maximum(residual * last, radius_floor)
        # A flag the error of u_kj^2 could flip, or an unreliable pair whose |u_1j| has
        # more than 1% error: the eigendecomposition decides.
        edge = (magnitudes[window] / residual) ** 2
        if not np.all(np.isfinite(values)) or np.any(np.abs(last ** 2 - edge) <= error) or \
                np.any(last[unreliable] ** 2 < 100 * error[unreliable]):
            return None
        spurious = float(np.linalg.norm((values * first)[unreliable]))
        flagged = np.zeros(k, dtype=bool)
        flagged[window[unreliable]] = True
        reliable = magnitudes[~flagged]
        reliable_min = float(np.min(reliable)) if reliable.size else 0.0
    if iterate is not None:
        return iterate, theta, spurious, reliable_min
    y = inv_abs_e1_within(alphas, betas, low, high, budget)
    return None if y is None else (y, theta, spurious, reliable_min)


def inv_abs_bound_estimate(alphas: np.ndarray, betas: np.ndarray, residual: float,
                           low: float) -> float | None:
    r"""The ``1/|x|`` bound of :mod:`matfun._lanczos_bounds` (unit start) in ``O(N k)``.

    The bound is ``1.1 (2/pi) int_0^inf beta_k (|A(t)| phi(t) + |R(t)| / (a^2 + t^2)) dt``
    with :math:`c(it) = e_k^T (T - i t)^{-1} e_1 = R + i t A`, ``a = min |theta| = low``
    (the guard screen's Ritz values next to 0), ``b = max |theta| + beta_k``. Here the
    integral is the elliptic rule of :mod:`matfun._lanczos_quadrature` on ``[a,
    high]`` with ``c`` from its complex solves, instead of Gauss-Legendre panels on the
    Ritz values: no Ritz value but the two next to 0. ``high``, and ``max |theta|`` in
    ``b``, is Gershgorin's bound on ``||T||`` (bisecting the extreme Ritz values cost a
    third of the estimate and changed it by at most 1e-4 relative on the test cases of
    ``tests/matfun/test_lanczos_quadrature.py``). The integrand has kinks (``phi`` at
    ``a`` and ``b``), so the rule is only an estimate: measured 0.5% to 2% below the
    bound on the benchmark's run. Returns the estimate or ``None``.
    """
    from scipy.linalg import lapack  # lazy: SciPy submodules are slow to import

    k = alphas.size
    high = gershgorin(alphas, betas)
    if not 0 < low <= high or (high / low) ** 2 > RATIO_LIMIT:
        return None
    nodes, weights, _ = inv_abs_rule(low, high, _ESTIMATE_ACCURACY)
    count = nodes.size
    diagonal = (alphas[None, :] - 1j * nodes[:, None]).ravel()
    off = np.zeros((count, k), dtype=complex)
    off[:, :-1] = betas
    off = np.concatenate([off.ravel()[:-1], [0.0, 0.0]])
    rhs = np.zeros((count, k), dtype=complex)
    rhs[:, -1] = 1.0  # T symmetric: e_k^T (T - it)^{-1} e_1 = e_1^T (T - it)^{-1} e_k
    *_, solution, info = lapack.zgtsv(off, np.concatenate([diagonal, [1.0, 1.0]]), off.copy(),
                                      np.concatenate([rhs.ravel(), [0.0, 0.0]]))
    if info != 0:
        return None
    ends = solution[:-2].reshape(count, k)[:, 0]
    a, b = low, high + residual
    phi = np.where(nodes < a, a / (a * a + nodes ** 2),
                   np.where(nodes > b, b / (b * b + nodes ** 2), 0.5 / nodes))
    estimate = _QUADRATURE_SAFETY * residual * float(np.sum(weights * (
        np.abs(ends.imag) / nodes * phi + np.abs(ends.real) / (a * a + nodes ** 2))))
    return estimate

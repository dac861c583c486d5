r"""A full check of a ``1/|x|`` Lanczos run without the eigenvectors of ``T_k``.

:func:`matfun._lanczos_checks.evaluate` needs, of a full check, the iterate
``y = f(T_k) e_1``, the Ritz values (for the bound-type estimate and the extremes) and
the Ritz-value guard: the first and last eigenvector entries ``u_1j``, ``u_kj`` of the
pairs whose interval ``|theta_j - pole| <= max(beta_k |u_kj|, floor)`` holds the pole.
The eigendecomposition with vectors (LAPACK ``stemr``, ~18 ms at ``k = 620``) gives
them all; for ``f = 1/|x|`` (pole 0) this module gets the same numbers from cheaper
pieces (~9 ms there):

* the Ritz values alone (``eigvalsh_tridiagonal``, ~4.6 ms; the bound screen of
  :class:`matfun._lanczos_frame.Cadence` has often computed them already);
* the eigenvectors (inverse iteration, LAPACK ``stein``, ``O(k)`` each) only of the
  pairs with ``|theta_j| <= max(beta_k, floor)`` -- every other pair is reliable, its
  radius being at most ``max(beta_k, floor)`` -- and of one neighbour on either side
  (a cluster cut at the window's edge keeps its vectors orthogonal): the guard and the
  smallest reliable ``|theta|`` are those of the eigendecomposition, up to rounding;
* ``y = |T_k|^{-1} e_1`` by the elliptic quadrature of :mod:`matfun._lanczos_quadrature`
  on ``[min |theta|, max |theta|]`` (``O(N k)``, relative error below ``1e-15`` by its
  bound, plus the rounding of the solves, ``O(eps cond(T_k))`` like the
  eigendecomposition's).

``None`` (the caller falls back to the eigendecomposition) when a Ritz value is 0,
``(max |theta| / min |theta|)^2`` exceeds the quadrature's range, or inverse iteration
fails.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._lanczos_quadrature import RATIO_LIMIT, inv_abs_e1

__all__ = ["inv_abs_pieces"]


def inv_abs_pieces(alphas: np.ndarray, betas: np.ndarray, residual: float,
                   theta: np.ndarray | None, floor: Any, function: Any
                   ) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """``(y, theta, spurious, reliable_min)`` of ``T_k`` for ``f = 1/|x|``, or ``None``.

    ``y = f(T_k) e_1`` (unit start), ``theta`` all Ritz values (computed unless given),
    ``spurious = ||f(theta) u_1||`` over the unreliable pairs; ``floor(theta)`` is the
    rounding floor of the Ritz residuals; ``function.evaluate`` gives ``f``.
    """
    from scipy.linalg import eigvalsh_tridiagonal, lapack  # lazy: slow to import

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
        first, last = max(int(window[0]) - 1, 0), min(int(window[-1]) + 2, k)
        split = np.zeros(k, dtype=np.int32)
        split[0] = k
        vectors, info = lapack.dstein(alphas, betas, theta[first:last],
                                      np.ones(k, dtype=np.int32), split)
        if info != 0:
            return None
        count = last - first
        near = theta[first:last]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            values = np.asarray(function.evaluate(near), dtype=np.float64)
        if not np.all(np.isfinite(values)):
            return None
        radius = np.maximum(residual * np.abs(vectors[-1, :count]), radius_floor)
        unreliable = np.abs(near) <= radius
        spurious = float(np.linalg.norm((values * vectors[0, :count])[unreliable]))
        flagged = np.zeros(k, dtype=bool)
        flagged[first:last] = unreliable
        reliable = magnitudes[~flagged]
        reliable_min = float(np.min(reliable)) if reliable.size else 0.0
    try:
        y, _ = inv_abs_e1(alphas, betas, low, high)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(y)):
        return None
    return y, theta, spurious, reliable_min

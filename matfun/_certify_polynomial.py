r"""The Lanczos polynomial's certificate of an interval for ``|lambda|`` (private).

From ``k`` Lanczos steps (``alpha``, ``beta``) alone: where the log ratio
``log(beta_1 ... beta_k / |p_k(t)|)``, with ``p_k(t) = prod_i (t - theta_i)`` over
the Ritz values, falls below the level fixed by the failure probability, no
eigenvalue can lie (on the good event of the random start). Beyond the extreme
Ritz values that gives the ends of the spectrum (:func:`_outside`), between the
Ritz values around 0 the gap (:func:`_gap_around_zero`). The argument, its
probabilities and its references are in :mod:`matfun._certify`, which runs
Lanczos and calls :func:`polynomial_certificate` at its checks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["polynomial_certificate"]

_GRID = 8  # points per refinement round of a level crossing (vectorised bisection)
_ROUNDS = 8  # 8^8 ~ 1.7e7: the crossing to ~6e-8 of its bracket, on the safe side


def _log_ratio(t: Any, ritz: np.ndarray, log_betas: float) -> Any:
    """``log(beta_1 ... beta_k / |p_k(t)|)``, ``p_k(t) = prod (t - theta_i)`` (``t`` array)."""
    t = np.asarray(t, dtype=float)
    gaps = np.abs(t[..., None] - ritz)
    with np.errstate(divide="ignore"):
        return log_betas - np.sum(np.log(gaps), axis=-1)  # a zero gap gives +inf


def _crossing(low: float, high: float, low_is_good, rounds: int = _ROUNDS
              ) -> tuple[float, float]:
    """Bracket ``[low, high]`` of the switch of a monotone predicate, narrowed on a grid.

    ``low_is_good(points)`` is True on a prefix (or, when it is False at ``low``, a
    suffix) of the points; the bracket keeps one good and one bad end.
    """
    prefix = bool(low_is_good(np.array([low]))[0])
    for _ in range(rounds):
        grid = np.linspace(low, high, _GRID + 1)
        good = low_is_good(grid)
        switch = int(np.argmin(good)) if prefix else int(np.argmax(good))
        if switch == 0:  # rounding at the ends: keep the bracket
            break
        low, high = float(grid[switch - 1]), float(grid[switch])
    return low, high


def _outside(ritz, log_betas, level, direction, spread) -> float:
    """Where the log ratio first drops to ``level`` beyond the extreme Ritz value.

    The point ``x`` beyond the extreme Ritz value (``direction`` +1 or -1): no
    eigenvalue lies beyond it (on the good event). Beyond it ``|p_k|`` increases,
    so the ratio is monotone: a doubling search, then a grid refinement, returning
    the far (safe) end of the bracket.
    """
    edge = ritz[-1] if direction > 0 else ritz[0]
    steps = (spread * 1e-12 + np.finfo(float).tiny) * 2.0 ** np.arange(80)
    steps = steps[steps <= 1e6 * spread + 1]
    below = _log_ratio(edge + direction * steps, ritz, log_betas) <= level
    if not np.any(below):
        return math.inf * direction
    first = int(np.argmax(below))
    low = float(steps[first - 1]) if first > 0 else 0.0
    _, high = _crossing(low, float(steps[first]),
                        lambda x: _log_ratio(edge + direction * x, ritz, log_betas) > level)
    return edge + direction * high


def _gap_around_zero(ritz, log_betas, level) -> float:
    """Largest ``y`` with the log ratio ``<= level`` on all of ``[-y, y]`` (0 if none).

    Between consecutive Ritz values ``log|p_k|`` is concave, so the log ratio is
    convex there and its sublevel set is an interval ``[a, b]``; ``y = min(-a, b)``.
    """
    below = ritz[ritz < 0]
    above = ritz[ritz > 0]
    if below.size + above.size < ritz.size:
        return 0.0  # a Ritz value at 0
    left = float(below[-1]) if below.size else -math.inf
    right = float(above[0]) if above.size else math.inf
    if not _log_ratio(0.0, ritz, log_betas) <= level:
        return 0.0

    def edge(limit):  # from 0 towards the Ritz value ``limit`` while the ratio stays low
        if not math.isfinite(limit):
            # Convex and tending to -inf beyond the last Ritz value: monotone, so the
            # whole half-line is in the sublevel set once 0 is.
            return math.inf
        direction = 1.0 if limit > 0 else -1.0
        low, _ = _crossing(0.0, abs(limit),
                           lambda y: _log_ratio(direction * y, ritz, log_betas) <= level)
        return low  # the near (safe) end of the bracket

    return min(edge(left), edge(right))


def polynomial_certificate(alphas: list[float], betas: list[float], dimension: int,
                           failure_probability: float, complex_field: bool
                           ) -> tuple[float, float, float, float]:
    """``(lower, upper, bottom, top)`` from the Lanczos polynomial (:mod:`matfun._certify`).

    ``lower, upper`` bound ``|lambda|``; ``bottom <= lambda_min``, ``lambda_max <= top``.
    """
    a, b = (1.0, dimension - 1.0) if complex_field else (0.5, (dimension - 1) / 2)
    # Thresholds fixed in advance: P(gamma^2 <= s_end) = delta/4 for each extreme
    # eigenvalue, and P(gamma^2 <= s_mid) = delta/2 for one fixed eigenvector of the
    # smallest |lambda| (no union over the indices: matfun._certify's docstring).
    import scipy.special  # lazy: SciPy submodules are slow to import
    s_end = float(scipy.special.betaincinv(a, b, failure_probability / 4))
    s_mid = float(scipy.special.betaincinv(a, b, failure_probability / 2))
    k = len(alphas)
    import scipy.linalg  # lazy: SciPy submodules are slow to import
    ritz = np.sort(scipy.linalg.eigvalsh_tridiagonal(np.asarray(alphas),
                                                     np.asarray(betas[: k - 1]),
                                                     lapack_driver="sterf"))
    if np.any(np.asarray(betas) <= 0):
        return 0.0, math.inf, -math.inf, math.inf
    log_betas = float(np.sum(np.log(np.asarray(betas))))
    spread = float(ritz[-1] - ritz[0]) + abs(float(ritz[-1])) + abs(float(ritz[0]))
    top = _outside(ritz, log_betas, 0.5 * math.log(s_end), 1, spread)
    bottom = _outside(ritz, log_betas, 0.5 * math.log(s_end), -1, spread)
    upper = max(abs(top), abs(bottom))
    lower = _gap_around_zero(ritz, log_betas, 0.5 * math.log(s_mid))
    if bottom > 0:
        lower = max(lower, bottom)
    if top < 0:
        lower = max(lower, -top)
    return float(lower), float(upper), float(bottom), float(top)

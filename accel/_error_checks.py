"""The two error checks of :mod:`accel._honest`: the rounding floor and the prefix tail.

**Rounding floor.** Each term is known only to about ``eps |s_j|``: the
transform is rerun on ``s_j (1 + eps r_j)`` with fixed pseudo-random and with
alternating signs ``r_j``; four times the larger change of the estimate is the
accuracy the data allow (:func:`rounding_floor`).

**Prefix tail.** The transform is rerun without the newest one, two and three
terms; the geometric tail of the four estimates is a second truncation estimate
that one coincidence cannot shrink (:func:`prefix_error`).

The streams' checked result (:mod:`accel._stream_check`) and the scalar fast path
(:mod:`accel._scalar`) compute the same runs by other routes and share the
pieces that turn them into numbers (:func:`perturbation_factors`,
:func:`floor_from_change`, :func:`prefix_tail`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._power_of_two import scale_by_power_of_two
from ._result import AccelResult, Status
from ._sequence import constants, total_norm

__all__ = [
    "PREFIX_RUNS",
    "ROUNDING_SAFETY",
    "floor_from_change",
    "perturbation_factors",
    "prefix_error",
    "prefix_runs",
    "prefix_tail",
    "rounding_floor",
]

# Four times the change under one eps-sized perturbation: random signs excite a
# typical, not the worst, combination of the weights.
ROUNDING_SAFETY = 4.0

# The error check reruns the transform without the newest 1, 2, 3 terms.
PREFIX_RUNS = 3

# Fixed signs of the rounding perturbation (deterministic results).
_SIGNS = np.where(np.random.default_rng(20240611).random(4096) < 0.5, -1.0, 1.0)


def rounding_floor(xp: Any, run: Callable[..., AccelResult], terms: Any, unit: Any,
                    estimate: Any, exponent: int, eps: float, estimate_size: float) -> float:
    """Four times the largest change of the estimate when every term moves by ``eps |s_j|``.

    Two perturbations: fixed pseudo-random signs and alternating signs.

    At least ``eps max(||estimate||, ||s_m||)`` (``estimate_size``, in the
    scaled units): the estimate is formed as ``s_m + p T(u)``.
    """
    change = 0.0
    for factors in perturbation_factors(xp, terms, eps):
        # unit + (s_j / 2**exponent) * factors, signed (not |s_j|): T(-s) = -T(s) then
        # holds for the floor too. One temporary of the terms' size at a time.
        shift = scale_by_power_of_two(terms, -exponent)
        if shift is terms:
            shift = terms * factors
        else:
            shift *= factors
        if shift.dtype != unit.dtype:
            shift = xp.astype(shift, unit.dtype)
        shift += unit
        perturbed = run(shift, check=True)
        del shift
        change = max(change, total_norm(xp, perturbed.estimate - estimate))
    return floor_from_change(change, eps, estimate_size)


def perturbation_factors(xp: Any, terms: Any, eps: float) -> list[Any]:
    """``eps`` times the two sign patterns of :func:`rounding_floor`, shaped like a column.

    Signs counted from the newest term, so that a window of the newest terms sees
    the same perturbation as the whole sequence (streaming equals batch): fixed
    random ones, and alternating ones (what difference tables amplify most).
    Term ``j`` of a perturbed copy is ``unit_j + (s_j / 2**exponent) * factors[j]``.
    """
    m = terms.shape[0]
    shape = (m,) + (1,) * (terms.ndim - 1)
    return [eps * xp.reshape(constants(xp, pattern, terms), shape)
            for pattern in (np.resize(_SIGNS, m)[::-1], (-1.0) ** np.arange(m)[::-1])]


def floor_from_change(change: float, eps: float, estimate_size: float) -> float:
    """The rounding floor from the largest change of the estimate under the perturbations."""
    if not math.isfinite(change):
        return math.inf
    # At least the rounding of the estimate itself.
    return max(ROUNDING_SAFETY * change, eps * estimate_size)


def prefix_runs(run: Callable[..., AccelResult], unit: Any) -> list[AccelResult]:
    """The transform of ``unit`` without its newest 1, 2, 3 terms, while it transforms."""
    m = unit.shape[0]
    earlier = []
    for drop in range(1, PREFIX_RUNS + 1):
        if m - drop < 1:
            break
        result = run(unit[:m - drop, ...], check=True)
        if result.status is Status.INSUFFICIENT_TERMS:
            break
        earlier.append(result)
    return earlier


def prefix_error(xp: Any, main: AccelResult, earlier: list[AccelResult]
                  ) -> tuple[float, bool]:
    """Geometric tail of the estimates from ``m``, ``m - 1``, ``m - 2``, ``m - 3`` terms.

    With the distances ``d_1, d_2, d_3`` between consecutive estimates (newest
    first) and the slower of the two observed contractions
    ``q = max(d_1 / d_2, d_2 / d_3)``, the error is
    ``max(d_1, d_2 q / (1 - q))``: for estimates that do contract geometrically
    ``d_2 q = d_1`` and this is their tail ``d_1 / (1 - q)``; a single
    coincidence (``d_1`` tiny by accident) cannot shrink it, since ``d_2`` and
    the other ratio still count. No credit (``max(d_1, d_2, d_3)``) when the
    estimates do not contract or when the newest is not a genuine transform
    (order 0, or a breakdown). Returns the error and whether all three shorter
    runs transformed without a breakdown (the check was made): a broken-down run
    returns its last finite estimate, often the raw newest term, and a main
    estimate that lands on it is one coincidence, not agreement. (On ``s_n = L +
    a r^n + delta n``, a drift without a limit, Levin's v transform broke down on
    the window without the newest term, equal steps, and its order-3 estimate on
    the whole window came out exactly that window's newest term: CONVERGED with
    the rounding floor as error; ``benchmarks/fuzz_accel.py``.)
    """
    if not earlier:
        return 0.0, False
    estimates = [main.estimate] + [result.estimate for result in earlier]
    distances = [total_norm(xp, newer - older) for newer, older in itertools.pairwise(estimates)]
    verified = len(earlier) == PREFIX_RUNS and not any(
        result.status is Status.BREAKDOWN for result in earlier)
    genuine = main.order >= 1 and main.status is not Status.BREAKDOWN
    return prefix_tail(distances, verified=verified, genuine=genuine), verified


def prefix_tail(distances: list[float], *, verified: bool, genuine: bool) -> float:
    """The error of :func:`prefix_error` from the distances ``d_1, d_2, d_3`` (newest first)."""
    if not verified or not genuine:
        return max(distances)
    d1, d2, d3 = distances
    if d2 == 0.0 and d1 == 0.0:
        return d3 if d3 > 0 else 0.0
    if d2 == 0.0 or d3 == 0.0:  # an exact repeat among the estimates: no ratio to trust
        return max(distances)
    ratio = max(d1 / d2, d2 / d3)
    if ratio >= 1.0:
        return max(distances)
    return max(d1, d2 * ratio / (1.0 - ratio))

r"""The checked :func:`accel.levin` on one float64 NumPy sequence, fast (see :mod:`accel._scalar`).

Levin's recursion (Fessler, Ford & Smith) ``X_{k+1}^{(n)} = X_k^{(n+1)} - r_k^{(n)}
X_k^{(n)}`` for the numerators and denominators: with ``first_index = 0`` an
entry depends on ``s_n, ..., s_{n+k}``, ``n`` and ``k`` only, so the runs
without the newest one, two and three terms read the table of the whole
sequence ``1``, ``2``, ``3`` places before its newest entry. Six rows share
one flat table (row ``r``'s entry ``n`` at ``r count + n`` on every level): the
numerators and denominators of the sequence and its two perturbed copies, then,
for the refinement step, the numerators of ``s - T`` of the six runs (the
sequence, its three prefixes, the two perturbed copies).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ._result import AccelResult, Status
from ._scalar import _EPS, accepts, finish, norm, prepare, raw_tail, workspace
from ._sequence import CONVERGED_ULPS

__all__ = ["levin_factors", "levin_fast"]

_VARIANTS = ("t", "u", "v", "t_modified")
_REMAINDERS = ("componentwise", "scalar")
_ROWS = 6
# Run j: (numerator row, denominator row, terms dropped) in the first table.
_RUNS = ((0, 3, 0), (0, 3, 1), (0, 3, 2), (0, 3, 3), (1, 4, 0), (2, 5, 0))
_RUN_ROWS = np.array([row for row, _, _ in _RUNS])
_DROPPED = np.array([drop for _, _, drop in _RUNS])


def levin_factors(size: int, first: int, beta: float) -> list[np.ndarray]:
    """The factors of Levin's recursion (:func:`accel.levin._ratios`), on the host.

    ``factors[k][i]`` belongs to the partial sum of index ``first + i`` at level ``k``.
    """
    factors = []
    for k in range(size - 1):
        n = first + np.arange(size - 1 - k)
        factors.append((beta + n) / (beta + n + k + 1)
                       * ((beta + n + k) / (beta + n + k + 1)) ** (k - 1))
    return factors


@functools.lru_cache(maxsize=64)
def _shared_factors(count: int, beta: float) -> tuple[np.ndarray, ...] | None:
    """:func:`levin_factors` of ``count`` sums, if those of the 3 prefixes are its leading parts.

    (Then a prefix run's factors are the whole run's, as the shared table needs.)
    """
    full = levin_factors(count, 0, beta)
    for drop in range(1, 4):
        for k, factor in enumerate(levin_factors(count - drop, 0, beta)):
            if not np.array_equal(factor, full[k][:factor.shape[0]]):
                return None
    return tuple(full)


def _levin_workspace(count: int, beta: float) -> tuple | None:
    """The flat table of six rows, its per-level views and the gather indices."""
    factors = _shared_factors(count, beta)
    if factors is None:
        return None
    levels = count - 1
    lengths = [_ROWS * count - level for level in range(levels + 1)]
    offsets = np.cumsum([0] + lengths)
    flat = np.empty(int(offsets[-1]))
    steps = []
    for level in range(1, levels + 1):
        start, length = offsets[level - 1], lengths[level - 1]
        padded = np.concatenate([factors[level - 1], np.ones(level)])
        tiled = np.tile(padded, _ROWS)[:lengths[level]]
        steps.append((flat[start + 1:start + length], flat[start:start + length - 1],
                      flat[offsets[level]:offsets[level] + lengths[level]], tiled))
    head = flat[:_ROWS * count].reshape(_ROWS, count)
    # Order s = 1..levels of run j: entry count - 1 - dropped - s of its rows at level s.
    order = np.arange(1, levels + 1)[:, None]
    position = count - 1 - _DROPPED[None, :] - order
    needed = position >= 0
    position = np.where(needed, position, 0)
    base = offsets[1:levels + 1][:, None] + position
    numerators = base + count * np.array([run[0] for run in _RUNS])
    denominators = base + count * np.array([run[1] for run in _RUNS])
    refined = base + count * np.arange(_ROWS)
    top = levels - 1 - _DROPPED  # the highest order of run j, as a row index
    return flat, head, steps, numerators, denominators, refined, ~needed, top


def _run(steps: list) -> None:
    multiply, subtract = np.multiply, np.subtract
    for upper, lower, out, factor in steps:
        multiply(factor, lower, out=out)
        subtract(upper, out, out=out)


def levin_fast(seq: Any, *args: Any, variant: str = "t", beta: Any = 1.0, order: Any = None,
               first_index: Any = 0, remainder: str = "componentwise",
               **unknown: Any) -> AccelResult | None:
    """:func:`accel.levin` with the default order and first index, checked; or ``None``."""
    if (args or unknown or order is not None or type(first_index) is not int
            or first_index != 0 or variant not in _VARIANTS or remainder not in _REMAINDERS
            or type(beta) not in (float, int) or not (math.isfinite(beta) and beta > 0)
            or not accepts(seq)):
        return None
    beta = float(beta)
    prepared = prepare(seq, translative=False)
    if prepared is None:
        return None
    unit, rows, center, exponent = prepared
    weights = _levin_weights(rows, variant, beta)
    if weights is None:
        return None
    sums, inverse = weights
    count = sums.shape[1]
    space = workspace((_levin_workspace, count, beta))
    if space is None:
        return None
    flat, head, steps, numerators, denominators, refined, ignored, top = space
    levels = count - 1
    runs = np.arange(_ROWS)
    with np.errstate(all="ignore"):
        np.multiply(sums, inverse, out=head[:3])
        head[3:] = inverse
        _run(steps)
        denominator = flat[denominators]
        values = flat[numerators] / denominator
        if not (((denominator != 0) & np.isfinite(values)) | ignored).all():
            return None
        anchors = values[top, runs]
        # The refinement: the same recursion on s - anchor, per run.
        run_sums = sums[_RUN_ROWS]
        shifted = run_sums - anchors[:, None]
        np.multiply(shifted, inverse[_RUN_ROWS], out=head)
        _run(steps)
        corrections = flat[refined] / denominator
        corrections = np.where(np.isfinite(corrections), corrections, 0.0)
        last = count - 1 - _DROPPED
        spread = np.maximum.accumulate(np.abs(shifted), axis=1)[runs, last]
        extent = np.maximum.accumulate(np.abs(run_sums), axis=1)[runs, last]
        clustered = spread < 0.5 * extent
        finals = np.where(clustered, values + corrections, values)
        if not (np.isfinite(finals) | ignored).all():
            return None
    estimate = float(finals[levels - 1, 0])
    previous = float(finals[levels - 2, 0]) if levels >= 2 else float(unit[-1])
    error = norm(estimate - previous)
    scale = max(norm(estimate), norm(float(unit[-1])))
    if error <= CONVERGED_ULPS * _EPS * scale:
        status = Status.CONVERGED
    elif error > raw_tail(unit[-3:].tolist()):
        status = Status.NOT_ACCELERATING
    else:
        status = Status.ACCELERATING
    used = levels + 1 + (variant in ("v", "t_modified"))
    main = AccelResult(estimate, error, status, levels, used)
    tops = finals[top, runs].tolist()
    return finish(unit, main, tops[4:], tops[1:4], center, exponent)


def _levin_weights(rows: np.ndarray, variant: str,
                   beta: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Sums and ``1 / w`` per row (:func:`accel.levin._weights`); ``None`` if one is invalid."""
    with np.errstate(all="ignore"):
        differences = np.concatenate([rows[:, :1], rows[:, 1:] - rows[:, :-1]], axis=1)
        sums = rows
        if variant == "t":
            inverse = 1.0 / differences
        elif variant == "u":
            index = np.arange(differences.shape[1]) + beta
            inverse = 1.0 / (index * differences)
        elif variant == "t_modified":
            inverse = 1.0 / differences[:, 1:]
            sums = sums[:, :-1]
        else:  # "v": defined where neither difference nor their product vanishes
            current, following = differences[:, :-1], differences[:, 1:]
            product = current * following
            if not ((current != 0).all() and (following != 0).all() and (product != 0).all()):
                return None
            inverse = (current - following) / product
            sums = sums[:, :-1]
        # safe_divide's validity: a nonzero divisor and a finite quotient.
        if not np.isfinite(inverse).all():
            return None
    return sums, inverse

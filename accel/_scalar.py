r"""The checked batch transforms on one float64 NumPy sequence, fast.

:mod:`accel._honest` runs a transform six times per result (the sequence, the
sequence without its newest one, two and three terms, and two perturbed
copies), each run validating its input, building masks and synchronising
through the array API. For the commonest call, a 1-D float64 NumPy array, this
module computes the *same numbers* with far less work:

* **one table for the four prefix runs.** An entry of Wynn's table
  ``e_c^{(j)}`` depends on ``s_j, ..., s_{j+c}`` only, and a Levin entry
  ``N_k^{(n)}, D_k^{(n)}`` on ``s_n, ..., s_{n+k}`` and ``n, k`` only (with
  ``first_index = 0`` the indices of a prefix are those of the whole): the
  tables of ``s[:-1]``, ``s[:-2]``, ``s[:-3]`` are sub-tables of the table of
  ``s``, read along shorter anti-diagonals;
* **the perturbed runs stacked** with the sequence as rows of one 2-D array, so
  each column (level) of the table costs a few NumPy operations for all rows;
* **the decisions on Python floats**: every norm here is of a single number,
  ``sqrt(x * x)`` exactly as :func:`numpy.linalg.vector_norm` computes it.

Every operation on every entry is the one the general path performs, in the
same order, so the results agree bit for bit, status included (tested with
hypothesis and on :mod:`accel.testing` in ``tests/accel/test_scalar.py``). The
general path's breakdown rules are not re-implemented: whenever an entry of the
table is near-singular, non-finite, or a remainder estimate vanishes, the fast
path declines (returns ``None``) and the general path runs. So does any other
input: vectors, other dtypes or backends, a kept table, an explicit Levin order
or first index, fewer than :data:`MIN_TERMS` terms.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._honest import _SIGNS, ROUNDING_SAFETY, prefix_tail, scale_by_power_of_two
from ._result import AccelResult, Status
from ._sequence import CONVERGED_ULPS, tail_error

__all__ = ["MIN_TERMS", "epsilon_fast", "levin_factors", "levin_fast"]

# Every prefix run (three terms fewer) must still transform: order 1 needs 3 terms.
MIN_TERMS = 6

_EPS = float(np.finfo(np.float64).eps)
_NEAR_ZERO = 16.0 * _EPS  # accel.inverses._NEAR_ZERO_ULPS * eps
_VARIANTS = ("t", "u", "v", "t_modified")
_REMAINDERS = ("componentwise", "scalar")
_INVERSES = ("samelson", "elementwise")


def _norm(x: float) -> float:
    """``||x||`` of one float as :func:`numpy.linalg.vector_norm` forms it."""
    return math.sqrt(x * x)


def _accepts(seq: Any) -> bool:
    return (type(seq) is np.ndarray and seq.ndim == 1 and seq.dtype == np.float64
            and seq.shape[0] >= MIN_TERMS)


def _is_order(order: Any) -> bool:
    return order is None or (type(order) is int and order >= 1)


@functools.lru_cache(maxsize=64)
def _sign_steps(m: int) -> np.ndarray:
    """``eps * signs`` of the two rounding perturbations of :mod:`accel._honest`."""
    return np.stack([_EPS * np.resize(_SIGNS, m)[::-1], _EPS * ((-1.0) ** np.arange(m)[::-1])])


def _prepare(seq: np.ndarray, translative: bool) -> tuple | None:
    """Centre, scale and perturb as :func:`accel._honest.honest_result` does.

    Returns ``(unit, rows, center, exponent)`` with ``rows`` (shape ``(3, m)``) the
    unit terms and their two perturbed copies, or ``None`` (the general path handles it).
    """
    with np.errstate(all="ignore"):
        # A NaN or inf term makes the size non-finite: the general path refuses it.
        center = float(seq[-1]) if translative else 0.0
        centred = seq - center if translative else seq
        size = float(np.max(np.abs(centred)))
    if not math.isfinite(size) or size == 0.0:
        return None
    exponent = math.frexp(size)[1]
    unit = scale_by_power_of_two(centred, -exponent)
    size_terms = scale_by_power_of_two(seq, -exponent)
    rows = np.concatenate([unit[None, :], unit + size_terms * _sign_steps(seq.shape[0])])
    return unit, rows, center, exponent


def _finish(unit: np.ndarray, main: AccelResult, perturbed: list[float], prefix: list[float],
            center: float, exponent: int) -> AccelResult | None:
    """The checked result from the runs' numbers (:func:`accel._honest.honest_result`)."""
    m = unit.shape[0]
    eps = _EPS
    estimate = main.estimate
    scaled_center = scale_by_power_of_two(center, -exponent)
    scaled_size = _norm(estimate + scaled_center)
    representable = max(scaled_size, _norm(scaled_center))
    change = 0.0
    for value in perturbed:
        change = max(change, _norm(value - estimate))
    if not math.isfinite(change):
        floor = math.inf
    else:
        floor = max(ROUNDING_SAFETY * change, eps * representable)
    estimates = [estimate, *prefix]
    distances = [_norm(newer - older) for newer, older in zip(estimates, estimates[1:])]
    prefix_error = prefix_tail(distances, verified=True,
                               genuine=main.order >= 1 and main.status is not Status.BREAKDOWN)
    own = 0.0 if main.status is Status.CONVERGED else main.error
    truncation = max(own, prefix_error)
    error = max(truncation, floor)
    if main.status is Status.BREAKDOWN:
        status = Status.BREAKDOWN
    elif error > _raw_tail(unit):
        status = Status.NOT_ACCELERATING
    elif (truncation <= max(floor, CONVERGED_ULPS * eps * scaled_size)
          and floor <= math.sqrt(eps) * scaled_size
          and not _growing(unit[-min(m, main.terms + 3):])):
        status = Status.CONVERGED
    else:
        status = Status.ACCELERATING
    value = scale_by_power_of_two(estimate, exponent) + center
    if not math.isfinite(value):
        return None
    if math.isfinite(error):
        try:
            error = math.ldexp(error, exponent)
        except OverflowError:
            error = math.inf
    return AccelResult(np.float64(value), error, status, main.order, main.terms)


def _raw_tail(unit: np.ndarray) -> float:
    """:func:`accel._sequence.raw_tail_error` of the unit terms, on floats."""
    last = float(unit[-1] - unit[-2])
    previous = float(unit[-2] - unit[-3])
    size = _norm(previous)
    ratio = ((previous / size) * last) / size if size > 0 else math.nan
    return tail_error(_norm(last), ratio)


def _growing(window: np.ndarray) -> bool:
    """:func:`accel._honest._growing` on a 1-D window."""
    steps = window[1:] - window[:-1]
    sizes = np.sqrt(steps * steps)
    return bool(sizes[-1] > np.min(sizes[:-1]))


# -- Wynn's epsilon (Shanks, Sablonnière) -----------------------------------------


def epsilon_fast(seq: Any, *args: Any, weight: Callable[[int], float], order: Any = None,
                 inverse: str = "samelson", table: bool = False,
                 **unknown: Any) -> AccelResult | None:
    """:func:`accel.shanks` / :func:`accel.sablonniere` (``weight``), checked; or ``None``."""
    if (args or unknown or table or not _accepts(seq) or not _is_order(order)
            or inverse not in _INVERSES):
        return None
    prepared = _prepare(seq, translative=True)
    if prepared is None:
        return None
    unit, rows, center, exponent = prepared
    m = unit.shape[0]
    targets = [(m - 1 - d) // 2 if order is None else min(order, (m - 1 - d) // 2)
               for d in range(4)]
    columns = _epsilon_columns(rows, 2 * max(targets), weight)
    if columns is None:
        return None

    def entry(column: int, row: int, index: int) -> float:
        return float(columns[column][row * m + index])

    # The main run: the anti-diagonal from the newest term (summarize_diagonal).
    target = targets[0]
    used = 2 * target + 1
    last = m - 1
    estimate = entry(2 * target, 0, last - 2 * target)
    change = _norm(estimate - entry(2 * target - 2, 0, last - 2 * target + 2))
    error = math.hypot(change, 0.0)
    scale = max(_norm(estimate), _norm(float(unit[-1])))
    last_step = abs(float(unit[-1] - unit[-2]))
    ratio = last_step * last_step * (entry(1, 0, last - 1) * entry(1, 0, last - 2))
    if weight(1) != 1.0:
        ratio = ratio / (weight(1) * weight(1))
    if error <= CONVERGED_ULPS * _EPS * scale:
        status = Status.CONVERGED
    elif error > tail_error(last_step, ratio):
        status = Status.NOT_ACCELERATING
    else:
        status = Status.ACCELERATING
    main = AccelResult(estimate, error, status, target, used)
    perturbed = [entry(2 * target, row, last - 2 * target) for row in (1, 2)]
    prefix = [entry(2 * targets[d], 0, last - d - 2 * targets[d]) for d in (1, 2, 3)]
    return _finish(unit, main, perturbed, prefix, center, exponent)


def _epsilon_columns(rows: np.ndarray, columns: int,
                     weight: Callable[[int], float]) -> list[np.ndarray] | None:
    """Columns ``0..columns`` of the epsilon table of each row; ``None`` on any breakdown.

    The rows are laid end to end in one flat array (row ``r``'s entry ``j`` of
    column ``c`` at ``r m + j``): entries that straddle two rows are meaningless
    and ignored. The arithmetic is that of :func:`accel.epsilon.epsilon_table`
    with the elementwise inverse; the near-zero test (16 ulps of the larger
    entry) and finiteness are checked on every meaningful entry at the end (the
    general path handles a table that needs them).
    """
    count, m = rows.shape
    table = [rows.reshape(-1)]
    before = None
    current = table[0]
    with np.errstate(all="ignore"):
        for column in range(1, columns + 1):
            value = 1.0 / (current[1:] - current[:-1])
            if weight(column) != 1.0:
                value = value * weight(column)
            if before is not None:
                value += before[1:-1]
            table.append(value)
            before, current = current, value
        flat = np.concatenate(table)
        entries, pairs = _masks(count, m, columns)
        older = flat[:pairs.shape[0] + 1]
        size = np.abs(older)
        scale = np.maximum(size[1:], size[:-1])
        scale *= _NEAR_ZERO
        small = np.abs(older[1:] - older[:-1]) <= scale
        if np.any(small, where=pairs) or not np.all(np.isfinite(flat), where=entries):
            return None
    return table


@functools.lru_cache(maxsize=64)
def _masks(count: int, m: int, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Meaningful entries of the flat table, and meaningful differences of columns < ``columns``."""
    entries = []
    for column in range(columns + 1):
        position = np.arange(count * m - column)
        entries.append(position % m <= m - 1 - column)
    # The difference of entries p and p + 1 of column c - 1 feeds column c.
    pairs = [np.append(mask[:-1] & mask[1:], False) for mask in entries[:-1]]
    return np.concatenate(entries), np.concatenate(pairs)[:-1]


# -- Levin ------------------------------------------------------------------------


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
def _shared_factors(size: int, beta: float) -> tuple[np.ndarray, ...] | None:
    """:func:`levin_factors` of ``size`` sums, if those of the 3 prefixes are its leading parts."""
    full = levin_factors(size, 0, beta)
    for drop in range(1, 4):
        for k, factor in enumerate(levin_factors(size - drop, 0, beta)):
            if not np.array_equal(factor, full[k][:factor.shape[0]]):
                return None
    return tuple(full)


def levin_fast(seq: Any, *args: Any, variant: str = "t", beta: Any = 1.0, order: Any = None,
               first_index: Any = 0, remainder: str = "componentwise",
               **unknown: Any) -> AccelResult | None:
    """:func:`accel.levin` with the default order and first index, checked; or ``None``."""
    if (args or unknown or order is not None or type(first_index) is not int
            or first_index != 0 or variant not in _VARIANTS or remainder not in _REMAINDERS
            or type(beta) not in (float, int) or not (math.isfinite(beta) and beta > 0)
            or not _accepts(seq)):
        return None
    beta = float(beta)
    prepared = _prepare(seq, translative=False)
    if prepared is None:
        return None
    unit, rows, center, exponent = prepared
    weights = _levin_weights(rows, variant, beta)
    if weights is None:
        return None
    sums, inverse = weights
    count = sums.shape[1]
    factors = _shared_factors(count, beta)
    if factors is None:
        return None
    levels = count - 1
    with np.errstate(all="ignore"):
        # Rows 0-2 numerators, 3-5 denominators; the newest four entries per level.
        tails = _recursion(np.concatenate([sums * inverse, inverse]), factors)
        numerators, denominators = tails[:, :3, :], tails[:, 3:, :]
        values = numerators / denominators
        # Run d (without the newest d terms) reads column 3 - d of row 0; the
        # perturbed rows only column 3. Orders 1..count-1-d, level = order - 1.
        needed = _needed(levels)
        if not (((denominators != 0) & np.isfinite(values)) | ~needed).all():
            return None
        anchors = [float(values[levels - 1 - d, 0, 3 - d]) for d in range(4)]
        anchors += [float(values[levels - 1, row, 3]) for row in (1, 2)]
        # The refinement: the same recursion on s - anchor, per run.
        shifted = np.concatenate([np.broadcast_to(sums[:1], (4, count)), sums[1:]]) \
            - np.array(anchors)[:, None]
        corrections_tails = _recursion(shifted * inverse[[0, 0, 0, 0, 1, 2]], factors)
        corrections = corrections_tails / denominators[:, [0, 0, 0, 0, 1, 2], :]
        corrections = np.where(np.isfinite(corrections), corrections, 0.0)
        lengths = count - np.array([0, 1, 2, 3, 0, 0])
        mask = np.arange(count) < lengths[:, None]
        spread = np.max(np.abs(shifted), axis=1, initial=0.0, where=mask)
        extent = np.max(np.abs(np.concatenate([np.broadcast_to(sums[:1], (4, count)),
                                               sums[1:]])), axis=1, initial=0.0, where=mask)
        clustered = spread < 0.5 * extent
        runs = [(0, 3 - d) for d in range(4)] + [(1, 3), (2, 3)]
        finals = []
        for run, (row, column) in enumerate(runs):
            value = values[:, row, column]
            if clustered[run]:
                value = value + corrections[:, run, column]
            finals.append(value)
        for run, final in enumerate(finals):
            top = levels - (run if run < 4 else 0)
            if not np.isfinite(final[:top]).all():
                return None
    main_values = finals[0]
    estimate = float(main_values[levels - 1])
    previous = float(main_values[levels - 2]) if levels >= 2 else float(unit[-1])
    error = _norm(estimate - previous)
    scale = max(_norm(estimate), _norm(float(unit[-1])))
    if error <= CONVERGED_ULPS * _EPS * scale:
        status = Status.CONVERGED
    elif error > _raw_tail(unit):
        status = Status.NOT_ACCELERATING
    else:
        status = Status.ACCELERATING
    used = levels + 1 + (variant in ("v", "t_modified"))
    main = AccelResult(estimate, error, status, levels, used)
    perturbed = [float(finals[run][levels - 1]) for run in (4, 5)]
    prefix = [float(finals[d][levels - 1 - d]) for d in (1, 2, 3)]
    return _finish(unit, main, perturbed, prefix, center, exponent)


@functools.lru_cache(maxsize=64)
def _needed(levels: int) -> np.ndarray:
    """Which of the ``(level, row, column)`` entries of the three rows' tails are read."""
    needed = np.zeros((levels, 3, 4), dtype=bool)
    for d in range(4):
        needed[:levels - d, 0, 3 - d] = True
    needed[:, 1:, 3] = True
    return needed


def _recursion(rows: np.ndarray, factors: tuple[np.ndarray, ...]) -> np.ndarray:
    """Fessler-Ford-Smith levels of every row; the newest four entries per level.

    Returns shape ``(levels, rows, 4)``; column ``3 - d`` is the entry ``d`` places
    from the newest (NaN where the level has fewer entries).
    """
    levels = rows.shape[1] - 1
    tails = np.full((levels, rows.shape[0], 4), np.nan)
    for k in range(levels):
        rows = rows[:, 1:] - factors[k] * rows[:, :-1]
        width = min(4, rows.shape[1])
        tails[k, :, 4 - width:] = rows[:, -width:]
    return tails


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
        else:  # "v"
            current, following = differences[:, :-1], differences[:, 1:]
            if not ((current != 0).all() and (following != 0).all()):
                return None
            inverse = (current - following) / (current * following)
            sums = sums[:, :-1]
            if not (current * following != 0).all():
                return None
        # safe_divide's validity: a nonzero divisor and a finite quotient.
        if not np.isfinite(inverse).all():
            return None
    return sums, inverse

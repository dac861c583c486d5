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
or first index, fewer than :data:`MIN_TERMS` or more than :data:`MAX_TERMS` terms.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ._error_checks import _SIGNS, ROUNDING_SAFETY, prefix_tail
from ._power_of_two import scale_by_power_of_two
from ._result import AccelResult, Status
from ._sequence import CONVERGED_ULPS, steps_allow_convergence, tail_error

__all__ = ["MAX_TERMS", "MIN_TERMS", "accepts", "epsilon_fast", "finish", "norm", "prepare",
           "raw_tail", "workspace"]

# Every prefix run (three terms fewer) must still transform: order 1 needs 3 terms.
MIN_TERMS = 6
# Longer sequences take the general path: the per-thread scratch tables grow like
# m^2 (about 2.5 m^2 float64 for epsilon, 5.5 m^2 for Levin) and are kept.
MAX_TERMS = 100

_EPS = float(np.finfo(np.float64).eps)
_NEAR_ZERO = 16.0 * _EPS  # accel.inverses._NEAR_ZERO_ULPS * eps
_VARIANTS = ("t", "u", "v", "t_modified")
_REMAINDERS = ("componentwise", "scalar")
_INVERSES = ("samelson", "elementwise")
_LOCAL = threading.local()  # per-thread scratch tables (see workspace)


def norm(x: float) -> float:
    """``||x||`` of one float as :func:`numpy.linalg.vector_norm` forms it."""
    return math.sqrt(x * x)


def accepts(seq: Any) -> bool:
    return (type(seq) is np.ndarray and seq.ndim == 1 and seq.dtype == np.float64
            and MIN_TERMS <= seq.shape[0] <= MAX_TERMS)


def _is_order(order: Any) -> bool:
    return order is None or (type(order) is int and order >= 1)


@functools.lru_cache(maxsize=64)
def _sign_steps(m: int) -> np.ndarray:
    """``eps * signs`` of the two rounding perturbations of :mod:`accel._honest`."""
    return np.stack([_EPS * np.resize(_SIGNS, m)[::-1], _EPS * ((-1.0) ** np.arange(m)[::-1])])


def prepare(seq: np.ndarray, translative: bool) -> tuple | None:
    """Centre, scale and perturb as :func:`accel._honest.honest_result` does.

    Returns ``(unit, rows, center, exponent)`` with ``rows`` (shape ``(3, m)``) the
    unit terms and their two perturbed copies, or ``None`` (the general path handles it).
    """
    with np.errstate(all="ignore"):
        # A NaN or inf term makes the size non-finite: the general path refuses it.
        center = float(seq[-1]) if translative else 0.0
        centred = seq - center if translative else seq
        size = float(np.abs(centred).max())
    if not math.isfinite(size) or size == 0.0:
        return None
    exponent = math.frexp(size)[1]
    unit = scale_by_power_of_two(centred, -exponent)
    size_terms = scale_by_power_of_two(seq, -exponent)
    rows = np.concatenate([unit[None, :], unit + size_terms * _sign_steps(seq.shape[0])])
    return unit, rows, center, exponent


def finish(unit: np.ndarray, main: AccelResult, perturbed: list[float], prefix: list[float],
            center: float, exponent: int) -> AccelResult | None:
    """The checked result from the runs' numbers (:func:`accel._honest.honest_result`)."""
    # The newest terms the four runs read (at least the three raw_tail needs).
    window = unit[-min(unit.shape[0], main.terms + 3):].tolist()
    eps = _EPS
    estimate = main.estimate
    scaled_center = scale_by_power_of_two(center, -exponent)
    scaled_size = norm(estimate + scaled_center)
    representable = max(scaled_size, norm(scaled_center))
    change = 0.0
    for value in perturbed:
        change = max(change, norm(value - estimate))
    if not math.isfinite(change):
        floor = math.inf
    else:
        floor = max(ROUNDING_SAFETY * change, eps * representable)
    estimates = [estimate, *prefix]
    distances = [norm(newer - older)
                 for newer, older in zip(estimates, estimates[1:], strict=False)]
    prefix_error = prefix_tail(distances, verified=True,
                               genuine=main.order >= 1 and main.status is not Status.BREAKDOWN)
    own = 0.0 if main.status is Status.CONVERGED else main.error
    truncation = max(own, prefix_error)
    error = max(truncation, floor)
    if main.status is Status.BREAKDOWN:
        status = Status.BREAKDOWN
    elif error > raw_tail(window):
        status = Status.NOT_ACCELERATING
    elif (truncation <= max(floor, CONVERGED_ULPS * eps * scaled_size)
          and floor <= math.sqrt(eps) * scaled_size
          and steps_allow_convergence(
              [norm(newer - older) for older, newer in zip(window, window[1:], strict=False)],
              eps * scaled_size, term_ulp=eps * max(norm(u + scaled_center) for u in window))):
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


def raw_tail(terms: list[float]) -> float:
    """:func:`accel._sequence.raw_tail_error` of the newest (unit) terms, on floats."""
    last = terms[-1] - terms[-2]
    previous = terms[-2] - terms[-3]
    size = norm(previous)
    ratio = ((previous / size) * last) / size if size > 0 else math.nan
    return tail_error(norm(last), ratio)


# -- Wynn's epsilon (Shanks, Sablonnière) -----------------------------------------


def epsilon_fast(seq: Any, *args: Any, weight: Callable[[int], float], order: Any = None,
                 inverse: str = "samelson", table: bool = False,
                 **unknown: Any) -> AccelResult | None:
    """:func:`accel.shanks` / :func:`accel.sablonniere` (``weight``), checked; or ``None``."""
    if (args or unknown or table or not accepts(seq) or not _is_order(order)
            or inverse not in _INVERSES):
        return None
    prepared = prepare(seq, translative=True)
    if prepared is None:
        return None
    unit, rows, center, exponent = prepared
    m = unit.shape[0]
    targets = [(m - 1 - d) // 2 if order is None else min(order, (m - 1 - d) // 2)
               for d in range(4)]
    table = _epsilon_columns(rows, 2 * max(targets), weight)
    if table is None:
        return None
    flat, offsets = table

    def at(column: int, row: int, index: int) -> int:
        return offsets[column] + row * m + index

    # The main run: the anti-diagonal from the newest term (summarize_diagonal); the
    # perturbed runs' estimates; the prefix runs' (shorter anti-diagonals).
    target = targets[0]
    used = 2 * target + 1
    last = m - 1
    wanted = [at(2 * target, 0, last - 2 * target), at(2 * target - 2, 0, last - 2 * target + 2),
              at(1, 0, last - 1), at(1, 0, last - 2),
              at(2 * target, 1, last - 2 * target), at(2 * target, 2, last - 2 * target)]
    wanted += [at(2 * targets[d], 0, last - d - 2 * targets[d]) for d in (1, 2, 3)]
    estimate, previous, newer, older, *rest = flat[wanted].tolist()
    error = math.hypot(norm(estimate - previous), 0.0)
    scale = max(norm(estimate), norm(float(unit[-1])))
    last_step = abs(float(unit[-1] - unit[-2]))
    ratio = last_step * last_step * (newer * older)
    if weight(1) != 1.0:
        ratio = ratio / (weight(1) * weight(1))
    if error <= CONVERGED_ULPS * _EPS * scale:
        status = Status.CONVERGED
    elif error > tail_error(last_step, ratio):
        status = Status.NOT_ACCELERATING
    else:
        status = Status.ACCELERATING
    main = AccelResult(estimate, error, status, target, used)
    return finish(unit, main, rest[:2], rest[2:], center, exponent)


def _epsilon_columns(rows: np.ndarray, columns: int,
                     weight: Callable[[int], float]) -> tuple[np.ndarray, list[int]] | None:
    """The epsilon table of each row, flat, and each column's offset; ``None`` on breakdown.

    The rows are laid end to end (row ``r``'s entry ``j`` of column ``c`` at
    ``offsets[c] + r m + j``): entries that straddle two rows are meaningless and
    ignored. The arithmetic is that of :func:`accel.epsilon.epsilon_table` with
    the elementwise inverse; the near-zero test (16 ulps of the larger entry) and
    finiteness are checked on every meaningful entry at the end (the general
    path handles a table that needs them). The table lives in a per-thread
    workspace: read it before the next call.
    """
    count, m = rows.shape
    flat, head, offsets, steps, older, entries, pairs = workspace(
        (_epsilon_workspace, count, m, columns))
    weights = _column_weights(weight, columns)
    subtract, divide, add, multiply = np.subtract, np.divide, np.add, np.multiply
    head[...] = rows
    with np.errstate(all="ignore"):
        for upper, lower, value, before, factor in zip(*steps, weights, strict=True):
            subtract(upper, lower, out=value)
            divide(1.0, value, out=value)
            if factor != 1.0:
                multiply(value, factor, out=value)
            if before is not None:
                add(value, before, out=value)
        size = np.abs(older)
        scale = np.maximum(size[1:], size[:-1])
        scale *= _NEAR_ZERO
        small = np.abs(older[1:] - older[:-1]) <= scale
        if (small & pairs).any() or not (np.isfinite(flat) | entries).all():
            return None
    return flat, offsets


@functools.lru_cache(maxsize=16)
def _column_weights(weight: Callable[[int], float], columns: int) -> tuple[float, ...]:
    return tuple(weight(column) for column in range(1, columns + 1))


def _epsilon_workspace(count: int, m: int, columns: int) -> tuple:
    """The flat table and its views: per column ``upper, lower, value, before``.

    With the meaningful differences (``pairs``) and the meaningless entries
    (``entries`` is true where an entry may be ignored).
    """
    lengths = [count * m - column for column in range(columns + 1)]
    offsets = [0]
    for length in lengths:
        offsets.append(offsets[-1] + length)
    flat = np.empty(offsets[-1])
    uppers, lowers, values, befores = [], [], [], []
    for column in range(1, columns + 1):
        start, length = offsets[column - 1], lengths[column - 1]
        uppers.append(flat[start + 1:start + length])
        lowers.append(flat[start:start + length - 1])
        values.append(flat[offsets[column]:offsets[column] + lengths[column]])
        befores.append(None if column < 2 else
                       flat[offsets[column - 2] + 1:offsets[column - 2] + lengths[column - 2] - 1])
    meaningful = [np.arange(length) % m <= m - 1 - column
                  for column, length in enumerate(lengths)]
    # The difference of entries p and p + 1 of column c - 1 feeds column c.
    pairs = [np.append(mask[:-1] & mask[1:], False) for mask in meaningful[:-1]]
    head = flat[:count * m].reshape(count, m)
    return (flat, head, offsets, (uppers, lowers, values, befores), flat[:offsets[columns]],
            ~np.concatenate(meaningful), np.concatenate(pairs)[:-1])


def workspace(key: tuple) -> Any:
    """``key[0](*key[1:])``, built once per thread (scratch arrays reused between calls)."""
    cache = getattr(_LOCAL, "cache", None)
    if cache is None:
        cache = _LOCAL.cache = {}
    space = cache.get(key)
    if space is None:
        if len(cache) >= 32:
            cache.clear()
        space = cache[key] = key[0](*key[1:])
    return space

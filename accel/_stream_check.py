r"""The checked result of a streaming epsilon table, by fewer passes than six batch tables.

:meth:`accel.epsilon_stream.EpsilonAccelerator.result` equals the batch
transform (:func:`accel.shanks` / :func:`accel.sablonniere`, wrapped by
:mod:`accel._honest`) of the terms pushed, to the last bit. That wrapper
transforms the normalised terms ``u_j = (s_j - s_m) / 2**e`` six times: all of
them, all but the newest one, two and three, and two perturbed copies. Here the
same six numbers come from less work:

* one fresh table streamed over ``u_0, ..., u_m`` gives the first four: after
  the push of ``u_k`` its anti-diagonal is the batch table of ``u_0..u_k`` (entry
  for entry the same operations), so the window's table and its three prefixes
  cost one table of ``2N + 4`` terms instead of four of ``2N + 1``;
* each perturbed copy is formed, and transformed, only for the newest ``2N + 1``
  terms, the only ones the transform reads;
* the normalised terms are formed in one buffer, updated in place (NumPy); the
  largest magnitude is read as ``max(max u, -min u)`` (no ``|u|`` temporary).

The arithmetic of every number is that of the batch route, so the result is the
same bit for bit (tested after every push against the batch function): ``N (2N +
1)`` table entries for each perturbed copy and ``N (2N + 1) + 6N`` for the four
runs on the rescaled terms, against ``6 N (2N + 1)`` before. Measured on
``10^6``-element vectors (CPU time, in axpy-equivalents, ``docs/bench_accel.md``):
about 360 for Sablonnière order 2, 2.7x cheaper than the batch route (965 in the
same session), 2x at order 1 and 3.8x at order 3; much of what remains is the
first touch of freshly allocated buffers. The batch route itself is taken where
this one does not apply: scalar terms (the batch's scalar fast path is cheaper),
float16, every term equal, a centring or a perturbed term that overflows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._backend import is_complex, namespace, real_dtype, to_float
from ._error_checks import PREFIX_RUNS, floor_from_change, perturbation_factors
from ._honest import _back, _size, conclude
from ._inplace import overwritable
from ._power_of_two import power_of_two_exponent, scale_by_power_of_two
from ._result import AccelResult, Status
from ._sequence import total_norm

__all__ = ["checked_result", "unchecked_result"]


def checked_result(window: list, table: Callable[[], Any],
                   batch: Callable[[Any], AccelResult]) -> AccelResult:
    """The checked transform of the terms in ``window`` (oldest first).

    ``table()``: a fresh streaming table of the method (same order and
    inverse) that does not rescale its terms; ``batch(terms)``: the checked
    batch transform of stacked terms, the reference and the fallback.
    """
    prepared = _prepare(window)
    if prepared is None:
        return batch(namespace(window[0]).stack(window))
    xp, center, unit, exponent = prepared
    m = len(window)
    eps = float(xp.finfo(real_dtype(xp, center)).eps)
    main, earlier = _main_and_prefixes(table, unit)
    if main.status is Status.INSUFFICIENT_TERMS:
        return _back(main, center, exponent, True, center)
    estimate = main.estimate
    scaled_center = scale_by_power_of_two(center, -exponent)
    scaled_size = _size(xp, estimate + scaled_center)
    representable = max(scaled_size, _size(xp, scaled_center))
    change = 0.0
    for factors in perturbation_factors(xp, unit, eps):
        perturbed = table()
        try:
            for j in range(m - main.terms, m):
                perturbed.push(_perturbed(xp, window[j], unit[j, ...], factors[j, ...],
                                          -exponent))
        except ValueError:  # a perturbed term overflowed: the batch route says what then
            return batch(xp.stack(window))
        change = max(change, total_norm(xp, perturbed._raw_estimate() - estimate))
    floor = floor_from_change(change, eps, representable)
    return conclude(xp, main, earlier, floor, unit, eps=eps, scaled_size=scaled_size,
                    center=center, exponent=exponent, table_scaling=True, newest=center)


def unchecked_result(window: list, table: Callable[[], Any],
                     batch: Callable[[Any], AccelResult]) -> AccelResult:
    """:func:`checked_result`'s estimate without its checks: one table of ``2N + 1`` terms.

    The terms are centred and rescaled as there (the same ``u_j``, the same power of
    two from all of ``window``), and the newest ``2N + 1`` of them go through one
    fresh table: its anti-diagonal is the one the checked route's main table ends
    with (every entry is a function of the newest ``2N + 1`` terms), so the estimate
    is the same to the last bit. The error and status are that table's own
    (:meth:`~accel.epsilon_stream.EpsilonAccelerator.raw_result`'s: the distance of
    its two highest even columns, one comparison), mapped back; where the checked
    route falls back to the batch transform, so does this one.
    """
    prepared = _prepare(window)
    if prepared is None:
        return batch(namespace(window[0]).stack(window))
    _, center, unit, exponent = prepared
    m = len(window)
    stream = table()
    for k in range(max(0, m - stream._length), m):
        stream.push(unit[k, ...])
    return _back(stream.raw_result(), center, exponent, True, center)


def _prepare(window: list) -> tuple[Any, Any, Any, int] | None:
    """``(xp, center, u, e)``: the terms centred on the newest and scaled by ``2^-e``.

    ``u_j = (s_j - s_m) / 2^e`` stacked, ``2^e`` the power of two above their largest
    magnitude. ``None`` where both routes use the batch transform instead: fewer than
    two terms, terms that are not vectors, float16, all terms equal, or an overflow.
    """
    first = window[0]
    xp = namespace(first)
    half = getattr(xp, "float16", None)
    if len(window) < 2 or first.ndim != 1 or (half is not None and first.dtype == half):
        return None
    center = window[-1]
    unit = _centred(xp, window, center)
    size = _largest_magnitude(xp, unit)  # decision: the scale
    if size == 0.0 or not math.isfinite(size):  # every term equal, or an overflow
        return None
    exponent = power_of_two_exponent(size)
    return xp, center, _scaled(unit, -exponent), exponent


def _main_and_prefixes(table: Callable[[], Any], unit: Any
                       ) -> tuple[AccelResult, list[AccelResult]]:
    """The unchecked transform of ``unit`` and of it without its newest 1, 2, 3 terms."""
    m = unit.shape[0]
    stream = table()
    results = {}
    for k in range(m):
        stream.push(unit[k, ...])
        if k + 1 >= m - PREFIX_RUNS:
            results[k + 1] = stream.raw_result()
    earlier = []
    for drop in range(1, PREFIX_RUNS + 1):
        if m - drop < 1 or results[m - drop].status is Status.INSUFFICIENT_TERMS:
            break
        earlier.append(results[m - drop])
    return results[m], earlier


def _centred(xp: Any, window: list, center: Any) -> Any:
    """``stack(window) - center``, written row by row into one buffer on NumPy."""
    if not overwritable(center):
        return xp.stack(window) - center
    out = np.empty((len(window),) + center.shape, dtype=center.dtype)
    for j, term in enumerate(window):
        np.subtract(term, center, out=out[j])
    return out


def _largest_magnitude(xp: Any, x: Any) -> float:
    """``max |x|`` as a float: ``max(max x, -min x)`` for real ``x`` (exact, no temporary)."""
    if is_complex(xp, x):
        return to_float(xp.max(xp.abs(x)))
    return max(to_float(xp.max(x)), -to_float(xp.min(x)))


def _scaled(x: Any, exponent: int) -> Any:
    """:func:`accel._power_of_two.scale_by_power_of_two`, in place on a NumPy buffer."""
    if not overwritable(x):
        return scale_by_power_of_two(x, exponent)
    first = exponent // 2
    for power in (first, exponent - first):
        if power:
            np.multiply(x, 2.0 ** power, out=x)
    return x


def _perturbed(xp: Any, term: Any, unit_row: Any, factor: Any, exponent: int) -> Any:
    """``unit_row + (term * 2**exponent) * factor``: one term of a perturbed copy.

    The operations of :func:`accel._error_checks.rounding_floor`, in one new buffer.
    """
    if not overwritable(unit_row):
        scaled = scale_by_power_of_two(term, exponent) * factor
        return unit_row + xp.astype(scaled, unit_row.dtype)
    row = None
    first = exponent // 2
    for power in (first, exponent - first):
        if power:
            row = np.multiply(term if row is None else row, 2.0 ** power, out=row)
    row = np.multiply(term if row is None else row, factor, out=row)
    if row.dtype != unit_row.dtype:
        row = row.astype(unit_row.dtype)
    np.add(unit_row, row, out=row)
    return row

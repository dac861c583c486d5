r"""The estimate of a streaming epsilon table's ``unchecked_result()``, column by column.

:meth:`accel.epsilon_stream.EpsilonAccelerator.unchecked_result` centres the newest
``2N + 4`` terms on the newest, divides them by a power of two, and streams the
newest ``2N + 1`` through a fresh table, one anti-diagonal per term: every entry
costs a few backend operations and a host decision (is it defined?), so on a
library with a per-operation cost (PyTorch on small vectors) the table costs more
than its arithmetic. Here the same triangle

.. math::

    e_c^{(j)} = e_{c-2}^{(j+1)} + w_c \,(e_{c-1}^{(j+1)} - e_{c-1}^{(j)})^{-1}
    \qquad (\text{Samelson inverse } v^{-1} = v / (v^T v))

is built a column at a time on the stacked ``(2N + 1 - c, n)`` rows: the
differences, scalings and sums are elementwise (the same IEEE operations as the
stream's vector ones, so the same floats), the norms are taken row by row with the
stream's own function (the same reduction, so the same floats), and the
definedness flags of every entry are reduced to one host decision at the end.
Where every entry is defined and every factor is a normal number (the stream's
fast path everywhere), the estimate is the stream's to the last bit; anywhere else
(a near-zero difference, a factor the stream computes by its slower route, a
non-finite entry, fewer than two terms, scalars, float16, complex terms) the
function answers ``None`` and the caller asks the stream itself.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._backend import all_finite, is_complex, namespace, to_float, vecdot
from ._error_checks import PREFIX_RUNS
from ._power_of_two import power_of_two_exponent, scale_by_power_of_two
from .epsilon_stream import EpsilonAccelerator
from .inverses import _inverse_constants

__all__ = ["supports", "unchecked_estimate"]


def supports(stream: Any) -> bool:
    """Whether :func:`unchecked_estimate` can stand for ``stream.unchecked_result()``."""
    return isinstance(stream, EpsilonAccelerator) and stream.inverse == "samelson"


_CONSTANTS: dict = {}


def _constants(xp: Any, x: Any) -> Any:
    """:func:`accel.inverses._inverse_constants`, kept per library, dtype and device."""
    key = (xp, x.dtype, getattr(x, "device", None))
    constants = _CONSTANTS.get(key)
    if constants is None:
        constants = _CONSTANTS[key] = _inverse_constants(xp, x)
    return constants


def _fresh_squares(xp: Any, rows: list) -> Any:
    """``(m, 1)`` squared norms of 1-D ``rows`` by the stream's dot product, then stacked.

    Each row must be a vector of its own (a fresh buffer, as the stream's table
    entries are): a library's dot product may sum in an order that depends on the
    vector's alignment in memory (PyTorch's does), which a row of a matrix does not
    share. The square root of the stacked squares is then the stream's
    :func:`accel.inverses._row_norm` of each row, elementwise: the same floats.
    """
    dot = vecdot(xp)
    return xp.stack([dot(row, row) for row in rows])[:, None]


def _norms(xp: Any, rows: Any, exact: bool) -> Any:
    """``(m, 1)`` norms of the rows of a matrix: the stream's (``exact``), or batched."""
    if exact:
        return xp.sqrt(_fresh_squares(xp, [xp.asarray(rows[j, ...], copy=True)
                                           for j in range(rows.shape[0])]))
    return xp.linalg.vector_norm(rows, axis=-1)[:, None]


def unchecked_estimate(stream: Any, terms: list) -> Any | None:
    r"""``stream.unchecked_result().estimate`` had ``terms`` been pushed, or ``None``.

    Parameters
    ----------
    stream : EpsilonAccelerator
        An accelerator of the method and order wanted (Samelson inverse:
        :func:`supports`); it is only read.
    terms : list of arrays
        The terms in the order they would be pushed (the newest ``2N + 4`` are read).

    Returns
    -------
    array or None
        The estimate in the terms' units (finite), or ``None`` where the stream's
        table takes another route than the one computed here (a cut entry, a factor
        by its slower route, an estimate beyond the dtype's range), or where a
        decision is too close to call with the batched norms.

    Notes
    -----
    Only the norms of the differences enter the arithmetic (the factor
    :math:`w / \|d\|^2`); they are the stream's own (:func:`_fresh_squares`). The
    entries' norms only decide whether a difference is near zero (within 16 ulps
    of the entries) and whether an entry is finite: they are taken batched, and
    the near-zero test is passed only with the margin ``1 + (4 n + 16) eps`` that
    covers any two roundings of the same norm (each sum of ``n`` squares is within
    ``n eps`` relative); inside that margin the answer is ``None``. Where the
    margin is wide (``n eps`` above 1/40) the entries' norms are the stream's too.
    """
    if not supports(stream):
        raise TypeError("unchecked_estimate needs an epsilon stream with the Samelson "
                        f"inverse, got {type(stream).__name__}")
    weights = [type(stream)._weight(column) for column in range(2 * stream.order + 1)]
    length = len(weights)
    window = terms[-(length + PREFIX_RUNS):]
    first = window[0]
    xp = namespace(first)
    half = getattr(xp, "float16", None)
    if (len(window) < length or first.ndim != 1 or is_complex(xp, first)
            or (half is not None and first.dtype == half)):
        return None
    center = window[-1]
    unit = xp.stack(window) - center
    size = to_float(xp.max(xp.abs(unit)))  # decision: the scale (the stream's max(max, -min))
    if size == 0.0 or not math.isfinite(size):
        return None
    exponent = power_of_two_exponent(size)
    unit = scale_by_power_of_two(unit, -exponent)
    constants = _constants(xp, center)
    slack = 1.0 + (4.0 * center.shape[0] + 16.0) * float(xp.finfo(center.dtype).eps)
    exact = slack > 1.025
    column = unit[unit.shape[0] - length:, ...]
    norms = _norms(xp, column, exact)
    flags = []
    before = None  # column c - 2 (None before column 2)
    # A zero or tiny difference divides by zero or overflows: its flags are false.
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        for c in range(1, length):
            weight = weights[c]
            rows = [column[j + 1, ...] - column[j, ...] for j in range(column.shape[0] - 1)]
            size_d = xp.sqrt(_fresh_squares(xp, rows))
            difference = xp.stack(rows)
            # Every flag below true: the stream's fast path (no cut, the factor itself).
            entries = xp.maximum(norms[1:, ...], norms[:-1, ...])
            flags.append(size_d > (constants.tolerance * slack) * entries)
            factor = (weight / size_d) / size_d
            # The stream's representable factor (||d|| >= 2 sqrt(w / max)), a normal
            # number: a factor of at most max / 8 implies the first, with room to spare.
            flags.append((factor >= constants.tiny) & (factor <= constants.largest / 8))
            value = difference * factor
            if before is not None:
                value = value + before[1:-1, ...]  # e_{c-2}^{(j+1)}
            if c < length - 1:
                # A NaN/inf entry, or a norm that overflows, fails a flag of the next
                # column (its difference's size, or its near-zero test, is not finite).
                norms = _norms(xp, value, exact)
            before, column = column, value
    if not bool(xp.all(xp.concat(flags))):  # decision: one for the whole table
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        estimate = scale_by_power_of_two(column[-1, ...], exponent) + center
    # Not finite: the last entry is undefined (the stream cuts it) or its image leaves
    # the range (the stream returns the newest term): the stream says which.
    return estimate if all_finite(xp, estimate) else None

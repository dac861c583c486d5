r"""The newest ascending anti-diagonal of an epsilon table, and reading a result from it.

Every epsilon-type table here (batch :func:`accel.epsilon.epsilon_table`, the
streaming :class:`accel._antidiagonal.AntiDiagonal`, the topological one) ends
in the newest anti-diagonal ``e_c^{(M-c)}``, ``c = 0, 1, ...``: :class:`CutTracker`
records where its entries stop being defined and why, :class:`Diagonal` holds it
with that record, and :func:`summarize_diagonal` turns it into the estimate, its
error and its status by the breakdown rule of :mod:`accel.epsilon`. The step
sizes and step ratios that the status compares with come from the helpers
below.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ._result import AccelResult, Status
from ._sequence import CONVERGED_ULPS, fold_orders, tail_error
from ._sequence import total_norm as _total_norm
from .inverses import _row_norm


@dataclasses.dataclass
class Diagonal:
    """The newest ascending anti-diagonal of a table: every result is read from it.

    Attributes
    ----------
    entries : list of arrays
        ``e_c^{(M-c)}`` for ``c = 0, 1, ...`` (0 where undefined).
    reach : array of int16
        Number of leading columns defined on this anti-diagonal, per component
        (shape of a mask: ``()`` for scalars, ``(1,)`` for Samelson vectors,
        ``(n,)`` elementwise).
    settled : array of bool
        Where the first undefined column is the breakdown of a converged column.
    settled_error_sq : array, 0-d
        Sum of the squared newest changes of the converged columns that the
        result falls back to (their share of the error estimate).
    last_step : array, 0-d
        ``||s_M - s_{M-1}||``, the last raw step.
    ratio : array, 0-d, or None
        The observed ratio ``q`` of the last two raw steps (NaN or ``None``:
        undefined), for the raw tail-error estimate
        :func:`accel._sequence.tail_error` that the status compares with.

    ``reach``, ``settled`` and ``settled_error_sq`` may all be ``None``: every
    entry is defined and nothing settled (what the streaming form knows without
    building the masks).
    """

    entries: list
    reach: Any
    settled: Any
    settled_error_sq: Any
    last_step: Any
    ratio: Any = None


class CutTracker:
    """Where the newest anti-diagonal's entries stop being defined, and why.

    Fed the newest entry's flags column by column (``record``). The first
    undefined column ``c`` is *settled* (the result there is ``CONVERGED``) when

    * ``c`` is odd, its inputs are defined and its own difference (of the even
      column ``c - 1``) is near zero (16 ulps): that column has converged;
    * ``c`` is even and the newest change of the even column ``c - 2`` (the
      difference inverted in column ``c - 1``) is within ``sqrt(eps)`` of its
      size: the odd column ``c - 1`` then holds entries of size at least
      ``1 / sqrt(eps)`` times the inverse of the estimates' size, amplified
      rounding noise of a converged column, and its breakdown (or one inherited
      from the previous anti-diagonal) says nothing more.

    Otherwise the cut is a ``BREAKDOWN``. Only cuts at columns up to ``2 target``
    make the result fall short of its target order, and add to the error.
    """

    def __init__(self, xp: Any, shape: tuple[int, ...], *, length: int, target: int,
                 real: Any) -> None:
        self.xp = xp
        self.reach = xp.full(shape, length, dtype=xp.int16)
        self.settled = xp.zeros(shape, dtype=xp.bool)
        self.settled_error_sq = xp.zeros((), dtype=real)
        self.last_column = 2 * target
        self._odd_size = self._odd_near = None

    def record(self, column: int, *, valid: Any, inputs: Any, small: Any, near: Any,
               size: Any) -> None:
        """Account for the newest entry of ``column`` (mask-shaped flags)."""
        xp = self.xp
        first = ~valid & (self.reach > column)
        if column % 2:
            cause, change = inputs & small, size
            self._odd_size, self._odd_near = size, near
        else:
            cause, change = self._odd_near, self._odd_size
        cause = first & cause
        self.reach = xp.where(first, xp.full_like(self.reach, column), self.reach)
        self.settled = xp.where(first, cause, self.settled)
        if column <= self.last_column:
            masked = xp.where(cause, change, xp.asarray(0, dtype=change.dtype))
            self.settled_error_sq = self.settled_error_sq + xp.sum(masked * masked)

    def note_odd(self, size: Any, near: Any) -> None:
        """The sizes of the last odd column, when its (all-valid) entry was not recorded."""
        self._odd_size, self._odd_near = size, near

    def close(self) -> None:
        """Drop the last odd column's sizes (a vector with the elementwise inverse)."""
        self._odd_size = self._odd_near = None

    def diagonal(self, entries: list, last_step: Any, ratio: Any = None) -> Diagonal:
        """The finished anti-diagonal."""
        self.close()
        return Diagonal(entries, self.reach, self.settled, self.settled_error_sq, last_step,
                        ratio)


def mask_shape(entry: Any, joint: bool) -> tuple[int, ...]:
    """Shape of the validity mask of one table entry."""
    return (1,) if joint else tuple(entry.shape)


def step_size(xp: Any, newer: Any, older: Any) -> Any:
    """``||newer - older||`` as a 0-d array (absolute value for scalars)."""
    difference = newer - older
    if difference.ndim == 0:
        return xp.abs(difference)
    return xp.reshape(_row_norm(xp, difference), ())


def inverse_ratio(xp: Any, newer: Any, older: Any, step: Any, defined: Any, *,
                  weight: float) -> Any:
    r"""Observed ratio ``q`` of the last two raw steps, from column 1 of the table.

    With the Samelson inverse (and for scalars) ``e_1^{(j)} = w_1 \overline{\Delta_{j+1}}
    / ||\Delta_{j+1}||^2``, so that

    .. math:: q = \frac{\operatorname{Re}\langle \Delta_M, \Delta_{M-1}\rangle}
                       {\lVert \Delta_{M-1}\rVert^2}
                = \frac{\lVert \Delta_M \rVert^2}{w_1^2}
                  \operatorname{Re}\langle e_1^{(M-1)}, e_1^{(M-2)}\rangle

    needs neither ``s_{M-2}`` nor ``Delta_{M-1}``: the streaming table holds
    ``e_1^{(M-2)}`` anyway. NaN where either entry is undefined (a difference near
    zero); ``step`` is ``||Delta_M||``, 0-d.
    """
    pairing = xp.vecdot(xp.reshape(newer, (-1,)), xp.reshape(older, (-1,)))
    if xp.isdtype(pairing.dtype, "complex floating"):
        pairing = xp.real(pairing)
    ratio = step * step * pairing
    if weight != 1.0:
        ratio = ratio / (weight * weight)
    return xp.where(xp.all(defined), ratio, xp.asarray(math.nan, dtype=ratio.dtype))


def norm_ratio(xp: Any, step: Any, previous_step: Any) -> Any:
    """``||Delta_M|| / ||Delta_{M-1}||``, the unsigned ratio (NaN if the latter is 0).

    For vectors with the elementwise inverse, whose column 1 holds no joint
    view of ``Delta_{M-1}``: ``|q|`` is then over-estimated (Cauchy-Schwarz) and
    the sign is lost, so the raw tail error of oscillating vector sequences is
    over-estimated and NOT_ACCELERATING is flagged less often.
    """
    defined = previous_step > 0
    ratio = step / xp.where(defined, previous_step, xp.ones_like(previous_step))
    return xp.where(defined, ratio, xp.asarray(math.nan, dtype=ratio.dtype))


def all_finite_mask(xp: Any, value: Any, joint: bool) -> Any:
    """Finiteness per mask entry (per vector when ``joint``)."""
    finite = xp.isfinite(value)
    return xp.all(finite, axis=-1, keepdims=True) if joint else finite


def summarize_diagonal(xp: Any, diagonal: Diagonal, *, order: int, used: int) -> AccelResult:
    """Estimate, error and status from the newest anti-diagonal (see the module docstring).

    The estimate of order ``l`` is ``entries[2 l]``. The error is the norm of the
    difference between the two highest defined orders, except for the
    components that settled below ``order``: for those it is the newest change
    of the converged column they fall back to.
    """
    if diagonal.reach is None:  # every entry defined, nothing settled
        settled_error, unbroken = 0.0, True
    else:
        settled_error = math.sqrt(float(diagonal.settled_error_sq))
        unbroken = bool(xp.all(diagonal.reach > 2 * order))  # decision: no fold needed
    if unbroken:
        # Same numbers as the fold below when every order is defined, without its
        # temporaries: streaming memory stays at the table plus one difference.
        estimate = diagonal.entries[2 * order]
        change = _total_norm(xp, estimate - diagonal.entries[2 * order - 2])
        error, reached, broke = math.hypot(change, settled_error), order, False
    else:
        estimate, error, reached, broke = _fold_diagonal(xp, diagonal, order, settled_error)
    if broke:
        status = Status.BREAKDOWN
    else:
        eps = float(xp.finfo(diagonal.last_step.dtype).eps)
        scale = max(_total_norm(xp, estimate), _total_norm(xp, diagonal.entries[0]))
        if error <= CONVERGED_ULPS * eps * scale:
            status = Status.CONVERGED
        elif error > _raw_error(diagonal):
            status = Status.NOT_ACCELERATING
        else:
            status = Status.ACCELERATING
    return AccelResult(estimate, error, status, reached, used)


def _raw_error(diagonal: Diagonal) -> float:
    """The raw sequence's tail-error estimate (:func:`accel._sequence.tail_error`)."""
    ratio = None if diagonal.ratio is None else float(diagonal.ratio)  # decision: the status
    return tail_error(float(diagonal.last_step), ratio)


def _fold_diagonal(xp: Any, diagonal: Diagonal, order: int,
                   settled_error: float) -> tuple[Any, float, int, bool]:
    """Per-component fallback to the highest defined order: (estimate, error, reached, broke)."""
    candidates = [(diagonal.entries[2 * level], diagonal.reach > 2 * level)
                  for level in range(order + 1)]
    fold = fold_orders(xp, candidates)
    estimate = fold.estimate
    short = fold.reached < order
    settled = diagonal.settled | xp.zeros(estimate.shape, dtype=xp.bool)
    converged_short = short & settled
    broke = bool(xp.any(short & ~settled))  # decision: the status
    counted = fold.has_previous & ~converged_short
    error = math.hypot(
        _total_norm(xp, xp.where(counted, estimate - fold.previous, xp.zeros_like(estimate))),
        settled_error)
    if bool(xp.any(~fold.has_previous & ~converged_short)):  # decision: unbounded error
        error = math.inf
    reached = order
    if bool(xp.any(short)):  # decision: the order reported
        reached = int(float(xp.min(fold.reached)))
    return estimate, error, reached, broke

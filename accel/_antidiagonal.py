"""One ascending anti-diagonal of the epsilon table, updated in place per term.

The table that :mod:`accel.epsilon_stream` keeps: when the (scaled) term ``s_M``
is entered, the new anti-diagonal ``e_0^{(M)}, ..., e_{2N}^{(M-2N)}`` is built
column by column from the old one, and each old entry is dropped after its last
read (the recurrence and the memory count are in :mod:`accel.epsilon_stream`).

Per term, the Python overhead is kept small: each entry's norm (Samelson) is
computed once and reused when that entry is the older one of a difference in the
next term; and the breakdown bookkeeping (column counts, flags, the settled
error) is built only at the first entry that is not defined everywhere, which
one flag read per entry decides (a synchronisation on a GPU: a decision). Until
then recording an all-defined entry would change nothing, so the numbers are
those of the batch form to the last bit.

On NumPy the Samelson table allocates nothing per term: each entry's buffer is
reused once the entry has been read for the last time (``e_{c-2}`` receives
``e_c`` in place, :mod:`accel._inplace`, with the batch form's roundings), and
two spare buffers are kept between terms.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._backend import real_dtype, settle
from ._diagonal import (
    CutTracker,
    Diagonal,
    all_finite_mask,
    inverse_ratio,
    mask_shape,
    norm_ratio,
    step_size,
)
from ._inplace import overwritable, scale_add
from .inverses import (
    _guarded_inverse,
    _InverseConstants,
    _row_norm,
    _samelson_difference_inverse,
)

# Recycled buffers kept between terms: columns 1 and 2 of each new anti-diagonal
# need fresh ones, the old columns 2N and 2N - 1 free two.
_SPARES = 2


def _near(inverted: Any, constants: _InverseConstants) -> Any:
    """The loose-convergence flag of an entry's difference, computed only when recorded.

    Elementwise it came with the inverse; with the Samelson inverse it is the
    same comparison that :func:`accel.inverses._guarded_inverse` makes.
    """
    if hasattr(inverted, "near"):
        return inverted.near
    return inverted.size <= constants.loose * inverted.scale


def _defined(xp: Any, value: Any, small: Any, *, joint: bool, constants: _InverseConstants,
             cuts: CutTracker | None, old_reach: Any, column: int) -> tuple[Any, Any, Any]:
    """Where a new entry of ``column`` is defined: ``(valid, inputs, its norm or None)``.

    Old entries are finite, so a finite value implies a finite inverse: this is
    the batch form's ``inputs & ok & finite``, without the inverse's test. Joint:
    a finite norm implies finite entries, and the norm is the next column's (one
    pass instead of a finiteness test); only a non-finite norm (possibly an
    overflow of the square) sends us to the entries. ``inputs`` (new column
    ``c - 1`` and old columns ``c - 1``, ``c - 2`` defined) is None while nothing
    has been cut.
    """
    value_norm = None
    if joint:
        value_norm = _row_norm(xp, value, constants.complex)
        valid = ~small & xp.isfinite(value_norm)
        if not bool(valid[0]):  # decision: rare, look at the entries
            value_norm = None
            valid = ~small & all_finite_mask(xp, value, joint)
    else:
        valid = ~small & all_finite_mask(xp, value, joint)
    if cuts is not None or old_reach is not None:
        # new column c - 1 and old columns c - 1, c - 2 defined (reaches are prefixes)
        inputs = cuts.reach >= column if cuts is not None else None
        if old_reach is not None:
            older = old_reach >= column
            inputs = older if inputs is None else older & inputs
        valid = inputs & valid
    else:
        inputs = None
    return valid, inputs, value_norm


class AntiDiagonal:
    """The newest ascending anti-diagonal of an epsilon table with weights ``w_c``.

    Parameters
    ----------
    weights : list of float
        ``w_0 .. w_{2N}``; their number is the anti-diagonal's full length.
    samelson : bool
        Vector entries use the Samelson (joint) inverse, else the elementwise one.

    Attributes
    ----------
    entries : list
        The anti-diagonal, column 0 first (``None`` for a dropped entry).
    owned : list of bool
        Which entries are the table's own buffers (never a caller's term, never
        handed out), free to be overwritten after their last use.
    terms : int
        Terms entered since the table was (re)started.
    peak : int
        Most entries held at once so far.
    """

    def __init__(self, weights: list[float], *, samelson: bool) -> None:
        self.weights = weights
        self.length = len(weights)
        self.samelson = samelson
        self.entries: list = []
        self.owned: list = []
        # The recycled buffers waiting for reuse.
        self.spare: list = []
        # Norms of the entries (Samelson only), each computed once: as the upper
        # entry of a difference in one term, the lower in the next.
        self.norms: list = []
        # reach / settled / settled_error_sq are None while every entry is
        # defined (nothing cut): the common case needs no masks.
        self.reach = self.settled = self.settled_error_sq = None
        self.last_step = self.ratio = None
        self.terms = 0
        self.peak = 0

    def reset(self) -> None:
        """An empty table (the spare buffers and the peak count are kept)."""
        for entry, mine in zip(self.entries, self.owned, strict=True):
            self._release(entry, mine)
        self.entries, self.norms, self.owned = [], [], []
        self.reach = self.settled = self.settled_error_sq = None
        self.last_step = self.ratio = None
        self.terms = 0

    def diagonal(self) -> Diagonal:
        """The anti-diagonal with its bookkeeping, for summarize_diagonal."""
        return Diagonal(self.entries, self.reach, self.settled, self.settled_error_sq,
                        self.last_step, self.ratio)

    def enter(self, xp: Any, term: Any, size: Any, constants: _InverseConstants,
              zero: Any) -> None:
        """Build the new ascending anti-diagonal from ``term``, in place of the old.

        ``size`` is the term's norm (Samelson vectors) or None; ``constants`` and
        ``zero`` are the per-dtype constants of the stream.
        """
        joint = self.samelson and term.ndim == 1
        norms = [size] if size is not None else []  # column 0's norm
        old, old_norms, old_owned = self.entries, self.norms, self.owned
        # NumPy vectors: the table's own entries are recycled as buffers once read for
        # the last time (fresh vector allocations cost page faults, more than a pass).
        pool = joint and overwritable(term)
        if len(old) == self.length:
            self._release(old[-1], old_owned[-1])
            old[-1] = None  # column 2N of the old anti-diagonal is never an input
        old_reach = self.reach
        new, owned = [term], [False]  # column 0 is the caller's term
        length = min(self.terms + 1, self.length)
        # Created at the first entry that is not defined everywhere: until then every
        # column's flags are all true and recording them changes nothing.
        cuts = None
        odd = None
        previous_step, self.ratio = self.last_step, None
        ratio_defined = None
        for column in range(1, length):
            upper, lower = new[column - 1], old[column - 1]
            if joint:
                inverted = self._joint_entry(xp, column, upper, lower, norms, constants, pool)
                value = inverted.inverse
            else:
                inverted, value = self._elementwise_entry(xp, column, upper, lower, constants)
            small, size = inverted.small, inverted.size
            if column >= 2:
                self._release(old[column - 2], old_owned[column - 2])
                old[column - 2] = None  # its last use
                if joint:
                    old_norms[column - 2] = None
            value = settle(value)  # a table entry: later steps start from it
            valid, inputs, value_norm = _defined(xp, value, small, joint=joint,
                                                 constants=constants, cuts=cuts,
                                                 old_reach=old_reach, column=column)
            # decision: an all-defined entry needs no bookkeeping (one flag when joint)
            if bool(valid[0]) if joint else bool(xp.all(valid)):
                # Here cuts is None: once an entry is cut, every later column of
                # this anti-diagonal is undefined there (reaches are prefixes).
                if column % 2:
                    # What a cut in the next (even) column would need from this one,
                    # kept unevaluated: the sizes and the inverse's flags or norms.
                    odd = inverted
                new.append(value)
                owned.append(pool)
                if value_norm is not None and len(norms) == column:
                    norms.append(value_norm)
            else:
                if cuts is None:
                    cuts = CutTracker(xp, mask_shape(term, joint), length=length,
                                      target=(length - 1) // 2, real=real_dtype(xp, term))
                    if odd is not None and column % 2 == 0:
                        cuts.note_odd(odd.size, _near(odd, constants))
                if inputs is None:
                    inputs = xp.ones_like(valid)
                cuts.record(column, valid=valid, inputs=inputs, small=small,
                            near=_near(inverted, constants), size=size)
                new.append(xp.where(valid, value, zero))
                owned.append(pool)
            if column == 1 and len(old) >= 2:
                if joint:  # from column 2's difference, e_1^{new} - e_1^{old}: no extra pass
                    ratio_defined = valid if old_reach is None else valid & (old_reach >= 2)
                else:
                    self.ratio = self._step_ratio(xp, new[1], old[1], valid, old_reach,
                                                  term.ndim == 0, previous_step)
            elif column == 2 and ratio_defined is not None:
                self.ratio = self._gram_ratio(xp, norms[1], old_norms[1], size, ratio_defined)
            del inverted, value, small, size, valid, inputs
            if column % 2 == 0:
                odd = None  # only the next even column reads it
            self.peak = max(self.peak, len(new) + sum(e is not None for e in old))
        self.peak = max(self.peak, len(new))
        if cuts is None:
            self.reach = self.settled = self.settled_error_sq = None
        else:
            cuts.close()
            self.reach, self.settled = cuts.reach, cuts.settled
            self.settled_error_sq = cuts.settled_error_sq
        for entry, mine in zip(old, old_owned, strict=True):
            self._release(entry, mine)  # the old entries not read again (column 2N - 1)
        self.entries, self.norms, self.owned = new, norms, owned
        self.terms += 1

    def _joint_entry(self, xp: Any, column: int, upper: Any, lower: Any, norms: list,
                     constants: _InverseConstants, pool: bool) -> Any:
        """``e_{c-2} + w_c (upper - lower)^{-1}`` with the Samelson inverse (the new entry).

        The entry e_{c-2} of the old anti-diagonal (still :attr:`entries`) is added
        in the same pass as the weighted inverse, into its own buffer when the table
        owns it (its last use). Returns the inverse's record, ``.inverse`` the entry.
        """
        old, old_norms, old_owned = self.entries, self.norms, self.owned
        if len(norms) < column:
            norms.append(_row_norm(xp, upper, constants.complex))
        if len(old_norms) < column:  # the old diagonal's last entry, while it grows
            old_norms.append(_row_norm(xp, lower, constants.complex))
        base = old[column - 2] if column >= 2 else None
        into_base = pool and base is not None and old_owned[column - 2]
        scratch = self._borrow(xp, upper) if pool else None
        inverted = _samelson_difference_inverse(xp, upper, lower, norms[column - 1],
                                                old_norms[column - 1], constants,
                                                self.weights[column], base,
                                                scratch=scratch, into_base=into_base)
        value, size = inverted.inverse, inverted.size
        if scratch is not None and value is not scratch:
            self._release(scratch, True)
        if into_base and value is base:
            old_owned[column - 2] = False  # it lives on as the new entry
        if column == 1:
            # ||s_M - s_{M-1}||: the same vecdot of the same difference
            self.last_step = xp.reshape(size, ())
        return inverted

    def _elementwise_entry(self, xp: Any, column: int, upper: Any, lower: Any,
                           constants: _InverseConstants) -> tuple[Any, Any]:
        """``e_{c-2} + w_c (upper - lower)^{-1}`` componentwise: ``(inverse's record, entry)``."""
        if column == 1:
            self.last_step = step_size(xp, upper, lower)
        inverted = _guarded_inverse(xp, upper, lower, joint=False, constants=constants)
        value = inverted.inverse
        # The inverse is a fresh temporary: scale and add in one pass, in place (the
        # same roundings as the batch form's out-of-place arithmetic).
        weight = self.weights[column]
        if column >= 2 and weight != 1.0:
            value = scale_add(value, weight, self.entries[column - 2])
        elif column >= 2:
            value += self.entries[column - 2]
        elif weight != 1.0:
            value *= weight
        return inverted, value

    def _borrow(self, xp: Any, like: Any) -> Any:
        """A vector buffer like ``like``: a recycled one, or a new one."""
        return self.spare.pop() if self.spare else xp.empty_like(like)

    def _release(self, entry: Any, owned: bool) -> None:
        """Keep ``entry``'s buffer for reuse if the table owns it (at most two spares)."""
        if owned and entry is not None and len(self.spare) < _SPARES:
            self.spare.append(entry)

    def _step_ratio(self, xp: Any, newer: Any, older: Any, valid: Any, old_reach: Any,
                    joint: bool, previous_step: Any) -> Any:
        """Observed ratio of the last two raw steps, as the batch form computes it.

        From the two newest entries of column 1 (Samelson inverse, scalars: see
        :func:`accel._diagonal.inverse_ratio`), so that no term older than
        ``s_{M-1}`` is held; from the last two step sizes otherwise.
        """
        if not joint:
            return norm_ratio(xp, self.last_step, previous_step)
        defined = valid if old_reach is None else valid & (old_reach >= 2)
        return inverse_ratio(xp, newer, older, self.last_step, defined,
                             weight=self.weights[1])

    def _gram_ratio(self, xp: Any, newer_norm: Any, older_norm: Any, difference_norm: Any,
                    defined: Any) -> Any:
        r"""The ratio of :func:`accel._diagonal.inverse_ratio` without a pass over the vectors.

        Its pairing :math:`\operatorname{Re}\langle a, b\rangle` of the two newest
        column-1 entries comes from norms the table computes anyway,
        :math:`(\lVert a\rVert^2 + \lVert b\rVert^2 - \lVert a - b\rVert^2) / 2`
        (``a - b`` is column 2's difference): equal up to rounding of the order
        of ``eps (||a||^2 + ||b||^2)``, a few ulps of ``q`` (only
        the stream's ``raw_result`` status reads it).
        """
        with np.errstate(over="ignore", invalid="ignore"):  # NaN or inf: an undefined q
            pairing = xp.reshape((newer_norm * newer_norm + older_norm * older_norm
                                  - difference_norm * difference_norm) * 0.5, ())
            ratio = self.last_step * self.last_step * pairing
        weight = self.weights[1]
        if weight != 1.0:
            ratio = ratio / (weight * weight)
        return xp.where(xp.all(defined), ratio, xp.asarray(math.nan, dtype=ratio.dtype))

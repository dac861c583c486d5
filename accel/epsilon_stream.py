"""Streaming Wynn and Sablonnière epsilon algorithms in O(N n) memory.

The seed paper's Algorithm 2 (after Wynn 1962) computes the epsilon table by
ascending anti-diagonals: when the term ``s_M`` arrives, the new anti-diagonal
``e_0^{(M)}, e_1^{(M-1)}, ..., e_{2N}^{(M-2N)}`` is built column by column from
the previous one, since

    e_c^{(M-c)} = e_{c-2}^{(M-c+1)} + w_c (e_{c-1}^{(M-c+1)} - e_{c-1}^{(M-c)})^{-1}

needs the new entry of column ``c - 1`` and the old entries of columns ``c - 1``
and ``c - 2``. Once the new entry of column ``c`` exists, the old entry of column
``c - 2`` is never read again and is dropped; the old entry of column ``2N`` is
never read at all and is dropped first. So between pushes the accelerator holds
one anti-diagonal, ``2N + 1`` vectors, and during a push at most ``2N + 2``
(:attr:`EpsilonAccelerator.peak_vectors` records it), against
``(N + 1)(2N + 1)`` for the whole table of the last ``2N + 1`` terms. The
arithmetic of one entry needs temporaries besides: one vector with the Samelson
inverse (the difference, inverted in place), up to four with the elementwise
one (the difference, its size, the entries' scale, the inverse). On NumPy the
Samelson table allocates nothing per push (its buffers are recycled). With the
elementwise inverse, a per-component column count (int16) and flag (bool) also
record the breakdowns: 3 bytes per component. The anti-diagonal itself, its
buffer recycling and its breakdown bookkeeping are :mod:`accel._antidiagonal`;
the per-dtype constants are computed at the first push.

The table is built when it is read, not at every push: :meth:`~EpsilonAccelerator.push`
validates the term (its norm, the finiteness test, is kept for the table) and
keeps a reference to it; :meth:`~EpsilonAccelerator.raw_result` (and the vector
counts) then enter the terms pushed since the last read, or, when more than
``2N + 1`` are pending, the newest ``2N + 1`` into an empty table. Every entry
:math:`e_c^{(j)}` is a function of ``s_j .. s_{j+c}`` alone, so the anti-diagonal is
the same, bit for bit, as when each term is entered at its push; a caller that
reads only :meth:`~EpsilonAccelerator.result` (the series of :mod:`matfun` with a
fixed number of terms) pays for no table of the stream at all.

:meth:`EpsilonAccelerator.raw_result` after ``M + 1`` pushes is the unchecked
table of the newest ``2N + 1`` terms. :meth:`EpsilonAccelerator.result` is the
batch transform (:func:`accel.epsilon.shanks` / :func:`accel.epsilon.sablonniere`)
of the terms pushed, with its rescaling and its error check
(:mod:`accel._honest`), computed by a shorter route (:mod:`accel._stream_check`)
once per push: the stream also keeps references to the newest ``2N + 4`` terms
for it. Memory measured with ``tracemalloc`` (``benchmarks/bench_accel.py
--memory``, the table read after every push), in vectors, for Sablonnière order 2
on NumPy: 14 held between pushes (the 8 terms, 4 more table entries, 2 spares;
8 when the table is not read), 15 at the peak of a push,
about 36 during :meth:`~EpsilonAccelerator.result`; the push makes 10 passes
over memory per new entry (``docs/bench_accel.md``).

The accelerator keeps a reference to each pushed term and overwrites only its
own buffers, never a term; copy a stream with :func:`copy.deepcopy` (a shallow
copy would share the buffers it overwrites).
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from ._antidiagonal import AntiDiagonal
from ._backend import all_finite, as_float_array, as_term, namespace, settle, to_float
from ._diagonal import summarize_diagonal
from ._error_checks import PREFIX_RUNS
from ._power_of_two import power_of_two_exponent, scale_by_power_of_two
from ._result import Accelerator, AccelResult, Status
from ._sequence import check_order
from ._stream_check import checked_result, unchecked_result
from .epsilon import INVERSES, sablonniere, sablonniere_weight, shanks, wynn_weight
from .inverses import _inverse_constants, _row_norm

__all__ = ["SablonniereAccelerator", "ShanksAccelerator"]

# First terms within 2**(+-100) go into the table unscaled (no extra pass).
_MODERATE_EXPONENT = 100


class EpsilonAccelerator(Accelerator):
    """Epsilon algorithm of order ``N`` with weights ``w_c``, fed one term at a time.

    Parameters
    ----------
    order : int
        ``N >= 1``: the estimate is ``e_{2N}`` of the newest ``2N + 1`` terms
        (lower orders while fewer terms have been pushed).
    inverse : {"samelson", "elementwise"}
        For vector terms: jointly (Samelson) or componentwise. Ignored for
        scalar terms.

    Attributes
    ----------
    name : str
    order : int
    terms : int
        Number of terms pushed.
    live_vectors : int
        Table entries held now (``<= 2N + 1`` between pushes).
    peak_vectors : int
        Most table entries held at once so far (``<= 2N + 2``).

    Notes
    -----
    The accelerator keeps a reference to each pushed term (no copy): do not
    modify a term in place after pushing it.
    """

    name = "epsilon"
    _weight: Callable[[int], float] = staticmethod(wynn_weight)

    def __init__(self, order: int = 1, *, inverse: str = "samelson") -> None:
        if order is None:
            raise TypeError("order must be an integer, got None")
        self.order = check_order(order)
        if inverse not in INVERSES:
            raise ValueError(f"inverse must be one of {INVERSES}, got {inverse!r}")
        self.inverse = inverse
        self._length = 2 * self.order + 1
        self._table = AntiDiagonal([self._weight(column) for column in range(self._length)],
                                   samelson=inverse == "samelson")
        self._count = 0
        self._checked: AccelResult | None = None  # result() of the terms pushed so far
        # The newest 2N + 4 terms (references): result() runs the batch transform
        # on them, with the error check of accel._honest (three more terms than
        # the table reads).
        self._window: deque = deque(maxlen=self._length + PREFIX_RUNS)
        # Their norms (Samelson vectors; None otherwise), the table's column 0 norms.
        self._sizes: deque = deque(maxlen=self._length + PREFIX_RUNS)
        # Terms pushed but not yet in the table (the newest ones of the window).
        self._pending = 0
        # The checks' own tables (accel._stream_check) are read after every push:
        # they build their anti-diagonals at once and keep no window.
        self._eager = False
        self._exponent: int | None = None  # the table holds terms / 2**exponent
        self._shape = self._dtype = None
        self._constants = self._zero = None

    @property
    def terms(self) -> int:
        """Number of terms pushed so far."""
        return self._count

    @property
    def live_vectors(self) -> int:
        """Number of table entries held now (after entering the pending terms)."""
        self._catch_up()
        return sum(entry is not None for entry in self._table.entries)

    @property
    def peak_vectors(self) -> int:
        """Largest number of table entries held at once, over every push so far."""
        self._catch_up()
        return self._table.peak

    def _check_term(self, term: Any) -> tuple[Any, Any, Any]:
        """Validate a term: ``(xp, term, its norm or None)``.

        The norm (Samelson vectors only) doubles as the finiteness test: a finite
        norm implies finite entries; a non-finite one sends us to the entries.
        """
        xp, term = as_term(term)
        if term.ndim > 1:
            raise ValueError(f"term must be a scalar (0-d) or a vector (1-d), got shape "
                             f"{tuple(term.shape)}")
        if self._dtype is None or term.dtype != self._dtype:
            term = as_float_array(xp, term, "term")
        if self._shape is None:
            self._shape, self._dtype = tuple(term.shape), term.dtype
            # Per-dtype constants, hoisted out of the per-term loop.
            self._constants = _inverse_constants(xp, term)
            self._zero = xp.asarray(0, dtype=term.dtype)
        elif tuple(term.shape) != self._shape or term.dtype != self._dtype:
            raise ValueError(f"term must match the first term pushed (shape {self._shape}, "
                             f"dtype {self._dtype}), got shape {tuple(term.shape)}, dtype "
                             f"{term.dtype}")
        term = settle(term)  # lazy arrays (Dask): evaluated once, kept in the table
        size = None
        if self.inverse == "samelson" and term.ndim == 1:
            with np.errstate(over="ignore", invalid="ignore"):  # handled: not finite below
                size = _row_norm(xp, term, self._constants.complex)
            if not math.isfinite(float(size[0])):  # decision: the entries tell
                size = None
        if size is None and not all_finite(xp, term):  # decision: refuse bad input
            raise ValueError(f"term {self._count} must be finite, got NaN or inf")
        return xp, term, size

    def push(self, term: Any) -> None:
        """Feed the next term: validated now, entered into the table when it is read.

        The table's new ascending anti-diagonal is built by :meth:`raw_result` (and
        :attr:`live_vectors`, :attr:`peak_vectors`), from the terms pushed since it
        was last read; :meth:`result` needs no table of this stream (it reruns the
        batch transform on the window), so a caller that reads only ``result()``
        pays no table arithmetic for the terms it skips.
        """
        xp, term, size = self._check_term(term)
        if self._exponent is None:
            self._exponent = self._first_exponent(xp, term)
        self._window.append(term)
        self._sizes.append(size)
        self._count += 1
        self._checked = None
        if self._eager:
            self._advance(xp, term, size)
        else:
            self._pending += 1

    def _catch_up(self) -> None:
        """Enter the pending terms into the table (the newest ``2N + 1`` of them at most).

        Each anti-diagonal entry :math:`e_c^{(j)}` is a function of ``s_j .. s_{j+c}``
        only (its definedness too), so the anti-diagonal of the newest ``2N + 1``
        terms, built from an empty table, is the one the stream would hold had it
        entered every term: the same operations on the same entries.
        """
        pending = self._pending
        if not pending:
            return
        self._pending = 0
        if pending > self._length:
            self._reset_table()
            pending = self._length
        xp = namespace(self._window[-1])
        start = len(self._window) - pending
        for j in range(start, len(self._window)):
            self._advance(xp, self._window[j], self._sizes[j])

    def _reset_table(self) -> None:
        """An empty table (the terms, their scaling and the constants are kept)."""
        self._table.reset()

    def _advance(self, xp: Any, term: Any, size: Any) -> None:
        """Enter ``term``, in the table's units, into the table."""
        scaled = scale_by_power_of_two(term, -self._exponent)
        # The term's norm is column 0's, when scaling left the term as it is.
        self._table.enter(xp, scaled, size if scaled is term else None, self._constants,
                          self._zero)

    @staticmethod
    def _first_exponent(xp: Any, term: Any) -> int:
        """The table's units: terms are divided by ``2**exponent``, fixed at the first push.

        Nonzero only for first terms beyond ``2**(+-100)`` (then one extra pass per
        term): the table squares its entries and would overflow or underflow.
        """
        size = to_float(xp.max(xp.abs(term)))  # |.|: complex scalars too
        exponent = power_of_two_exponent(size) if size > 0 else 0
        return exponent if abs(exponent) > _MODERATE_EXPONENT else 0

    def result(self) -> AccelResult:
        """The batch transform of the terms pushed, with its checked error and status.

        Equal to :func:`accel.shanks` / :func:`accel.sablonniere` of every term
        pushed, at this order, to the last bit: the newest ``2N + 1`` terms give
        the estimate and three more the error check of :mod:`accel._honest`, which
        rescales the terms (any magnitude) and reruns the table on them and on
        two perturbed copies. The same numbers come from one table of the
        ``2N + 4`` rescaled terms and two of ``2N + 1`` perturbed ones
        (:mod:`accel._stream_check`), computed once per push: reading the result
        again before the next push returns the same object.
        :meth:`raw_result` is the incremental table's own estimate, without the check.
        """
        if self._count == 0:
            raise ValueError(f"{self.name}: no terms pushed yet")
        if self._checked is None:
            self._checked = checked_result(list(self._window), self._fresh_table,
                                           self._checked_batch)
        return self._checked

    def unchecked_result(self) -> AccelResult:
        """:meth:`result`'s estimate, to the last bit, without its error check.

        For a caller that needs the accelerated vector and confirms it by other
        means (the optimisers of :mod:`matfun.optim`, which read no error): the
        terms are centred on the newest and rescaled as :meth:`result` does, and
        the newest ``2N + 1`` go through one table, instead of that table on
        ``2N + 4`` terms and two more on perturbed copies. The error and status are
        that table's own, as in :meth:`raw_result` (one comparison: not for
        decisions), in the terms' units.
        """
        if self._count == 0:
            raise ValueError(f"{self.name}: no terms pushed yet")
        return unchecked_result(list(self._window), self._fresh_table, self._checked_batch)

    def _checked_batch(self, terms: Any) -> AccelResult:
        return self._batch(terms, order=self.order, inverse=self.inverse, full_output=True)

    def _fresh_table(self) -> EpsilonAccelerator:
        """An empty stream of this method that keeps its terms unscaled (for the check)."""
        table = type(self)(self.order, inverse=self.inverse)
        table._exponent = 0
        table._eager = True
        # Only raw_result is read: the newest term (its INSUFFICIENT_TERMS estimate)
        # is the one term it needs kept besides the table.
        table._window = deque(maxlen=1)
        table._sizes = deque(maxlen=1)
        return table

    def _raw_estimate(self) -> Any:
        """:meth:`raw_result`'s estimate, without its error when no entry was cut."""
        self._catch_up()
        table = self._table
        target = (len(table.entries) - 1) // 2
        if target == 0 or table.reach is not None or self._exponent:
            return self.raw_result().estimate
        table.owned[2 * target] = False  # handed out: never reused
        return table.entries[2 * target]

    def raw_result(self) -> AccelResult:
        """The incremental table's estimate of the newest ``2N + 1`` terms, unchecked.

        Costs nothing beyond the pushes; its error is the distance between the
        table's two highest even columns and its status trusts one comparison
        (the table is kept in units of a power of two fixed at the first push, so
        it copes with any magnitude that stays within ``2**(+-900)`` of the first
        term): use :meth:`result` for decisions.
        """
        if self._count == 0:
            raise ValueError(f"{self.name}: no terms pushed yet")
        self._catch_up()
        table = self._table
        target = (len(table.entries) - 1) // 2
        if target == 0:
            return AccelResult(self._window[-1], float("inf"), Status.INSUFFICIENT_TERMS, 0,
                               self._count)
        xp = namespace(table.entries[0])
        table.owned = [False] * len(table.owned)  # the estimate may be an entry: never reuse
        result = summarize_diagonal(xp, table.diagonal(), order=target, used=2 * target + 1)
        if not self._exponent:
            return result
        error = result.error
        if math.isfinite(error):
            error = math.ldexp(error, self._exponent) if error else 0.0
        return dataclasses.replace(
            result, estimate=scale_by_power_of_two(result.estimate, self._exponent), error=error)

    def __repr__(self) -> str:
        return (f"<{self.name} accelerator order={self.order} inverse={self.inverse} "
                f"terms={self._count}>")


class ShanksAccelerator(EpsilonAccelerator):
    """Streaming Wynn epsilon algorithm (Shanks transform of order ``N``).

    Memory-lean form of :func:`accel.epsilon.shanks`: see :mod:`accel.epsilon_stream`.

    Examples
    --------
    >>> import numpy as np
    >>> from accel.epsilon_stream import ShanksAccelerator
    >>> acc = ShanksAccelerator(order=2)
    >>> partial = 0.0
    >>> for k in range(9):
    ...     partial += (-1.0) ** k / (2 * k + 1)
    ...     acc.push(np.asarray(partial))
    >>> result = acc.result()
    >>> bool(abs(result.estimate - np.pi / 4) < 1e-5), result.order, acc.live_vectors
    (True, 2, 5)
    """

    name = "shanks"
    _weight = staticmethod(wynn_weight)
    _batch = staticmethod(shanks)


class SablonniereAccelerator(EpsilonAccelerator):
    """Streaming Sablonnière-modified epsilon algorithm (the seed paper's Algorithm 2).

    Memory-lean form of :func:`accel.epsilon.sablonniere`: see
    :mod:`accel.epsilon_stream`. For vectors it uses the Samelson inverse by
    default, as the seed paper does.

    Examples
    --------
    >>> import numpy as np
    >>> from accel.epsilon_stream import SablonniereAccelerator
    >>> acc = SablonniereAccelerator(order=1)
    >>> for j in range(3):
    ...     acc.push(np.array([1.0, -2.0]) + np.array([3.0, 1.0]) / (j + 0.5))
    >>> np.round(acc.estimate, 12)
    array([ 1., -2.])
    """

    name = "sablonniere"
    _weight = staticmethod(sablonniere_weight)
    _batch = staticmethod(sablonniere)

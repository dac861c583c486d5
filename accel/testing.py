"""Classic sequences with known limits, and a checker any accelerator can run.

:func:`classic_sequences` lists 31 sequences (alternating, linear, fixed-point,
logarithmic, divergent-but-summable, vector sequences from linear iterations),
each with its limit to 40 digits (closed forms or mpmath at 50 digits) and the
methods of :func:`accel.methods` expected to accelerate it. :func:`sequence_terms`
and :func:`sequence_limit` round them to a floating dtype.

:func:`check_accelerator` runs an accelerator (ours or another implementation:
any callable ``fn(terms) -> result`` with ``estimate``, ``error`` and ``status``
whose ``value`` (or itself) is a string such as ``"converged"``) on every
sequence and every number of terms from 3 up, and checks the honesty rule of
:mod:`accel`: the estimate is finite, and when the status is ``"converged"`` the
true error is at most ``ratio`` (3) times the reported error, unless it is at
rounding level (``16 eps ||limit||``). Run ``python -m accel.testing`` for the
table of every method on every sequence.

mpmath is imported only inside the functions that need it.

Examples
--------
>>> from accel import shanks
>>> from accel.testing import check_accelerator, classic_sequences
>>> alternating = [s for s in classic_sequences() if s.kind == "alternating"]
>>> rows = check_accelerator(lambda t: shanks(t, full_output=True), sequences=alternating)
>>> len(rows) > 100
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._catalogue import CATALOGUE, ClassicSequence

__all__ = [
    "CheckRow",
    "ClassicSequence",
    "check_accelerator",
    "classic_sequences",
    "classic_table",
    "sequence_limit",
    "sequence_terms",
]

# Working precision of the exact terms and limits (digits).
_DIGITS = 50
# Rounding level of a limit: 16 ulps (the CONVERGED tolerance of accel).
_ROUNDING_ULPS = 16.0


def classic_sequences(kind: str | None = None) -> tuple[ClassicSequence, ...]:
    """The catalogue, or its entries of one ``kind`` (see :class:`ClassicSequence`).

    Examples
    --------
    >>> from accel.testing import classic_sequences
    >>> len(classic_sequences()), classic_sequences("alternating")[0].name
    (31, 'alternating harmonic -> log 2')
    """
    if kind is None:
        return CATALOGUE
    chosen = tuple(s for s in CATALOGUE if s.kind == kind)
    if not chosen:
        kinds = sorted({s.kind for s in CATALOGUE})
        raise ValueError(f"kind must be one of {kinds}, got {kind!r}")
    return chosen


@functools.cache
def _exact(name: str, count: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Terms and limit of the named sequence as decimal strings (cached)."""
    import mpmath

    entry = next(s for s in CATALOGUE if s.name == name)
    with mpmath.workdps(_DIGITS):
        mp = mpmath.mp
        partial = entry.partial(mp, count)
        limit = entry.limit(mp)
        flat = [x for term in partial for x in (term if isinstance(term, list) else [term])]
        limits = limit if isinstance(limit, list) else [limit]
        return (tuple(mpmath.nstr(x, 40) for x in flat),
                tuple(mpmath.nstr(x, 40) for x in limits))


def sequence_terms(sequence: ClassicSequence, count: int | None = None,
                   dtype: Any = np.float64) -> np.ndarray:
    """The first ``count`` terms (default ``sequence.count``), each rounded once to ``dtype``.

    Shape ``(count,)`` for scalar sequences, ``(count, n)`` for vector ones.

    Examples
    --------
    >>> from accel.testing import classic_sequences, sequence_terms
    >>> harmonic = classic_sequences("alternating")[0]  # 1 - 1/2 + 1/3 - ... = log 2
    >>> sequence_terms(harmonic, 3)
    array([1.        , 0.5       , 0.83333333])
    """
    count = sequence.count if count is None else count
    flat, limits = _exact(sequence.name, count)
    values = np.array([float(x) for x in flat]).astype(dtype)
    return values.reshape(count, len(limits)) if len(limits) > 1 else values


def sequence_limit(sequence: ClassicSequence, dtype: Any = np.float64) -> np.ndarray:
    """The limit rounded to ``dtype``: shape ``()`` or ``(n,)``.

    Examples
    --------
    >>> from accel.testing import classic_sequences, sequence_limit
    >>> float(sequence_limit(classic_sequences("alternating")[0]))  # log 2
    0.6931471805599453
    """
    _, limits = _exact(sequence.name, 2)
    values = np.array([float(x) for x in limits]).astype(dtype)
    return values.reshape(()) if len(limits) == 1 else values


@dataclass(frozen=True)
class CheckRow:
    """One run of :func:`check_accelerator`.

    ``true_error`` is ``||estimate - limit||`` against the 40-digit limit (in
    float64), ``error`` the reported error, ``rounding`` the rounding level
    ``16 eps ||limit||`` below which no claim is judged, ``last_error`` the last
    term's own error.
    """

    sequence: str
    kind: str
    terms: int
    true_error: float
    error: float
    status: str
    rounding: float
    last_error: float

    @property
    def under_report(self) -> float:
        """``true_error / error`` above rounding (0 at or below rounding)."""
        if self.true_error <= self.rounding:
            return 0.0
        return math.inf if self.error == 0 else self.true_error / self.error

    @property
    def honest(self) -> bool:
        """Not CONVERGED, or CONVERGED with the true error within 3x the reported one."""
        return self.status != "converged" or self.under_report <= 3.0


def _status_text(status: Any) -> str:
    return str(getattr(status, "value", status))


def check_accelerator(fn: Callable[[Any], Any], *, name: str | None = None,
                      sequences: Iterable[ClassicSequence] | None = None,
                      dtype: Any = np.float64, ratio: float = 3.0, shortest: int = 3,
                      last: int | None = None, strict: bool = True) -> list[CheckRow]:
    """Run ``fn`` on every classic sequence and every prefix; check its honesty.

    Parameters
    ----------
    fn : callable
        ``fn(terms)`` with ``terms`` a NumPy array of shape ``(m,)`` or ``(m, n)``,
        returning an object with ``estimate``, ``error`` (float) and ``status``
        (a string or an enum whose ``value`` is one, ``"converged"`` meaning the
        limit is known to ``error``).
    name : str, optional
        The method's name in :func:`accel.methods`: sequences that list it must
        then be accelerated (at their full length, the true error at most 1e-2
        of the last term's, or at rounding level).
    sequences : iterable of ClassicSequence, optional
        Default: all of :func:`classic_sequences`.
    dtype : NumPy floating dtype
        The terms are rounded to it; eps and the rounding level follow it.
        Sequences whose terms overflow it are skipped.
    ratio : float
        The most a CONVERGED result may under-report its error (3).
    shortest : int
        The fewest terms tried (every length from it to ``sequence.count``).
    last : int, optional
        Only the ``last`` longest lengths (a quicker check).
    strict : bool
        Raise ``AssertionError`` listing every violation (default), or just
        return the rows.

    Returns
    -------
    list of CheckRow
    """
    eps = float(np.finfo(dtype).eps)
    rows, problems = [], []
    for sequence in (classic_sequences() if sequences is None else sequences):
        with np.errstate(over="ignore"):
            terms = sequence_terms(sequence, dtype=dtype)
        if not np.all(np.isfinite(terms)):
            continue  # the terms overflow this dtype (Euler's series in float16)
        limit = sequence_limit(sequence).astype(np.float64)
        rounding = _ROUNDING_ULPS * eps * float(np.linalg.norm(np.atleast_1d(limit)))
        first = shortest if last is None else max(shortest, sequence.count + 1 - last)
        for m in range(first, sequence.count + 1):
            result = fn(terms[:m])
            estimate = np.asarray(result.estimate, dtype=np.float64)
            status = _status_text(result.status)
            if not np.all(np.isfinite(estimate)):
                problems.append(f"{sequence.name}, {m} terms: estimate not finite")
                continue
            true_error = float(np.linalg.norm(np.atleast_1d(estimate - limit)))
            last_error = float(np.linalg.norm(np.atleast_1d(
                terms[m - 1].astype(np.float64) - limit)))
            row = CheckRow(sequence.name, sequence.kind, m, true_error, float(result.error),
                           status, rounding, last_error)
            rows.append(row)
            if status == "converged" and row.under_report > ratio:
                problems.append(f"{sequence.name}, {m} terms: converged with error "
                                f"{row.error:.3g} but true error {true_error:.3g}")
        if name is not None and name in sequence.methods and rows:
            final = rows[-1]
            if final.true_error > max(1e-2 * final.last_error, final.rounding):
                problems.append(f"{sequence.name}: {name} should accelerate it; true error "
                                f"{final.true_error:.3g}, last term's {final.last_error:.3g}")
    if strict and problems:
        raise AssertionError(f"{len(problems)} violations:\n" + "\n".join(problems))
    return rows


def classic_table(methods: Iterable[str] | None = None, *, full_length_only: bool = True,
                  dtype: Any = np.float64) -> list[tuple[str, CheckRow]]:
    """Every method of :func:`accel.methods` (default order) on every classic sequence.

    Rows ``(method, CheckRow)`` at each sequence's full length (or every length).
    """
    import accel

    table = []
    for method in (accel.methods() if methods is None else methods):
        transform = getattr(accel, method)
        for sequence in CATALOGUE:
            rows = check_accelerator(lambda t, f=transform: f(t, full_output=True),
                                     sequences=[sequence], dtype=dtype, strict=False,
                                     shortest=sequence.count if full_length_only else 3)
            table.extend((method, row) for row in rows)
    return table


def _main() -> None:  # pragma: no cover - a report printer
    table = classic_table()
    print(f"{'method':20s} {'sequence':55s} {'m':>3s} {'true err':>9s} {'reported':>9s} status")
    for method, row in table:
        print(f"{method:20s} {row.sequence[:55]:55s} {row.terms:3d} {row.true_error:9.2e} "
              f"{row.error:9.2e} {row.status}")
    every = classic_table(full_length_only=False)
    worst = max(every, key=lambda item: item[1].under_report)
    converged = [item for item in every if item[1].status == "converged"]
    worst_converged = max(converged, key=lambda item: item[1].under_report, default=None)
    dishonest = [item for item in every if not item[1].honest]
    print(f"\n{len(every)} runs (every method, every sequence, every length from 3): "
          f"{len(converged)} converged, {len(dishonest)} dishonest (converged, true error "
          f"> 3x reported, above rounding).")
    print(f"worst under-report, any status: {worst[1].under_report:.3g} "
          f"({worst[0]}, {worst[1].sequence}, {worst[1].terms} terms, {worst[1].status})")
    if worst_converged is not None:
        print(f"worst under-report, converged: {worst_converged[1].under_report:.3g} "
              f"({worst_converged[0]}, {worst_converged[1].sequence})")


if __name__ == "__main__":  # pragma: no cover
    _main()

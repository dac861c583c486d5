"""Exceptions and warnings raised by matfun."""

from __future__ import annotations

from typing import Any

__all__ = ["IrreproducibleOperatorError", "ResultRangeError", "SeriesDivergenceError",
           "SeriesConvergenceWarning", "SeriesRangeError"]


class SeriesDivergenceError(ArithmeticError):
    """A power series' terms grew: the scale ``V`` does not bound the spectrum.

    Attributes
    ----------
    info : SeriesInfo
        What the series did up to the point of divergence (``info.scale`` is the
        ``V`` that failed).
    """

    def __init__(self, message: str, info: Any) -> None:
        super().__init__(message)
        self.info = info


class SeriesConvergenceWarning(RuntimeWarning):
    """A series stopped at ``max_terms`` before reaching its tolerance."""


class ResultRangeError(ArithmeticError):
    """The answer is outside the dtype's range, though every input is finite.

    Every method works on data rescaled by powers of two, so any finite nonzero
    magnitude of the operator and vector is accepted; this is raised only when the
    result itself, in the caller's units, overflows the dtype or underflows below its
    smallest normal number (where it would keep no relative accuracy). Never an inf or
    a zero in its place.
    """


class SeriesRangeError(ResultRangeError):
    """The answer, or a scale the caller asked for, is outside the dtype's range.

    The series run on data rescaled by powers of two, so any finite nonzero
    magnitude of the operator and vector works; this is raised only when the result
    itself (in the caller's units) or a requested ``V`` relative to the operator
    cannot be represented.

    Attributes
    ----------
    info : SeriesInfo or None
        What the series did, when it ran.
    """

    def __init__(self, message: str, info: Any = None) -> None:
        super().__init__(message)
        self.info = info


class IrreproducibleOperatorError(ArithmeticError):
    """The second pass of two-pass Lanczos did not regenerate the first pass's basis.

    ``memory="low"`` recomputes the basis from the stored recurrence coefficients; an
    operator whose products change between calls (a nondeterministic parallel
    reduction, a random sketch) makes the regenerated vectors drift away from unit
    length -- a drift the recurrence amplifies at every step -- and the sum is then
    meaningless (no error bound covers it). Use ``memory="full"``.
    """

"""Exceptions and warnings raised by matfun."""

from __future__ import annotations

from typing import Any

__all__ = ["SeriesDivergenceError", "SeriesConvergenceWarning"]


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

"""Functions of symmetric matrices applied to vectors, from matvec access only.

The saddle-free Newton direction :math:`|H|^{-1} g = (H^2)^{-1/2} g` by the binomial
series of Oldewage et al. (2024), the Neumann and general binomial series, their
coefficients, operators built from arrays, sparse matrices or callables, and exact
oracles (:mod:`matfun.exact`; hypothesis strategies in :mod:`matfun.testing`,
imported on demand). See :mod:`accel` for the sequence accelerators.
"""

from . import exact, operators, spectrum
from ._engine import PartialSum, SeriesInfo
from .coefficients import abs_damped_coefficients, binomial_coefficients
from .errors import SeriesConvergenceWarning, SeriesDivergenceError
from .operators import Operator, as_operator
from .series import binomial_series, inv_sqrt_partial_sums, inv_sqrt_series, neumann_series

__all__ = [
    "Operator",
    "PartialSum",
    "SeriesConvergenceWarning",
    "SeriesDivergenceError",
    "SeriesInfo",
    "abs_damped_coefficients",
    "as_operator",
    "binomial_coefficients",
    "binomial_series",
    "exact",
    "inv_sqrt_partial_sums",
    "inv_sqrt_series",
    "neumann_series",
    "operators",
    "spectrum",
]

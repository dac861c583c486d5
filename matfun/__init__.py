"""Functions of symmetric matrices applied to vectors, from matvec access only.

The saddle-free Newton direction :math:`|H|^{-1} g = (H^2)^{-1/2} g` by the binomial
series of Oldewage et al. (2024), the Neumann and general binomial series, their
coefficients, operators built from arrays, sparse matrices or callables, and exact
oracles (:mod:`matfun.exact`; hypothesis strategies in :mod:`matfun.testing`,
imported on demand). See :mod:`accel` for the sequence accelerators.
"""

from accel._version import __version__ as __version__

from . import chebyshev, exact, lanczos, operators, spectrum
from ._engine import PartialSum, SeriesInfo
from .chebyshev import chebyshev_inv_sqrt
from .coefficients import abs_damped_coefficients, binomial_coefficients
from .errors import SeriesConvergenceWarning, SeriesDivergenceError
from .inv_sqrt import SolveInfo, inv_sqrt
from .lanczos import lanczos_apply
from .operators import Operator, as_operator
from .series import binomial_series, inv_sqrt_partial_sums, inv_sqrt_series, neumann_series

__all__ = [
    "Operator",
    "PartialSum",
    "SeriesConvergenceWarning",
    "SeriesDivergenceError",
    "SeriesInfo",
    "SolveInfo",
    "abs_damped_coefficients",
    "as_operator",
    "binomial_coefficients",
    "binomial_series",
    "chebyshev",
    "chebyshev_inv_sqrt",
    "exact",
    "inv_sqrt",
    "inv_sqrt_partial_sums",
    "inv_sqrt_series",
    "lanczos",
    "lanczos_apply",
    "neumann_series",
    "operators",
    "spectrum",
]

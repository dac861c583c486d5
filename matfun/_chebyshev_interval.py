"""The interval of :func:`matfun.chebyshev.chebyshev_inv_sqrt`: given, damped or certified.

Everything missing is certified by :mod:`matfun.spectrum` (never estimated), and the
interval is returned in units of ``H / s`` with ``s`` a power of two near ``sqrt(hi)``,
so that squares cannot overflow at any magnitude.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._backend import namespace, to_float
from ._chebyshev_definite import InverseExpansion
from ._chebyshev_expansion import Expansion, plan
from ._validation import check_positive, power_of_two
from .operators import Operator
from .spectrum import _certify_operator

__all__ = ["ChebyshevIntervalError", "SCALES", "check_interval", "interval_in_units",
           "merge_sources", "scale_value"]

SCALES = ("certified", "frobenius")
_MODEL_DEGREE_LIMIT = 200_000  # beyond it the cost model answers inf (no allocation)


class ChebyshevIntervalError(ArithmeticError):
    """No valid interval: it could not be certified, or the expansion diverged on it.

    Attributes
    ----------
    info : ChebyshevInfo or None
        What was done (``None`` when the interval could not be certified).
    """

    def __init__(self, message: str, info: Any = None) -> None:
        super().__init__(message)
        self.info = info


def interval_in_units(H: Operator, g: Any, mu: float, lo: float | None, hi: float | None,
                      scale: Any, max_matvecs: int | None, probability: float, rtol: float):
    """``(s, lo / s^2, hi / s^2, sources, failure_probability, sign)``, ``s`` a power of two.

    Everything missing is certified (never estimated); squares are taken in the
    rescaled units so that ``|lambda|`` up to the largest float works. ``sign`` is +1
    (-1) when the certificate proved ``H`` positive (negative) definite and the whole
    interval is the certificate's (``mu = 0``, nothing given), else 0.
    """
    certificate = None
    sources: list[str | None] = [None, None]
    failure = 0.0
    need_lower = lo is None and mu == 0.0
    sign = 0
    frobenius = hi is None and scale == "frobenius"
    upper = None
    if frobenius:
        if H.array is None:
            raise TypeError("scale='frobenius' needs a dense matrix operator; use 'certified'")
        upper = _frobenius(H.array)
        sources[1] = "frobenius"
    if (hi is None and not frobenius) or need_lower:  # the lower end is certified either way
        budget = min(10_000, 50 * H.size) if max_matvecs is None else max_matvecs
        certificate = _certify_operator(H, g, method="auto", failure_probability=probability,
                                        budget=budget, slack=2.0, seed=0,
                                        cost=_solve_cost(mu, lo, need_lower and hi is None,
                                                         need_lower, rtol))
        failure = certificate.failure_probability
        if need_lower and hi is None:
            sign = certificate.sign
        if hi is None and not frobenius:
            upper = certificate.upper
            sources[1] = certificate.certificate
        if need_lower:
            sources[0] = certificate.certificate
            if not certificate.lower > 0:
                raise ChebyshevIntervalError(
                    f"no positive lower bound on |lambda(H)| could be certified "
                    f"({certificate.status}, {certificate.matvecs} matvecs): H may be singular "
                    "or too ill-conditioned for the budget; pass damping > 0 or "
                    "interval=(lo, hi)")
        if hi is None and not math.isfinite(upper):
            raise ChebyshevIntervalError(
                f"no upper bound on |lambda(H)| could be certified within {budget} matvecs; "
                "pass interval=(lo, hi) or scale=<number>")
    if hi is not None:
        s = power_of_two(math.sqrt(hi))
        hi_s = hi / s / s
    else:
        if upper == 0.0:
            raise ChebyshevIntervalError("H is zero: (H^2)^(-1/2) g is undefined; pass "
                                         "damping > 0")
        s = power_of_two(max(upper, math.sqrt(mu)))
        hi_s = (upper / s) ** 2 + mu / s / s
    if lo is not None:
        lo_s = lo / s / s
    else:
        lower = certificate.lower if need_lower else 0.0
        lo_s = (lower / s) ** 2 + mu / s / s
    if not lo_s > 0:
        raise ChebyshevIntervalError(
            "the interval's lower end underflows relative to its upper end (condition number "
            "beyond the floating-point range); pass a larger damping")
    if not lo_s <= hi_s:
        raise ValueError(f"interval needs lo <= hi, got lo={lo_s * s * s}, hi={hi_s * s * s}")
    hi_s = max(hi_s, lo_s * (1 + 4 * np.finfo(float).eps))
    # Python floats: a NumPy scalar times an array of another library is an error.
    return float(s), float(lo_s), float(hi_s), sources, float(failure), sign


def _solve_cost(mu: float, lo: float | None, definite_allowed: bool, need_lower: bool,
                rtol: float):
    """``cost(lower, upper, sign)``: matvecs of the solve on the interval a certificate gives.

    With a proven sign (and ``definite_allowed``) the solve is the expansion of ``1/t``
    in ``sign H`` (:mod:`matfun._chebyshev_definite`): its closed-form degree.

    ``2 d`` with ``d`` the degree :func:`matfun._chebyshev_expansion.plan` would choose
    for ``rtol`` (a model for the stopping rule of the certificate, ignoring ``atol``:
    any stop is rigorous, this only balances its cost).
    """

    def cost(lower: float, upper: float, sign: int) -> float:
        if not upper > 0:
            return 0.0
        if need_lower and not lower > 0:
            return math.inf
        if definite_allowed and sign != 0:
            return float(InverseExpansion(lower / upper, 1.0).degree(rtol / (1 + rtol)))
        ratio_mu = mu / upper / upper  # in units of upper^2: no overflow
        low = (lo / upper / upper if lo is not None
               else (lower / upper) ** 2 + ratio_mu if need_lower else ratio_mu)
        high = 1.0 + ratio_mu
        if not low > 0:
            return math.inf
        low = min(low, high)
        if Expansion(low, high).sufficient_degree(rtol) > _MODEL_DEGREE_LIMIT:
            return math.inf
        return 2.0 * plan(low, high * (1 + 4 * np.finfo(float).eps), rtol / (1 + rtol),
                          _MODEL_DEGREE_LIMIT, None)[1]

    return cost


def merge_sources(given, found):
    """``(lo source, hi source)``: the given one where there is one, else the one found."""
    return (given[0] if given[0] is not None else found[0],
            given[1] if given[1] is not None else found[1])


def _frobenius(array: Any) -> float:
    xp = namespace(array)
    largest = to_float(xp.max(xp.abs(array)))
    if largest == 0.0:
        return 0.0
    factor = power_of_two(largest)  # exact: no overflow in the sum of squares
    return to_float(xp.linalg.matrix_norm(array / factor, ord="fro")) * factor


def check_interval(interval):
    if interval is None:
        return None, None
    if not isinstance(interval, tuple | list) or len(interval) != 2:
        raise TypeError(f"interval must be a pair (lo, hi), got {interval!r}")
    lo, hi = interval
    lo = None if lo is None else check_positive(lo, "interval lo")
    hi = None if hi is None else check_positive(hi, "interval hi")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"interval must have lo <= hi, got {interval!r}")
    return lo, hi


def scale_value(scale: Any) -> float:
    if isinstance(scale, str):
        raise ValueError(f"scale must be a positive number or one of {SCALES} (the Chebyshev "
                         f"method needs a bound, not an estimate), got {scale!r}")
    return check_positive(scale, "scale")

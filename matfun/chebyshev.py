r"""The inverse square root by a Chebyshev expansion: the best polynomial of the series' family.

For ``A = H^2 + mu I`` with spectrum in :math:`[lo, hi]` (``0 < lo < hi``), map
:math:`y \mapsto t = (2y - hi - lo)/(hi - lo) \in [-1, 1]` and expand

.. math::

    y^{-1/2} = \tfrac12 c_0 + \sum_{j \ge 1} c_j T_j(t), \qquad
    x_d = \tfrac12 c_0 g + \sum_{j=1}^{d} c_j v_j, \quad
    v_0 = g,\ v_1 = L g,\ v_{j+1} = 2 L v_j - v_{j-1},

with :math:`L = (2A - (hi + lo) I)/(hi - lo)`: two matvecs per degree and no inner
product, so the loop never synchronises a GPU (the binomial series is the same kind
of polynomial in ``A``, expanded around ``hi`` instead of equioscillating).

Coefficients
    With :math:`a = (hi + lo)/2`, :math:`r = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)`,
    :math:`\kappa = hi/lo`, the expansion has the closed form

    .. math::

        c_j = 2 a^{-1/2} \sqrt{1 + r^2}\, (-r)^j\, b_j\,
              {}_2F_1(\tfrac12, j + \tfrac12; j + 1; r^2), \qquad
        b_j = \binom{2j}{j} 4^{-j},

    (write :math:`1 + s t = |1 + r e^{i\theta}|^2/(1 + r^2)` with
    :math:`s = (hi - lo)/(hi + lo) = 2r/(1 + r^2)` and multiply the binomial series
    of :math:`(1 + r e^{\pm i\theta})^{-1/2}`). They are computed in float64 on the
    host by a DCT of ``f`` (its aliasing error is bounded and added to the error
    bound, :mod:`matfun._chebyshev_expansion`), and checked against this formula in
    mpmath by the tests.

Degree and error bound
    :math:`S_j = \sum_k b_k b_{k+j} r^{2k}` decreases in ``j``, so by Abel summation
    of :math:`\sum_{j>d} S_j z^j` with :math:`z = -r e^{i\theta}` (``t = cos theta``),
    :math:`|f - p_d| \le 2 |c_{d+1}| / |1 + r e^{i\theta}|`; and
    :math:`\sqrt{y} = \sqrt{a/(1+r^2)}\, |1 + r e^{i\theta}|`. The relative error
    :math:`|f - p_d|/f` is therefore bounded *uniformly* on the interval, and since
    :math:`\|e(A) g\| \le \max_y |e(y)/f(y)|\, \|f(A) g\|` (``A`` symmetric),

    .. math::

        \frac{\|x_d - A^{-1/2} g\|}{\|A^{-1/2} g\|}
        \le B_d = 2 \sqrt{\frac{a}{1 + r^2}}\, |c_{d+1}|
        \le 4 S_0 r^{d+1} .

    The last form needs no coefficient: it fixes a sufficient degree *before*
    anything is allocated, so ``max_matvecs`` caps degree, memory and time. The
    degree is the smallest whose bound (plus aliasing) meets the target; converged
    means that both ``B/(1 - B) ||x||`` and ``rounding ||x||`` are at most
    ``atol + rtol ||x||`` -- ``B`` proven in exact arithmetic when the interval holds
    the spectrum; the error estimate is then within twice the tolerance. About
    :math:`2d \approx \kappa(H) \ln(2/rtol)` matvecs: O(kappa) where the series needs
    O(kappa^2). Rounding adds an error of about ``8 eps (d + 1) A`` relative, with
    ``A = min(sqrt(hi/lo), ||g|| / (sqrt(lo) ||x||))``: each of the ``d`` steps adds
    ``O(eps ||g||)``, amplified by at most ``1/sqrt(lo)``, correlated, so linear in
    ``d``, not ``sqrt(d)`` (a tiny component on the slowest mode shows it); relative to
    ``||x||`` (at least ``||g|| / sqrt(hi)``). Measured on 40 hostile problems
    (``kappa(H) = 2.3e4``, ``d ~ 2.5e5``, ``g`` near a fast eigenvector, ``A`` about
    ``kappa / 2``; ``tests/matfun/test_honesty_chebyshev.py``) the error reached 0.75
    of it (the former estimate ``2 eps (d + 1) sqrt(hi/lo)``: 1.5x). That model misses
    the recurrence itself: an error made at step ``j`` reaches the result through
    ``S_j(L) = sum_{k >= j} c_k U_{k-j}(L)``, which at an end of the interval is up to
    ``sqrt(kappa)/2`` times the function's largest value
    (:func:`~matfun._chebyshev_expansion.propagation`). With eigenvalues clustered at
    the ends (``kappa(H) = 1.9e4``, ``d ~ 2e5``) the error reached 28 times
    ``8 eps (d + 1) A`` and a result 22 times its ``rtol`` was reported converged
    (front-door fuzz seed 24); so the estimate is the larger of that and
    ``4 eps max(1, growth) (||g|| / ||x||) sum_j max |S_j(+-1)|`` (four roundings a
    step, each at most ``eps`` of vectors of norm at most ``growth ||g||``), which the
    errors measured on such spectra reach up to a quarter of
    (``tests/matfun/test_honesty_chebyshev.py``). This
    first-order estimate is reported in
    ``rounding``, is part of ``error_estimate`` and of ``converged``, not of the proof:
    a degree whose rounding exceeds the tolerance is not converged, however small ``B``.
    Where ``(hi - lo) / (2 lo) <= d + 1`` the recurrence multiplies by ``1/h`` instead
    of dividing by the map's ``h`` (exactly the recurrence on ``h' = 1/fl(1/h)``, a
    map off by one rounding: :func:`~matfun._chebyshev_expansion.reciprocal_error`,
    ``eps (hi - lo) / (2 lo)``, at most an eighth of the estimate, is added to it).

The interval
    ``lo = mu`` when ``mu > 0``, or given (``interval``); ``hi`` given or ``scale``;
    whatever is missing comes from :func:`matfun.spectrum.certified_interval`
    (``[lower^2 + mu, upper^2 + mu]``): deterministic for a dense matrix, with
    probability ``1 - failure_probability`` over a random start otherwise, and never
    a guess -- if it cannot certify an end within the budget, a
    :class:`ChebyshevIntervalError` says so (pass ``damping > 0`` or ``interval``).
    A certified interval costs matvecs (``info.matvecs`` includes them): none for a
    dense matrix; for an operator about ``sqrt(kappa(H)) ln(G)`` if ``H`` is definite
    and ``kappa(H) ln(G)`` if not, ``G ~ sqrt(n) / failure_probability``
    (:mod:`matfun._certify`). The certificate stops once more steps would no longer
    pay for themselves in this solve (the solve's predicted matvecs fell by less than
    the certification spent over its last two checks): a looser end is as rigorous as
    a tight one, only the solve is longer. The norms of the last two Chebyshev
    vectors, read once after the loop, detect a gross violation of a *given*
    interval (they grow exponentially when an eigenvalue lies outside); a slight
    violation is not detected and voids the bound.

Definite ``H``
    When the certificate proves ``H`` definite (nothing given, ``mu = 0``, ``degree``
    not set), ``(H^2)^{-1/2} = (sign H)^{-1}`` is expanded in ``sign H`` instead (closed
    form, one matvec a degree, about ``sqrt(kappa)/2`` times fewer matvecs;
    :mod:`matfun._chebyshev_definite`, ``info.variable == "H"``), with the same
    guarantees.

Scale
    The operator and ``g`` are divided by powers of two (exact) near ``sqrt(hi)`` and
    ``max|g|``: the method works at any magnitude the dtype holds, and
    :math:`(c^2 H^2)^{-1/2} (d g) = (d/|c|) (H^2)^{-1/2} g` exactly.

References
----------
L. N. Trefethen, *Approximation Theory and Approximation Practice* (SIAM, 2013),
chapters 3 and 8; Y. Saad, *Iterative Methods for Sparse Linear Systems* (2003), 12.3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._backend import as_vector, max_abs, norm, real_dtype, to_float
from ._chebyshev_definite import InverseExpansion, expand_inverse
from ._chebyshev_expansion import (
    Expansion,
    expand_square,
    plan,
    propagation,
    reciprocal_error,
)
from ._chebyshev_interval import (
    SCALES,
    ChebyshevIntervalError,
    check_interval,
    interval_in_units,
    merge_sources,
    scale_value,
)
from ._chebyshev_range import check_interval_range, check_result_range
from ._validation import (
    check_nonnegative,
    check_real,
    check_tolerances,
    positive_integer,
    power_of_two,
)
from .operators import as_operator

__all__ = ["ChebyshevInfo", "ChebyshevIntervalError", "chebyshev_coefficients",
           "chebyshev_inv_sqrt"]

_GROWTH_LIMIT = 2.0
_EPS64 = float(np.finfo(float).eps)
# Without max_matvecs, refuse (rather than run) a solve predicted to need more.
# The rounding estimate's constant (module docstring): on 40 hostile problems the
# error reached 0.75 of the estimate (the former 2 eps d sqrt(hi/lo): 1.5x).
_ROUNDING_FACTOR = 8.0
# Roundings a recurrence step makes in forming T_{j+1}(L) g (the shift's product, the
# sum, the division, the subtraction), each at most eps times the step's vectors.
_STEP_ROUNDINGS = 4.0
_UNBOUNDED_LIMIT = 1_000_000


@dataclass(frozen=True)
class ChebyshevInfo:
    r"""What :func:`chebyshev_inv_sqrt` did.

    Attributes
    ----------
    degree : int
        Degree ``d`` of the polynomial (``2 d`` matvecs; ``d`` when ``variable="H"``).
    matvecs : int
        All matvecs, spectral certification included.
    interval : tuple of float
        ``(lo, hi)`` used for ``H^2 + mu I`` (``inf`` where the square overflows).
    lo_source, hi_source : str
        ``"given"``, ``"damping"``, ``"frobenius"`` or the certificate of
        :class:`~matfun.spectrum.CertifiedInterval` (``"eigh"``, ``"invariant"``,
        ``"krylov"``).
    failure_probability : float
        Probability that the interval is wrong (0 unless a ``"krylov"`` certificate).
    error_bound : float
        Relative truncation + aliasing bound on ``||x - x*|| / ||x*||``: *proven* in
        exact arithmetic when the spectrum lies in ``interval``.
    rounding : float
        First-order estimate of the relative rounding error: the larger of
        ``8 eps (d + 1) A``, ``A = min(sqrt(hi/lo), ||g|| / (sqrt(lo) ||x||))``, and
        the rounding the recurrence carries to an eigenvalue at an end of the interval,
        ``4 eps max(1, growth) (||g|| / ||x||) sum_j max |S_j(+-1)|``; plus the map's
        rounding where the recurrence multiplies by ``1/h`` (module docstring) (a
        heuristic).
    error_estimate : float
        ``error_bound / (1 - error_bound) + rounding``: relative to the computed ``x``.
    theory_degree : int
        The sufficient degree from ``4 S_0 r^{d+1} <= target`` (module docstring).
    converged : bool
        ``max(error_bound / (1 - error_bound), rounding) * ||x|| <= atol + rtol * ||x||``.
    growth : float
        ``max(||v_d||, ||v_{d-1}||) / ||g||``; at most 1 in exact arithmetic when the
        interval holds the spectrum.
    variable : str
        ``"H^2"``: the expansion of ``y^(-1/2)`` in ``H^2 + mu I`` (2 matvecs a degree).
        ``"H"``: the certificate proved ``H`` definite (nothing given, ``mu = 0``,
        ``degree`` not set), and ``(sign H)^(-1)`` was expanded instead (1 matvec a
        degree, about ``sqrt(kappa)/2`` times fewer; :mod:`matfun._chebyshev_definite`),
        with the same guarantees (``interval`` still refers to ``H^2``).
    """

    degree: int
    matvecs: int
    interval: tuple[float, float]
    lo_source: str
    hi_source: str
    failure_probability: float
    error_bound: float
    rounding: float
    error_estimate: float
    theory_degree: int
    converged: bool
    growth: float
    variable: str = "H^2"


def chebyshev_coefficients(lo: float, hi: float, count: int) -> np.ndarray:
    r"""The first ``count`` Chebyshev coefficients of :math:`y^{-1/2}` on ``[lo, hi]``.

    Convention :math:`y^{-1/2} = c_0/2 + \sum_{j\ge1} c_j T_j(t)`; computed by a DCT
    in float64 (see :mod:`matfun._chebyshev_expansion` for the number of points and
    the aliasing bound).

    Examples
    --------
    >>> c = chebyshev_coefficients(1.0, 4.0, 40)
    >>> t = 0.3  # y = 2.5 + 1.5 t
    >>> bool(abs(np.polynomial.chebyshev.chebval(t, c) - c[0] / 2 - (2.5 + 1.5 * t) ** -0.5)
    ...      < 1e-14)
    True
    """
    if not (0 < lo < hi and math.isfinite(hi)):
        raise ValueError(f"need 0 < lo < hi < inf, got lo={lo}, hi={hi}")
    count = positive_integer(count, "count")
    expansion = Expansion(lo, hi)
    return expansion.coefficients(count, expansion.points_for(count))


def chebyshev_inv_sqrt(op: Any, g: Any, *, rtol: float | None = None, atol: float = 0.0,
                       damping: float = 0.0,
                       interval: tuple[float | None, float | None] | None = None,
                       degree: int | None = None, scale: Any = "certified",
                       max_matvecs: int | None = None, failure_probability: float = 1e-6,
                       full_output: bool = False) -> Any:
    r"""``(H^2 + mu I)^{-1/2} g`` by the Chebyshev expansion of :math:`y^{-1/2}` (module docstring).

    Parameters
    ----------
    op
        The symmetric ``H``: anything :func:`~matfun.as_operator` accepts.
    g : array
        Shape ``(n,)``, any array-API backend.
    rtol, atol : float
        Stop when the proven error bound is ``<= atol + rtol * ||x||`` (SciPy's
        convention). ``rtol`` defaults to ``max(1e-8, 100 eps)`` of ``g``'s dtype;
        ``rtol`` below ``10 eps`` is refused.
    damping : float
        ``mu >= 0``; ``mu > 0`` gives the guaranteed lower end ``lo = mu``.
    interval : (lo, hi), optional
        Bounds of the spectrum of :math:`H^2 + \mu I`, trusted; either may be ``None``
        (then certified, or from ``damping`` / ``scale``).
    degree : int, optional
        Use exactly this degree (capped by ``max_matvecs``); ``rtol``/``atol`` then
        only set ``converged``.
    scale : float or {"certified", "frobenius"}
        Upper bound of the spectrum of ``H^2 + mu I`` (a number, trusted), or how to
        get one: ``"certified"`` (:func:`~matfun.spectrum.certified_interval`) or
        ``"frobenius"`` (``||H||_F^2 + mu``, dense matrices only).
    max_matvecs : int, optional
        Budget for everything (certification included): the degree is capped so that
        all matvecs fit, and no more than that many coefficients are computed. Without
        it, a solve predicted to need more than 10^6 matvecs is refused.
    failure_probability : float
        For a certificate from matvecs (operators that are not dense matrices).
    full_output : bool
        Also return a :class:`ChebyshevInfo`.

    Returns
    -------
    x : array
        Same backend, shape and dtype as ``g``.
    info : ChebyshevInfo
        Only with ``full_output=True``.

    Raises
    ------
    ChebyshevIntervalError
        The interval cannot be certified (``H`` singular or too ill-conditioned for
        the budget), or the expansion diverged on a given interval.
    matfun.errors.ResultRangeError
        The answer itself overflows ``g``'s dtype, or lies below its smallest normal
        number (every input finite); before any expansion when the interval already
        proves it (``||g|| / sqrt(hi) <= ||x|| <= ||g|| / sqrt(lo)``).

    Examples
    --------
    >>> import numpy as np
    >>> H = np.diag([2.0, -1.0, 0.5])
    >>> x = chebyshev_inv_sqrt(H, np.ones(3), interval=(0.25, 4.0), rtol=1e-12)
    >>> np.round(x, 10)
    array([0.5, 1. , 2. ])
    >>> x, info = chebyshev_inv_sqrt(H, np.ones(3), rtol=1e-10, full_output=True)
    >>> np.round(x, 8), info.lo_source, info.converged
    (array([0.5, 1. , 2. ]), 'eigh', True)
    """
    xp, g = as_vector(g, "g")
    H = as_operator(op, like=g, name="op")
    finfo = xp.finfo(real_dtype(xp, g))  # once: eps and the range checks' limits
    eps = float(finfo.eps)
    rtol, atol = check_tolerances(rtol, atol, eps=eps, default_rtol=max(1e-8, 100 * eps))
    mu = check_nonnegative(damping, "damping")
    lo, hi = check_interval(interval)
    if degree is not None and (isinstance(degree, bool) or not isinstance(degree, int)
                               or degree < 0):
        raise ValueError(f"degree must be a non-negative integer, got {degree!r}")
    if max_matvecs is not None:
        max_matvecs = positive_integer(max_matvecs, "max_matvecs")
    probability = check_real(failure_probability, "failure_probability")
    if not 0 < probability < 1:
        raise ValueError(f"failure_probability must be in (0, 1), got {failure_probability!r}")
    if hi is None and not (isinstance(scale, str) and scale in SCALES):
        hi = scale_value(scale)
    if lo is not None and hi is not None and lo == hi:
        hi = lo * (1 + 4 * np.finfo(float).eps)
    before = H.matvecs
    g_scale = to_float(max_abs(xp, g))  # decision: the zero vector has a zero answer
    sources = ("given" if lo is not None else "damping" if mu > 0 else None,
               "given" if hi is not None else None)
    # Interval in units of H / s, with s a power of two: ``hi / s^2`` is about 1.
    s, lo_s, hi_s, found, failure, sign = interval_in_units(H, g, mu, lo, hi, scale,
                                                            max_matvecs, probability, rtol)
    sources = merge_sources(sources, found)
    # A certified definite H (nothing given, no damping): the expansion of 1/t in +-H.
    variable = "H" if sign != 0 and degree is None else "H^2"
    if g_scale == 0.0:
        info = _info(0, H.matvecs - before, s, lo_s, hi_s, sources, failure, 0.0, 0.0, 0, True,
                     1.0, variable)
        return (g * 0, info) if full_output else g * 0
    g_scale = power_of_two(g_scale)  # dividing by it is exact
    g_s = g / g_scale
    g_norm_s = to_float(norm(xp, g_s))
    check_interval_range(finfo, g, math.frexp(g_scale)[1] - math.frexp(s)[1], g_norm_s, lo_s,
                         hi_s)
    spent = H.matvecs - before
    per_degree = 2 if variable == "H^2" else 1
    max_degree = _UNBOUNDED_LIMIT // per_degree if max_matvecs is None else max(
        (max_matvecs - spent) // per_degree, 0)
    # The target relative to ||x*||: ||x*|| <= ||g|| / sqrt(lo), so atol is worth at least
    # atol sqrt(lo) / ||g|| of it.
    wanted = rtol + (atol / g_scale) * s * math.sqrt(lo_s) / g_norm_s
    target = wanted / (1 + wanted)  # so that B / (1 - B) <= wanted
    if variable == "H":
        # The spectrum of sign H / s in [a, b] (widened by rounding of the square roots).
        a = math.sqrt(lo_s) * (1 - 4 * _EPS64)
        b = max(math.sqrt(hi_s) * (1 + 4 * _EPS64), a * (1 + 4 * _EPS64))
        expansion = InverseExpansion(a, b)
        theory = expansion.degree(target)
        chosen = min(theory, max_degree)
        bound = expansion.bound(chosen)
        coefficients = expansion.coefficients(chosen)
    else:
        coefficients, chosen, bound, theory = plan(lo_s, hi_s, target, max_degree, degree)
    if max_matvecs is None and degree is None and bound > target:
        raise ValueError(
            f"the interval [{lo_s * s * s:.3g}, {hi_s * s * s:.3g}] needs about "
            f"{per_degree * theory:.3g} matvecs (> {_UNBOUNDED_LIMIT}); pass max_matvecs to "
            "accept an unconverged result, or damping > 0")
    # Multiply by the map's 1/h where that adds at most eps (d + 1), an eighth of the
    # rounding estimate's floor (then added to it); divide otherwise.
    map_error = (reciprocal_error((b - a) / 2, a, 1.0, eps) if variable == "H"
                 else reciprocal_error((hi_s - lo_s) / 2, lo_s, 0.5, eps))
    reciprocal = map_error <= eps * (chosen + 1)
    if variable == "H":
        x_s, growth, x_norm_s = expand_inverse(xp, H, g_s, sign / s, a, b,
                                               coefficients,
                                               float(finfo.max), reciprocal=reciprocal,
                                               g_norm=g_norm_s)
    else:
        x_s, growth, x_norm_s = expand_square(xp, H, g_s, s, mu / s / s, lo_s, hi_s,
                                              coefficients, reciprocal, g_norm_s,
                                              float(finfo.max))
    factor = g_scale / s  # x = (g_scale / s) (H'^2 + mu')^(-1/2) g'
    # Rounding: O(eps ||g||) per step, amplified by at most 1/sqrt(lo) (the largest
    # value of the function), correlated (linear in the degree); relative to ||x||.
    # ||x|| >= ||g|| / sqrt(hi) makes the amplification at most sqrt(hi/lo).
    amplification = math.sqrt(hi_s / lo_s)
    if x_norm_s > 0:
        amplification = min(amplification, g_norm_s / (math.sqrt(lo_s) * x_norm_s))
    # And carried by the recurrence: up to sqrt(kappa)/2 times more where an eigenvalue
    # sits at an end of the interval (propagation). The larger of the two.
    correlated, independent = propagation(coefficients)
    carried = _STEP_ROUNDINGS * eps * max(1.0, growth) * (
        correlated + independent * (g_norm_s / x_norm_s if x_norm_s > 0 else math.sqrt(hi_s)))
    rounding = (max(_ROUNDING_FACTOR * eps * (chosen + 1) * amplification, carried)
                + (map_error if reciprocal else 0.0))
    relative = bound / (1 - bound) if bound < 1 else math.inf
    # The test in the scaled units (x_s = x / factor), so that nothing overflows.
    allowance = atol / factor if factor > 0 else (math.inf if atol > 0 else 0.0)
    converged = bool(max(relative, rounding) * x_norm_s <= allowance + rtol * x_norm_s)
    info = _info(chosen, H.matvecs - before, s, lo_s, hi_s, sources, failure, bound, rounding,
                 theory, converged, growth, variable)
    if growth > _GROWTH_LIMIT:
        raise ChebyshevIntervalError(
            f"the Chebyshev vectors grew by {growth:.3g}: the spectrum of H^2 + mu I is not "
            f"inside [{info.interval[0]:.6g}, {info.interval[1]:.6g}] ({sources[0]} lo, "
            f"{sources[1]} hi); pass a wider interval or damping > 0", info)
    check_result_range(xp, finfo, x_s, factor, x_norm_s)
    x = x_s * factor
    return (x, info) if full_output else x


def _info(degree, matvecs, s, lo_s, hi_s, sources, failure, bound, rounding, theory, converged,
          growth, variable) -> ChebyshevInfo:
    relative = bound / (1 - bound) if bound < 1 else math.inf
    return ChebyshevInfo(degree, matvecs, (lo_s * s * s, hi_s * s * s), sources[0], sources[1],
                         failure, bound, rounding, relative + rounding, theory, converged, growth,
                         variable)

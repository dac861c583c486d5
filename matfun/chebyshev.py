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
    host by a DCT of ``f`` at ``N >= 2d + 64 + 20/ln(1/r)`` Chebyshev points
    (aliasing error :math:`O(r^{2N - d})`), and checked against this formula in
    mpmath by the tests.

Degree and error bound
    :math:`S_j = \sum_k b_k b_{k+j} r^{2k}` decreases in ``j``, so by Abel summation
    of :math:`\sum_{j>d} S_j z^j` with :math:`z = -r e^{i\theta}` (``t = cos theta``),
    :math:`|f - p_d| \le 2 |c_{d+1}| / |1 + r e^{i\theta}|`; and
    :math:`\sqrt{y} = \sqrt{a/(1+r^2)}\, |1 + r e^{i\theta}|`. The relative error
    :math:`|f - p_d|/f` is therefore bounded *uniformly* on the interval, and since
    :math:`\|e(A) g\| \le \max_y |e(y)/f(y)|\, \|f(A) g\|`,

    .. math::

        \frac{\|x_d - A^{-1/2} g\|}{\|A^{-1/2} g\|}
        \le B_d = 2 \sqrt{\frac{a}{1 + r^2}}\, |c_{d+1}| .

    The degree is the smallest ``d`` with :math:`B_d \le` ``tol`` (exact arithmetic;
    rounding adds about ``d eps``). With :math:`b_j \approx (\pi j)^{-1/2}` this is
    :math:`B_d \approx 4 r^{d+1} {}_2F_1(\dots) / \sqrt{\pi d}`, about
    :math:`2 \rho^{-d}` with :math:`\rho = 1/r`, so
    :math:`d \approx \ln(2/tol) / \ln\rho` (reported as ``theory_degree``), i.e.
    :math:`2d \approx \sqrt{\kappa} \ln(2/tol) = \kappa(H) \ln(2/tol)` matvecs: O(kappa)
    where the series needs O(kappa^2).

The interval
    ``hi`` from the same strategies as the series' ``V`` (``scale``), squared for
    ``H`` and shifted by ``mu``. ``lo = mu`` when ``mu > 0`` (guaranteed), or given
    (``interval``), or *estimated*: :math:`(\min_j |\theta_j| / 2)^2 + \mu` from the
    Ritz values of a 30-step Lanczos run from a random start. That estimate is **not
    guaranteed** (interior Ritz values converge slowly and can lie above the smallest
    ``|lambda|``). An eigenvalue outside :math:`[lo, hi]` makes :math:`T_j` grow
    exponentially; the norms of the last two Chebyshev vectors, read once after the
    loop, detect a gross violation: with an estimated ``lo`` the method then retries
    with ``lo / 16`` (at most 3 times), otherwise it raises
    :class:`ChebyshevIntervalError`. A slight violation is not detected and voids the
    error bound.

References
----------
L. N. Trefethen, *Approximation Theory and Approximation Practice* (SIAM, 2013),
chapters 3 and 8; Y. Saad, *Iterative Methods for Sparse Linear Systems* (2003), 12.3.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft

from ._backend import as_vector, namespace, norm, to_float
from .operators import Operator, as_operator
from .spectrum import spectral_interval, spectral_radius

__all__ = ["ChebyshevInfo", "ChebyshevIntervalError", "chebyshev_coefficients",
           "chebyshev_inv_sqrt"]

SCALES = ("lanczos", "power", "frobenius")
_ESTIMATE_STEPS = 30
_RETRIES = 3
_LO_SHRINK = 16.0
_GROWTH_LIMIT = 2.0


class ChebyshevIntervalError(ArithmeticError):
    """The spectrum of ``H^2 + mu I`` is not inside the interval: the expansion diverged.

    Attributes
    ----------
    info : ChebyshevInfo
    """

    def __init__(self, message: str, info: Any) -> None:
        super().__init__(message)
        self.info = info


@dataclass(frozen=True)
class ChebyshevInfo:
    r"""What :func:`chebyshev_inv_sqrt` did.

    Attributes
    ----------
    degree : int
        Degree ``d`` of the polynomial (``2 d`` matvecs).
    matvecs : int
        All matvecs, spectral estimation and retries included.
    interval : tuple of float
        ``(lo, hi)`` used for ``H^2 + mu I``.
    lo_source, hi_source : str
        ``"damping"``, ``"given"`` or ``"estimated"``; the scale strategy or ``"given"``.
    error_bound : float
        Relative truncation bound (valid if the spectrum lies in the interval).
    theory_degree : int
        :math:`\lceil \ln(2/tol) / \ln\rho \rceil` (0 when a degree was given).
    converged : bool
        ``error_bound <= tol``.
    growth : float
        ``max(||v_d||, ||v_{d-1}||) / ||g||``; at most 1 in exact arithmetic when the
        interval holds the spectrum.
    retries : int
        Times ``lo`` was lowered after detected growth.
    """

    degree: int
    matvecs: int
    interval: tuple[float, float]
    lo_source: str
    hi_source: str
    error_bound: float
    theory_degree: int
    converged: bool
    growth: float
    retries: int


def chebyshev_coefficients(lo: float, hi: float, count: int) -> np.ndarray:
    r"""The first ``count`` Chebyshev coefficients of :math:`y^{-1/2}` on ``[lo, hi]``.

    Convention :math:`y^{-1/2} = c_0/2 + \sum_{j\ge1} c_j T_j(t)`; computed by a DCT
    in float64 at ``N = 2 count + 64 + 20 / ln(1/r)`` points, so the aliasing error
    :math:`O(r^{2N - j})` stays below ``1e-17`` (see the module docstring).

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
    root = math.sqrt(hi / lo)
    # Aliasing adds c_{2N-j} ~ r^(2N-j) to c_j: make r^(2N - count) < 1e-17 as well.
    points = 2 * count + 64 + math.ceil(20.0 / -math.log((root - 1) / (root + 1)))
    theta = np.pi * (np.arange(points) + 0.5) / points
    values = ((hi + lo) / 2 + (hi - lo) / 2 * np.cos(theta)) ** -0.5
    return scipy.fft.dct(values, type=2)[:count] / points


def _bound_factor(lo: float, hi: float, r: float) -> float:
    """``B_d / |c_{d+1}|`` (module docstring)."""
    return 2.0 * math.sqrt((hi + lo) / 2 / (1.0 + r * r))


def _degree_for(coefficients: np.ndarray, factor: float, tol: float) -> int | None:
    bounds = factor * np.abs(coefficients[1:])  # B_d for d = 0, 1, ...
    hits = np.nonzero(bounds <= tol)[0]
    return int(hits[0]) if hits.size else None


def chebyshev_inv_sqrt(op: Any, g: Any, *, damping: float = 0.0,
                       interval: tuple[float | None, float | None] | None = None,
                       tol: float = 1e-8, degree: int | None = None, scale: Any = "lanczos",
                       max_matvecs: int | None = None, full_output: bool = False) -> Any:
    r"""``(H^2 + mu I)^{-1/2} g`` by the Chebyshev expansion of :math:`y^{-1/2}` (module docstring).

    Parameters
    ----------
    op
        The symmetric ``H``: anything :func:`~matfun.as_operator` accepts.
    g : array
        Shape ``(n,)``, any array-API backend.
    damping : float
        ``mu >= 0``; ``mu > 0`` gives the guaranteed lower end ``lo = mu``.
    interval : (lo, hi), optional
        Bounds of the spectrum of :math:`H^2 + \mu I`; either may be ``None`` (then
        from ``damping``/estimated, and from ``scale``).
    tol : float
        Target relative error: the degree is the smallest whose bound meets it.
    degree : int, optional
        Use exactly this degree instead (``tol`` then only sets ``converged``).
    scale : float or {"lanczos", "power", "frobenius"}
        Upper bound of the spectrum of ``H^2 + mu I`` (a number) or how to get one from
        ``H`` (as for the series' ``V``).
    max_matvecs : int, optional
        Budget: the degree is capped so that all matvecs fit.
    full_output : bool
        Also return a :class:`ChebyshevInfo`.

    Returns
    -------
    x : array
        Same backend, shape and dtype as ``g``.
    info : ChebyshevInfo
        Only with ``full_output=True``.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.diag([2.0, -1.0, 0.5])
    >>> x = chebyshev_inv_sqrt(H, np.ones(3), interval=(0.25, 4.0), tol=1e-12)
    >>> np.round(x, 10)
    array([0.5, 1. , 2. ])
    """
    xp, g = as_vector(g, "g")
    H = as_operator(op, like=g, name="op")
    mu = _nonnegative(damping, "damping")
    tol = _positive(tol, "tol")
    lo, hi = _check_interval(interval)
    if degree is not None and (isinstance(degree, bool) or not isinstance(degree, int)
                               or degree < 0):
        raise ValueError(f"degree must be a non-negative integer, got {degree!r}")
    if max_matvecs is not None and (isinstance(max_matvecs, bool)
                                    or not isinstance(max_matvecs, int) or max_matvecs < 0):
        raise ValueError(f"max_matvecs must be a non-negative integer, got {max_matvecs!r}")
    if hi is None and not (isinstance(scale, str) and scale in SCALES):
        hi = _scale_value(scale)
    before = H.matvecs
    lo_source = "given" if lo is not None else ("damping" if mu > 0 else "estimated")
    hi_source = "given" if hi is not None else scale
    estimate = None
    if (lo is None and mu == 0.0) or (hi is None and scale == "lanczos"):
        estimate = spectral_interval(H, like=g, steps=_ESTIMATE_STEPS)
    if hi is None:
        hi = _upper(H, g, scale, estimate) ** 2 + mu
    if lo is None:
        lo = mu if mu > 0 else (estimate.smallest / 2) ** 2
        if lo == 0.0:
            raise ValueError("the estimated smallest |eigenvalue| of H is 0: (H^2)^(-1/2) g is "
                             "undefined; pass damping > 0")
    if not lo < hi:
        hi = lo * (1 + 1e-12) if lo == hi else hi
    if not lo < hi:
        raise ValueError(f"interval needs lo < hi, got lo={lo}, hi={hi}")
    retries = 0
    while True:
        budget = None if max_matvecs is None else (max_matvecs - (H.matvecs - before)) // 2
        x, used, bound, theory, growth = _expand(xp, H, g, mu, lo, hi, tol, degree, budget)
        info = ChebyshevInfo(used, H.matvecs - before, (lo, hi), lo_source, hi_source, bound,
                             theory, bound <= tol, growth, retries)
        if growth <= _GROWTH_LIMIT:
            break
        if lo_source != "estimated" or retries == _RETRIES:
            raise ChebyshevIntervalError(
                f"the Chebyshev vectors grew by {growth:.3g}: the spectrum of H^2 + mu I is not "
                f"inside [{lo:.6g}, {hi:.6g}] ({lo_source} lo, {hi_source} hi); pass a wider "
                "interval or damping > 0", info)
        lo, retries = lo / _LO_SHRINK, retries + 1
    return (x, info) if full_output else x


def _expand(xp, H: Operator, g, mu, lo, hi, tol, degree, budget):
    r = (math.sqrt(hi / lo) - 1) / (math.sqrt(hi / lo) + 1)
    theory = 0
    if degree is None and r > 0:
        theory = max(0, math.ceil(math.log(2 / tol) / -math.log(r)))
    factor = _bound_factor(lo, hi, r)
    count = (degree if degree is not None else max(theory, 1)) + 2
    while True:
        coefficients = chebyshev_coefficients(lo, hi, count)
        chosen = degree if degree is not None else _degree_for(coefficients, factor, tol)
        if chosen is not None and chosen + 2 <= count:
            break
        count *= 2
    if budget is not None and chosen > budget:
        chosen = max(budget, 0)
    bound = factor * abs(coefficients[chosen + 1])
    g_norm = to_float(norm(xp, g))  # once, outside the loop
    center, half_width = (hi + lo) / 2, (hi - lo) / 2

    def mapped(v):  # L v, two matvecs
        return (H.matvec(H.matvec(v)) + (mu - center) * v) / half_width

    coefficients = [float(c) for c in coefficients[: chosen + 1]]  # Python scalars keep g's dtype
    x = (coefficients[0] / 2) * g
    previous, current = g, g
    for j in range(1, chosen + 1):
        following = mapped(current) if j == 1 else 2 * mapped(current) - previous
        x = x + coefficients[j] * following
        previous, current = current, following
    # One synchronisation after the loop: growth beyond 1 means a T_j left [-1, 1].
    growth = max(to_float(norm(xp, current)), to_float(norm(xp, previous))) / g_norm \
        if g_norm > 0 else 0.0
    if not math.isfinite(growth):
        growth = math.inf
    return x, chosen, bound, theory, growth


def _upper(H: Operator, g: Any, scale: str, estimate: Any) -> float:
    if scale == "lanczos":
        return estimate.upper
    if scale == "power":
        return spectral_radius(H, like=g, method="power").upper
    if H.array is None:
        raise TypeError("scale='frobenius' needs a dense matrix operator; use 'lanczos'")
    xp = namespace(H.array)
    return to_float(xp.linalg.matrix_norm(H.array, ord="fro"))


def _check_interval(interval):
    if interval is None:
        return None, None
    if not isinstance(interval, tuple | list) or len(interval) != 2:
        raise TypeError(f"interval must be a pair (lo, hi), got {interval!r}")
    lo, hi = interval
    lo = None if lo is None else _positive(lo, "interval lo")
    hi = None if hi is None else _positive(hi, "interval hi")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"interval must have lo <= hi, got {interval!r}")
    return lo, hi


def _scale_value(scale: Any) -> float:
    if isinstance(scale, str):
        raise ValueError(f"scale must be a positive number or one of {SCALES} (the Chebyshev "
                         f"method needs an upper bound, not an adaptive rule), got {scale!r}")
    return _positive(scale, "scale")


def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


def _nonnegative(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a non-negative finite number, got {value}")
    return value

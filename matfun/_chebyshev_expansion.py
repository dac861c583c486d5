r"""Coefficients, degree and error bounds of the Chebyshev expansion of ``y^(-1/2)`` (private).

Notation of :mod:`matfun.chebyshev`: the interval ``[lo, hi]``, ``kappa = hi/lo``,
``rho = (sqrt(kappa) + 1)/(sqrt(kappa) - 1) = 1/r``, computed as
``ln(rho) = 2 atanh(kappa^(-1/2))`` (accurate when ``kappa`` is huge, where
``1 - r`` rounds to 0), ``c_j = C (-r)^j S_j`` with
``C = 2 a^{-1/2} sqrt(1 + r^2)``, ``a = (hi + lo)/2`` and
``S_j = sum_k b_k b_{k+j} r^{2k}``, decreasing in ``j``, ``S_0 = (2/pi) K(r^2)``
(complete elliptic integral). Bounds, all relative to ``f = y^(-1/2) >= hi^(-1/2)``:

* truncation after degree ``d``: ``B_d = 2 sqrt(a/(1+r^2)) |c_{d+1}|``, and without any
  coefficient ``B_d <= 4 S_0 r^{d+1}`` (since ``S_{d+1} <= S_0``): the degree
  ``ceil(ln(4 S_0 / target) / ln rho)`` always suffices, so the work is known before
  anything is allocated;
* aliasing of the DCT at ``N`` points: the computed ``c_j`` is off by
  ``sum_{m>=1} +-(c_{2mN-j} + c_{2mN+j})``, so the polynomial of degree ``d`` is off by at
  most ``sqrt(hi) * 2 C S_0 r^{2N-d} / ((1 - r)(1 - r^{2N})) <= 8 S_0 r^{2N-d} /
  ((1 - r)(1 - r^{2N}))`` relative to ``f`` (``hi/a <= 2``, ``1 + r^2 <= 2``), and
  ``B_d`` computed from the aliased ``c_{d+1}`` is off by at most
  ``8 S_0 r^{2N-d-1} / (1 - r^{2N})``.

Both are proven in exact arithmetic; the float64 DCT's own rounding (about
``eps sqrt(kappa) log N``) goes into the rounding estimate of :mod:`matfun.chebyshev`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ._backend import all_finite, is_lazy, norm, real_dtype, settle, to_float
from .operators import Operator

__all__ = ["Expansion", "chebyshev_sum", "expand_square", "fusable", "plan", "propagation",
           "reciprocal_error"]

_EXTRA_POINTS = 64
_MAX_ALIAS_POINTS_FACTOR = 4  # points beyond 2 * count: at most 4 * count + 4096


class Expansion:
    """The numbers of one interval: ``rho``, ``S_0`` and the analytic bounds."""

    def __init__(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi
        root = math.sqrt(lo / hi)  # kappa^(-1/2), no overflow
        self.log_rho = 2.0 * math.atanh(root) if root < 1 else math.inf
        self.r = math.exp(-self.log_rho)
        one_minus_r = 2.0 * root / (1.0 + root)  # 1 - r, accurately
        self.one_minus_r = one_minus_r
        # K(m) with m = r^2, through 1 - m = (1 - r)(1 + r) for accuracy near m = 1.
        import scipy.special  # lazy: SciPy submodules are slow to import
        self.s0 = 2.0 / math.pi * float(scipy.special.ellipkm1(one_minus_r * (2 - one_minus_r)))

    def analytic_bound(self, degree: int) -> float:
        """``4 S_0 r^{d+1}``: a truncation bound with no coefficient computed."""
        return 4.0 * self.s0 * math.exp(-(degree + 1) * self.log_rho)

    def sufficient_degree(self, target: float) -> int:
        """Smallest ``d`` with ``analytic_bound(d) <= target`` (may be astronomically large)."""
        if self.log_rho == math.inf:
            return 0
        need = math.log(4.0 * self.s0 / target) / self.log_rho - 1
        return max(0, math.ceil(need)) if need < 1e18 else 10**18

    def alias_bound(self, points: int, degree: int) -> float:
        """Relative error of the degree-``d`` polynomial from aliasing at ``points`` points."""
        exponent = (2 * points - degree) * self.log_rho
        denominator = self.one_minus_r * -math.expm1(-2 * points * self.log_rho)
        return 8.0 * self.s0 * math.exp(-exponent) / denominator if denominator > 0 else math.inf

    def coefficient_alias(self, points: int, index: int) -> float:
        """Bound on the change of ``B_d`` (``index = d + 1``) from aliasing."""
        denominator = -math.expm1(-2 * points * self.log_rho)
        return 8.0 * self.s0 * math.exp(-(2 * points - index) * self.log_rho) / denominator

    def points_for(self, count: int) -> int:
        """DCT size: ``r^(2N - count)`` below 1e-17 where affordable, capped otherwise."""
        wanted = math.ceil(20.0 / self.log_rho) if self.log_rho > 0 else math.inf
        cap = _MAX_ALIAS_POINTS_FACTOR * count + 4096
        return 2 * count + _EXTRA_POINTS + int(min(wanted, cap))

    def coefficients(self, count: int, points: int) -> np.ndarray:
        """``c_0..c_{count-1}`` by a DCT of ``f`` at ``points`` Chebyshev points (float64)."""
        theta = np.pi * (np.arange(points) + 0.5) / points
        center, half = (self.hi + self.lo) / 2, (self.hi - self.lo) / 2
        values = (center + half * np.cos(theta)) ** -0.5
        import scipy.fft  # lazy: SciPy submodules are slow to import
        return scipy.fft.dct(values, type=2)[:count] / points

    def truncation_bound(self, coefficient: float) -> float:
        """``B_d`` from ``|c_{d+1}|``."""
        return 2.0 * math.sqrt((self.hi + self.lo) / 2 / (1.0 + self.r * self.r)) * abs(
            coefficient)


# plan() of recent arguments (a pure function of five numbers): a repeated solve on the
# same interval (a new right-hand side, an optimiser's step) skips the DCT. Small plans
# only, a bounded number of them; the arrays are read-only.
_PLANS: dict[tuple, tuple[np.ndarray, int, float, int]] = {}
_PLANS_KEPT, _PLAN_KEPT_DEGREE = 32, 4096
_PLANS_LOCK = threading.Lock()


def plan(lo: float, hi: float, target: float, max_degree: int, degree: int | None
         ) -> tuple[np.ndarray, int, float, int]:
    """``(coefficients, degree, bound, theory_degree)`` for ``[lo, hi]`` and a relative target.

    Never allocates more than ``max_degree + 2`` coefficients (and ``O(that)`` DCT points).
    ``bound`` = truncation + aliasing, proven given the interval; if no degree up to
    ``max_degree`` reaches ``target``, the degree is ``max_degree`` and ``bound`` says
    what it reaches (possibly ``>= 1``). The coefficients are read-only.
    """
    key = (float(lo), float(hi), float(target), int(max_degree), degree)
    kept = _PLANS.get(key)
    if kept is not None:
        return kept
    coefficients, chosen, bound, theory = _plan(lo, hi, target, max_degree, degree)
    coefficients = np.array(coefficients)  # not a view of the longer array
    coefficients.flags.writeable = False
    result = (coefficients, chosen, bound, theory)
    if chosen <= _PLAN_KEPT_DEGREE:
        with _PLANS_LOCK:  # threads may plan at once
            if len(_PLANS) >= _PLANS_KEPT:
                _PLANS.pop(next(iter(_PLANS)))  # the oldest
            _PLANS[key] = result
    return result


def _plan(lo: float, hi: float, target: float, max_degree: int, degree: int | None
          ) -> tuple[np.ndarray, int, float, int]:
    expansion = Expansion(lo, hi)
    theory = expansion.sufficient_degree(target)
    top = min(theory if degree is None else degree, max_degree)
    count = top + 2
    points = expansion.points_for(count)
    coefficients = expansion.coefficients(count, points)

    def bound(d: int) -> float:
        truncation = min(expansion.truncation_bound(coefficients[d + 1])
                         + expansion.coefficient_alias(points, d + 1),
                         expansion.analytic_bound(d))
        return truncation + expansion.alias_bound(points, d)

    if degree is not None:
        chosen = top
    else:
        chosen = top
        bounds = 2.0 * math.sqrt((hi + lo) / 2 / (1.0 + expansion.r ** 2)) * np.abs(
            coefficients[1:])
        hits = np.nonzero(bounds <= target)[0]
        for candidate in hits[:8]:  # confirm with the aliasing terms included
            if bound(int(candidate)) <= target:
                chosen = int(candidate)
                break
    return coefficients[: chosen + 1], chosen, float(bound(chosen)), theory


def chebyshev_sum(xp: Any, product: Callable[[Any], Any], shift: float, divisor: float, g: Any,
                  coefficients: list[float], *, reciprocal: bool = False,
                  g_norm: float | None = None) -> tuple[Any, float, float]:
    r"""``(x, growth, ||x||)``: ``x = (c_0/2) g + sum_j c_j T_j(L) g`` by the recurrence.

    ``L v = (product(v) + shift * v) / divisor`` is the affine map of the operator onto
    ``[-1, 1]``; ``T_{j+1}(L) g = 2 L T_j(L) g - T_{j-1}(L) g`` is computed as
    ``(product(T_j) + shift T_j) / (divisor / 2) - T_{j-1}``: four vector operations a
    step besides the update of ``x`` (halving the divisor is exact, so this is
    ``2 L T_j - T_{j-1}`` bit for bit). ``growth`` is
    ``max(||T_d g||, ||T_{d-1} g||) / ||g||`` (inf if not finite): above 1 means a
    ``T_j`` left ``[-1, 1]``, i.e. the spectrum left the interval. A lazy library's
    vectors (Dask; decided once, from ``g``: every vector of the loop is of its library)
    are settled (persisted) at each step, so each step's graph starts from stored
    vectors; one synchronisation after the loop.

    ``reciprocal``: multiply by ``fl(1 / divisor)`` (and its exact double) instead of
    dividing (a division costs several multiplications per entry): exactly the same
    recurrence on the divisor ``1 / fl(1 / divisor)``, see :func:`reciprocal_error`.
    ``g_norm``: ``||g||`` when the caller has it (one pass fewer).
    """
    lazy = is_lazy(g)  # eager libraries skip settle() (a call a step, out of the loop)
    g = settle(g) if lazy else g
    x = (coefficients[0] / 2) * g  # a fresh array: the updates below may be in place
    previous, current = g, g
    # 2^+-100: 1 / divisor, and its double, normal numbers of every float dtype.
    reciprocal = reciprocal and 2.0**-100 <= abs(divisor) <= 2.0**100
    inverse = 1.0 / divisor if reciprocal else math.nan
    if len(coefficients) > 1:
        current = product(g) + shift * g  # T_1 = L g
        current = current * inverse if reciprocal else current / divisor
        x += coefficients[1] * current
        if lazy:
            current, x = settle(current), settle(x)
    half, double = divisor / 2, 2.0 * inverse  # both exact where used
    for j in range(2, len(coefficients)):
        # In place on a fresh array where the library allows it (NumPy: no temporary
        # per operation, and the freshly freed memory is the cache-warm one); JAX and
        # Dask rebind. a + b is b + a: the floats of (product + shift T_j) / half - T_{j-1}.
        following = shift * current
        following += product(current)
        if reciprocal:
            following *= double
        else:
            following /= half
        following -= previous
        if lazy:
            following = settle(following)
        x += coefficients[j] * following
        if lazy:
            x = settle(x)
        previous, current = current, following
    if g_norm is None:
        g_norm = to_float(norm(xp, g))
    growth = max(to_float(norm(xp, current)), to_float(norm(xp, previous))) / g_norm
    if not math.isfinite(growth):
        growth = math.inf
    return x, growth, to_float(norm(xp, x))


def expand_square(xp: Any, H: Operator, g: Any, s: float, mu: float, lo: float, hi: float,
                  coefficients: Any, reciprocal: bool = False, g_norm: float | None = None,
                  dtype_max: float | None = None) -> tuple[Any, float, float]:
    """``(x_d, growth, ||x_d||)`` for ``H / s`` (``g``, ``mu``, ``lo``, ``hi`` in those units).

    ``L v = ((H/s)^2 v + (mu - center) v) / h``. Within the range of
    :func:`~matfun._chebyshev_expansion.fusable`, ``L v = (H (H v) + (mu - center) s^2
    v) / (h s^2)`` exactly (``s`` a power of two: scaling by it commutes with
    rounding), the same floats with two passes over ``n`` fewer per step; beyond, each
    ``H v`` is divided by ``s`` as it comes (what the scaling is for). ``reciprocal``,
    ``g_norm``: see :func:`chebyshev_sum`; ``dtype_max``: the largest float of ``g``'s
    dtype, when the caller has it.
    """
    center, half_width = (hi + lo) / 2, (hi - lo) / 2
    inverse = 1.0 / s
    # Python scalars keep g's dtype (tolist: the same floats in one call).
    coefficients = (coefficients.tolist() if hasattr(coefficients, "tolist")
                    else [float(c) for c in coefficients])
    if dtype_max is None:
        dtype_max = float(xp.finfo(real_dtype(xp, g)).max)
    if fusable(math.frexp(s)[1] - 1, dtype_max):
        return chebyshev_sum(xp, _checked_square(xp, H), (mu - center) * s * s,
                             half_width * s * s, g, coefficients, reciprocal=reciprocal,
                             g_norm=g_norm)
    return chebyshev_sum(xp, _scaled_square(H, inverse), mu - center, half_width, g,
                         coefficients, reciprocal=reciprocal, g_norm=g_norm)


def _scaled_square(H: Operator, inverse: float) -> Callable[[Any], Any]:
    """``v -> (H/s) ((H/s) v)``, each product divided by ``s`` as it comes (``1/s`` exact).

    The first square checks ``H``'s symmetry where it is unchecked
    (:meth:`~matfun.Operator._check_square`).
    """

    def apply(v: Any) -> Any:
        inner = H.matvec(v) * inverse
        outer = H.matvec(inner) * inverse
        H._check_square(v, inner, outer)
        return outer

    return apply


def _checked_square(xp: Any, H: Operator) -> Callable[[Any], Any]:
    """``v -> H (H v)``, both products checked: by one test of ``H (H v)`` where that covers both.

    ``xp`` is the vectors' namespace (the products' too: :meth:`~matfun.Operator.matvec`
    refuses another library's), looked up once per solve rather than once per step.
    """
    square = H._square_deferred

    def checked(v: Any) -> Any:
        product, confirm = square(v)
        if not all_finite(xp, product):
            confirm()  # the error H.matvec would have raised, for the product that failed
        return product

    return checked


def fusable(exponent: int, dtype_max: float) -> bool:
    """Whether a power of two ``2^exponent`` may be folded into the map's scalars.

    Within ``2^(+-E/16)`` (``2^E`` the dtype's largest power: ``2^64`` in float64,
    ``2^8`` in float32) the unscaled products (up to the square of the power times
    those of the scaled operator, entries of the vectors at most about 1) and the
    squares in their finiteness check neither overflow nor underflow, so scaling by the
    power commutes exactly with every rounding: the same floats as dividing each
    product by it.
    """
    return 16 * abs(exponent) <= math.frexp(dtype_max)[1]


def propagation(coefficients: Any) -> tuple[float, float]:
    r"""How far :func:`chebyshev_sum` carries its roundings: ``(correlated, independent)``.

    The recurrence makes each ``T_j(L) g`` from the two before it; an error ``e`` made
    there reaches every later ``T_k`` as ``U_{k-j}(L) e`` (the recurrence's own
    solution, Chebyshev polynomials of the second kind) and so the result as
    ``S_j(L) e``, ``S_j(t) = sum_{k >= j} c_k U_{k-j}(t)`` (``c_0`` halved, as summed).
    ``|U_m(t)| <= m + 1``, with equality at ``t = +-1`` only: an eigenvalue at an end of
    the interval carries step ``j``'s error with weight ``|S_j(+-1)|``, about
    ``|c_j| / (1 - r)^2`` for coefficients that shrink by ``r`` a degree (the generating
    function ``sum_m U_m(t) z^m = 1 / (1 - 2 t z + z^2)`` at ``z = -+r``), up to
    ``1 / (1 - r) ~ sqrt(kappa) / 2`` times the function's largest value ``p_max``.
    Two kinds of error reach it (the larger end of the two is taken for each):

    * the rounding of the component of ``T_j g`` on that eigenvector, ``+-`` the
      component of ``g`` (``|T_j(+-1)| = 1``): the same relative error at every step,
      summed with its sign, ``sum_j |S_j|`` -- returned relative to ``p_max``, since
      that component of ``g`` is at most ``||x|| / p_max``;
    * the rest of each step's rounding, in no fixed direction: independent from step to
      step, it adds up as ``sqrt(sum_j S_j^2)`` (a probabilistic estimate, as in Higham
      and Mary 2019), to be multiplied by ``||g||``.

    Both ends in ``O(d)``: ``S_j(+-1) = sum_{k >= j} (+-1)^{k-j} c_k (k - j + 1)`` from
    suffix sums of ``c_k`` and ``k c_k`` (their cancellation costs at most
    ``log10(d (1 - r))``, a digit or two, of an estimate).
    """
    c = np.array(coefficients, dtype=float)
    if c.size == 0:
        return 0.0, 0.0
    c[0] /= 2
    k = np.arange(c.size, dtype=float)
    correlated = independent = 0.0
    for signed in (c, c * np.where(k % 2 == 0, 1.0, -1.0)):
        tail = np.cumsum(signed[::-1])[::-1]
        carried = np.abs(np.cumsum((k * signed)[::-1])[::-1] - (k - 1) * tail)
        peak = abs(float(tail[0]))  # |p(+-1)|: the expansion at that end
        if peak > 0:
            correlated = max(correlated, float(np.sum(carried)) / peak)
        independent = max(independent, float(np.sqrt(np.sum(carried**2))))
    return correlated, independent


def reciprocal_error(half_width: float, low: float, exponent: float, eps: float) -> float:
    r"""Relative error added by :func:`chebyshev_sum`'s ``reciprocal`` (a first-order estimate).

    Multiplying by ``fl(1/h)`` is dividing, correctly rounded, by ``h' = 1/fl(1/h)``,
    ``|h'/h - 1| <= u = eps/2``: the same recurrence on the map with half-width ``h'``,
    i.e. the expansion of ``f(t) = t^(-exponent)`` evaluated at ``t' = c + (t - c) h/h'``,
    ``|t' - t| <= h u``. That changes ``f`` by about ``exponent * h u / t <= exponent *
    h u / low`` relative, uniformly over the spectrum, so ``||x||`` relative too (no
    amplification). Returned four times over (for the second-order terms and a vector
    dtype below float64, where ``fl(1/h)`` is rounded once more).

    Examples
    --------
    >>> eps = 2.0 ** -52
    >>> reciprocal_error(4.0, 1.0, 0.5, eps) / eps  # (hi - lo) / (2 lo) for [1, 9]
    4.0
    """
    return 4.0 * exponent * half_width * (eps / 2) / low

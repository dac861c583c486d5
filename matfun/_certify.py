r"""The mathematics behind :func:`matfun.spectrum.certified_interval` (private).

Two certificates for an interval containing every :math:`|\lambda_i(H)|`.

Dense matrices: a posteriori Bauer-Fike
    ``W, Q = eigh(H)`` (any backend), then ``R = H Q - Q diag(W)`` and
    ``E = Q^H Q - I`` are computed and their Frobenius norms bounded *including the
    rounding of the products* (Higham, *Accuracy and Stability*, eq. 3.13:
    ``|fl(AB) - AB| <= gamma_n |A||B|``). With ``||E|| < 1``, ``H = Q W Q^{-1} + R
    Q^{-1}``, and the Bauer-Fike theorem puts every eigenvalue of ``H`` within
    ``delta = ||Q|| ||Q^{-1}||^2 ||R|| <= sqrt(1 + e) / (1 - e) ||R||`` of some
    ``w_j``. So ``min|w| - delta <= |lambda| <= max|w| + delta`` for every
    eigenvalue: deterministic, no matvec of the operator, ``O(n^3)`` flops.

Operators: Lanczos with a random start and its own polynomial
    A Ritz value with residual ``r`` proves only that *some* eigenvalue lies within
    ``||r||`` of it (Kato 1949, Temple 1928, Lehmann 1963: inclusion); both ends of a
    Chebyshev interval need *exclusion* -- no eigenvalue beyond ``upper``, none in
    ``(-lower, lower)`` -- and no deterministic method with fewer than ``n``
    matvecs can prove that: an eigenvector orthogonal to the Krylov space is
    invisible (Kuczynski and Wozniakowski 1992). A random start makes it a
    probability. Write the start ``v = sum_j gamma_j u_j`` (unit, uniform on the
    sphere, so ``gamma_j^2 ~ Beta(1/2, (n-1)/2)``; ``Beta(1, n-1)`` for complex
    ``H``). After ``k`` exact Lanczos steps ``q_{k+1} = p_k(H) v / (beta_1 ...
    beta_k)`` with ``p_k(t) = prod_i (t - theta_i)`` over the Ritz values, so for
    every eigenpair

    .. math:: \gamma_j^2\, p_k(\lambda_j)^2 \le \|p_k(H) v\|^2
              = (\beta_1 \cdots \beta_k)^2 .

    * *Top.* If an eigenvalue lay at or beyond ``x > theta_max`` then, ``|p_k|``
      increasing there, ``gamma_1^2 <= (beta_1...beta_k / |p_k(x)|)^2``. Take ``x``
      where that ratio first falls to ``s_end``, fixed in advance with
      ``P(gamma^2 <= s_end) = delta/4``: ``lambda_max < x`` unless that event
      happened. Likewise below ``theta_min``.
    * *Gap around 0.* Between consecutive Ritz values ``log|p_k|`` is concave, so
      on ``[-y, y]`` (free of Ritz values) ``|p_k| >= min(|p_k(-y)|, |p_k(y)|)``; an
      eigenvalue there forces ``gamma_j^2 <= (beta_1...beta_k / min)^2``. No union
      over the ``n`` indices is needed: ``(-y, y)`` holds *some* eigenvalue only if it
      holds one of smallest ``|lambda|``, so the bad event is ``gamma_*^2 <= s_mid``
      for one unit vector ``u_*`` of that eigenspace, fixed by ``H`` alone (with
      ``gamma_* = u_*^H v``; in a multiple eigenvalue ``||P v|| >= |gamma_*|``).
      With ``P(gamma^2 <= s_mid) = delta/2``, no eigenvalue lies in ``(-y, y)``
      unless that event happened.
    * *Any polynomial.* The inequality holds for every polynomial of degree ``<= k``,
      chosen after seeing the run; the certificate uses ``p_k`` and ``p_{k-1}`` (an
      almost symmetric spectrum puts a Ritz value near 0 at every other step) and
      keeps the tightest bounds of all checks: they hold on the same good event.

    The bad events are fixed sets of start vectors, the same for every ``k``: the
    bounds hold *simultaneously for all steps* with probability ``>= 1 - delta``,
    whatever the stopping rule, for every ``H`` chosen independently of the seed.
    This is the approach of van Dorsselaer, Hochstenbach and van der Vorst (2000)
    for the extreme eigenvalues, extended here to the gap around 0. The identity
    is for exact arithmetic: the recurrence is fully reorthogonalised for
    ``n <= 512`` and three-term otherwise, and a margin ``16 k eps ||T||`` is
    added on each side -- a named assumption (Paige's and Greenbaum's analyses
    of finite-precision Lanczos), checked against ``eigh`` by the tests, not a
    proof. After ``n`` fully reorthogonalised steps ``T_n`` is similar to ``H``:
    its eigenvalues are ``H``'s up to the same margin (``"invariant"``). An earlier
    breakdown (an invariant subspace) goes through the probabilistic argument with
    ``beta_k`` raised to the breakdown threshold: an eigenvector the start missed
    is exactly the improbable event.

    Cost. ``P(gamma^2 <= s) ~ sqrt(2 n s / pi)``, so the polynomial must grow by
    ``G ~ sqrt(n) / delta`` (``ln G ~ 20`` for ``n = 10^5``, ``delta = 10^-6``)
    between the spectrum and the certified end. For a *definite* ``H`` the smallest
    ``|lambda|`` is an extreme eigenvalue and Lanczos on ``H`` finds it at the
    extreme-eigenvalue rate: about ``sqrt(kappa) ln(G) / (2 sqrt(eps))`` steps certify
    ``(1 - eps) lambda_min``. For an *indefinite* ``H`` the gap is interior: any
    polynomial small on ``[-b, -a] u [a, b]`` grows at ``|t| = y`` by at most
    ``exp(k sqrt(1 - y^2/a^2) / kappa)`` (Chebyshev on ``H^2``), so certifying ``a/c``
    takes about ``kappa ln(G) / sqrt(1 - 1/c^2)`` steps -- the same order as the
    Chebyshev solve itself (``kappa ln(2/rtol)`` matvecs), for *any* Krylov method
    from a random start (an eigenvalue in the gap with a component ``delta /
    sqrt(n)`` on the start is seen only through that growth). Reuse: a run from ``g``
    certifies nothing (``g`` may miss an eigenvector); one from ``g + sigma v`` would
    (``P(|N(m, sigma^2)| <= t) <= P(|N(0, sigma^2)| <= t)``), but it approximates
    ``f(H)(g + sigma v)``, and ``sigma`` small enough for that costs a growth of
    ``kappa / rtol`` more: no saving for an indefinite ``H``.

References
----------
T. Kato (1949), J. Phys. Soc. Japan 4, 334-339; G. Temple (1928), Proc. R. Soc. A 119;
N. J. Lehmann (1963), Numer. Math. 5, 246-272 (inclusion theorems: every interval
``[theta - ||r||, theta + ||r||]`` holds an eigenvalue, used for the lower bound of the
top and not enough on its own for the bottom); B. N. Parlett, *The Symmetric Eigenvalue
Problem* (SIAM, 1998), ch. 10-11 and 13; J. Kuczynski and H. Wozniakowski (1992), SIAM J.
Matrix Anal. Appl. 13, 1094-1122; J. L. M. van Dorsselaer, M. E. Hochstenbach and H. A.
van der Vorst (2000), SIAM J. Matrix Anal. Appl. 22, 837-852; F. L. Bauer and C. T. Fike
(1960), Numer. Math. 2, 137-141.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._backend import compiled, is_complex, max_abs, namespace, real_dtype, to_float
from ._certify_polynomial import polynomial_certificate
from ._lanczos import LanczosProcess
from ._lanczos_low_memory import LowMemoryProcess
from ._validation import power_of_two
from .operators import Operator

__all__ = ["check_steps", "dense_certificate", "krylov_certificate"]

_FIRST_CHECK = 8
_CHECK_GROWTH = 1.1
_REORTHOGONALIZE_UP_TO = 512  # dimension: the full basis costs k n memory, k^2 n flops
_MARGIN = 16.0  # rounding margin, in units of k eps ||T|| (see the module docstring)


def check_steps(limit: int) -> list[int]:
    """The fixed steps at which the Krylov certificate may be checked, up to ``limit``."""
    steps, value = [], float(_FIRST_CHECK)
    while int(value) < limit:
        if not steps or int(value) > steps[-1]:
            steps.append(int(value))
        value *= _CHECK_GROWTH
    steps.append(limit)
    return steps


def dense_certificate(array: Any) -> tuple[float, float, float, int]:
    """``(lower, upper, delta, sign)`` for ``|lambda|`` of a dense matrix (module docstring).

    ``sign`` is +1 (-1) when every eigenvalue is proven positive (negative), else 0.

    The matrix is first divided by a power of two near ``max|H|`` (exact), so the
    squares inside the norms cannot overflow at any magnitude. A half-precision matrix
    is decomposed in float32, which holds it exactly (linear algebra libraries have no
    half-precision ``eigh``); the bound then counts float32's rounding.
    """
    xp = namespace(array)
    if xp.finfo(real_dtype(xp, array)).bits < 32:
        array = xp.astype(array, xp.float32)
    size = array.shape[0]
    largest = to_float(max_abs(xp, array))  # decision: the rescaling factor
    if largest == 0.0:
        return 0.0, 0.0, 0.0, 0
    factor = power_of_two(largest)
    h_norm, q_norm, top, residual, defect, smallest, bottom, highest = (
        to_float(value) for value in compiled(xp, _eigen_norms)(array, factor))
    unit = float(xp.finfo(real_dtype(xp, array)).eps) / 2
    gamma = (size + 2) * unit / (1 - (size + 2) * unit)
    # Norm of the computed product plus the rounding of the product (Higham 3.13),
    # doubled for the rounding of the norms themselves.
    r_bound = (residual + gamma * q_norm * (h_norm + top)) * (1 + 2 * gamma) * 2
    e_bound = (defect + gamma * q_norm * q_norm) * (1 + 2 * gamma) * 2
    if e_bound >= 0.5:
        return 0.0, math.inf, math.inf, 0  # eigenvectors too far from orthonormal
    delta = math.sqrt(1 + e_bound) / (1 - e_bound) * r_bound
    sign = _sign(bottom, highest, delta)
    return (max(smallest - delta, 0.0) * factor, (top + delta) * factor, delta * factor,
            sign)


def _eigen_norms(array, factor):
    xp = namespace(array)
    scaled = array / factor
    values, vectors = xp.linalg.eigh(scaled)
    conjugate = xp.conj(vectors) if is_complex(xp, vectors) else vectors
    residual = scaled @ vectors - vectors * values[None, :]
    defect = xp.matrix_transpose(conjugate) @ vectors - xp.eye(array.shape[0], dtype=vectors.dtype)
    fro = lambda m: xp.linalg.matrix_norm(m, ord="fro")  # noqa: E731
    magnitudes = xp.abs(values)
    return (fro(scaled), fro(vectors), xp.max(magnitudes), fro(residual), fro(defect),
            xp.min(magnitudes), xp.min(values), xp.max(values))


def _sign(bottom: float, top: float, margin: float) -> int:
    """+1 if ``bottom - margin > 0``, -1 if ``top + margin < 0``, else 0."""
    return 1 if bottom - margin > 0 else -1 if top + margin < 0 else 0


def _lanczos(op: Operator, start: Any) -> LanczosProcess | LowMemoryProcess:
    """The recurrence for the tridiagonal: fully reorthogonalised only for small ``n``."""
    if op.size <= _REORTHOGONALIZE_UP_TO:
        return LanczosProcess(op, start)
    return LowMemoryProcess(op, start)


def _t_scale(a: np.ndarray, b: np.ndarray) -> float:
    """A power of two near ``max|alpha| + 2 max beta >= ||T||``."""
    return power_of_two(max(float(np.max(np.abs(a))) + 2 * float(np.max(b, initial=0.0)),
                            np.finfo(float).tiny))


def _extreme_singular_squares(alphas: list[float], betas: list[float], breakdown: bool
                              ) -> tuple[float, float, float]:
    """``(s_min^2, s_max^2, scale)`` of ``T_{k+1,k} / scale`` (``T_k`` after a breakdown).

    ``T^T T`` is pentadiagonal; its extreme eigenvalues come from LAPACK's banded
    solver in ``O(k)``. ``scale`` is a power of two, so the squares cannot overflow.
    """
    a = np.asarray(alphas)
    b = np.asarray(betas if not breakdown else betas[:-1] + [0.0])
    scale = _t_scale(a, b)
    a, b = a / scale, b / scale
    k = a.size
    band = np.zeros((3, k))
    previous = np.concatenate(([0.0], b[:-1]))
    band[2] = a * a + b * b + previous * previous
    if k > 1:
        band[1, 1:] = b[:-1] * (a[:-1] + a[1:])
    if k > 2:
        band[0, 2:] = b[:-2] * b[1:-1]
    import scipy.linalg  # lazy: SciPy submodules are slow to import
    low = scipy.linalg.eig_banded(band, eigvals_only=True, select="i", select_range=(0, 0))
    high = scipy.linalg.eig_banded(band, eigvals_only=True, select="i",
                                   select_range=(k - 1, k - 1))
    return max(float(low[0]), 0.0), float(high[0]), scale


def krylov_certificate(op: Operator, start: Any, *, failure_probability: float, budget: int,
                       slack: float, complex_field: bool,
                       cost: Callable[[float, float, int], float] | None = None) -> dict:
    """Lanczos from ``start`` until the interval is good enough (or the budget is spent).

    Every check's bounds hold on the same good event (module docstring), so the
    running intersection -- largest ``lower``, smallest ``upper`` -- is reported.
    Without ``cost`` it stops once the squared interval is within ``slack`` of the
    uncertified Krylov one. With ``cost(lower, upper, sign)`` (the matvecs a solve on
    that interval would take), it stops once the certificate stops paying for itself: the
    solve's predicted matvecs fell by less than the certification's matvecs over the
    last two checks. Any stop is as rigorous as any other; only the width differs.

    Returns a dict with ``lower``, ``upper`` (bounds on ``|lambda|``; ``lower`` 0 and
    ``upper`` inf where not certified), ``sign`` (+1 / -1: every eigenvalue proven
    positive / negative, on the same good event; 0: not proven), ``steps``, ``exact``
    (breakdown) and ``ritz`` (``(s_min, s_max)``, the uncertified Krylov values).
    """
    process = _lanczos(op, start)
    full = isinstance(process, LanczosProcess)
    dimension = op.size * (2 if complex_field else 1)
    eps = process.eps
    best = {"lower": 0.0, "upper": math.inf, "sign": 0, "steps": 0, "exact": False,
            "ritz": (0.0, 0.0)}
    history: list[tuple[int, float]] = []  # (steps, predicted solve matvecs) per check
    for limit in check_steps(budget):
        while process.steps < limit and process.step():
            pass
        k = len(process.alphas)
        b = np.asarray(process.betas if not process.breakdown else process.betas[:-1] + [0.0])
        unit = _t_scale(np.asarray(process.alphas), b) * process.scale  # ~ ||T|| in H's units
        margin = _MARGIN * k * eps * unit
        # Exact only when the basis spans the whole space (T_n is similar to H); an
        # earlier breakdown leaves eigenvectors the start may (improbably) have missed,
        # so it goes through the probabilistic certificate like any other step, with
        # beta_k raised to the breakdown threshold.
        exact = process.breakdown and full and k >= op.size
        lower, upper, sign = 0.0, math.inf, 0
        if exact:
            # The eigenvalues of T_n (accurate to ~eps ||T||, unlike the square roots
            # of T^T T's), each within the margin of one of H's.
            import scipy.linalg  # lazy: SciPy submodules are slow to import
            signed = scipy.linalg.eigvalsh_tridiagonal(
                np.asarray(process.alphas), np.asarray(process.betas[: k - 1]),
                lapack_driver="sterf") * process.scale
            theta = np.abs(signed)
            lower, upper = float(theta.min()) - margin, float(theta.max()) + margin
            sign = _sign(float(signed.min()), float(signed.max()), margin)
        elif dimension >= 2:
            betas = list(process.betas)
            betas[-1] = max(betas[-1], process.breakdown_threshold)
            # The polynomials of the last two steps: an (almost) symmetric spectrum puts
            # a Ritz value near 0 at every other step, which voids that step's gap.
            poly_lower, poly_upper = 0.0, math.inf
            # (The second only when the first does not improve the gap: it costs O(k^2).)
            for j in range(k, max(k - 2, 0), -1):
                found = polynomial_certificate(process.alphas[:j], betas[:j], dimension,
                                               failure_probability, complex_field)
                poly_lower, poly_upper = max(poly_lower, found[0]), min(poly_upper, found[1])
                sign = sign or _sign(found[2] * process.scale, found[3] * process.scale, margin)
                if poly_lower * process.scale - margin > best["lower"]:
                    break
            if poly_lower > 0:
                lower = poly_lower * process.scale - margin
            upper = poly_upper * process.scale + margin
        lower = max(lower, 0.0)
        if exact:  # the eigenvalues themselves: no earlier bound can be tighter
            best = {"lower": float(lower), "upper": float(upper), "sign": sign}
        else:
            best = {"lower": max(best["lower"], float(lower)),
                    "upper": min(best["upper"], float(upper)), "sign": best["sign"] or sign}
        best.update(steps=k, exact=exact)
        if process.breakdown:
            break
        lower, upper = best["lower"], best["upper"]
        if cost is None:
            low, high, _ = _extreme_singular_squares(process.alphas, process.betas, False)
            if lower > 0 and math.isfinite(upper) and (upper / lower) ** 2 <= slack * high / max(
                    low, np.finfo(float).tiny):
                break
        elif math.isfinite(upper) and math.isfinite(
                predicted := cost(lower, upper, best["sign"])):
            history.append((k, predicted))
            if len(history) >= 3:
                (k0, c0), (k2, c2) = history[-3], history[-1]
                if c0 - c2 < k2 - k0:  # the last checks gained less than they cost
                    break
    if best["steps"]:
        low, high, scale = _extreme_singular_squares(process.alphas, process.betas,
                                                     process.breakdown)
        unit = scale * process.scale
        best["ritz"] = (math.sqrt(low) * unit, math.sqrt(high) * unit)
    return best

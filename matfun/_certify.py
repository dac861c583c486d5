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

Operators: Lanczos with a random start and the Kuczynski-Wozniakowski theorem
    After ``k`` Lanczos steps from ``v`` (Gaussian, so uniform on the sphere),
    ``H Q_k = Q_{k+1} T_{k+1,k}`` and, over the Krylov space ``K_k(H, v)``, the
    extreme Rayleigh quotients of ``A = H^2`` are the extreme squared singular
    values of ``T_{k+1,k}``: :math:`s_{\min}^2 \ge \lambda_{\min}(A)` and
    :math:`s_{\max}^2 \le \lambda_{\max}(A)` (Courant-Fischer). These are the
    *wrong* sides for a bound; the right sides need a statement about the part of
    the space the Krylov space has not seen, which no deterministic method with
    fewer than ``n`` matvecs can make (Kuczynski and Wozniakowski 1992: an
    adversary hides an eigenvalue orthogonal to the start). A random start makes
    it a probability: ``K_k(H, v)`` contains ``K_d(A, v)`` with ``d = (k+1)//2``,
    and their Theorem (Lanczos, PSD matrix, start uniform on the sphere, Krylov
    information of ``d - 1`` products) gives

    .. math:: P\bigl(\xi \le (1 - \varepsilon) \lambda_{\max}(B)\bigr)
              \le 1.648 \sqrt{n}\, e^{-\sqrt\varepsilon\, (2d - 3)}

    for the largest Rayleigh quotient ``xi`` of any PSD ``B`` over that space.
    With ``B = A``: :math:`\lambda_{\max}(A) \le s_{\max}^2 / (1 - \varepsilon) = c`.
    With ``B = c I - A`` (same Krylov space, PSD on that event):
    :math:`\lambda_{\min}(A) \ge (s_{\min}^2 - \varepsilon c) / (1 - \varepsilon)`.
    Both hold together with probability ``>= 1 - 2 * 1.648 sqrt(n) e^(...)``; the
    checks happen only at the fixed steps ``8 * 1.15^i``, the ``i``-th
    charged ``delta * 6 / (pi^2 (i + 1)^2)`` of the failure probability ``delta``
    (a union bound valid whatever the stopping rule). A complex Hermitian ``H``
    is a real symmetric one of size ``2n`` (``sqrt(2n)`` replaces ``sqrt(n)``).
    The theorem is for exact arithmetic: the recurrence runs in floating point
    (fully reorthogonalised for ``n <= 512``, three-term otherwise), and a rounding
    margin ``16 k eps ||T||^2`` is added on each side -- a named assumption, backed
    by Paige's and Greenbaum's analyses of finite-precision Lanczos, not a proof.
    A breakdown (invariant subspace, small ``n``) makes the Ritz values the exact
    eigenvalues of the part of ``H`` the start reaches (with probability one,
    all of it), up to the same margin.

References
----------
T. Kato (1949), J. Phys. Soc. Japan 4, 334-339; G. Temple (1928), Proc. R. Soc. A 119;
N. J. Lehmann (1963), Numer. Math. 5, 246-272 (inclusion theorems: every interval
``[theta - ||r||, theta + ||r||]`` holds an eigenvalue, used for the lower bound of the
top and not enough on its own for the bottom); B. N. Parlett, *The Symmetric Eigenvalue
Problem* (SIAM, 1998), ch. 10-11; J. Kuczynski and H. Wozniakowski (1992), SIAM J.
Matrix Anal. Appl. 13, 1094-1122; F. L. Bauer and C. T. Fike (1960), Numer. Math. 2.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.linalg

from ._backend import is_complex, namespace, norm, real_dtype, to_float
from ._validation import power_of_two
from .operators import Operator

__all__ = ["dense_certificate", "krylov_certificate", "check_steps"]

_KW_CONSTANT = 1.648
_FIRST_CHECK = 8
_CHECK_GROWTH = 1.15
_REORTHOGONALIZE_UP_TO = 512  # dimension: the full basis costs k n memory, k^2 n flops
_MARGIN = 16.0  # rounding margin, in units of k eps ||T||^2 (see the module docstring)


def check_steps(limit: int) -> list[int]:
    """The fixed steps at which the Krylov certificate may be checked, up to ``limit``."""
    steps, value = [], float(_FIRST_CHECK)
    while int(value) < limit:
        if not steps or int(value) > steps[-1]:
            steps.append(int(value))
        value *= _CHECK_GROWTH
    steps.append(limit)
    return steps


def dense_certificate(array: Any) -> tuple[float, float, float]:
    """``(lower, upper, delta)`` for ``|lambda|`` of a dense matrix (module docstring).

    The matrix is first divided by a power of two near ``max|H|`` (exact), so the
    squares inside the norms cannot overflow at any magnitude.
    """
    xp = namespace(array)
    size = array.shape[0]
    largest = to_float(xp.max(xp.abs(array)))  # decision: the rescaling factor
    if largest == 0.0:
        return 0.0, 0.0, 0.0
    factor = power_of_two(largest)
    scaled = array / factor
    values, vectors = xp.linalg.eigh(scaled)
    conjugate = xp.conj(vectors) if is_complex(xp, vectors) else vectors
    residual = scaled @ vectors - vectors * values[None, :]
    defect = xp.matrix_transpose(conjugate) @ vectors - xp.eye(size, dtype=vectors.dtype)
    unit = float(xp.finfo(real_dtype(xp, vectors)).eps) / 2
    gamma = (size + 2) * unit / (1 - (size + 2) * unit)
    fro = lambda m: to_float(xp.linalg.matrix_norm(m, ord="fro"))  # noqa: E731
    h_norm, q_norm = fro(scaled), fro(vectors)
    top = to_float(xp.max(xp.abs(values)))
    # Norm of the computed product plus the rounding of the product (Higham 3.13),
    # doubled for the rounding of the norms themselves.
    r_bound = (fro(residual) + gamma * q_norm * (h_norm + top)) * (1 + 2 * gamma) * 2
    e_bound = (fro(defect) + gamma * q_norm * q_norm) * (1 + 2 * gamma) * 2
    if e_bound >= 0.5:
        return 0.0, math.inf, math.inf  # eigenvectors too far from orthonormal
    delta = math.sqrt(1 + e_bound) / (1 - e_bound) * r_bound
    smallest = to_float(xp.min(xp.abs(values)))
    return max(smallest - delta, 0.0) * factor, (top + delta) * factor, delta * factor


class _Lanczos:
    """The Lanczos recurrence for the tridiagonal only (basis kept only for small ``n``)."""

    def __init__(self, op: Operator, start: Any) -> None:
        self.op, self.xp = op, namespace(start)
        self.q = start / norm(self.xp, start)
        self.previous = None
        self.alphas: list[float] = []
        self.betas: list[float] = []
        self.basis = [self.q] if op.size <= _REORTHOGONALIZE_UP_TO else None
        self.breakdown = False
        self._eps = float(self.xp.finfo(real_dtype(self.xp, start)).eps)
        self._scale = 0.0
        self.factor: float | None = None

    def run_to(self, steps: int) -> None:
        xp = self.xp
        while len(self.alphas) < steps and not self.breakdown:
            w = self.op.matvec(self.q)
            if self.factor is None:
                # Decision, once: work with H / factor (a power of two near |H q|), so
                # that norms cannot overflow or underflow at any magnitude of H.
                largest = to_float(xp.max(xp.abs(w)))
                self.factor = power_of_two(largest) if largest > 0 else 1.0
            w = w / self.factor
            # Decisions follow (alpha, beta, breakdown): one host sync per step.
            alpha = to_float(xp.real(xp.sum(xp.conj(self.q) * w)))
            w = w - alpha * self.q
            if self.previous is not None:
                w = w - self.betas[-1] * self.previous
            if self.basis is not None:
                Q = xp.stack(self.basis, axis=1)
                QH = xp.conj(xp.matrix_transpose(Q)) if is_complex(xp, Q) else \
                    xp.matrix_transpose(Q)
                for _ in range(2):  # twice is enough (Parlett)
                    w = w - Q @ (QH @ w)
            beta = to_float(norm(xp, w))
            self.alphas.append(alpha)
            self.betas.append(beta)
            self._scale = max(self._scale, abs(alpha) + beta + (self.betas[-2] if len(
                self.betas) > 1 else 0.0))
            full = self.basis is not None and len(self.alphas) >= self.op.size
            if full or beta <= self.op.size * self._eps * self._scale:
                self.breakdown = True
                return
            self.previous, self.q = self.q, w / beta
            if self.basis is not None:
                self.basis.append(self.q)


def _extreme_singular_squares(alphas: list[float], betas: list[float], breakdown: bool
                              ) -> tuple[float, float, float]:
    """``(s_min^2, s_max^2, scale)`` of ``T_{k+1,k} / scale`` (``T_k`` after a breakdown).

    ``T^T T`` is pentadiagonal; its extreme eigenvalues come from LAPACK's banded
    solver in ``O(k)``. ``scale`` is a power of two, so the squares cannot overflow.
    """
    a = np.asarray(alphas)
    b = np.asarray(betas if not breakdown else betas[:-1] + [0.0])
    scale = power_of_two(max(float(np.max(np.abs(a))) + 2 * float(np.max(b, initial=0.0)),
                             np.finfo(float).tiny))
    a, b = a / scale, b / scale
    k = a.size
    band = np.zeros((3, k))
    previous = np.concatenate(([0.0], b[:-1]))
    band[2] = a * a + b * b + previous * previous
    if k > 1:
        band[1, 1:] = b[:-1] * (a[:-1] + a[1:])
    if k > 2:
        band[0, 2:] = b[:-2] * b[1:-1]
    low = scipy.linalg.eig_banded(band, eigvals_only=True, select="i", select_range=(0, 0))
    high = scipy.linalg.eig_banded(band, eigvals_only=True, select="i",
                                   select_range=(k - 1, k - 1))
    return max(float(low[0]), 0.0), float(high[0]), scale


def krylov_certificate(op: Operator, start: Any, *, failure_probability: float, budget: int,
                       slack: float, complex_field: bool) -> dict:
    """Lanczos from ``start`` until the squared interval is within ``slack`` of the Ritz one.

    Returns a dict with ``lower``, ``upper`` (bounds on ``|lambda|``; ``lower`` 0 and
    ``upper`` inf where not certified), ``steps``, ``exact`` (breakdown) and
    ``ritz`` (``(s_min, s_max)``, the uncertified Krylov values).
    """
    process = _Lanczos(op, start)
    dimension = op.size * (2 if complex_field else 1)
    eps = process._eps
    best = {"lower": 0.0, "upper": math.inf, "steps": 0, "exact": False, "ritz": (0.0, 0.0)}
    grid = check_steps(budget)
    index = 0
    while index < len(grid):
        process.run_to(grid[index])
        k = len(process.alphas)
        low, high, scale = _extreme_singular_squares(process.alphas, process.betas,
                                                     process.breakdown)
        margin = _MARGIN * k * eps * 9.0  # ||T / scale||^2 <= 9
        scale *= process.factor
        ritz = (math.sqrt(low) * scale, math.sqrt(high) * scale)
        if process.breakdown:
            upper2, lower2 = high + margin, low - margin
        else:
            # The probability charged to this check (fixed in advance by its index).
            share = failure_probability * 6 / (math.pi ** 2 * (index + 1) ** 2) / 2
            exponent = 2 * ((k + 1) // 2) - 3
            root = math.log(_KW_CONSTANT * math.sqrt(dimension) / share) / exponent \
                if exponent > 0 else math.inf
            epsilon = root * root
            if epsilon < 1:
                upper2 = (high + margin) / (1 - epsilon)
                lower2 = (low - margin - epsilon * upper2) / (1 - epsilon)
            else:
                upper2, lower2 = math.inf, -1.0
        best = {"lower": math.sqrt(max(lower2, 0.0)) * scale,
                "upper": math.sqrt(upper2) * scale if math.isfinite(upper2) else math.inf,
                "steps": k, "exact": process.breakdown, "ritz": ritz}
        if process.breakdown or (lower2 > 0 and upper2 / lower2 <= slack * high / max(
                low, np.finfo(float).tiny)):
            break
        index = _next_check(grid, index, k, low, high, margin, dimension, failure_probability,
                            slack)
    return best


def _next_check(grid, index, k, low, high, margin, dimension, failure_probability, slack):
    """Index of the first check step where, if the Ritz values stay put, the bound holds.

    Only a prediction (it saves checks, each of which costs probability): the
    certificate is recomputed there. Always at least the next grid point.
    """
    if low <= margin:
        return index + 1
    # Need lower2 >= low / slack roughly: epsilon <= (1 - 1/slack) low / high.
    target = (1 - 1 / slack) * (low - margin) / (high + margin)
    for later in range(index + 1, len(grid)):
        share = failure_probability * 6 / (math.pi ** 2 * (later + 1) ** 2) / 2
        exponent = 2 * ((grid[later] + 1) // 2) - 3
        if exponent > 0:
            root = math.log(_KW_CONSTANT * math.sqrt(dimension) / share) / exponent
            if root * root <= target:
                return later
    return len(grid) - 1 if index < len(grid) - 1 else len(grid)

"""The classic sequences of :mod:`accel.testing`, defined in mpmath arithmetic.

Each entry gives the exact ``n``-th term (or iterate) at working precision and
the limit in closed form or by an mpmath routine at 50 digits; the terms are
then rounded once to the requested dtype. mpmath is imported inside the
functions that need it (only the test helpers use it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["ClassicSequence", "CATALOGUE"]

# Methods expected to accelerate each kind at their default options: the textbook
# assignment (Weniger 1989, Sidi 2003, Brezinski & Redivo-Zaglia 1991), as measured
# in float64 on this catalogue (`python -m accel.testing`). Levin's default "t" is for
# alternating and linear sequences; its "u" variant (not the default) handles
# logarithmic ones.
ALTERNATING = ("shanks", "levin", "pade", "aitken", "theta", "topological_epsilon")
LINEAR = ALTERNATING
LOGARITHMIC = ("sablonniere", "theta", "rho", "richardson")
DIVERGENT = ALTERNATING
VECTOR = ("shanks", "pade", "topological_epsilon", "mpe", "rre")


@dataclass(frozen=True)
class ClassicSequence:
    """A sequence with a limit known to 30+ digits.

    Attributes
    ----------
    name : str
    kind : str
        ``"alternating"``, ``"linear"``, ``"logarithmic"``, ``"divergent"``
        (summable: the limit is the antilimit / Borel sum), ``"fixed point"``
        or ``"vector"``.
    count : int
        Number of terms the checks use (what float64 can exploit).
    methods : tuple of str
        Names of :func:`accel.methods` expected to accelerate it (reach an error
        far below the last term's).
    partial : callable
        ``partial(mp, count)``: the first ``count`` terms as mpmath numbers (or
        lists of them for vectors), at the caller's working precision.
    limit : callable
        ``limit(mp)``: the limit as an mpmath number (or a list).
    """

    name: str
    kind: str
    count: int
    methods: tuple[str, ...]
    partial: Callable[[Any, int], list]
    limit: Callable[[Any], Any]


def _series(term: Callable[[Any, int], Any]) -> Callable[[Any, int], list]:
    def partial(mp: Any, count: int) -> list:
        sums, total = [], mp.mpf(0)
        for k in range(count):
            total += term(mp, k)
            sums.append(total)
        return sums
    return partial


def _product(factor: Callable[[Any, int], Any]) -> Callable[[Any, int], list]:
    def partial(mp: Any, count: int) -> list:
        products, total = [], mp.mpf(1)
        for k in range(count):
            total *= factor(mp, k)
            products.append(total)
        return products
    return partial


def _fixed_point(step: Callable[[Any, Any], Any], start: float) -> Callable[[Any, int], list]:
    def partial(mp: Any, count: int) -> list:
        iterates = [mp.mpf(start)]
        while len(iterates) < count:
            iterates.append(step(mp, iterates[-1]))
        return iterates
    return partial


def _linear_iteration(matrix: list[list[float]], rhs: list[float]
                      ) -> tuple[Callable[[Any, int], list], Callable[[Any], Any]]:
    """``x_{k+1} = M x_k + b`` from ``x_0 = 0``; limit ``(I - M)^{-1} b``."""
    def partial(mp: Any, count: int) -> list:
        m, b = mp.matrix(matrix), mp.matrix(rhs)
        x, iterates = mp.matrix(len(rhs), 1), []
        for _ in range(count):
            x = m * x + b
            iterates.append([x[i] for i in range(len(rhs))])
        return iterates

    def limit(mp: Any) -> list:
        m = mp.matrix(matrix)
        x = mp.lu_solve(mp.eye(len(rhs)) - m, mp.matrix(rhs))
        return [x[i] for i in range(len(rhs))]
    return partial, limit


_JACOBI = [[0.0, 0.25, 0.1, 0.0], [0.2, 0.0, 0.15, 0.1], [0.05, 0.3, 0.0, 0.2],
           [0.0, 0.1, 0.25, 0.0]]
_TWO_MODES = [[0.5, 0.3, 0.0], [0.3, 0.5, 0.0], [0.0, 0.0, 0.2]]
_ROTATION = [[0.9 * 0.6, -0.9 * 0.8], [0.9 * 0.8, 0.9 * 0.6]]
_NONNORMAL = [[0.7, 1.0, 0.0], [0.0, 0.6, 1.0], [0.0, 0.0, 0.5]]

CATALOGUE: tuple[ClassicSequence, ...] = (
    # -- alternating series
    ClassicSequence("alternating harmonic -> log 2", "alternating", 20, ALTERNATING,
                    _series(lambda mp, k: mp.mpf(-1) ** k / (k + 1)), lambda mp: mp.log(2)),
    ClassicSequence("Leibniz -> pi/4", "alternating", 20, ALTERNATING,
                    _series(lambda mp, k: mp.mpf(-1) ** k / (2 * k + 1)), lambda mp: mp.pi / 4),
    ClassicSequence("eta(2) -> pi^2/12", "alternating", 20, ALTERNATING,
                    _series(lambda mp, k: mp.mpf(-1) ** k / (k + 1) ** 2),
                    lambda mp: mp.pi ** 2 / 12),
    ClassicSequence("eta(1/2)", "alternating", 20, ALTERNATING,
                    _series(lambda mp, k: mp.mpf(-1) ** k / mp.sqrt(k + 1)),
                    lambda mp: mp.altzeta(mp.mpf(1) / 2)),
    ClassicSequence("eta(3) -> 3 zeta(3)/4", "alternating", 20, ALTERNATING,
                    _series(lambda mp, k: mp.mpf(-1) ** k / (k + 1) ** 3),
                    lambda mp: 3 * mp.zeta(3) / 4),
    ClassicSequence("log(1.9) = sum (-1)^k 0.9^(k+1)/(k+1)", "alternating", 20, ALTERNATING,
                    _series(lambda mp, k: mp.mpf(-1) ** k * mp.mpf("0.9") ** (k + 1) / (k + 1)),
                    lambda mp: mp.log(mp.mpf("1.9"))),
    ClassicSequence("atan(0.8) series", "alternating", 16, ALTERNATING,
                    _series(lambda mp, k: mp.mpf(-1) ** k * mp.mpf("0.8") ** (2 * k + 1)
                            / (2 * k + 1)), lambda mp: mp.atan(mp.mpf("0.8"))),
    ClassicSequence("exp(-1) = sum (-1)^k/k!", "alternating", 12, ALTERNATING,
                    _series(lambda mp, k: mp.mpf(-1) ** k / mp.factorial(k)),
                    lambda mp: mp.exp(-1)),
    # -- linear (monotone geometric-like) convergence
    ClassicSequence("-log(0.2)/0.8 = sum 0.8^k/(k+1)", "linear", 24, LINEAR,
                    _series(lambda mp, k: mp.mpf("0.8") ** k / (k + 1)),
                    lambda mp: -mp.log(mp.mpf("0.2")) / mp.mpf("0.8")),
    ClassicSequence("sum (k+1) 0.7^k = 1/0.09", "linear", 20, LINEAR,
                    _series(lambda mp, k: (k + 1) * mp.mpf("0.7") ** k),
                    lambda mp: 1 / mp.mpf("0.09")),
    ClassicSequence("log 2 = sum 2^-(k+1)/(k+1)", "linear", 16, LINEAR,
                    _series(lambda mp, k: mp.mpf(2) ** -(k + 1) / (k + 1)),
                    lambda mp: mp.log(2)),
    ClassicSequence("Li2(0.9)", "linear", 24, LINEAR,
                    _series(lambda mp, k: mp.mpf("0.9") ** (k + 1) / (k + 1) ** 2),
                    lambda mp: mp.polylog(2, mp.mpf("0.9"))),
    # -- fixed-point iterations (linear convergence)
    ClassicSequence("x <- cos x (Dottie number)", "fixed point", 16, LINEAR,
                    _fixed_point(lambda mp, x: mp.cos(x), 1.0),
                    lambda mp: mp.findroot(lambda t: mp.cos(t) - t, 0.74)),
    ClassicSequence("x <- exp(-x) (omega constant)", "fixed point", 16, LINEAR,
                    _fixed_point(lambda mp, x: mp.exp(-x), 0.0),
                    lambda mp: mp.lambertw(1).real),
    ClassicSequence("x <- 1 + 1/(1 + x) -> sqrt 2", "fixed point",
                    12, LINEAR, _fixed_point(lambda mp, x: 1 + 1 / (1 + x), 1.0),
                    lambda mp: mp.sqrt(2)),
    # -- logarithmic convergence
    ClassicSequence("zeta(2) -> pi^2/6", "logarithmic", 24, LOGARITHMIC,
                    _series(lambda mp, k: mp.mpf(1) / (k + 1) ** 2), lambda mp: mp.pi ** 2 / 6),
    ClassicSequence("zeta(3)", "logarithmic", 24, LOGARITHMIC,
                    _series(lambda mp, k: mp.mpf(1) / (k + 1) ** 3), lambda mp: mp.zeta(3)),
    ClassicSequence("zeta(4) -> pi^4/90", "logarithmic", 20, LOGARITHMIC,
                    _series(lambda mp, k: mp.mpf(1) / (k + 1) ** 4), lambda mp: mp.pi ** 4 / 90),
    ClassicSequence("zeta(3/2)", "logarithmic", 24, ("theta",),
                    _series(lambda mp, k: mp.mpf(1) / mp.mpf(k + 1) ** mp.mpf(1.5)),
                    lambda mp: mp.zeta(mp.mpf(3) / 2)),
    ClassicSequence("sum 1/((k+1)(k+2)) -> 1", "logarithmic", 20, LOGARITHMIC,
                    _series(lambda mp, k: mp.mpf(1) / ((k + 1) * (k + 2))), lambda mp: mp.mpf(1)),
    ClassicSequence("prod (1 + 1/k^2) -> sinh(pi)/pi", "logarithmic", 24, LOGARITHMIC,
                    _product(lambda mp, k: 1 + mp.mpf(1) / (k + 1) ** 2),
                    lambda mp: mp.sinh(mp.pi) / mp.pi),
    ClassicSequence("Wallis product -> pi/2", "logarithmic", 24, LOGARITHMIC,
                    _product(lambda mp, k: mp.mpf(4 * (k + 1) ** 2) / (4 * (k + 1) ** 2 - 1)),
                    lambda mp: mp.pi / 2),
    ClassicSequence("(1 + 1/n)^n -> e", "logarithmic", 24, LOGARITHMIC,
                    lambda mp, count: [(1 + mp.mpf(1) / (n + 1)) ** (n + 1) for n in range(count)],
                    lambda mp: mp.e),
    # -- divergent, summable (the limit is the antilimit or the Borel sum)
    ClassicSequence("Euler's series sum (-1)^k k!", "divergent", 14, DIVERGENT,
                    _series(lambda mp, k: mp.mpf(-1) ** k * mp.factorial(k)),
                    lambda mp: mp.e * mp.e1(1)),
    ClassicSequence("sum (-1)^k k! 0.1^k", "divergent", 16, DIVERGENT,
                    _series(lambda mp, k: mp.mpf(-1) ** k * mp.factorial(k) * mp.mpf("0.1") ** k),
                    lambda mp: 10 * mp.exp(10) * mp.e1(10)),
    ClassicSequence("sum (-2)^k -> 1/3", "divergent", 9, ALTERNATING + ("mpe", "rre"),
                    _series(lambda mp, k: mp.mpf(-2) ** k), lambda mp: mp.mpf(1) / 3),
    ClassicSequence("mpmath test_levin_3: sum (-2)^n (4n)!/(n! (2n)! 4^n)", "divergent", 16, (),
                    _series(lambda mp, n: mp.mpf(-2) ** n * mp.factorial(4 * n)
                            / (mp.factorial(n) * mp.factorial(2 * n) * 4 ** n)),
                    lambda mp: mp.quad(lambda x: mp.exp(-x * x / 2 - 2 * x ** 4), [0, mp.inf])
                    * 2 / mp.sqrt(2 * mp.pi)),
    # -- vector sequences from linear iterations
    ClassicSequence("Jacobi-like iteration, 4 unknowns", "vector", 11, VECTOR,
                    *_linear_iteration(_JACOBI, [1.0, -2.0, 0.5, 3.0])),
    ClassicSequence("iteration with 2 distinct modes, 3 unknowns", "vector", 9, VECTOR,
                    *_linear_iteration(_TWO_MODES, [1.0, 2.0, -1.0])),
    ClassicSequence("rotation-contraction (complex modes), 2 unknowns", "vector", 9, VECTOR,
                    *_linear_iteration(_ROTATION, [1.0, 0.5])),
    ClassicSequence("non-normal iteration (Jordan-like), 3 unknowns", "vector", 13, VECTOR,
                    *_linear_iteration(_NONNORMAL, [1.0, 1.0, 1.0])),
)

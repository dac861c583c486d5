r"""Chebyshev for a certified *definite* ``H``: ``|H|^{-1} g = (sign H)^{-1} g``.

When the certificate proves every eigenvalue of ``H`` positive (or every one negative)
and lies in ``[a, b]`` (``0 < a < b``, after the sign), ``(H^2)^{-1/2} = (sign H)^{-1}``,
and :math:`t^{-1}` on ``[a, b]`` has the closed-form Chebyshev expansion (a Poisson
kernel): with :math:`t = m + h x`, :math:`m = (a + b)/2`, :math:`h = (b - a)/2`,

.. math::

    \frac{1}{m + h\cos\theta} = \frac{1}{\sqrt{ab}}\Big(1 + 2\sum_{j\ge1} (-r)^j
    \cos j\theta\Big), \qquad r = \frac{\sqrt b - \sqrt a}{\sqrt b + \sqrt a},

so ``c_j = 2 (-r)^j / sqrt(ab)`` exactly (no DCT, no aliasing). Truncating after
degree ``d`` leaves at most :math:`\sum_{j>d} |c_j| = 2 r^{d+1} / ((1 - r)\sqrt{ab})`
on ``[a, b]``; relative to :math:`1/t \ge 1/b` this is

.. math:: B_d = \frac{2 \sqrt{b/a}\; r^{d+1}}{1 - r},

and :math:`\|e(H) g\| \le \max_t |e(t)\, t|\; \|H^{-1} g\|` makes it a bound on the
relative error of the answer (exact arithmetic, spectrum in ``[a, b]``). The rate is
:math:`r \approx 1 - 2/\sqrt{\kappa(H)}` per matvec, where the expansion in ``H^2``
has :math:`\approx 1 - 2/\kappa(H)` per two matvecs: about :math:`\sqrt{\kappa}/2`
times fewer matvecs. Rounding is estimated like the ``H^2`` expansion's,
``8 eps (d + 1) A`` with ``A = min(b/a, ||g|| / (a ||x||))`` (a heuristic, part of
``converged``).

Reference: L. N. Trefethen, *Approximation Theory and Approximation Practice* (SIAM,
2013), chapter 8 (the expansion of ``1/(t - z)``).
"""

from __future__ import annotations

import math
from typing import Any

from ._chebyshev_expansion import chebyshev_sum, fusable
from .operators import Operator

__all__ = ["InverseExpansion", "expand_inverse"]


class InverseExpansion:
    """``1/t`` on ``[a, b]``: coefficients, the bound ``B_d`` and a sufficient degree."""

    def __init__(self, a: float, b: float) -> None:
        self.a, self.b = a, b
        root = math.sqrt(a / b)  # kappa^(-1/2) in (0, 1]
        self.root = root
        self.log_rho = 2.0 * math.atanh(root) if root < 1 else math.inf  # -ln r
        self.r = math.exp(-self.log_rho)
        self.one_minus_r = 2.0 * root / (1.0 + root)

    def bound(self, degree: int) -> float:
        """``B_d = 2 sqrt(b/a) r^(d+1) / (1 - r)``, relative."""
        return 2.0 / self.root * math.exp(-(degree + 1) * self.log_rho) / self.one_minus_r

    def degree(self, target: float) -> int:
        """The smallest ``d`` with ``B_d <= target``."""
        if self.log_rho == math.inf:
            return 0
        need = math.log(2.0 / (self.root * self.one_minus_r * target)) / self.log_rho - 1
        return max(0, math.ceil(need)) if need < 1e18 else 10**18

    def coefficients(self, degree: int) -> list[float]:
        """``c_0 .. c_d`` (convention ``f = c_0/2 + sum c_j T_j``), Python floats."""
        unit = 2.0 / math.sqrt(self.a) / math.sqrt(self.b)
        return [unit * (-self.r) ** j for j in range(degree + 1)]


def expand_inverse(xp: Any, H: Operator, g: Any, factor: float, a: float, b: float,
                   coefficients: list[float], dtype_max: float = math.inf, *,
                   reciprocal: bool = False, g_norm: float | None = None
                   ) -> tuple[Any, float, float]:
    """``(x, growth, ||x||)``: ``x = p(factor * H) g``, ``factor = sign / s``.

    The map onto ``[-1, 1]`` is ``L v = (factor H v - m v) / h``. With ``factor`` a
    signed power of two (in the range of
    :func:`~matfun._chebyshev_expansion.fusable`), ``L v = (H v - (m / factor) v) /
    (h / factor)`` exactly (scaling by a power of two commutes with rounding): the
    same floats with one pass over ``n`` fewer per step. ``reciprocal`` and ``g_norm``:
    see :func:`~matfun._chebyshev_expansion.chebyshev_sum`.
    """
    center, half_width = (b + a) / 2, (b - a) / 2
    if fusable(math.frexp(factor)[1] - 1, dtype_max):
        return chebyshev_sum(xp, H.matvec, -center / factor, half_width / factor, g,
                             coefficients, reciprocal=reciprocal, g_norm=g_norm)
    return chebyshev_sum(xp, lambda v: H.matvec(v) * factor, -center, half_width, g,
                         coefficients, reciprocal=reciprocal, g_norm=g_norm)

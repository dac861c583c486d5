"""The range of Chebyshev's answer: what the interval proves before, what ``x`` shows after.

An answer above ``g``'s dtype's largest float, or below its smallest normal number
(where no relative accuracy is left), is refused with
:class:`~matfun.errors.ResultRangeError` by :func:`matfun.chebyshev.chebyshev_inv_sqrt`,
as by every method of the package: never an inf, a zero or a subnormal as an answer.
"""

from __future__ import annotations

import math
from typing import Any

from ._backend import real_dtype, to_float
from .errors import ResultRangeError

__all__ = ["check_interval_range", "check_result_range"]


def check_interval_range(xp, g, log2_factor: int, g_norm_s: float, lo_s: float,
                         hi_s: float) -> None:
    r"""Raise the :class:`ResultRangeError` that the interval proves before any expansion.

    With the spectrum of :math:`H^2 + \mu I` in ``[lo, hi]``, :math:`x = (H^2 + \mu
    I)^{-1/2} g` has :math:`\|g\| / \sqrt{hi} \le \|x\| \le \|g\| / \sqrt{lo}`, and its
    largest entry lies in :math:`[\|x\| / \sqrt n, \|x\|]`. When even the smallest
    possible entry overflows ``g``'s dtype, or the largest possible one is below its
    smallest normal number, no degree can give an answer: say so now rather than after
    up to millions of matvecs. (Everything in base-2 logarithms: the caller's units can
    be far outside float64; ``x = 2^log2_factor x_s``, ``x_s`` computed from ``g_s``.)
    """
    info = xp.finfo(real_dtype(xp, g))
    log2_norm = log2_factor + math.log2(g_norm_s)
    n = int(g.shape[0])
    if math.isfinite(hi_s) and (log2_norm - 0.5 * math.log2(hi_s) - 0.5 * math.log2(n)
                                > math.log2(float(info.max))):
        raise ResultRangeError(
            f"(H^2 + mu I)^(-1/2) g is beyond the range of {g.dtype}: ||x|| >= ||g|| / "
            f"sqrt(hi) puts an entry above 2^{log2_norm - 0.5 * math.log2(hi_s * n):.0f} "
            "(known from the interval, before the expansion)")
    if lo_s > 0 and log2_norm - 0.5 * math.log2(lo_s) < math.log2(float(info.smallest_normal)):
        raise ResultRangeError(
            f"(H^2 + mu I)^(-1/2) g underflows in {g.dtype}: ||x|| <= ||g|| / sqrt(lo) = "
            f"2^{log2_norm - 0.5 * math.log2(lo_s):.0f}, below the smallest normal number "
            "(known from the interval, before the expansion)")


def check_result_range(xp: Any, g: Any, x_s: Any, factor: float) -> None:
    """Raise :class:`ResultRangeError` when ``x = factor x_s`` leaves ``g``'s dtype's range.

    The largest entry is compared in Python floats (float32 overflows long before them).
    """
    largest = to_float(xp.max(xp.abs(x_s))) * factor
    info = xp.finfo(real_dtype(xp, g))
    if not largest <= float(info.max):
        raise ResultRangeError(f"(H^2 + mu I)^(-1/2) g has an entry of about {largest:.3g}: "
                               f"beyond the range of {g.dtype}")
    if largest < float(info.smallest_normal):
        raise ResultRangeError(f"(H^2 + mu I)^(-1/2) g underflows in {g.dtype}: its "
                               "largest entry is below the smallest normal number")

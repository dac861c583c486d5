"""The range of Chebyshev's answer: what the interval proves before, what ``x`` shows after.

An answer above ``g``'s dtype's largest float, or below its smallest normal number
(where no relative accuracy is left), is refused with
:class:`~matfun.errors.ResultRangeError` by :func:`matfun.chebyshev.chebyshev_inv_sqrt`,
as by every method of the package: never an inf, a zero or a subnormal as an answer.
"""

from __future__ import annotations

import math
from typing import Any

from ._backend import to_float
from .errors import ResultRangeError

__all__ = ["check_interval_range", "check_result_range", "norm_proves_range"]


def check_interval_range(finfo, g, log2_factor: int, g_norm_s: float, lo_s: float,
                         hi_s: float) -> None:
    r"""Raise the :class:`ResultRangeError` that the interval proves before any expansion.

    With the spectrum of :math:`H^2 + \mu I` in ``[lo, hi]``, :math:`x = (H^2 + \mu
    I)^{-1/2} g` has :math:`\|g\| / \sqrt{hi} \le \|x\| \le \|g\| / \sqrt{lo}`, and its
    largest entry lies in :math:`[\|x\| / \sqrt n, \|x\|]`. When even the smallest
    possible entry overflows ``g``'s dtype, or the largest possible one is below its
    smallest normal number, no degree can give an answer: say so now rather than after
    up to millions of matvecs. (Everything in base-2 logarithms: the caller's units can
    be far outside float64; ``x = 2^log2_factor x_s``, ``x_s`` computed from ``g_s``.)
    ``finfo`` is ``xp.finfo`` of ``g``'s real dtype.
    """
    log2_norm = log2_factor + math.log2(g_norm_s)
    n = int(g.shape[0])
    if math.isfinite(hi_s) and (log2_norm - 0.5 * math.log2(hi_s) - 0.5 * math.log2(n)
                                > math.log2(float(finfo.max))):
        raise ResultRangeError(
            f"(H^2 + mu I)^(-1/2) g is beyond the range of {g.dtype}: ||x|| >= ||g|| / "
            f"sqrt(hi) puts an entry above 2^{log2_norm - 0.5 * math.log2(hi_s * n):.0f} "
            "(known from the interval, before the expansion)")
    if lo_s > 0 and log2_norm - 0.5 * math.log2(lo_s) < math.log2(float(finfo.smallest_normal)):
        raise ResultRangeError(
            f"(H^2 + mu I)^(-1/2) g underflows in {g.dtype}: ||x|| <= ||g|| / sqrt(lo) = "
            f"2^{log2_norm - 0.5 * math.log2(lo_s):.0f}, below the smallest normal number "
            "(known from the interval, before the expansion)")


def check_result_range(xp: Any, finfo, x_s: Any, factor: float, x_norm: float) -> None:
    r"""Raise :class:`ResultRangeError` when ``x = factor x_s`` leaves its dtype's range.

    ``x_norm`` is the computed :math:`\|x_s\|` (the expansion computes it anyway). Where
    it proves every entry in range (:func:`norm_proves_range`) nothing more is read;
    otherwise the largest entry decides, compared in Python floats (float32 overflows
    long before them). ``finfo`` is ``xp.finfo`` of ``x_s``'s real dtype.
    """
    n = int(x_s.shape[0])
    if norm_proves_range(x_norm, factor, n, float(finfo.eps), float(finfo.max),
                         float(finfo.smallest_normal)):
        return
    largest = to_float(xp.max(xp.abs(x_s))) * factor
    if not largest <= float(finfo.max):
        raise ResultRangeError(f"(H^2 + mu I)^(-1/2) g has an entry of about {largest:.3g}: "
                               f"beyond the range of {x_s.dtype}")
    if largest < float(finfo.smallest_normal):
        raise ResultRangeError(f"(H^2 + mu I)^(-1/2) g underflows in {x_s.dtype}: its "
                               "largest entry is below the smallest normal number")


def norm_proves_range(norm: float, factor: float, n: int, eps: float, largest: float,
                      smallest: float) -> bool:
    r"""Whether a computed ``||x||`` proves every entry of ``factor x`` in the dtype's range.

    The range: :math:`\epsilon_{min} \le factor \max_i |x_i| \le` ``largest``
    (:math:`\epsilon_{min}` = ``smallest``, the dtype's smallest normal number).
    ``norm`` is any floating-point evaluation of :math:`\sqrt{\sum_i |x_i|^2}` in the
    dtype of ``x`` (``n`` entries, at most :math:`m = 2n` real squares; any summation
    order): :math:`S = (\sum_i |x_i|^2 + E)(1 + \theta)` with :math:`|\theta| \le
    (m + 1) u / (1 - (m + 1) u)`, ``u = eps / 2``, and :math:`|E| \le 2 m\,
    \epsilon_{min}` for the squares and partial sums in the subnormal range (flushed to
    zero or not). When :math:`m\, eps \le 1/8` and ``norm^2 >= 8 m smallest`` this gives
    :math:`0.78\, norm \le \|x\| \le 1.2\, norm`, and with
    :math:`\|x\| / \sqrt n \le \max_i |x_i| \le \|x\|`, the tests
    ``2 norm factor <= largest`` and ``norm factor >= 2 sqrt(n) smallest`` prove the
    range (a finite ``norm`` also proves every entry finite: IEEE reductions carry a
    NaN/inf). ``False`` means "not proven": the caller reads the entries.

    Examples
    --------
    >>> eps, big, tiny = 2.0**-52, 1.7976931348623157e308, 2.0**-1022
    >>> norm_proves_range(3.0, 1.0, 1000, eps, big, tiny)
    True
    >>> norm_proves_range(3.0, 1e308, 1000, eps, big, tiny)  # maybe beyond the range
    False
    """
    m = 2 * n
    return bool(m * eps <= 0.125 and math.isfinite(norm) and norm * norm >= 8 * m * smallest
                and 2 * norm * factor <= largest
                and norm * factor >= 2 * math.sqrt(n) * smallest)

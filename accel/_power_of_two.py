"""Exact rescaling by powers of two: the units every table and check works in.

Multiplying by ``2**e`` changes no significand (it is exact wherever nothing
overflows or underflows), so the transforms can run in units where no norm,
square or inverse leaves the dtype's range and the result be mapped back
(:mod:`accel._honest`, the streaming tables of :mod:`accel.epsilon_stream`).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["power_of_two_exponent", "scale_by_power_of_two"]


def power_of_two_exponent(value: float) -> int:
    """``e`` with ``2**(e-1) <= value < 2**e`` for a positive finite ``value``."""
    return math.frexp(value)[1]


def scale_by_power_of_two(x: Any, exponent: int) -> Any:
    """``x * 2**exponent``, exact, in two halves so no factor overflows the dtype.

    (``2**exponent`` itself may not be representable in float16 or float32 while
    each half is.)
    """
    if exponent == 0:
        return x
    first = exponent // 2
    second = exponent - first
    if not first:
        return x * (2.0 ** second)
    x = x * (2.0 ** first)
    if second:
        x *= 2.0 ** second  # a fresh array: in place where the backend allows
    return x

"""Validation of scalar options at the public boundary, shared by every module."""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["check_real", "check_tolerances", "positive_integer", "power_of_two"]


def check_real(value: Any, name: str) -> float:
    """``value`` as a finite Python float; a clear error naming ``name`` otherwise.

    Booleans and strings are refused (``float(True)`` and ``float("1")`` would
    hide a mistake).
    """
    if isinstance(value, bool | str | bytes):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def positive_integer(value: Any, name: str) -> int:
    """``value`` as a Python int ``>= 1``: Python and NumPy integers, not bools or floats."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# Below this many machine epsilons of the working dtype no method can reach a relative
# error: rounding in one matvec and one vector update already costs a few eps.
_MIN_RTOL_EPS = 10


def check_tolerances(rtol: Any, atol: Any, *, eps: float, default_rtol: float | None = None
                     ) -> tuple[float, float]:
    """``(rtol, atol)`` checked: the stopping test ``error <= atol + rtol * ||x||``.

    SciPy's convention for iterative solvers. ``rtol=None`` takes ``default_rtol``;
    both must be finite and non-negative, not both zero, and a positive ``rtol``
    below ``10 eps`` of the working dtype (``eps``) is refused at once: no method can
    reach it, and a loop chasing it would run to its budget (or forever).

    Raises
    ------
    TypeError
        For a non-number.
    ValueError
        Naming the argument, for a negative, non-finite or unattainable tolerance.
    """
    if rtol is None:
        if default_rtol is None:
            raise ValueError("rtol must be given")
        rtol = default_rtol
    rtol, atol = check_real(rtol, "rtol"), check_real(atol, "atol")
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value!r}")
    if rtol == 0 and atol == 0:
        raise ValueError("rtol and atol are both zero: give a positive rtol or atol")
    if 0 < rtol < _MIN_RTOL_EPS * eps:
        raise ValueError(
            f"rtol = {rtol:.3g} is below what the working precision can reach "
            f"({_MIN_RTOL_EPS} eps = {_MIN_RTOL_EPS * eps:.3g}); use rtol >= "
            f"{_MIN_RTOL_EPS * eps:.3g} or a wider dtype"
        )
    return rtol, atol


def power_of_two(value: float) -> float:
    """The power of two nearest above ``|value|`` (``value`` finite, nonzero).

    Dividing by it is exact in binary floating point: the way to rescale data of
    any magnitude to about 1 before norms, squares or inner products.
    """
    return math.ldexp(1.0, math.frexp(value)[1])

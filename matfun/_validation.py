"""Validation of scalar options at the public boundary, shared by every module."""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["check_real", "positive_integer"]


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

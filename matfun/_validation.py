"""Validation of scalar options at the public boundary, shared by every module."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["check_real"]


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

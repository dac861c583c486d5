"""Validation of scalar options at the public boundary, shared by every module."""

from __future__ import annotations

import math
import numbers
from typing import Any

from ._backend import as_vector, max_abs

__all__ = [
    "check_callable",
    "check_choice",
    "check_flag",
    "check_integer",
    "check_nonnegative",
    "check_positive",
    "check_real",
    "check_tolerances",
    "check_vector",
    "magnitude_unit",
    "positive_integer",
    "positive_number",
    "power_of_two",
]


# What float() would accept but hides a mistake (a tuple: no union object made a call).
_NOT_NUMBERS = (bool, str, bytes)


def check_real(value: Any, name: str) -> float:
    """``value`` as a finite Python float; a clear error naming ``name`` otherwise.

    Booleans and strings are refused (``float(True)`` and ``float("1")`` would
    hide a mistake).
    """
    if type(value) is float:  # the common case: already a Python float
        number = value
    elif isinstance(value, _NOT_NUMBERS):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    else:
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
    """The largest power of two not above ``|value|`` (``value`` finite, nonzero).

    Dividing by it is exact in binary floating point and brings ``|value|`` into
    ``[1, 2)``: the way to rescale data of any magnitude before norms, squares or
    inner products. Being at most ``|value|`` (and at least the smallest subnormal
    number when ``value`` is one), it is representable in the dtype that holds
    ``value`` -- float32 included, whose largest entries would otherwise ask for
    ``2**128``, which float32 cannot hold.

    Examples
    --------
    >>> power_of_two(3.0), power_of_two(-0.25), power_of_two(1e308)
    (2.0, 0.25, 8.98846567431158e+307)
    """
    return math.ldexp(1.0, math.frexp(value)[1] - 1)


def magnitude_unit(xp: Any, x: Any) -> float:
    """:func:`power_of_two` of ``max |x_i|``, or 1 for an all-zero ``x``.

    The exact rescaling factor of an array (one host synchronisation: a decision).
    """
    largest = float(max_abs(xp, x))  # one compiled kernel on JAX
    return power_of_two(largest) if largest > 0 else 1.0


# The validators below complete the one validation layer: every public function
# normalises its scalars through them at entry (SciPy's ``_..._iv`` pattern), and
# vectors through ``check_vector``, operators through ``matfun.as_operator``.


def check_integer(value: Any, name: str, *, minimum: int = 0, maximum: int | None = None
                  ) -> int:
    """``value`` as a Python int in ``[minimum, maximum]``: Python and NumPy integers.

    Booleans, floats (even ``3.0``), strings and ``None`` are a ``TypeError``; an
    integer out of range a ``ValueError``, both naming ``name``. ``maximum`` guards
    sizes that would exhaust memory or time before doing anything useful.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")
    return number


def check_flag(value: Any, name: str) -> bool:
    """``value`` as a bool: ``True``/``False`` (NumPy booleans too), nothing else."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of the strings ``choices``; a ``ValueError`` naming ``name``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_callable(value: Any, name: str) -> Any:
    """``value`` if callable; a ``TypeError`` naming ``name`` otherwise."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    return value


def check_positive(value: Any, name: str) -> float:
    """A finite float ``> 0`` (see :func:`check_real`)."""
    number = check_real(value, name)
    if not number > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return number


def positive_number(value: Any, name: str) -> float:
    """A finite float ``> 0``, with the scale options' messages ("must be a positive number").

    Booleans and strings are refused, as in :func:`check_real`.
    """
    if isinstance(value, _NOT_NUMBERS):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive number, got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return number


def check_nonnegative(value: Any, name: str) -> float:
    """A finite float ``>= 0`` (see :func:`check_real`)."""
    number = check_real(value, name)
    if not number >= 0:
        raise ValueError(f"{name} must be non-negative, got {value!r}")
    return number


def check_vector(value: Any, name: str = "g") -> tuple[Any, Any]:
    """``(xp, value)``: a finite, non-empty 1-D numeric array (integers promoted).

    The one vector check (:func:`matfun._backend.as_vector`), errors naming ``name``.
    """
    return as_vector(value, name)

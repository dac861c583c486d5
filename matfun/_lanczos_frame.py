"""The scaled frame of a Lanczos ``f(H) g`` run: checks at the door, targets, assembly.

The process runs on ``H / s`` from ``g / d`` (:mod:`matfun._lanczos`); these helpers
convert between that frame and the user's: the relative target of ``atol``, the
Ritz values against the user's ``bounds``, and ``x = d s^p Q_k y`` at the end.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from array_api_compat import device as array_device

from ._lanczos import LanczosProcess
from ._lanczos_checks import Check
from ._validation import check_real, positive_integer

__all__ = ["assemble", "check_bounds", "check_budget", "check_ritz_values", "extremes",
           "halfway", "relative_target", "spacing"]

_EVERY_STEP_UNTIL = 32


def spacing(steps: int, size: int) -> int:
    """Steps to the next check: ``k // 32`` (overshoot below 4%), and at least ``8 k / n``.

    The second keeps the ``O(k^2)`` checks a fraction of the ``O(k n)`` steps on small
    operators.
    """
    return max(1, steps // _EVERY_STEP_UNTIL, (8 * steps) // size)


def relative_target(check: Check, rtol: float, atol: float, process: LanczosProcess,
                    function: Any) -> float:
    """The relative tolerance ``rtol + atol / ||x||`` at this check (``||x||`` unscaled)."""
    if atol == 0 or check.coefficients is None:
        return rtol
    size = float(np.linalg.norm(check.coefficients))
    if size == 0:
        return rtol
    # ||x|| = d s^p ||y||, in logarithms (it may be out of range while x is not).
    log_size = (math.log(size) if size > 0 else -math.inf) + math.log(process.start_scale) + (
        function.degree * math.log(process.scale) if function.degree is not None else 0.0)
    return rtol + math.exp(min(700.0, math.log(atol) - log_size))


def check_ritz_values(check: Check, bounds: tuple[float, float] | None,
                      process: LanczosProcess) -> None:
    """Raise ``ValueError`` when a Ritz value proves the user's ``b`` too small."""
    if bounds is None:
        return
    largest = float(np.max(np.abs(check.ritz))) * process.scale
    if largest > bounds[1] * (1 + 10 * check.steps * process.eps):
        raise ValueError(f"bounds = {bounds} is wrong: H has a Ritz value of magnitude "
                         f"{largest:.6g} > b (Ritz values lie within the spectrum)")


def extremes(check: Check, scale: float) -> tuple[float, float]:
    """``min |theta|`` and ``max |theta|`` of ``H`` (not ``H / s``)."""
    magnitudes = np.abs(check.ritz)
    return float(np.min(magnitudes)) * scale, float(np.max(magnitudes)) * scale


def assemble(xp: Any, process: Any, coefficients: np.ndarray, g: Any,
              function: Any) -> Any:
    """``x = d s^p Q_k y``: the factor applied in two halves (each in range if x is)."""
    # Zero-padded on the host to the process' buffer length (fixed shapes on JAX).
    padded = np.zeros(process.weight_length(coefficients.shape[0]), dtype=coefficients.dtype)
    padded[: coefficients.shape[0]] = coefficients
    weights = xp.asarray(padded, dtype=g.dtype, device=array_device(g))
    x = process.combination(weights)
    exponent = math.frexp(process.start_scale)[1] - 1
    factor = 1.0
    if function.degree is not None:
        power = function.degree * (math.frexp(process.scale)[1] - 1)
        exponent += math.floor(power)
        factor = 2.0 ** (power - math.floor(power))
    half = exponent // 2
    if factor != 1.0:
        x = x * factor
    with warnings.catch_warnings():  # an overflow is reported by the caller's check
        warnings.simplefilter("ignore", RuntimeWarning)
        return (x * math.ldexp(1.0, half)) * math.ldexp(1.0, exponent - half)


def check_bounds(bounds: Any, function: Any) -> tuple[float, float] | None:
    if bounds is None:
        return None
    if not isinstance(bounds, tuple | list) or len(bounds) != 2:
        raise ValueError(f"bounds must be a pair (a, b) with 0 < a <= b, got {bounds!r}")
    a, b = check_real(bounds[0], "bounds[0]"), check_real(bounds[1], "bounds[1]")
    if not 0 < a <= b:
        raise ValueError(f"bounds must be a pair (a, b) with 0 < a <= b, got {bounds!r}")
    if function.bound is None:
        raise ValueError(f"bounds give a guaranteed error bound only for 'inv', 'inv_abs', "
                         f"'inv_sqrt_abs' and ('abs_power', alpha) with 0 < alpha < 2; "
                         f"f = {function.name} has none")
    return a, b


def check_budget(max_matvecs: int | None, size: int) -> int:
    if max_matvecs is None:
        return size
    return positive_integer(max_matvecs, "max_matvecs")


def halfway(previous: Check, latest: Check, limit: float) -> int:
    """Half the steps the screened bound's geometric rate needs to reach ``limit``.

    0 when it does not decrease; at most ``k // 4`` (a bound can drop faster later,
    when a Ritz value settles: waiting half the prediction keeps the overshoot small).
    """
    if not (0 < latest.bound < previous.bound and math.isfinite(previous.bound)):
        return 0
    rate = math.log(previous.bound / latest.bound) / (latest.steps - previous.steps)
    needed = math.log(latest.bound / limit) / rate if latest.bound > limit else 0.0
    return int(min(needed / 2, latest.steps // 4))

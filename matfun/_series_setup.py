"""Entry normalisation of the named series: options checked, data rescaled, spec built.

Everything a public series function needs before its first matvec: the options are
checked (no matvec is spent on a call that then fails), the vector and operator are
rescaled by powers of two (:mod:`matfun._units`), and the damping, scale and
tolerances are expressed in the normalised units.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._backend import as_vector, max_abs, namespace, to_float
from ._driver import Stopping, check_stopping
from ._eigen import DAMPING_KINDS
from ._engine import SeriesInfo, SeriesSpec
from ._units import (
    log2_unit,
    normalise_vector,
    probe_unit,
    scaled_operator,
    two_to,
    unscaled_products,
)
from ._validation import check_real, positive_integer, positive_number, power_of_two
from .coefficients import abs_damped_coefficients, binomial_coefficients
from .errors import SeriesRangeError
from .operators import Operator, as_operator, shift, square
from .scaling import SCALE_STRATEGIES, resolve_scale
from .spectrum import spectral_radius

__all__ = ["DAMPING_KINDS", "Normalised", "check_damping", "check_options", "is_zero",
           "operator_and_vector", "setup_inv_sqrt", "setup_spd", "zero_result"]

_SQUARE_HINT = (
    "Use scale='adaptive' (safe), a Lanczos estimate (scale='lanczos'), or a fixed V above "
    "lambda_max(H)^2 / 2."
)


@dataclass(frozen=True)
class Normalised:
    """A series ready to run on normalised data, and the units to report in."""

    spec: SeriesSpec
    g: Any
    rule: Any
    output_unit: float
    scale_unit: float
    operator_unit: float


def operator_and_vector(op: Any, g: Any) -> tuple[Operator, Any]:
    _, g = as_vector(g, "g")
    return as_operator(op, like=g, name="op"), g


def check_options(g: Any, terms, rtol, atol, max_terms, order, callback, max_matvecs,
                  scale, initial_scale) -> tuple[Stopping, int, int | None]:
    """Validate the options before any matvec is spent (a scale estimate spends some)."""
    xp = namespace(g)
    stopping = check_stopping(terms, rtol, atol, max_terms, float(xp.finfo(g.dtype).eps))
    order = positive_integer(order, "order")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    if max_matvecs is not None:
        max_matvecs = positive_integer(max_matvecs, "max_matvecs")
    _check_scale(scale)
    positive_number(initial_scale, "initial_scale")
    return stopping, order, max_matvecs


def check_damping(damping: Any, kind: Any) -> float:
    if not isinstance(kind, str) or kind not in DAMPING_KINDS:
        raise ValueError(f"damping_kind must be one of {DAMPING_KINDS}, got {kind!r}")
    lam = check_real(damping, "damping")
    if lam < 0:
        raise ValueError(f"damping must be a non-negative finite number, got {damping!r}")
    return lam


def is_zero(g: Any) -> bool:
    xp = namespace(g)
    return to_float(max_abs(xp, g)) == 0.0  # decision: exact zero (a norm could underflow)


def zero_result(g: Any, rule_name: str, full_output: bool) -> Any:
    """``f(A) 0 = 0``: no term, no matvec. ``info.scale`` is 0: no V was chosen."""
    x = 0.0 * g
    if not full_output:
        return x
    info = SeriesInfo(terms=0, matvecs=0, scale=0.0, scale_strategy=rule_name,
                      restarts=0, stopped_by="exact", converged=True, diverged=False,
                      relative_change=0.0, error_estimate=0.0, normalised_scale=0.0)
    return x, info


def setup_inv_sqrt(H: Operator, g: Any, scale, initial_scale, lam: float, kind: str
                   ) -> Normalised:
    r"""The saddle-free series on ``H / c``, ``g / d`` (``g != 0``).

    ``c`` is a power of two near ``||H g|| / ||g||`` (one probe matvec, reused as the
    series' first product) or near ``sqrt(V)`` for a fixed ``V``; it is raised to
    cover the damping so that ``(H + lam)^2`` cannot overflow either.
    """
    g_n, d = normalise_vector(g)
    probe = None
    if isinstance(scale, str):
        c, probe = _unit(H, g_n, scale)
    else:
        c = power_of_two(math.sqrt(positive_number(scale, "scale")))
    if lam:
        c = max(c, power_of_two(math.sqrt(lam) if kind == "square" else lam))
    e_c = log2_unit(c)
    c_squared = two_to(2 * e_c)
    lam_n = math.ldexp(lam, -2 * e_c) if kind == "square" else lam / c
    extra = lam_n if kind == "square" else 0.0
    shifted = kind == "shift" and lam_n
    unit = 1.0
    deferred = None
    if not shifted and not extra and _fusable(e_c, g_n):
        # A = (H / c)^2 served as H (H v) = c^2 A v: no division per product (see _fusable).
        H_n = scaled_operator(H, c)  # scale estimates only
        A, unit = unscaled_products(H, g_n, probe, squared=True), c_squared
        deferred = _deferred_square(H)
        base = H_n
    else:
        H_n = scaled_operator(H, c, g_n, probe)
        base = shift(H_n, lam_n) if shifted else H_n
        A = shift(square(base), extra) if extra else square(base)
    coefficients: Callable = lambda V, n: binomial_coefficients(0.5, n)  # noqa: E731
    if kind == "abs" and lam_n:
        coefficients = lambda V, n: abs_damped_coefficients(lam_n / V**0.5, n)  # noqa: E731
    spec = SeriesSpec("inv_sqrt_series", A, coefficients, lambda V: V**-0.5, _SQUARE_HINT,
                      positive=True, unit=unit, deferred=deferred)
    # V_0 only matters for the paper's rule; elsewhere it is checked but unused.
    initial = _in_units(initial_scale, e_c, 2, "initial_scale") if scale == "paper" else 1.0
    rule = resolve_scale(
        scale if isinstance(scale, str) else _in_units(scale, e_c, 2, "scale"),
        initial_scale=initial,
        estimate_radius=lambda method: _radius(base, g_n, method) ** 2 + extra,
        frobenius_bound=lambda: _frobenius(H, c, lam_n if base is not H_n else 0.0) ** 2
        + extra,
    )
    d_exp = log2_unit(d)
    return Normalised(spec, g_n, rule, two_to(d_exp - e_c, "the result's unit d/c"),
                      c_squared, c)


def setup_spd(H: Operator, g: Any, scale, power: float, name: str,
              coefficients: Callable, prefactor: Callable, hint: str) -> Normalised:
    """A series of ``A = H`` (Neumann, binomial) on ``H / c``, ``g / d``; ``x ~ c^power``."""
    g_n, d = normalise_vector(g)
    probe = None
    if isinstance(scale, str):
        c, probe = _unit(H, g_n, scale)
    else:
        c = power_of_two(positive_number(scale, "scale"))
    e_c = log2_unit(c)
    if _fusable(e_c, g_n):  # A = H / c served as H v = c A v (see _fusable)
        H_n = scaled_operator(H, c)  # scale estimates only
        products = unscaled_products(H, g_n, probe, squared=False)
        spec = SeriesSpec(name, products, coefficients, prefactor, hint, unit=c,
                          deferred=_deferred_plain(H))
    else:
        H_n = scaled_operator(H, c, g_n, probe)
        spec = SeriesSpec(name, H_n, coefficients, prefactor, hint)
    rule = resolve_scale(
        scale if isinstance(scale, str) else _in_units(scale, e_c, 1, "scale"),
        initial_scale=1.0,
        estimate_radius=lambda method: _radius(H_n, g_n, method),
        frobenius_bound=lambda: _frobenius(H, c),
    )
    return Normalised(spec, g_n, rule,
                      two_to(log2_unit(d) + power * e_c, "the result's unit d c^p"), c, c)


def _unit(H: Operator, g_n: Any, scale: Any) -> tuple[float, Any]:
    """``(c, H g or None)``: the operator's unit from a probe, or free for dense Frobenius."""
    if scale == "frobenius" and H.array is not None:
        xp = namespace(H.array)
        return power_of_two(to_float(xp.max(xp.abs(H.array)))), None  # decision: the unit
    return probe_unit(H, g_n)


def _in_units(value: Any, e_c: int, power: int, name: str) -> float:
    """``value / c**power`` in normalised units; a clear error when out of range."""
    try:
        result = math.ldexp(positive_number(value, name), -power * e_c)
    except OverflowError:
        result = math.inf
    if not (math.isfinite(result) and result > 0):
        raise SeriesRangeError(
            f"{name} = {value!r} is out of float64's range relative to the operator's norm "
            f"(about 2^{e_c}); give a value comparable to ||H||^{power}")
    return result


def _check_scale(scale: Any) -> None:
    if isinstance(scale, str):
        if scale not in SCALE_STRATEGIES:
            raise ValueError(
                f"scale must be a positive number or one of {SCALE_STRATEGIES}, got {scale!r}")
        return
    positive_number(scale, "scale")


def _fusable(e_c: int, g: Any) -> bool:
    """Whether the series may take unscaled products ``H (H v) = c^2 (H/c)^2 v``.

    Within ``c = 2^(+-E/16)`` (``2^E`` the dtype's largest power: ``2^64`` in float64,
    ``2^8`` in float32) the products and the squares in their norms, at most ``c^4``
    times those of the normalised run, neither overflow nor underflow (entries of ``v`` about
    1), so the series divides by ``c^2`` (or ``c``) once in its recurrence: the same
    numbers (powers of two scale exactly), one pass over ``n`` fewer per matvec. Beyond,
    each product is divided by ``c`` as it comes (what the rescaling is for).
    """
    xp = namespace(g)
    return 16 * abs(e_c) <= math.frexp(float(xp.finfo(g.dtype).max))[1]


def _deferred_square(H: Operator) -> Callable[[Any], tuple[Any, Callable[[], None]]]:
    """``v -> (H (H v), confirm)`` (``SeriesSpec.deferred``): ``Operator._square_deferred``.

    The bound method itself: no layer between the series' loop and the operator.
    """
    return H._square_deferred


def _deferred_plain(H: Operator) -> Callable[[Any], tuple[Any, Callable[[], None]]]:
    """``v -> (H v, confirm)`` (``SeriesSpec.deferred``)."""

    def deferred(v: Any) -> tuple[Any, Callable[[], None]]:
        product = H._product(v)
        return product, functools.partial(H._confirm, v, product)

    return deferred


def _radius(op: Operator, g: Any, method: str) -> float:
    return spectral_radius(op, like=g, method=method).upper


def _frobenius(op: Operator, unit: float, shift_by: float = 0.0) -> float:
    """``||H / unit + shift_by I||_F`` of the dense matrix (normalised units)."""
    if op.array is None:
        raise TypeError("scale='frobenius' needs a dense matrix operator; got a matvec-only "
                        "operator (use scale='adaptive' or 'lanczos')")
    xp = namespace(op.array)
    matrix = op.array / unit
    if shift_by:
        matrix = matrix + shift_by * xp.eye(op.size, dtype=matrix.dtype)
    return to_float(xp.linalg.matrix_norm(matrix, ord="fro"))

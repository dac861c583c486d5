r"""Exact rescaling of a series' operator and vector to entries about 1.

The series are homogeneous: :math:`|cH|^{-1} (d g) = (d/|c|) |H|^{-1} g`,
:math:`(cA)^{-1} (d g) = (d/c) A^{-1} g`, :math:`(cA)^p (d g) = c^p d A^p g`. With
``c`` and ``d`` powers of two (:func:`matfun._validation.power_of_two`) dividing by
them is exact, so a series run on ``H / c`` and ``g / d`` computes the same numbers
as on the caller's data, only without overflow in ``H^2``, ``V`` or the norms
(``||H^2 g||`` overflows float64 once ``||H|| > 1e154``) and without underflow for
tiny data.
"""

from __future__ import annotations

import math
from typing import Any

from ._backend import is_lazy, max_abs, namespace, norm, to_float
from ._validation import power_of_two
from .errors import SeriesRangeError
from .operators import Operator

__all__ = ["normalise_vector", "probe_unit", "scaled_operator", "unscaled_products", "log2_unit",
           "two_to"]


def normalise_vector(g: Any) -> tuple[Any, float]:
    """``(g / d, d)`` with ``d`` the power of two above ``max |g|`` (``g != 0``)."""
    xp = namespace(g)
    largest = to_float(max_abs(xp, g))  # decision: the unit
    unit = power_of_two(largest)
    return g / unit, unit


def probe_unit(op: Operator, g: Any) -> tuple[float, Any]:
    """``(c, H g)``: a power of two near ``||H g|| / ||g||`` from one matvec (``g`` ~ 1).

    The product is returned so that the series' first product reuses it (no matvec
    is spent twice). ``c = 1`` when ``H g = 0``.
    """
    xp = namespace(g)
    product = op.matvec(g)
    largest = to_float(xp.max(xp.abs(product)))  # decision: the unit
    if largest == 0.0:
        return 1.0, product
    inner_unit = power_of_two(largest)
    ratio_norm = to_float(norm(xp, product / inner_unit)) / to_float(norm(xp, g))
    exponent = math.frexp(ratio_norm)[1] + math.frexp(inner_unit)[1] - 1
    return math.ldexp(1.0, max(-1074, min(exponent, 1023))), product


def scaled_operator(op: Operator, unit: float, g: Any = None, product: Any = None) -> Operator:
    """``H / unit`` sharing ``op``'s matvec counter; ``H g`` is served from ``product`` once."""
    cache = {"vector": g if product is not None else None, "product": product}

    def recipe(base: Operator) -> Any:
        def apply(v: Any) -> Any:
            if cache["vector"] is not None and _same_vector(v, cache["vector"]):
                result = cache["product"]
                cache["vector"] = cache["product"] = None
            else:
                result = base.matvec(v)
            return result / unit if unit != 1.0 else result

        return apply

    return op._derived(recipe, op.name if unit == 1.0 else f"{op.name} / {unit:.3g}")


def unscaled_products(op: Operator, g: Any, product: Any, squared: bool) -> Operator:
    """``H v`` (``squared``: ``H (H v)``) in one layer; ``H g`` served from ``product`` once.

    What the series takes instead of ``(H / c)^2`` when it divides by ``c^2`` itself
    (``matfun._series_setup._fusable`` decides when that is exact): no division, and one
    Python layer per product instead of three.
    """
    cache = {"vector": g if product is not None else None, "product": product}

    def recipe(base: Operator) -> Any:
        def inner(v: Any) -> Any:
            if cache["vector"] is not None and _same_vector(v, cache["vector"]):
                result = cache["product"]
                cache["vector"] = cache["product"] = None
                return result
            return base.matvec(v)

        def square(v: Any) -> Any:
            first = inner(v)
            result = base.matvec(first)
            base._check_square(v, first, result)  # once: H is symmetric (matfun._symmetry)
            return result

        return square if squared else inner

    return op._derived(recipe, f"({op.name})^2" if squared else op.name)


def _same_vector(v: Any, w: Any) -> bool:
    """``v is w``, or for Dask the same keys (``settle`` returns a new object of them)."""
    return v is w or (is_lazy(v) and is_lazy(w) and v.name == w.name)


def log2_unit(unit: float) -> int:
    """``e`` with ``unit = 2**e`` (``unit`` a power of two)."""
    return math.frexp(unit)[1] - 1


def two_to(exponent: float, name: str | None = None) -> float:
    """``2**exponent`` as a float; past float64's range ``inf``, or an error naming ``name``."""
    try:
        whole = math.floor(exponent)  # an infinite exponent overflows here already
        return math.ldexp(2.0 ** (exponent - whole), whole)
    except OverflowError:
        if exponent < 0:
            return 0.0
        if name is None:
            return math.inf
        raise SeriesRangeError(
            f"{name} overflows float64 (2^{exponent:.0f}): the answer cannot be "
            "represented") from None

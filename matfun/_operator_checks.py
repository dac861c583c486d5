"""What a product of the user's matvec must be: same library, shape, dtype; finite.

Private helper of :mod:`matfun.operators`: :func:`validated_product` is the check
:meth:`matfun.Operator.matvec` runs on every product (``check=True``), and
:func:`raise_non_finite` the one error for a NaN/inf, which blames the vector when the
vector was already bad. The deferred checks (:mod:`matfun._operator_deferred`) raise
the same error through it.
"""

from __future__ import annotations

from typing import Any, NoReturn

from ._backend import all_finite, namespace, result_float_dtype
from ._operator_forms import is_array

__all__ = ["raise_non_finite", "validated_product"]


def validated_product(name: str, size: int, v: Any, result: Any) -> Any:
    """``result = H v`` checked, the product of an integer (or bool) ``v`` cast to floating.

    Raises ``TypeError`` for a product of another library, a complex product of a real
    vector, or a product coarser than a floating ``v`` (integers, or float32 for a
    float64 vector: :func:`_check_precision`), ``ValueError`` for a wrong shape or a
    NaN/inf entry (see :func:`raise_non_finite`).

    Examples
    --------
    >>> import numpy as np
    >>> validated_product("H", 2, np.array([1, 1]), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    if type(result) is type(v) and result.shape == v.shape and result.dtype == v.dtype:
        # The common case, same library, shape and dtype: only finiteness is left
        # to check (the type tests below cost more than the check itself).
        if not all_finite(namespace(result), result):
            raise_non_finite(name, v)
        return result
    xp = namespace(v)
    # array_namespace skips None and Python scalars, so test for an array first.
    if not is_array(result):
        raise TypeError(
            f"{name}: matvec returned {type(result).__name__} for a "
            f"{type(v).__name__} input; it must return an array of the same library"
        )
    try:
        namespace(v, result)
    except TypeError:
        raise TypeError(
            f"{name}: matvec returned {type(result).__name__} for a "
            f"{type(v).__name__} input; it must return an array of the same library"
        ) from None
    if tuple(result.shape) != (size,):
        raise ValueError(
            f"{name}: matvec returned shape {tuple(result.shape)}, expected ({size},)"
        )
    if result.dtype != v.dtype:
        if xp.isdtype(result.dtype, "complex floating") and not xp.isdtype(
            v.dtype, "complex floating"
        ):
            raise TypeError(
                f"{name}: matvec returned complex values for a real vector; "
                "pass a complex vector"
            )
        if xp.isdtype(v.dtype, ("real floating", "complex floating")):
            _check_precision(xp, name, v, result)
        # An integer (or bool) vector gets a floating product, never a rounded one.
        result = xp.astype(result, result_float_dtype(xp, v))
    if not all_finite(xp, result):
        raise_non_finite(name, v)
    return result


def _check_precision(xp: Any, name: str, v: Any, result: Any) -> None:
    """``TypeError`` for a product of a floating ``v`` rounded coarser than ``v``.

    An integer product was rounded to integers; a float32 product of a float64 vector
    carries float32's rounding (``eps = 1.2e-7``) into every answer, while the
    stopping rules reason in float64 and would report a convergence the data cannot
    have (measured: Lanczos "converged" with error estimate 0 and relative error
    5.7e-6 against ``rtol = 1e-10``; Chebyshev 1.2e-4 after 22,144 matvecs).
    """
    if not xp.isdtype(result.dtype, ("real floating", "complex floating")):
        raise TypeError(f"{name}: matvec returned {result.dtype} values for a {v.dtype} "
                        "vector (rounded to integers); it must return floating values")
    if float(xp.finfo(result.dtype).eps) > float(xp.finfo(v.dtype).eps):
        raise TypeError(f"{name}: matvec returned {result.dtype} values for a {v.dtype} "
                        f"vector: their rounding (eps {float(xp.finfo(result.dtype).eps):.2g}"
                        ") would bound every answer's accuracy below what the stopping rules "
                        f"assume; return {v.dtype} values, or pass a {result.dtype} vector")


def raise_non_finite(name: str, v: Any) -> NoReturn:
    """The error for a NaN/inf product of ``v``: blame ``v`` when it was already bad."""
    if not all_finite(namespace(v), v):
        raise ValueError(f"{name}: the vector it was applied to contains NaN or inf")
    raise ValueError(f"{name}: matvec returned NaN or inf")

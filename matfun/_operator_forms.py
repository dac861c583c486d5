"""The kinds of input :func:`matfun.as_operator` accepts: recognising and checking them.

Private helpers of :mod:`matfun.operators` (and the exact oracles): what is an array,
a sparse matrix of SciPy or torch, a square shape, a dense matrix's product and its
symmetry check. Nothing here builds an :class:`~matfun.Operator`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from array_api_compat import device

from ._backend import (
    all_finite,
    check_concrete,
    compiled,
    conj_transpose,
    fuses,
    namespace,
    placed,
    real_dtype,
    result_float_dtype,
)

__all__ = [
    "asymmetry",
    "check_symmetric",
    "dense_apply",
    "is_array",
    "is_scipy_sparse",
    "is_torch_sparse",
    "same_library",
    "sparse_apply",
    "square_shape",
    "vector_length",
]


def vector_length(v: Any) -> int:
    """The length of ``like``, checked without a host synchronisation."""
    if not is_array(v):
        raise TypeError(f"like must be an array, got {type(v).__name__}")
    if v.ndim != 1:
        raise ValueError(f"like must be a 1-D vector, got shape {tuple(v.shape)}")
    if v.shape[0] == 0:
        raise ValueError("like must not be empty")
    result_float_dtype(namespace(v), v, "like")  # numeric, and not extended precision
    return int(v.shape[0])


def is_array(x: Any) -> bool:
    try:
        namespace(x)
    except TypeError:
        return False
    return True


def same_library(array: Any, like: Any, name: str) -> None:
    try:
        namespace(array, like)
    except TypeError:
        raise TypeError(
            f"{name} is a {type(array).__module__}.{type(array).__name__} but the vector "
            f"is a {type(like).__module__}.{type(like).__name__}: use one array library "
            "for both"
        ) from None


def is_torch_sparse(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor) and x.layout != torch.strided


def sparse_apply(matrix: Any) -> Callable[[Any], Any]:
    # Sparse torch tensors support few element-wise operations (no finiteness or
    # symmetry check of the matrix itself; the products are still checked).
    def apply(v: Any) -> Any:
        work = v if v.dtype == matrix.dtype else v.to(matrix.dtype)
        return matrix @ work

    return apply


def is_scipy_sparse(x: Any) -> bool:
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(x)


def check_sparse_symmetric(matrix: Any, name: str) -> None:
    """``ValueError`` unless the SciPy sparse ``matrix`` is symmetric (Hermitian).

    The same test as for a dense array, ``max|A - A^H| <= sqrt(eps) max|A|``, in
    ``O(nnz)`` (a transpose and a difference: about the cost of a few products).
    """
    import numpy as np

    # Entries through COO, which every format converts to (DIA has no max()).
    difference = (matrix - matrix.conj().T).tocoo().data
    entries = matrix.tocoo().data
    worst = float(np.max(np.abs(difference))) if difference.size else 0.0
    magnitude = float(np.max(np.abs(entries))) if entries.size else 0.0
    dtype = matrix.dtype if np.issubdtype(matrix.dtype, np.inexact) else np.float64
    _require_symmetric(float(np.finfo(dtype).eps), name, worst, magnitude)


def square_shape(operator: Any, name: str) -> int:
    check_concrete(operator, name, "matfun")
    shape = tuple(operator.shape)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"{name} must be square, got shape {shape}")
    if shape[0] == 0:
        raise ValueError(f"{name} must not be empty, got shape {shape}")
    return int(shape[0])


def check_symmetric(xp: Any, array: Any, name: str) -> None:
    _require_symmetric(xp.finfo(array.dtype).eps, name, *asymmetry(xp, array))


def _require_symmetric(eps: float, name: str, worst: float, magnitude: float) -> None:
    # sqrt(eps) leaves room for matrices symmetrised in floating point while
    # catching a matrix that is not symmetric at all.
    if worst > eps**0.5 * magnitude:
        raise ValueError(
            f"{name} must be symmetric (Hermitian): max|A - A^H| = {worst:.3g} "
            f"against max|A| = {magnitude:.3g}"
        )


def asymmetry(xp: Any, array: Any) -> tuple[float, float]:
    """``(max|A - A^H|, max|A|)``, comparing tiles ``A[I, J]`` with ``A[J, I]^H``.

    Tile by tile, each entry is read once and no ``n x n`` temporary is made:
    about 4x faster than ``A - A^H`` on a 2000 x 2000 matrix, whose strided
    transpose defeats the cache. One host synchronisation at the end. Where
    operations are compiled together (JAX: :func:`~matfun._backend.fuses`), one
    kernel of the whole-matrix expression instead (fused: no temporary either).

    Both are NaN or inf when an entry is (``max`` and ``maximum`` propagate NaN, ``|inf|``
    is inf), and only then or when ``A - A^H`` overflows: the tiles read every entry, so
    :func:`dense_apply` reads the matrix once for both checks (NumPy's warning for
    ``inf - inf`` is silenced: the caller reports the NaN/inf itself).
    """
    if fuses(xp):
        _, worst, magnitude = compiled(xp, _finite_asymmetry)(array)
        return float(worst), float(magnitude)
    size = array.shape[0]
    block = max(128, size // 16)
    worst = magnitude = xp.zeros((), dtype=real_dtype(xp, array), device=device(array))
    with np.errstate(invalid="ignore", over="ignore"):  # NumPy only; others do not warn
        for i in range(0, size, block):
            for j in range(i, size, block):
                i_end, j_end = min(i + block, size), min(j + block, size)  # no overrun
                upper, lower = array[i:i_end, j:j_end], array[j:j_end, i:i_end]
                mirrored = conj_transpose(xp, lower)
                worst = xp.maximum(worst, xp.max(xp.abs(upper - mirrored)))
                magnitude = xp.maximum(magnitude, xp.maximum(xp.max(xp.abs(upper)),
                                                             xp.max(xp.abs(lower))))
    return float(worst), float(magnitude)


def _finite_asymmetry(array: Any) -> tuple[Any, Any, Any]:
    # Whether A is finite, max|A - A^H| and max|A|: one compiled kernel on JAX (about
    # 25 kernels compiled one by one for the tiles and the finiteness check otherwise).
    xp = namespace(array)
    magnitude = xp.abs(array)
    return (xp.all(xp.isfinite(array)), xp.max(xp.abs(array - conj_transpose(xp, array))),
            xp.max(magnitude))


def dense_apply(array: Any, name: str, symmetric: bool
                ) -> tuple[Callable[[Any], Any], int, Any]:
    """``(apply, n, array)`` for a square dense array, checked (floating, finite, symmetric)."""
    xp = namespace(array)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {tuple(array.shape)}")
    size = square_shape(array, name)
    if not xp.isdtype(array.dtype, ("real floating", "complex floating", "integral", "bool")):
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    if not xp.isdtype(array.dtype, ("real floating", "complex floating")):
        array = xp.astype(array, xp.float64)
    # JAX: the products use the matrix committed to its device, the kind of array the
    # solvers' vectors are (the same buffer); the user's array is returned as it is.
    matrix = placed(xp, array)
    if symmetric and fuses(xp):
        finite, worst, magnitude = compiled(xp, _finite_asymmetry)(matrix)  # one kernel
        if not bool(finite):
            raise ValueError(f"{name} contains NaN or inf")
        _require_symmetric(xp.finfo(matrix.dtype).eps, name, float(worst), float(magnitude))
    elif symmetric:
        # One read of the matrix: the tiles' maxima are finite only if every entry is
        # (asymmetry's docstring); otherwise the entries decide, the NaN/inf error first.
        worst, magnitude = asymmetry(xp, matrix)
        if not (math.isfinite(worst) and math.isfinite(magnitude)) and not all_finite(
                xp, matrix):
            raise ValueError(f"{name} contains NaN or inf")
        _require_symmetric(xp.finfo(matrix.dtype).eps, name, worst, magnitude)
    elif not all_finite(xp, matrix):
        raise ValueError(f"{name} contains NaN or inf")

    def apply(v: Any) -> Any:
        if v.dtype == matrix.dtype:
            return matrix @ v
        if not xp.isdtype(v.dtype, ("real floating", "complex floating")):
            # Integers: the product in floating point (strict libraries do not promote).
            v = xp.astype(v, result_float_dtype(xp, v))
            if v.dtype == matrix.dtype:
                return matrix @ v
        # Some libraries (torch) do not promote mixed dtypes in matmul: compute in the
        # common dtype, then come back to the vector's real dtype (float32 stays float32).
        work = xp.result_type(matrix.dtype, v.dtype)
        result = matrix @ (v if v.dtype == work else xp.astype(v, work))
        if (result.dtype != v.dtype and not xp.isdtype(result.dtype, "complex floating")
                and xp.isdtype(v.dtype, "real floating")):
            result = xp.astype(result, v.dtype)
        return result

    return apply, size, array

r"""Dense eigendecomposition for the exact oracles, scaled so any magnitude works.

:math:`f(H)\, g = Q\, \mathrm{diag}(f(\lambda))\, Q^H g` with ``H = Q diag(w) Q^H``.
The matrix is divided by the power of two just above ``max|H|`` before it is
symmetrised and decomposed, and ``g`` by the one above ``max|g|`` before ``Q^H g``:
both divisions are exact, so the eigenvalues (multiplied back) and the result are
what an unscaled computation would give, without its overflow above about 1e154
(squares) or its loss of digits in subnormal numbers near 1e-308.

Shared by :mod:`matfun.exact` (the public functions) and :mod:`matfun._truncations`;
neither imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import array_api_compat

from ._backend import all_finite, as_vector, conj_transpose, is_complex, namespace
from ._operator_forms import check_symmetric, is_scipy_sparse, is_torch_sparse
from ._operator_forms import is_array as _has_namespace
from ._validation import (
    check_nonnegative,
    check_positive,
    magnitude_unit,
    positive_integer,
)
from .operators import Operator, as_operator

__all__ = ["eigendecomposition", "to_dense"]

DAMPING_KINDS = ("abs", "shift", "square")


def to_dense(op: Any, *, like: Any) -> Any:
    """The matrix of ``op`` as a 2-D array of ``like``'s backend.

    A dense array (or an :class:`~matfun.Operator` built from one) is returned as it
    is (integers promoted to floating); a SciPy sparse matrix is densified; any other
    operator is applied to the ``n`` columns of the identity, in ``like``'s dtype
    (``n`` matvecs, counted on the operator).

    Raises
    ------
    ValueError
        Non-square, size different from ``like``, NaN/inf, or not symmetric to within
        ``sqrt(eps)`` relative.
    TypeError
        ``op`` of an unsupported kind, or an array of a different library than ``like``.

    Examples
    --------
    >>> import numpy as np
    >>> to_dense(lambda v: 2 * v, like=np.zeros(2))
    array([[2., 0.],
           [0., 2.]])
    """
    xp, like = as_vector(like, "like")
    return _dense(xp, op, like)


def _dense(xp: Any, op: Any, like: Any) -> Any:
    if isinstance(op, Operator) and op.array is not None:
        op = op.array
    if is_scipy_sparse(op):
        op = xp.asarray(op.toarray(), device=_device(like))
    elif is_torch_sparse(op):
        op = op.to_dense()
    if _has_namespace(op):
        return as_operator(op, like=like, name="op").array
    operator = as_operator(op, like=like, name="op")
    # A Hermitian operator applied to real unit vectors still returns complex columns:
    # probe in the complex dtype when the operator says it is complex.
    dtype = like.dtype
    if operator.dtype is not None and _is_complex_dtype(xp, operator.dtype):
        dtype = xp.complex64 if like.dtype in (xp.float32, xp.complex64) else xp.complex128
    identity = xp.eye(operator.size, dtype=dtype, device=_device(like))
    matrix = xp.stack([operator.matvec(identity[:, j]) for j in range(operator.size)], axis=1)
    check_symmetric(xp, matrix, "op")
    return matrix


def eigendecomposition(op: Any, *, like: Any) -> tuple[Any, Any]:
    """Eigenvalues (ascending) and orthonormal eigenvectors of ``op``, in double precision.

    The matrix of :func:`to_dense` is divided by the power of two just above its
    largest entry (exact), symmetrised, :math:`(H + H^H)/2`, and passed to
    ``xp.linalg.eigh`` in float64 (complex128): ``H = Q diag(w) Q^H``, the
    eigenvalues multiplied back (exact). Any finite magnitude works.

    Examples
    --------
    >>> import numpy as np
    >>> w, Q = eigendecomposition(np.diag([3.0, -1.0]), like=np.zeros(2))
    >>> w
    array([-1.,  3.])
    """
    xp, like = as_vector(like, "like")
    return _eigh(xp, _dense(xp, op, like), like)


def _eigh(xp: Any, matrix: Any, like: Any) -> tuple[Any, Any]:
    complex_case = is_complex(xp, matrix) or is_complex(xp, like)
    matrix = xp.astype(matrix, xp.complex128 if complex_case else xp.float64)
    factor = magnitude_unit(xp, matrix)  # host scalar: the scale, once
    matrix = matrix / factor
    eigenvalues, eigenvectors = xp.linalg.eigh((matrix + conj_transpose(xp, matrix)) / 2)
    return eigenvalues * factor, eigenvectors


def decompose(op: Any, g: Any) -> tuple[Any, Any, Any, Any]:
    """``(xp, g, w, Q)`` for a public oracle: ``g`` validated once, then ``op``."""
    xp, g = as_vector(g, "g")
    eigenvalues, eigenvectors = _eigh(xp, _dense(xp, op, g), g)
    return xp, g, eigenvalues, eigenvectors


def combine(xp: Any, eigenvectors: Any, values: Any, g: Any) -> Any:
    """``Q diag(values) Q^H g`` in the eigenvectors' precision, in ``g``'s dtype family.

    Complex when ``Q`` is (a Hermitian ``H``), whatever ``g`` is: float32 ``g`` gives
    complex64. ``g`` is rescaled by a power of two first, the factor applied last.
    """
    factor = magnitude_unit(xp, g)  # host scalar: the scale, once
    # Widen first: float32 g up to 2^128 has factor = 2^128, inf in float32 (g / inf = 0).
    work = xp.astype(g, eigenvectors.dtype) / factor
    coordinates = conj_transpose(xp, eigenvectors) @ work
    result = (eigenvectors @ (xp.astype(values, eigenvectors.dtype) * coordinates)) * factor
    # Checked in the returned dtype: float32 overflows where the float64 work does not.
    result = xp.astype(result, _result_dtype(xp, g, is_complex(xp, eigenvectors)))
    if not all_finite(xp, result):
        raise ValueError(f"the result overflows {result.dtype} (inf): the function's values "
                         "are too large for floating point")
    return result


def apply_values(op: Any, g: Any, values: Callable[[Any, Any], Any]) -> Any:
    """``Q diag(values(xp, w)) Q^H g``."""
    xp, g, eigenvalues, eigenvectors = decompose(op, g)
    return combine(xp, eigenvectors, values(xp, eigenvalues), g)


def _result_dtype(xp: Any, g: Any, complex_case: bool) -> Any:
    if not complex_case or is_complex(xp, g):
        return g.dtype
    return xp.complex64 if g.dtype == xp.float32 else xp.complex128


def _is_complex_dtype(xp: Any, dtype: Any) -> bool:
    try:
        return xp.isdtype(dtype, "complex floating")
    except (TypeError, ValueError, AttributeError):
        # A foreign dtype (a SciPy LinearOperator's NumPy dtype with another library).
        return getattr(dtype, "kind", "") == "c"


def check_damping(damping: Any, kind: Any) -> float:
    """``damping >= 0`` as a float, ``kind`` one of :data:`DAMPING_KINDS`."""
    if not isinstance(kind, str) or kind not in DAMPING_KINDS:
        raise ValueError(f"damping_kind must be one of {DAMPING_KINDS}, got {kind!r}")
    return check_nonnegative(damping, "damping")


# A truncation longer than this takes minutes in the mpmath coefficient recurrences
# (and its polynomial is the limit to rounding error long before): refused at once.
MAX_TERMS = 10**6


def check_terms(terms: Any) -> int:
    """A positive integer number of terms, at most :data:`MAX_TERMS`."""
    K = positive_integer(terms, "terms")
    if K > MAX_TERMS:
        raise ValueError(f"terms must be at most {MAX_TERMS} for the exact truncations, "
                         f"got {terms!r}")
    return K


def check_scale(scale: Any) -> float:
    """A positive finite scale ``V``."""
    return check_positive(scale, "scale")


def _device(x: Any) -> Any:
    return array_api_compat.device(x)


def namespace_of(values: Any, g: Any) -> Any:
    """``values`` as an array of ``g``'s library, or a ``TypeError`` naming ``f``."""
    xp = namespace(g)
    if not _has_namespace(values):
        try:
            values = xp.asarray(values, device=_device(g))
        except (TypeError, ValueError):
            raise TypeError(f"f must return an array of values, got "
                            f"{type(values).__name__}") from None
    try:
        namespace(values, g)
    except TypeError:
        raise TypeError(f"f returned a {type(values).__module__}.{type(values).__name__} for "
                        f"eigenvalues of {type(g).__module__}.{type(g).__name__}: use the "
                        "vector's array library in f") from None
    if not xp.isdtype(values.dtype, ("real floating", "complex floating", "integral")):
        raise TypeError(f"f must return numbers, got dtype {values.dtype}")
    return values

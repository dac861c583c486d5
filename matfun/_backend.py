"""Backend helpers for :mod:`matfun`, shared with :mod:`accel` (the bottom layer)."""

from accel._backend import (
    all_finite,
    as_float_array,
    check_concrete,
    compiled,
    fuses,
    inner,
    is_complex,
    is_lazy,
    max_abs,
    namespace,
    norm,
    placed,
    real_dtype,
    result_float_dtype,
    settle,
    to_float,
)

__all__ = [
    "all_finite",
    "as_float_array",
    "compiled",
    "fuses",
    "inner",
    "is_complex",
    "is_lazy",
    "max_abs",
    "namespace",
    "norm",
    "placed",
    "real_dtype",
    "result_float_dtype",
    "settle",
    "to_float",
    "as_vector",
    "conj_transpose",
    "matrix_transpose",
]


def as_vector(g, name: str = "g"):
    """Validate a right-hand side: a finite 1-D numeric array, returned as floating.

    Returns ``(xp, g)`` with ``xp`` the array namespace of ``g`` (on JAX, ``g``
    committed to its device: :func:`~accel._backend.placed`). Every error
    (``TypeError`` for a non-array or non-numeric dtype, ``ValueError`` for a wrong
    shape, emptiness, NaN or inf) names ``name``.
    """
    try:
        xp = namespace(g)
    except TypeError:
        raise TypeError(f"{name} must be an array, got {type(g).__name__}") from None
    check_concrete(g, name, "matfun")
    if g.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector, got shape {tuple(g.shape)}")
    if g.shape[0] == 0:
        raise ValueError(f"{name} must not be empty")
    g = as_float_array(xp, g, name)
    g = placed(xp, g)  # before the check: its kernel then serves the solvers' vectors too
    if not all_finite(xp, g):
        raise ValueError(f"{name} contains NaN or inf")
    return xp, g


def matrix_transpose(xp, a):
    """``a^T`` of a 2-D array, portably (Dask arrays have no ``.mT``)."""
    transpose = getattr(xp, "matrix_transpose", None)
    return transpose(a) if transpose is not None else a.T


def conj_transpose(xp, a):
    """``a^H`` of a 2-D array (``a^T`` for a real one)."""
    a_t = matrix_transpose(xp, a)
    return xp.conj(a_t) if is_complex(xp, a) else a_t

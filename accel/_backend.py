"""Array-namespace dispatch: the only module that knows about array backends.

Every public function of :mod:`accel` and :mod:`matfun` takes its namespace from
the user's arrays with :func:`namespace` and then calls ``xp.`` functions only, so
the same code runs on NumPy, CuPy, PyTorch, JAX and ``array-api-strict``.
:mod:`matfun` re-exports these helpers from ``matfun._backend`` (``accel`` is the
bottom layer and must not import ``matfun``).
"""

from __future__ import annotations

import cmath
import math
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "as_float_array",
    "as_term",
    "inner",
    "is_array",
    "is_complex",
    "is_lazy",
    "namespace",
    "norm",
    "all_finite",
    "compiled",
    "fuses",
    "max_abs",
    "placed",
    "real_dtype",
    "result_float_dtype",
    "settle",
    "to_float",
    "vecdot",
]


# array type -> its namespace, filled by namespace(); a handful of entries.
_NAMESPACES: dict[type, Any] = {}


def namespace(*arrays: Any) -> Any:
    """Return the array-API namespace shared by ``arrays``.

    Raises
    ------
    TypeError
        If the arrays come from different libraries, or none is an array.
    """
    kind = type(arrays[0]) if arrays else None
    if kind in _NAMESPACES and all(type(a) is kind for a in arrays):
        # The namespace is a function of the array type: the streaming accelerators
        # ask for it on every term, and the lookup costs more than their arithmetic.
        return _NAMESPACES[kind]
    try:
        xp = array_api_compat.array_namespace(*arrays)
    except TypeError as err:
        kinds = ", ".join(sorted({type(a).__module__ + "." + type(a).__name__ for a in arrays}))
        raise TypeError(
            f"arrays must all come from one array library; got {kinds} ({err})"
        ) from None
    if len({type(a) for a in arrays}) == 1:
        _NAMESPACES[kind] = xp
    return xp


def check_concrete(x: Any, name: str, library: str) -> None:
    """``TypeError`` for a JAX tracer, ``ValueError`` for a dimension of unknown size.

    Both would otherwise fail deep inside (``ConcretizationTypeError``, ``cannot
    convert float NaN to integer``): ``library`` decides on the host from values
    (stopping rules, statuses), so it runs on concrete arrays, and it needs their sizes
    (a Dask array built by boolean indexing has ``nan`` chunk sizes until computed).
    """
    if any(c.__name__ == "Tracer" and c.__module__.startswith("jax") for c in type(x).__mro__):
        raise TypeError(f"{name} is a JAX tracer (inside jax.jit, jax.grad or jax.vmap): "
                        f"{library} decides on the host from values (stopping rules, "
                        "statuses), so it runs on concrete arrays; call it outside the "
                        "transformation (jit-compatible optimisers: matfun.optim.optax)")
    if any(d is None or (isinstance(d, float) and math.isnan(d)) for d in x.shape):
        raise ValueError(f"{name} has a dimension of unknown size (shape {tuple(x.shape)}); "
                         f"for a Dask array call {name}.compute_chunk_sizes() first")


def is_array(x: Any) -> bool:
    """Whether ``x`` can be an array of some library (lists, tuples, numbers cannot)."""
    return hasattr(x, "shape") and not isinstance(x, list | tuple)


def as_term(term: Any) -> tuple[Any, Any]:
    """``(xp, term)`` for a pushed term: an array, or a Python number as a NumPy 0-d array.

    A scalar sequence is naturally streamed as Python floats; they become float64
    (complex: complex128) NumPy scalars. Lists, strings and other objects get a
    ``TypeError`` naming ``term``.
    """
    if isinstance(term, int | float | complex) and not isinstance(term, bool):
        term = np.asarray(term, dtype=np.complex128 if isinstance(term, complex) else np.float64)
    elif not is_array(term):
        raise TypeError("term must be a number or an array of an array-API library (NumPy, "
                        f"CuPy, JAX, ...), got {type(term).__name__}")
    else:
        check_concrete(term, "term", "accel")
    return namespace(term), term


def is_complex(xp: Any, x: Any) -> bool:
    """Whether ``x`` has a complex floating dtype."""
    return xp.isdtype(x.dtype, "complex floating")


# NumPy's extended precision where it is finer than float64 (x86: 80-bit in 128):
# not an array-API dtype. The libraries' host arithmetic (Lanczos' tridiagonal, series
# coefficients, Chebyshev plans, error estimates) and NumPy's linear algebra stop at
# float64, so its precision could not be honoured: measured, Lanczos said converged at
# rtol = 1e-17 with an error of 1.9e-15, and Pade, MPE, RRE stopped with NumPy's
# "array type float128 is unsupported in linalg".
_EXTENDED = frozenset(np.dtype(t) for t in (np.longdouble, np.clongdouble)
                      if np.finfo(t).eps < np.finfo(np.float64).eps)


def result_float_dtype(xp: Any, x: Any, name: str = "the array") -> Any:
    """Floating dtype that results for ``x``: its own if floating, else the default float.

    ``TypeError`` naming ``name`` for a non-numeric dtype, or NumPy's extended precision.
    """
    if xp.isdtype(x.dtype, ("real floating", "complex floating")):
        if x.dtype in _EXTENDED:
            raise TypeError(f"{name} has dtype {x.dtype}, NumPy's extended precision, which "
                            "is not supported: this library computes in float64 at most "
                            "and could not honour it; pass .astype(numpy.float64) (or "
                            "complex128)")
        return x.dtype
    if xp.isdtype(x.dtype, "bool") or xp.isdtype(x.dtype, "integral"):
        return _default_float(xp, x)
    raise TypeError(f"{name} must be numeric, got dtype {x.dtype}")


def _default_float(xp: Any, x: Any) -> Any:
    try:
        info = xp.__array_namespace_info__()
        return info.default_dtypes(device=array_api_compat.device(x))["real floating"]
    except (AttributeError, TypeError):
        return xp.float64


def as_float_array(xp: Any, x: Any, name: str = "the array") -> Any:
    """Return ``x`` as a floating array of the same backend (integers promoted).

    ``TypeError`` naming ``name`` for a dtype :func:`result_float_dtype` refuses.
    """
    dtype = result_float_dtype(xp, x, name)
    return x if x.dtype == dtype else xp.astype(x, dtype)


def real_dtype(xp: Any, x: Any) -> Any:
    """Real floating dtype matching ``x`` (float64 for complex128, ...)."""
    if is_complex(xp, x):
        return xp.float32 if x.dtype == xp.complex64 else xp.float64
    return x.dtype


# The helpers below run as one compiled kernel each on JAX (see compiled()): run
# eagerly, every operation compiles a kernel of its own on its first shape (five for
# a norm, ~50 ms each). A fused one compiles in about the time of one or two eager
# ones and dispatches faster (n = 1000: a norm 60 us a call against 146 us, the
# finiteness check 69 against 92). Elsewhere: the same operations as before.


def inner(xp: Any, a: Any, b: Any) -> Any:
    """Inner product ``a^H b`` over the last axis, as a 0-d (or batched) array."""
    if fuses(xp):
        return compiled(xp, _inner)(a, b)
    return _inner(a, b, xp)


def _inner(a: Any, b: Any, xp: Any = None) -> Any:
    xp = xp or namespace(a)
    if is_complex(xp, a):
        a = xp.conj(a)
    return xp.sum(a * b, axis=-1)


def norm(xp: Any, v: Any, axis: int = -1) -> Any:
    """Euclidean norm over ``axis`` as an array (no host synchronisation)."""
    if axis == -1 and fuses(xp):
        return compiled(xp, _norm)(v)
    return xp.linalg.vector_norm(v, axis=axis)


def _norm(v: Any) -> Any:
    return namespace(v).linalg.vector_norm(v, axis=-1)


def max_abs(xp: Any, x: Any) -> Any:
    """``max |x_i|`` over all entries, as a 0-d array (no host synchronisation)."""
    if fuses(xp):
        return compiled(xp, _max_abs)(x)
    return xp.max(xp.abs(x))


def _max_abs(x: Any) -> Any:
    xp = namespace(x)
    return xp.max(xp.abs(x))


_SQUARES_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
# NumPy: below this length isfinite + all is cheaper than entering np.errstate (about a
# microsecond); above it, the single read pass of a dot product wins.
_DOT_FROM = 16384


def all_finite(xp: Any, x: Any) -> bool:
    """Whether every entry of ``x`` is finite.  Synchronises: used only for decisions.

    Decided from one reduction where one suffices (IEEE arithmetic: a NaN entry makes
    every sum with it NaN, an infinite one makes it inf or NaN): a long real NumPy
    vector by its dot product with itself (squares never cancel; one read pass where
    ``isfinite`` + ``all`` make two and a temporary), other floating arrays except
    JAX's by their sum (on PyTorch ``isfinite`` alone is several kernels). A finite
    reduction proves every entry finite; a non-finite one (finite entries can reach it
    by overflow) sends the test to the entries. JAX: one compiled kernel.
    """
    if type(x) is np.ndarray:
        if x.ndim == 1 and x.size >= _DOT_FROM and x.dtype in _SQUARES_DTYPES:
            with np.errstate(over="ignore"):  # an overflow only means "maybe": no warning
                square = float(np.dot(x, x))
            if math.isfinite(square):
                return True
        return bool(np.isfinite(x).all())
    if fuses(xp):  # JAX: one compiled kernel
        return bool(compiled(xp, _all_finite)(x))
    if xp.isdtype(x.dtype, ("real floating", "complex floating")):
        if cmath.isfinite(complex(xp.sum(x))):
            return True
    return bool(xp.all(xp.isfinite(x)))


def _all_finite(x: Any) -> Any:
    xp = namespace(x)
    return xp.all(xp.isfinite(x))


def to_float(x: Any) -> float:
    """A 0-d array as a Python float.  Synchronises: call only where a decision needs it."""
    return float(x)


# function -> its jax.jit, made once (a new jit per call would trace again).
_COMPILED: dict[Any, Any] = {}


def compiled(xp: Any, function: Any) -> Any:
    """``function`` as one compiled kernel on JAX, unchanged on other backends.

    JAX runs every operation as a kernel compiled for its input shapes; a function
    of several operations called in a loop (a Lanczos step) then costs one
    compilation instead of one per operation, and one dispatch. ``function`` must be
    pure, take and return arrays (a Python int argument becomes a traced scalar, so a
    changing index compiles once) and derive its namespace from its arguments.
    """
    if not array_api_compat.is_jax_namespace(xp):
        return function
    if function not in _COMPILED:
        import jax  # only reached with JAX arrays: never at package import

        _COMPILED[function] = jax.jit(function)
    return _COMPILED[function]


def fuses(xp: Any) -> bool:
    """Whether :func:`compiled` makes one kernel of a function for ``xp`` (JAX).

    There a whole-array expression (``max |A - A^H|``) is fused into one pass with no
    temporary, and beats the tiled loops that are fastest when run eagerly.
    """
    return array_api_compat.is_jax_namespace(xp)


def placed(xp: Any, x: Any) -> Any:
    """``x`` committed to its device on JAX, unchanged (the same object) elsewhere.

    JAX compiles a kernel for an argument whose device is left to it (an array made
    by ``jnp.asarray``) apart from one committed to a device (an array made with
    ``device=``, and everything computed from one): a user's vector and the vectors
    derived from it would compile every kernel twice. Committing the user's arrays
    at the boundary keeps one kind throughout. Not a copy of the data in general
    (``x`` itself when already committed).
    """
    if not fuses(xp):
        return x
    import jax  # only reached with JAX arrays: never at package import

    if getattr(x, "committed", True):  # a tracer (inside jax.jit): nothing to place
        return x
    return jax.device_put(x, x.sharding)  # on its own devices, committed


# array type -> whether it is lazy (Dask): settle() is called on every kept vector.
_LAZY: dict[type, bool] = {}


def settle(x: Any) -> Any:
    """``x`` evaluated and kept where its library is lazy; ``x`` itself otherwise.

    For a Dask array this is ``x.persist()`` (on a ``dask.distributed`` cluster the
    chunks stay on the workers): an iteration settles the few vectors it keeps for
    later steps, so each step's graph starts from stored chunks instead of growing
    with the number of steps, and a host decision on them (a norm) computes one small
    reduction instead of the whole history. Eager libraries (NumPy, CuPy, PyTorch,
    JAX, ``array-api-strict``) get ``x`` back unchanged.
    """
    return x.persist() if is_lazy(x) else x


def is_lazy(x: Any) -> bool:
    """Whether ``x`` is an array of a lazy library (Dask): see :func:`settle`."""
    kind = type(x)
    lazy = _LAZY.get(kind)
    if lazy is None:
        lazy = _LAZY[kind] = array_api_compat.is_dask_array(x)
    return lazy


# namespace -> its vecdot, filled by vecdot(); a handful of entries.
_VECDOT: dict[Any, Any] = {}


def vecdot(xp: Any) -> Any:
    """``xp.vecdot``, or the library's own where array-api-compat wraps it in Python.

    On PyTorch the wrapper (axis moves and broadcasting around a batched matmul)
    costs about 20 microseconds a call, against about 1 for ``torch.vdot`` on two
    vectors (``conj(x1) . x2``, no temporary), which is used there; stacked
    vectors keep the wrapper. The streaming accelerators take several norms per term.
    """
    function = _VECDOT.get(xp)
    if function is None:
        function = xp.vecdot
        if array_api_compat.is_torch_namespace(xp):
            function = _torch_vecdot(xp.vecdot)
        _VECDOT[xp] = function
    return function


def _torch_vecdot(wrapped: Any) -> Any:
    import torch  # only reached with torch arrays: never at package import

    def vecdot(x1: Any, x2: Any) -> Any:
        if x1.ndim == 1 and x2.ndim == 1 and x1.dtype == x2.dtype:
            return torch.vdot(x1, x2)
        return wrapped(x1, x2)

    return vecdot

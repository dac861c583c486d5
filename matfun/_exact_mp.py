r"""High-precision (mpmath) oracles and series coefficients for :mod:`matfun.exact`.

Everything here runs on the host in mpmath: the matrix entries are read exactly
(a float64 is a dyadic rational, so no rounding happens on the way in), the
eigendecomposition is mpmath's Jacobi method (:func:`mpmath.eigsy`, or
:func:`mpmath.eighe` for Hermitian input) at ``dps`` decimal digits, and the result
is exact to about :math:`\kappa \cdot 10^{-\mathrm{dps}}` relative for the matrix as
stored. Use it when the float64 oracle's own :math:`\kappa \epsilon` error is too
large: condition numbers beyond about 10^8.

The coefficient helpers are the independent references of the truncated-series
oracles: same definitions as :mod:`matfun.coefficients`, different algorithms and
40-digit (or higher) arithmetic.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._validation import check_integer

__all__ = ["mp_apply_function", "mp_abs_inv"]

# Digits carried by the coefficient recurrences beyond those lost to amplification.
_GUARD_DIGITS = 40
# Above this many digits the forward recurrence of the abs-damped coefficients gets
# slow; the backward tail sum (short exactly when the forward one is expensive) is
# used instead.
_MAX_FORWARD_DIGITS = 4000
_OUTPUTS = ("float64", "mpmath")
# Beyond this many digits the Jacobi eigensolver of an n x n matrix takes hours.
_MAX_DPS = 100_000


def mp_apply_function(
    matrix: Any,
    g: Any,
    f: Callable[[Any], Any],
    *,
    dps: int = 50,
    output: str = "float64",
) -> Any:
    r"""``f(H) g = Q diag(f(lambda)) Q^H g`` in mpmath at ``dps`` decimal digits.

    Parameters
    ----------
    matrix : array_like
        Symmetric (Hermitian) ``n x n`` matrix: NumPy, anything exposing DLPack on the
        CPU (torch, array-api-strict), or nested lists; integers allowed. Entries are
        taken exactly; the matrix is symmetrised as :math:`(H + H^H)/2` in mpmath.
    g : array_like
        Vector of length ``n``.
    f : callable
        Scalar function of one ``mpf`` eigenvalue ``x``, returning a number. The
        computation runs in a private mpmath context (mpmath's global precision is
        never changed, so other threads are unaffected): arithmetic on ``x`` is at
        ``dps`` digits, and so are the functions of ``x.context``
        (``lambda x: 1 / x.context.sqrt(x)``). A result computed at a lower
        precision (e.g. with ``mpmath.sqrt``, which works at the global precision)
        is refused.
    dps : int
        Working precision in decimal digits, 15 to 100000.
    output : {"float64", "mpmath"}
        Return a NumPy float64 (complex128 for complex input) array, or an
        ``n x 1`` ``mpmath.matrix`` holding the full-precision result (its entries
        are not rounded to the global precision; compute with them under
        ``mpmath.workdps(dps)`` or a context of your own).

    Raises
    ------
    ValueError
        Bad shapes, NaN/inf, an asymmetric matrix, ``f`` undefined at an
        eigenvalue (division by zero, non-finite value), or a float64 result that
        overflows.
    TypeError
        ``f`` not callable, or returning something other than a number of at least
        ``dps`` digits.

    References
    ----------
    Higham (2008), *Functions of Matrices*, SIAM, section 4.5 (diagonalisation).

    Examples
    --------
    >>> import numpy as np, mpmath
    >>> mp_apply_function(np.diag([4.0, 9.0]), np.ones(2), lambda x: 1 / x.context.sqrt(x))
    array([0.5       , 0.33333333])
    """
    if not callable(f):
        raise TypeError(f"f must be a callable of one mpmath number, got {type(f).__name__}")
    if output not in _OUTPUTS:
        raise ValueError(f"output must be one of {_OUTPUTS}, got {output!r}")
    dps = check_integer(dps, "dps", minimum=15, maximum=_MAX_DPS)
    host_matrix, host_g = _validated_host(matrix, g)
    complex_input = np.iscomplexobj(host_matrix) or np.iscomplexobj(host_g)
    n = host_g.shape[0]
    ctx = _context(int(dps))
    A = ctx.matrix(host_matrix.tolist())
    A = (A + A.H) / 2 if complex_input else (A + A.T) / 2
    eigenvalues, Q = ctx.eighe(A) if complex_input else ctx.eigsy(A)
    values = [_value_at(ctx, f, eigenvalue) for eigenvalue in eigenvalues]
    coordinates = Q.H * ctx.matrix(host_g.tolist())
    for i in range(n):
        coordinates[i] *= values[i]
    result = Q * coordinates
    if output == "mpmath":
        # An mpmath.matrix of the global context holding the entries unrounded (the
        # conversion copies the mantissas): do arithmetic on it under workdps(dps).
        import mpmath  # lazy: imported only where an mp oracle runs

        return mpmath.matrix([[result[i]] for i in range(n)])
    convert = complex if complex_input else float
    host = np.array([convert(result[i]) for i in range(n)])
    if not np.all(np.isfinite(host)):
        raise ValueError("the result overflows float64: use output='mpmath'")
    return host


def _context(dps: int) -> Any:
    """A private mpmath context at ``dps`` digits: the global ``mpmath.mp`` is untouched."""
    import mpmath  # lazy: imported only where an mp oracle runs

    ctx = mpmath.MPContext()
    ctx.dps = dps
    return ctx


def _value_at(ctx: Any, f: Callable[[Any], Any], eigenvalue: Any) -> Any:
    """``f(eigenvalue)`` as a finite number of ``ctx``, or a clear error."""
    try:
        value = f(eigenvalue)
    except ZeroDivisionError:
        raise ValueError(
            f"f is undefined at the eigenvalue {ctx.nstr(eigenvalue, 6)} of the "
            "matrix (division by zero): is it singular?"
        ) from None
    source = getattr(value, "context", None)
    if source is not None and source is not ctx and source.prec < ctx.prec:
        raise TypeError(
            f"f returned a number at {source.dps} digits, below the {ctx.dps} asked for: "
            "compute with the functions of the eigenvalue's own context "
            "(x.context.sqrt(x), not mpmath.sqrt(x))"
        )
    if isinstance(value, bool | str | bytes):
        raise TypeError(f"f must return a number, got {value!r}")
    if isinstance(value, float | complex | np.floating | np.complexfloating) and ctx.prec > 53:
        raise TypeError(
            f"f returned a {type(value).__name__} (about 16 digits), below the {ctx.dps} "
            "asked for: compute with the eigenvalue's own context (x.context.sqrt(x))"
        )
    try:
        value = ctx.convert(value)
    except (TypeError, ValueError):
        raise TypeError(f"f must return a number, got {type(value).__name__}") from None
    if not ctx.isfinite(value):
        raise ValueError(f"f returned {value} at the eigenvalue {ctx.nstr(eigenvalue, 6)}")
    return value


def mp_abs_inv(matrix: Any, g: Any, *, dps: int = 50, output: str = "float64") -> Any:
    r"""The saddle-free direction :math:`|H|^{-1} g` in mpmath (see :func:`mp_apply_function`).

    Raises ``ValueError`` when ``H`` has an exactly zero eigenvalue at ``dps`` digits.

    Examples
    --------
    >>> import numpy as np
    >>> mp_abs_inv(np.array([[0.0, 2.0], [2.0, 0.0]]), np.array([1.0, 0.0]))
    array([0.5, 0. ])
    """
    return mp_apply_function(matrix, g, lambda x: 1 / abs(x), dps=dps, output=output)


def _to_host(x: Any, name: str) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except (BufferError, RuntimeError, TypeError):
            pass  # not on the CPU: try the library's own conversion below
    if hasattr(x, "get"):  # CuPy
        return np.asarray(x.get())
    try:
        return np.asarray(x)
    except Exception as err:
        raise TypeError(f"{name} cannot be converted to a NumPy array: {err}") from None


def _validated_host(matrix: Any, g: Any) -> tuple[np.ndarray, np.ndarray]:
    A = _to_host(matrix, "matrix")
    v = _to_host(g, "g")
    for name, x in (("matrix", A), ("g", v)):
        if x.dtype.kind not in "biufc":
            raise TypeError(f"{name} must be numeric, got dtype {x.dtype}")
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"matrix must be a non-empty square 2-D array, got shape {A.shape}")
    if v.ndim != 1 or v.shape[0] != A.shape[0]:
        raise ValueError(f"g must be a vector of length {A.shape[0]} (matrix is "
                         f"{A.shape[0]} x {A.shape[0]}), got shape {v.shape}")
    A = A.astype(np.complex128 if A.dtype.kind == "c" else np.float64)
    v = v.astype(np.complex128 if v.dtype.kind == "c" else np.float64)
    for name, x in (("matrix", A), ("g", v)):
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name} contains NaN or inf")
    # Same test as matfun.operators: sqrt(eps) leaves room for matrices symmetrised in
    # floating point while catching a matrix that is not symmetric at all.
    asymmetry = np.max(np.abs(A - A.conj().T))
    if asymmetry > np.finfo(np.float64).eps ** 0.5 * np.max(np.abs(A)):
        raise ValueError(f"matrix must be symmetric (Hermitian): max|A - A^H| = {asymmetry:.3g}")
    return A, v


@functools.lru_cache(maxsize=128)
def mp_binomial_coefficients(alpha: float, n: int) -> tuple[float, ...]:
    r"""Coefficients :math:`c_k(\alpha)` of :math:`(1 - z)^{-\alpha}`, ``k < n``, from mpmath.

    The recurrence :math:`c_k = c_{k-1} (\alpha + k - 1)/k` carried at 40 digits:
    relative error about :math:`k \cdot 10^{-40}` before the final rounding to float64.
    """
    ctx = _context(_GUARD_DIGITS)
    a = ctx.mpf(alpha)
    c = ctx.mpf(1)
    values = []
    for k in range(n):
        if k:
            c = c * (a + k - 1) / k
        values.append(float(c))
    return tuple(values)


@functools.lru_cache(maxsize=128)
def mp_abs_damped_coefficients(delta: float, n: int) -> tuple[float, ...]:
    r"""Coefficients :math:`d_k` of :math:`1/(\sqrt{1 - z} + \delta)`, ``k < n``, from mpmath.

    From :math:`(r - z)\,d(z) = \sqrt{1 - z} - \delta`, :math:`r = 1 - \delta^2`:
    :math:`d_0 = 1/(1 + \delta)`, :math:`d_k = (d_{k-1} + b_k)/r` with :math:`b_k` the
    coefficients of :math:`\sqrt{1-z}`. This forward recurrence multiplies errors by
    :math:`1/|r|` per step, so it is carried at :math:`40 + n \log_{10}(1/|r|)` digits,
    which leaves 40 correct ones (an algorithm independent of the backward tail sum of
    :func:`matfun.abs_damped_coefficients`). At :math:`\delta = 1` the closed form
    :math:`d_k = -b_{k+1}`; when the digits needed exceed 4000 (``|r|`` tiny and ``n``
    large) the tail sum :math:`d_k = -\sum_{j>k} b_j r^{j-k-1}`, then short, at 40 digits.
    """
    r = 1.0 - delta * delta
    digits = _GUARD_DIGITS + (n * math.log10(1.0 / abs(r)) if 0.0 < abs(r) < 1.0 else 0.0)
    if r == 0.0:
        ctx = _context(_GUARD_DIGITS)
        b = _mp_sqrt_coefficients(ctx, n + 1)
        return tuple(float(-b[k + 1]) for k in range(n))
    if digits <= _MAX_FORWARD_DIGITS:
        ctx = _context(int(digits) + 1)
        b = _mp_sqrt_coefficients(ctx, n)
        r_mp = 1 - ctx.mpf(delta) ** 2
        d = 1 / (1 + ctx.mpf(delta))
        values = [float(d)]
        for k in range(1, n):
            d = (d + b[k]) / r_mp
            values.append(float(d))
        return tuple(values)
    ctx = _context(_GUARD_DIGITS)
    r_mp = 1 - ctx.mpf(delta) ** 2
    tail = int(_GUARD_DIGITS / math.log10(1.0 / abs(r))) + 2
    b = _mp_sqrt_coefficients(ctx, n + tail + 1)
    d = ctx.mpf(0)
    values = [0.0] * n
    for k in range(n + tail - 1, -1, -1):
        d = r_mp * d - b[k + 1]
        if k < n:
            values[k] = float(d)
    return tuple(values)


def _mp_sqrt_coefficients(ctx: Any, n: int) -> list:
    """Coefficients of sqrt(1 - z) in the context ``ctx``."""
    b = [ctx.mpf(1)]
    for k in range(1, n):
        b.append(b[-1] * (k - ctx.mpf(3) / 2) / k)
    return b

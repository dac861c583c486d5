r"""A joint ``(H, g)`` strategy for oracle tests, and compact spectrum summaries.

:func:`problems` draws a Hermitian matrix with a prescribed spectrum *together with*
its right-hand side, so that the hard cases of a matrix-function solver can be asked
for by name: ``g`` close to one eigenvector (a Krylov method meets an invariant
subspace early), magnitudes near the ends of the dtype's range (anything that squares
an unscaled value overflows or underflows), complex Hermitian matrices, float32.
Public through :mod:`matfun.testing`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ._strategies import _CONDITIONS, _SIZES, _strategy, spectra
from ._validation import check_choice, power_of_two

__all__ = ["RHS_KINDS", "HermitianProblem", "problems", "safe_norm", "spectrum_summary"]

RHS_KINDS = ("random", "eigenvector")
# Relative size of the random perturbation of an eigenvector right-hand side: exactly
# an eigenvector, then ever further from one.
_PERTURBATIONS = (0.0, 1e-12, 1e-8, 1e-4)
_DTYPES = {np.dtype(t): np.dtype(t).kind for t in (np.float32, np.float64, np.complex64,
                                                   np.complex128)}


@dataclass(frozen=True, repr=False)
class HermitianProblem:
    r"""A Hermitian matrix with its prescribed eigendecomposition and a right-hand side.

    Attributes
    ----------
    matrix : array
        :math:`c\, Q \mathrm{diag}(\lambda) Q^H` in the requested backend and dtype.
    g : array
        The right-hand side, same backend and dtype.
    eigenvalues : numpy.ndarray
        The prescribed spectrum times ``matrix_scale`` (ascending, float64); the stored
        matrix's differ by rounding, about ``n eps max|lambda|`` in its dtype.
    eigenvectors : numpy.ndarray
        ``Q`` (float64 or complex128), columns matching ``eigenvalues``.
    matrix_scale, rhs_scale : float
        The powers of two ``c`` and ``d`` applied to the matrix and to ``g``.
    """

    matrix: Any
    g: Any
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    matrix_scale: float = 1.0
    rhs_scale: float = 1.0

    @property
    def condition(self) -> float:
        """``max|lambda| / min|lambda|``."""
        magnitudes = np.abs(self.eigenvalues)
        return float(np.max(magnitudes) / np.min(magnitudes))

    def summary(self) -> str:
        """One line for a failure message: see :func:`spectrum_summary`."""
        return spectrum_summary(self.eigenvalues, dtype=np.asarray(self.g).dtype)

    def __repr__(self) -> str:
        # What hypothesis prints for a falsifying example: the spectrum, not the arrays.
        return (f"HermitianProblem({self.summary()}, matrix_scale={self.matrix_scale:g}, "
                f"rhs_scale={self.rhs_scale:g})")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # hypothesis's (and IPython's) pretty printer would list every array field.
        printer.text(repr(self))


def spectrum_summary(eigenvalues: Any, *, dtype: Any = None) -> str:
    """A one-line description of a spectrum, for failure messages (never the matrix).

    Examples
    --------
    >>> spectrum_summary([-4.0, 1.0, 2.0])
    'n = 3, |lambda| in [1, 4], kappa = 4, 1 negative'
    """
    values = np.real(np.asarray(eigenvalues, dtype=np.complex128)).ravel()
    magnitudes = np.abs(values)
    smallest, largest = float(np.min(magnitudes)), float(np.max(magnitudes))
    kappa = math.inf if smallest == 0 else largest / smallest
    negatives = int(np.sum(values < 0))
    text = (f"n = {values.size}, |lambda| in [{smallest:.3g}, {largest:.3g}], "
            f"kappa = {kappa:.3g}, {negatives} negative")
    return text if dtype is None else f"{text}, {np.dtype(dtype).name}"


def safe_norm(v: Any) -> float:
    """The 2-norm of a NumPy vector without overflow or underflow at any magnitude.

    Divides by the power of two just above ``max|v_i|`` first (exact), as LAPACK's
    ``dnrm2`` scales: ``numpy.linalg.norm`` squares the entries and overflows for
    entries above about 1e154 in float64 (1e19 in float32).
    """
    v = np.asarray(v)
    largest = float(np.max(np.abs(v))) if v.size else 0.0
    if largest == 0.0 or not math.isfinite(largest):
        return largest
    scale = power_of_two(largest)
    return scale * float(np.linalg.norm(v.astype(np.promote_types(v.dtype, np.float64)) / scale))


def problems(
    *,
    size: int | st.SearchStrategy[int] = _SIZES,
    condition: float | st.SearchStrategy[float] = _CONDITIONS,
    negatives: int | None | st.SearchStrategy[int] = None,
    distribution: str | st.SearchStrategy[str] = "geometric",
    rhs: str | st.SearchStrategy[str] = "random",
    matrix_scale: float | str | st.SearchStrategy[float] = 1.0,
    rhs_scale: float | str | st.SearchStrategy[float] = 1.0,
    dtype: Any = np.float64,
    xp: Any = None,
) -> st.SearchStrategy[HermitianProblem]:
    r"""Strategy for a Hermitian matrix with a prescribed spectrum and its right-hand side.

    The spectrum is drawn as by :func:`~matfun.testing.spectra` (``size``,
    ``condition``, ``negatives``, ``distribution``), the eigenvectors are
    Haar-distributed (orthogonal, or unitary for a complex dtype), and ``g`` is drawn
    with them.

    Parameters
    ----------
    rhs : {"random", "eigenvector"} or strategy
        ``"random"``: dyadic entries in ``[-1, 1]`` (exact in every dtype);
        ``"eigenvector"``: a drawn eigenvector plus a random perturbation of relative
        size 0, 1e-12, 1e-8 or 1e-4 (drawn) -- the Krylov space of ``g`` is then
        (nearly) one-dimensional.
    matrix_scale, rhs_scale : float, "extreme" or strategy
        Powers of two ``c``, ``d`` multiplying the matrix and ``g`` (exact scalings:
        a correct solver of :math:`|H|^{-1} g` returns ``d/|c|`` times the unscaled
        answer). ``"extreme"`` draws ``2**k`` with ``|k|`` up to three quarters of the
        dtype's exponent range (about 1e-231 to 1e231 in float64, 1e-29 to 1e29 in
        float32), leaving room for the condition number; ``rhs_scale`` is then drawn so
        that the answer's scale ``d/c`` stays in that range too.
    dtype : numpy dtype or strategy
        float32, float64, complex64 or complex128 (the matrix and ``g``).
    xp : array namespace, optional
        Of ``matrix`` and ``g`` (NumPy by default).

    Examples
    --------
    >>> from hypothesis import find
    >>> p = find(problems(size=3, condition=100.0, rhs="eigenvector", dtype="complex128"),
    ...          lambda p: True)
    >>> p.matrix.dtype, p.g.shape, p.summary()
    (dtype('complex128'), (3,), 'n = 3, |lambda| in [1, 100], kappa = 100, 0 negative, complex128')
    """
    dtypes = _strategy(dtype, _check_dtype)
    spectrum = spectra(size=size, condition=condition, negatives=negatives,
                       distribution=distribution)
    kinds = _strategy(rhs, _check_rhs)
    # Plain values are checked now (with float64's range), drawn ones when drawn.
    _scales(matrix_scale, np.dtype(np.float64), "matrix_scale")
    _scales(rhs_scale, np.dtype(np.float64), "rhs_scale")

    @st.composite
    def draw_problem(draw: Callable) -> HermitianProblem:
        dtype = _check_dtype(draw(dtypes))
        real = np.dtype(np.float32) if dtype in (np.float32, np.complex64) else \
            np.dtype(np.float64)
        eigenvalues = draw(spectrum).astype(np.float64)
        n = eigenvalues.shape[0]
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        q = _haar(rng, n, complex_=dtype.kind == "c")
        c = draw(_scales(matrix_scale, real, "matrix_scale"))
        d = draw(_scales(rhs_scale, real, "rhs_scale", relative_to=c))
        matrix = (q * (c * eigenvalues)) @ q.conj().T
        matrix = ((matrix + matrix.conj().T) / 2).astype(dtype)
        kind = _check_rhs(draw(kinds))
        g = _dyadic(draw, n, complex_=dtype.kind == "c")
        if kind == "eigenvector":
            perturbation = draw(st.sampled_from(_PERTURBATIONS))
            g = q[:, draw(st.integers(0, n - 1))] + perturbation * g / np.linalg.norm(g)
        g = (d * g).astype(dtype)
        if xp is not None:
            matrix, g = xp.asarray(matrix), xp.asarray(g)
        return HermitianProblem(matrix, g, c * eigenvalues, q, c, d)

    return draw_problem()


def _haar(rng, n, *, complex_):
    """Haar-distributed orthogonal/unitary ``Q`` (Mezzadri 2007): QR with R's phases moved."""
    z = rng.standard_normal((n, n))
    if complex_:
        z = (z + 1j * rng.standard_normal((n, n))) / math.sqrt(2)
    q, r = np.linalg.qr(z)
    diagonal = np.diag(r)
    return q * (diagonal / np.abs(diagonal))


def _dyadic(draw, n, *, complex_):
    parts = 2 if complex_ else 1
    integers = draw(st.lists(st.integers(-(2**20), 2**20), min_size=parts * n,
                             max_size=parts * n))
    values = np.array(integers, dtype=np.float64) / 2**20
    g = values[:n] + 1j * values[n:] if complex_ else values
    if not np.any(g):
        g[0] = 1.0
    return g


def _scales(value, real, name, relative_to=1.0):
    if isinstance(value, st.SearchStrategy):
        return value
    if isinstance(value, str):
        if value != "extreme":
            raise ValueError(f"{name} must be a positive number, 'extreme' or a strategy, "
                             f"got {value!r}")
        reach = 3 * np.finfo(real).maxexp // 4
        # g's scale d also keeps the answer's, about d/c, within the same reach.
        k = math.frexp(relative_to)[1] - 1
        low, high = max(-reach, k - reach), min(reach, k + reach)
        return st.integers(low, high).map(lambda k: math.ldexp(1.0, k))
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return st.just(float(value))


def _check_dtype(dtype):
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = None
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be float32, float64, complex64 or complex128, got {dtype}")
    return dtype


def _check_rhs(kind):
    return check_choice(kind, "rhs", RHS_KINDS)

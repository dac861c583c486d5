r"""Hypothesis strategies for symmetric matrices with a prescribed spectrum, and vectors.

Symmetric matrices :math:`Q \mathrm{diag}(\lambda) Q^T` with a Haar-random orthogonal
``Q`` and a spectrum of prescribed size, condition number, number of negative
eigenvalues and distribution of magnitudes; right-hand sides made of dyadic numbers
(exact in float32 and float64). Public through :mod:`matfun.testing`, which
re-exports everything here: import it from there.

References
----------
Mezzadri (2007), *How to generate random matrices from the classical compact
groups*, Notices of the AMS 54(5).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ._exact_mp import _to_host

__all__ = [
    "DISTRIBUTIONS",
    "SymmetricProblem",
    "spectra",
    "symmetric_matrices",
    "vectors",
    "matrix_with_spectrum",
]

DISTRIBUTIONS = ("geometric", "uniform", "clustered")
# Relative spreads inside a cluster: exactly repeated eigenvalues, then ever looser.
_CLUSTER_SPREADS = (0.0, 1e-10, 1e-6, 1e-3)
_SIZES = st.integers(1, 10)
_CONDITIONS = st.floats(1.0, 1e3)


@dataclass(frozen=True)
class SymmetricProblem:
    """A symmetric matrix with its prescribed eigendecomposition.

    Attributes
    ----------
    matrix : array
        ``Q diag(eigenvalues) Q^T``, symmetrised, in the requested backend and dtype.
    eigenvalues : numpy.ndarray
        The prescribed spectrum (ascending, float64). The stored matrix's eigenvalues
        differ from it by rounding: about ``n eps max|lambda|`` in its dtype.
    eigenvectors : numpy.ndarray
        ``Q`` (float64), columns matching ``eigenvalues``.
    """

    matrix: Any
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray

    @property
    def condition(self) -> float:
        """``max|lambda| / min|lambda|`` of the prescribed spectrum."""
        magnitudes = np.abs(self.eigenvalues)
        return float(np.max(magnitudes) / np.min(magnitudes))


def spectra(
    *,
    size: int | st.SearchStrategy[int] = _SIZES,
    condition: float | st.SearchStrategy[float] = _CONDITIONS,
    negatives: int | None | st.SearchStrategy[int] = None,
    distribution: str | st.SearchStrategy[str] = "geometric",
    dtype: Any = np.float64,
) -> st.SearchStrategy[np.ndarray]:
    r"""Strategy for sorted 1-D NumPy spectra with :math:`|\lambda| \in [1, \kappa]`.

    Each argument is a value or a strategy drawing one. With two or more eigenvalues
    the magnitudes include 1 and ``condition`` exactly (before a float32 cast), so the
    condition number is ``condition``.

    Parameters
    ----------
    size : int or strategy
        Number of eigenvalues, at least 1.
    condition : float or strategy
        :math:`\kappa \ge 1`, ``max|lambda| / min|lambda|``.
    negatives : int, None or strategy
        Number of negative eigenvalues (capped at ``size``); ``None`` draws any
        number from 0 to ``size``. Which magnitudes are negative is drawn too.
    distribution : {"geometric", "uniform", "clustered"} or strategy
        Magnitudes geometrically or evenly spaced over :math:`[1, \kappa]`, or in 2
        to 4 clusters around geometrically spaced centres, each cluster exactly
        repeated or spread by a relative 1e-10, 1e-6 or 1e-3 (drawn).
    dtype : numpy dtype
        float64 or float32.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(spectra(size=4, condition=8.0, negatives=1), lambda spectrum: True)
    array([-1.,  2.,  4.,  8.])
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    # Plain values are checked now, drawn ones when drawn.
    sizes = _strategy(size, _check_size)
    conditions = _strategy(condition, _check_condition)
    counts = _strategy(negatives, _check_negatives)
    kinds = _strategy(distribution, _check_distribution)

    @st.composite
    def draw_spectrum(draw: Callable) -> np.ndarray:
        n = _check_size(draw(sizes))
        kappa = _check_condition(draw(conditions))
        kind = _check_distribution(draw(kinds))
        if kind == "geometric":
            magnitudes = np.geomspace(1.0, kappa, n)
        elif kind == "uniform":
            magnitudes = np.linspace(1.0, kappa, n)
        else:
            magnitudes = _clustered(draw, n, kappa)
        count = _check_negatives(draw(counts))
        if count is None:
            count = draw(st.integers(0, n))
        order = draw(st.permutations(range(n)))
        signs = np.ones(n)
        signs[list(order[: min(count, n)])] = -1.0
        return np.sort(signs * magnitudes).astype(dtype)

    return draw_spectrum()


def symmetric_matrices(
    *,
    size: int | st.SearchStrategy[int] = _SIZES,
    condition: float | st.SearchStrategy[float] = _CONDITIONS,
    negatives: int | None | st.SearchStrategy[int] = None,
    distribution: str | st.SearchStrategy[str] = "geometric",
    dtype: Any = np.float64,
    xp: Any = None,
) -> st.SearchStrategy[SymmetricProblem]:
    """Strategy for :class:`SymmetricProblem`: a random orthogonal similarity of a spectrum.

    The spectrum is drawn from :func:`spectra` (same arguments), the eigenvectors
    from :func:`matrix_with_spectrum` with a drawn seed. ``xp``: the array namespace
    of ``matrix`` (NumPy by default); eigenvalues and eigenvectors stay NumPy float64.

    Examples
    --------
    >>> from hypothesis import find
    >>> problem = find(symmetric_matrices(size=3, condition=10.0), lambda p: True)
    >>> problem.matrix.shape, round(problem.condition, 6)
    ((3, 3), 10.0)
    """
    spectrum = spectra(size=size, condition=condition, negatives=negatives,
                       distribution=distribution, dtype=dtype)

    @st.composite
    def draw_problem(draw: Callable) -> SymmetricProblem:
        eigenvalues = draw(spectrum)
        seed = draw(st.integers(0, 2**32 - 1))
        matrix, eigenvectors = matrix_with_spectrum(eigenvalues, seed=seed, xp=xp,
                                                    return_eigenvectors=True)
        return SymmetricProblem(matrix, eigenvalues.astype(np.float64), eigenvectors)

    return draw_problem()


def vectors(
    size: int | st.SearchStrategy[int],
    *,
    dtype: Any = np.float64,
    elements: st.SearchStrategy[float] | None = None,
    xp: Any = None,
) -> st.SearchStrategy[Any]:
    """Strategy for non-zero 1-D vectors of length ``size``.

    Default elements are the dyadic numbers ``i / 2**20`` in ``[-1, 1]``: exact in
    float32 and float64, shrinking towards 0, never subnormal. An all-zero draw is
    replaced by the first unit vector, so the oracle's relative error is defined.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(vectors(3), lambda v: v[1] > 0.5)
    array([0.        , 0.50000095, 0.        ])
    >>> find(vectors(2), lambda v: True)  # the zero vector is replaced by e_0
    array([1., 0.])
    """
    sizes = _strategy(size, _check_size)
    if elements is None:
        elements = st.integers(-(2**20), 2**20).map(lambda i: i / 2**20)

    @st.composite
    def draw_vector(draw: Callable) -> Any:
        n = _check_size(draw(sizes))
        v = np.array(draw(st.lists(elements, min_size=n, max_size=n)), dtype=dtype)
        if not np.any(v):
            v[0] = 1.0
        return v if xp is None else xp.asarray(v)

    return draw_vector()


def matrix_with_spectrum(
    eigenvalues: Any, *, seed: int = 0, xp: Any = None, return_eigenvectors: bool = False
) -> Any:
    r"""The symmetric matrix :math:`Q \mathrm{diag}(\lambda) Q^T` with a random orthogonal ``Q``.

    ``Q`` comes from the QR factorisation of a standard Gaussian matrix with the
    signs of ``R``'s diagonal moved into it, which makes ``Q`` Haar-distributed
    (Mezzadri 2007, *How to generate random matrices from the classical compact
    groups*). Built in float64 on the host, symmetrised, then returned in ``xp``
    (NumPy by default) with the eigenvalues' floating dtype (float32 in, float32 out).

    Parameters
    ----------
    eigenvalues : array_like
        1-D, finite.
    seed : int
        Seed of ``numpy.random.default_rng``: the same seed gives the same ``Q``.
    xp : array namespace, optional
    return_eigenvectors : bool
        Also return ``Q`` (NumPy float64).

    Examples
    --------
    >>> import numpy as np
    >>> H = matrix_with_spectrum([1.0, -2.0, 3.0], seed=1)
    >>> np.round(np.linalg.eigvalsh(H), 12)
    array([-2.,  1.,  3.])
    """
    values = _to_host(eigenvalues, "eigenvalues")
    if values.ndim != 1 or values.shape[0] == 0 or values.dtype.kind not in "biuf":
        raise ValueError(f"eigenvalues must be a non-empty real 1-D array, got shape "
                         f"{values.shape} and dtype {values.dtype}")
    if not np.all(np.isfinite(values)):
        raise ValueError("eigenvalues must be finite")
    dtype = values.dtype if values.dtype == np.float32 else np.dtype(np.float64)
    n = values.shape[0]
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
    matrix = (q * values.astype(np.float64)) @ q.T
    matrix = ((matrix + matrix.T) / 2).astype(dtype)
    if xp is not None:
        matrix = xp.asarray(matrix)
    return (matrix, q) if return_eigenvectors else matrix


def _strategy(value, check=None):
    if isinstance(value, st.SearchStrategy):
        return value
    if check is not None:
        check(value)
    return st.just(value)


def _check_size(n):
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"size must be a positive integer, got {n!r}")
    return int(n)


def _check_condition(kappa):
    if isinstance(kappa, bool) or not isinstance(kappa, int | float | np.floating) or not (
            math.isfinite(kappa) and kappa >= 1):
        raise ValueError(f"condition must be a finite number >= 1, got {kappa!r}")
    return float(kappa)


def _check_negatives(count):
    if count is not None and (isinstance(count, bool) or not isinstance(count, int | np.integer)
                              or count < 0):
        raise ValueError(f"negatives must be a non-negative integer or None, got {count!r}")
    return count


def _check_distribution(kind):
    if kind not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {kind!r}")
    return kind


def _clustered(draw, n, kappa):
    if n == 1:
        return np.ones(1)
    clusters = draw(st.integers(2, min(n, 4)))
    centres = np.geomspace(1.0, kappa, clusters)
    # The first members pin every centre (so 1 and kappa are there), the rest are drawn.
    membership = list(range(clusters)) + draw(
        st.lists(st.integers(0, clusters - 1), min_size=n - clusters, max_size=n - clusters))
    spread = draw(st.sampled_from(_CLUSTER_SPREADS))
    magnitudes = np.empty(n)
    seen = [0] * clusters
    for i, c in enumerate(membership):
        # Members spread inwards from their centre: up from 1, down from kappa.
        offset = spread * seen[c] / n
        magnitudes[i] = centres[c] * (1 - offset if c == clusters - 1 else 1 + offset)
        seen[c] += 1
    return np.clip(magnitudes, 1.0, kappa)

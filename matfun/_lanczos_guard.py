"""The guard screen of a Lanczos check: the Ritz pairs next to each pole, in ``O(k)``.

:func:`_near_poles` gives :func:`matfun._lanczos_checks.evaluate` the Ritz values on
either side of each pole of ``f`` and the weight of those whose residual interval holds
the pole (the full check's test on a subset of its pairs), before any ``O(k^2)`` work.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import numpy as np

from ._lanczos import LanczosProcess
from ._lanczos_values import ritz_values_of

__all__: list[str] = []


def _near_poles(alphas: np.ndarray, betas: np.ndarray, residual: float, function: Any,
                process: LanczosProcess, homogeneous: bool) -> tuple[np.ndarray, float]:
    """``(Ritz values next to a pole, the weight ||g|| ||f u_1|| of the unreliable ones)``.

    The Ritz value on either side of each pole (a Sturm count places the pole,
    bisection -- LAPACK ``stebz`` -- finds them, inverse iteration -- ``stein`` -- their
    vectors, ``O(j)`` each) get the full check's test (``|theta - pole| <= max(beta_j
    |u_j|, floor)``). They are a subset of the pairs the full check examines, so the
    weight is at most the full check's (up to rounding): a screen, never a stop. The
    bisection stops at the floor of the radii (not at ``eps ||T||``: 20% faster).
    """
    from scipy.linalg import lapack  # lazy: SciPy submodules are slow to import
    j = alphas.size
    s = process.scale
    floor = radii_floor(alphas, betas, process.eps)
    found, weights = [], []
    for pole in function.poles:
        centre = pole if homogeneous else pole / s
        below = _count_below(alphas, betas, centre, _SturmCache.of(process))
        low, high = max(1, below), min(j, below + 1)
        # Bisected to the floor of the radii only (not to eps ||T||): a screen's test.
        count, theta, block, split, info = lapack.dstebz(alphas, betas, 2, 0.0, 0.0, low,
                                                         high, floor, "B")
        if info != 0 or count == 0:
            continue  # no decision from a failed bisection: the full check decides
        theta = theta[:count]
        vectors, info = lapack.dstein(alphas, betas, theta, block, split)
        if info != 0:
            continue
        values = ritz_values_of(function, theta, process, homogeneous)
        radius = np.maximum(residual * np.abs(vectors[-1, :count]), floor)
        unreliable = ~np.isfinite(values) | (np.abs(theta - centre) <= radius)
        found.append(theta)
        weights.append((values * vectors[0, :count])[unreliable])
    if not found:
        return np.zeros(0), 0.0
    weight = np.concatenate(weights)
    if not np.all(np.isfinite(weight)):
        return np.concatenate(found), math.inf
    return np.concatenate(found), process.unit_norm * float(np.linalg.norm(weight))


def gershgorin(alphas: np.ndarray, betas: np.ndarray) -> float:
    """Gershgorin's bound on ``||T||``: ``max_i |alpha_i| + |beta_{i-1}| + |beta_i|``."""
    return float(np.max(np.abs(alphas) + np.concatenate([[0.0], np.abs(betas)])
                        + np.concatenate([np.abs(betas), [0.0]])))


def radii_floor(alphas: np.ndarray, betas: np.ndarray, eps: float) -> float:
    """The rounding floor of the guard screen's radii, ``10 j eps max(1, ||T||)``."""
    return 10 * alphas.size * eps * max(1.0, gershgorin(alphas, betas))


def leading_block(process: Any, j: int) -> tuple[np.ndarray, np.ndarray]:
    """``(alpha_1..j, beta_1..j-1)`` of ``T_j`` as float64 arrays (read-only views).

    The coefficients are only appended, so they are copied from the process' lists
    once per run (a list of 600 floats takes ~45 us to convert, at every check); the
    views must not be written to.
    """
    try:
        buffers = _Coefficients.of(process)
    except TypeError:  # not weakly referable: convert
        return np.asarray(process.alphas[:j], dtype=np.float64), np.asarray(
            process.betas[: j - 1], dtype=np.float64)
    return buffers.block(process, j)


class _Coefficients:
    """The Lanczos coefficients of a run as arrays, extended as the run grows."""

    _runs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        self.alphas = np.zeros(0)
        self.betas = np.zeros(0)
        self.length = 0

    @classmethod
    def of(cls, process: Any) -> _Coefficients:
        found = cls._runs.get(process)
        if found is None:
            found = cls._runs[process] = cls()
        return found

    def block(self, process: Any, j: int) -> tuple[np.ndarray, np.ndarray]:
        steps = len(process.alphas)
        if self.length < steps:
            if self.alphas.size < steps:
                capacity = max(2 * self.alphas.size, steps, 64)
                alphas, betas = np.zeros(capacity), np.zeros(capacity)
                alphas[: self.length] = self.alphas[: self.length]
                betas[: self.length] = self.betas[: self.length]
                self.alphas, self.betas = alphas, betas
            self.alphas[self.length: steps] = process.alphas[self.length: steps]
            self.betas[self.length: steps] = process.betas[self.length: steps]
            self.length = steps
        return self.alphas[:j], self.betas[: max(j - 1, 0)]


class _SturmCache:
    """Pivots of ``T_j - shift`` by ``j`` for each shift, kept per run (weakly).

    ``T_j`` is the leading block of every later ``T_k`` (the Lanczos coefficients are
    only appended), so the Sturm pivots of a later screen extend those of an earlier
    one: ``O(new steps)`` per screen instead of ``O(k)``, the same floats.
    """

    _runs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, process: Any) -> dict[float, tuple[list[float], list[int]]]:
        try:
            return cls._runs.setdefault(process, {})
        except TypeError:  # not weakly referable: no cache
            return {}


def _count_below(alphas: np.ndarray, betas: np.ndarray, shift: float,
                 cache: dict[float, tuple[list[float], list[int]]] | None = None) -> int:
    """Eigenvalues of ``T`` below ``shift``: negative pivots of ``T - shift`` (Sturm).

    ``cache`` (shift -> pivots and counts of the leading blocks) is read and extended.
    """
    pivots, counts = ([], []) if cache is None else cache.setdefault(shift, ([], []))
    j, tiny = alphas.size, float(np.finfo(np.float64).tiny)
    done = min(len(pivots), j)
    if done == j:
        return counts[j - 1] if j else 0
    count, pivot = (counts[-1], pivots[-1]) if done else (0, 1.0)
    squares = (betas[max(0, done - 1):] * betas[max(0, done - 1):]).tolist()
    offset = max(0, done - 1)
    for i, alpha in enumerate(alphas[done:].tolist(), start=done):
        pivot = alpha - shift - (squares[i - 1 - offset] / pivot if i else 0.0)
        if pivot == 0.0:
            pivot = -tiny
        count += pivot < 0
        pivots.append(pivot)
        counts.append(count)
    return count

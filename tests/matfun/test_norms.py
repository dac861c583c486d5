"""The series' one-pass sum of squares stays within its a-priori bound.

Oracle: the exact sum of squares, each square split exactly into floats (Dekker's
product: ``x^2 = hi^2 + 2 hi lo + lo^2`` with ``x = hi + lo`` split at 27 bits, every
part exact) and summed by ``math.fsum`` (correctly rounded), so the oracle's norm is
within ``eps`` of the exact one. The bound is :func:`matfun._norms.norm_error`.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import matfun
from matfun import _norms
from matfun._norms import BLOCK, norm_error, sum_of_squares

EPS = float(np.finfo(np.float64).eps)


def exact_norm(v):
    c = 134217729.0 * v  # 2^27 + 1: Veltkamp's split
    hi = c - (c - v)
    lo = v - hi
    parts = np.concatenate((hi * hi, 2.0 * hi * lo, lo * lo))
    return math.sqrt(math.fsum(parts.tolist()))


def relative_error(v):
    exact = exact_norm(v)
    return abs(math.sqrt(sum_of_squares(v)) - exact) / exact


def hostile(n, kind, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        return rng.standard_normal(n)
    if kind == "equal":  # every partial sum rounds: the worst case of a running sum
        return np.full(n, 1.0 + 2.0 ** -26)
    if kind == "swamp":  # one large entry first, the small ones lost one by one
        v = np.full(n, 2.0 ** -27)
        v[0] = 1.0
        return v
    if kind == "graded":  # magnitudes over 60 binades
        return rng.standard_normal(n) * 2.0 ** rng.uniform(-30, 30, n)
    raise ValueError(kind)


@pytest.mark.parametrize("n", [1, 7, 100, 4095, 4096, 4097, 4096 + BLOCK - 1, 99_856,
                               250_001])
@pytest.mark.parametrize("kind", ["gaussian", "equal", "swamp", "graded"])
def test_within_the_a_priori_bound(n, kind):
    v = hostile(n, kind)
    # + EPS: the oracle's own rounding (fsum correctly rounded, then a square root)
    assert relative_error(v) <= norm_error(n, EPS) + EPS


@given(st.integers(4096, 40_000), st.integers(0, 2**32 - 1), st.floats(0.0, 40.0))
def test_within_the_bound_for_random_lengths_and_spreads(n, seed, spread):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(n) * 2.0 ** rng.uniform(-spread, spread, n)
    assert relative_error(v) <= norm_error(n, EPS) + EPS


def test_the_bound_is_what_the_divergence_test_assumes():
    # matfun._engine: each norm of its 1 + 100 eps test within 26 eps for n < 2^31.
    assert norm_error(2**31 - 1, EPS) < 26 * EPS
    assert norm_error(10**5, EPS) < 22.5 * EPS
    bounds = [norm_error(n, EPS) for n in (10, 1000, 4096, 10**5, 10**7, 2**31 - 1)]
    assert bounds == sorted(bounds[:2]) + sorted(bounds[2:])  # monotone on each path


def test_pairwise_depth_follows_numpys_recursion():
    # Simulate NumPy's pairwise_sum on symbolic leaves: the depth is the longest path.
    def simulate(m):
        if m < 8:
            return max(m - 1, 0)
        if m <= 128:
            return (m // 8 - 1) + 3 + m % 8
        half = m // 2 - (m // 2) % 8
        return 1 + max(simulate(half), simulate(m - half))

    for m in [1, 7, 8, 9, 127, 128, 129, 260, 1562, 15_625, 2**20 + 3]:
        assert _norms._pairwise_depth(m) == simulate(m)
    # and it is a real bound: n equal terms 1 + 2^-26 summed by NumPy stay within it
    for m in (200, 1000, 5000):
        v = np.full(m, 1.0 + 2.0**-26)
        exact = m * (1.0 + 2.0**-26)
        depth = _norms._pairwise_depth(m)
        assert abs(float(np.add.reduce(v)) - exact) <= depth * EPS / 2 * exact * 1.0001


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("where", [0, 4095, 5000, 8191])
def test_a_non_finite_entry_makes_the_sum_non_finite(bad, where):
    v = np.ones(8192)
    v[where] = bad
    assert not math.isfinite(sum_of_squares(v))


def test_short_vectors_keep_the_pairwise_sum_of_squares():
    # below the blocked length the float is NumPy's vector_norm squared, as before
    v = hostile(4095, "graded")
    assert math.sqrt(sum_of_squares(v)) == float(np.linalg.vector_norm(v))


def test_the_series_on_a_long_diagonal_matches_the_closed_form():
    # n >= 4096: the engine takes the blocked norm. (H^2)^(-1/2) g = g_i / |lambda_i|.
    n = 6000
    rng = np.random.default_rng(3)
    lam = rng.uniform(1.0, 3.0, n) * rng.choice([-1.0, 1.0], n)
    g = rng.standard_normal(n)

    def matvec(v):
        return lam * v

    x, info = matfun.inv_sqrt_series(matvec, g, full_output=True)
    exact = g / np.abs(lam)
    assert info.converged
    error = np.linalg.norm(x - exact) / np.linalg.norm(exact)
    # the estimate is an upper bound here (every mode is visible in the terms); 10 eps
    # for the roundings of the final scaling
    assert error <= info.error_estimate + 10 * EPS

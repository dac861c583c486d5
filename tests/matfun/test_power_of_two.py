"""Rescaling by powers of two at the top of float64's range (entries >= 2**1023)."""

import math

import numpy as np
import pytest

import matfun
from matfun._validation import power_of_two


@pytest.mark.parametrize("value", [1.0, 3.0, -0.25, 5e-324, 2.0**1022, 2.0**1023, 1e308,
                                   np.finfo(float).max])
def test_power_of_two_divides_exactly_to_below_two(value):
    p = power_of_two(value)
    assert math.isfinite(p) and math.frexp(p)[0] == 0.5  # a power of two
    assert 1 <= abs(value) / p < 2  # 2**1023 is the largest float64 power of two


# |H|^{-1} g for H = diag(4, 2): (g_1 / 4, g_2 / 2) exactly. g_1 = 1e308 is finite, and so
# is the answer; until the cap, frexp(1e308) = 1024 made ldexp raise OverflowError.
H = np.diag([4.0, 2.0])
G = np.array([1e308, 1.0])
EXPECTED = np.array([2.5e307, 0.5])


@pytest.mark.parametrize("solve", [
    lambda: matfun.lanczos_apply(H, G, "inv_abs"),
    lambda: matfun.inv_sqrt(H, G),
    lambda: matfun.chebyshev_inv_sqrt(H, G),
    lambda: matfun.inv_sqrt_series(H, G),
    lambda: matfun.exact.abs_inv(H, G),
    lambda: matfun.exact.inv_sqrt_square(H, G),
], ids=["lanczos", "inv_sqrt", "chebyshev", "series", "exact_abs_inv", "exact_inv_sqrt"])
def test_methods_accept_entries_near_the_float64_maximum(solve):
    x = solve()
    assert np.all(np.isfinite(x))
    # Normwise: the default rtol is 1e-8 (and the series' tail estimate is looser);
    # the second entry is 1e-308 of ||x|| and carries no normwise information.
    assert abs(x[0] - EXPECTED[0]) <= 1e-6 * EXPECTED[0]


def test_dense_certificate_near_the_float64_maximum():
    box = matfun.spectrum.certified_interval(H * 4e307, like=np.ones(2))
    assert box.certificate == "eigh"
    assert box.lower <= 8e307 * (1 + 1e-12) and box.upper >= 1.6e308 * (1 - 1e-12)
    assert box.upper <= 1.6e308 * (1 + 1e-12)


# float32 at both ends of its range: 1.5 * 2**127 asked for a scale of 2**128 (inf in
# float32: the rescaled g became zeros or NaN); the smallest subnormals need 2**-149.
H32 = np.diag(np.array([1.0, 2.0], np.float32))
G32_LARGE = np.array([1.5 * 2.0**127, 1.0], np.float32)


@pytest.mark.parametrize("solve", [
    lambda g: matfun.lanczos_apply(H32, g, "inv_abs", rtol=1e-4),
    lambda g: matfun.inv_sqrt_series(H32, g, rtol=1e-4),
    lambda g: matfun.chebyshev_inv_sqrt(H32, g, rtol=1e-4),
    lambda g: matfun.exact.abs_inv(H32, g),
], ids=["lanczos", "series", "chebyshev", "exact"])
def test_float32_entries_near_its_maximum(solve):
    x = np.asarray(solve(G32_LARGE), dtype=np.float64)
    expected = np.array([1.5 * 2.0**127, 0.5])
    # Normwise (the contract): the second entry is 1e-38 of ||x||.
    assert np.all(np.isfinite(x))
    assert np.linalg.norm(x - expected) <= 1e-3 * np.linalg.norm(expected)


@pytest.mark.parametrize("value", [np.float32(2.0**-149), np.float32(3.0e38),
                                   np.float32(1.0), 5e-324, np.finfo(float).max])
def test_the_scale_is_representable_in_the_values_dtype(value):
    scale = type(value)(power_of_two(float(value)))
    assert np.isfinite(scale) and scale > 0
    assert 1 <= float(value) / float(scale) < 2

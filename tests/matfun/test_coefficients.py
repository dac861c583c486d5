import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matfun import abs_damped_coefficients, binomial_coefficients

EPS = np.finfo(np.float64).eps


def _mp_binomial(alpha, k):
    # (1 - z)^(-alpha) = sum_k rf(alpha, k) / k! z^k
    return mpmath.rf(alpha, k) / mpmath.factorial(k)


@pytest.mark.parametrize("alpha", [0.5, 1 / 3, 1.0, 2.5, -0.5, -1 / 3, -2.5, 3.0, -3.0, 7.25])
def test_binomial_matches_mpmath(alpha):
    n = 200
    c = binomial_coefficients(alpha, n)
    with mpmath.workdps(40):
        reference = np.array([float(_mp_binomial(mpmath.mpf(alpha), k)) for k in range(n)])
    # The cumulative product rounds once per factor: relative error <= 2 k eps.
    bound = 2 * np.arange(1, n + 1) * EPS * np.abs(reference)
    assert np.all(np.abs(c - reference) <= bound + 1e-300)


@pytest.mark.parametrize("alpha", [0.5, 1 / 3, 2.5, -0.5])
def test_binomial_stable_at_a_million_terms(alpha):
    n = 10**6
    c = binomial_coefficients(alpha, n)
    assert np.all(np.isfinite(c))
    with mpmath.workdps(40):
        for k in (10, 1000, 10**5, n - 1):
            reference = float(mpmath.binomial(k - 1 + mpmath.mpf(alpha), k))
            assert abs(c[k] - reference) <= 2 * (k + 1) * EPS * abs(reference)


def test_half_is_central_binomial_over_four_to_the_k():
    k = np.arange(30)
    expected = np.array([float(mpmath.binomial(2 * i, i) / mpmath.mpf(4) ** i) for i in k])
    np.testing.assert_allclose(binomial_coefficients(0.5, 30), expected, rtol=60 * EPS)


def test_positive_power_is_the_expansion_of_one_minus_z_to_the_alpha():
    # (1 - z)^2 = 1 - 2z + z^2 exactly; (1 - z)^(1/2): 1, -1/2, -1/8, -1/16.
    np.testing.assert_array_equal(binomial_coefficients(2.0, 5, positive=True),
                                  [1.0, -2.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(binomial_coefficients(0.5, 4, positive=True),
                               [1.0, -0.5, -0.125, -0.0625], rtol=4 * EPS)


@settings(max_examples=15)
@given(alpha=st.floats(-6, 6, allow_nan=False), z=st.floats(-0.5, 0.5))
def test_binomial_sums_to_the_power(alpha, z):
    c = binomial_coefficients(alpha, 200)
    # |z| <= 1/2: the tail after 200 terms is below 2^-200 * (growth k^|alpha|) -- negligible.
    total = np.polynomial.polynomial.polyval(z, c)
    np.testing.assert_allclose(total, (1 - z) ** (-alpha), rtol=1e-12)


def _mp_abs_damped(delta, n):
    # Oracle: the convolution (sqrt(1-z) + delta) f = 1 in mpmath at 50 digits.
    with mpmath.workdps(50):
        delta = mpmath.mpf(delta)
        half = mpmath.mpf(1) / 2
        b = [mpmath.binomial(half, j) * (-1) ** j for j in range(n)]
        d = [1 / (1 + delta)]
        for k in range(1, n):
            d.append(-mpmath.fsum(b[j] * d[k - j] for j in range(1, k + 1)) / (1 + delta))
        return np.array([float(x) for x in d])


DELTAS = [1e-3, 0.05, 0.5, 0.9, 0.99, 0.999, 1.0, 1.2, 2**0.5, 1.43, 1.46, 3.0]


@pytest.mark.parametrize("delta", DELTAS)
def test_abs_damped_matches_mpmath(delta):
    n = 150
    reference = _mp_abs_damped(delta, n)
    # Stable evaluations: error grows at most like k eps (the b_j's own rounding).
    np.testing.assert_allclose(abs_damped_coefficients(delta, n), reference,
                               rtol=4 * n * EPS)


@pytest.mark.parametrize("delta", [0.1, 0.9, 0.999])
def test_abs_damped_accurate_to_ten_thousand_terms(delta):
    n = 10**4
    d = abs_damped_coefficients(delta, n)
    # The tail sum d_k = -sum_{j>k} b_j r^(j-k-1) evaluated independently in mpmath.
    r = 1 - mpmath.mpf(delta) ** 2
    with mpmath.workdps(30):
        for k in (10, 999, n - 1):
            def b(j):
                return -mpmath.binomial(mpmath.mpf(1) / 2, j) * (-1) ** j

            reference = mpmath.nsum(lambda j, k=k: b(j) * r ** (j - k - 1), [k + 1, mpmath.inf])
            assert abs(d[k] - float(reference)) <= 1e-10 * float(reference)


def test_abs_damped_forward_recurrence_would_fail_but_ours_does_not():
    # The reference code's forward recurrence at delta = 0.9 is already 2.2x the true value
    # at k = 19 in float64 (rounding amplified by 1/(1 - delta^2) per step).
    delta, n = 0.9, 20
    r = 1 - delta**2
    b = binomial_coefficients(0.5, n, positive=True)
    forward = [(1 - delta) / r]
    for k in range(1, n):
        forward.append((forward[-1] + b[k]) / r)
    reference = _mp_abs_damped(delta, n)
    assert abs(forward[19] - reference[19]) / reference[19] > 0.01
    assert abs(abs_damped_coefficients(delta, n)[19] - reference[19]) <= 1e-13 * reference[19]


def test_abs_damped_zero_delta_is_binomial_half():
    np.testing.assert_array_equal(abs_damped_coefficients(0.0, 50), binomial_coefficients(0.5, 50))


@settings(max_examples=15)
@given(delta=st.floats(0.0, 5.0), z=st.floats(-0.5, 0.5))
def test_abs_damped_sums_to_the_function(delta, z):
    d = abs_damped_coefficients(delta, 120)
    np.testing.assert_allclose(np.polynomial.polynomial.polyval(z, d),
                               1 / (np.sqrt(1 - z) + delta), rtol=1e-12)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: binomial_coefficients(float("nan"), 3), ValueError, "alpha must be finite"),
        (lambda: binomial_coefficients("a", 3), TypeError, "alpha must be a real number"),
        (lambda: binomial_coefficients(0.5, -1), ValueError, "n must be non-negative"),
        (lambda: binomial_coefficients(0.5, 2.0), TypeError, "n must be an integer"),
        (lambda: abs_damped_coefficients(-0.1, 3), ValueError, "delta must be non-negative"),
        (lambda: abs_damped_coefficients(float("inf"), 3), ValueError, "delta must be finite"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_zero_length():
    assert binomial_coefficients(0.5, 0).shape == (0,)
    assert abs_damped_coefficients(0.5, 0).shape == (0,)

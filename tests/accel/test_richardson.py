"""Richardson extrapolation in 1/(n + 1) against zeta(2) and mpmath.richardson."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accel._result import Status
from accel.richardson import _weights, richardson
from tests._helpers import xp_assert_close

EPS = np.finfo(np.float64).eps
ZETA2 = math.pi ** 2 / 6


def _zeta2_sums(count):
    return np.cumsum([1.0 / (k + 1) ** 2 for k in range(count)])


@pytest.mark.parametrize(("count", "order"), [(10, None), (16, None), (24, 8)])
def test_zeta2_as_accurate_as_mpmath(count, order):
    sums = _zeta2_sums(count)
    ours = float(richardson(sums, order=order))
    with mpmath.workdps(15):
        theirs, _ = mpmath.richardson([mpmath.mpf(float(s)) for s in sums])
    # mpmath in float64 precision on the same terms is the reference. The default
    # order is mpmath's (about m / 2); at 24 terms an explicit order 8 keeps the
    # weights' amplification of the terms' rounding (sum|w|) small.
    assert abs(ours - ZETA2) <= abs(float(theirs) - ZETA2)
    assert abs(ours - ZETA2) < 1e-8 if count > 10 else abs(ours - ZETA2) < 1e-5


def test_default_order_is_mpmaths():
    # mpmath's N = len // 2 - 1 (at least 1); the result reports the terms it read.
    result = richardson(_zeta2_sums(12), full_output=True)
    assert result.order == 5 and result.terms == 6


def test_weights_are_lagrange_weights():
    # Independent check: the weights reproduce 1, 1/N, ..., 1/N^k at x = 0 (only
    # the constant survives) and sum to 1.
    k, first = 5, 7
    w = _weights(k, first)
    nodes = 1.0 / (first + np.arange(k + 1))
    moments = [np.sum(w * nodes ** p) for p in range(k + 1)]
    # |w| sums to ~1e5 here: the moments are exact to eps * sum|w|.
    np.testing.assert_allclose(moments, [1.0] + [0.0] * k, atol=8 * EPS * np.abs(w).sum())


@given(
    limit=st.floats(-5, 5),
    coefficients=st.lists(st.floats(-3, 3), min_size=1, max_size=5),
    start=st.integers(0, 10),
)
def test_exact_on_its_model(limit, coefficients, start):
    k = len(coefficients)
    n = np.arange(start, start + k + 1)
    big_n = n + 1.0
    sums = limit + sum(c / big_n ** (p + 1) for p, c in enumerate(coefficients))
    result = richardson(sums, first_index=start, order=k)
    # Linear combination with weights w: rounding at most eps * sum |w| * max |s| per
    # term, times a few for the subtraction of the newest term.
    bound = 4 * (k + 1) * EPS * np.abs(_weights(k, start + 1)).sum() * np.max(np.abs(sums))
    assert abs(float(result) - limit) <= bound + EPS * abs(limit)


@given(power=st.integers(-30, 30))
def test_scaling_by_powers_of_two_is_exact(power):
    sums = _zeta2_sums(8)
    assert float(richardson(sums * 2.0 ** power)) == float(richardson(sums)) * 2.0 ** power


def test_vectors_and_backends(xp):
    sums = np.stack([_zeta2_sums(10), 2 * _zeta2_sums(10)], axis=1)
    result = richardson(xp.asarray(sums), order=9)
    # Backends may sum in another order: the difference is bounded by the rounding
    # of sum_i w_i (s_i - s_last), i.e. eps * sum|w| * max|s_i - s_last| per column.
    spread = np.max(np.abs(sums - sums[-1]), axis=0)
    atol = 4 * EPS * np.abs(_weights(9, 1)).sum() * float(np.max(spread))
    xp_assert_close(result, richardson(sums, order=9), rtol=0, atol=atol, check_dtype=False,
                    xp=xp)
    assert abs(float(result[1]) - 2 * ZETA2) < 1e-8


def test_alternating_sequence_uses_every_other_term():
    # Leibniz's series: the even partial sums converge like a polynomial in 1/N.
    sums = np.cumsum([4 * (-1.0) ** k / (2 * k + 1) for k in range(20)])
    result = richardson(sums, full_output=True)
    with mpmath.workdps(15):
        theirs, _ = mpmath.richardson([mpmath.mpf(float(s)) for s in sums])
    error = abs(float(result.estimate) - math.pi)
    assert error <= abs(float(theirs) - math.pi)  # 2.7e-7 against mpmath's 5.5e-7
    assert error <= 3 * result.error  # the reported error is honest
    assert result.terms == 2 * result.order + 1


def test_geometric_repeats_are_not_converged():
    # The case: 60 partial sums of sum 2^-k, the last ones exactly 2.0.
    result = richardson(np.cumsum(0.5 ** np.arange(60)), full_output=True)
    assert result.status is not Status.CONVERGED
    assert abs(float(result.estimate) - 2.0) <= 3 * result.error


def test_insufficient_and_bad_input():
    assert richardson(np.asarray([1.0]), full_output=True).status is Status.INSUFFICIENT_TERMS
    with pytest.raises(TypeError, match="first_index must be an integer"):
        richardson(_zeta2_sums(4), first_index=1.0)

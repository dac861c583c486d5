"""Iterated Aitken delta-squared: exactness, fixed points, breakdown."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accel._result import Status
from accel.aitken import aitken
from accel.levin import levin
from tests._helpers import to_numpy, xp_assert_close

EPS = np.finfo(np.float64).eps
COS_FIXED_POINT = 0.7390851332151607  # the Dottie number, root of x = cos x


def _cos_iterates(count):
    x = [1.0]
    for _ in range(count - 1):
        x.append(math.cos(x[-1]))
    return np.asarray(x)


def test_fixed_point_iteration():
    x = _cos_iterates(13)
    # The raw iteration converges linearly (rate |sin x*| = 0.67): error 2e-3 here.
    assert abs(x[-1] - COS_FIXED_POINT) > 1e-3
    # Iterated Aitken: measured error 4e-12 with 6 steps; the nonlinearity of cos
    # limits each step to a quadratic gain, so 1e-10 is the guaranteed ballpark.
    assert abs(float(aitken(x)) - COS_FIXED_POINT) < 1e-10
    assert abs(float(aitken(x, order=1)) - COS_FIXED_POINT) < 1e-5


def test_alternating_harmonic_matches_levin_t_order_1():
    sums = np.cumsum([(-1.0) ** k / (k + 1) for k in range(9)])
    # Aitken's delta^2 and Levin's t of order 1 are the same rational function of
    # three terms (two algebraically equal formulas: rounding differs by a few ulps).
    assert float(aitken(sums, order=1)) == pytest.approx(float(levin(sums, order=1)),
                                                         rel=8 * EPS)
    assert abs(float(aitken(sums)) - math.log(2)) < 1e-7


@given(
    limit=st.floats(-10, 10),
    coefficient=st.floats(0.1, 10),
    ratio=st.one_of(st.floats(-0.95, -0.05), st.floats(0.05, 0.95)),
    start=st.integers(0, 20),
)
def test_exact_on_geometric_sequences(limit, coefficient, ratio, start):
    n = np.arange(start, start + 3)
    sums = limit + coefficient * ratio ** n
    # One delta^2 step on S + c r^n: the correction (Delta s)^2 / Delta^2 s has
    # relative rounding of a few eps on |c r^n| / (1 - r)^2 (the cancellation in the
    # second difference), added to the eps |S| of the last term.
    size = abs(limit) + coefficient * abs(ratio) ** start / (1 - ratio) ** 2
    assert abs(float(aitken(sums)) - limit) <= 16 * EPS * size


@given(power=st.integers(-30, 30), ratio=st.floats(-0.9, 0.9).filter(lambda r: abs(r) > 0.05))
def test_scaling_by_powers_of_two_is_exact(power, ratio):
    sums = np.cumsum(ratio ** np.arange(9.0)) + 0.3
    assert float(aitken(sums * 2.0 ** power)) == float(aitken(sums)) * 2.0 ** power


def test_backends_agree(xp):
    sums = np.stack([np.cumsum((-0.5) ** np.arange(7.0)), _cos_iterates(7)], axis=1)
    result = aitken(xp.asarray(sums))
    xp_assert_close(result, aitken(sums), rtol=0, atol=0, check_dtype=False, xp=xp)


def test_arithmetic_sequence_breaks_down():
    # Second differences vanish: no step is defined; the last term stands.
    result = aitken(np.arange(5.0), full_output=True)
    assert result.status is Status.BREAKDOWN
    assert result.order == 0 and float(result.estimate) == 4.0
    assert math.isinf(result.error)


def test_breakdown_is_per_component():
    sums = np.stack([np.arange(5.0), 1 + 0.5 ** np.arange(5.0)], axis=1)
    result = aitken(sums, full_output=True)
    estimate = to_numpy(result.estimate)
    assert estimate[0] == 4.0 and abs(estimate[1] - 1.0) < 1e-15
    assert result.status is Status.BREAKDOWN


def test_converged_sequence():
    # CONVERGED needs the four runs: the 3 terms Aitken reads and 3 more (accel._honest)
    result = aitken(np.full(6, 3.0), full_output=True)
    assert result.status is Status.CONVERGED and float(result.estimate) == 3.0
    assert aitken(np.full(5, 3.0), full_output=True).status is Status.INSUFFICIENT_TERMS


def test_insufficient_and_bad_order():
    assert aitken(np.asarray([1.0, 2.0]), full_output=True).status is Status.INSUFFICIENT_TERMS
    with pytest.raises(ValueError, match="order must be at least 1"):
        aitken(np.arange(5.0), order=0)
    with pytest.raises(TypeError, match="must all come from one array library|array"):
        aitken([1.0, 2.0, 3.0])

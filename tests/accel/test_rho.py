"""Wynn's rho algorithm: exact on rational sequences, logarithmic series, breakdown."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from accel._result import Status
from accel.epsilon import shanks
from accel.rho import rho
from tests._helpers import xp_assert_close
from tests.accel.test_epsilon import running_error_bound

EPS = np.finfo(np.float64).eps


def rho_weight(column):
    return float(column)


@st.composite
def rational_sequences(draw):
    """s_n = (S n^2 + p1 n + p0) / (n^2 + q1 n + q0) with poles away from the window."""
    degree = draw(st.integers(1, 2))
    limit = draw(st.floats(-2.0, 2.0))
    roots = [draw(st.floats(0.5, 4.0)) for _ in range(degree)]  # Q(n) = prod (n + r_i) > 0
    numerator = [draw(st.floats(0.5, 3.0)) * draw(st.sampled_from([-1.0, 1.0]))
                 for _ in range(degree)]
    # P - S Q of full degree l - 1 with no root in common with Q: truly degree (l, l)
    low = np.polynomial.Polynomial(numerator)
    assume(all(abs(low(-r)) >= 0.1 for r in roots))
    assume(degree == 1 or abs(roots[0] - roots[1]) >= 0.1)
    start = draw(st.integers(0, 20))
    n = np.arange(start, start + 2 * degree + 1, dtype=np.float64)
    denominator = np.prod([n + r for r in roots], axis=0)
    leading = limit * denominator
    lower = sum(c * n ** i for i, c in enumerate(numerator))
    terms = (leading + lower) / denominator
    # Horner-free evaluation: about 4 degree roundings of the numerator's and
    # denominator's magnitudes, then one division
    data_error = 4 * (degree + 1) * EPS * (np.abs(leading) + np.abs(lower)) / denominator
    return degree, limit, terms, data_error


@given(rational_sequences())
def test_rho_of_order_l_is_exact_on_degree_l_rational_sequences(case):
    degree, limit, terms, data_error = case
    result = rho(terms, full_output=True)
    assert result.order == degree
    assert abs(float(result.estimate) - limit) <= running_error_bound(terms, data_error,
                                                                      weight=rho_weight)


def test_rho_on_zeta2_beats_the_epsilon_algorithm():
    terms = np.cumsum(1.0 / np.arange(1, 16) ** 2)
    limit = math.pi ** 2 / 6
    error = abs(float(rho(terms)) - limit)
    # 1/n asymptotics: rho is built for them, Wynn's epsilon is not
    assert error < 1e-10
    assert abs(float(shanks(terms)) - limit) > 1e6 * error


def test_rho_is_componentwise(xp):
    n = np.arange(5.0)[:, None]
    terms = np.array([1.0, -3.0]) + np.array([2.0, 0.5]) / (n + np.array([1.0, 3.0]))
    result = rho(xp.asarray(terms), full_output=True)
    xp_assert_close(result.estimate, np.array([1.0, -3.0]), rtol=1e-13, xp=xp,
                    check_dtype=False)
    for j in range(2):
        assert float(rho(terms[:, j])) == float(rho(terms)[j])


def test_rho_weights_are_the_column_index():
    # rho_2 = s_1 + 2 / (rho_1^(1) - rho_1^(0)), rho_1 = 1 / (s_{j+1} - s_j)
    terms = np.array([1.0, 3.0, 4.0])
    rho1 = 1.0 / np.diff(terms)
    assert float(rho(terms)) == pytest.approx(terms[1] + 2.0 / (rho1[1] - rho1[0]), rel=4 * EPS)


def test_rho_breakdown_and_convergence():
    # s_n = n + 1 has rho_1 = 1 everywhere: rho_2 divides by an exact zero
    broken = rho(np.array([1.0, 2.0, 3.0]), full_output=True)
    assert broken.status == Status.BREAKDOWN and float(broken.estimate) == 3.0
    assert rho(np.full(6, 2.0), full_output=True).status == Status.CONVERGED


def test_rho_bad_input():
    with pytest.raises(ValueError, match="order"):
        rho(np.arange(5.0), order=0)
    with pytest.raises(ValueError, match="finite"):
        rho(np.array([1.0, np.inf, 2.0]))
    with pytest.raises(TypeError):
        rho(np.arange(5.0), inverse="samelson")  # componentwise only: no such option

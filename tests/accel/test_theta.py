"""Brezinski's theta algorithm: Lubkin's W, a full-table reference, breakdown."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accel._result import Status
from accel.theta import theta
from tests._helpers import xp_assert_close

EPS = np.finfo(np.float64).eps


def _theta_table(sums, k):
    """Full theta table in mpmath at 50 digits (an independent, direct transcription)."""
    with mpmath.workdps(50):
        s = [mpmath.mpf(float(x)) for x in sums]
        table = {(-1, n): mpmath.mpf(0) for n in range(len(s) + 1)}
        table.update({(0, n): s[n] for n in range(len(s))})
        for c in range(2 * k):
            for n in range(len(s)):
                if c % 2 == 0 and (c, n + 1) in table:
                    table[c + 1, n] = table[c - 1, n + 1] + 1 / (table[c, n + 1] - table[c, n])
                elif c % 2 == 1 and (c, n + 2) in table:
                    table[c + 1, n] = table[c - 1, n + 1] + (
                        (table[c - 1, n + 2] - table[c - 1, n + 1])
                        * (table[c, n + 2] - table[c, n + 1])
                        / (table[c, n + 2] - 2 * table[c, n + 1] + table[c, n]))
        return table[2 * k, 0]


def _lubkin(s):
    """Lubkin's W transform of s_0..s_3 (its closed form, Weniger 1989 eq. 10.3-7)."""
    d = np.diff(s)
    d2 = np.diff(s, 2)
    return s[1] - d[0] * d[1] * d2[1] / (d[2] * d2[0] - d[0] * d2[1])


def test_theta2_is_lubkin_w():
    sums = np.cumsum(1.0 / np.arange(1, 5) ** 2)
    assert float(theta(sums, order=1)) == pytest.approx(_lubkin(sums), rel=64 * EPS)


@pytest.mark.parametrize(("terms", "limit", "tol"), [
    # Leibniz, 13 terms (order 4): measured error 1e-12 (alternating: well conditioned)
    ([4 * (-1.0) ** k / (2 * k + 1) for k in range(13)], math.pi, 1e-10),
    # zeta(2), logarithmic, 16 terms (order 5): measured 3e-10, where epsilon fails.
    # (More terms do not help in float64: at 22 terms the rounding reaches 3e-8.)
    ([1.0 / (k + 1) ** 2 for k in range(16)], math.pi ** 2 / 6, 1e-9),
])
def test_known_limits_and_full_table(terms, limit, tol):
    sums = np.cumsum(terms)
    result = theta(sums, full_output=True)
    assert abs(float(result.estimate) - limit) < tol
    reference = float(_theta_table(sums, result.order))
    # same transform in exact arithmetic: the difference is the float64 rounding,
    # amplified by the table's differences (measured 1e-13 and 7e-12); a tenth of
    # the accuracy asked keeps this a check of the algorithm, not of the rounding.
    assert abs(float(result.estimate) - reference) <= 0.1 * tol


@given(
    limit=st.floats(-10, 10),
    coefficient=st.floats(0.1, 10),
    ratio=st.one_of(st.floats(-0.9, -0.1), st.floats(0.1, 0.9)),
)
def test_exact_on_geometric_sequences(limit, coefficient, ratio):
    sums = limit + coefficient * ratio ** np.arange(4.0)
    # theta_2 (Lubkin W) reproduces S + c r^n; the nested differences amplify the
    # rounding of |c| by up to 1/(1 - r)^4 and a few hundred ulps of operations.
    size = abs(limit) + coefficient / (1 - ratio) ** 4
    assert abs(float(theta(sums)) - limit) <= 256 * EPS * size


@given(power=st.integers(-30, 30))
def test_scaling_by_powers_of_two_is_exact(power):
    sums = np.cumsum([(-1.0) ** k / (k + 1) for k in range(10)])
    assert float(theta(sums * 2.0 ** power)) == float(theta(sums)) * 2.0 ** power


def test_backends_agree(xp):
    sums = np.stack([np.cumsum([(-1.0) ** k / (k + 1) for k in range(10)]),
                     np.cumsum(0.5 ** np.arange(10.0))], axis=1)
    xp_assert_close(theta(xp.asarray(sums)), theta(sums), rtol=0, atol=0, check_dtype=False,
                    xp=xp)


def test_breakdown_and_insufficient():
    result = theta(np.arange(7.0), full_output=True)
    assert result.status is Status.BREAKDOWN and float(result.estimate) == 6.0
    assert theta(np.arange(3.0), full_output=True).status is Status.INSUFFICIENT_TERMS

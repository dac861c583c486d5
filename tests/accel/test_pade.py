"""Vector Padé approximants: exactness on rational series, Shanks for scalars, breakdown."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accel._result import Status
from accel.pade import pade
from accel.polynomial import mpe
from tests._helpers import to_numpy, xp_assert_close

EPS = np.finfo(np.float64).eps


def _rational_series(n, k, seed, start=0):
    """s_j = S + sum_{i<=k} v_i lambda_i^j: a vector series with k poles, any residues."""
    rng = np.random.default_rng(seed)
    poles = np.linspace(-0.85, 0.85, k) + rng.uniform(-0.05, 0.05, k)
    residues = rng.standard_normal((k, n))
    limit = rng.standard_normal(n)
    j = np.arange(start, start + 2 * k + 1, dtype=np.float64)[:, None]
    sums = limit + sum((poles[i] ** j) * residues[i] for i in range(k))
    return sums, limit, poles, residues


def _tolerance(sums, limit, poles):
    # The Padé linear system is a confluent Vandermonde-like matrix in the poles: its
    # conditioning is about prod_{i<l} 2/|lambda_i - lambda_l| / prod (1 - |lambda_i|)
    # (the separation and the distance of the poles from 1), times eps and the size.
    gaps = [abs(a - b) for i, a in enumerate(poles) for b in poles[i + 1:]]
    condition = np.prod([2 / g for g in gaps]) / np.prod(1 - np.abs(poles))
    return 256 * EPS * condition * np.max(np.abs(sums)) + 8 * EPS * np.max(np.abs(limit))


@given(n=st.integers(1, 4), k=st.integers(1, 4), seed=st.integers(0, 2**16),
       start=st.integers(0, 5))
def test_exact_on_vector_rational_series(n, k, seed, start):
    # Any number of poles relative to the dimension, residues arbitrary (even
    # dependent): the common-denominator approximant of degree k is exact.
    sums, limit, poles, _ = _rational_series(n, k, seed, start)
    result = pade(sums, full_output=True)
    assert result.order == k and result.terms == 2 * k + 1
    np.testing.assert_allclose(to_numpy(result.estimate), limit, rtol=0,
                               atol=_tolerance(sums, limit, poles))


def test_where_mpe_cannot_be_exact():
    # Three poles in two dimensions: the residues are dependent, MPE (at most order 2
    # in dimension 2) misses by 0.13, the Padé approximant of degree 3 does not.
    rng = np.random.default_rng(4)
    poles = np.asarray([0.8, -0.7, 0.5])
    residues, limit = rng.standard_normal((3, 2)), rng.standard_normal(2)
    j = np.arange(7.0)[:, None]
    sums = limit + sum(poles[i] ** j * residues[i] for i in range(3))
    assert np.max(np.abs(to_numpy(mpe(sums)) - limit)) > 1e-2
    np.testing.assert_allclose(to_numpy(pade(sums)), limit, rtol=0,
                               atol=_tolerance(sums, limit, poles))


@pytest.mark.parametrize(("terms", "limit"), [
    ([(-1.0) ** k / (k + 1) for k in range(11)], math.log(2)),
    ([4 * (-1.0) ** k / (2 * k + 1) for k in range(9)], math.pi),
    ([0.9 ** k * math.cos(k) for k in range(13)], None),
])
def test_scalars_are_the_shanks_transform(terms, limit):
    sums = np.cumsum(terms)
    with mpmath.workdps(40):
        table = mpmath.shanks([mpmath.mpf(float(s)) for s in sums])
        reference = float(table[-1][-1])  # e_k of the first term: 2k + 1 = all terms
    ours = float(pade(sums))
    # The scalar Padé approximant [N/k](1) is Shanks' e_k; mpmath's table at 40 digits
    # is the exact transform of these terms. The Hankel system is well conditioned for
    # alternating series; 1e4 eps allows its modest growth with k <= 6.
    assert abs(ours - reference) <= 1e4 * EPS * max(1.0, abs(reference))
    if limit is not None:
        with mpmath.workdps(15):
            theirs = float(mpmath.shanks([mpmath.mpf(float(s)) for s in sums])[-1][-1])
        assert abs(ours - limit) <= abs(theirs - limit) + 1e4 * EPS


@given(seed=st.integers(0, 2**16), power=st.integers(-20, 20), shift=st.floats(-50, 50))
def test_affine_equivariance(seed, power, shift):
    sums, limit, poles, _ = _rational_series(3, 2, seed)
    base = to_numpy(pade(sums))
    np.testing.assert_array_equal(to_numpy(pade(sums * 2.0 ** power)), base * 2.0 ** power)
    # Only differences enter: a translation changes the rounding of the terms only.
    np.testing.assert_allclose(to_numpy(pade(sums + shift)), base + shift, rtol=0,
                               atol=_tolerance(sums, limit, poles) * (1 + abs(shift)))


def test_backends_agree(xp):
    sums, limit, poles, _ = _rational_series(3, 2, seed=8)
    tolerance = _tolerance(sums, limit, poles)
    result = pade(xp.asarray(sums))
    xp_assert_close(result, pade(sums), rtol=0, atol=tolerance, check_dtype=False, xp=xp)
    xp_assert_close(result, limit, rtol=0, atol=tolerance, xp=xp)


def test_fewer_poles_than_the_order_converges():
    # One pole, order 2: the degree-2 system is singular; order 1 is exact: CONVERGED
    # (once three shorter runs confirm it: 6 terms).
    sums, limit, poles, _ = _rational_series(3, 1, seed=2)
    more = np.concatenate([sums, limit + (poles[0] ** np.arange(3.0, 6.0))[:, None]
                           * (sums[1] - limit) / poles[0]])
    result = pade(more, full_output=True)
    assert result.status is Status.CONVERGED and result.order == 1
    np.testing.assert_allclose(to_numpy(result.estimate), limit, atol=1e-13)


def test_breakdown_gives_the_last_term():
    # Constant differences: Q(z) = 1 - z, which vanishes at z = 1.
    result = pade(np.arange(5.0), full_output=True)
    assert result.status is Status.BREAKDOWN and float(result.estimate) == 4.0
    assert result.estimate.shape == ()


def test_insufficient_and_bad_input():
    assert pade(np.ones((2, 2)), full_output=True).status is Status.INSUFFICIENT_TERMS
    with pytest.raises(TypeError, match="order must be an integer"):
        pade(np.ones(5), order="2")

"""MPE and RRE: exactness on linear iterations, equivariance, backends, breakdown."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accel._result import Status
from accel.aitken import aitken
from accel.polynomial import mpe, rre
from tests._helpers import to_numpy, xp_assert_close
from tests.accel._models import linear_iteration

EPS = np.finfo(np.float64).eps
METHODS = [mpe, rre]


def _exactness_tolerance(iterates, limit, condition):
    # Least squares by QR: the coefficients carry a relative error ~ eps * cond of the
    # difference matrix, multiplied into the spread of the iterates around the limit.
    spread = np.max(np.abs(iterates - limit))
    return 64 * EPS * condition * spread + 8 * EPS * np.max(np.abs(limit))


@pytest.mark.parametrize("method", METHODS, ids=lambda f: f.__name__)
@given(d=st.integers(1, 4), extra=st.integers(0, 3), seed=st.integers(0, 2**16))
def test_exact_on_linear_iteration_from_d_plus_2_iterates(method, d, extra, seed):
    iterates, limit, condition = linear_iteration(d + extra + 1, d, d + 2, seed)
    result = method(iterates, full_output=True)
    assert result.order == d and result.terms == d + 2
    np.testing.assert_allclose(to_numpy(result.estimate), limit, rtol=0,
                               atol=_exactness_tolerance(iterates, limit, condition))


@pytest.mark.parametrize("method", METHODS, ids=lambda f: f.__name__)
def test_more_terms_than_needed_converge(method):
    # Orders above d meet a dependent difference column: the estimate of order d
    # stands, and since it annihilates the newest difference the status is CONVERGED.
    iterates, limit, condition = linear_iteration(6, 2, 7, seed=3)
    result = method(iterates, full_output=True)
    assert result.status is Status.CONVERGED and result.order == 2
    np.testing.assert_allclose(to_numpy(result.estimate), limit, rtol=0,
                               atol=_exactness_tolerance(iterates, limit, condition))


@pytest.mark.parametrize("method", METHODS, ids=lambda f: f.__name__)
@given(seed=st.integers(0, 2**16), power=st.integers(-20, 20), shift=st.floats(-50, 50))
def test_affine_equivariance(method, seed, power, shift):
    iterates, limit, condition = linear_iteration(5, 2, 5, seed)
    base = to_numpy(method(iterates))
    # Scaling by 2^p is exact in floating point and the weights are scale-invariant.
    np.testing.assert_array_equal(to_numpy(method(iterates * 2.0 ** power)), base * 2.0 ** power)
    # A translation changes only the rounding of the differences (|shift| eps each).
    moved = to_numpy(method(iterates + shift))
    tolerance = _exactness_tolerance(iterates, limit, condition) * (1 + abs(shift))
    np.testing.assert_allclose(moved, base + shift, rtol=0, atol=tolerance)


@pytest.mark.parametrize("method", METHODS, ids=lambda f: f.__name__)
def test_backends_agree_with_numpy(method, xp):
    iterates, limit, condition = linear_iteration(8, 3, 5, seed=11)
    result = method(xp.asarray(iterates))
    tolerance = _exactness_tolerance(iterates, limit, condition)
    xp_assert_close(result, method(iterates), rtol=0, atol=tolerance, check_dtype=False, xp=xp)
    xp_assert_close(result, limit, rtol=0, atol=tolerance, xp=xp)


@pytest.mark.parametrize("method", METHODS, ids=lambda f: f.__name__)
def test_scalar_sequences_are_aitken(method):
    sums = np.cumsum([(-1.0) ** k / (k + 1) for k in range(7)])
    result = method(sums, full_output=True)
    assert result.order == 1 and result.estimate.shape == ()
    # Aitken's delta^2 by another formula: a few ulps apart.
    assert float(result.estimate) == pytest.approx(float(aitken(sums[-3:])), rel=16 * EPS)


@pytest.mark.parametrize("method", METHODS, ids=lambda f: f.__name__)
def test_arithmetic_sequence_breaks_down(method):
    # Equal differences: MPE's weights sum to zero, RRE's difference column vanishes;
    # neither is a model the method can match, so BREAKDOWN with the last term.
    result = method(np.arange(6.0).reshape(3, 2), full_output=True)
    assert result.status is Status.BREAKDOWN and result.order == 0
    np.testing.assert_array_equal(to_numpy(result.estimate), [4.0, 5.0])


@pytest.mark.parametrize("method", METHODS, ids=lambda f: f.__name__)
def test_constant_sequence_has_converged(method):
    result = method(np.ones((6, 3)), full_output=True)  # 3 terms read + 3 prefix runs
    assert result.status is Status.CONVERGED
    np.testing.assert_array_equal(to_numpy(result.estimate), np.ones(3))


@pytest.mark.parametrize("method", METHODS, ids=lambda f: f.__name__)
def test_float32_and_complex(method, xp):
    iterates, limit, _ = linear_iteration(4, 1, 3, seed=5)
    result = method(xp.asarray(iterates, dtype=xp.float32))
    assert result.dtype == xp.float32
    # one pole, well separated: the float32 rounding of the terms, amplified ~10x
    np.testing.assert_allclose(to_numpy(result), limit, atol=100 * np.finfo(np.float32).eps)
    rotated = iterates * (1 + 1j) / np.sqrt(2)
    np.testing.assert_allclose(to_numpy(method(rotated)), limit * (1 + 1j) / np.sqrt(2),
                               atol=1e-13)


@pytest.mark.parametrize("method", METHODS, ids=lambda f: f.__name__)
def test_insufficient_and_bad_input(method):
    assert method(np.ones((2, 3)), full_output=True).status is Status.INSUFFICIENT_TERMS
    with pytest.raises(ValueError, match="order must be at least 1"):
        method(np.ones((5, 3)), order=-1)
    with pytest.raises(ValueError, match="seq must have shape"):
        method(np.ones((5, 3, 1)))

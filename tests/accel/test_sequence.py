"""The shared plumbing: validation, safe division, folding orders, joint summaries."""

import math

import numpy as np
import pytest

import accel
from accel._result import Status
from accel._sequence import (
    as_sequence,
    check_first_index,
    check_order,
    constants,
    fold_orders,
    safe_divide,
    summarize_joint,
)
from tests._helpers import to_numpy


def test_check_order():
    assert check_order(None) is None and check_order(np.int64(3)) == 3
    with pytest.raises(TypeError, match="order must be an integer, got True"):
        check_order(True)
    with pytest.raises(ValueError, match="order must be at least 1, got 0"):
        check_order(0)


def test_check_first_index():
    assert check_first_index(0) == 0
    with pytest.raises(ValueError, match="non-negative"):
        check_first_index(-2)
    with pytest.raises(TypeError, match="first_index must be an integer"):
        check_first_index(1.0)


def test_as_sequence_promotes_and_validates(xp):
    _, terms = as_sequence(xp.asarray([1, 2, 3]))
    assert xp.isdtype(terms.dtype, "real floating")
    with pytest.raises(ValueError, match="at least one term"):
        as_sequence(xp.zeros((0,)))
    with pytest.raises(TypeError):
        as_sequence([1.0, 2.0])


def test_safe_divide_masks_zero_denominators(xp):
    quotient, valid = safe_divide(xp, xp.asarray([1.0, 2.0]), xp.asarray([0.0, 4.0]))
    np.testing.assert_array_equal(to_numpy(quotient), [0.0, 0.5])
    np.testing.assert_array_equal(to_numpy(valid), [False, True])


def test_constants_follow_the_real_dtype(xp):
    like = xp.asarray([1.0], dtype=xp.float32)
    assert constants(xp, [0.5, 0.25], like).dtype == xp.float32


def test_fold_keeps_the_highest_valid_order(xp):
    candidates = [(xp.asarray([1.0, 1.0]), xp.asarray([True, True])),
                  (xp.asarray([2.0, 2.0]), xp.asarray([True, False])),
                  (xp.asarray([3.0, 3.0]), xp.asarray([False, True]))]
    fold = fold_orders(xp, candidates)
    np.testing.assert_array_equal(to_numpy(fold.estimate), [2.0, 3.0])
    np.testing.assert_array_equal(to_numpy(fold.previous), [1.0, 1.0])


def test_summarize_joint_statuses():
    terms = np.asarray([[0.0], [1.0], [1.5]])
    true, false = np.asarray(True), np.asarray(False)
    candidates = [(terms[-1], true), (np.asarray([2.0]), true), (np.asarray([9.0]), false)]
    broke = summarize_joint(np, candidates, terms=terms, exact=[false, false, false],
                            order=2, used=3)
    assert broke.status is Status.BREAKDOWN and broke.order == 1 and broke.error == 0.5
    exact = summarize_joint(np, candidates, terms=terms, exact=[false, true, false],
                            order=2, used=3)
    assert exact.status is Status.CONVERGED
    alone = summarize_joint(np, candidates[:1], terms=terms, exact=[false], order=0, used=1)
    assert math.isinf(alone.error)


def test_tail_error_is_the_geometric_tail():
    from accel._sequence import raw_tail_error, tail_error

    # s_m = 1 - q^m: the tail after s_m is exactly q^m = ||Delta_m|| q / (1 - q).
    q = 0.9
    terms = np.array([1 - q**m for m in range(6)])
    assert raw_tail_error(np, terms) == pytest.approx(q**5, rel=1e-12)
    # Alternating (q = -1/2): the tail is |Delta_m| / 3, smaller than the last step.
    terms = np.cumsum((-0.5) ** np.arange(8))
    assert raw_tail_error(np, terms) == pytest.approx(abs(terms[-1] - 2 / 3), rel=1e-12)
    assert tail_error(1.0, 1.5) == 1.0 and tail_error(2.0, None) == 2.0


def test_slowly_converging_sequence_that_is_helped_reads_accelerating():
    # Two geometric modes, the slow one at q = 0.99: the last raw step (~6e-3) is far
    # below the raw error (~0.6), so the old yardstick flagged every transform; Shanks
    # of order 2 is exact here, order 1 removes the slow mode.
    from accel import Status, shanks

    m = np.arange(30)
    terms = 2.0 + 0.99**m + 0.5 * 0.3**m
    for order in (1, 2):
        result = shanks(terms, order=order, full_output=True)
        assert abs(float(result.estimate) - 2.0) < 1e-2 * abs(terms[-1] - 2.0)
        assert result.status in (Status.ACCELERATING, Status.CONVERGED)


def test_erratic_sequence_gives_no_licence_to_a_wild_estimate():
    from accel import Status, richardson

    # Random-sign steps shrinking by 2 per term: the last two steps happen to grow
    # (q >= 1), which must not turn the raw yardstick into infinity. Richardson's
    # polynomial extrapolation in 1/n is meaningless here and far off.
    terms = np.cumsum(np.random.default_rng(1).standard_normal(12) * 0.5 ** np.arange(12))
    result = richardson(terms, order=11, full_output=True)
    assert abs(float(result.estimate) - terms[-1]) > 10
    assert result.status is Status.NOT_ACCELERATING


EXTENDED = [kind for kind in (np.longdouble, np.clongdouble)
            if np.finfo(kind).eps < np.finfo(np.float64).eps]


@pytest.mark.skipif(not EXTENDED, reason="long double is float64 on this platform")
@pytest.mark.parametrize("kind", EXTENDED, ids=lambda kind: np.dtype(kind).name)
@pytest.mark.parametrize("method", accel.methods())
def test_extended_precision_is_refused_by_name_in_batch_and_stream(method, kind):
    # It was accepted: Pade, MPE and RRE then stopped with NumPy's "array type float128
    # is unsupported in linalg", and the other methods' error estimates assumed a
    # precision their float64 constants do not have. Refused up front, naming the input.
    terms = np.cumsum(1.0 / np.arange(1, 13) ** 2).astype(kind)
    pattern = r"has dtype \w+, NumPy's extended precision, which is not supported"
    with pytest.raises(TypeError, match="seq " + pattern):
        getattr(accel, method)(terms)
    with pytest.raises(TypeError, match="term " + pattern):
        accel.accelerator(method).push(terms[0])
    with pytest.raises(TypeError, match="term must be numeric, got dtype <U1"):
        accel.accelerator(method).push(np.array("a"))

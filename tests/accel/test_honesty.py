"""Honest status and error for every method (accel._honest), against accel.testing.

Oracles: the classic sequences' limits to 40 digits (mpmath / closed forms) and exact
power-of-two scaling. Issue 10's adversarial cases are regression tests here.
"""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import accel
from accel import Status
from accel.testing import (
    check_accelerator,
    classic_sequences,
    sequence_limit,
    sequence_terms,
)

EPS = np.finfo(np.float64).eps
METHODS = accel.methods()
TRANSLATIVE = [m for m in METHODS if m != "levin"]  # Levin's first weight is s_0 itself
SEQUENCES = classic_sequences()


def _batch(method):
    transform = getattr(accel, method)
    return lambda terms, **options: transform(terms, full_output=True, **options)


# -- issue 10's cases -------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_two_equal_final_terms_are_not_convergence(method):
    # cos(k pi / 2) / k: every other term is zero, so the last two partial sums are
    # equal; the limit is -log(2)/2 and the last sum is 0.026 away.
    k = np.arange(1, 20)
    sums = np.cumsum(np.round(np.cos(k * np.pi / 2)) / k)
    result = _batch(method)(sums)
    assert result.status is not Status.CONVERGED
    true_error = abs(float(result.estimate) + math.log(2) / 2)
    assert true_error <= 3 * result.error


@pytest.mark.parametrize("method", ["pade", "aitken", "shanks", "levin", "theta", "mpe"])
@pytest.mark.parametrize("scale", [1e300, 1e-300, 2.0 ** 1000, 2.0 ** -1000])
def test_extreme_magnitudes(method, scale):
    sums = np.cumsum([(-1.0) ** j / (j + 1) for j in range(20)])
    scaled = _batch(method)(scale * sums)
    plain = _batch(method)(sums)
    # T(c s) = c T(s): the scaled error estimate bounds the distance to c log 2.
    assert abs(float(scaled.estimate) / scale - math.log(2)) <= 3 * scaled.error / scale
    assert math.isfinite(scaled.error) and scaled.error > 0
    if math.log2(scale).is_integer():  # exact scaling: bit for bit, status included
        assert float(scaled.estimate) == float(plain.estimate) * scale
        assert scaled.error == plain.error * scale and scaled.status is plain.status


def test_euler_series_is_summed_not_converged():
    # Levin u on 17 terms of sum (-1)^k k!: the CONVERGED with true error 2.5e-10.
    with mpmath.workdps(30):
        limit = float(mpmath.e * mpmath.e1(1))
    sums = np.cumsum([(-1.0) ** j * math.factorial(j) for j in range(17)])
    result = accel.levin(sums, variant="u", full_output=True)
    assert result.status is not Status.CONVERGED
    assert abs(float(result.estimate) - limit) <= 3 * result.error


def test_mpmath_levin_3_series_is_not_converged():
    sequence = next(s for s in SEQUENCES if s.name.startswith("mpmath test_levin_3"))
    terms, limit = sequence_terms(sequence), float(sequence_limit(sequence))
    for variant in ("t", "u", "v"):
        result = accel.levin(terms, variant=variant, full_output=True)
        assert result.status is not Status.CONVERGED
        assert abs(float(result.estimate) - limit) <= 3 * result.error


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_push_refuses_nan_and_inf_at_once(method, bad):
    stream = accel.accelerator(method, order=1)
    stream.push(np.asarray([1.0, 2.0]))
    with pytest.raises(ValueError, match="must be finite"):
        stream.push(np.asarray([bad, 2.0]))
    with pytest.raises(ValueError, match="must match the first term"):
        stream.push(np.asarray([1.0, 2.0, 3.0]))


# -- the classic set ---------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_classic_set_float64(method):
    # Every sequence, every length from 3: CONVERGED never under-reports by more than
    # 3x above rounding, and the sequences listing the method are accelerated.
    transform = getattr(accel, method)
    check_accelerator(lambda t: transform(t, full_output=True), name=method)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("method", METHODS)
def test_classic_set_low_precision(method, dtype):
    # Judged at the dtype's eps (float16 is transformed in float32): the same rule.
    transform = getattr(accel, method)
    check_accelerator(lambda t: transform(t, full_output=True), dtype=dtype, last=3)
    assert all(np.asarray(transform(sequence_terms(s, dtype=dtype))).dtype == dtype
               for s in SEQUENCES[:3])


# -- properties ---------------------------------------------------------------------

_usable = [s for s in SEQUENCES if s.kind != "divergent"]


@st.composite
def _case(draw, methods=METHODS):
    method = draw(st.sampled_from(methods))
    sequence = draw(st.sampled_from(_usable))
    count = draw(st.integers(3, sequence.count))
    return method, sequence, count


def _range(terms):
    magnitudes = np.abs(terms[terms != 0])
    return math.log2(float(magnitudes.min())), math.log2(float(magnitudes.max()))


@given(case=_case(), power=st.integers(-1000, 1000), negative=st.booleans())
def test_homogeneous_under_powers_of_two(case, power, negative):
    method, sequence, count = case
    terms = sequence_terms(sequence, count)
    low, high = _range(terms)
    assume(low + power > -1000 and high + power < 1000)  # stays normal and finite
    factor = (-1.0 if negative else 1.0) * 2.0 ** power
    scaled, plain = _batch(method)(factor * terms), _batch(method)(terms)
    np.testing.assert_array_equal(np.asarray(scaled.estimate),
                                  factor * np.asarray(plain.estimate))
    assert scaled.error == abs(factor) * plain.error
    assert scaled.status is plain.status and scaled.order == plain.order


@given(case=_case(), power=st.integers(-990, 990),
       mantissa=st.floats(1.0, 2.0, exclude_max=True))
def test_homogeneous_under_any_factor(case, power, mantissa):
    # T(c s) = c T(s) up to the rounding of c s: within the reported errors.
    method, sequence, count = case
    terms = sequence_terms(sequence, count)
    low, high = _range(terms)
    assume(low + power > -1000 and high + power < 1000)
    factor = mantissa * 2.0 ** power
    scaled, plain = _batch(method)(factor * terms), _batch(method)(terms)
    assume(Status.BREAKDOWN not in (scaled.status, plain.status))  # discontinuous there
    gap = float(np.linalg.norm(np.atleast_1d(np.asarray(scaled.estimate) / factor
                                             - np.asarray(plain.estimate))))
    assert gap <= 2 * max(plain.error, scaled.error / factor)


@given(case=_case(TRANSLATIVE), shift=st.floats(-1e3, 1e3))
def test_translative(case, shift):
    # T(s + t) = T(s) + t up to the rounding of s + t (eps |t| per term, within the
    # reported error of the shifted run, whose floor sees |s + t|).
    method, sequence, count = case
    terms = sequence_terms(sequence, count)
    shifted, plain = _batch(method)(terms + shift), _batch(method)(terms)
    assume(Status.BREAKDOWN not in (shifted.status, plain.status))
    gap = float(np.linalg.norm(np.atleast_1d(np.asarray(shifted.estimate) - shift
                                             - np.asarray(plain.estimate))))
    assert gap <= 2 * max(plain.error, shifted.error) + 8 * EPS * abs(shift)


@given(case=_case(), order=st.integers(1, 3), power=st.integers(-900, 900))
def test_streaming_equals_batch(case, order, power):
    method, sequence, count = case
    terms = sequence_terms(sequence, count) * 2.0 ** power
    stream = accel.accelerator(method, order=order)
    for j in range(count):
        stream.push(terms[j])
        streamed, batch = stream.result(), _batch(method)(terms[:j + 1], order=order)
        np.testing.assert_array_equal(np.asarray(streamed.estimate),
                                      np.asarray(batch.estimate))
        assert streamed.error == batch.error and streamed.status is batch.status


@given(case=_case(), power=st.integers(-900, 900))
def test_converged_means_known_to_the_error(case, power):
    method, sequence, count = case
    factor = 2.0 ** power
    result = _batch(method)(sequence_terms(sequence, count) * factor)
    limit = np.asarray(sequence_limit(sequence))
    # Compared in the unscaled units (exact division by a power of two).
    true_error = float(np.linalg.norm(np.atleast_1d(np.asarray(result.estimate) / factor
                                                    - limit)))
    rounding = 16 * EPS * float(np.linalg.norm(np.atleast_1d(limit)))
    if result.status is Status.CONVERGED:
        assert true_error <= max(3 * result.error / factor, rounding)


# -- windows of coarse data ---------------------------------------------------------


def test_float16_window_of_a_slow_sequence_is_not_converged():
    # zeta(3/2)'s partial sums 13..19 in float16 step 5-8 ulps a term, 0.45 below the
    # limit: theta's estimate agreed with its perturbed and shorter runs to 0.019 and
    # was reported CONVERGED (found by streaming every classic sequence through every
    # method and dtype, tests below). The steps are not resolved and do not settle.
    zeta = next(s for s in SEQUENCES if s.name.startswith("zeta(3/2)"))
    terms = sequence_terms(zeta, dtype=np.float16)[13:20]
    result = accel.theta(terms, order=1, full_output=True)
    limit = float(sequence_limit(zeta))
    assert abs(float(result.estimate) - limit) > 0.4
    assert result.status is not Status.CONVERGED


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # float16
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("method", METHODS)
def test_every_streamed_window_of_the_classic_sequences_is_honest(method, dtype):
    # The streams see sliding windows of the newest terms, not only prefixes: every
    # CONVERGED result along the way is within 10 error + 16 eps max|s| of the limit.
    eps = float(np.finfo(dtype).eps)
    for sequence in SEQUENCES:
        terms = sequence_terms(sequence, dtype=dtype)
        if not np.all(np.isfinite(terms)):
            continue  # float16 cannot hold these terms: refused at push (tested elsewhere)
        limit = sequence_limit(sequence).astype(np.float64)
        stream = accel.accelerator(method, order=1)
        for j, term in enumerate(terms):
            stream.push(term)
            result = stream.result()
            if result.status is Status.CONVERGED:
                allowed = 10 * result.error + 16 * eps * float(np.max(np.abs(terms[:j + 1])))
                error = np.max(np.abs(np.asarray(result.estimate, dtype=np.float64) - limit))
                assert error <= allowed, (sequence.name, j)


@pytest.mark.parametrize("steps, expected", [
    ([1e-3, 5e-4, 2.5e-4], True),  # resolved (every step >= 64 ulps of 1)
    ([4 * EPS, 2 * EPS, EPS], True),  # settled: ratio 1/2, tail EPS
    ([8 * EPS, 6 * EPS, 5 * EPS], False),  # coarse and slow: tail ~ 15 EPS / (1 - q) > 16
    ([5 * EPS, 5 * EPS], False),  # coarse and not shrinking
    ([3 * EPS, 0.0], True),  # the newest step zero: the data have stopped moving
])
def test_settled(steps, expected):
    from accel._sequence import settled
    assert settled(steps[0], steps[-1], min(steps), len(steps), EPS) is expected

"""Levin t, u, v and modified t against closed-form limits and mpmath.levin."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accel import accelerator as accel_accelerator
from accel._result import Status
from accel.levin import levin
from tests._helpers import to_numpy, xp_assert_close

EPS = np.finfo(np.float64).eps


def _partial_sums(terms):
    return np.cumsum(np.asarray(terms, dtype=np.float64))


ALTERNATING_HARMONIC = (_partial_sums([(-1.0) ** k / (k + 1) for k in range(14)]), math.log(2))
LEIBNIZ = (_partial_sums([4 * (-1.0) ** k / (2 * k + 1) for k in range(14)]), math.pi)
ZETA2 = (_partial_sums([1.0 / (k + 1) ** 2 for k in range(14)]), math.pi ** 2 / 6)
# Euler's divergent series sum (-1)^k k! = e E_1(1) (Borel sum); its partial sums are
# integers below 2^53, so the float64 terms are exact.
EULER = (_partial_sums([(-1.0) ** k * math.factorial(k) for k in range(18)]),
         float(mpmath.e * mpmath.e1(1)))


def _mpmath_levin(sums, variant, dps):
    with mpmath.workdps(dps):
        transform = mpmath.levin(method="levin", variant=variant)
        value, _ = transform.update_psum([mpmath.mpf(float(s)) for s in sums])
        return value


def _rounding_bound(sums, variant):
    """Forward-error bound of the transform of these float64 sums, from mpmath.

    Writing the result as ``T = sum_j lam_j s_j`` (``lam_j`` the normalised Levin
    weights, ``sum lam_j = 1``), rounding of order ``eps`` in each ``s_j`` and in
    each remainder estimate (relative error ``eps |s_j| / |a_j|`` from the
    subtraction ``a_j = s_j - s_{j-1}``) moves ``T`` by at most
    ``eps sum |lam_j| (|s_j| + |s_j - T| |s_j| / |a_j|)``; the factor ``4 (k + 2)``
    covers the accumulation over the ``k + 1`` terms and the recursion.
    """
    with mpmath.workdps(50):
        s = [mpmath.mpf(float(x)) for x in sums]
        a = [s[0]] + [s[j] - s[j - 1] for j in range(1, len(s))]
        count = len(s) - (1 if variant == "v" else 0)
        k = count - 1
        inverse = []
        for n in range(count):
            if variant == "t":
                inverse.append(1 / a[n])
            elif variant == "u":
                inverse.append(1 / ((n + 1) * a[n]))
            else:
                inverse.append((a[n] - a[n + 1]) / (a[n] * a[n + 1]))
        weights = [(-1) ** j * mpmath.binomial(k, j) * (mpmath.mpf(1 + j) / (1 + k)) ** (k - 1)
                   * inverse[j] for j in range(count)]
        total = mpmath.fsum(weights)
        lam = [w / total for w in weights]
        value = mpmath.fsum(lj * sj for lj, sj in zip(lam, s, strict=False))
        size = mpmath.fsum(abs(lam[j]) * (abs(s[j]) + abs(s[j] - value) * abs(s[j] / a[j]))
                           for j in range(count))
        return 4 * (k + 2) * EPS * float(size)


@pytest.mark.parametrize(
    ("series", "variant"),
    [(ALTERNATING_HARMONIC, "t"), (ALTERNATING_HARMONIC, "u"), (ALTERNATING_HARMONIC, "v"),
     (LEIBNIZ, "t"), (LEIBNIZ, "u"), (ZETA2, "u"), (ZETA2, "v"), (EULER, "t")],
    ids=["altharm-t", "altharm-u", "altharm-v", "leibniz-t", "leibniz-u", "zeta2-u", "zeta2-v",
         "euler-t"],
)
def test_same_accuracy_as_mpmath(series, variant):
    sums, limit = series
    ours = float(levin(sums, variant=variant))
    # The exact transform of these very float64 terms (mpmath at 50 digits): ours
    # must equal it up to the rounding bound of the transform's evaluation.
    exact = float(_mpmath_levin(sums, variant, 50))
    bound = _rounding_bound(sums, variant)
    assert abs(ours - exact) <= bound
    # ... and be as close to the limit as mpmath computing in float64 precision is,
    # up to that same rounding bound (mpmath's own rounding may land either way).
    mpmath_float = float(_mpmath_levin(sums, variant, 15))
    assert abs(ours - limit) <= abs(mpmath_float - limit) + 2 * bound


@pytest.mark.parametrize(("series", "tol"), [
    # the truncation error of the order-13 transforms on 14 terms, measured in mpmath at
    # 50 digits, is below 1e-15 for the alternating series: rounding dominates.
    (ALTERNATING_HARMONIC, 1e-14),
    (LEIBNIZ, 1e-13),
    # zeta(2), logarithmic: the exact transform's own error is 4e-10 (u, 14 terms).
    (ZETA2, 1e-9),
])
def test_known_limits(series, tol):
    sums, limit = series
    variant = "u" if series is ZETA2 else "t"
    assert abs(float(levin(sums, variant=variant)) - limit) <= tol * abs(limit)


def test_modified_t_is_levin_d_on_alternating_series():
    # w_n = a_{n+1}; against an independent evaluation of the explicit formula in mpmath.
    sums, limit = LEIBNIZ
    ours = float(levin(sums, variant="t_modified"))
    with mpmath.workdps(50):
        s = [mpmath.mpf(float(x)) for x in sums]
        a = [s[0]] + [s[j] - s[j - 1] for j in range(1, len(s))]
        k = len(s) - 2
        w = [(-1) ** j * mpmath.binomial(k, j) * (mpmath.mpf(1 + j) / (1 + k)) ** (k - 1)
             / a[j + 1] for j in range(k + 1)]
        exact = mpmath.fsum(wj * s[j] for j, wj in enumerate(w)) / mpmath.fsum(w)
    # Leibniz with 13 terms: weights are of one sign (alternating series), the
    # transform is well conditioned: rounding of a few ulps times k.
    assert abs(ours - float(exact)) <= 16 * 14 * EPS * abs(limit)
    assert abs(ours - limit) <= 1e-12


def test_order_uses_the_newest_terms_and_first_index():
    sums, _ = LEIBNIZ
    for order in (1, 3, 6):
        window = sums[-(order + 2):]
        # with first_index, the window's first term only forms a difference
        ours = levin(sums, variant="u", order=order, full_output=True)
        windowed = levin(window, variant="u", order=order, first_index=len(sums) - order - 2,
                         full_output=True)
        assert ours.order == windowed.order == order
        assert float(ours.estimate) == float(windowed.estimate)
        assert ours.terms == order + 2


def test_vectors_are_componentwise(xp):
    sums = np.stack([ALTERNATING_HARMONIC[0], LEIBNIZ[0], ZETA2[0]], axis=1)
    result = levin(xp.asarray(sums), variant="u")
    for column in range(3):
        xp_assert_close(result[column], levin(xp.asarray(sums[:, column]), variant="u"),
                        rtol=0, atol=0)


def test_float32_in_float32_out(xp):
    sums = xp.asarray(LEIBNIZ[0], dtype=xp.float32)
    result = levin(sums, variant="t", order=6)
    assert result.dtype == xp.float32
    # order 6 on Leibniz: truncation ~1e-9, well below float32 rounding (cond ~1)
    assert abs(float(result) - math.pi) <= 64 * np.finfo(np.float32).eps * math.pi


def test_zero_term_breaks_down_to_a_finite_estimate():
    # a_3 = 0: every order that reads it has a zero remainder estimate.
    sums = _partial_sums([1.0, -0.5, 0.25, 0.0, 0.125, -0.0625])
    result = levin(sums, variant="t", full_output=True)
    assert result.status is Status.BREAKDOWN
    assert result.order == 1  # orders 1 read a_4, a_5 only
    assert np.isfinite(to_numpy(result.estimate)).all()
    assert float(result.estimate) == float(levin(sums[-3:], variant="t", order=1,
                                                 first_index=3))


def test_converged_component_keeps_its_last_term():
    sums = np.stack([LEIBNIZ[0], np.full(14, 2.5)], axis=1)
    result = levin(sums, full_output=True)
    assert float(result.estimate[1]) == 2.5
    assert result.status is not Status.BREAKDOWN


def test_insufficient_terms():
    result = levin(np.asarray([1.0]), full_output=True)
    assert result.status is Status.INSUFFICIENT_TERMS and float(result.estimate) == 1.0
    assert levin(np.asarray([1.0, 0.5]), variant="v", full_output=True).status is (
        Status.INSUFFICIENT_TERMS)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"variant": "w"}, ValueError, "variant must be one of"),
    ({"beta": 0.0}, ValueError, "beta must be positive"),
    ({"beta": "1"}, TypeError, "beta must be a real number"),
    ({"order": 0}, ValueError, "order must be at least 1"),
    ({"order": 1.5}, TypeError, "order must be an integer"),
    ({"first_index": -1}, ValueError, "first_index must be non-negative"),
])
def test_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        levin(LEIBNIZ[0], **kwargs)


@pytest.mark.parametrize(("seq", "match"), [
    (np.ones((2, 2, 2)), "seq must have shape"),
    (np.asarray([1.0, np.nan]), "seq must be finite"),
])
def test_bad_sequences(seq, match):
    with pytest.raises(ValueError, match=match):
        levin(seq)


@given(
    ratio=st.floats(-0.9, -0.1),
    scale_power=st.integers(-20, 20),
    variant=st.sampled_from(["t", "u", "v", "t_modified"]),
    order=st.integers(1, 6),
)
def test_scaling_by_powers_of_two_is_exact(ratio, scale_power, variant, order):
    # Multiplying every term by 2^p is exact in floating point, and the transform is
    # homogeneous of degree 1 (s and w scale alike): the result must scale bitwise.
    sums = _partial_sums([ratio ** k / (k + 1) for k in range(10)])
    base = levin(sums, variant=variant, order=order)
    scaled = levin(sums * 2.0 ** scale_power, variant=variant, order=order)
    assert float(scaled) == float(base) * 2.0 ** scale_power


@given(
    ratio=st.floats(-0.9, -0.1),
    shift=st.floats(-100, 100),
    variant=st.sampled_from(["t", "u", "v", "t_modified"]),
)
def test_translation_equivariance_away_from_a0(ratio, shift, variant):
    # With first_index > 0 only differences of the terms enter the weights, so
    # T(s + b) = T(s) + b up to the rounding of s + b itself, amplified by the
    # weights: bound eps * |b| * sum|lam_j| * (1 + max |s_j| / |a_j|) computed here.
    sums = _partial_sums([ratio ** k / (k + 1) for k in range(10)])
    base = levin(sums, variant=variant, first_index=1)
    moved = levin(sums + shift, variant=variant, first_index=1)
    steps = np.abs(np.diff(sums))
    amplification = 2.0 ** 9 * (1 + (np.max(np.abs(sums)) + abs(shift)) / steps.min())
    assert abs(float(moved) - (float(base) + shift)) <= EPS * (abs(shift) + 1) * amplification


# -- the scalar remainder (E-algorithm form, the seed paper's reference code) -------


@pytest.mark.parametrize("variant", ["t", "u", "v"])
def test_scalar_remainder_on_a_rank_one_sequence_is_the_scalar_transform(variant):
    # s_n = S + g_n v: every difference is a multiple of v, so the one scalar
    # remainder is the scalar sequence's own (up to a constant factor, which the
    # normalised weights do not see): T(s) = S + T(g) v. first_index=1 keeps the
    # first term out of the weights (a_0 = s_0 would mix S in).
    g = np.cumsum([(-1.0) ** k / (k + 1) for k in range(12)])
    limit, direction = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.4, -1.2])
    sums = limit + g[:, None] * direction
    vector = levin(sums, variant=variant, remainder="scalar", first_index=1)
    scalar = float(levin(g, variant=variant, first_index=1))
    # Same weights applied to S + g_j v: rounding of eps * sum|w| * max|s_j|.
    np.testing.assert_allclose(vector, limit + scalar * direction, rtol=0, atol=1e-12)


def test_scalar_remainder_differs_from_componentwise_and_is_checked():
    from accel.testing import check_accelerator, classic_sequences

    vectors = classic_sequences("vector")
    rows = check_accelerator(lambda t: levin(t, remainder="scalar", full_output=True),
                             sequences=vectors)
    assert rows
    sums = np.stack([np.cumsum([(-1.0) ** k / (k + 1) for k in range(10)]),
                     np.cumsum([1.0 / (k + 1) ** 2 for k in range(10)])], axis=1)
    assert not np.allclose(levin(sums, remainder="scalar"), levin(sums))


def test_scalar_remainder_bad_value_and_stream():
    with pytest.raises(ValueError, match="remainder must be one of"):
        levin(np.ones((4, 2)), remainder="joint")
    with pytest.raises(ValueError, match="remainder must be one of"):
        accel_accelerator("levin", order=2, remainder="joint")
    stream = accel_accelerator("levin", order=2, remainder="scalar")
    sums = np.cumsum(np.stack([np.full(8, 0.5), np.full(8, -0.25)], axis=1) ** np.arange(8)[:,
                     None], axis=0)
    for term in sums:
        stream.push(term)
    np.testing.assert_array_equal(stream.estimate,
                                  levin(sums, order=2, remainder="scalar"))

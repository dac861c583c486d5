"""Wynn epsilon (Shanks) and Sablonnière: references, exactness, breakdown, bad input."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accel._result import AccelResult, Status
from accel.epsilon import sablonniere, shanks
from tests._helpers import to_numpy, xp_assert_close

EPS = np.finfo(np.float64).eps


def running_error_bound(terms, data_error, weight=lambda column: 1.0):
    """First-order rounding-error bound of the last entry of the (weighted) epsilon table.

    Wilkinson-style running bound: ``data_error[j]`` bounds the error of the term
    ``s_j``; each difference adds the errors of its two entries and one rounding,
    an inverse ``w / D`` (Samelson: ``w D / ||D||^2``, whose Jacobian has norm
    ``1 / ||D||^2``) turns an error ``d`` of ``D`` into ``w d / ||D||^2``, and each
    new entry adds a few roundings of its own size (``2 + n`` for the vector
    norm). Valid to first order, which is the regime of every test below (the
    bound stays far below the entries).
    """
    terms = np.asarray(terms)
    vector = terms.ndim == 2
    size = (lambda x: np.linalg.norm(x, axis=-1)) if vector else np.abs
    inverse = (lambda x: np.conj(x) / np.sum(np.abs(x) ** 2, axis=-1, keepdims=True)) if (
        vector) else (lambda x: 1.0 / x)
    roundings = 2 + (terms.shape[1] if vector else 1)
    before, before_error = np.zeros_like(terms), np.zeros(len(terms))
    current, error = terms, np.asarray(data_error, dtype=np.float64)
    column = 1
    while len(current) > 1:
        difference = current[1:] - current[:-1]
        difference_error = error[1:] + error[:-1] + EPS * np.maximum(size(current[1:]),
                                                                     size(current[:-1]))
        new = before[1:len(current)] + weight(column) * inverse(difference)
        new_error = (before_error[1:len(current)]
                     + weight(column) * difference_error / size(difference) ** 2
                     + roundings * EPS * size(new))
        before, before_error, current, error = current, error, new, new_error
        column += 1
    return error[0]


def partial_sums(terms):
    return np.cumsum(np.asarray(terms, dtype=np.float64))


def _fixed_point_cos(count):
    x = [1.0]
    for _ in range(count - 1):
        x.append(math.cos(x[-1]))
    return np.array(x)


with mpmath.workdps(40):
    DOTTIE = float(mpmath.findroot(lambda t: mpmath.cos(t) - t, 0.74))
    EULER_BOREL = float(mpmath.e * mpmath.e1(1))  # Borel sum of sum (-1)^k k!

# (name, 15 terms, exact limit): 15 is odd, so mpmath.shanks uses every term too
CLASSIC = [
    ("alternating harmonic", partial_sums([(-1.0) ** k / (k + 1) for k in range(15)]),
     math.log(2)),
    ("Leibniz", partial_sums([(-1.0) ** k / (2 * k + 1) for k in range(15)]), math.pi / 4),
    ("fixed point cos", _fixed_point_cos(15), DOTTIE),
    ("Euler divergent", partial_sums([(-1.0) ** k * math.factorial(k) for k in range(15)]),
     EULER_BOREL),
]


def _mpmath_shanks(terms):
    with mpmath.workprec(53):  # float64's precision: the same arithmetic budget
        return float(mpmath.shanks([mpmath.mpf(float(t)) for t in terms])[-1][-1])


@pytest.mark.parametrize("name, terms, limit", CLASSIC, ids=[c[0] for c in CLASSIC])
def test_classic_series_as_accurate_as_mpmath_shanks(name, terms, limit):
    result = shanks(terms, full_output=True)
    ours = float(result.estimate)
    error, reference_error = abs(ours - limit), abs(_mpmath_shanks(terms) - limit)
    # Same transform of the same terms at the same precision: the results differ
    # by rounding only, a few ulps of the limit, amplified on the divergent series
    # (its terms reach 14! ~ 9e10); that amplification is our reported rounding floor.
    assert error <= reference_error + max(8 * EPS * abs(limit), result.error)
    # and the acceleration is real: far better than the last partial sum
    assert error < 1e-3 * abs(terms[-1] - limit)


def test_classic_series_known_accuracy():
    # Measured facts that document the method (and catch regressions): 15 terms.
    errors = {name: abs(float(shanks(terms)) - limit) for name, terms, limit in CLASSIC}
    assert errors["alternating harmonic"] < 1e-11
    assert errors["Leibniz"] < 1e-11
    assert errors["fixed point cos"] < 1e-12
    assert errors["Euler divergent"] < 1e-3  # Padé of a Stieltjes series converges slowly


def test_zeta2_sablonniere_beats_plain_wynn_and_mpmath():
    terms = partial_sums([1.0 / (k + 1) ** 2 for k in range(15)])
    limit = math.pi ** 2 / 6
    error = abs(float(sablonniere(terms)) - limit)
    wynn_error = abs(float(shanks(terms)) - limit)
    mpmath_error = abs(_mpmath_shanks(terms) - limit)
    # logarithmic convergence: Wynn gains little, Sablonnière's weights gain 8 digits
    assert wynn_error > 1e-2 and mpmath_error > 1e-2
    assert error < 1e-9


RATIO_GRID = [sign * value / 10 for value in range(2, 10) for sign in (-1.0, 1.0)]


@st.composite
def geometric_modes(draw, max_modes=3):
    """S + sum_i c_i lam_i^m: distinct ratios 0.2 <= |lam| < 0.95, at least 0.05 apart."""
    grid = draw(st.lists(st.sampled_from(RATIO_GRID), min_size=1, max_size=max_modes,
                         unique=True))
    ratios = np.array([lam + math.copysign(draw(st.floats(0.0, 0.049)), lam) for lam in grid])
    coefficients = np.array([draw(st.floats(0.5, 2.0)) * draw(st.sampled_from([-1.0, 1.0]))
                             for _ in grid])
    return draw(st.floats(-2.0, 2.0)), ratios, coefficients


def _geometric_terms(limit, ratios, coefficients, count):
    modes = coefficients * ratios ** np.arange(count)[:, None]
    terms = limit + modes.sum(axis=1)
    # pow, multiply and a (k + 1)-term sum: k + 3 roundings of the magnitudes involved
    data_error = (len(ratios) + 3) * EPS * (abs(limit) + np.abs(modes).sum(axis=1))
    return terms, data_error


@given(geometric_modes())
def test_shanks_of_order_k_is_exact_on_k_geometric_modes(case):
    limit, ratios, coefficients = case
    k = len(ratios)
    terms, data_error = _geometric_terms(limit, ratios, coefficients, 2 * k + 1)
    result = shanks(terms, full_output=True)
    assert result.order == k and result.terms == 2 * k + 1
    assert abs(float(result.estimate) - limit) <= running_error_bound(terms, data_error)


@given(geometric_modes(max_modes=2), st.integers(-3, 3), st.floats(-5.0, 5.0))
def test_translation_and_scaling_equivariance(case, power, shift):
    limit, ratios, coefficients = case
    k = len(ratios)
    terms, data_error = _geometric_terms(limit, ratios, coefficients, 2 * k + 1)
    scale = 2.0 ** power
    moved = scale * terms + shift
    # T(a s + b) = a T(s) + b; both sides are exact here (k modes, order k), so
    # each is within its running bound of the exact a S + b
    moved_error = abs(scale) * data_error + EPS * np.abs(moved)
    bound = running_error_bound(moved, moved_error) + abs(scale) * running_error_bound(
        terms, data_error) + 2 * EPS * abs(scale * limit + shift)
    assert abs(float(shanks(moved)) - (scale * float(shanks(terms)) + shift)) <= bound


@given(st.lists(st.floats(-10, 10), min_size=3, max_size=9), st.integers(-4, 4))
def test_scaling_by_a_power_of_two_is_bitwise(values, power):
    # Scaling by 2^p and negation are exact in binary floating point, and every
    # step of the table (differences, inverses, near-zero tests) commutes with it.
    terms = np.array(values)
    for transform in (shanks, sablonniere):
        for sign in (1.0, -1.0):
            scaled = transform(sign * 2.0 ** power * terms, full_output=True)
            plain = transform(terms, full_output=True)
            np.testing.assert_array_equal(scaled.estimate, sign * 2.0 ** power * plain.estimate)
            assert scaled.status == plain.status and scaled.order == plain.order


@st.composite
def logarithmic(draw):
    limit = draw(st.floats(-2.0, 2.0))
    amplitude = draw(st.floats(0.1, 3.0)) * draw(st.sampled_from([-1.0, 1.0]))
    offset = draw(st.floats(0.1, 5.0))
    start = draw(st.integers(0, 50))
    n = np.arange(start, start + 3, dtype=np.float64)
    tail = amplitude / (n + offset)
    # a division, an add and the add in n + b: three roundings
    return limit, amplitude, offset, start, limit + tail, 3 * EPS * (abs(limit) + np.abs(tail))


@given(logarithmic())
def test_sablonniere_e2_is_exact_on_logarithmic_sequences(case):
    limit, _, _, _, terms, data_error = case
    bound = running_error_bound(terms, data_error, weight=lambda column: column // 2 + 1)
    assert abs(float(sablonniere(terms)) - limit) <= bound


@given(logarithmic())
def test_sablonniere_weights_change_the_result(case):
    limit, amplitude, offset, start, terms, data_error = case
    # Plain Wynn on S + a/(n + b) leaves half the error: e_2 = S + a / (2 (n0 + b + 1))
    wynn_closed_form = limit + amplitude / (2 * (start + offset + 1))
    bound = running_error_bound(terms, data_error)
    assert abs(float(shanks(terms)) - wynn_closed_form) <= bound + 4 * EPS * abs(
        wynn_closed_form)
    assert abs(float(sablonniere(terms)) - float(shanks(terms))) > 100 * bound


@st.composite
def linear_iterations(draw):
    """x_{m+1} = A x_m + b with a d-dimensional invariant error subspace; 2d + 1 iterates."""
    d = draw(st.integers(1, 3))
    n = d + draw(st.integers(0, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    basis, _ = np.linalg.qr(rng.normal(size=(n, n)))
    ratios = []
    while len(ratios) < d:
        lam = rng.uniform(0.2, 0.8) * rng.choice([-1.0, 1.0])
        if all(abs(lam - other) >= 0.2 for other in ratios):
            ratios.append(lam)
    A = basis[:, :d] @ np.diag(ratios) @ basis[:, :d].T
    fixed_point = rng.uniform(-2, 2, size=n)
    b = fixed_point - A @ fixed_point
    start = fixed_point + basis[:, :d] @ (rng.uniform(0.5, 2, size=d) * rng.choice([-1, 1], d))
    iterates = [start]
    for _ in range(2 * d):
        iterates.append(A @ iterates[-1] + b)
    iterates = np.stack(iterates)
    # each iterate: a matvec (n roundings) and an add, accumulating over the steps
    scale = np.linalg.norm(fixed_point) + np.linalg.norm(start - fixed_point)
    data_error = (n + 2) * EPS * scale * np.arange(1, 2 * d + 2)
    return iterates, fixed_point, data_error


@given(linear_iterations())
def test_vector_epsilon_is_exact_on_linear_iterations(xp, case):
    iterates, fixed_point, data_error = case
    d = (iterates.shape[0] - 1) // 2
    result = shanks(xp.asarray(iterates), full_output=True)
    assert result.order == d
    error = np.linalg.norm(to_numpy(result.estimate) - fixed_point)
    assert error <= running_error_bound(iterates, data_error)


def test_complex_vectors_hermitian_iteration_is_exact():
    # x_{m+1} = A x_m + b with Hermitian A (real eigenvalues 0.5, -0.3) and complex
    # vectors: the conjugate Samelson inverse keeps vector epsilon exact
    rng = np.random.default_rng(2)
    basis, _ = np.linalg.qr(rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3)))
    A = basis[:, :2] @ np.diag([0.5, -0.3]) @ basis[:, :2].conj().T
    fixed_point = np.array([1.0 + 1.0j, -0.5j, 2.0])
    iterates = [fixed_point + basis[:, :2] @ np.array([1.0, 1.0 - 1.0j])]
    for _ in range(4):
        iterates.append(A @ (iterates[-1] - fixed_point) + fixed_point)
    iterates = np.stack(iterates)
    estimate = shanks(iterates)
    assert estimate.dtype == np.complex128
    # matvec and two adds per iterate, accumulating (as in linear_iterations)
    scale = np.linalg.norm(fixed_point) + np.linalg.norm(iterates[0] - fixed_point)
    data_error = 5 * EPS * scale * np.arange(1, 6)
    bound = running_error_bound(iterates, data_error)
    assert np.linalg.norm(estimate - fixed_point) <= bound


def test_vector_results_agree_across_backends(xp):
    rng = np.random.default_rng(7)
    terms = np.cumsum(rng.normal(size=(9, 4)) * 0.7 ** np.arange(9)[:, None], axis=0)
    for transform in (shanks, sablonniere):
        for inverse in ("samelson", "elementwise"):
            reference = transform(terms, inverse=inverse)
            result = transform(xp.asarray(terms), inverse=inverse)
            # same arithmetic, possibly different summation order in the norms
            xp_assert_close(result, reference, rtol=1e-12, xp=xp, check_dtype=False)


def test_elementwise_inverse_is_columnwise_scalar():
    rng = np.random.default_rng(3)
    terms = np.cumsum(rng.normal(size=(7, 3)) * (-0.6) ** np.arange(7)[:, None], axis=0)
    together = sablonniere(terms, inverse="elementwise")
    for j in range(3):
        assert together[j] == sablonniere(terms[:, j])


def test_samelson_differs_from_elementwise_on_vectors():
    rng = np.random.default_rng(4)
    terms = np.cumsum(rng.normal(size=(5, 3)) * 0.5 ** np.arange(5)[:, None], axis=0)
    assert not np.allclose(shanks(terms), shanks(terms, inverse="elementwise"))


def test_float32_in_float32_out_and_integers_promoted(xp):
    terms = xp.asarray([1.0, 0.5, 0.75, 0.625, 0.6875], dtype=xp.float32)
    out = shanks(terms)
    assert out.dtype == xp.float32 and out.shape == ()
    # 1 - 1/2 + 1/4 - ... = 2/3 exactly from a geometric sequence, float32 rounding
    assert abs(float(out) - 2 / 3) < 64 * np.finfo(np.float32).eps
    assert xp.isdtype(shanks(xp.asarray([1, 2, 4])).dtype, "real floating")


def test_complex_scalar_geometric_is_exact():
    ratio, limit = 0.5 + 0.5j, 1.0 - 2.0j
    terms = limit + (1.0 + 1.0j) * ratio ** np.arange(3)
    assert abs(shanks(terms) - limit) < 16 * EPS * abs(limit)


def test_order_is_clamped_and_reported():
    terms = partial_sums([(-1.0) ** k / (k + 1) for k in range(8)])
    result = shanks(terms, order=10, full_output=True)
    assert result.order == 3 and result.terms == 7  # (8 - 1) // 2, the newest 7 terms
    low = shanks(terms, order=1, full_output=True)
    assert low.order == 1 and low.terms == 3
    # order 1 on the newest three terms is one Aitken step
    s0, s1, s2 = terms[-3:]
    aitken = s2 - (s2 - s1) ** 2 / ((s2 - s1) - (s1 - s0))
    assert abs(float(low.estimate) - aitken) < 16 * EPS


def test_full_output_table_shapes_and_entries():
    terms = partial_sums([(-1.0) ** k / (k + 1) for k in range(5)])
    result = shanks(terms, full_output=True, table=True)
    assert isinstance(result, AccelResult)
    assert [column.shape for column in result.table] == [(5,), (4,), (3,), (2,), (1,)]
    np.testing.assert_array_equal(result.table[0], terms)
    np.testing.assert_allclose(result.table[1], 1.0 / np.diff(terms), rtol=EPS)
    assert result.table[-1][0] == result.estimate


def test_insufficient_terms():
    for terms in (np.array([1.0]), np.array([1.0, 2.0])):
        result = shanks(terms, full_output=True)
        assert result.status == Status.INSUFFICIENT_TERMS
        assert result.estimate == terms[-1] and result.error == math.inf


# ----------------------------------------------------------------- breakdown

def test_breakdown_on_an_arithmetic_progression():
    # e_2 = s_1 + 1 / (e_1^(1) - e_1^(0)) and e_1 is constant: an exact zero
    # difference of an odd column, the table is singular
    result = shanks(np.array([0.0, 1.0, 2.0]), full_output=True, table=True)
    assert result.status == Status.BREAKDOWN and result.order == 0
    assert float(result.estimate) == 2.0 and result.error == math.inf
    assert np.isnan(result.table[2][0])  # the undefined entry is marked, not returned


def test_breakdown_after_a_repeated_term_in_a_moving_sequence():
    # s_1 = s_2 makes e_1^(1) undefined; the newest anti-diagonal inherits it
    result = shanks(np.array([1.0, 2.0, 2.0, 3.0, 3.5]), full_output=True)
    assert result.status == Status.BREAKDOWN
    assert np.isfinite(float(result.estimate))


def test_constant_sequence_has_converged():
    result = shanks(np.full(6, 0.25), full_output=True)  # 3 terms read + 3 prefix runs
    assert result.status == Status.CONVERGED and float(result.estimate) == 0.25
    assert result.error == 0.0


def test_exact_lower_order_settles_as_converged():
    # one geometric mode: e_2 is exactly the limit on every anti-diagonal, so the
    # e_2 column has converged and e_3 = 1/0 is the cut: order 1, CONVERGED
    terms = 1.0 - 0.5 ** np.arange(7)
    result = shanks(terms, full_output=True)
    assert result.status == Status.CONVERGED and result.order == 1
    assert float(result.estimate) == 1.0


def test_breakdown_in_one_component_only_elementwise():
    moving = partial_sums([(-1.0) ** k / (k + 1) for k in range(5)])
    terms = np.stack([moving, np.array([0.0, 1.0, 2.0, 3.0, 4.0])], axis=1)
    result = shanks(terms, inverse="elementwise", full_output=True)
    assert result.status == Status.BREAKDOWN
    assert result.estimate[0] == shanks(moving)  # the healthy component is untouched
    assert result.estimate[1] == 4.0  # the broken one falls back to its last term


@given(st.lists(st.integers(-3, 3), min_size=3, max_size=9),
       st.sampled_from(["samelson", "elementwise"]))
def test_never_nan_or_inf_on_sequences_full_of_repeats(values, inverse):
    # small integers: exact ties and arithmetic progressions everywhere
    terms = np.array(values, dtype=np.float64)
    vectors = np.stack([terms, terms[::-1]], axis=1)
    for transform in (shanks, sablonniere):
        for seq in (terms, vectors):
            result = transform(seq, inverse=inverse, full_output=True)
            assert np.all(np.isfinite(to_numpy(result.estimate)))
            assert isinstance(result.status, Status)


# ----------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, error, message", [
    ({"order": 0}, ValueError, "order"),
    ({"order": 1.5}, TypeError, "order"),
    ({"order": True}, TypeError, "order"),
    ({"inverse": "moore-penrose"}, ValueError, "inverse"),
])
def test_bad_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        shanks(np.arange(5.0), **kwargs)


@pytest.mark.parametrize("seq, message", [
    (np.zeros((3, 2, 2)), "shape"),
    (np.array([1.0, np.nan, 2.0]), "finite"),
    (np.zeros((0,)), "at least one"),
])
def test_bad_sequences(seq, message):
    with pytest.raises(ValueError, match=message):
        sablonniere(seq)


def test_not_an_array():
    with pytest.raises(TypeError):
        shanks([1.0, 2.0, 3.0])


def test_table_only_when_asked():
    # The table costs memory ((N + 1)(2N + 1) entries): full_output alone omits it.
    terms = np.cumsum([(-1.0) ** k / (k + 1) for k in range(7)])
    assert shanks(terms, full_output=True).table is None
    assert len(shanks(terms, full_output=True, table=True).table) == 7

"""The testing helpers: strategies produce what they promise, the assertion catches errors."""

import math

import array_api_compat
import numpy as np
import pytest
import scipy.linalg
from hypothesis import find, given, settings
from hypothesis import strategies as st

from matfun.exact import abs_inv, inv, inv_sqrt_square
from matfun.testing import (
    SymmetricProblem,
    assert_matches_oracle,
    matrix_with_spectrum,
    spectra,
    symmetric_matrices,
    vectors,
)
from tests._helpers import library, to_numpy

EPS = np.finfo(np.float64).eps
EPS32 = float(np.finfo(np.float32).eps)

arguments = {
    "size": st.integers(1, 12),
    "condition": st.floats(1.0, 1e6),
    "negatives": st.none() | st.integers(0, 12),
    "distribution": st.sampled_from(["geometric", "uniform", "clustered"]),
    "dtype": st.sampled_from([np.float64, np.float32]),
}


@given(data=st.data(), **arguments)
def test_spectra_have_the_prescribed_properties(data, size, condition, negatives, distribution,
                                                dtype):
    w = data.draw(spectra(size=size, condition=condition, negatives=negatives,
                          distribution=distribution, dtype=dtype))
    assert w.shape == (size,) and w.dtype == dtype
    assert np.all(np.diff(w) >= 0)
    magnitudes = np.abs(w).astype(np.float64)
    rounding = 2 * float(np.finfo(dtype).eps)  # one cast to the dtype, relative
    assert np.all(magnitudes >= 1 - rounding)
    assert np.all(magnitudes <= condition * (1 + rounding))
    if size >= 2:
        # Both ends are present, so the condition number is the one asked for.
        assert math.isclose(magnitudes.max() / magnitudes.min(), condition, rel_tol=2 * rounding)
    if negatives is not None:
        assert np.sum(w < 0) == min(negatives, size)


@given(size=st.integers(3, 10), condition=st.floats(2.0, 1e4), data=st.data())
def test_distributions_have_their_shapes(size, condition, data):
    geometric = data.draw(spectra(size=size, condition=condition, negatives=0))
    ratios = geometric[1:] / geometric[:-1]
    np.testing.assert_allclose(ratios, condition ** (1 / (size - 1)), rtol=1e-12)
    uniform = data.draw(spectra(size=size, condition=condition, negatives=0,
                                distribution="uniform"))
    np.testing.assert_allclose(np.diff(uniform), (condition - 1) / (size - 1), rtol=1e-9)


def test_clustered_spectra_include_exact_repeats():
    repeated = find(spectra(size=6, condition=100.0, negatives=0, distribution="clustered"),
                    lambda w: np.any(np.diff(w) == 0))
    assert np.any(np.diff(repeated) == 0)


@given(w=spectra(size=st.integers(1, 12), condition=st.floats(1.0, 1e3),
                 distribution="clustered", negatives=0))
def test_clusters_are_few_and_tight(w):
    gaps = w[1:] / w[:-1] - 1
    assert np.sum(gaps > 1e-3 + 1e-12) <= 3


def test_negatives_choose_which_magnitudes_are_negative():
    # Over examples, the negative eigenvalue is not always the smallest magnitude.
    found = find(spectra(size=4, condition=8.0, negatives=1), lambda w: w[0] == -8.0)
    np.testing.assert_array_equal(found, [-8.0, 1.0, 2.0, 4.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"condition": 0.5}, "condition"),
        ({"condition": math.inf}, "condition"),
        ({"size": 0}, "size"),
        ({"negatives": -1}, "negatives"),
        ({"distribution": "normal"}, "distribution"),
        ({"dtype": np.int64}, "dtype"),
    ],
)
def test_bad_strategy_arguments_fail_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        spectra(**kwargs)
    with pytest.raises(ValueError, match=match):
        symmetric_matrices(**kwargs)


def test_bad_drawn_arguments_fail_when_drawn():
    with pytest.raises(ValueError, match="condition"):
        find(spectra(condition=st.just(0.1)), lambda w: True)


@given(problem=symmetric_matrices(size=st.integers(1, 10), condition=st.floats(1.0, 1e6),
                                  distribution=st.sampled_from(["geometric", "clustered"])))
def test_symmetric_matrices_have_their_eigendecomposition(problem):
    H, w, q = problem.matrix, problem.eigenvalues, problem.eigenvectors
    n = w.shape[0]
    np.testing.assert_array_equal(H, H.T)
    np.testing.assert_allclose(q.T @ q, np.eye(n), atol=10 * n * EPS)
    # Weyl: the rounded matrix's eigenvalues move by at most ||rounding|| ~ n eps max|w|.
    np.testing.assert_allclose(np.linalg.eigvalsh(H), w, rtol=0,
                               atol=10 * n * EPS * np.max(np.abs(w)))
    np.testing.assert_allclose(H, (q * w) @ q.T, atol=10 * n * EPS * np.max(np.abs(w)))
    assert problem.condition == pytest.approx(np.max(np.abs(w)) / np.min(np.abs(w)))


@settings(max_examples=5)
@given(data=st.data())
def test_matrices_and_vectors_in_any_backend(xp, data):
    problem = data.draw(symmetric_matrices(size=3, condition=10.0, xp=xp))
    g = data.draw(vectors(3, xp=xp, dtype=np.float32))
    assert isinstance(problem, SymmetricProblem)
    assert library(array_api_compat.array_namespace(problem.matrix)) == library(xp)
    assert g.dtype == xp.float32 and tuple(g.shape) == (3,)
    assert_matches_oracle(abs_inv(problem.matrix, g), problem.matrix, g)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(data=st.data())
def test_vectors_are_nonzero_dyadic_and_bounded(dtype, data):
    v = data.draw(vectors(st.integers(1, 20), dtype=dtype))
    assert v.dtype == dtype
    assert v.ndim == 1 and 1 <= v.shape[0] <= 20
    assert np.any(v != 0) and np.all(np.abs(v) <= 1)
    scaled = v.astype(np.float64) * 2**20
    np.testing.assert_array_equal(scaled, np.round(scaled))  # exact in float32 too


def test_vectors_custom_elements():
    v = find(vectors(4, elements=st.floats(2.0, 3.0)), lambda v: True)
    np.testing.assert_array_equal(v, [2.0, 2.0, 2.0, 2.0])


def test_matrix_with_spectrum_is_reproducible_and_haar_sign_fixed(xp):
    w = np.array([-2.0, 0.5, 1.0, 3.0])
    H, q = matrix_with_spectrum(w, seed=11, return_eigenvectors=True)
    np.testing.assert_array_equal(H, matrix_with_spectrum(w, seed=11))
    assert not np.array_equal(H, matrix_with_spectrum(w, seed=12))
    # Sign-fixed QR: Q^T G is upper triangular with a positive diagonal.
    gaussian = np.random.default_rng(11).standard_normal((4, 4))
    r = q.T @ gaussian
    np.testing.assert_allclose(np.tril(r, -1), 0, atol=20 * EPS * np.abs(gaussian).max())
    assert np.all(np.diag(r) > 0)
    np.testing.assert_allclose(np.linalg.eigvalsh(H), np.sort(w), atol=40 * EPS)
    single = matrix_with_spectrum(w.astype(np.float32), seed=11, xp=xp)
    assert single.dtype == xp.float32
    np.testing.assert_allclose(to_numpy(single), H, atol=4 * EPS32)


@pytest.mark.parametrize(
    ("eigenvalues", "match"),
    [([], "non-empty"), ([[1.0]], "1-D"), ([1.0, np.nan], "finite"), ([1j], "real")],
)
def test_matrix_with_spectrum_bad_input(eigenvalues, match):
    with pytest.raises(ValueError, match=match):
        matrix_with_spectrum(np.array(eigenvalues))


# --- assert_matches_oracle ------------------------------------------------------------------


def derived_rtol(n, kappa, eps, safety=10.0):
    return safety * math.sqrt(n) * kappa * eps


@given(problem=symmetric_matrices(size=st.integers(2, 8), condition=st.floats(1.0, 1e4)),
       data=st.data())
def test_passes_on_the_oracle_and_fails_just_beyond_the_tolerance(problem, data):
    H = problem.matrix
    n = H.shape[0]
    g = data.draw(vectors(n))
    exact = problem.eigenvectors @ ((problem.eigenvectors.T @ g) / np.abs(problem.eigenvalues))
    rtol = derived_rtol(n, problem.condition, EPS)
    direction = np.random.default_rng(0).standard_normal(n)
    direction *= np.linalg.norm(exact) / np.linalg.norm(direction)
    # Inside: half the tolerance, plus the construction's own kappa-eps error.
    assert_matches_oracle(exact + 0.4 * rtol * direction, H, g)
    with pytest.raises(AssertionError, match="relative error .* > rtol .* kappa"):
        assert_matches_oracle(exact + 3 * rtol * direction, H, g)


def test_tolerance_scales_with_kappa_and_the_dtype():
    H = np.diag([1.0, -100.0])
    g = np.array([1.0, 1.0])
    exact = np.array([1.0, 0.01])
    rtol = derived_rtol(2, 100.0, EPS)
    error = assert_matches_oracle(exact * (1 + 0.5 * rtol), H, g)
    assert error == pytest.approx(0.5 * rtol, rel=1e-3)
    with pytest.raises(AssertionError) as caught:
        assert_matches_oracle(exact * (1 + 2 * rtol), H, g)
    message = str(caught.value)
    assert f"rtol {rtol:.3g}" in message and "kappa = 100" in message and "n = 2" in message
    # float32 results are held to float32's eps (float32 data, or a float32 answer to
    # float64 data with check_dtype=False).
    rtol32 = derived_rtol(2, 100.0, EPS32)
    assert_matches_oracle((exact * (1 + 0.5 * rtol32)).astype(np.float32), H, g,
                          check_dtype=False)
    assert_matches_oracle((exact * (1 + 0.5 * rtol32)).astype(np.float32), H,
                          g.astype(np.float32))
    with pytest.raises(AssertionError):
        assert_matches_oracle(exact * (1 + 2 * rtol32), H, g.astype(np.float32))


@pytest.mark.parametrize("low, high", [(np.float32, np.float64), (np.complex64, np.complex128),
                                       (np.float16, np.float32)])
def test_an_answer_less_precise_than_g_fails_by_default(low, high):
    # An implementation that silently computes in float32 for float64 data would pass
    # at float32's roundoff; by default it fails, naming both dtypes. More precision
    # than g (float64 answers to float32 data) is fine.
    H = np.diag([2.0, -4.0])
    g = np.ones(2, dtype=high)
    exact = np.array([0.5, 0.25], dtype=high)
    with pytest.raises(AssertionError, match=f"actual is {np.dtype(low)} but g is "
                                             f"{np.dtype(high)}"):
        assert_matches_oracle(exact.astype(low), H, g)
    assert assert_matches_oracle(exact.astype(low), H, g, check_dtype=False) < 1e-3
    assert assert_matches_oracle(exact.astype(np.complex128), H, g.astype(low)) == 0.0


def test_named_functions_and_callables(xp):
    H = matrix_with_spectrum([-3.0, -1.0, 2.0, 6.0], seed=4)
    g = np.array([1.0, 0.5, -1.0, 2.0])
    Hx, gx = xp.asarray(H), xp.asarray(g)
    assert_matches_oracle(inv(Hx, gx), Hx, gx, "inv")
    for kind in ("abs", "shift", "square"):
        x = inv_sqrt_square(Hx, gx, damping=0.5, damping_kind=kind)
        assert_matches_oracle(x, Hx, gx, "inv_sqrt_square", damping=0.5, damping_kind=kind)
        with pytest.raises(AssertionError):
            assert_matches_oracle(abs_inv(Hx, gx), Hx, gx, "inv_sqrt_square", damping=0.5,
                                  damping_kind=kind)
    assert_matches_oracle(Hx @ (Hx @ gx), Hx, gx, lambda w: w * w, condition=1.0)
    with pytest.raises(AssertionError):  # H^{-1} is not |H|^{-1} on an indefinite matrix
        assert_matches_oracle(inv(Hx, gx), Hx, gx)
    # A matvec-only operator is fine too.
    assert_matches_oracle(abs_inv(Hx, gx), lambda v: Hx @ v, gx)


def test_the_docstring_example_and_a_wrong_implementation():
    def polar_abs_inv(H, g):
        _, absolute = scipy.linalg.polar(H)
        return scipy.linalg.solve(absolute, g, assume_a="pos")

    def squared_abs_inv(H, g):  # |H|^{-1} g = (H^2)^{-1/2} g, but squaring loses kappa digits
        return scipy.linalg.solve(np.real(scipy.linalg.sqrtm(H @ H)), g)

    strategy = symmetric_matrices(size=st.integers(2, 8), condition=st.floats(1.0, 1e4))

    @settings(max_examples=20, deadline=None)
    @given(problem=strategy, data=st.data())
    def check(implementation, problem, data):
        g = data.draw(vectors(problem.matrix.shape[0]))
        assert_matches_oracle(implementation(problem.matrix, g), problem.matrix, g)

    check(polar_abs_inv)
    # Squaring: eigenvalue errors eps * kappa^2 in H^2, so a relative error ~ kappa^2 eps,
    # far above the kappa-eps tolerance at kappa = 1e4.
    H = matrix_with_spectrum(np.geomspace(1, 1e4, 6) * [1, -1, 1, -1, 1, -1], seed=0)
    g = np.ones(6)
    with pytest.raises(AssertionError, match="relative error"):
        assert_matches_oracle(squared_abs_inv(H, g), H, g)


def test_zero_right_hand_side_uses_atol():
    H = np.diag([1.0, -2.0])
    assert assert_matches_oracle(np.zeros(2), H, np.zeros(2)) == 0.0
    with pytest.raises(AssertionError):
        assert_matches_oracle(np.array([1e-20, 0.0]), H, np.zeros(2))
    assert_matches_oracle(np.array([1e-20, 0.0]), H, np.zeros(2), atol=1e-18)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda H, g: assert_matches_oracle(g[:1], H, g), AssertionError, "shape"),
        (lambda H, g: assert_matches_oracle(g * np.nan, H, g), AssertionError, "NaN"),
        (lambda H, g: assert_matches_oracle(list(g), H, g), AssertionError, "list"),
        (lambda H, g: assert_matches_oracle(g, H, g, "sqrt"), ValueError, "function"),
        (lambda H, g: assert_matches_oracle(g, H, g, damping=1.0), ValueError, "damping"),
        (lambda H, g: assert_matches_oracle(g, H, g, "inv_sqrt_square", damping_kind="x"),
         ValueError, "damping_kind"),
        (lambda H, g: assert_matches_oracle(g, H * 0, g), ValueError, "singular"),
        (lambda H, g: assert_matches_oracle(g, np.diag([1.0, 1e-17]), g), ValueError,
         "ill-conditioned"),
        (lambda H, g: assert_matches_oracle(g, H, g, lambda w: w[:1]), ValueError,
         "one finite value"),
        (lambda H, g: assert_matches_oracle(g, np.eye(3), g), ValueError, "length 2"),
    ],
)
def test_assertion_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(np.diag([1.0, -2.0]), np.array([1.0, 0.5]))


def test_namespace_is_checked_unless_switched_off():
    import array_api_strict as strict

    H = np.diag([1.0, -2.0])
    g = strict.asarray([1.0, 1.0])
    with pytest.raises(AssertionError, match="array_api_strict"):
        assert_matches_oracle(np.array([1.0, 0.5]), strict.asarray(H), g)
    assert_matches_oracle(np.array([1.0, 0.5]), strict.asarray(H), g, check_namespace=False)

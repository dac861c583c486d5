"""matfun.testing's joint (H, g) strategy, series oracles and failure messages."""

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.linalg
import scipy.special
from hypothesis import find, given, settings
from hypothesis import strategies as st

import matfun
from matfun.testing import (
    HermitianProblem,
    assert_coefficients_match,
    assert_matches_oracle,
    assert_truncated_series_matches,
    coefficient_oracle,
    matrix_with_spectrum,
    problems,
    spectrum_summary,
)

EPS = float(np.finfo(np.float64).eps)


def dense_abs_inv(H, g):
    """An independent |H|^{-1} g: LAPACK's eigh in the problem's own dtype."""
    w, q = np.linalg.eigh(H)
    return q @ ((q.conj().T @ g) / np.abs(w))


@given(problem=problems(size=st.integers(1, 8), condition=st.floats(1.0, 1e4),
                        dtype=st.sampled_from(["float64", "float32", "complex128",
                                               "complex64"]),
                        rhs=st.sampled_from(["random", "eigenvector"])))
def test_problems_have_their_eigendecomposition(problem):
    H, g = problem.matrix, problem.g
    assert isinstance(problem, HermitianProblem)
    assert repr(problem).startswith("HermitianProblem(n = ") and len(repr(problem)) < 200
    assert H.dtype == g.dtype and H.shape == (g.shape[0],) * 2
    np.testing.assert_array_equal(H, H.conj().T)  # exactly Hermitian
    q, w = problem.eigenvectors, problem.eigenvalues
    np.testing.assert_allclose(q.conj().T @ q, np.eye(len(w)), atol=1e-13)
    # The stored matrix is Q diag(w) Q^H up to one rounding to its dtype per entry.
    eps = float(np.finfo(H.dtype).eps)
    error = np.linalg.norm(H.astype(np.complex128) - (q * w) @ q.conj().T)
    assert error <= 4 * len(w) * eps * np.max(np.abs(w))
    assert np.linalg.norm(g) > 0


@settings(max_examples=15)
@given(problem=problems(size=st.integers(2, 8), rhs="eigenvector", condition=10.0))
def test_eigenvector_right_hand_sides_are_close_to_one(problem):
    # |cos| between g and its nearest eigenvector: at least 1 - 1e-4 (the largest
    # perturbation drawn), so the Krylov space of g is nearly one-dimensional.
    cosines = np.abs(problem.eigenvectors.T @ problem.g) / np.linalg.norm(problem.g)
    assert np.max(cosines) >= 1 - 1e-4


@settings(max_examples=20)
@given(problem=problems(size=st.integers(1, 6), condition=st.floats(1.0, 1e3),
                        matrix_scale="extreme", rhs_scale="extreme",
                        dtype=st.sampled_from(["float64", "float32"])))
def test_extreme_scales_stay_finite_and_the_oracle_is_homogeneous(problem):
    c, d = problem.matrix_scale, problem.rhs_scale
    real = np.finfo(problem.matrix.dtype)
    for scale in (c, d, d / c):
        assert math.log2(scale) == round(math.log2(scale))  # a power of two: exact
        assert 2.0 ** (-0.75 * real.maxexp - 1) <= scale <= 2.0 ** (0.75 * real.maxexp + 1)
    assert np.all(np.isfinite(problem.matrix)) and np.all(np.isfinite(problem.g))
    # |cH|^{-1} (d g) = (d/|c|) |H|^{-1} g: the unscaled oracle, rescaled, must pass
    # the oracle's own test at any magnitude.
    H1 = problem.matrix.astype(np.float64) / c
    g1 = problem.g.astype(np.float64) / d
    expected = dense_abs_inv(H1, g1) * (d / c)
    assert_matches_oracle(expected.astype(problem.g.dtype), problem.matrix, problem.g)


@given(problem=problems(size=st.integers(1, 6), condition=st.floats(1.0, 1e3),
                        dtype=st.sampled_from(["complex128", "float32"])))
def test_a_correct_implementation_passes_on_every_problem(problem):
    assert_matches_oracle(dense_abs_inv(problem.matrix, problem.g), problem.matrix, problem.g)


def test_problems_examples_and_bad_arguments():
    p = find(problems(size=4, condition=8.0, negatives=2), lambda p: True)
    assert p.summary() == "n = 4, |lambda| in [1, 8], kappa = 8, 2 negative, float64"
    with pytest.raises(ValueError, match="dtype must be"):
        problems(dtype=np.int64)
    with pytest.raises(ValueError, match="rhs must be one of"):
        problems(rhs="ones")
    with pytest.raises(ValueError, match="matrix_scale must be"):
        problems(matrix_scale=-1.0)
    with pytest.raises(ValueError, match="rhs_scale must be"):
        problems(rhs_scale="huge")


def test_spectrum_summary():
    assert spectrum_summary([-4.0, 1.0, 2.0]) == "n = 3, |lambda| in [1, 4], kappa = 4, 1 negative"
    assert "kappa = inf" in spectrum_summary([0.0, 1.0])


# --- Coefficients


def test_coefficient_oracle_against_exact_rationals():
    # c_k(1/2) = C(2k, k) / 4^k and c_k(1) = 1 exactly; c_k(-1/2) (positive power) by
    # the product formula in rationals.
    K = 60
    np.testing.assert_array_equal(coefficient_oracle(0.5, K),
                                  [float(Fraction(math.comb(2 * k, k), 4**k)) for k in range(K)])
    np.testing.assert_array_equal(coefficient_oracle(1.0, K), np.ones(K))
    c, expected = Fraction(1), []
    for k in range(K):
        expected.append(float(c))
        c *= Fraction(-1, 2) + k
        c /= k + 1
    np.testing.assert_array_equal(coefficient_oracle(-0.5, K), expected)


def test_coefficient_assertion_passes_on_the_library_and_catches_errors():
    assert assert_coefficients_match(matfun.binomial_coefficients, 0.5, 100_000) < 4
    assert assert_coefficients_match(matfun.abs_damped_coefficients, 0.5, 300, delta=0.9) < 4

    def gamma_based(alpha, terms):  # the textbook formula: inf / inf past k ~ 170
        k = np.arange(terms)
        with np.errstate(all="ignore"):
            return scipy.special.gamma(alpha + k) / (math.gamma(alpha) * scipy.special.gamma(k + 1))

    with pytest.raises(AssertionError, match="coefficient 1[67][0-9] is nan"):
        assert_coefficients_match(gamma_based, 0.5, 300)

    def forward_recurrence(delta, terms):  # the reference code's unstable recurrence
        b = coefficient_oracle(-0.5, terms)
        d = [1 / (1 + delta)]
        for k in range(1, terms):
            d.append((d[-1] + b[k]) / (1 - delta**2))
        return np.array(d)

    with pytest.raises(AssertionError, match="abs-damped coefficients"):
        assert_coefficients_match(forward_recurrence, 0.5, 40, delta=0.9)
    wrong = coefficient_oracle(0.5, 50)
    wrong[17] *= 1 + 1e-12
    with pytest.raises(AssertionError, match="coefficient 17 is"):
        assert_coefficients_match(wrong, 0.5, 50)


# --- Truncated series


def recurrence_inv_sqrt(H, g, terms, V):
    """The paper's term recurrence, written out independently of matfun."""
    a = g / math.sqrt(V)
    s = a.copy()
    for k in range(1, terms):
        a = (2 * k - 1) / (2 * k) * (a - H @ (H @ a) / V)
        s = s + a
    return s


def recurrence_neumann(H, g, terms, V):
    a = g / V
    s = a.copy()
    for _ in range(1, terms):
        a = a - H @ a / V
        s = s + a
    return s


@given(problem=problems(size=st.integers(1, 8), condition=st.floats(1.0, 100.0)),
       terms=st.integers(1, 60), factor=st.sampled_from([0.6, 1.0, 3.0]))
def test_truncated_series_assertion_passes_on_a_correct_recurrence(problem, terms, factor):
    H, g = problem.matrix, problem.g
    V = factor * float(np.max(problem.eigenvalues ** 2))  # 0.6: above l_max^2 / 2
    assert_truncated_series_matches(recurrence_inv_sqrt(H, g, terms, V), H, g,
                                    terms=terms, scale=V)
    spd = H @ H + np.eye(len(g))
    W = factor * float(np.max(problem.eigenvalues ** 2) + 1)
    assert_truncated_series_matches(recurrence_neumann(spd, g, terms, W), spd, g,
                                    terms=terms, scale=W, series="neumann")


def test_truncated_series_assertion_catches_an_off_by_one_and_a_wrong_coefficient():
    H = matrix_with_spectrum([-3.0, 0.5, 1.0, 2.0], seed=4)
    g = np.ones(4)
    V = 9.0
    with pytest.raises(AssertionError, match="inv_sqrt series, 20 terms"):
        assert_truncated_series_matches(recurrence_inv_sqrt(H, g, 19, V), H, g, terms=20,
                                        scale=V)
    a = g / 3.0
    wrong = a + (a - H @ (H @ a) / V)  # coefficient 1 instead of 1/2
    with pytest.raises(AssertionError, match="kappa = 6"):
        assert_truncated_series_matches(wrong, H, g, terms=2, scale=V)
    with pytest.raises(ValueError, match="exponent is needed"):
        assert_truncated_series_matches(a, H, g, terms=2, scale=V, series="binomial")


# --- Failure messages


def test_failure_message_is_compact_and_suggests_kappa_squared():
    # |H|^{-1} g through the eigendecomposition of H^2: a method that squares H, with
    # forward error ~ kappa^2 eps (1e12 * 1.1e-16 here) instead of kappa eps.
    kappa = 1e6
    H = matrix_with_spectrum(np.geomspace(1.0, kappa, 30) * np.where(np.arange(30) % 3, 1, -1),
                             seed=0)
    g = np.linspace(-1.0, 1.0, 30) + 0.25

    def through_the_square(H, g):
        w, q = np.linalg.eigh(H @ H)
        return q @ ((q.T @ g) / np.sqrt(np.abs(w)))

    x = through_the_square(H, g)
    with pytest.raises(AssertionError) as failure:
        assert_matches_oracle(x, H, g)
    message = str(failure.value)
    assert "kappa = 1e+06" in message and "10 negative" in message and "n = 30" in message
    assert "condition=kappa**2" in message
    assert len(message) < 700 and "[[" not in message  # a summary, never the matrix
    assert_matches_oracle(x, H, g, condition=kappa**2)
    # A plainly wrong answer gets no such hint.
    with pytest.raises(AssertionError) as failure:
        assert_matches_oracle(1.01 * scipy.linalg.solve(H, g), H, g)
    assert "kappa**2" not in str(failure.value)

"""The anisotropic cubic model of grouped Newton: closed forms, scipy.optimize, invariance.

The solver is host (NumPy) code on purpose -- the matrices are S x S with S the number
of parameter groups -- so these tests need no backend fixture.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

from matfun.optim._cubic import (
    UnboundedModelError,
    cubic_model,
    minimize_cubic_model,
)

EPS = np.finfo(np.float64).eps


def _gradient(eta, A, b, w, lam):
    return -b + A @ eta + 0.5 * lam * np.linalg.norm(w * eta) * w**2 * eta


def _scipy_minimum(A, b, w, lam, starts):
    """Independent oracle: BFGS from several starts, keep the best value."""
    best = None
    for x0 in starts:
        result = scipy.optimize.minimize(
            cubic_model, x0, args=(A, b, w, lam), jac=_gradient, method="BFGS",
            options={"gtol": 1e-12, "maxiter": 5000},
        )
        if best is None or result.fun < best.fun:
            best = result
    return best


def _check_against_scipy(A, b, w, lam, seed):
    solution = minimize_cubic_model(A, b, w, cubic=lam)
    rng = np.random.default_rng(seed)
    size = b.shape[0]
    starts = [np.zeros(size), rng.standard_normal(size), -solution.eta,
              solution.eta + 0.1 * rng.standard_normal(size)]
    reference = _scipy_minimum(A, b, w, lam, starts)
    # BFGS stops at gtol 1e-12; the model values then agree to rounding of the
    # largest term, ~1e3 eps relative (a global minimum can only tie, never lose).
    tolerance = 1e3 * EPS * max(1.0, abs(reference.fun))
    assert solution.value <= reference.fun + tolerance
    assert solution.value == pytest.approx(cubic_model(solution.eta, A, b, w, lam))
    # Optimality conditions of Nesterov-Polyak (theorem 10 in the variables W eta):
    # stationarity, and A + sigma W^2 positive semidefinite.
    shifted = A + solution.shift * np.diag(w**2)
    scale = np.linalg.norm(A, 2) * np.linalg.norm(solution.eta) + np.linalg.norm(b)
    # Residual of a backward-stable solve: ~S eps times the size of its terms, with
    # room for the conditioning of the small generalised eigenproblem.
    np.testing.assert_allclose(shifted @ solution.eta, b, atol=1e-8 * max(scale, 1e-300))
    assert np.linalg.eigvalsh(shifted)[0] >= -1e-8 * max(np.linalg.norm(shifted, 2), 1.0)
    assert solution.shift == pytest.approx(0.5 * lam * solution.radius, rel=1e-9, abs=1e-300)
    return solution, reference


# ----------------------------------------------------------------- closed forms


@pytest.mark.parametrize(("a", "b", "w", "lam"), [(2.0, 1.0, 1.0, 6.0), (-1.0, 3.0, 0.5, 2.0),
                                                   (0.0, -2.0, 2.0, 0.5)])
def test_one_group_closed_form(a, b, w, lam):
    # -b + a eta + (lam/2) w^3 |eta| eta = 0 with sign(eta) = sign(b): a quadratic in |eta|.
    c = lam * w**3
    magnitude = (-a + np.sqrt(a * a + 2 * c * abs(b))) / c
    solution = minimize_cubic_model([[a]], [b], [w], cubic=lam)
    np.testing.assert_allclose(solution.eta, [np.sign(b) * magnitude], rtol=1e-13)


def test_hard_case_closed_form():
    # H = diag(-1, 2), g = (0, 1), w = 1: sigma0 = 1 (null vector e1, orthogonal to g);
    # the e2 part is 1 / (2 + 1) and |eta_1| fills r = 2 sigma0 / lam = 2.
    solution = minimize_cubic_model(np.diag([-1.0, 2.0]), [0.0, 1.0], [1.0, 1.0], cubic=1.0)
    assert solution.case == "hard"
    np.testing.assert_allclose(np.abs(solution.eta), [np.sqrt(4 - 1 / 9), 1 / 3], rtol=1e-13)
    assert solution.shift == pytest.approx(1.0, rel=1e-14)


def test_no_cubic_term_is_newton_on_the_summary():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    solution = minimize_cubic_model(A, b, [1.0, 1.0], cubic=0.0)
    np.testing.assert_allclose(solution.eta, np.linalg.solve(A, b), rtol=1e-14)
    assert solution.case == "quadratic"


def test_zero_weight_group_is_solved_exactly():
    # Group 2 has no third derivative; eliminating it (Schur complement) leaves a
    # one-group problem with a closed form.
    A = np.array([[-1.0, 0.5], [0.5, 2.0]])
    b = np.array([1.0, 1.0])
    solution = minimize_cubic_model(A, b, [1.0, 0.0], cubic=3.0)
    a_reduced = A[0, 0] - A[0, 1] ** 2 / A[1, 1]
    b_reduced = b[0] - A[0, 1] * b[1] / A[1, 1]
    eta1 = (-a_reduced + np.sqrt(a_reduced**2 + 2 * 3.0 * b_reduced)) / 3.0
    eta2 = (b[1] - A[1, 0] * eta1) / A[1, 1]
    np.testing.assert_allclose(solution.eta, [eta1, eta2], rtol=1e-12)


def test_zero_gradient_with_negative_curvature_moves():
    # At a saddle of the model the minimiser is not zero: the cubic term alone stops it.
    solution = minimize_cubic_model([[-1.0]], [0.0], [1.0], cubic=1.0)
    assert abs(solution.eta[0]) == pytest.approx(2.0, rel=1e-14)
    assert solution.value < 0


def test_tiny_weight_stays_accurate():
    # A weight of 1e-6 next to 1: no W^{-1} is formed, so nothing is amplified by 1e12.
    A = np.array([[-1.0, 0.3], [0.3, 1.0]])
    b = np.array([0.5, -0.2])
    _check_against_scipy(A, b, np.array([1.0, 1e-6]), 2.0, seed=0)
    _check_against_scipy(A, b, np.array([1e-6, 1.0]), 2.0, seed=1)


def test_inert_group_gets_zero_rate():
    # Group 0 has no curvature, slope or cubic weight (a saturated layer): it does not
    # enter the model, gets rate 0, and the others solve the reduced model exactly.
    A = np.array([[0.0, 0.0, 0.0], [0.0, 2.0, 0.5], [0.0, 0.5, -1.0]])
    b = np.array([0.0, 1.0, -0.5])
    w = np.array([0.0, 0.7, 1.3])
    full = minimize_cubic_model(A, b, w, cubic=2.0)
    reduced = minimize_cubic_model(A[1:, 1:], b[1:], w[1:], cubic=2.0)
    assert full.eta[0] == 0.0
    np.testing.assert_array_equal(full.eta[1:], reduced.eta)
    assert minimize_cubic_model(np.zeros((2, 2)), np.zeros(2), np.zeros(2),
                                cubic=1.0).eta.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("exponent", [-150, -60, 60, 150])
def test_extreme_group_scales_are_exact(exponent):
    # A group whose direction is 2^exponent times smaller or larger than the others
    # (a tiny momentum on one layer): the model is exactly invariant, and the
    # power-of-two equilibration makes the solver so -- no group is mistaken for a
    # flat one. Rescaling by powers of two is exact, so the rates agree to rounding.
    A = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, -0.5]])
    b = np.array([1.0, -0.5, 0.25])
    w = np.array([0.0, 0.8, 1.1])  # group 0 quadratic (zero weight)
    c = np.array([2.0**exponent, 1.0, 1.0])
    original = minimize_cubic_model(A, b, w, cubic=3.0)
    scaled = minimize_cubic_model(c[:, None] * A * c[None, :], c * b, c * w, cubic=3.0)
    np.testing.assert_allclose(c * scaled.eta, original.eta, rtol=1e-14)


# ----------------------------------------------------- properties against scipy

_sizes = st.integers(min_value=1, max_value=5)
_seeds = st.integers(min_value=0, max_value=2**31)


def _random_problem(seed, size):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((size, size))
    b = rng.standard_normal(size) * 10 ** rng.uniform(-3, 1)
    w = np.abs(rng.standard_normal(size)) + 0.01
    lam = 10 ** rng.uniform(-2, 2)
    return rng, M, b, w, lam


@settings(max_examples=15)
@given(seed=_seeds, size=_sizes)
def test_positive_definite_matches_scipy(seed, size):
    rng, M, b, w, lam = _random_problem(seed, size)
    solution, _ = _check_against_scipy(M @ M.T + 0.1 * np.eye(size), b, w, lam, seed)
    assert solution.case == "interior"


@settings(max_examples=15)
@given(seed=_seeds, size=_sizes)
def test_indefinite_matches_scipy(seed, size):
    rng, M, b, w, lam = _random_problem(seed, size)
    A = 0.5 * (M + M.T) - 0.5 * np.eye(size)
    _check_against_scipy(A, b, w, lam, seed)


@settings(max_examples=15)
@given(seed=_seeds, size=st.integers(min_value=2, max_value=5))
def test_zero_third_derivative_matches_scipy(seed, size):
    rng, M, b, w, lam = _random_problem(seed, size)
    zero = np.arange(size) < max(1, size // 2)
    w[zero] = 0.0
    A = 0.5 * (M + M.T)
    # A minimiser exists iff A is positive definite on the groups without cubic term.
    A[np.ix_(zero, zero)] += (size + 2.0) * np.eye(int(zero.sum()))
    _check_against_scipy(A, b, w, lam, seed)


@settings(max_examples=15)
@given(seed=_seeds, size=st.integers(min_value=2, max_value=5))
def test_hard_case_matches_scipy(seed, size):
    # A = W M W and g = W g~ with g~ orthogonal to M's bottom eigenvector: in the
    # variables W eta this is the classical hard case; g~ small keeps phi(sigma0) <= 0.
    rng, M, _, w, lam = _random_problem(seed, size)
    M = 0.5 * (M + M.T)
    eigenvalues, Q = np.linalg.eigh(M)
    M = M - (eigenvalues[0] + 1.0) * np.eye(size) if eigenvalues[0] > -1 else M
    bottom = np.linalg.eigh(M)[1][:, 0]
    g_tilde = 1e-3 * rng.standard_normal(size)
    g_tilde -= bottom * (bottom @ g_tilde)
    A = np.diag(w) @ M @ np.diag(w)
    solution, reference = _check_against_scipy(A, w * g_tilde, w, lam, seed)
    assert solution.case in ("hard", "easy")  # rounding may leave a 1e-19 component


@settings(max_examples=10)
@given(seed=_seeds, size=_sizes)
def test_invariant_under_group_rescaling(seed, size):
    # Seed 001 appendix E: rescaling group s by c_s maps H -> C H C, g -> C g,
    # w -> C w and the minimiser to C^{-1} eta.
    rng, M, b, w, lam = _random_problem(seed, size)
    A = 0.5 * (M + M.T)
    c = 10 ** rng.uniform(-2, 2, size)
    original = minimize_cubic_model(A, b, w, cubic=lam)
    rescaled = minimize_cubic_model(c[:, None] * A * c[None, :], c * b, c * w, cubic=lam)
    # Both solves are backward stable; the rescaling by up to 1e4 per axis costs up to
    # that factor in the comparison, so 1e-7 relative.
    np.testing.assert_allclose(c * rescaled.eta, original.eta, rtol=1e-7,
                               atol=1e-7 * np.linalg.norm(original.eta))


# ------------------------------------------- singular zero-weight block (min norm)
#
# Groups 0 and 1 have no cubic weight and the block [[1, c], [c, 1]] on them; the slope
# b_0 = b_1 and the coupling A_20 = A_21 make the model depend on eta_0 + eta_1 only, so
# for c = 1 its minimisers form a line and we want the minimum-norm point. c = 1 + eps
# gives the block the eigenvalue -eps (2.2e-16, the value measured on the MLP of
# problems): a -1e-17 perturbation is not representable at the unit diagonal to which
# the solver equilibrates, and a smaller diagonal would be scaled back up to unit.


def _singular_block_case(offdiagonal, coupling, curvature, slope):
    A = np.array([[1.0, offdiagonal, coupling],
                  [offdiagonal, 1.0, coupling],
                  [coupling, coupling, curvature]])
    return A, np.array([1.0, 1.0, slope]), np.array([0.0, 0.0, 1.0])


@pytest.mark.parametrize("offdiagonal", [1.0, 1.0 + EPS], ids=["singular", "minus-eps"])
@pytest.mark.parametrize(("coupling", "curvature", "slope"),
                         [(0.5, -1.0, 0.3), (-0.25, 2.0, -1.0), (0.0, -0.5, 0.0)])
def test_singular_zero_weight_block_gives_minimum_norm_minimiser(offdiagonal, coupling,
                                                                 curvature, slope):
    lam = 2.0
    A, b, w = _singular_block_case(offdiagonal, coupling, curvature, slope)
    sol = minimize_cubic_model(A, b, w, cubic=lam)
    # Oracle 1: the model in (s, eta_2), s = eta_0 + eta_1, minimised by BFGS.
    A_red = np.array([[1.0, coupling], [coupling, curvature]])
    b_red, w_red = np.array([1.0, slope]), np.array([0.0, 1.0])
    reduced = _scipy_minimum(A_red, b_red, w_red, lam,
                             [np.zeros(2), np.array([1.0, 1.0]), np.array([-1.0, -1.0])])
    # The model's values are O(1); BFGS at gtol 1e-12 is accurate to ~1e-12 in value.
    assert sol.value == pytest.approx(reduced.fun, abs=1e-10)
    # Oracle 2: given eta_2, the minimum-norm minimiser over (eta_0, eta_1) is the
    # least-squares solution of A_ZZ eta_Z = b_Z - A_Z2 eta_2 (exactly singular block).
    block = np.array([[1.0, 1.0], [1.0, 1.0]])
    rhs = b[:2] - A[:2, 2] * sol.eta[2]
    least_norm = np.linalg.lstsq(block, rhs, rcond=None)[0]
    # eta is O(1); the rotation to the block's eigenvectors costs a few eps.
    np.testing.assert_allclose(sol.eta[:2], least_norm, rtol=0, atol=1e-13)
    # eta_2 agrees with BFGS's to the square root of its value accuracy.
    assert sol.eta[2] == pytest.approx(reduced.x[1], abs=1e-5)


def test_indefinite_zero_weight_block_still_raises():
    # Eigenvalue -0.5 on the zero-weight groups: far from rounding, unbounded below.
    A, b, w = _singular_block_case(1.5, 0.5, -1.0, 0.3)
    with pytest.raises(UnboundedModelError, match="indefinite on the groups with zero"):
        minimize_cubic_model(A, b, w, cubic=1.0)


def test_slope_along_singular_zero_weight_block_raises():
    # b_0 != b_1: a slope 1/sqrt(2) along the null vector (1, -1)/sqrt(2): unbounded.
    A, b, w = _singular_block_case(1.0, 0.5, -1.0, 0.3)
    b[1] = 0.0
    with pytest.raises(UnboundedModelError, match="slope has a component"):
        minimize_cubic_model(A, b, w, cubic=1.0)


# ------------------------------------------------------------------- bad input


def test_unbounded_without_cubic_term():
    with pytest.raises(UnboundedModelError, match="not positive definite"):
        minimize_cubic_model(np.diag([1.0, -1.0]), [1.0, 1.0], [1.0, 1.0], cubic=0.0)
    with pytest.raises(UnboundedModelError, match="not positive definite"):
        minimize_cubic_model(np.diag([1.0, -1.0]), [1.0, 1.0], [0.0, 0.0], cubic=1.0)


def test_unbounded_along_zero_weight_group():
    with pytest.raises(UnboundedModelError, match="zero cubic weight"):
        minimize_cubic_model(np.diag([1.0, -1.0]), [1.0, 1.0], [1.0, 0.0], cubic=1.0)


@pytest.mark.parametrize(
    ("matrix", "vector", "weights", "cubic", "message"),
    [
        ([[1.0, 0.0]], [1.0], [1.0], 1.0, "matrix must be a non-empty square"),
        ([[1.0]], [1.0, 2.0], [1.0], 1.0, "vector must have shape"),
        ([[1.0]], [1.0], [1.0, 1.0], 1.0, "weights must have shape"),
        ([[np.nan]], [1.0], [1.0], 1.0, "matrix contains NaN"),
        ([[1.0]], [np.inf], [1.0], 1.0, "vector contains NaN"),
        ([[1.0]], [1.0], [-1.0], 1.0, "weights must be non-negative"),
        ([[1.0]], [1.0], [1.0], -1.0, "cubic must be a non-negative"),
        ([[1.0]], [1.0], [1.0], np.inf, "cubic must be a non-negative"),
    ],
)
def test_bad_input(matrix, vector, weights, cubic, message):
    with pytest.raises(ValueError, match=message):
        minimize_cubic_model(matrix, vector, weights, cubic=cubic)

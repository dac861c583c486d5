"""Property tests of the series of matfun.series against the exact oracles of matfun.exact.

Fixed-scale truncations are compared with their exact value on the eigenvalues
(``truncated_*``), so the tolerance is rounding, not truncation error.

Rounding bound used throughout (``rounding_bound``): the series computes
``p_k = Z p_{k-1}``, ``Z = I - A/V``, with ``||Z|| <= 1`` when ``V > lambda_max(A)/2``.
Each product with ``A`` (one or two matvecs, ``n`` roundings each, ``||A||/V <= 2``)
plus the subtraction adds at most ``gamma = (4 n + 2) eps`` times ``||p_{k-1}||``, and
old errors are not amplified, so ``||p_k - fl(p_k)|| <= k gamma ||g||``. Weighted by the
coefficients and summed, the partial sum is off by at most
``pi(V) gamma ||g|| sum_k k |c_k| <= pi(V) gamma K S_K ||g||``, ``S_K = sum_{k<K} |c_k|``.
The oracle's eigendecomposition (backward error ``n eps ||H||``) moves each ``z_i`` by
``<= 4 n eps`` and the polynomial by the same ``sum_k k |c_k|``: doubling gamma covers it.
For the sizes below (n <= 8, K <= 40, S_K <= 7.2) this is <= 4e-12 relative to
``V^{-1/2} ||g||``; the errors measured are ~1e-14.
"""

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg as spla
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import matfun
from matfun import binomial_series, inv_sqrt_series, neumann_series
from matfun.exact import (
    abs_inv,
    fractional_power,
    inv,
    truncated_binomial_series,
    truncated_inv_sqrt_series,
    truncated_neumann_series,
)
from matfun.testing import assert_matches_oracle, matrix_with_spectrum, symmetric_matrices
from matfun.testing import vectors as vector_strategy
from tests._helpers import to_numpy, xp_assert_close

EPS = np.finfo(np.float64).eps
EPS32 = float(np.finfo(np.float32).eps)
KINDS = ["abs", "shift", "square"]

indefinite = symmetric_matrices(size=st.integers(1, 8), condition=st.floats(1.0, 5.0),
                                distribution=st.sampled_from(["geometric", "clustered"]))
positive = symmetric_matrices(size=st.integers(1, 8), condition=st.floats(1.0, 10.0),
                              negatives=0)


def rounding_bound(n, terms, coefficients, prefactor, g_norm, eps=EPS):
    """``2 gamma K S_K pi(V) ||g||`` (module docstring)."""
    gamma = (4 * n + 2) * eps
    return 2 * gamma * terms * np.sum(np.abs(coefficients[:terms])) * abs(prefactor) * g_norm


def top_of_series_operator(w, damping, kind):
    """lambda_max of the operator whose series is summed: H^2, (H + lam)^2 or H^2 + lam."""
    if kind == "shift":
        return np.max((w + damping) ** 2)
    return np.max(w**2) + (damping if kind == "square" else 0.0)


def inv_sqrt_bound(n, terms, scale, g):
    # abs-damped coefficients are <= c_k(1/2), so the undamped S_K bounds every kind.
    return rounding_bound(n, terms, matfun.binomial_coefficients(0.5, terms), scale**-0.5,
                          np.linalg.norm(to_numpy(g)))


@given(problem=indefinite, data=st.data(), terms=st.integers(1, 40),
       slack=st.floats(0.51, 3.0), damping=st.sampled_from([0.0, 0.3, 2.0]),
       kind=st.sampled_from(KINDS))
def test_truncated_series_equals_its_eigenvalue_formula(xp, problem, data, terms, slack,
                                                        damping, kind):
    H, w = problem.matrix, problem.eigenvalues
    n = w.shape[0]
    g = data.draw(vector_strategy(n))
    scale = slack * top_of_series_operator(w, damping, kind)
    options = {"terms": terms, "scale": scale, "damping": damping, "damping_kind": kind}
    x = inv_sqrt_series(xp.asarray(H), xp.asarray(g), **options)
    expected = truncated_inv_sqrt_series(H, g, **options)
    xp_assert_close(x, expected, rtol=0, atol=inv_sqrt_bound(n, terms, scale, g), xp=xp)


def test_truncated_series_in_float32(xp):
    H = matrix_with_spectrum([-3.0, -1.0, 1.5, 2.0], seed=9)
    g = np.array([1.0, -0.5, 0.25, 2.0])
    terms, scale = 30, 1.2 * 9.0
    x = inv_sqrt_series(xp.asarray(H, dtype=xp.float32), xp.asarray(g, dtype=xp.float32),
                        terms=terms, scale=scale)
    assert x.dtype == xp.float32
    # The float32-rounded H moves each z_i by ~4 n eps32 as well: the same bound in eps32.
    bound = rounding_bound(4, terms, matfun.binomial_coefficients(0.5, terms), scale**-0.5,
                           np.linalg.norm(g), eps=EPS32)
    xp_assert_close(x, truncated_inv_sqrt_series(H, g, terms=terms, scale=scale), rtol=0,
                    atol=bound, xp=xp)


@settings(max_examples=10)
@given(problem=indefinite, data=st.data())
def test_converged_series_is_abs_inv(xp, problem, data):
    H = problem.matrix
    g = data.draw(vector_strategy(H.shape[0]))
    tol = 1e-10
    x, info = inv_sqrt_series(xp.asarray(H), xp.asarray(g), rtol=tol, full_output=True)
    assert info.converged and not info.diverged
    # The stopping rule estimates the tail from the observed decay rate: an estimate,
    # allowed to be 10x optimistic (kappa <= 5: rounding is far below 1e-9).
    assert_matches_oracle(x, xp.asarray(H), xp.asarray(g), rtol=10 * tol)


@settings(max_examples=10)
@given(problem=indefinite, data=st.data(), damping=st.floats(0.1, 2.0),
       kind=st.sampled_from(KINDS))
def test_damping_kinds_converge_to_their_formulas(xp, problem, data, damping, kind):
    H, w = problem.matrix, problem.eigenvalues
    # shift moves an eigenvalue near 0: the series then needs ~1/min|l + lam|^2 terms.
    assume(kind != "shift" or np.min(np.abs(w + damping)) > 0.2)
    g = data.draw(vector_strategy(H.shape[0]))
    tol = 1e-10
    x = inv_sqrt_series(xp.asarray(H), xp.asarray(g), rtol=tol, damping=damping,
                        damping_kind=kind)
    assert_matches_oracle(x, xp.asarray(H), xp.asarray(g), "inv_sqrt_square", rtol=10 * tol,
                          damping=damping, damping_kind=kind)


def operator_forms(xp, H):
    dense = xp.asarray(H)

    class WithMatvec:
        shape = H.shape

        def matvec(self, v):
            return dense @ v

    forms = {"array": dense, "callable": lambda v: dense @ v, "matvec object": WithMatvec(),
             "Operator": matfun.as_operator(dense)}
    if xp.__name__ == "array_api_compat.numpy":
        forms["LinearOperator"] = spla.LinearOperator(H.shape, matvec=lambda v: H @ v,
                                                      dtype=np.float64)
        forms["sparse matrix"] = scipy.sparse.csr_matrix(H)
        forms["sparse array"] = scipy.sparse.csr_array(H)
    return forms


@settings(max_examples=10)
@given(problem=indefinite, data=st.data(), terms=st.integers(1, 40),
       slack=st.floats(0.51, 3.0))
def test_every_operator_form_gives_the_same_answer(xp, problem, data, terms, slack):
    H, w = problem.matrix, problem.eigenvalues
    n = w.shape[0]
    g = data.draw(vector_strategy(n))
    scale = slack * np.max(w**2)
    expected = truncated_inv_sqrt_series(H, g, terms=terms, scale=scale)
    bound = inv_sqrt_bound(n, terms, scale, g)
    for name, form in operator_forms(xp, H).items():
        x = inv_sqrt_series(form, xp.asarray(g), terms=terms, scale=scale)
        assert np.max(np.abs(to_numpy(x) - expected)) <= bound, name
    # The converged default (adaptive scale) agrees across forms as well.
    for name, form in operator_forms(xp, H).items():
        x = inv_sqrt_series(form, xp.asarray(g), rtol=1e-10)
        assert_matches_oracle(x, xp.asarray(H), xp.asarray(g), rtol=1e-9, err_msg=name)


# Scalars of magnitude >= 1e-3 (or 0): tiny right-hand sides are the subject of
# test_tiny_g_is_not_treated_as_zero below.
scalars = st.just(0.0) | st.floats(1e-3, 3.0) | st.floats(-3.0, -1e-3)


@given(problem=indefinite, data=st.data(), a=scalars, b=scalars, terms=st.integers(1, 40),
       slack=st.floats(0.51, 3.0))
def test_linear_in_g(xp, problem, data, a, b, terms, slack):
    H, w = problem.matrix, problem.eigenvalues
    n = w.shape[0]
    g1, g2 = data.draw(vector_strategy(n)), data.draw(vector_strategy(n))
    options = {"terms": terms, "scale": slack * np.max(w**2)}
    Hx = xp.asarray(H)
    left = inv_sqrt_series(Hx, xp.asarray(a * g1 + b * g2), **options)
    right = a * inv_sqrt_series(Hx, xp.asarray(g1), **options) + b * inv_sqrt_series(
        Hx, xp.asarray(g2), **options)
    # Each of the three series is within its rounding bound of the same linear map.
    size = np.linalg.norm(a * g1 + b * g2) + abs(a) * np.linalg.norm(g1) + abs(b) * \
        np.linalg.norm(g2)
    bound = inv_sqrt_bound(n, terms, options["scale"], np.array([size]))
    xp_assert_close(left, to_numpy(right), rtol=0, atol=bound + 4 * EPS * size, xp=xp)


def test_tiny_g_is_not_treated_as_zero():
    g = np.array([1e-200, 0.0])
    x = inv_sqrt_series(np.diag([1.0, -2.0]), g, terms=3, scale=4.0)
    expected = truncated_inv_sqrt_series(np.diag([1.0, -2.0]), g, terms=3, scale=4.0)
    np.testing.assert_allclose(x, expected, rtol=1e-14)


@given(problem=indefinite, data=st.data(), seed=st.integers(0, 2**16),
       terms=st.integers(1, 40), slack=st.floats(0.51, 3.0))
def test_invariant_under_orthogonal_similarity(xp, problem, data, seed, terms, slack):
    H, w = problem.matrix, problem.eigenvalues
    n = w.shape[0]
    g = data.draw(vector_strategy(n))
    _, q = matrix_with_spectrum(np.ones(n), seed=seed, return_eigenvectors=True)
    rotated = q @ H @ q.T
    rotated = (rotated + rotated.T) / 2
    options = {"terms": terms, "scale": slack * np.max(w**2)}
    x = inv_sqrt_series(xp.asarray(rotated), xp.asarray(q @ g), **options)
    y = q @ to_numpy(inv_sqrt_series(xp.asarray(H), xp.asarray(g), **options))
    # Both within the rounding bound of their own exact value; forming Q H Q^T perturbs H by
    # ~n eps ||H||, which the bound's oracle term covers; applying Q adds n eps ||y||.
    bound = 2 * inv_sqrt_bound(n, terms, options["scale"], g) + n * EPS * np.linalg.norm(y)
    xp_assert_close(x, y, rtol=0, atol=bound, xp=xp)


@given(w=st.lists(st.floats(0.1, 10.0) | st.floats(-10.0, -0.1), min_size=1, max_size=12),
       terms=st.integers(1, 200), slack=st.floats(0.5001, 4.0),
       damping=st.sampled_from([0.0, 0.5, 3.0]), kind=st.sampled_from(["abs", "square"]))
def test_every_truncation_is_positive_definite_on_the_eigenvalues(w, terms, slack, damping,
                                                                  kind):
    w = np.array(w)
    scale = slack * top_of_series_operator(w, damping, kind)
    # On a diagonal matrix the oracle returns the eigenvalue formula itself:
    # V^(-1/2) s_K(z_i) with z_i in (-1, 1).
    values = truncated_inv_sqrt_series(np.diag(w), np.ones(w.shape[0]), terms=terms,
                                       scale=scale, damping=damping, damping_kind=kind)
    delta = damping / np.sqrt(scale) if kind == "abs" else 0.0
    # Positive decreasing coefficients d_k: for z >= 0, s_K >= d_0 = 1/(1 + delta); for z < 0
    # the partial sums alternate and are >= s_1 >= d_0 - d_1 = (1 + 2 delta)/(2 (1 + delta)^2),
    # which is >= 1/(2 (1 + delta)). Rounding: K eps relative at most.
    lower = scale**-0.5 / (2 * (1 + delta)) * (1 - terms * EPS)
    assert np.min(values) >= lower


@settings(max_examples=10)
@given(problem=symmetric_matrices(size=st.integers(1, 6), condition=st.floats(1.0, 5.0)),
       terms=st.integers(1, 60), slack=st.floats(0.5001, 4.0))
def test_every_truncation_is_positive_definite_as_a_matrix(problem, terms, slack):
    H, w = problem.matrix, problem.eigenvalues
    n = w.shape[0]
    scale = slack * np.max(w**2)
    columns = [inv_sqrt_series(H, e, terms=terms, scale=scale) for e in np.eye(n)]
    truncation = np.array(columns).T
    # A polynomial in H: symmetric, eigenvalues V^(-1/2) s_K(z_i) >= V^(-1/2) / 2, up to the
    # rounding bound of each column.
    bound = inv_sqrt_bound(n, terms, scale, np.ones(1)) * np.sqrt(n)
    np.testing.assert_allclose(truncation, truncation.T, rtol=0, atol=2 * bound)
    assert np.min(np.linalg.eigvalsh(truncation)) >= scale**-0.5 / 2 - 2 * bound


def test_positive_definiteness_needs_the_scale_condition():
    # V = lambda_max^2 / 4: z = -3 for the top eigenvalue and s_2(z) = 1 + z/2 < 0.
    values = truncated_inv_sqrt_series(np.diag([1.0, 2.0]), np.ones(2), terms=2, scale=1.0)
    assert values[1] < 0


@settings(max_examples=10)
@given(problem=positive, data=st.data())
def test_neumann_series_is_the_inverse(xp, problem, data):
    H = problem.matrix
    g = data.draw(vector_strategy(H.shape[0]))
    tol = 1e-10
    x = neumann_series(xp.asarray(H), xp.asarray(g), rtol=tol)
    assert_matches_oracle(x, xp.asarray(H), xp.asarray(g), "inv", rtol=10 * tol)
    xp_assert_close(fractional_power(xp.asarray(H), xp.asarray(g), -1), to_numpy(
        inv(H, g)), rtol=0, atol=10 * H.shape[0] * problem.condition * EPS *
        np.linalg.norm(to_numpy(inv(H, g))), xp=xp)


@settings(max_examples=10)
@given(problem=positive, data=st.data(),
       exponent=st.sampled_from([-1.5, -1.0, -0.5, -1 / 3, 1 / 3, 0.5, 1.5]))
def test_binomial_series_is_the_fractional_power(xp, problem, data, exponent):
    H = problem.matrix
    g = data.draw(vector_strategy(H.shape[0]))
    tol = 1e-10
    x = binomial_series(xp.asarray(H), xp.asarray(g), exponent, rtol=tol)
    expected = to_numpy(fractional_power(H, g, exponent))
    # 10x the tolerance of the tail estimate; the fractional power's own rounding is
    # kappa^|p| n eps <= 1e-12 here.
    xp_assert_close(x, expected, rtol=0, atol=10 * tol * np.linalg.norm(expected), xp=xp)


@given(problem=positive, data=st.data(), terms=st.integers(1, 40), slack=st.floats(0.51, 3.0),
       exponent=st.sampled_from([-1.0, -0.5, 1 / 3, 0.5]))
def test_truncated_neumann_and_binomial_series(xp, problem, data, terms, slack, exponent):
    H, w = problem.matrix, problem.eigenvalues
    n = w.shape[0]
    g = data.draw(vector_strategy(n))
    scale = slack * np.max(w)
    g_norm = np.linalg.norm(g)
    x = binomial_series(xp.asarray(H), xp.asarray(g), exponent, terms=terms, scale=scale)
    coefficients = matfun.binomial_coefficients(exponent, terms, positive=True)
    bound = rounding_bound(n, terms, coefficients, scale**exponent, g_norm)
    xp_assert_close(x, truncated_binomial_series(H, g, exponent, terms=terms, scale=scale),
                    rtol=0, atol=bound, xp=xp)
    y = neumann_series(xp.asarray(H), xp.asarray(g), terms=terms, scale=scale)
    bound = rounding_bound(n, terms, np.ones(terms), 1 / scale, g_norm)
    xp_assert_close(y, truncated_neumann_series(H, g, terms=terms, scale=scale), rtol=0,
                    atol=bound, xp=xp)


@pytest.mark.parametrize("kind", KINDS)
def test_damped_truncations_in_every_backend(xp, kind):
    H = matrix_with_spectrum([-4.0, -0.5, 1.0, 3.0], seed=6)
    g = np.array([0.5, 1.0, -1.0, 2.0])
    damping, terms = 0.7, 35
    scale = 0.8 * top_of_series_operator(np.array([-4.0, -0.5, 1.0, 3.0]), damping, kind)
    options = {"terms": terms, "scale": scale, "damping": damping, "damping_kind": kind}
    x = inv_sqrt_series(xp.asarray(H), xp.asarray(g), **options)
    expected = truncated_inv_sqrt_series(xp.asarray(H), xp.asarray(g), **options)
    xp_assert_close(x, to_numpy(expected), rtol=0, atol=inv_sqrt_bound(4, terms, scale, g),
                    xp=xp)
    # With no damping every kind is the plain series, and the limit is |H|^{-1} g.
    plain = truncated_inv_sqrt_series(H, g, terms=4000, scale=scale, damping_kind=kind)
    np.testing.assert_allclose(plain, abs_inv(H, g), rtol=1e-12)

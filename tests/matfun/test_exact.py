"""The exact oracles against closed forms, independent factorisations and mpmath."""

import math

import mpmath
import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg as spla
from hypothesis import given, settings
from hypothesis import strategies as st

import matfun
from matfun.exact import (
    abs_inv,
    apply_function,
    eigendecomposition,
    fractional_power,
    inv,
    inv_sqrt_square,
    mp_abs_inv,
    mp_apply_function,
    to_dense,
    truncated_binomial_series,
    truncated_inv_sqrt_series,
    truncated_neumann_series,
)
from matfun.testing import matrix_with_spectrum, symmetric_matrices
from tests._helpers import to_numpy, xp_assert_close

EPS = np.finfo(np.float64).eps
EPS32 = float(np.finfo(np.float32).eps)


def inverse_bound(n, kappa, eps=EPS):
    # eigh is backward stable (backward error <= p(n) eps ||H||, p(n) ~ n); an inverse-type
    # f amplifies a perturbation E by ||L_f(H, E) g|| <= ||E|| ||x|| / min|lambda| (divided
    # differences of 1/|x| are <= 1/(|a||b|)), so the relative error is <= n kappa eps up to
    # the few extra roundings of Q^T g and Q (.): a factor 10.
    return 10 * n * kappa * eps


def construction(q, values, g):
    """f(H) g from the construction H = Q diag(lambda) Q^T: no eigensolver involved."""
    return q @ (values * (q.T @ g))


problems = symmetric_matrices(size=st.integers(1, 8), condition=st.floats(1.0, 1e3),
                              distribution=st.sampled_from(["geometric", "uniform",
                                                            "clustered"]))


@given(problem=problems, seed=st.integers(0, 2**16))
def test_named_oracles_match_the_construction(xp, problem, seed):
    H, w, q = problem.matrix, problem.eigenvalues, problem.eigenvectors
    g = np.random.default_rng(seed).standard_normal(w.shape[0])
    n, lam = w.shape[0], 0.7
    cases = [
        (abs_inv(xp.asarray(H), xp.asarray(g)), 1 / np.abs(w), problem.condition),
        (inv(xp.asarray(H), xp.asarray(g)), 1 / w, problem.condition),
    ]
    for kind, values in [("abs", 1 / (np.abs(w) + lam)), ("shift", 1 / np.abs(w + lam)),
                         ("square", 1 / np.sqrt(w**2 + lam))]:
        if np.min(np.abs(w + lam)) < 1e-3:
            continue  # H + lam I (nearly) singular: the shift oracle is not defined there
        x = inv_sqrt_square(xp.asarray(H), xp.asarray(g), damping=lam, damping_kind=kind)
        cases.append((x, values, np.max(values) / np.min(values)))
    for x, values, kappa in cases:
        exact = construction(q, values, g)
        # The construction's H is rounded too (n eps ||H||): the same bound covers both.
        xp_assert_close(x, exact, rtol=0, atol=2 * inverse_bound(n, kappa) *
                        np.linalg.norm(exact), xp=xp)


@given(diagonal=st.lists(st.floats(0.01, 100) | st.floats(-100, -0.01), min_size=1,
                         max_size=6))
def test_diagonal_closed_forms(xp, diagonal):
    d = np.array(diagonal)
    g = np.linspace(1, 2, d.shape[0])
    H = xp.asarray(np.diag(d))
    # A diagonal matrix is its own eigendecomposition: only the final roundings remain.
    xp_assert_close(abs_inv(H, xp.asarray(g)), g / np.abs(d), rtol=4 * EPS, xp=xp)
    xp_assert_close(inv(H, xp.asarray(g)), g / d, rtol=4 * EPS, xp=xp)
    xp_assert_close(apply_function(H, xp.asarray(g), lambda w: w**3), d**3 * g, rtol=8 * EPS,
                    xp=xp)


@settings(max_examples=10)
@given(problem=symmetric_matrices(size=st.integers(1, 5), condition=st.floats(1.0, 1e6)),
       seed=st.integers(0, 2**16))
def test_float64_oracle_against_mpmath(problem, seed):
    H = problem.matrix
    g = np.random.default_rng(seed).standard_normal(H.shape[0])
    reference = mp_abs_inv(H, g, dps=40)  # exact for the stored H to ~kappa 1e-40
    x = abs_inv(H, g)
    error = np.linalg.norm(x - reference) / np.linalg.norm(reference)
    assert error <= inverse_bound(H.shape[0], problem.condition)


def test_mpmath_oracle_on_a_hilbert_matrix():
    # kappa(Hilbert 8) = 1.5e10: float64 is near its limit, mpmath at 60 digits is not.
    H = scipy.linalg.hilbert(8)
    g = np.ones(8)
    x = mp_abs_inv(H, g, dps=60, output="mpmath")
    assert isinstance(x, mpmath.matrix) and x.rows == 8
    with mpmath.workdps(60):
        residual = mpmath.matrix(H.tolist()) * x - mpmath.matrix(g.tolist())
        # Hilbert matrices are positive definite: |H|^{-1} = H^{-1}; 60 digits - log10(kappa)
        assert mpmath.norm(residual) < mpmath.mpf(10) ** -45
    w = np.linalg.eigvalsh(H)
    close = abs_inv(H, g)
    reference = np.array([float(v) for v in x])
    kappa = w[-1] / w[0]
    assert np.linalg.norm(close - reference) <= inverse_bound(8, kappa) * np.linalg.norm(
        reference)


def test_mp_apply_function_closed_form_and_complex():
    x = mp_apply_function(np.diag([4, 9]), np.array([1, 1]), lambda v: 1 / v.context.sqrt(v))
    np.testing.assert_allclose(x, [0.5, 1 / 3], rtol=EPS)
    # Hermitian: [[2, i], [-i, 2]] has eigenvalues 1, 3.
    H = np.array([[2, 1j], [-1j, 2]])
    g = np.array([1.0, 0.5j])
    expected = np.linalg.solve(H, g)  # H is positive definite, so |H|^{-1} = H^{-1}
    np.testing.assert_allclose(mp_abs_inv(H, g), expected, rtol=10 * EPS)
    np.testing.assert_allclose(to_numpy(abs_inv(H, g)), expected, rtol=10 * 2 * 3 * EPS)


@given(problem=problems, seed=st.integers(0, 2**16))
def test_residuals_without_an_eigensolver(problem, seed):
    H, n = problem.matrix, problem.matrix.shape[0]
    g = np.random.default_rng(seed).standard_normal(n)
    x = inv(H, g)
    twice = abs_inv(H, abs_inv(H, g))  # |H|^{-2} g = H^{-2} g
    norm_h = np.max(np.abs(problem.eigenvalues))
    # Residual of a computed inverse: ||H x - g|| <= (forward error) * ||H|| ||x||.
    assert np.linalg.norm(H @ x - g) <= inverse_bound(n, problem.condition) * norm_h * \
        np.linalg.norm(x)
    assert np.linalg.norm(H @ (H @ twice) - g) <= 2 * inverse_bound(
        n, problem.condition**2) * norm_h**2 * np.linalg.norm(twice)


@given(problem=symmetric_matrices(size=st.integers(1, 6), condition=st.floats(1.0, 100.0),
                                  negatives=0),
       exponent=st.sampled_from([-1.5, -0.5, -1 / 3, 0.25, 0.5, 2.5]))
def test_fractional_power_against_schur_pade(problem, exponent):
    H = problem.matrix
    g = np.arange(1.0, H.shape[0] + 1)
    expected = np.real(scipy.linalg.fractional_matrix_power(H, exponent)) @ g
    # |p| kappa^|p| relative conditioning of A^p, times the n eps of both algorithms.
    bound = inverse_bound(H.shape[0], problem.condition ** max(1, abs(exponent)))
    np.testing.assert_allclose(fractional_power(H, g, exponent), expected, rtol=bound,
                               atol=bound * np.linalg.norm(expected))


def test_integer_powers_on_an_indefinite_matrix(xp):
    H = matrix_with_spectrum([-2.0, 0.5, 3.0], seed=3)
    g = np.array([1.0, -1.0, 2.0])
    xp_assert_close(fractional_power(xp.asarray(H), xp.asarray(g), 3),
                    np.linalg.matrix_power(H, 3) @ g, rtol=1e-13, xp=xp)
    xp_assert_close(fractional_power(xp.asarray(H), xp.asarray(g), -1.0),
                    np.linalg.solve(H, g), rtol=1e-13, xp=xp)
    xp_assert_close(fractional_power(xp.asarray(H), xp.asarray(g), 0), g, rtol=1e-14, xp=xp)


def test_damped_kinds_against_scipy_factorisations():
    H = matrix_with_spectrum([-3.0, -0.5, 1.0, 4.0], seed=7)
    g = np.array([1.0, 2.0, -1.0, 0.5])
    lam, identity = 0.8, np.eye(4)
    _, absolute = scipy.linalg.polar(H)  # H = U |H|, |H| from the SVD
    _, shifted = scipy.linalg.polar(H + lam * identity)
    expected = {
        "abs": np.linalg.solve(absolute + lam * identity, g),
        "shift": np.linalg.solve(shifted, g),
        "square": np.linalg.solve(scipy.linalg.sqrtm(H @ H + lam * identity), g),
    }
    for kind, value in expected.items():
        # kappa <= 8 here; sqrtm and polar are backward stable: 1e-13 is >100 n kappa eps.
        np.testing.assert_allclose(inv_sqrt_square(H, g, damping=lam, damping_kind=kind),
                                   value, rtol=1e-13)
    np.testing.assert_allclose(inv_sqrt_square(H, g), abs_inv(H, g), rtol=0, atol=0)


@given(problem=problems, seed=st.integers(0, 2**16))
def test_apply_function_identity_and_square(xp, problem, seed):
    H, n = problem.matrix, problem.matrix.shape[0]
    g = np.random.default_rng(seed).standard_normal(n)
    norm_h = np.max(np.abs(problem.eigenvalues))
    # Identity: Q diag(w) Q^T g reproduces H g up to the backward error n eps ||H|| ||g||.
    atol = 10 * n * EPS * norm_h * np.linalg.norm(g)
    xp_assert_close(apply_function(xp.asarray(H), xp.asarray(g), lambda w: w), H @ g,
                    rtol=0, atol=atol, xp=xp)
    xp_assert_close(apply_function(xp.asarray(H), xp.asarray(g), lambda w: w * w), H @ (H @ g),
                    rtol=0, atol=2 * atol * norm_h, xp=xp)


# --- truncated series -------------------------------------------------------------------


def direct_sum(matrix, g, coefficients, prefactor):
    """prefactor * sum_k c_k Z^k g with the dense matrix Z: the series' own definition."""
    term, total = g.copy(), np.zeros_like(g)
    for c in coefficients:
        total += c * term
        term = matrix @ term
    return prefactor * total


@given(problem=symmetric_matrices(size=st.integers(1, 6), condition=st.floats(1.0, 10.0)),
       terms=st.integers(1, 40), slack=st.floats(0.51, 3.0),
       damping=st.sampled_from([0.0, 0.3, 1.5]),
       kind=st.sampled_from(["abs", "shift", "square"]))
def test_truncated_inv_sqrt_series_is_the_direct_sum(problem, terms, slack, damping, kind):
    H, w = problem.matrix, problem.eigenvalues
    n = w.shape[0]
    g = np.ones(n)
    base = H + damping * np.eye(n) if kind == "shift" else H
    A = base @ base + (damping * np.eye(n) if kind == "square" else 0.0)
    V = slack * np.max(np.linalg.eigvalsh(A))
    with mpmath.workdps(30):
        if kind == "abs" and damping:
            # Taylor coefficients of 1/(sqrt(1 - z) + delta) by mpmath's differentiation.
            delta = damping / mpmath.sqrt(V)
            c = [float(t) for t in mpmath.taylor(lambda z: 1 / (mpmath.sqrt(1 - z) + delta),
                                                 0, terms - 1)]
        else:
            c = [float(mpmath.binomial(2 * k, k) / mpmath.mpf(4) ** k) for k in range(terms)]
    expected = direct_sum(np.eye(n) - A / V, g, c, V**-0.5)
    x = truncated_inv_sqrt_series(H, g, terms=terms, scale=V, damping=damping,
                                  damping_kind=kind)
    # ||Z|| < 1 and 0 < c_k <= 1: each of the K products adds <= 2 n eps ||g|| to every later
    # term, so both sides are within 2 n K^2 eps V^(-1/2) ||g|| of the truth (x2 for the oracle's
    # own eigendecomposition error, same order).
    atol = 4 * n * terms**2 * EPS * V**-0.5 * np.linalg.norm(g)
    np.testing.assert_allclose(x, expected, rtol=0, atol=atol)


def test_truncated_neumann_closed_form_cases():
    # Eigenvalues 0 (K/V), tiny (z^K close to 1: expm1 keeps the digits), > V (z < 0),
    # > 2V (z < -1: the divergent truncation, still exactly defined).
    w = np.array([0.0, 1e-12, 0.5, 1.5, 3.0])
    V, K = 1.0, 7
    x = truncated_neumann_series(np.diag(w), np.ones(5), terms=K, scale=V)
    with mpmath.workdps(40):
        expected = [float(mpmath.fsum((1 - mpmath.mpf(v) / V) ** k for k in range(K)) / V)
                    for v in w]
    np.testing.assert_allclose(x, expected, rtol=4 * EPS)


@given(problem=symmetric_matrices(size=st.integers(1, 6), condition=st.floats(1.0, 10.0),
                                  negatives=0),
       terms=st.integers(1, 60), slack=st.floats(0.51, 3.0),
       exponent=st.sampled_from([-1.0, -0.5, 0.5, 1 / 3, 2.0]))
def test_truncated_neumann_and_binomial_are_the_direct_sum(problem, terms, slack, exponent):
    H, w = problem.matrix, problem.eigenvalues
    n = w.shape[0]
    g = np.linspace(-1, 1, n) + 0.25
    V = slack * np.max(w)
    Z = np.eye(n) - H / V
    with mpmath.workdps(30):
        c = [float(mpmath.binomial(exponent, k) * (-1) ** k) for k in range(terms)]
    expected = direct_sum(Z, g, c, V**exponent)
    x = truncated_binomial_series(H, g, exponent, terms=terms, scale=V)
    # |c_k(-p)| <= max(1, |p|)^... <= c_k(2) = k + 1 for the exponents used; as above,
    # K products each adding 2 n eps: error <= 2 n eps K^3 V^p ||g|| (x2 for the oracle).
    atol = 4 * n * EPS * terms**3 * V**exponent * np.linalg.norm(g)
    np.testing.assert_allclose(x, expected, rtol=0, atol=atol)
    if exponent == -1.0:
        neumann = truncated_neumann_series(H, g, terms=terms, scale=V)
        np.testing.assert_allclose(neumann, expected, rtol=0, atol=atol)


def test_long_truncations_converge_to_the_limits():
    H = matrix_with_spectrum([-4.0, -1.0, 1.5, 3.0], seed=5)
    g = np.array([1.0, 0.0, -2.0, 1.0])
    # V = lambda_max^2: |z| <= 1 - 1/16, so 2000 terms leave (15/16)^2000 ~ 1e-56.
    x = truncated_inv_sqrt_series(H, g, terms=2000, scale=16.0)
    np.testing.assert_allclose(x, abs_inv(H, g), rtol=1e-13)
    spd = H @ H
    np.testing.assert_allclose(truncated_neumann_series(spd, g, terms=3000, scale=16.0),
                               inv(spd, g), rtol=1e-13)
    np.testing.assert_allclose(truncated_binomial_series(spd, g, 0.5, terms=3000, scale=16.0),
                               fractional_power(spd, g, 0.5), rtol=1e-13)


@pytest.mark.parametrize("delta", [0.3, 0.9, 0.99, 0.999, 1.0, 1.2, 1.5, 3.0, 1 + 1e-9])
def test_abs_damped_coefficients_two_algorithms_agree(delta):
    from matfun._exact_mp import mp_abs_damped_coefficients

    mp = np.array(mp_abs_damped_coefficients(delta, 2000))
    # Both are accurate to a few eps relative (positive or alternating-decreasing sums).
    np.testing.assert_allclose(mp, matfun.abs_damped_coefficients(delta, 2000), rtol=50 * EPS)
    with mpmath.workdps(30):
        head = mpmath.taylor(lambda z: 1 / (mpmath.sqrt(1 - z) + delta), 0, 5)
    np.testing.assert_allclose(mp[:6], [float(t) for t in head], rtol=1e-14)


# --- backends, dtypes, operator forms --------------------------------------------------


def test_float32_in_float32_out_and_integers_promoted(xp):
    H = matrix_with_spectrum([-2.0, 1.0, 4.0], seed=0)
    g = np.array([1.0, 2.0, 3.0])
    exact = np.linalg.solve(H, g)
    x = inv(xp.asarray(H, dtype=xp.float32), xp.asarray(g, dtype=xp.float32))
    assert x.dtype == xp.float32
    # Computed in float64 from the float32-rounded H: the input rounding dominates,
    # kappa (4) times eps32 times n, x10.
    xp_assert_close(x, exact.astype(np.float32), rtol=10 * 3 * 4 * EPS32, xp=xp)
    integer = xp.asarray([[2, 0], [0, -4]])
    y = abs_inv(integer, xp.asarray([2, 4]))
    default = xp.__array_namespace_info__().default_dtypes()["real floating"]
    assert y.dtype == default
    xp_assert_close(y, np.array([1.0, 1.0]), rtol=4 * float(xp.finfo(default).eps), xp=xp)


def test_every_operator_form_gives_the_same_oracle(xp):
    H = matrix_with_spectrum([-3.0, -1.0, 2.0, 5.0], seed=2)
    g = np.array([1.0, -2.0, 0.5, 1.0])
    exact = np.linalg.solve(H, g)
    dense = xp.asarray(H)
    forms = [dense, lambda v: dense @ v, matfun.as_operator(dense)]

    class WithMatvec:
        def matvec(self, v):
            return dense @ v

    forms.append(WithMatvec())
    if xp.__name__ == "array_api_compat.numpy":
        forms += [spla.LinearOperator(H.shape, matvec=lambda v: H @ v, dtype=np.float64),
                  scipy.sparse.csr_array(H), scipy.sparse.csr_matrix(H)]
    for form in forms:
        # kappa = 5, n = 4: inverse_bound covers eigh and the matvec-built matrix alike.
        xp_assert_close(inv(form, xp.asarray(g)), exact, rtol=inverse_bound(4, 5.0), xp=xp)


def test_to_dense_costs_n_matvecs_and_returns_arrays_as_they_are(xp):
    H = xp.asarray(matrix_with_spectrum([1.0, 2.0, 3.0], seed=1))
    g = xp.ones(3, dtype=xp.float64)
    assert to_dense(H, like=g) is H
    op = matfun.as_operator(lambda v: H @ v, like=g)
    dense = to_dense(op, like=g)
    assert op.matvecs == 3
    xp_assert_close(dense, to_numpy(H), rtol=0, atol=4 * EPS * 3, xp=xp)
    w, q = eigendecomposition(op, like=g)
    xp_assert_close(w, np.array([1.0, 2.0, 3.0]), rtol=20 * EPS, xp=xp)


def test_mixed_backends_are_a_type_error():
    import array_api_strict

    with pytest.raises(TypeError, match="one array library"):
        abs_inv(np.eye(2), array_api_strict.ones(2))


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "g", "error", "match"),
    [
        (np.ones((2, 3)), np.ones(2), ValueError, "square"),
        (np.array([[1.0, 2.0], [0.0, 1.0]]), np.ones(2), ValueError, "symmetric"),
        (np.eye(3), np.ones(2), ValueError, "length 2"),
        (np.array([[np.nan, 0.0], [0.0, 1.0]]), np.ones(2), ValueError, "NaN"),
        (np.eye(2), np.array([1.0, np.inf]), ValueError, "g contains NaN or inf"),
        (np.eye(2), np.ones((2, 1)), ValueError, "1-D"),
        (np.eye(2), [1.0, 2.0], TypeError, "g must be an array"),
        ("matrix", np.ones(2), TypeError, "square 2-D array"),
        (lambda v: np.array([[1.0, 2.0], [0.0, 1.0]]) @ v, np.ones(2), ValueError, "symmetric"),
        (lambda v: v[:1], np.ones(2), ValueError, "returned shape"),
    ],
)
def test_bad_operators_and_vectors(op, g, error, match):
    for oracle in (abs_inv, inv, inv_sqrt_square):
        with pytest.raises(error, match=match):
            oracle(op, g)


def test_singular_and_undefined():
    H = np.diag([1.0, 0.0, -1.0])
    g = np.ones(3)
    for oracle in (abs_inv, inv):
        with pytest.raises(ValueError, match="singular"):
            oracle(H, g)
    with pytest.raises(ValueError, match="singular"):
        inv_sqrt_square(H, g, damping=1.0, damping_kind="shift")  # -1 + 1 = 0
    with pytest.raises(ValueError, match="singular"):
        fractional_power(H, g, -2)
    with pytest.raises(ValueError, match=r"undefined .* at eigenvalue\(s\) 0"), \
            np.errstate(divide="ignore"):
        apply_function(H, g, lambda w: 1 / w)
    with pytest.raises(ValueError, match="singular"):
        mp_abs_inv(H, g)
    # Damping makes the singular matrix invertible: the abs and square kinds exist.
    np.testing.assert_allclose(inv_sqrt_square(H, g, damping=1.0), [0.5, 1.0, 0.5])


BAD_OPTIONS = [
        (lambda H, g: inv_sqrt_square(H, g, damping=-1.0), ValueError, "non-negative"),
        (lambda H, g: inv_sqrt_square(H, g, damping=math.nan), ValueError, "finite"),
        (lambda H, g: inv_sqrt_square(H, g, damping_kind="tanh"), ValueError, "damping_kind"),
        (lambda H, g: inv_sqrt_square(H, g, damping="1"), TypeError, "damping"),
        (lambda H, g: fractional_power(H, g, "half"), TypeError, "exponent"),
        (lambda H, g: fractional_power(H, g, math.inf), ValueError, "exponent"),
        (lambda H, g: fractional_power(H, g, 0.5), ValueError, "positive definite"),
        (lambda H, g: apply_function(H, g, "sqrt"), TypeError, "callable"),
        (lambda H, g: apply_function(H, g, lambda w: w[:1]), ValueError, "one value per"),
        (lambda H, g: apply_function(H, g, lambda w: w + 1j), TypeError, "real"),
        (lambda H, g: apply_function(H, g, lambda w: np.full_like(w, np.inf)), ValueError, "NaN"),
        (lambda H, g: truncated_inv_sqrt_series(H, g, terms=0, scale=1.0), ValueError, "terms"),
        (lambda H, g: truncated_neumann_series(H, g, terms=True, scale=1.0), ValueError,
         "terms"),
        (lambda H, g: truncated_binomial_series(H, g, 0.5, terms=3, scale=0.0), ValueError,
         "scale"),
        (lambda H, g: truncated_inv_sqrt_series(H, g, terms=3, scale=math.nan), ValueError,
         "scale"),
        (lambda H, g: mp_abs_inv(H, g, dps=5), ValueError, "dps"),
        (lambda H, g: mp_abs_inv(H, g, output="float32"), ValueError, "output"),
        (lambda H, g: mp_abs_inv(H, g[:2]), ValueError, "length 3"),
        (lambda H, g: mp_abs_inv(H[:2], g), ValueError, "square"),
        (lambda H, g: mp_abs_inv(H + np.triu(H, 1), g), ValueError, "symmetric"),
        (lambda H, g: mp_abs_inv(H * np.nan, g), ValueError, "NaN"),
        (lambda H, g: mp_apply_function(H, g, None), TypeError, "callable"),
        (lambda H, g: mp_abs_inv(H.astype(str), g), TypeError, "numeric"),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD_OPTIONS,
                         ids=[f"{i}-{case[2]}" for i, case in enumerate(BAD_OPTIONS)])
def test_bad_options(call, error, match):
    H = np.array([[2.0, 1.0, 0.0], [1.0, -1.0, 0.5], [0.0, 0.5, 3.0]])
    with pytest.raises(error, match=match):
        call(H, np.ones(3))


def test_positive_semidefinite_rounding_is_accepted_for_positive_powers():
    # A rank-one PSD matrix: eigenvalues 0, 0, 3 up to rounding (possibly -1e-16).
    u = np.ones(3)
    H = np.outer(u, u)
    x = fractional_power(H, np.array([1.0, 0.0, 0.0]), 0.5)
    np.testing.assert_allclose(x, np.sqrt(3) / 3 * u, rtol=1e-7, atol=1e-7)
    with pytest.raises(ValueError, match="positive definite"):
        fractional_power(H - 1e-6 * np.eye(3), np.ones(3), 0.5)


def _hermitian(n, seed, condition):
    """H = U diag(w) U^H with a random unitary U and eigenvalues of both signs."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
    u, _ = np.linalg.qr(z)
    w = np.geomspace(1.0, condition, n) * rng.choice([-1.0, 1.0], n)
    H = (u * w) @ u.conj().T
    return (H + H.conj().T) / 2, w


def _embedding(H):
    """The real symmetric 2n x 2n [[A, -B], [B, A]] of H = A + iB: same eigenvalues, twice."""
    A, B = H.real, H.imag
    return np.block([[A, -B], [B, A]])


@settings(max_examples=25)
@given(n=st.integers(1, 6), seed=st.integers(0, 2**16), condition=st.floats(1.0, 1e3),
       real_g=st.booleans())
def test_complex_hermitian_oracles_against_the_real_embedding(xp, n, seed, condition, real_g):
    # f(H) g = x + iy  <=>  f(E) [Re g; Im g] = [x; y] for the real embedding E, a matrix
    # the oracles only ever see as real: an independent computation of the complex case.
    H, w = _hermitian(n, seed, condition)
    rng = np.random.default_rng(seed + 1)
    g = rng.standard_normal(n) + (0 if real_g else 1j * rng.standard_normal(n))
    E, stacked = _embedding(H), np.concatenate([g.real, np.imag(g)])
    kappa = max(abs(w)) / min(abs(w))
    shifted = abs(w + 0.5)
    # Per case, the ratio max|f| / min|f| over the spectrum (the condition number that
    # multiplies eps in the inverse-type bound): kappa for 1/|l|, 1/l and
    # 1/sqrt(l^2 + 1/2) (<= kappa), that of |l + 1/2| for the shift, kappa^3 for l^3; the
    # truncated series' values lie in [1, 5] / sqrt(V) (z in [1/2, 1), 5 positive terms).
    cases = [
        (lambda M, v: abs_inv(M, v), kappa),
        (lambda M, v: inv(M, v), kappa),
        (lambda M, v: inv_sqrt_square(M, v, damping=0.5, damping_kind="shift"),
         max(shifted) / min(shifted)),
        (lambda M, v: inv_sqrt_square(M, v, damping=0.5, damping_kind="square"), kappa),
        (lambda M, v: apply_function(M, v, lambda t: t**3), kappa**3),
        (lambda M, v: truncated_inv_sqrt_series(M, v, terms=5, scale=2 * max(w**2)), 5.0),
    ]
    for oracle, condition_of_f in cases:
        expected = oracle(E, stacked)
        got = to_numpy(oracle(xp.asarray(H), xp.asarray(g)))
        assert np.iscomplexobj(got)
        got = np.concatenate([got.real, got.imag])
        # Both sides are backward stable eigendecompositions of the same spectrum (E has
        # it twice): the inverse-type bound with n -> 2n.
        bound = inverse_bound(2 * n, condition_of_f)
        assert np.linalg.norm(got - expected) <= bound * np.linalg.norm(expected)


def test_complex_hermitian_issue_example():
    # [[2, i], [-i, 3]] is positive definite: |H|^{-1} g = H^{-1} g, imaginary part kept.
    H, g = np.array([[2, 1j], [-1j, 3]]), np.array([1.0, 0.0])
    expected = np.array([0.6, 0.2j])  # the closed form: H^{-1} = [[3, -i], [i, 2]] / 5
    for oracle in (abs_inv, inv, mp_abs_inv):
        np.testing.assert_allclose(oracle(H, g), expected, rtol=0, atol=8 * EPS)
    np.testing.assert_allclose(fractional_power(H, g, -1.0), expected, atol=8 * EPS)
    x = apply_function(H, g.astype(np.float32), lambda t: 1 / t)
    assert x.dtype == np.complex64


def test_complex_callable_operator_is_refused_with_a_real_vector():
    H = np.array([[2, 1j], [-1j, 3]])
    with pytest.raises(TypeError, match="complex values for a real vector"):
        abs_inv(lambda v: H @ v, np.array([1.0, 0.0]))
    np.testing.assert_allclose(abs_inv(lambda v: H @ v, np.array([1.0, 0.0j])),
                               [0.6, 0.2j], atol=8 * EPS)


@pytest.mark.parametrize(("c", "d"), [
    (c, d) for c in (2.0**-1000, 1e-300, 1e-150, 1.0, 1e150, 1e300)
    for d in (1e-300, 1e-100, 1.0, 1e100, 1e300)
    if 1e-290 < d / c < 1e290  # elsewhere the true answer over- or underflows float64
])
def test_scale_invariance(c, d):
    # |cH|^{-1} (d g) = (d/|c|) |H|^{-1} g, checked wherever the answer is a normal float.
    H0 = np.array([[2.0, 1.0, 0.0], [1.0, -3.0, 0.5], [0.0, 0.5, 1.0]])
    g0 = np.array([1.0, 2.0, -1.0])
    H, g = c * H0, d * g0
    # c * H0 rounds each entry once (c is not a power of two): relative perturbation eps,
    # amplified by kappa(H0) < 10 in the inverse-type oracles.
    for oracle in (abs_inv, inv):
        expected = oracle(H0, g0) * (d / c)
        np.testing.assert_allclose(oracle(H, g), expected, rtol=100 * EPS, atol=0)
    expected = inv_sqrt_square(H0, g0, damping=0.25, damping_kind="square") * (d / c)
    if 1e-300 < c * c < 1e300:
        got = inv_sqrt_square(H, g, damping=0.25 * c * c, damping_kind="square")
        np.testing.assert_allclose(got, expected, rtol=100 * EPS, atol=0)
    w, _ = eigendecomposition(H, like=g)
    np.testing.assert_allclose(w / c, np.linalg.eigvalsh(H0), rtol=100 * EPS)


def test_mpmath_precision_is_private_to_the_call():
    # Another thread sees mpmath's global precision unchanged while an oracle runs.
    import threading

    seen, stop = set(), threading.Event()

    def watch():
        while not stop.is_set():
            seen.add(mpmath.mp.dps)

    watcher = threading.Thread(target=watch)
    before = mpmath.mp.dps
    watcher.start()
    try:
        for _ in range(20):
            mp_abs_inv(np.diag([1.0, -2.0, 3.0]), np.ones(3), dps=80)
            truncated_inv_sqrt_series(np.diag([1.0]), np.ones(1), terms=40, scale=2.0,
                                      damping=0.9, damping_kind="abs")
    finally:
        stop.set()
        watcher.join()
    assert seen == {before} and mpmath.mp.dps == before


def test_mp_function_at_lower_precision_is_refused():
    with pytest.raises(TypeError, match="digits"):
        mp_apply_function(np.diag([4.0, 9.0]), np.ones(2), lambda v: 1 / mpmath.sqrt(v))
    with pytest.raises(TypeError, match="f must return a number"):
        mp_apply_function(np.diag([4.0, 9.0]), np.ones(2), lambda v: "x")


def test_no_import_cycle_between_exact_and_truncations():
    import ast
    from pathlib import Path

    source = Path(matfun.__file__).with_name("_truncations.py").read_text()
    imported = {node.module for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.ImportFrom)} | {
        alias.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Import)
        for alias in node.names}
    assert "exact" not in imported and "matfun.exact" not in imported
    assert not any(
        isinstance(node, ast.ImportFrom) and node.level and "exact" in [a.name for a in node.names]
        for node in ast.walk(ast.parse(source)))


def test_float32_result_beyond_its_range_raises():
    # Front-door fuzz reproducer: 1/|lambda| g = 3.6e41 fits float64, where the range
    # was checked, but not float32: the cast returned inf.
    H = np.diag(np.array([2.0**-100, 1.0], dtype=np.float32))
    g = np.array([2.0**38, 1.0], dtype=np.float32)
    with np.errstate(over="ignore"), pytest.raises(ValueError, match="overflows float32"):
        matfun.exact.abs_inv(H, g)
    assert np.isfinite(matfun.exact.abs_inv(H, g / 2**30)).all()  # 2^108 fits


def test_float32_vector_near_its_largest_value():
    # g's rescaling factor is 2^128 for entries in [2^127, 2^128): inf in float32; g
    # was divided by it in float32 and the oracle returned zeros.
    H = np.diag(np.array([1.0, 2.0], dtype=np.float32))
    g = np.array([1.5 * 2.0**127, 1.0], dtype=np.float32)
    np.testing.assert_array_equal(matfun.exact.abs_inv(H, g), np.array([g[0], 0.5], np.float32))

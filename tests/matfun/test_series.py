"""The named series against dense eigendecomposition (NumPy) and mpmath coefficients."""

import warnings

import mpmath
import numpy as np
import pytest
import scipy.sparse.linalg as spla
from hypothesis import given, settings
from hypothesis import strategies as st

import matfun
from matfun import SeriesDivergenceError, inv_sqrt_series
from tests._helpers import to_numpy, xp_assert_close

EPS = np.finfo(np.float64).eps


def indefinite(n, seed, kappa=5.0, negatives=None):
    """``(H, eigenvalues, Q)`` with |eigenvalues| geometric in [1, kappa], random signs."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    signs = rng.choice([-1.0, 1.0], n)
    if negatives is not None:
        signs = np.where(np.arange(n) < negatives, -1.0, 1.0)
    eigenvalues = signs * np.geomspace(1.0, kappa, n)
    matrix = (q * eigenvalues) @ q.T
    return (matrix + matrix.T) / 2, eigenvalues, q


def apply(q, values, g):
    return q @ (values * (q.T @ g))


def mp_coefficients(kind, n, delta=0.0):
    """Series coefficients in mpmath: c_k(1/2) or the abs-damped ones by convolution."""
    with mpmath.workdps(40):
        half = mpmath.mpf(1) / 2
        c = [mpmath.binomial(2 * k, k) / mpmath.mpf(4) ** k for k in range(n)]
        if kind != "abs":
            return np.array([float(x) for x in c])
        b = [mpmath.binomial(half, j) * (-1) ** j for j in range(n)]
        d = [1 / (1 + mpmath.mpf(delta))]
        for k in range(1, n):
            d.append(-mpmath.fsum(b[j] * d[k - j] for j in range(1, k + 1)) / (1 + delta))
        return np.array([float(x) for x in d])


def truncated(eigenvalues, q, g, terms, scale, damping=0.0, kind="abs"):
    """K terms of the series on the eigenvalues: the exact value of the truncation."""
    lam = eigenvalues + damping if kind == "shift" else eigenvalues
    squared = lam**2 + (damping if kind == "square" else 0.0)
    z = 1 - squared / scale
    c = mp_coefficients("abs" if kind == "abs" and damping else "plain", terms,
                        damping / np.sqrt(scale))
    values = scale**-0.5 * np.polynomial.polynomial.polyval(z, c)
    return apply(q, values, g)


def truncation_bound(terms, scale, g):
    # p_k = (I - A/V)^k g has norm <= ||g||; each step adds ~3 eps relative error, so the
    # error of p_k is <= 3 k eps ||g||; summed with weights c_k V^(-1/2) <= V^(-1/2):
    return 3 * terms**2 * EPS * np.linalg.norm(g) * scale**-0.5


@given(n=st.integers(2, 12), seed=st.integers(0, 2**16), terms=st.integers(1, 60),
       slack=st.floats(0.51, 3.0), damping=st.sampled_from([0.0, 0.3, 2.0]),
       kind=st.sampled_from(["abs", "shift", "square"]))
def test_truncated_series_equals_its_eigenvalue_formula(xp, n, seed, terms, slack, damping, kind):
    H, eigenvalues, q = indefinite(n, seed)
    g = np.random.default_rng(seed).standard_normal(n)
    lam = eigenvalues + damping if kind == "shift" else eigenvalues
    top = np.max(lam**2) + (damping if kind == "square" else 0.0)
    scale = slack * top
    x = inv_sqrt_series(xp.asarray(H), xp.asarray(g), terms=terms, scale=scale,
                        damping=damping, damping_kind=kind)
    expected = truncated(eigenvalues, q, g, terms, scale, damping, kind)
    xp_assert_close(x, expected, rtol=0, atol=truncation_bound(terms, scale, g), xp=xp)


@given(n=st.integers(2, 12), seed=st.integers(0, 2**16))
def test_converged_series_is_the_saddle_free_direction(xp, n, seed):
    H, eigenvalues, q = indefinite(n, seed)
    g = np.random.default_rng(seed).standard_normal(n)
    x, info = inv_sqrt_series(xp.asarray(H), xp.asarray(g), rtol=1e-10, full_output=True)
    assert info.converged and not info.diverged
    exact = apply(q, 1 / np.abs(eigenvalues), g)
    # The tail estimate is an estimate: allow 10x, plus kappa * eps rounding (kappa = 5).
    xp_assert_close(x, exact, rtol=1e-9, atol=1e-9 * np.linalg.norm(exact), xp=xp)


@pytest.mark.parametrize("kind", ["abs", "shift", "square"])
def test_converged_damped_series(xp, kind):
    H, eigenvalues, q = indefinite(10, 3)
    g = np.linspace(-1, 1, 10)
    lam = 0.4
    values = {"abs": 1 / (np.abs(eigenvalues) + lam), "shift": 1 / np.abs(eigenvalues + lam),
              "square": 1 / np.sqrt(eigenvalues**2 + lam)}[kind]
    x = inv_sqrt_series(xp.asarray(H), xp.asarray(g), rtol=1e-12, damping=lam,
                        damping_kind=kind)
    xp_assert_close(x, apply(q, values, g), rtol=1e-10, xp=xp)


def test_every_operator_form_gives_the_same_answer(xp):
    H, _, _ = indefinite(8, 1)
    g = np.arange(8.0) - 3
    dense = xp.asarray(H)
    forms = [dense, lambda v: dense @ v]
    if xp.__name__ == "array_api_compat.numpy":
        forms.append(spla.LinearOperator(H.shape, matvec=lambda v: H @ v, dtype=np.float64))
    results = [inv_sqrt_series(f, xp.asarray(g), terms=40, scale=30.0) for f in forms]
    for result in results[1:]:
        # Same arithmetic in the same order: identical up to the matvec's own rounding.
        xp_assert_close(result, to_numpy(results[0]), rtol=1e-14, atol=1e-15, xp=xp)


@given(seed=st.integers(0, 2**16), a=st.floats(-3, 3), b=st.floats(-3, 3))
def test_linear_in_g(seed, a, b):
    H, _, _ = indefinite(6, seed)
    rng = np.random.default_rng(seed)
    g1, g2 = rng.standard_normal(6), rng.standard_normal(6)
    options = {"terms": 30, "scale": 40.0}
    left = inv_sqrt_series(H, a * g1 + b * g2, **options)
    right = a * inv_sqrt_series(H, g1, **options) + b * inv_sqrt_series(H, g2, **options)
    # A fixed polynomial in H applied to g: linear up to rounding (30 terms).
    np.testing.assert_allclose(left, right, atol=100 * 30 * EPS * (abs(a) + abs(b) + 1))


@given(seed=st.integers(0, 2**16))
def test_invariant_under_orthogonal_similarity(seed):
    H, _, _ = indefinite(6, seed)
    rng = np.random.default_rng(seed + 7)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    g = rng.standard_normal(6)
    options = {"terms": 25, "scale": 40.0}
    rotated = inv_sqrt_series((q @ H @ q.T + (q @ H @ q.T).T) / 2, q @ g, **options)
    np.testing.assert_allclose(rotated, q @ inv_sqrt_series(H, g, **options), atol=1e-12)


@settings(max_examples=15)
@given(n=st.integers(2, 7), seed=st.integers(0, 2**16), terms=st.integers(1, 40),
       slack=st.floats(0.5001, 4.0))
def test_every_truncation_is_positive_definite(n, seed, terms, slack):
    H, eigenvalues, _ = indefinite(n, seed)
    scale = slack * np.max(eigenvalues**2)  # V > lambda_max(H^2) / 2
    columns = [inv_sqrt_series(H, e, terms=terms, scale=scale) for e in np.eye(n)]
    truncation = np.array(columns).T
    assert np.min(np.linalg.eigvalsh((truncation + truncation.T) / 2)) > 0


def test_matvec_count_is_two_per_term():
    H, _, _ = indefinite(5, 0)
    _, info = inv_sqrt_series(H, np.ones(5), terms=10, scale=40.0, full_output=True)
    assert info.matvecs == 2 * 9 and info.terms == 10 and info.stopped_by == "terms"


def test_float32_in_float32_out(xp):
    H, eigenvalues, q = indefinite(6, 2)
    g = np.ones(6)
    x = inv_sqrt_series(xp.asarray(H, dtype=xp.float32), xp.asarray(g, dtype=xp.float32))
    assert x.dtype == xp.float32
    # Default tol sqrt(eps32) = 3.5e-4 on the estimated error; kappa = 5 rounding on top.
    xp_assert_close(x, apply(q, 1 / np.abs(eigenvalues), g).astype(np.float32), rtol=2e-3,
                    xp=xp)


def test_integer_g_is_promoted(xp):
    g = xp.asarray([2, 4])
    x = inv_sqrt_series(xp.asarray(np.diag([2.0, -4.0])), g)
    # The backend's default float (float32 for torch); default tol is sqrt(eps) of it.
    default = xp.__array_namespace_info__().default_dtypes()["real floating"]
    assert x.dtype == default
    xp_assert_close(x, np.array([1.0, 1.0]), rtol=10 * xp.finfo(default).eps ** 0.5, xp=xp)


def test_zero_g_costs_nothing(xp):
    x, info = inv_sqrt_series(xp.asarray(np.eye(3)), xp.zeros(3), full_output=True)
    assert info.matvecs == 0 and info.converged
    xp_assert_close(x, np.zeros(3), rtol=0, xp=xp)


def test_fixed_scale_too_small_raises_with_the_scale():
    H, eigenvalues, _ = indefinite(10, 0)
    too_small = 0.4 * np.max(eigenvalues**2)
    with pytest.raises(SeriesDivergenceError, match=f"V = {too_small:.6g}") as caught:
        inv_sqrt_series(H, np.ones(10), terms=5000, scale=too_small)
    assert caught.value.info.diverged and caught.value.info.scale == too_small


def test_paper_rule_diverges_once_the_initial_scale_no_longer_dominates():
    # ||H^2 g|| / ||g|| is a lower bound on lambda_max(H^2): with V_0 small it is too small.
    H, _, _ = indefinite(40, 4)
    g = np.random.default_rng(4).standard_normal(40)
    with pytest.raises(SeriesDivergenceError, match="diverged"):
        inv_sqrt_series(H, g, rtol=1e-8, scale="paper", initial_scale=1.0)
    x = inv_sqrt_series(H, g, rtol=1e-8, scale="adaptive")
    w, v = np.linalg.eigh(H)
    exact = v @ ((v.T @ g) / np.abs(w))
    assert np.linalg.norm(x - exact) <= 1e-6 * np.linalg.norm(exact)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**16))
def test_adaptive_scale_converges_on_random_indefinite_matrices(seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((20, 20))
    H = (a + a.T) / 2
    g = rng.standard_normal(20)
    w, v = np.linalg.eigh(H)
    kappa = np.max(np.abs(w)) / np.min(np.abs(w))
    if kappa > 30:  # keep the series (~kappa^2 terms) short in the default suite
        return
    x, info = inv_sqrt_series(H, g, rtol=1e-8, full_output=True)
    exact = v @ ((v.T @ g) / np.abs(w))
    assert info.converged and info.scale > np.max(w**2) / 2
    assert np.linalg.norm(x - exact) <= 1e-7 * np.linalg.norm(exact)


@pytest.mark.parametrize("strategy", ["frobenius", "lanczos", "power"])
def test_estimated_scales_are_safe(strategy):
    H, eigenvalues, q = indefinite(12, 5)
    g = np.ones(12)
    x, info = inv_sqrt_series(H, g, rtol=1e-10, scale=strategy, full_output=True)
    assert info.scale > np.max(eigenvalues**2) / 2 and info.scale_strategy == strategy
    np.testing.assert_allclose(x, apply(q, 1 / np.abs(eigenvalues), g), rtol=1e-8)


def test_partial_sums_stream_matches_truncations():
    H, _, _ = indefinite(5, 0)
    g = np.ones(5)
    sums = list(matfun.inv_sqrt_partial_sums(H, g, terms=6, scale=40.0))
    assert [s.index for s in sums] == list(range(6))
    for s in sums:
        np.testing.assert_allclose(s.value, inv_sqrt_series(H, g, terms=s.index + 1, scale=40.0),
                                   rtol=1e-15)


def test_callback_sees_every_partial_sum():
    seen = []
    inv_sqrt_series(np.diag([1.0, -2.0]), np.ones(2), terms=7, scale=5.0,
                    callback=lambda s: seen.append(s.index))
    assert seen == list(range(7))


def test_max_terms_warns_when_tolerance_not_met():
    H, _, _ = indefinite(5, 0, kappa=50)
    with pytest.warns(matfun.SeriesConvergenceWarning, match="max_terms"):
        _, info = inv_sqrt_series(H, np.ones(5), rtol=1e-12, max_terms=20, full_output=True)
    assert not info.converged and info.stopped_by == "max_terms"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"terms": 0}, ValueError, "terms must be a positive integer"),
        ({"rtol": -1.0}, ValueError, "rtol must be non-negative"),
        ({"rtol": 1e-17}, ValueError, "below what the working precision can reach"),
        ({"atol": -1.0}, ValueError, "atol must be non-negative"),
        ({"rtol": 0.0, "atol": 0.0}, ValueError, "both zero"),
        ({"rtol": float("nan")}, ValueError, "rtol must be finite"),
        ({"damping": float("inf")}, ValueError, "damping must be finite"),
        ({"damping": "0.1"}, TypeError, "damping must be a real number"),
        ({"max_matvecs": 0}, ValueError, "max_matvecs must be a positive integer"),
        ({"callback": 3}, TypeError, "callback must be callable"),
        ({"max_terms": 0}, ValueError, "max_terms must be a positive integer"),
        ({"scale": "huge"}, ValueError, "scale must be a positive number or one of"),
        ({"scale": -1.0}, ValueError, "scale must be a positive finite"),
        ({"scale": "paper", "initial_scale": 0.0}, ValueError, "initial_scale must be"),
        ({"damping": -0.1}, ValueError, "damping must be a non-negative"),
        ({"damping_kind": "levenberg"}, ValueError, "damping_kind must be one of"),
        ({"order": 0, "accelerate": "shanks"}, ValueError, "order must be a positive integer"),
    ],
)
def test_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        inv_sqrt_series(np.eye(3), np.ones(3), **kwargs)


def test_bad_vectors(xp):
    H = xp.asarray(np.eye(3))
    with pytest.raises(ValueError, match="g contains NaN or inf"):
        inv_sqrt_series(H, xp.asarray([1.0, float("nan"), 0.0]))
    with pytest.raises(ValueError, match="g must be a 1-D vector"):
        inv_sqrt_series(H, xp.ones((3, 1)))
    with pytest.raises(ValueError, match=r"shape \(3, 3\) but the vector has length 4"):
        inv_sqrt_series(H, xp.ones(4))
    with pytest.raises(TypeError, match="g must be an array"):
        inv_sqrt_series(H, [1.0, 2.0, 3.0])


def test_frobenius_needs_a_dense_matrix():
    with pytest.raises(TypeError, match="dense matrix"):
        inv_sqrt_series(lambda v: v, np.ones(3), scale="frobenius")


def test_nan_from_the_operator_is_an_error_not_a_result():
    with pytest.raises(ValueError, match="NaN or inf"):
        inv_sqrt_series(lambda v: v * np.nan, np.ones(3), terms=3, scale=1.0)


# --- Neumann and general binomial series ------------------------------------------


def spd(n, seed, kappa=10.0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eigenvalues = np.geomspace(1.0, kappa, n)
    matrix = (q * eigenvalues) @ q.T
    return (matrix + matrix.T) / 2, eigenvalues, q


@given(n=st.integers(1, 10), seed=st.integers(0, 2**16))
def test_neumann_is_the_inverse(xp, n, seed):
    A, eigenvalues, q = spd(n, seed)
    g = np.random.default_rng(seed).standard_normal(n)
    x = matfun.neumann_series(xp.asarray(A), xp.asarray(g), rtol=1e-11)
    # kappa = 10: estimated-error tolerance 1e-11, rounding kappa * eps.
    xp_assert_close(x, apply(q, 1 / eigenvalues, g), rtol=1e-9,
                    atol=1e-9 * np.linalg.norm(g), xp=xp)


def test_neumann_on_an_indefinite_matrix_diverges():
    H, _, _ = indefinite(6, 0, negatives=2)
    with pytest.raises(SeriesDivergenceError, match="positive definite"):
        matfun.neumann_series(H, np.ones(6), scale=30.0, rtol=1e-8)


@given(n=st.integers(1, 8), seed=st.integers(0, 2**16),
       exponent=st.sampled_from([-1.5, -1.0, -0.5, -1 / 3, 1 / 3, 0.5, 1.5, 2.5]))
def test_binomial_series_is_the_matrix_power(xp, n, seed, exponent):
    A, eigenvalues, q = spd(n, seed, kappa=4.0)
    g = np.random.default_rng(seed).standard_normal(n)
    x = matfun.binomial_series(xp.asarray(A), xp.asarray(g), exponent, rtol=1e-11)
    expected = apply(q, eigenvalues**exponent, g)
    xp_assert_close(x, expected, rtol=1e-8, atol=1e-8 * np.linalg.norm(expected), xp=xp)


def test_binomial_integer_power_terminates():
    A, eigenvalues, q = spd(4, 0)
    x, info = matfun.binomial_series(A, np.ones(4), 2.0, scale=20.0, rtol=1e-12,
                                     full_output=True)
    np.testing.assert_allclose(x, A @ (A @ np.ones(4)), rtol=1e-13)
    assert info.terms <= 4


def test_binomial_bad_exponent():
    with pytest.raises(ValueError, match="exponent must be finite"):
        matfun.binomial_series(np.eye(2), np.ones(2), float("nan"))
    with pytest.raises(TypeError, match="exponent must be a real number"):
        matfun.binomial_series(np.eye(2), np.ones(2), "half")


def test_no_warning_on_a_clean_run():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inv_sqrt_series(np.diag([1.0, -2.0]), np.ones(2), rtol=1e-10)

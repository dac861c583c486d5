"""The series' ``converged`` is honest at any scale, dtype and spectrum (issues 9 and 14).

Oracle: dense ``numpy.linalg.eigh`` in float64 (complex128) of the problem as the
working dtype holds it. A result reported converged must be within ``10 rtol`` of it,
plus ``kappa eps`` (the conditioning of |H|^{-1} g: a relative perturbation eps of H
or g moves the answer by up to kappa eps). Not converged is always allowed.
"""

import time
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import accel
import matfun
from matfun import abs_damped_coefficients, inv_sqrt_series
from matfun.errors import SeriesRangeError

H3 = np.diag([2.0, -1.0, 0.5])
EXACT3 = np.array([0.5, 1.0, 2.0])


def relative_error(x, exact):
    exact = np.asarray(exact, dtype=np.complex128)
    unit = np.max(np.abs(exact))  # norms of 1e300-sized vectors overflow: rescale first
    difference = np.asarray(x, dtype=np.complex128) / unit - exact / unit
    return np.linalg.norm(difference) / np.linalg.norm(exact / unit)


# ---------------------------------------------------------------- reproducers


@pytest.mark.parametrize("c", [1e-300, 1e-200, 1e-80, 1e80, 1e200, 1e300])
def test_saddle_free_series_is_homogeneous_in_the_operator(c):
    # Reproducer: at c = 1e80 the first release returned zeros, converged, scale = inf.
    _, reference = inv_sqrt_series(H3, np.ones(3), full_output=True)
    x, info = inv_sqrt_series(c * H3, np.ones(3), full_output=True)
    assert info.converged
    # rtol = sqrt(eps) by default; the estimate claims it, the answer must honour it.
    assert relative_error(x * c, EXACT3) <= 10 * np.finfo(float).eps ** 0.5
    # V in the caller's units: V(cH) = c^2 V(H) (inf / 0 past float64's range).
    expected = reference.scale * c * c
    if 1e-300 < expected < 1e300:
        assert info.scale == pytest.approx(expected, rel=1e-10)
    assert info.normalised_scale * info.operator_unit * info.operator_unit == info.scale


@pytest.mark.parametrize("d", [1e-300, 1e-200, 1e200, 1e300])
def test_saddle_free_series_is_homogeneous_in_the_vector(d):
    x, info = inv_sqrt_series(H3, d * np.ones(3), rtol=1e-10, full_output=True)
    assert info.converged and relative_error(x / d, EXACT3) <= 1e-9


@pytest.mark.parametrize("c", [1e-300, 1e-150, 1e150, 1e300])
def test_neumann_and_binomial_are_homogeneous(c):
    A = np.diag([2.0, 1.0, 0.5])
    _, reference = matfun.neumann_series(A, np.ones(3), rtol=1e-10, full_output=True)
    x, info = matfun.neumann_series(c * A, np.ones(3), rtol=1e-10, full_output=True)
    assert info.converged and relative_error(x * c, 1 / np.diag(A)) <= 1e-9
    assert info.scale == pytest.approx(reference.scale * c, rel=1e-10)
    y, info = matfun.binomial_series(c * A, np.ones(3), -0.5, rtol=1e-10, full_output=True)
    assert info.converged and relative_error(y * c**0.5, np.diag(A) ** -0.5) <= 1e-9


@pytest.mark.parametrize("c", [1e-300, 1e300])
def test_partial_sums_are_in_the_callers_units(c):
    plain = list(matfun.inv_sqrt_partial_sums(H3, np.ones(3), terms=6))
    scaled = list(matfun.inv_sqrt_partial_sums(c * H3, np.ones(3), terms=6))
    for a, b in zip(plain, scaled, strict=True):
        # The same series up to the rounding of the adaptive V (a ratio of norms).
        np.testing.assert_allclose(b.value * c, a.value, rtol=1e-12)
        assert b.term_norm * c == pytest.approx(a.term_norm, rel=1e-12)


def test_result_out_of_range_is_a_clear_error():
    with pytest.raises(SeriesRangeError, match="overflows"):
        inv_sqrt_series(1e-300 * H3, 1e300 * np.ones(3))
    with pytest.raises(SeriesRangeError, match="underflows"):
        inv_sqrt_series(1e300 * H3, 1e-300 * np.ones(3))


def test_a_hidden_slow_mode_does_not_fool_the_stopping_rule():
    # Reproducer: the first release stopped after 2 terms with estimate 2.5e-13; the
    # answer's second entry is 100x off (1e-2 wanted, about 1e-6 summed).
    H = np.diag([1.0, 1e-4])
    g = np.array([1.0, 1e-6])
    with pytest.warns(matfun.SeriesConvergenceWarning):
        x, info = inv_sqrt_series(H, g, rtol=1e-8, max_terms=2000, full_output=True)
    assert not info.converged
    assert info.error_estimate >= relative_error(x, np.array([1.0, 1e-2]))


def test_float32_unattainable_tolerance_is_refused():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    H32 = ((q * np.geomspace(1, 10, 20)) @ q.T).astype(np.float32)
    g32 = rng.standard_normal(20).astype(np.float32)
    with pytest.raises(ValueError, match="below what the working precision can reach"):
        inv_sqrt_series(H32, g32, rtol=1e-8)
    x, info = inv_sqrt_series(H32, g32, rtol=1e-5, full_output=True)
    w, Q = np.linalg.eigh(H32.astype(np.float64))
    exact = Q @ ((Q.T @ g32.astype(np.float64)) / np.abs(w))
    assert x.dtype == np.float32
    # kappa = 10: the float32 floor kappa eps32 = 1.2e-6 is below 10 rtol.
    assert not info.converged or relative_error(x, exact) <= 1e-4


def _dense(n, kappa, seed):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    w = rng.choice([-1.0, 1.0], n) * np.geomspace(1.0, kappa, n)
    H = (q * w) @ q.T
    g = rng.standard_normal(n)
    return (H + H.T) / 2, g, q @ ((q.T @ g) / np.abs(w))


@pytest.mark.parametrize(("method", "order", "rtol", "kappa"), [
    ("mpe", 4, 1e-4, 100.0), ("rre", 4, 1e-4, 100.0), ("mpe", 2, 1e-4, 100.0),
    ("shanks", 4, 1e-4, 100.0), ("mpe", 2, 1e-6, 100.0), ("rre", 2, 1e-6, 100.0),
    ("rre", 3, 1e-4, 10.0),
])
def test_accelerated_stop_is_confirmed(method, order, rtol, kappa):
    # Reproducers (issue 14, dense n = 400): the first release stopped mpe-4 after 176
    # matvecs at kappa = 100, reporting convergence at tol = 1e-4 with true error 0.40;
    # likewise rre-4 (0.40), mpe-2 (0.27), shanks-4 (0.077); at 1e-6 mpe-2 (0.26) and
    # rre-2 (0.18); rre-3 at kappa = 10 (0.067).
    H, g, exact = _dense(400, kappa, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", matfun.SeriesConvergenceWarning)
        x, info = inv_sqrt_series(H, g, rtol=rtol, accelerate=method, order=order,
                                  max_matvecs=1000, full_output=True)
    assert not info.converged or relative_error(x, exact) <= 10 * rtol


@settings(max_examples=12, deadline=None)
@given(method=st.sampled_from(accel.methods()), order=st.integers(1, 4),
       kappa=st.sampled_from([3.0, 10.0, 30.0]), seed=st.integers(0, 3),
       rtol=st.sampled_from([1e-4, 1e-6]))
def test_accelerated_converged_is_within_ten_rtol(method, order, kappa, seed, rtol):
    H, g, exact = _dense(30, kappa, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", matfun.SeriesConvergenceWarning)
        x, info = inv_sqrt_series(H, g, rtol=rtol, accelerate=method, order=order,
                                  max_matvecs=4000, full_output=True)
    assert np.all(np.isfinite(x))
    assert not info.converged or relative_error(x, exact) <= 10 * rtol


def test_accelerated_converged_for_every_method_and_order():
    # Deterministic sweep of the registry (kappa = 5: every run reaches its tolerance).
    H, g, exact = _dense(20, 5.0, 3)
    for method in accel.methods():
        for order in range(1, 5):
            x, info = inv_sqrt_series(H, g, rtol=1e-6, accelerate=method, order=order,
                                      full_output=True)
            assert info.converged, (method, order)
            assert relative_error(x, exact) <= 1e-5, (method, order, info)


def test_abs_damped_coefficients_at_a_million_terms_in_seconds():
    start = time.perf_counter()
    d = abs_damped_coefficients(1e-4, 10**6)
    assert time.perf_counter() - start < 10.0  # O(n): about 0.2 s here
    # mpmath reference: d_k = (1/pi) int_0^1 t^(k-1/2) sqrt(1-t) / (1 - r t) dt.
    with mpmath.workdps(30):
        r = 1 - mpmath.mpf("1e-4") ** 2
        for k in (0, 1, 1000, 10**5, 10**6 - 1):
            def integrand(t, k=k):
                return t ** (k - mpmath.mpf(1) / 2) * mpmath.sqrt(1 - t) / (1 - r * t)
            cut = 1 - mpmath.mpf(40) / (k + 1)
            points = [0, cut, 1] if cut > 0 else [0, 1]
            reference = float(mpmath.quad(integrand, points) / mpmath.pi)
            # The coefficients' relative error grows like k eps (the b_j's rounding).
            assert abs(d[k] - reference) <= 8 * (k + 1) * np.finfo(float).eps * reference


@pytest.mark.parametrize("delta", [1e-8, 0.3, 1.0, 2**0.5, 1.45, 10.0])
def test_abs_damped_coefficients_positive_and_decreasing(delta):
    d = abs_damped_coefficients(delta, 5000)
    assert np.all(d > 0) and np.all(np.diff(d) <= 0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scale": float("inf")}, ValueError, "scale must be a positive finite"),
        ({"scale": "paper", "initial_scale": float("nan")}, ValueError, "initial_scale"),
        ({"damping": float("nan")}, ValueError, "damping must be finite"),
        ({"damping": 1e300, "damping_kind": "square"}, None, None),
        ({"order": 2.5, "accelerate": "shanks"}, ValueError, "order must be a positive"),
        ({"accelerate": "nope"}, ValueError, "nope"),
        ({"atol": "1"}, TypeError, "atol must be a real number"),
    ],
)
def test_no_raw_exceptions(kwargs, error, match):
    if error is None:
        x = inv_sqrt_series(H3, np.ones(3), **kwargs)
        assert np.all(np.isfinite(x))
        return
    with pytest.raises(error, match=match):
        inv_sqrt_series(H3, np.ones(3), **kwargs)


def test_paper_rule_with_an_initial_scale_out_of_range_is_a_clear_error():
    with pytest.raises(SeriesRangeError, match="initial_scale"):
        inv_sqrt_series(1e-200 * H3, np.ones(3), scale="paper", initial_scale=1e300)


# ---------------------------------------------------------------- property test


@st.composite
def problems(draw):
    dtype = draw(st.sampled_from([np.float64, np.float64, np.complex128, np.float32]))
    n = draw(st.integers(2, 10))
    low = 4 if dtype == np.float32 else 8
    kappa = 10.0 ** draw(st.floats(0, low))
    kind = draw(st.sampled_from(["geometric", "clustered", "near_singular", "two"]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if kind == "geometric":
        mags = np.geomspace(1.0, kappa, n)
    elif kind == "clustered":
        mags = np.where(rng.random(n) < 0.5, 1.0, kappa) * (1 + 1e-6 * rng.random(n))
    elif kind == "near_singular":
        mags = np.concatenate(([1.0], np.geomspace(kappa / 2, kappa, n - 1)))
    else:
        mags = np.where(np.arange(n) == 0, 1.0, kappa)
    w = rng.choice([-1.0, 1.0], n) * mags / kappa
    if dtype == np.complex128:
        z = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
        q, _ = np.linalg.qr(z)
    else:
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    H = (q * w) @ q.conj().T
    H = (H + H.conj().T) / 2
    vector = draw(st.sampled_from(["random", "eigenvector", "near", "slow_tiny"]))
    g = rng.standard_normal(n) + (1j * rng.standard_normal(n) if dtype == np.complex128 else 0)
    if vector == "eigenvector":
        g = q[:, rng.integers(n)].copy()
    elif vector == "near":
        g = q[:, rng.integers(n)] + 10 ** rng.uniform(-12, -2) * g
    elif vector == "slow_tiny":
        slow = q[:, np.argmin(np.abs(w))]
        g = g - slow * (slow.conj() @ g) + 10 ** rng.uniform(-10, -3) * slow
    span = 30 if dtype == np.float32 else 300
    e_h = draw(st.sampled_from([0, span, -span, span // 2, -span // 2]))
    e_g = draw(st.sampled_from([0, span, -span]))
    if abs(e_g - e_h) > span:  # the answer itself would leave the dtype's range
        e_g = 0
    return dtype, kappa, 10.0**e_h * H, 10.0**e_g * g


def _check_honest(problem, series, rtol, max_matvecs):
    dtype, kappa, H, g = problem
    eps = np.finfo(dtype).eps
    if rtol < 10 * eps:
        rtol = 1e-4
    H_dtype, g_dtype = H.astype(dtype), g.astype(dtype)
    # The oracle: the problem as the dtype holds it, in double precision.
    H64 = H_dtype.astype(np.complex128)
    H64 = (H64 + H64.conj().T) / 2
    w, Q = np.linalg.eigh(H64)
    coefficients = Q.conj().T @ g_dtype.astype(np.complex128)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", matfun.SeriesConvergenceWarning)
        try:
            if series == "inv_sqrt":
                exact = Q @ (coefficients / np.abs(w))
                x, info = inv_sqrt_series(H_dtype, g_dtype, rtol=rtol,
                                          max_matvecs=max_matvecs, full_output=True)
            else:  # the Neumann series of |H| (positive definite)
                exact = Q @ (coefficients / np.abs(w))
                A = (Q * np.abs(w)) @ Q.conj().T
                A = (A + A.conj().T) / 2
                A = A.real.astype(dtype) if dtype != np.complex128 else A
                x, info = matfun.neumann_series(A, g_dtype, rtol=rtol,
                                                max_matvecs=max_matvecs, full_output=True)
        except matfun.SeriesDivergenceError:
            return
    assert x.dtype == g_dtype.dtype and np.all(np.isfinite(x))
    if info.converged:
        error = relative_error(x, exact)
        # 10 rtol (the contract) + kappa eps (conditioning of the data in its dtype).
        assert error <= 10 * rtol + kappa * eps, (error, rtol, kappa, info)


@given(problem=problems(), series=st.sampled_from(["inv_sqrt", "neumann"]),
       rtol=st.sampled_from([1e-3, 1e-5, 1e-8]))
def test_converged_is_within_ten_rtol_of_the_eigendecomposition(problem, series, rtol):
    _check_honest(problem, series, rtol, max_matvecs=1500)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(problem=problems(), series=st.sampled_from(["inv_sqrt", "neumann"]),
       rtol=st.sampled_from([1e-3, 1e-5, 1e-8, 1e-10]))
def test_converged_is_within_ten_rtol_of_the_eigendecomposition_slow(problem, series, rtol):
    _check_honest(problem, series, rtol, max_matvecs=20000)


@pytest.mark.parametrize(("kind", "c"), [("abs", 1e-300), ("abs", 1e300), ("shift", 1e-300),
                                         ("shift", 1e300), ("square", 1e-150),
                                         ("square", 1e150)])
def test_damping_is_homogeneous(kind, c):
    # |cH| + c lam, (cH + c lam)^2 and (cH)^2 + c^2 lam: the damping scales with H
    # (square: lam = c^2, within float64 for |c| in 1e-150..1e150).
    H = np.diag([2.0, -1.0, 0.5])
    g = np.array([1.0, 1.0, 1.0])
    exact = {"abs": 1 / np.array([3.0, 2.0, 1.5]),       # 1 / (|h| + 1)
             "shift": 1 / np.abs(np.array([3.0, 0.0, 1.5]) + [0, 1e-300, 0]),
             "square": 1 / np.sqrt([5.0, 2.0, 1.25])}[kind]  # 1 / sqrt(h^2 + 1)
    if kind == "shift":  # h + 1 = 0 for h = -1: leave that component out of g
        g, exact = np.array([1.0, 0.0, 1.0]), np.array([1 / 3.0, 0.0, 1 / 1.5])
    x, info = inv_sqrt_series(c * H, g, rtol=1e-10, damping=c * c if kind == "square" else c,
                              damping_kind=kind, full_output=True)
    assert info.converged
    np.testing.assert_allclose(x * c, exact, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("c", [1.0, 1e-100, 1e100])
def test_atol_is_in_the_callers_units(c):
    # x = |cH|^{-1} g = EXACT3 / c; atol = 1e-6 / c is 1e-6 of the unscaled answer's units.
    atol = 1e-6 / c
    x, info = inv_sqrt_series(c * H3, np.ones(3), rtol=0.0, atol=atol, full_output=True)
    assert info.converged and info.stopped_by == "tol"
    assert np.linalg.norm(x - EXACT3 / c) <= 10 * atol
    # Absolute tolerance only: the relative estimate times ||x|| meets atol.
    assert info.error_estimate * np.linalg.norm(x) <= atol


def test_an_unconverged_iterate_that_underflows_says_so():
    # Front-door fuzz reproducer (--replay "inv_sqrt_series accel" 45): kappa = 1e7, a
    # 40-term budget; the true answer (~1e-27) fits float32, the slow iterate (~1e-38)
    # does not: the error must not claim that the answer underflows.
    H = np.diag([1.0, 1e-7]) * 2.0**34
    g = np.array([1.0, 1.0]) * 2.0**-100
    with pytest.raises(SeriesRangeError, match="unconverged iterate") as caught:
        inv_sqrt_series(H.astype(np.float32), g.astype(np.float32), rtol=1e-4,
                        max_matvecs=80)
    assert not caught.value.info.converged

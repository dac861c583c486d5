"""Chebyshev (H^2 + mu I)^(-1/2) g against eigendecomposition, coefficients against mpmath."""

import math
import time
import tracemalloc

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.sparse.linalg import LinearOperator

from matfun.chebyshev import ChebyshevIntervalError, chebyshev_coefficients, chebyshev_inv_sqrt
from matfun.errors import ResultRangeError
from matfun.spectrum import certified_interval
from tests._helpers import to_numpy


def indefinite(n, seed, kappa):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eigenvalues = rng.choice([-1.0, 1.0], n) * np.geomspace(1.0, kappa, n)
    matrix = (q * eigenvalues) @ q.T
    return (matrix + matrix.T) / 2, eigenvalues, q


def exact(q, eigenvalues, g, mu=0.0):
    return q @ ((eigenvalues**2 + mu) ** -0.5 * (q.T @ g))


def relative_error(x, expected):
    return np.linalg.norm(to_numpy(x).astype(np.float64) - expected) / np.linalg.norm(expected)


def mp_closed_form(lo, hi, j):
    """c_j = 2 a^-1/2 sqrt(1 + r^2) (-r)^j b_j 2F1(1/2, j + 1/2; j + 1; r^2) (module doc)."""
    with mpmath.workdps(40):
        lo, hi = mpmath.mpf(lo), mpmath.mpf(hi)
        root = mpmath.sqrt(hi / lo)
        r = (root - 1) / (root + 1)
        b = mpmath.binomial(2 * j, j) / mpmath.mpf(4) ** j
        hyper = mpmath.hyp2f1(mpmath.mpf(1) / 2, j + mpmath.mpf(1) / 2, j + 1, r**2)
        return float(2 / mpmath.sqrt((hi + lo) / 2) * mpmath.sqrt(1 + r**2) * (-r) ** j * b
                     * hyper)


def mp_quadrature(lo, hi, j):
    """c_j = (2/pi) int_0^pi f(a + b cos t) cos(j t) dt at 30 digits."""
    with mpmath.workdps(30):
        a, b = mpmath.mpf(hi + lo) / 2, mpmath.mpf(hi - lo) / 2
        return float(2 / mpmath.pi * mpmath.quad(
            lambda t: (a + b * mpmath.cos(t)) ** -0.5 * mpmath.cos(j * t),
            mpmath.linspace(0, mpmath.pi, 8)))


@pytest.mark.parametrize("lo, hi", [(1.0, 4.0), (1.0, 100.0), (0.01, 100.0)])
def test_coefficients_match_mpmath(lo, hi):
    c = chebyshev_coefficients(lo, hi, 60)
    # DCT in float64: absolute error ~ a few eps times sup f = lo^-1/2 (aliasing is
    # O(r^(2N - j)), far below).
    atol = 20 * np.finfo(float).eps * lo**-0.5
    for j in [0, 1, 2, 7, 30, 59]:
        assert abs(c[j] - mp_closed_form(lo, hi, j)) <= atol
    for j in [0, 3, 11]:
        assert abs(c[j] - mp_quadrature(lo, hi, j)) <= atol


@given(n=st.integers(3, 30), seed=st.integers(0, 2**16), kappa=st.floats(1.5, 30.0),
       rtol=st.sampled_from([1e-3, 1e-6, 1e-10]), mu=st.sampled_from([0.0, 0.5]),
       single=st.booleans())
def test_error_within_reported_bound(xp, n, seed, kappa, rtol, mu, single):
    dtype = np.float32 if single else np.float64
    if single:
        rtol = max(rtol, 1e-3)
    H, eigenvalues, q = indefinite(n, seed, kappa)
    g = np.random.default_rng(seed).standard_normal(n)
    interval = (1.0 + mu, kappa**2 + mu)  # the exact spectrum of H^2 + mu I
    x, info = chebyshev_inv_sqrt(xp.asarray(H.astype(dtype)), xp.asarray(g.astype(dtype)),
                                 damping=mu, interval=interval, rtol=rtol, full_output=True)
    assert x.dtype == (xp.float32 if single else xp.float64)
    assert info.error_bound <= rtol
    # Converged exactly when the rounding estimate, too, meets the tolerance (float32 at
    # kappa ~ 30 and rtol 1e-3 may not: 8 eps d A with A up to kappa).
    assert info.converged == (info.rounding <= rtol)
    assert info.matvecs == 2 * info.degree
    # Rounding in the recurrence: ~ degree * eps (each step adds O(eps) relative to g,
    # amplified by at most sqrt(kappa(A)) = kappa(H) in relative terms).
    rounding = 10 * (info.degree + 1) * kappa * np.finfo(dtype).eps
    assert relative_error(x, exact(q, eigenvalues, g, mu)) <= info.error_bound + rounding


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1000.0])
def test_degree_near_theory(kappa):
    H, eigenvalues, q = indefinite(50, 0, kappa)
    g = np.random.default_rng(0).standard_normal(50)
    x, info = chebyshev_inv_sqrt(H, g, interval=(1.0, kappa**2), rtol=1e-6, full_output=True)
    # theory_degree is sufficient by the coefficient-free bound 4 S_0 r^(d+1); the
    # coefficients' own bound needs fewer; ln(2/rtol)/ln(rho) (the count without the
    # factor b_d ~ (pi d)^(-1/2)) overestimates it by ln(sqrt(pi d))/ln(rho) only.
    rho = (kappa + 1) / (kappa - 1)
    loose = math.log(2 / 1e-6) / math.log(rho)
    assert loose - math.log(math.sqrt(math.pi * loose)) / math.log(rho) - 1 <= info.degree
    assert info.degree <= info.theory_degree
    assert info.theory_degree <= 1.5 * info.degree
    assert relative_error(x, exact(q, eigenvalues, g)) <= 1e-6


def test_damping_gives_the_lower_end_and_a_certificate_the_upper(xp):
    H, eigenvalues, q = indefinite(40, 2, 20.0)
    g = np.random.default_rng(2).standard_normal(40)
    x, info = chebyshev_inv_sqrt(xp.asarray(H), xp.asarray(g), damping=2.0, rtol=1e-8,
                                 full_output=True)
    assert info.lo_source == "damping" and info.interval[0] == 2.0
    assert info.hi_source == "eigh" and info.interval[1] >= 400.0 + 2.0
    assert relative_error(x, exact(q, eigenvalues, g, 2.0)) <= 1e-8


@pytest.mark.parametrize("dense", [True, False])
def test_default_interval_is_certified(dense):
    H, eigenvalues, q = indefinite(60, 4, 10.0)
    g = np.random.default_rng(4).standard_normal(60)
    op = H if dense else LinearOperator(H.shape, matvec=lambda v: H @ v, dtype=float)
    x, info = chebyshev_inv_sqrt(op, g, rtol=1e-8, full_output=True)
    assert info.lo_source == ("eigh" if dense else "invariant")  # n = 60: Lanczos ends
    lo, hi = info.interval
    # The true spectrum of H^2 is [1, 100] (up to rounding of Q diag Q^T).
    assert lo <= 1.0 * (1 + 1e-12) and hi >= 100.0 * (1 - 1e-12)
    assert info.converged and relative_error(x, exact(q, eigenvalues, g)) <= 1e-8
    assert info.growth <= 1.0 + 1e-6


def test_frobenius_upper_end_with_a_certified_lower_end():
    """scale="frobenius" without damping or interval: the lower end is still certified."""
    H, eigenvalues, q = indefinite(40, 5, 10.0)
    g = np.random.default_rng(5).standard_normal(40)
    x, info = chebyshev_inv_sqrt(H, g, scale="frobenius", rtol=1e-8, full_output=True)
    assert info.hi_source == "frobenius" and info.lo_source == "eigh"
    # ||H||_F^2 >= lambda_max^2 = 100; the lower end at most lambda_min^2 = 1.
    assert info.interval[0] <= 1.0 * (1 + 1e-12) and info.interval[1] >= 100.0
    assert info.converged and relative_error(x, exact(q, eigenvalues, g)) <= 1e-8


def test_krylov_certificate_on_a_large_operator():
    n, kappa = 3000, 20.0
    rng = np.random.default_rng(5)
    eigenvalues = rng.choice([-1.0, 1.0], n) * np.geomspace(1.0, kappa, n)
    op = LinearOperator((n, n), matvec=lambda v: eigenvalues * v.ravel(), dtype=float)
    g = rng.standard_normal(n)
    x, info = chebyshev_inv_sqrt(op, g, rtol=1e-8, full_output=True)
    assert info.lo_source == "krylov" and info.failure_probability == 1e-6
    assert info.interval[0] <= 1.0 and info.interval[1] >= kappa**2
    assert info.converged
    assert relative_error(x, g / np.abs(eigenvalues)) <= 1e-8


def test_fixed_degree_and_budget():
    H, eigenvalues, q = indefinite(30, 1, 10.0)
    g = np.random.default_rng(1).standard_normal(30)
    _, info = chebyshev_inv_sqrt(H, g, interval=(1.0, 100.0), degree=5, full_output=True)
    assert info.degree == 5 and info.matvecs == 10 and not info.converged
    _, info = chebyshev_inv_sqrt(H, g, interval=(1.0, 100.0), max_matvecs=21, full_output=True)
    assert info.matvecs <= 21 and info.degree == 10 and not info.converged
    # The bound it reports is the one it reached: a true bound at degree 10.
    x, _ = chebyshev_inv_sqrt(H, g, interval=(1.0, 100.0), degree=10, full_output=True)
    assert relative_error(x, exact(q, eigenvalues, g)) <= info.error_bound


def test_spectrum_outside_interval_is_detected():
    H, _, _ = indefinite(40, 3, 30.0)
    g = np.random.default_rng(3).standard_normal(40)
    with pytest.raises(ChebyshevIntervalError, match="not inside"):
        chebyshev_inv_sqrt(H, g, interval=(1.0, 200.0), rtol=1e-8)  # hi below 900


H3 = np.diag([2.0, -1.0, 0.5])
G3 = np.ones(3)
X3 = np.array([0.5, 1.0, 2.0])


def test_unattainable_tolerance_is_refused_at_once():
    start = time.perf_counter()
    with pytest.raises(ValueError, match="rtol"):
        chebyshev_inv_sqrt(H3, G3, rtol=1e-300)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("kappa", [1e6, 1e8, 1e150])
def test_budget_caps_degree_memory_and_time(kappa):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        x, info = chebyshev_inv_sqrt(H3, G3, interval=(1.0, kappa**2 if kappa < 1e150 else 1e300),
                                     max_matvecs=1000, full_output=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 5.0
    assert peak < 50e6  # bytes: O(budget) coefficients and DCT points, not O(kappa)
    assert info.matvecs <= 1000 and not info.converged
    assert info.error_bound > 1e-8  # says what it reached (here: nothing useful)
    assert np.all(np.isfinite(x))


def test_without_a_budget_an_infeasible_interval_is_refused():
    with pytest.raises(ValueError, match="max_matvecs"):
        chebyshev_inv_sqrt(H3, G3, interval=(1e-300, 16.0))
    x, info = chebyshev_inv_sqrt(H3, G3, interval=(1e-300, 16.0), max_matvecs=100,
                                 full_output=True)
    assert not info.converged and np.all(np.isfinite(x))


def test_singular_operator_is_a_clear_error():
    with pytest.raises(ChebyshevIntervalError, match="singular"):
        chebyshev_inv_sqrt(np.diag([2.0, 0.0, 0.5]), G3)
    with pytest.raises(ChebyshevIntervalError, match="singular"):
        chebyshev_inv_sqrt(np.zeros((3, 3)), G3)
    singular = LinearOperator((3, 3), matvec=lambda v: np.array([2.0, 0.0, 0.5]) * v.ravel(),
                              dtype=float)
    with pytest.raises(ChebyshevIntervalError, match="singular"):
        chebyshev_inv_sqrt(singular, G3)
    # With damping the answer exists.
    x = chebyshev_inv_sqrt(np.diag([2.0, 0.0, 0.5]), G3, damping=1.0, rtol=1e-10)
    np.testing.assert_allclose(x, [5**-0.5, 1.0, 1.25**-0.5], rtol=1e-9)


@pytest.mark.parametrize("c", [1e-300, 2.0**-700, 1e-150, 3.0, 1e150, 1e300])
@pytest.mark.parametrize("d", [1e-300, 1.0, 1e300])
def test_scale_invariance(c, d):
    # (c^2 H^2)^(-1/2) (d g) = (d / c) (H^2)^(-1/2) g, for any finite magnitudes.
    ratio = d / c if d / c < np.finfo(float).max / 2 else math.inf
    if not math.isfinite(ratio):
        with pytest.raises(ResultRangeError, match="beyond"):
            chebyshev_inv_sqrt(c * H3, d * G3, rtol=1e-10)
        return
    if np.max(np.abs(X3)) * ratio < np.finfo(float).tiny:  # the answer underflows: said so
        with pytest.raises(ResultRangeError, match="underflows"):
            chebyshev_inv_sqrt(c * H3, d * G3, rtol=1e-10)
        return
    x, info = chebyshev_inv_sqrt(c * H3, d * G3, rtol=1e-10, full_output=True)
    assert info.converged and np.all(np.isfinite(x))
    np.testing.assert_allclose(x, X3 * ratio, rtol=1e-9)


def test_zero_vector_gives_zero():
    x, info = chebyshev_inv_sqrt(H3, np.zeros(3), full_output=True)
    assert np.all(x == 0) and info.converged and info.matvecs == 0


def test_atol_alone_stops_earlier():
    H, eigenvalues, q = indefinite(30, 6, 10.0)
    g = np.random.default_rng(6).standard_normal(30)
    _, tight = chebyshev_inv_sqrt(H, g, interval=(1.0, 100.0), rtol=1e-12, full_output=True)
    x, loose = chebyshev_inv_sqrt(H, g, interval=(1.0, 100.0), rtol=0.0, atol=1e-3,
                                  full_output=True)
    assert loose.converged and loose.degree < tight.degree
    assert np.linalg.norm(x - exact(q, eigenvalues, g)) <= 1e-3


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(damping=-1.0), ValueError, "damping"),
    (dict(interval=(4.0, 1.0)), ValueError, "lo <= hi"),
    (dict(interval=(0.0, 1.0)), ValueError, "interval lo"),
    (dict(interval=3.0), TypeError, "interval"),
    (dict(scale="adaptive"), ValueError, "scale"),
    (dict(scale="lanczos"), ValueError, "scale"),
    (dict(rtol=-1.0), ValueError, "rtol"),
    (dict(atol=float("nan")), ValueError, "atol"),
    (dict(rtol=0.0, atol=0.0), ValueError, "both zero"),
    (dict(tol=1e-8), TypeError, "tol"),
    (dict(degree=-2), ValueError, "degree"),
    (dict(max_matvecs=1.5), ValueError, "max_matvecs"),
    (dict(max_matvecs=0), ValueError, "max_matvecs"),
    (dict(failure_probability=0.0), ValueError, "failure_probability"),
])
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        chebyshev_inv_sqrt(np.eye(3), np.ones(3), **kwargs)


def test_coefficients_bad_interval():
    with pytest.raises(ValueError, match="lo < hi"):
        chebyshev_coefficients(2.0, 1.0, 4)
    assert math.isclose(chebyshev_coefficients(1.0, 9.0, 1)[0] / 2,
                        float(mp_closed_form(1.0, 9.0, 0)) / 2, rel_tol=1e-14)


def test_certified_interval_is_deterministic(xp):
    # The certificate starts Lanczos from a seeded host vector: the same inputs must
    # give the same interval, matvec count and bitwise the same result.
    rng = np.random.default_rng(0)
    A = rng.standard_normal((40, 40))
    H, g = xp.asarray((A + A.T) / 2), xp.asarray(rng.standard_normal(40))
    first = chebyshev_inv_sqrt(H, g, rtol=1e-4, full_output=True)
    second = chebyshev_inv_sqrt(H, g, rtol=1e-4, full_output=True)
    assert first[1] == second[1] and first[1].lo_source == "eigh"
    assert np.array_equal(to_numpy(first[0]), to_numpy(second[0]))


def test_benchmark_smoke(tmp_path):
    # The benchmark script must not rot: its smallest mode, against its own oracle.
    import importlib.util
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_chebyshev.py"
    spec = importlib.util.spec_from_file_location("bench_chebyshev", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    output = tmp_path / "table.md"
    assert module.main(["--smoke", "--output", str(output)]) == 0
    rows = [line for line in output.read_text().splitlines() if line.startswith("| dense")
            or line.startswith("| sparse")]
    assert len(rows) == 3 and all("| True |" in row for row in rows)
    assert "| eigh |" in rows[0] and "| 1.00 |" in rows[0]  # dense: no matvec to certify


def test_krylov_certified_solve_on_every_backend(xp):
    values = np.geomspace(1.0, 10.0, 600) * (-1.0) ** np.arange(600)
    H = xp.asarray(np.diag(values))
    x, info = chebyshev_inv_sqrt(lambda v: H @ v, xp.ones(600, dtype=xp.float64), rtol=1e-8,
                                 full_output=True)
    assert info.lo_source == "krylov" and info.converged
    assert relative_error(x, 1 / np.abs(values)) <= 1e-8


def test_a_half_precision_matrix_is_certified_and_expanded():
    # The dense certificate called eigh on the float16 matrix, and NumPy's linear
    # algebra has no float16: "array type float16 is unsupported in linalg". It now
    # decomposes in float32 (which holds the matrix exactly); the interval must still
    # contain |lambda| of the float16 matrix itself, and the answer match its oracle.
    rng = np.random.default_rng(7)
    q, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    H = (q * (np.linspace(1, 4, 20) * np.where(np.arange(20) % 2, 1, -1))) @ q.T
    H16 = ((H + H.T) / 2).astype(np.float16)
    g16 = rng.standard_normal(20).astype(np.float16)
    w, V = np.linalg.eigh(H16.astype(np.float64))
    interval = certified_interval(H16, like=g16)
    assert interval.lower <= np.min(np.abs(w)) and np.max(np.abs(w)) <= interval.upper
    x = chebyshev_inv_sqrt(H16, g16, rtol=1e-2)
    exact = V @ ((V.T @ g16.astype(np.float64)) / np.abs(w))
    assert x.dtype == np.float16
    # float16 keeps about 3 digits: the answer's own rounding is 2^-11 relative.
    assert np.linalg.norm(x - exact) <= 20 * 2.0**-11 * np.linalg.norm(exact)

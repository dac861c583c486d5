"""Chebyshev on a certified definite H: the expansion of 1/t in +-H (matfun._chebyshev_definite).

Oracles: numpy's Chebyshev interpolant of 1/t (independent of the closed form), a fine
grid for the truncation bound, and numpy.linalg.eigh for the solves. The rounding
floor is that of test_honesty_chebyshev.py: 10 (d + 1) kappa eps relative.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import LinearOperator

from matfun._chebyshev_definite import InverseExpansion
from matfun.chebyshev import chebyshev_inv_sqrt
from matfun.testing import matrix_with_spectrum

EPS = float(np.finfo(float).eps)


def diagonal(values):
    values = np.asarray(values)
    return LinearOperator((values.size,) * 2, matvec=lambda v: values * v.ravel(),
                          dtype=values.dtype)


@pytest.mark.parametrize(("a", "b"), [(1.0, 2.0), (1.0, 100.0), (0.3, 7.0), (1e-3, 1.0)])
def test_closed_form_coefficients_and_bound(a, b):
    expansion = InverseExpansion(a, b)
    m, h = (a + b) / 2, (b - a) / 2
    # numpy's interpolant at 400 points (its own aliasing ~ r^800, negligible here).
    reference = np.polynomial.chebyshev.chebinterpolate(lambda x: 1 / (m + h * x), 399)
    ours = np.array(expansion.coefficients(30))
    ours[0] /= 2  # numpy's convention: f = sum c_j T_j
    # The interpolant's rounding: ~ eps times the largest sample, 1/a, per coefficient.
    assert np.allclose(ours, reference[:31], rtol=0, atol=100 * EPS / a)
    x = np.cos(np.linspace(0, np.pi, 20001))
    for d in (0, 3, 10, 30):
        p = np.polynomial.chebyshev.chebval(x, ours[: d + 1])
        relative = np.max(np.abs(p - 1 / (m + h * x)) * (m + h * x))
        assert relative <= expansion.bound(d) * (1 + 1e-9) + 100 * EPS
    for target in (1e-2, 1e-8):
        d = expansion.degree(target)
        assert expansion.bound(d) <= target and (d == 0 or expansion.bound(d - 1) > target)


@given(size=st.integers(2, 300), log_kappa=st.floats(0.0, 3.0),
       negative=st.booleans(), seed=st.integers(0, 2**16),
       rhs=st.sampled_from(["random", "near the slowest eigenvector"]),
       rtol=st.sampled_from([1e-4, 1e-10]),
       form=st.sampled_from(["dense", "operator", "complex dense"]))
@settings(max_examples=30, deadline=None)
def test_definite_path_is_honest(size, log_kappa, negative, seed, rhs, rtol, form):
    rng = np.random.default_rng(seed)
    values = np.geomspace(1.0, 10.0**log_kappa, size) * (-1.0 if negative else 1.0)
    if form == "operator":
        H, op = np.diag(values), diagonal(values)
    else:
        H = matrix_with_spectrum(values, seed=seed)
        if form == "complex dense":
            q, _ = np.linalg.qr(rng.standard_normal((size, size))
                                + 1j * rng.standard_normal((size, size)))
            H = (q * values) @ q.conj().T
            H = (H + H.conj().T) / 2
        op = H
    w, q = np.linalg.eigh(H)
    g = rng.standard_normal(size)
    if rhs != "random":
        g = q[:, np.argmin(np.abs(w))] + 1e-8 * g
    x, info = chebyshev_inv_sqrt(op, g.astype(H.dtype), rtol=rtol, max_matvecs=20_000,
                                 full_output=True)
    kappa = float(np.max(np.abs(w)) / np.min(np.abs(w)))
    if kappa < 1e3:
        assert info.variable == "H"  # kappa <= 1e3 is certified definite well in budget
        # One matvec a degree, plus the certificate's (none for eigh).
        assert info.matvecs == info.degree if info.lo_source == "eigh" else (
            info.matvecs > info.degree)
    expected = q @ ((q.conj().T @ g) / np.abs(w))
    error, size_x = np.linalg.norm(x - expected), np.linalg.norm(expected)
    floor = 10 * (info.degree + 1) * kappa * EPS * size_x
    assert error <= info.error_estimate * np.linalg.norm(x) + floor, (error / size_x, info)
    if info.converged:
        assert error <= 10 * rtol * size_x + floor


def test_only_a_fully_certified_undamped_interval_uses_the_definite_path():
    values = np.geomspace(1.0, 50.0, 400)
    g = np.random.default_rng(0).standard_normal(400)
    _, info = chebyshev_inv_sqrt(diagonal(values), g, rtol=1e-8, full_output=True)
    assert info.variable == "H" and info.lo_source == "krylov"
    for options in (dict(damping=1e-3), dict(interval=(1.0, None)), dict(degree=40),
                    dict(interval=(None, 2500.0))):
        _, info = chebyshev_inv_sqrt(diagonal(values), g, rtol=1e-8, full_output=True,
                                     **options)
        assert info.variable == "H^2", options
    # Indefinite: no sign is proven.
    _, info = chebyshev_inv_sqrt(diagonal(values * (-1.0) ** np.arange(400)), g, rtol=1e-8,
                                 full_output=True)
    assert info.variable == "H^2"


def test_definite_path_float32_and_extreme_scales():
    values = np.geomspace(1.0, 20.0, 64)
    H = matrix_with_spectrum(values, seed=3)
    g = np.random.default_rng(3).standard_normal(64)
    expected = np.linalg.solve(H, g)
    for scale in (2.0**-900, 1.0, 2.0**900):
        x, info = chebyshev_inv_sqrt(H * scale, g, rtol=1e-10, full_output=True)
        assert info.variable == "H" and info.converged
        assert np.linalg.norm(x * scale - expected) <= 1e-9 * np.linalg.norm(expected)
    x, info = chebyshev_inv_sqrt(H.astype(np.float32), g.astype(np.float32), rtol=1e-4,
                                 full_output=True)
    assert x.dtype == np.float32 and info.variable == "H"
    # float32 data: H and g themselves are rounded at ~6e-8 relative, times kappa 20.
    assert np.linalg.norm(x - expected) <= 2e-4 * np.linalg.norm(expected)

"""Certified spectral intervals and radius estimates against numpy.linalg.eigvalsh."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import LinearOperator

from matfun.operators import as_operator
from matfun.spectrum import certified_interval, spectral_radius
from matfun.testing import matrix_with_spectrum, spectra


def symmetric(n, seed):
    a = np.random.default_rng(seed).standard_normal((n, n))
    return (a + a.T) / 2


@given(n=st.integers(2, 40), seed=st.integers(0, 2**16), method=st.sampled_from(["lanczos"]))
def test_lanczos_radius_brackets_the_truth(xp, n, seed, method):
    H = symmetric(n, seed)
    radius = np.max(np.abs(np.linalg.eigvalsh(H)))
    est = spectral_radius(xp.asarray(H), like=xp.ones(n, dtype=xp.float64), method=method)
    # Ritz values lie inside the spectrum (up to rounding); the Zhou-Li bound adds the
    # residual beta_k, which covers the missing part from a random start.
    assert est.estimate <= radius * (1 + 1e-12)
    assert est.upper >= radius
    assert est.matvecs <= min(n, 20)


def test_power_bound_is_above_the_rayleigh_quotient():
    H = np.diag([5.0, -1.0, 2.0, 0.5])
    est = spectral_radius(H, like=np.ones(4), method="power", steps=60)
    assert 4.9 <= est.estimate <= 5.0 <= est.upper
    assert est.matvecs == 60


def diagonal(values):
    """A black-box operator with the exact spectrum ``values`` (no rounding in forming it)."""
    values = np.asarray(values)
    return LinearOperator((values.size,) * 2, matvec=lambda v: values * v.ravel(),
                          dtype=values.dtype)


def assert_contains(box, eigenvalues, atol=0.0):
    magnitudes = np.abs(np.asarray(eigenvalues, dtype=np.float64))
    assert box.lower <= magnitudes.min() + atol
    assert box.upper >= magnitudes.max() - atol
    # s_max is a Rayleigh quotient: never above a valid upper bound. (s_min comes from
    # T^T T, accurate only to ~ eps s_max^2 / s_min: no such check below.)
    assert box.ritz[1] <= box.upper * (1 + 1e-12)


@given(spectrum=spectra(size=st.integers(1, 30),
                        condition=st.floats(0.0, 8.0).map(lambda e: 10.0**e),
                        distribution=st.sampled_from(["geometric", "uniform", "clustered"])),
       seed=st.integers(0, 2**16), scale=st.sampled_from([1e-300, 2.0**-40, 1.0, 1e200, 1e300]))
def test_eigh_certificate_holds_the_spectrum(spectrum, seed, scale):
    H = matrix_with_spectrum(spectrum, seed=seed) * scale
    box = certified_interval(H, like=np.ones(spectrum.size), method="eigh")
    assert box.certificate == "eigh" and box.failure_probability == 0 and box.matvecs == 0
    # The stored matrix is Q diag(w) Q^T rounded: its eigenvalues are the prescribed
    # ones to within ~ n eps ||H|| (Weyl), which is the slack of this comparison.
    slack = 4 * spectrum.size * np.finfo(float).eps * np.max(np.abs(spectrum)) * scale
    assert_contains(box, spectrum * scale, atol=slack)
    if box.status == "certified":
        assert box.upper / box.lower <= np.max(np.abs(spectrum)) / np.min(np.abs(spectrum)) * 1.01
    assert math.isfinite(box.upper)


@given(spectrum=spectra(size=st.integers(2, 300),
                        condition=st.floats(0.0, 6.0).map(lambda e: 10.0**e),
                        distribution=st.sampled_from(["geometric", "uniform", "clustered"])),
       seed=st.integers(0, 2**16), scale=st.sampled_from([1e-300, 1.0, 1e300]),
       budget=st.sampled_from([50, 400, 3000]))
@settings(max_examples=40)
def test_lanczos_certificate_holds_the_spectrum(spectrum, seed, scale, budget):
    # Exact spectrum (a diagonal black box): any miss is a failure of the certificate.
    values = spectrum * scale
    box = certified_interval(diagonal(values), like=np.ones(values.size), method="lanczos",
                             max_matvecs=budget, seed=seed)
    assert box.matvecs <= budget
    assert box.status in ("certified", "upper only", "not certified")
    if box.status != "not certified":
        assert_contains(box, values)
    else:
        assert box.lower == 0 and box.upper == math.inf


def test_lanczos_certificate_on_near_singular_and_clustered_spectra():
    rng = np.random.default_rng(1)
    for values in (np.r_[1e-9, np.geomspace(1.0, 10.0, 999) * rng.choice([-1, 1], 999)],
                   np.r_[np.full(500, -3.0), np.full(499, 2.0), 1e-3],
                   np.geomspace(1.0, 30.0, 1000)):  # definite: the bottom end is cheap
        box = certified_interval(diagonal(values), like=np.ones(values.size),
                                 max_matvecs=3000)
        # Three distinct eigenvalues: the Krylov space is invariant after 3 steps, which
        # still certifies only with a probability (the start could miss an eigenvector).
        assert box.certificate == "krylov"
        assert box.matvecs == (3 if values[0] == -3.0 else box.matvecs)
        assert_contains(box, values)


def test_complex_hermitian():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((40, 40)) + 1j * rng.standard_normal((40, 40))
    H = (a + a.conj().T) / 2
    magnitudes = np.abs(np.linalg.eigvalsh(H))
    like = np.ones(40, dtype=complex)
    for method in ("eigh", "lanczos"):
        box = certified_interval(H, like=like, method=method)
        slack = 100 * 40 * np.finfo(float).eps * magnitudes.max()
        assert_contains(box, magnitudes, atol=slack)
        assert box.status == "certified"


def test_singular_matrix_has_no_positive_lower_bound():
    box = certified_interval(np.diag([2.0, 0.0, -1.0]), like=np.ones(3))
    assert box.status == "upper only" and box.lower == 0.0 and box.upper >= 2.0
    box = certified_interval(diagonal([2.0, 0.0, -1.0]), like=np.ones(3))
    assert box.certificate == "invariant" and box.lower == 0.0 and box.upper >= 2.0
    values = np.r_[0.0, np.geomspace(1.0, 5.0, 999)]  # large n: probabilistic, still 0
    box = certified_interval(diagonal(values), like=np.ones(1000), max_matvecs=2000)
    assert box.certificate == "krylov" and box.lower == 0.0 and box.upper >= 5.0


def test_a_tiny_budget_is_reported_not_guessed():
    values = np.random.default_rng(3).choice([-1, 1], 2000) * np.geomspace(1.0, 100.0, 2000)
    box = certified_interval(diagonal(values), like=np.ones(2000), max_matvecs=20)
    assert box.matvecs <= 20 and box.status in ("upper only", "not certified")
    assert box.lower == 0.0
    assert box.squared == (0.0, box.upper**2)


def test_float32_dense_and_operator():
    values = np.geomspace(1.0, 50.0, 100).astype(np.float32) * np.float32(-1) ** np.arange(100)
    like = np.ones(100, dtype=np.float32)
    for op in (np.diag(values), diagonal(values)):
        box = certified_interval(op, like=like)
        assert_contains(box, values)


def test_counts_matvecs_of_a_callable():
    H = as_operator(np.diag([1.0, 2.0, 3.0]))
    box = certified_interval(H.matvec, like=np.ones(3))
    assert box.matvecs == 3 and H.matvecs == 3 and box.certificate == "invariant"


@pytest.mark.parametrize("function, kwargs, error, match", [
    (spectral_radius, dict(method="qr"), ValueError, "method"),
    (spectral_radius, dict(steps=0), ValueError, "steps"),
    (spectral_radius, dict(safety=0.5), ValueError, "safety"),
    (certified_interval, dict(method="qr"), ValueError, "method"),
    (certified_interval, dict(failure_probability=0.0), ValueError, "failure_probability"),
    (certified_interval, dict(failure_probability="x"), TypeError, "failure_probability"),
    (certified_interval, dict(slack=1.0), ValueError, "slack"),
    (certified_interval, dict(max_matvecs=0), ValueError, "max_matvecs"),
])
def test_bad_input(function, kwargs, error, match):
    with pytest.raises(error, match=match):
        function(np.eye(3), like=np.ones(3), **kwargs)


def test_eigh_needs_a_matrix():
    with pytest.raises(TypeError, match="dense"):
        certified_interval(diagonal([1.0, 2.0]), like=np.ones(2), method="eigh")


def test_lanczos_certificate_on_every_backend(xp):
    values = np.geomspace(1.0, 10.0, 600) * (-1.0) ** np.arange(600)
    H = xp.asarray(np.diag(values))
    box = certified_interval(H, like=xp.ones(600, dtype=xp.float64), method="lanczos")
    assert box.certificate == "krylov" and type(box.upper) is float
    assert_contains(box, values)

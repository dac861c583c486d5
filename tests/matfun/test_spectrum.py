"""Spectral radius and interval estimates against numpy.linalg.eigvalsh."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matfun.operators import as_operator
from matfun.spectrum import spectral_interval, spectral_radius


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


@given(n=st.integers(2, 25), seed=st.integers(0, 2**16))
def test_interval_is_exact_after_breakdown(n, seed):
    H = symmetric(n, seed)
    magnitudes = np.abs(np.linalg.eigvalsh(H))
    est = spectral_interval(H, like=np.ones(n), steps=n + 1)
    assert est.exact and est.matvecs == n
    # The n x n tridiagonal is similar to H: eigenvalues agree to ~ n eps ||H||.
    atol = 100 * n * np.finfo(float).eps * magnitudes.max()
    assert abs(est.largest - magnitudes.max()) <= atol
    assert abs(est.smallest - magnitudes.min()) <= atol
    assert est.upper >= magnitudes.max()


def test_interval_on_a_large_matrix_is_a_heuristic_below_and_safe_above():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((200, 200)))
    eigenvalues = rng.choice([-1.0, 1.0], 200) * np.geomspace(1.0, 50.0, 200)
    H = (q * eigenvalues) @ q.T
    est = spectral_interval((H + H.T) / 2, like=np.ones(200), steps=30)
    assert not est.exact and est.matvecs == 30
    assert est.largest <= 50.0 * (1 + 1e-12) <= est.upper
    assert 0 < est.smallest <= est.largest


def test_counts_matvecs_of_a_callable():
    H = as_operator(np.diag([1.0, 2.0, 3.0]))
    est = spectral_interval(H.matvec, like=np.ones(3), steps=2)
    assert est.matvecs == 2 and H.matvecs == 2


@pytest.mark.parametrize("function, kwargs, match", [
    (spectral_radius, dict(method="qr"), "method"),
    (spectral_radius, dict(steps=0), "steps"),
    (spectral_radius, dict(safety=0.5), "safety"),
    (spectral_interval, dict(steps=True), "steps"),
    (spectral_interval, dict(safety=0.9), "safety"),
])
def test_bad_input(function, kwargs, match):
    with pytest.raises(ValueError, match=match):
        function(np.eye(3), like=np.ones(3), **kwargs)

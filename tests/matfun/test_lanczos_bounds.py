"""The Ritz-value sums of the Stieltjes error bound (matfun._lanczos_bounds).

Oracles: the sums at 50 digits by mpmath from the same binary Ritz values (within the
rounding allowance delta the bound adds); dense ``numpy.linalg.eigh`` for the
end-to-end bound.
"""

import math

import mpmath
import numpy as np
import pytest

from matfun._lanczos_bounds import _ritz_sums, abs_power_density, stieltjes_bound
from matfun.lanczos import lanczos_apply


def ritz_sets():
    """Ritz values of every kind: scales, clusters, a nearly zero one, signs."""
    rng = np.random.default_rng(0)
    sets = {"geometric": rng.choice([-1.0, 1.0], 300) * np.geomspace(1e-2, 1e2, 300),
            "positive": np.geomspace(1e-3, 1.0, 200),
            "negative": -np.geomspace(1e-3, 1.0, 203),
            "clustered": np.concatenate([1 + 1e-12 * rng.standard_normal(50),
                                         -2 + 1e-9 * rng.standard_normal(37), [5.0]]),
            "nearly zero": np.concatenate([[1e-14, -3e-13], rng.uniform(-1, 1, 97)]),
            "one": np.array([-0.25]),
            "tiny": 1e-200 * rng.uniform(-1, 1, 40),  # the direct sums' range
            "huge": 1e200 * rng.uniform(-1, 1, 41),
            "wide": rng.choice([-1.0, 1.0], 100) * np.geomspace(1e-30, 1e30, 100)}
    return sets


def mp_sums(theta, t):
    with mpmath.workdps(50):
        log_det = mpmath.fsum(mpmath.log(abs(mpmath.mpc(float(v), -t))) for v in theta)
        psi = mpmath.fsum(mpmath.sign(float(v)) * mpmath.atan(mpmath.mpf(t) / abs(float(v)))
                          for v in theta)
        return float(log_det), float(abs(mpmath.sin(psi))), float(abs(mpmath.cos(psi)))


@pytest.mark.parametrize("name", sorted(ritz_sets()))
def test_ritz_sums_within_their_rounding_allowance(name):
    theta = ritz_sets()[name]
    scale = float(np.max(np.abs(theta)))
    low = float(np.min(np.abs(theta)))
    t = np.geomspace(1e-4 * low, 1e4 * scale, 12)
    log_det, sine, cosine, delta = _ritz_sums(theta, t)
    # delta = (4 k + k^2 L) u (module docstring): at most 1e-8 here but at extreme scales.
    assert 0 < delta <= 1e-8 or name in ("tiny", "huge", "wide")
    for i, node in enumerate(t):
        exact = mp_sums(theta, float(node))
        assert abs(log_det[i] - exact[0]) <= delta
        assert abs(sine[i] - exact[1]) <= delta
        assert abs(cosine[i] - exact[2]) <= delta


def test_sums_take_hypot_where_a_square_would_overflow():
    theta = np.array([-3e200, 1e-200, 2e180])
    t = np.array([1e-190, 1.0, 1e190])
    log_det, sine, cosine, delta = _ritz_sums(theta, t)
    assert np.all(np.isfinite(log_det))
    for i, node in enumerate(t):
        exact = mp_sums(theta, float(node))
        assert abs(log_det[i] - exact[0]) <= delta
        assert abs(sine[i] - exact[1]) <= delta and abs(cosine[i] - exact[2]) <= delta


def direct_bound(theta, log_betas, a, b, density):
    """The bound without the rounding allowance delta."""
    import matfun._lanczos_bounds as bounds

    def direct(theta, t):
        log_det = 0.5 * np.sum(np.log(theta[None, :] ** 2 + t[:, None] ** 2), axis=1)
        psi = np.sum(np.sign(theta)[None, :] * np.arctan(t[:, None] / np.abs(theta)), axis=1)
        return log_det, np.abs(np.sin(psi)), np.abs(np.cos(psi)), 0.0

    original = bounds._ritz_sums
    bounds._ritz_sums = direct
    try:
        return stieltjes_bound(theta, log_betas, a, b, density)
    finally:
        bounds._ritz_sums = original


# The bound runs in the scaled frame (||T|| about 1): not on 1e-200 or 1e200 Ritz values.
@pytest.mark.parametrize("name", sorted(set(ritz_sets()) - {"tiny", "huge"}))
@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.5])
def test_bound_matches_the_direct_eigenvalue_formula(name, alpha):
    theta = ritz_sets()[name]
    magnitudes = np.abs(theta)
    a, b = float(np.min(magnitudes)), 1.5 * float(np.max(magnitudes))
    log_betas = theta.size * math.log(0.3 * float(np.max(magnitudes)))
    density = abs_power_density(alpha)
    fast, direct = stieltjes_bound(theta, log_betas, a, b, density), direct_bound(
        theta, log_betas, a, b, density)
    # The allowance delta raises the bound by at most about 1e4 delta relative (delta
    # below 1e-8 on these sets but "wide", whose L is 69: 2e-9 there).
    assert direct <= fast <= direct * (1 + 1e-4)


def oracle(matrix, g, f):
    values, vectors = np.linalg.eigh(matrix)
    return vectors @ (f(values) * (vectors.T @ g))


@pytest.mark.parametrize("seed", range(24))
def test_reported_bound_covers_the_true_error(seed):
    """bounds=: the error estimate (the Stieltjes bound) is at least eigh's error."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 160))
    kappa = 10 ** rng.uniform(0.5, 4)
    magnitudes = np.geomspace(1.0, kappa, n) if seed % 2 else np.linspace(1.0, kappa, n)
    eigenvalues = (rng.choice([-1.0, 1.0], n) if seed % 3 else 1.0) * magnitudes
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    matrix = (q * eigenvalues) @ q.T
    matrix = (matrix + matrix.T) / 2
    g = rng.standard_normal(n)
    name, f = [("inv_abs", lambda v: 1 / np.abs(v)),
               ("inv_sqrt_abs", lambda v: np.abs(v) ** -0.5)][seed % 2]
    exact = oracle(matrix, g, f)
    scale = 10.0 ** rng.uniform(-100, 100)
    for budget in (n // 6, n // 3, None):
        x, info = lanczos_apply(matrix * scale, g, name, rtol=1e-10,
                                bounds=(scale, kappa * scale), max_matvecs=budget,
                                full_output=True)
        x = x * scale ** (1.0 if name == "inv_abs" else 0.5)
        error = np.linalg.norm(x - exact) / np.linalg.norm(exact)
        # Rounding floor 100 kappa eps (full reorthogonalisation, module docstring of
        # tests/matfun/test_honesty_lanczos.py).
        assert info.bounded and error <= info.error_estimate + 100 * kappa * 2.2e-16

"""The elliptic quadrature of ``|T|^{-1} e_1`` and the checks built on it (issue 11).

Oracles: the closed form ``1/|x|`` for the scalar rule, dense ``numpy.linalg.eigh`` of
``T`` for the matrix version, and the eigendecomposition path of ``lanczos_apply`` for
the checks (the same function declared through a distinct :class:`RitzFunction`).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import matfun.lanczos
from matfun._lanczos_quadrature import RATIO_LIMIT, inv_abs_e1, inv_abs_rule
from matfun.lanczos import FUNCTIONS, RitzFunction, lanczos_apply

EPS = np.finfo(np.float64).eps


def _eigh_reference(alphas: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``|T|^{-1} e_1`` by dense eigh, and ``min |theta|``, ``max |theta|``."""
    matrix = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
    theta, vectors = np.linalg.eigh(matrix)
    return vectors @ (vectors[0] / np.abs(theta)), float(np.min(np.abs(theta))), float(
        np.max(np.abs(theta)))


def _rounding(k: int, low: float, high: float) -> float:
    """Rounding of the solves and of eigh itself: both ``O(k eps cond(T))``."""
    return 100 * k * EPS * (high / low)


def _lanczos_tridiagonal(eigenvalues: np.ndarray, steps: int, seed: int
                         ) -> tuple[np.ndarray, np.ndarray]:
    """``T_k`` of a Lanczos run (full reorthogonalisation) on ``diag(eigenvalues)``."""
    rng = np.random.default_rng(seed)
    n = eigenvalues.size
    q = rng.standard_normal(n)
    basis = [q / np.linalg.norm(q)]
    alphas, betas = [], []
    for _ in range(steps):
        w = eigenvalues * basis[-1]
        Q = np.array(basis)
        for _ in range(2):
            w = w - Q.T @ (Q @ w)
        alphas.append(float(basis[-1] @ (eigenvalues * basis[-1])))
        beta = float(np.linalg.norm(w))
        betas.append(beta)
        basis.append(w / beta)
    return np.array(alphas), np.array(betas[:-1])


@pytest.mark.parametrize("ratio", [1.0, 1.5, 10.0, 1e2, 1e3, 3e4, 1e5, 1e6, 1e7])
@pytest.mark.parametrize("accuracy", [1e-3, 1e-8, 1e-16])
def test_rule_meets_its_error_bound(ratio, accuracy):
    # Scalar oracle: 1/x on 3001 points of [1, ratio], endpoints included.
    nodes, weights, error = inv_abs_rule(1.0, ratio, accuracy)
    x = np.geomspace(1.0, ratio, 3001)
    approximation = np.sum(weights[None, :] / (x[:, None] ** 2 + nodes[None, :] ** 2), axis=1)
    measured = np.max(np.abs(approximation * x - 1.0))
    assert measured <= error
    assert np.all(nodes > 0) and np.all(weights > 0)
    if accuracy >= 1e-8 and ratio >= 10:  # the estimate is attained: not vacuous
        assert measured >= error / 4


def test_rule_refuses_what_it_cannot_bound():
    with pytest.raises(ValueError, match="low"):
        inv_abs_rule(0.0, 1.0)
    with pytest.raises(ValueError, match="low"):
        inv_abs_rule(1.0, 1e8)  # (1e8)^2 > RATIO_LIMIT
    assert 1e7 ** 2 <= RATIO_LIMIT


@pytest.mark.parametrize("kind", ["random", "indefinite", "clustered", "kappa1e4", "kappa1e6",
                                  "tiny1", "tiny2"])
@pytest.mark.parametrize("accuracy", [1e-6, 1e-16])
def test_matrix_quadrature_against_eigh(kind, accuracy):
    rng = np.random.default_rng(7)
    if kind == "random":
        alphas, betas = rng.standard_normal(40) + 6.0, rng.uniform(0.1, 1.0, 39)
    elif kind == "indefinite":
        alphas, betas = _lanczos_tridiagonal(rng.choice([-1.0, 1.0], 80) *
                                             np.geomspace(1, 100, 80), 50, 1)
    elif kind == "clustered":
        eigenvalues = np.concatenate([1 + 1e-9 * rng.standard_normal(30),
                                      -5 + 1e-9 * rng.standard_normal(30), [40.0]])
        alphas, betas = _lanczos_tridiagonal(eigenvalues, 12, 2)
    elif kind.startswith("kappa"):
        kappa = float(kind[5:])
        alphas, betas = _lanczos_tridiagonal(rng.choice([-1.0, 1.0], 60) *
                                             np.geomspace(1, kappa, 60), 60, 3)
    elif kind == "tiny1":
        alphas, betas = np.array([-0.7]), np.zeros(0)
    else:
        alphas, betas = np.array([0.3, -2.0]), np.array([1.5])
    reference, low, high = _eigh_reference(alphas, betas)
    y, error = inv_abs_e1(alphas, betas, low, high, accuracy)
    # Bound: the rule's relative error (every Ritz value in [low, high]) plus rounding.
    tolerance = error + _rounding(alphas.size, low, high)
    assert np.linalg.norm(y - reference) <= tolerance * np.linalg.norm(reference)


@given(k=st.integers(1, 30), seed=st.integers(0, 2 ** 32 - 1),
       log_ratio=st.floats(0.0, 6.0))
def test_matrix_quadrature_property(k, seed, log_ratio):
    """Any Lanczos-type T with min |theta| >= 1, max |theta| <= 10^log_ratio."""
    rng = np.random.default_rng(seed)
    n = max(k, 2)
    eigenvalues = rng.choice([-1.0, 1.0], n) * 10 ** rng.uniform(0.0, log_ratio, n)
    alphas, betas = _lanczos_tridiagonal(eigenvalues, k, seed % 1000)
    reference, low, high = _eigh_reference(alphas, betas)
    if (high / low) ** 2 > RATIO_LIMIT:  # a Ritz value near 0: refused (checks fall back)
        with pytest.raises(ValueError, match="low"):
            inv_abs_e1(alphas, betas, low, high)
        return
    y, error = inv_abs_e1(alphas, betas, low, high)
    tolerance = error + _rounding(k, low, high)
    assert np.linalg.norm(y - reference) <= tolerance * np.linalg.norm(reference)


def _eigen_path_inv_abs() -> RitzFunction:
    """``1/|x|`` as a distinct object: ``lanczos_apply`` checks it by eigendecomposition."""
    named = FUNCTIONS["inv_abs"]
    return RitzFunction(lambda x: 1.0 / np.abs(x), named.poles, "inv_abs", named.degree,
                        named.bound)


@pytest.mark.parametrize("n, kappa, seed", [(300, 100.0, 0), (200, 1e4, 1), (150, 10.0, 2)])
def test_fast_checks_make_the_same_decisions(n, kappa, seed, monkeypatch):
    import matfun._lanczos_checks as checks

    taken = []

    def counted(*args):
        result = pieces(*args)
        taken.append(result is not None)
        return result

    pieces = checks.inv_abs_pieces
    monkeypatch.setattr(checks, "inv_abs_pieces", counted)
    # The lag screen and the screens' sizes by quadrature (matfun._lanczos_probe) run on
    # the fast path only and move which steps are checked
    # (tests/matfun/test_lanczos_probe.py): the checks themselves are compared here.
    monkeypatch.setattr(matfun.lanczos, "lag_probe", lambda *args: None)
    screen = checks.Stopping.screen
    monkeypatch.setattr(checks.Stopping, "screen",
                        lambda self, tol, steps, measure=False: screen(self, tol, steps))
    rng = np.random.default_rng(seed)
    eigenvalues = rng.choice([-1.0, 1.0], n) * np.geomspace(1.0, kappa, n)
    H = np.diag(eigenvalues)
    g = rng.standard_normal(n)
    fast, info = lanczos_apply(H, g, "inv_abs", rtol=1e-8, full_output=True)
    assert sum(taken) >= 3  # the fast path did run (a clean stop needs 3 full checks)
    slow, reference = lanczos_apply(H, g, _eigen_path_inv_abs(), rtol=1e-8, full_output=True)
    assert info.matvecs == reference.matvecs and info.status == reference.status
    assert info.steps == reference.steps
    # Same iterate up to the quadrature's error and rounding (1e-12 << rtol).
    assert np.linalg.norm(fast - slow) <= 1e-12 * np.linalg.norm(slow)
    exact = g / np.abs(eigenvalues)
    assert np.linalg.norm(fast - exact) <= 10 * (1e-8 + 100 * kappa * EPS) * np.linalg.norm(exact)


@pytest.mark.parametrize("k, seed", [(2, 0), (3, 1), (25, 2), (120, 3)])
def test_end_entries_against_eigh(k, seed):
    """``|u_1j|``, ``|u_kj|`` from determinants equal eigh's (for ``|u_kj|`` not tiny)."""
    from matfun._lanczos_fast import _end_entries

    rng = np.random.default_rng(seed)
    eigenvalues = rng.choice([-1.0, 1.0], 200) * np.geomspace(1.0, 50.0, 200)
    alphas, betas = _lanczos_tridiagonal(eigenvalues, k, seed)
    matrix = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
    theta, vectors = np.linalg.eigh(matrix)
    window = np.arange(k)
    first, last, error = _end_entries(alphas, betas, theta, window)
    # The error model of u_kj^2 (10 k eps ||T|| / gap) against eigh's entries.
    assert np.all(np.abs(last ** 2 - vectors[-1] ** 2) <= error)
    # |u_1j| = |u_1j u_kj| / |u_kj|: relative error about error / u_kj^2.
    usable = vectors[-1] ** 2 >= 100 * error
    assert np.any(usable)
    assert np.all((np.abs(first - np.abs(vectors[0])) <= 0.02 * np.abs(vectors[0]) + 1e-12)[usable])


@pytest.mark.parametrize("kappa, steps, seed", [(100.0, 40, 0), (100.0, 150, 1), (1e3, 80, 2),
                                                (10.0, 30, 3), (1e4, 200, 4)])
def test_bound_estimate_against_the_ritz_value_bound(kappa, steps, seed):
    """The O(k) estimate screens out only above 1.1x the limit: it must not exceed the
    bound it stands for by 10% (measured 0.5% to 2% below it)."""
    from matfun._lanczos_bounds import abs_power_density, stieltjes_bound
    from matfun._lanczos_fast import inv_abs_bound_estimate

    rng = np.random.default_rng(seed)
    eigenvalues = rng.choice([-1.0, 1.0], 400) * np.geomspace(1.0, kappa, 400)
    alphas, betas = _lanczos_tridiagonal(eigenvalues, steps + 1, seed)
    residual = float(betas[-1])
    alphas, betas = alphas[:steps], betas[:-1]
    theta = np.linalg.eigvalsh(np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1))
    low = float(np.min(np.abs(theta)))
    assert (np.max(np.abs(theta)) / low) ** 2 <= RATIO_LIMIT  # the estimate's range
    exact = stieltjes_bound(theta, float(np.sum(np.log(np.append(betas, residual)))), low,
                            float(np.max(np.abs(theta))) + residual, abs_power_density(1.0))
    estimate = inv_abs_bound_estimate(alphas, betas, residual, low)
    assert 0.9 * exact <= estimate <= 1.05 * exact

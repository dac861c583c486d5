"""The lag screen and the measured sizes of a ``1/|x|`` Lanczos run (issue 11).

:mod:`matfun._lanczos_probe` replaces full checks by ``O(N k)`` quadrature iterates in
two places of the schedule: a check whose lagged change is a sure miss, and the size
``||y||`` the screens divide by. Oracles: ``numpy.linalg.eigh`` of the tridiagonal
matrix (``|T|^{-1} e_1 = U |Theta|^{-1} U^T e_1``), and the same run with the rule
checked fully at every step.
"""

import math

import numpy as np
import pytest

import matfun.lanczos
from matfun._lanczos import LanczosProcess
from matfun._lanczos_checks import Stopping, evaluate
from matfun._lanczos_guard import _near_poles
from matfun._lanczos_probe import LAG_SCREEN_MARGIN, lag_probe, provisional_iterate
from matfun.lanczos import FUNCTIONS, lanczos_apply
from matfun.operators import as_operator

INV_ABS = FUNCTIONS["inv_abs"]


def _process(n, kappa, steps, seed):
    rng = np.random.default_rng(seed)
    eigenvalues = rng.choice([-1.0, 1.0], n) * np.geomspace(1.0, kappa, n)
    process = LanczosProcess(as_operator(np.diag(eigenvalues)), rng.standard_normal(n))
    for _ in range(steps):
        process.step()
    return process


def _oracle(process, j):
    """``|T_j|^{-1} e_1`` by eigh (unit start)."""
    alphas, betas = np.array(process.alphas[:j]), np.array(process.betas[: j - 1])
    theta, vectors = np.linalg.eigh(np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1))
    return vectors @ (vectors[0] / np.abs(theta))


@pytest.mark.parametrize(("n", "kappa", "steps", "seed"), [
    (300, 100.0, 40, 0), (300, 100.0, 150, 1), (400, 1e4, 200, 2), (200, 10.0, 60, 3)])
def test_provisional_iterate_against_eigh(n, kappa, steps, seed):
    process = _process(n, kappa, steps, seed)
    alphas, betas = np.array(process.alphas), np.array(process.betas[:-1])
    near, _ = _near_poles(alphas, betas, process.betas[-1], INV_ABS, process, True)
    y = provisional_iterate(alphas, betas, near, process.eps, 1e-11)
    assert y is not None
    exact = _oracle(process, steps)
    # The rule's error (budget 1e-11 here) plus the solves' rounding, O(eps cond(T)).
    assert np.linalg.norm(y - exact) <= (1e-11 + 1e4 * kappa * process.eps) * np.linalg.norm(
        exact)


def test_provisional_iterate_refuses_a_bracket_through_zero():
    process = _process(100, 10.0, 20, 4)
    alphas, betas = np.array(process.alphas), np.array(process.betas[:-1])
    assert provisional_iterate(alphas, betas, np.array([0.0]), process.eps, 1e-11) is None
    assert provisional_iterate(alphas, betas, np.zeros(0), process.eps, 1e-11) is None


@pytest.mark.parametrize(("steps", "seed"), [(120, 5), (200, 6)])
def test_lag_probe_measures_the_rules_lagged_change(steps, seed):
    process = _process(400, 100.0, steps, seed)
    stopping = Stopping(False)
    size = float(np.linalg.norm(_oracle(process, steps))) * process.unit_norm
    stopping.sizes.append((steps, size))
    coefficients = process.unit_norm * _oracle(process, steps)
    found = lag_probe(process, INV_ABS, stopping, steps, coefficients, 1.0, 1e-11)
    assert found is not None
    lag, j = found
    assert steps - steps // 8 <= j <= steps - max(1, steps // 16)  # the rule's window
    difference = _oracle(process, steps)
    difference[:j] -= _oracle(process, j)
    exact = np.linalg.norm(difference) / np.linalg.norm(_oracle(process, steps))
    # Both iterates within the quadrature's budget (1e-11) and rounding of eigh's.
    assert lag == pytest.approx(exact, rel=1e-6, abs=1e-10)


def test_a_measured_size_is_the_full_checks():
    process = _process(300, 100.0, 150, 7)
    stopping = Stopping(False)
    stopping.sizes.append((10, 1.0))  # stale at k = 150: the screen measures ||y||
    screen = stopping.screen(1e-8, process.steps, measure=True)
    assert math.isnan(screen[0])
    assert stopping.screen(1e-8, process.steps) is None  # without measuring: a full check
    screened = evaluate(process, INV_ABS, None, True, screen, fast=1e-11)
    full = evaluate(process, INV_ABS, None, True, fast=1e-11)
    assert screened.size is not None
    assert screened.size == pytest.approx(float(np.linalg.norm(full.coefficients)), rel=1e-10)


@pytest.mark.parametrize(("n", "seed", "kappa"), [(300, 0, 100.0), (400, 1, 1e3),
                                                  (1000, 2, 100.0)])
def test_probe_screens_only_sure_misses(monkeypatch, n, seed, kappa):
    # Every check the probe screens out, evaluated fully against the reference the
    # probe used, misses the tolerance: the screen only skips checks that cannot hit.
    rng = np.random.default_rng(seed)
    eigenvalues = rng.choice([-1.0, 1.0], n) * np.geomspace(1.0, kappa, n)
    H, g = np.diag(eigenvalues), rng.standard_normal(n)
    screened = []
    original = matfun.lanczos.lag_probe

    def recording(process, function, stopping, steps, coefficients, tol, budget):
        found = original(process, function, stopping, steps, coefficients, tol, budget)
        if found is not None and found[0] > LAG_SCREEN_MARGIN * tol:
            screened.append((steps, found[1], tol, process))
        return found

    monkeypatch.setattr(matfun.lanczos, "lag_probe", recording)
    x, info = lanczos_apply(H, g, "inv_abs", full_output=True)
    assert info.converged
    exact = g / np.abs(eigenvalues)
    assert np.linalg.norm(x - exact) <= 10 * (1e-8 + 100 * kappa * 1.1e-16) * np.linalg.norm(
        exact)
    assert screened  # each of these runs has checks the probe screens out
    for steps, j, tol, process in screened:
        difference = _oracle(process, steps)
        difference[:j] -= _oracle(process, j)
        assert np.linalg.norm(difference) / np.linalg.norm(_oracle(process, steps)) > tol

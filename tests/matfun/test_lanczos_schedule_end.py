"""The schedule near a Lanczos stop: no check that repeats a missed lagged change (issue 11).

A check whose lagged change ``||y_k - y_j|| / ||y_k||`` missed the tolerance is not
followed by one against the same reference ``y_j`` (that difference measures the error
of ``y_j``, which a later ``k`` does not change). Oracles: the reuse window of the lag
written out here from the docstring of ``Stopping._lagged_change``, and dense
eigendecompositions (``numpy.linalg.qr`` of a random matrix, known eigenvalues).
"""

import numpy as np
import pytest

import matfun._lanczos_checks as checks
from matfun._lanczos_frame import renewal
from matfun.lanczos import lanczos_apply
from tests.matfun.test_lanczos_schedule import indefinite


def reusable(reference, k):
    """``j`` lies in the window where the lag at step ``k`` may reuse it (module docs)."""
    target = k - max(1, k // 16)
    oldest = k - max(2, k // 8)
    return max(oldest, target - max(2, k // 128)) <= reference <= target


@pytest.mark.parametrize("steps", [10, 11, 40, 127, 128, 255, 620, 1000, 4097])
def test_renewal_is_the_first_step_past_the_reuse_window(steps):
    for reference in range(max(1, steps - steps // 8), steps - max(1, steps // 16) + 1):
        if not reusable(reference, steps):
            continue
        first = renewal(reference, steps)
        assert first > steps and not reusable(reference, first)
        assert all(reusable(reference, k) for k in range(steps, first))


@pytest.mark.parametrize(("n", "seed", "kappa", "f"), [
    (600, 0, 100.0, "inv_abs"), (400, 1, 30.0, "inv"), (500, 2, 300.0, "inv_sqrt_abs")])
def test_a_missed_lag_is_not_checked_again_against_the_same_reference(monkeypatch, n, seed,
                                                                      kappa, f):
    H, eigenvalues, q = indefinite(n, seed, kappa)
    g = np.random.default_rng(seed + 10).standard_normal(n)
    lags = []  # (check steps, reference steps, lagged change, tolerance)
    original = checks.Stopping._lagged_change

    def recording(self, check, earlier, tol):
        lagged, reference = original(self, check, earlier, tol)
        if reference is not None:
            lags.append((check.steps, reference.steps, lagged, tol))
        return lagged, reference

    monkeypatch.setattr(checks.Stopping, "_lagged_change", recording)
    x, info = lanczos_apply(H, g, f, rtol=1e-8, full_output=True)
    assert info.status == "converged" and len(lags) >= 2
    for (k0, j0, lag0, tol0), (k1, j1, _, _) in zip(lags, lags[1:], strict=False):
        if lag0 > tol0 and k1 > k0:
            assert j1 != j0, (k0, k1, j0)
    # The stop is as honest as before: 10 rtol (the heuristic's margin) plus rounding.
    exact = q @ ((q.T @ g) * {"inv_abs": 1 / np.abs(eigenvalues), "inv": 1 / eigenvalues,
                              "inv_sqrt_abs": np.abs(eigenvalues) ** -0.5}[f])
    assert np.linalg.norm(x - exact) <= (1e-7 + 100 * 300 * 2.2e-16) * np.linalg.norm(exact)


def test_spoilt_checks_far_from_a_stop_are_spaced_and_the_stop_is_unchanged(monkeypatch):
    # An indefinite spectrum symmetric about the pole: Ritz values keep passing near 0,
    # so most early checks are spoilt by the guard.
    n = 500
    H, eigenvalues, q = indefinite(n, 7, 100.0)
    g = np.random.default_rng(17).standard_normal(n)
    import matfun.lanczos as module

    seen = []  # (steps, spoilt) of the run's own checks (not the lag's references)
    original = module.evaluate

    def recording(process, *args, **kwargs):
        check = original(process, *args, **kwargs)
        if check.steps == process.steps:
            seen.append((check.steps, check.coefficients is None and check.spoilt))
        return check

    monkeypatch.setattr(module, "evaluate", recording)
    x, info = lanczos_apply(H, g, "inv_abs", rtol=1e-8, full_output=True)
    assert info.status == "converged"
    spoilt_runs = 0
    for (k0, s0), (k1, s1), (k2, s2) in zip(seen, seen[1:], seen[2:], strict=False):
        if s0 and s1 and s2 and k1 > k0 and k2 > k1 >= 64:
            # The third spoilt check in a row comes at least k // 16 after the second
            # (estimates are far from the tolerance before the first clean check).
            assert k2 - k1 >= k1 // 16, (k0, k1, k2)
            spoilt_runs += 1
    assert spoilt_runs > 0  # the case exercises the rule
    exact = q @ ((q.T @ g) / np.abs(eigenvalues))
    assert np.linalg.norm(x - exact) <= (1e-7 + 100 * 100 * 2.2e-16) * np.linalg.norm(exact)


def test_cached_sturm_counts_match_the_eigenvalues_of_every_leading_block():
    from matfun._lanczos_guard import _count_below

    rng = np.random.default_rng(3)
    alphas, betas = rng.standard_normal(120), np.abs(rng.standard_normal(119)) + 0.1
    cache = {}
    # Growing, repeated and shrinking prefixes (a lag reference reads an earlier block).
    for j in [1, 2, 5, 40, 40, 39, 80, 3, 120, 60, 120]:
        matrix = np.diag(alphas[:j]) + np.diag(betas[: j - 1], 1) + np.diag(betas[: j - 1], -1)
        for shift in (0.0, 0.3):
            expected = int(np.sum(np.linalg.eigvalsh(matrix) < shift))
            assert _count_below(alphas[:j], betas[: j - 1], shift, cache) == expected
            assert _count_below(alphas[:j], betas[: j - 1], shift) == expected

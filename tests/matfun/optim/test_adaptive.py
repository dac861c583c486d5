"""The adaptive (K-FAC) wrapper: its 2x2 model, damping rule and curvature average."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matfun.optim import NonFiniteError, Optimizer, Oracle, adaptive, exact_sfn, sfn_series
from matfun.optim.adaptive import _levenberg_marquardt
from tests._helpers import to_numpy, xp_assert_close

SADDLE = np.array([2.0, -1.0, 0.5, -3.0])
X0 = np.array([1.0, 0.5, -2.0, 0.25])


def quartic(xp, matrix, c=0.1):
    """``f = x^T A x / 2 + c sum x^4 / 4``: its Hessian changes from step to step."""
    A = xp.asarray(matrix, dtype=xp.float64)
    return Oracle(
        value=lambda x: 0.5 * (x @ (A @ x)) + 0.25 * c * xp.sum(x**4),
        grad=lambda x: A @ x + c * x**3,
        hvp=lambda x, v: A @ v + 3 * c * x**2 * v,
    )


def quartic_numpy(matrix, c=0.1):
    def value(x):
        return 0.5 * x @ matrix @ x + 0.25 * c * np.sum(x**4)

    def gradient(x):
        return matrix @ x + c * x**3

    def hessian(x):
        return matrix + np.diag(3 * c * x**2)

    return value, gradient, hessian


def absolute(H):
    eigenvalues, Q = np.linalg.eigh(H)
    return (Q * np.abs(eigenvalues)) @ Q.T


def reference_steps(matrix, x, steps, *, lam0, omega, ema=0.0, c=0.1):
    """Independent NumPy re-derivation of the adaptive exact SFN steps (appendix A.4)."""
    value, gradient, hessian = quartic_numpy(matrix, c)
    lam, previous, averaged, history = lam0, np.zeros_like(x), None, []
    for _ in range(steps):
        g, H = gradient(x), hessian(x)
        averaged = H if (averaged is None or ema == 0) else ema * averaged + (1 - ema) * H
        C_step = absolute(averaged) + lam * np.eye(x.size)
        C_model = absolute(H) + lam * np.eye(x.size)
        direction = -np.linalg.solve(C_step, g)
        if not np.any(previous):
            alpha = -(g @ direction) / (direction @ C_model @ direction)
            mu = 0.0
        else:
            basis = np.stack([direction, previous], axis=1)
            alpha, mu = -np.linalg.solve(basis.T @ C_model @ basis, basis.T @ g)
        delta = alpha * direction + mu * previous
        predicted = g @ delta + 0.5 * delta @ C_model @ delta
        rho = (value(x + delta) - value(x)) / predicted
        history.append((alpha, mu, lam, rho))
        lam = lam * omega if rho > 0.75 else lam / omega if rho < 0.25 else lam
        x, previous = x + delta, delta
    return x, history


@settings(max_examples=8)
@given(seed=st.integers(0, 2**31), ema=st.sampled_from([0.0, 0.7]))
def test_exact_adaptive_matches_numpy_derivation(xp, seed, ema):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((4, 4))
    matrix = 0.5 * (M + M.T)
    x0 = rng.standard_normal(4)
    opt = adaptive(exact_sfn(threshold=1e-12), initial_damping=0.5, omega=0.9,
                   curvature_ema=ema)
    oracle = quartic(xp, matrix)
    params, state = xp.asarray(x0, dtype=xp.float64), None
    state = opt.init(params)
    infos = []
    for _ in range(4):
        params, state, info = opt.update(state, params, oracle)
        infos.append(info)
    expected, history = reference_steps(matrix, x0, 4, lam0=0.5, omega=0.9, ema=ema)
    # Four steps of solves with matrices of condition <= ~1e3 (damping 0.5 against
    # |eigenvalues| up to ~5): agreement to 1e-9 relative.
    xp_assert_close(params, expected, rtol=1e-9, atol=1e-11, xp=xp)
    for info, (alpha, mu, lam, rho) in zip(infos, history, strict=True):
        assert info["learning_rate"] == pytest.approx(alpha, rel=1e-8, abs=1e-12)
        assert info["momentum"] == pytest.approx(mu, rel=1e-8, abs=1e-12)
        assert info["damping"] == pytest.approx(lam, rel=1e-12)
        assert info["rho"] == pytest.approx(rho, rel=1e-7)
        assert info["matvecs"] == 4  # the dense Hessian; the 2x2 model needs no HVP


def test_damping_rule_thresholds():
    # The paper's eq. (8): strict inequalities at 3/4 and 1/4, clipping to the range.
    assert _levenberg_marquardt(1.0, 0.76, 0.5, 1e-8, 1e8) == 0.5
    assert _levenberg_marquardt(1.0, 0.75, 0.5, 1e-8, 1e8) == 1.0
    assert _levenberg_marquardt(1.0, 0.25, 0.5, 1e-8, 1e8) == 1.0
    assert _levenberg_marquardt(1.0, 0.24, 0.5, 1e-8, 1e8) == 2.0
    assert _levenberg_marquardt(1.0, -3.0, 0.5, 1e-8, 1e8) == 2.0
    assert _levenberg_marquardt(1.5e8, -3.0, 0.5, 1e-8, 2e8) == 2e8
    assert _levenberg_marquardt(1e-8, 2.0, 0.5, 1e-8, 2e8) == 1e-8


def test_damping_grows_when_the_model_is_poor(xp):
    # f = sum(x^2/2 - x^3/10) at x = 1: H = 0.4, the step -g/H = -1.75 and the cubic
    # term adds +0.536 to the predicted -0.6125: rho = 0.125 < 1/4, so lam /= omega.
    oracle = Oracle(value=lambda x: xp.sum(0.5 * x**2 - 0.1 * x**3),
                    grad=lambda x: x - 0.3 * x**2, hvp=lambda x, v: (1 - 0.6 * x) * v)
    opt = adaptive(exact_sfn(), initial_damping=1e-6, omega=0.5)
    params = xp.asarray([1.0, 1.0], dtype=xp.float64)
    _, state, info = opt.update(opt.init(params), params, oracle)
    assert info["rho"] == pytest.approx(0.125, rel=1e-4) and state.damping == 2e-6


def test_escapes_the_saddle(xp):
    oracle = quartic(xp, np.diag(SADDLE), c=0.0)
    # (The series base is checked on a better conditioned saddle in test_saddle.py.)
    for base in (exact_sfn(),):
        opt = adaptive(base, initial_damping=1e-4)
        params = xp.asarray(X0, dtype=xp.float64)
        state = opt.init(params)
        for _ in range(3):
            params, state, info = opt.update(state, params, oracle)
        x = to_numpy(params)
        # Positive curvature: converged (damping 1e-4 leaves a factor 1e-4 per step);
        # negative curvature: |x| grew by ~2 per step.
        np.testing.assert_allclose(x[SADDLE > 0], 0.0, atol=1e-9)
        assert np.all(np.abs(x[SADDLE < 0]) > 7 * np.abs(X0[SADDLE < 0]))


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31), kind=st.sampled_from(["abs", "shift", "square"]))
def test_series_curvature_bound_is_an_upper_bound(xp, seed, kind):
    # delta^T C delta <= bound (Cauchy-Schwarz), with equality for an eigenvector.
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((5, 5))
    H = 0.5 * (M + M.T)
    lam = float(rng.uniform(0, 1))
    eigenvalues, Q = np.linalg.eigh(H)
    magnitude = {"abs": np.abs(eigenvalues) + lam, "shift": np.abs(eigenvalues + lam),
                 "square": np.sqrt(eigenvalues**2 + lam)}[kind]
    C = (Q * magnitude) @ Q.T
    rule = sfn_series(learning_rate=1.0, terms=3, accelerate=None,
                      damping_kind=kind).update.saddle_free_rule
    A = xp.asarray(H, dtype=xp.float64)
    oracle = Oracle(value=lambda x: x[0], grad=lambda x: x, hvp=lambda x, v: A @ v)
    from matfun.optim._oracle_calls import HVPCounter

    hvp = HVPCounter(oracle, xp.zeros(5, dtype=xp.float64), 0)
    delta = rng.standard_normal(5)
    bound = rule.curvature_bound(hvp, xp.asarray(delta, dtype=xp.float64), lam)
    assert delta @ C @ delta <= bound * (1 + 1e-12)
    eigenvector = Q[:, 2]
    tight = rule.curvature_bound(hvp, xp.asarray(eigenvector, dtype=xp.float64), lam)
    assert tight == pytest.approx(eigenvector @ C @ eigenvector, rel=1e-12)
    assert hvp.matvecs == 2


def test_series_adaptive_first_step_is_the_damped_sfn_step(xp):
    # Without a previous update, alpha = -g^T Delta / Delta^T C Delta = 1 when
    # C Delta = -g holds (a converged series): the step is the damped SFN step.
    H = np.diag([2.0, -1.0, 1.5])
    x0 = np.array([1.0, 1.0, 1.0])
    opt = adaptive(sfn_series(learning_rate=1.0, terms=800, accelerate=None,
                              initial_scale=5.0), initial_damping=0.1)
    params, state, info = opt.update(opt.init(xp.asarray(x0, dtype=xp.float64)),
                                     xp.asarray(x0, dtype=xp.float64), quartic(xp, H, c=0.0))
    expected = x0 - (H @ x0) / (np.abs(np.diag(H)) + 0.1)
    # z <= 1 - 1/5 ... 800 terms: truncation far below 1e-12
    xp_assert_close(params, expected, rtol=1e-12, xp=xp)
    assert info["learning_rate"] == pytest.approx(1.0, rel=1e-12)
    assert state.aux == 5.0  # V = max(V0, ||H^2 g|| / ||g||) = max(5, 3.2...)


def test_rejects_a_non_finite_trial_point(xp):
    A = xp.asarray(np.eye(2), dtype=xp.float64)
    oracle = Oracle(value=lambda x: xp.where(x[0] < 0.5, xp.asarray(float("inf"),
                                             dtype=xp.float64), 0.5 * (x @ x)),
                    grad=lambda x: A @ x, hvp=lambda x, v: A @ v)
    opt = adaptive(exact_sfn(), initial_damping=1e-3, omega=0.5)
    params = xp.asarray([1.0, 1.0], dtype=xp.float64)
    new_params, state, info = opt.update(opt.init(params), params, oracle)
    assert info["rejected"] and state.damping == 2e-3
    xp_assert_close(new_params, np.array([1.0, 1.0]), rtol=0, xp=xp)


@pytest.mark.parametrize("which", ["grad", "hvp"])
def test_non_finite_oracle_raises_and_leaves_state(xp, which):
    A = xp.asarray(np.diag(SADDLE), dtype=xp.float64)
    oracle = Oracle(value=lambda x: 0.5 * (x @ (A @ x)),
                    grad=(lambda x: x * float("nan")) if which == "grad" else (lambda x: A @ x),
                    hvp=(lambda x, v: v + float("inf")) if which == "hvp" else (lambda x, v: A @ v))
    for base in (exact_sfn(), sfn_series(learning_rate=1.0, terms=5, accelerate=None)):
        opt = adaptive(base)
        params = xp.asarray(X0, dtype=xp.float64)
        state = opt.init(params)
        snapshot = copy.deepcopy(state)
        with pytest.raises(NonFiniteError, match=f"oracle.{which}"):
            opt.update(state, params, oracle)
        assert (state.step, state.damping, state.aux) == (snapshot.step, snapshot.damping,
                                                          snapshot.aux)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"omega": 1.0}, ValueError, "omega must lie in \\(0, 1\\)"),
        ({"omega": 0.0}, ValueError, "omega must lie in \\(0, 1\\)"),
        ({"initial_damping": 0.0}, ValueError, "initial_damping must be a positive"),
        ({"initial_damping": 1e9}, ValueError, "initial_damping must lie in"),
        ({"curvature_ema": 1.0}, ValueError, "curvature_ema must lie in"),
        ({"min_damping": -1.0}, ValueError, "min_damping must be a positive"),
    ],
    ids=["omega1", "omega0", "damping0", "damping_range", "ema", "min"],
)
def test_bad_hyper_parameters(kwargs, error, message):
    with pytest.raises(error, match=message):
        adaptive(exact_sfn(), **kwargs)


def test_base_must_be_a_saddle_free_optimiser():
    with pytest.raises(TypeError, match="base must be an optimiser made by exact_sfn"):
        adaptive(Optimizer(lambda p: None, lambda s, p, o: None))
    with pytest.raises(ValueError, match="curvature_ema applies to exact_sfn only"):
        adaptive(sfn_series(learning_rate=1.0, terms=5, accelerate=None), curvature_ema=0.5)

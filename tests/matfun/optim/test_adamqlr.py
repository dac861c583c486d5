"""AdamQLR against a NumPy re-derivation of Adam's direction and the model's step size."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matfun.optim import NonFiniteError, Oracle, adamqlr
from tests._helpers import to_numpy, xp_assert_close


def quartic(xp, matrix, c=0.1, gauss_newton=None):
    A = xp.asarray(matrix, dtype=xp.float64)
    G = None if gauss_newton is None else xp.asarray(gauss_newton, dtype=xp.float64)
    return Oracle(
        value=lambda x: 0.5 * (x @ (A @ x)) + 0.25 * c * xp.sum(x**4),
        grad=lambda x: A @ x + c * x**3,
        hvp=lambda x, v: A @ v + 3 * c * x**2 * v,
        gauss_newton=None if G is None else (lambda x, v: G @ v),
    )


def reference(matrix, x, steps, *, b1, b2, eps, lam0, omega, c=0.1, curvature=None):
    """AdamQLR in NumPy: Adam's bias-corrected direction, alpha from the damped model."""
    def value(x):
        return 0.5 * x @ matrix @ x + 0.25 * c * np.sum(x**4)

    m = v = np.zeros_like(x)
    lam, history = lam0, []
    for t in range(1, steps + 1):
        g = matrix @ x + c * x**3
        C = (matrix + np.diag(3 * c * x**2)) if curvature is None else curvature
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        d = -(m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        if d @ C @ d + lam * d @ d <= 0:
            lam = 2 * -(d @ C @ d) / (d @ d)
        alpha = -(g @ d) / (d @ C @ d + lam * d @ d)
        predicted = alpha * (g @ d) + 0.5 * alpha**2 * (d @ C @ d + lam * d @ d)
        rho = (value(x + alpha * d) - value(x)) / predicted
        history.append((alpha, lam, rho))
        lam = lam * omega if rho > 0.75 else lam / omega if rho < 0.25 else lam
        x = x + alpha * d
    return x, history


@settings(max_examples=8)
@given(seed=st.integers(0, 2**31), definite=st.booleans())
def test_matches_numpy_derivation(xp, seed, definite):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((4, 4))
    matrix = M @ M.T + 0.1 * np.eye(4) if definite else 0.5 * (M + M.T)
    x0 = rng.standard_normal(4)
    opt = adamqlr(b1=0.8, b2=0.95, eps=1e-8, initial_damping=0.1, omega=0.7)
    params = xp.asarray(x0, dtype=xp.float64)
    state = opt.init(params)
    infos = []
    for _ in range(5):
        params, state, info = opt.update(state, params, quartic(xp, matrix))
        infos.append(info)
    expected, history = reference(matrix, x0, 5, b1=0.8, b2=0.95, eps=1e-8, lam0=0.1,
                                  omega=0.7)
    # Elementwise arithmetic and 4-vector dot products only: agreement to ~1e3 eps
    # after five steps (alpha amplifies by at most the model's conditioning).
    xp_assert_close(params, expected, rtol=1e-10, atol=1e-12, xp=xp)
    for info, (alpha, lam, rho) in zip(infos, history, strict=True):
        assert info["learning_rate"] == pytest.approx(alpha, rel=1e-10)
        assert info["damping"] == pytest.approx(lam, rel=1e-12)
        assert info["rho"] == pytest.approx(rho, rel=1e-8)
        assert info["matvecs"] == 1


def test_first_step_is_the_exact_line_minimum_on_a_quadratic(xp):
    # Step 1: d = -g / (|g| + eps) = -sign(g); alpha = -g^T d / d^T (H + lam) d.
    H = np.diag([1.0, 4.0, 9.0])
    x0 = np.array([1.0, -1.0, 0.5])
    opt = adamqlr(initial_damping=1e-8, min_damping=1e-12)
    params = xp.asarray(x0, dtype=xp.float64)
    params, state, info = opt.update(opt.init(params), params, quartic(xp, H, c=0.0))
    d = -np.sign(H @ x0) * (np.abs(H @ x0) / (np.abs(H @ x0) + 1e-8))
    alpha = -(H @ x0 @ d) / (d @ H @ d + 1e-8 * d @ d)
    xp_assert_close(params, x0 + alpha * d, rtol=1e-14, xp=xp)
    # On a quadratic the undamped model is exact: rho = 1 up to lam, so lam shrinks.
    assert info["rho"] == pytest.approx(1.0, rel=1e-6) and state.damping < 1e-8


def test_gauss_newton_curvature_is_used(xp):
    G = np.diag([2.0, 3.0])
    opt = adamqlr(curvature="gauss_newton", initial_damping=0.5)
    x0 = np.array([1.0, 2.0])
    params = xp.asarray(x0, dtype=xp.float64)
    params, _, info = opt.update(opt.init(params), params,
                                 quartic(xp, np.diag([-1.0, 1.0]), gauss_newton=G))
    _, history = reference(np.diag([-1.0, 1.0]), x0, 1, b1=0.9, b2=0.999, eps=1e-8, lam0=0.5,
                           omega=0.95, curvature=G)
    assert info["learning_rate"] == pytest.approx(history[0][0], rel=1e-12)


def test_negative_curvature_raises_the_damping(xp):
    # Along d = -(1, 1)/..., d^T H d < 0: lam is raised to twice -d^T H d / d^T d.
    H = np.diag([-2.0, -1.0])
    opt = adamqlr(initial_damping=1e-3)
    params = xp.asarray([1.0, 1.0], dtype=xp.float64)
    params, _, info = opt.update(opt.init(params), params, quartic(xp, H, c=0.0))
    assert info["damping"] == pytest.approx(3.0, rel=1e-6)  # 2 * 1.5
    assert info["learning_rate"] > 0 and info["predicted_change"] < 0


def test_rejects_a_non_finite_trial_point(xp):
    oracle = Oracle(value=lambda x: xp.where(x[0] < 0.5, xp.asarray(float("nan"),
                                             dtype=xp.float64), 0.5 * (x @ x)),
                    grad=lambda x: x, hvp=lambda x, v: v)
    opt = adamqlr(initial_damping=1e-3, omega=0.5)
    params = xp.asarray([1.0, 1.0], dtype=xp.float64)
    new_params, state, info = opt.update(opt.init(params), params, oracle)
    assert info["rejected"] and state.damping == 2e-3 and state.step == 1
    xp_assert_close(new_params, np.array([1.0, 1.0]), rtol=0, xp=xp)


@pytest.mark.parametrize("which", ["grad", "hvp"])
def test_non_finite_oracle_raises_and_leaves_state(xp, which):
    good = quartic(xp, np.eye(3))
    oracle = Oracle(value=good.value,
                    grad=(lambda x: x * float("nan")) if which == "grad" else good.grad,
                    hvp=(lambda x, v: v * float("nan")) if which == "hvp" else good.hvp)
    opt = adamqlr()
    params = xp.asarray([1.0, 2.0, 3.0], dtype=xp.float64)
    state = opt.init(params)
    snapshot = copy.deepcopy(state)
    with pytest.raises(NonFiniteError, match=f"oracle.{which}.*step 0"):
        opt.update(state, params, oracle)
    assert (state.step, state.damping) == (snapshot.step, snapshot.damping)
    np.testing.assert_array_equal(to_numpy(state.first_moment),
                                  to_numpy(snapshot.first_moment))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"b1": 1.0}, "b1 must lie in"),
        ({"b2": -0.1}, "b2 must lie in"),
        ({"eps": 0.0}, "eps must be a positive"),
        ({"omega": 1.0}, "omega must lie in"),
        ({"initial_damping": -1.0}, "initial_damping must be a positive"),
        ({"curvature": "fisher"}, "curvature must be one of"),
    ],
    ids=["b1", "b2", "eps", "omega", "damping", "curvature"],
)
def test_bad_hyper_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        adamqlr(**kwargs)


def test_gauss_newton_must_be_supplied(xp):
    opt = adamqlr(curvature="gauss_newton")
    params = xp.asarray([1.0], dtype=xp.float64)
    with pytest.raises(ValueError, match="needs the oracle's gauss_newton callable"):
        opt.update(opt.init(params), params, quartic(xp, np.eye(1)))


def test_an_eps_that_rounds_to_zero_is_named_before_any_oracle_call(xp):
    # float16: 1e-8 is below half the smallest subnormal (2^-25), so a zero gradient
    # entry would give d = 0/0 and the NaN would be blamed on the Hessian-vector product.
    half = getattr(xp, "float16", None)
    if half is None:
        pytest.skip(f"{xp.__name__} has no float16")
    calls = []

    def gradient(x):
        calls.append("grad")
        return x * 0

    oracle = Oracle(value=lambda x: (x @ x) * 0, grad=gradient, hvp=lambda x, v: v)
    params = xp.asarray(np.ones(3), dtype=half)
    optimizer = adamqlr()
    with pytest.raises(ValueError, match=r"eps = 1e-08 rounds to 0 in .*float16"):
        optimizer.update(optimizer.init(params), params, oracle)
    assert calls == []
    representable = adamqlr(eps=1e-4)  # above float16's smallest normal, 6.1e-5
    x, _, _ = representable.update(representable.init(params), params, oracle)
    assert bool(xp.all(xp.isfinite(x)))

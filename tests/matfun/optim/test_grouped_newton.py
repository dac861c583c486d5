"""Grouped Newton: Cauchy and Newton as special cases, scipy's cubic minimum, invariance."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

from matfun.optim import NonFiniteError, Oracle, grouped_newton
from matfun.optim._cubic import UnboundedModelError, cubic_model
from matfun.optim.problems import mlp_regression, quadratic_saddle
from tests._helpers import to_numpy, xp_assert_close


def spd(seed, size):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((size, size))
    return M @ M.T + 0.5 * np.eye(size), rng.standard_normal(size)


def quadratic(xp, matrix):
    A = xp.asarray(matrix, dtype=xp.float64)
    return Oracle(value=lambda x: 0.5 * (x @ (A @ x)), grad=lambda x: A @ x,
                  hvp=lambda x, v: A @ v, third=lambda x, u: 0.0 * x[0])


def anharmonic(xp, matrix, b, scale=None):
    """``f(C y)`` for ``f(x) = x^T A x / 2 + (b^T x)^3 / 6 + sum x^4 / 12``, C = diag(scale).

    Exact gradient, HVP and third directional derivative, all in the chain rule of
    the reparameterisation ``x = C y`` (seed 001 appendix E).
    """
    A = xp.asarray(matrix, dtype=xp.float64)
    c = xp.asarray(np.ones(len(b)) if scale is None else scale, dtype=xp.float64)
    b = xp.asarray(b, dtype=xp.float64)

    def value(y):
        x = c * y
        return 0.5 * (x @ (A @ x)) + (b @ x) ** 3 / 6 + xp.sum(x**4) / 12

    def grad(y):
        x = c * y
        return c * (A @ x + 0.5 * (b @ x) ** 2 * b + x**3 / 3)

    def hvp(y, v):
        x, w = c * y, c * v
        return c * (A @ w + (b @ x) * (b @ w) * b + x**2 * w)

    def third(y, u):
        x, w = c * y, c * u
        return (b @ w) ** 3 + 2 * xp.sum(x * w**3)

    return Oracle(value=value, grad=grad, hvp=hvp, third=third)


def one_step(xp, opt, oracle, x0):
    params = xp.asarray(x0, dtype=xp.float64)
    return opt.update(opt.init(params), params, oracle)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31), size=st.integers(1, 6))
def test_trivial_partition_is_cauchy_steepest_descent(xp, seed, size):
    A, x0 = spd(seed, size)
    x, _, info = one_step(xp, grouped_newton(groups=[slice(0, size)]), quadratic(xp, A), x0)
    g = A @ x0
    # A 1x1 "solve": agreement to rounding of g^T H g (conditioning <= ~1e3 here).
    xp_assert_close(x, x0 - (g @ g) / (g @ A @ g) * g, rtol=1e-11, atol=1e-12, xp=xp)
    assert info["matvecs"] == 1


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31), size=st.integers(1, 6))
def test_discrete_partition_is_newton(xp, seed, size):
    A, x0 = spd(seed, size)
    opt = grouped_newton(groups=[[i] for i in range(size)])
    x, _, info = one_step(xp, opt, quadratic(xp, A), x0)
    newton = x0 - np.linalg.solve(A, A @ x0)
    # Newton lands on the minimum 0; the summary solve loses cond(diag(g) A diag(g)).
    scale = np.linalg.cond(np.diag(A @ x0) @ A @ np.diag(A @ x0))
    xp_assert_close(x, newton, rtol=0, atol=1e-13 * scale * np.linalg.norm(x0), xp=xp)
    assert info["matvecs"] == size


@settings(max_examples=8)
@given(seed=st.integers(0, 2**31), cubic=st.sampled_from([0.0, 0.5, 5.0]),
       momentum=st.sampled_from([0.0, 0.5]))
def test_invariant_under_group_rescaling(xp, seed, cubic, momentum):
    # Seed 001 appendix E: with y = C^{-1} x, per-group scalings c_s, the trajectories
    # coincide: x_t = C y_t.
    rng = np.random.default_rng(seed)
    groups = [slice(0, 2), slice(2, 3), slice(3, 6)]
    M = rng.standard_normal((6, 6))
    A, b = M @ M.T + np.eye(6), 0.3 * rng.standard_normal(6)
    scale = np.repeat(10 ** rng.uniform(-1.5, 1.5, 3), [2, 1, 3])
    x0 = 0.5 * rng.standard_normal(6)
    opt = grouped_newton(groups=groups, cubic=cubic, momentum=momentum, damping=0.8)
    x, y = xp.asarray(x0, dtype=xp.float64), xp.asarray(x0 / scale, dtype=xp.float64)
    state_x, state_y = opt.init(x), opt.init(y)
    plain, scaled = anharmonic(xp, A, b), anharmonic(xp, A, b, scale)
    for _ in range(3):
        x, state_x, info_x = opt.update(state_x, x, plain)
        y, state_y, info_y = opt.update(state_y, y, scaled)
        assert info_y["loss"] == pytest.approx(info_x["loss"], rel=1e-9)
    # Three steps through 3x3 solves with scalings up to 10^1.5 per axis: 1e-8.
    np.testing.assert_allclose(scale * to_numpy(y), to_numpy(x), rtol=1e-8, atol=1e-10)


@settings(max_examples=8)
@given(seed=st.integers(0, 2**31), cubic=st.sampled_from([0.1, 1.0, 10.0]))
def test_cubic_step_minimises_the_model_by_scipy(xp, seed, cubic):
    # Oracle: the summary built in NumPy from the dense derivatives, minimised by
    # scipy.optimize from several starts -- independent of the library's solver.
    rng = np.random.default_rng(seed)
    groups = [slice(0, 2), slice(2, 4), slice(4, 5)]
    M = rng.standard_normal((5, 5))
    A, b = 0.5 * (M + M.T), rng.standard_normal(5)  # indefinite
    x0 = rng.standard_normal(5)
    x, _, info = one_step(xp, grouped_newton(groups=groups, cubic=cubic),
                          anharmonic(xp, A, b), x0)
    g = A @ x0 + 0.5 * (b @ x0) ** 2 * b + x0**3 / 3
    H = A + np.outer(b, b) * (b @ x0) + np.diag(x0**2)
    U = np.zeros((3, 5))
    for s, group in enumerate(groups):
        U[s, group] = g[group]
    summary, g_bar = U @ H @ U.T, U @ g
    weights = np.abs([(b @ u) ** 3 + 2 * np.sum(x0 * u**3) for u in U]) ** (1 / 3)
    best = min((scipy.optimize.minimize(cubic_model, start, args=(summary, g_bar, weights, cubic),
                                        method="BFGS", options={"gtol": 1e-11})
                for start in (np.zeros(3), rng.standard_normal(3), -rng.standard_normal(3))),
               key=lambda result: result.fun)
    eta = np.asarray(info["learning_rates"])
    assert cubic_model(eta, summary, g_bar, weights, cubic) <= best.fun + 1e-9 * max(
        1.0, abs(best.fun))
    xp_assert_close(x, x0 - U.T @ eta, rtol=1e-12, atol=1e-14, xp=xp)
    assert info["matvecs"] == 3


def test_discrete_partition_jumps_to_the_saddle_like_newton(xp):
    # The quadratic saddle of the seed paper's Figure 1 with one group per coordinate:
    # without a cubic term grouped Newton is Newton's method, attracted to the saddle
    # (the behaviour saddle-free Newton corrects). One step, to rounding (cond(Hbar)
    # ~ 10 here, so 1e-14).
    problem = quadratic_saddle()
    opt = grouped_newton(groups=problem.groups)
    x0 = problem.initial(0, xp=xp)
    x, _, info = opt.update(opt.init(x0), x0, problem.oracle)
    xp_assert_close(x, np.zeros(2), rtol=0, atol=1e-14, xp=xp)
    assert info["model"] == "linear" and info["matvecs"] == 2


def test_cubic_step_on_the_mlp_minimises_its_model():
    # Per weight and per bias groups of a small network: the learning rates are the
    # global minimiser of the cubic model, checked by scipy from several starts on the
    # summary (Hbar, gbar, D) rebuilt here from the oracle.
    problem = mlp_regression(depth=2, width=4, inputs=3, samples=16, seed=2)
    oracle, x0 = problem.oracle, problem.initial(1)
    x, _, info = one_step(np, grouped_newton(groups=problem.groups, cubic=2.0), oracle, x0)
    g = oracle.grad(x0)
    U = np.zeros((len(problem.groups), problem.dimension))
    for s, group in enumerate(problem.groups):
        U[s, group] = g[group]
    summary = U @ np.stack([oracle.hvp(x0, u) for u in U]).T
    summary = 0.5 * (summary + summary.T)
    weights = np.abs([u @ oracle.third(x0, u) for u in U]) ** (1 / 3)
    rng = np.random.default_rng(0)
    eta = np.asarray(info["learning_rates"])
    best = min((scipy.optimize.minimize(cubic_model, start,
                                        args=(summary, U @ g, weights, 2.0), method="BFGS",
                                        options={"gtol": 1e-12})
                for start in (np.zeros(len(eta)), eta, rng.standard_normal(len(eta)))),
               key=lambda result: result.fun)
    # A global minimum can only tie with BFGS's local ones: 1e-9 relative.
    value = cubic_model(eta, summary, U @ g, weights, 2.0)
    assert value <= best.fun + 1e-9 * abs(best.fun)
    assert value < 0  # the model predicts a decrease (not a guarantee for f itself)
    xp_assert_close(x, x0 - U.T @ eta, rtol=1e-12, atol=1e-14, xp=np)


def test_zero_direction_group_gets_no_step(xp):
    # The gradient vanishes on group 2: it is left out of the solve, rate 0.
    A = np.diag([2.0, 3.0, 4.0])
    x, _, info = one_step(xp, grouped_newton(groups=[[0], [1, 2]]), quadratic(xp, A),
                          np.array([1.0, 0.0, 0.0]))
    assert info["learning_rates"] == (0.5, 0.0) and info["matvecs"] == 1
    xp_assert_close(x, np.zeros(3), rtol=0, atol=0, xp=xp)


def test_learning_rates_are_reported_before_damping(xp):
    # Diagonal quadratic, one group per coordinate: Newton's rates eta_s = 1/A_ss (u = g,
    # g_s = A_ss x_s), exact in binary for these powers of two; the step is damping * eta.
    A = np.diag([2.0, 4.0])
    x, _, info = one_step(xp, grouped_newton(groups=[[0], [1]], damping=0.5),
                          quadratic(xp, A), np.array([1.0, -2.0]))
    assert info["learning_rates"] == (0.5, 0.25) and info["damping"] == 0.5
    xp_assert_close(x, np.array([0.5, -1.0]), rtol=0, atol=0, xp=xp)


def test_quadratic_saddle_without_third_derivative_is_unbounded(xp):
    opt = grouped_newton(groups=[[0], [1]], cubic=1.0)
    with pytest.raises(UnboundedModelError, match="no minimiser|zero cubic weight"):
        one_step(xp, opt, quadratic(xp, np.diag([1.0, -1.0])), np.array([1.0, 1.0]))


@pytest.mark.parametrize("which", ["grad", "hvp", "third"])
def test_non_finite_raises_and_leaves_state(xp, which):
    good = anharmonic(xp, np.eye(3), np.ones(3))
    oracle = Oracle(
        value=good.value,
        grad=(lambda x: x * float("nan")) if which == "grad" else good.grad,
        hvp=(lambda x, v: v * float("nan")) if which == "hvp" else good.hvp,
        third=(lambda x, u: xp.sum(u) * float("nan")) if which == "third" else good.third,
    )
    opt = grouped_newton(groups=[[0], [1, 2]], cubic=1.0, momentum=0.5)
    params = xp.asarray([1.0, 2.0, 3.0], dtype=xp.float64)
    params, state, _ = opt.update(opt.init(params), params, good)
    snapshot = copy.deepcopy(state)
    with pytest.raises(NonFiniteError, match=f"oracle.{which}.*step 1"):
        opt.update(state, params, oracle)
    assert state.step == snapshot.step == 1
    np.testing.assert_array_equal(to_numpy(state.direction), to_numpy(snapshot.direction))


def test_checkpoint_resume_is_bit_identical(xp):
    oracle = anharmonic(xp, 2 * np.eye(4), 0.5 * np.ones(4))
    opt = grouped_newton(groups=[[0, 1], [2], [3]], cubic=1.0, momentum=0.3, damping=0.9)
    params = xp.asarray([1.0, -1.0, 0.5, 2.0], dtype=xp.float64)
    state = opt.init(params)
    straight = params
    for _ in range(6):
        straight, state, _ = opt.update(state, straight, oracle)
    state = opt.init(params)
    for _ in range(3):
        params, state, _ = opt.update(state, params, oracle)
    state = pickle.loads(pickle.dumps(state))
    for _ in range(3):
        params, state, _ = opt.update(state, params, oracle)
    np.testing.assert_array_equal(to_numpy(params), to_numpy(straight))


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ([], "groups must be a non-empty sequence"),
        ("ab", "groups must be a non-empty sequence"),
        ([[0], [1.5]], "groups\\[1\\] must be a slice or a non-empty 1-D sequence of integers"),
        ([[0], []], "groups\\[1\\] must be a slice or a non-empty"),
        ([[0], [1]], "missing \\[2\\]"),
        ([[0, 1], [1, 2]], "repeated \\[1\\]"),
        ([[0, 1, 2], [3]], "outside range\\(3\\)"),
        ([slice(0, 3), slice(3, 5)], "groups\\[1\\] selects no parameter"),
    ],
    ids=["empty", "string", "float", "empty-group", "missing", "repeated", "outside", "slice"],
)
def test_groups_must_partition_the_parameters(xp, groups, message):
    with pytest.raises(ValueError, match=message):
        grouped_newton(groups=groups).init(xp.zeros(3, dtype=xp.float64))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"damping": 0.0}, "damping must be a positive"),
        ({"damping": 1.5}, "damping must lie in \\(0, 1\\]"),
        ({"cubic": -1.0}, "cubic must be a non-negative"),
        ({"momentum": 1.0}, "momentum must lie in"),
    ],
    ids=["damping0", "damping2", "cubic", "momentum"],
)
def test_bad_hyper_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        grouped_newton(groups=[[0]], **kwargs)


def test_cubic_needs_the_third_derivative(xp):
    A = xp.asarray(np.eye(2), dtype=xp.float64)
    oracle = Oracle(value=lambda x: 0.5 * (x @ x), grad=lambda x: x, hvp=lambda x, v: A @ v)
    with pytest.raises(ValueError, match="the oracle has no third callable"):
        one_step(xp, grouped_newton(groups=[[0], [1]], cubic=1.0), oracle, np.ones(2))


def test_zero_gradient_takes_no_step(xp):
    x, _, info = one_step(xp, grouped_newton(groups=[[0], [1]], cubic=1.0),
                          anharmonic(xp, np.eye(2), np.ones(2)), np.zeros(2))
    assert info["learning_rates"] == (0.0, 0.0) and info["matvecs"] == 0
    xp_assert_close(x, np.zeros(2), rtol=0, atol=0, xp=xp)

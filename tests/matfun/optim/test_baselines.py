"""Gradient descent with momentum, Adam and damped Newton against NumPy references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matfun.optim import Oracle, SingularCurvatureError, adam, gradient_descent, newton
from tests._helpers import to_numpy, xp_assert_close


def quadratic(xp, matrix, dtype=None):
    A = xp.asarray(matrix, dtype=dtype or xp.float64)
    return Oracle(value=lambda x: 0.5 * (x @ (A @ x)), grad=lambda x: A @ x,
                  hvp=lambda x, v: A @ v)


def rosenbrock(xp):
    """f = (1 - x)^2 + 100 (y - x^2)^2 with its exact gradient and Hessian."""

    def hessian(p):
        x, y = p[0], p[1]
        return xp.stack([xp.stack([2 - 400 * y + 1200 * x**2, -400 * x]),
                         xp.stack([-400 * x, 200 + 0 * x])])

    return Oracle(
        value=lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2,
        grad=lambda p: xp.stack([-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2),
                                 200 * (p[1] - p[0] ** 2)]),
        hvp=lambda p, v: hessian(p) @ v,
    )


def run(optimizer, oracle, params, steps):
    state = optimizer.init(params)
    for _ in range(steps):
        params, state, info = optimizer.update(state, params, oracle)
    return params, state, info


def random_problem(seed, size):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((size, size))
    return M @ M.T / size + np.eye(size), rng.standard_normal(size)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31), size=st.integers(1, 5),
       rate=st.floats(0.01, 0.5), mu=st.floats(0.0, 0.9))
def test_gradient_descent_matches_recursion(xp, seed, size, rate, mu):
    A, x0 = random_problem(seed, size)
    x, state, info = run(gradient_descent(learning_rate=rate, momentum=mu), quadratic(xp, A),
                         xp.asarray(x0, dtype=xp.float64), 4)
    expected, delta = x0, np.zeros(size)
    for _ in range(4):
        delta = -rate * (A @ expected) + mu * delta
        expected = expected + delta
    # Four steps of the same float64 operations in another order: rounding only.
    xp_assert_close(x, expected, rtol=1e-12, atol=1e-14, xp=xp)
    assert state.step == 4 and info["matvecs"] == 0


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31), size=st.integers(1, 5),
       b1=st.floats(0.0, 0.95), b2=st.floats(0.5, 0.9999))
def test_adam_matches_algorithm_1(xp, seed, size, b1, b2):
    A, x0 = random_problem(seed, size)
    rate, eps = 0.05, 1e-8
    x, state, _ = run(adam(learning_rate=rate, b1=b1, b2=b2, eps=eps), quadratic(xp, A),
                      xp.asarray(x0, dtype=xp.float64), 5)
    expected, m, v = x0.copy(), np.zeros(size), np.zeros(size)
    for t in range(1, 6):
        g = A @ expected
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        expected = expected - rate * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    # The bias-corrected ratio is O(1) per coordinate: rounding of a few ops per step.
    xp_assert_close(x, expected, rtol=1e-10, atol=1e-12, xp=xp)
    xp_assert_close(state.first_moment, m, rtol=1e-10, atol=1e-14, xp=xp)


def test_adam_first_step_is_signed_learning_rate(xp):
    # m_1 / (1 - b1) = g, sqrt(v_1 / (1 - b2)) = |g|: the step is -rate sign(g) up to eps.
    x0 = np.array([3.0, -0.5, 2e-3])
    x, _, _ = run(adam(learning_rate=0.1), quadratic(xp, np.eye(3)),
                  xp.asarray(x0, dtype=xp.float64), 1)
    expected = x0 - 0.1 * np.abs(x0) / (np.abs(x0) + 1e-8) * np.sign(x0)
    xp_assert_close(x, expected, rtol=1e-14, xp=xp)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31), size=st.integers(1, 5), lam=st.floats(0.0, 2.0))
def test_damped_newton_solves_the_shifted_system(xp, seed, size, lam):
    A, x0 = random_problem(seed, size)
    x, _, info = run(newton(damping=lam), quadratic(xp, A), xp.asarray(x0, dtype=xp.float64), 1)
    expected = x0 - np.linalg.solve(A + lam * np.eye(size), A @ x0)
    # A + lam I has eigenvalues in [1, ~6]: condition <= 6, so eigh and solve agree
    # to a few eps relative to ||x0||.
    xp_assert_close(x, expected, rtol=0, atol=1e-12 * np.linalg.norm(x0), xp=xp)
    assert info["matvecs"] == size


def test_newton_reaches_the_rosenbrock_minimum(xp):
    # Newton's method converges quadratically near (1, 1) where the Hessian is SPD;
    # from the classic start (-1.2, 1) the undamped full step gets there in < 10 steps.
    x0 = xp.asarray([-1.2, 1.0], dtype=xp.float64)
    x, _, info = run(newton(), rosenbrock(xp), x0, 10)
    xp_assert_close(x, np.array([1.0, 1.0]), rtol=1e-10, xp=xp)


@pytest.mark.parametrize("make", [lambda: gradient_descent(learning_rate=1e-3, momentum=0.9),
                                  lambda: adam(learning_rate=1e-2)], ids=["momentum", "adam"])
def test_first_order_methods_decrease_rosenbrock(xp, make):
    oracle = rosenbrock(xp)
    x0 = xp.asarray([-1.2, 1.0], dtype=xp.float64)
    x, _, _ = run(make(), oracle, x0, 200)
    assert float(oracle.value(x)) < 0.5 * float(oracle.value(x0))


def test_newton_singular_hessian_is_an_error(xp):
    opt = newton()
    x0 = xp.asarray([1.0, 1.0], dtype=xp.float64)
    oracle = quadratic(xp, np.diag([1.0, 0.0]))
    state = opt.init(x0)
    with pytest.raises(SingularCurvatureError, match="singular at step 0.*damping > 0"):
        opt.update(state, x0, oracle)
    x, _, _ = run(newton(damping=1.0), oracle, x0, 1)  # damping makes it invertible
    xp_assert_close(x, np.array([0.5, 1.0]), rtol=1e-15, xp=xp)


@pytest.mark.parametrize("make", [lambda: gradient_descent(learning_rate=0.1, momentum=0.5),
                                  lambda: adam(learning_rate=0.1), newton],
                         ids=["momentum", "adam", "newton"])
def test_float32_stays_float32(xp, make):
    x0 = xp.asarray([1.0, -2.0], dtype=xp.float32)
    x, state, _ = run(make(), quadratic(xp, np.diag([2.0, 3.0]), dtype=xp.float32), x0, 2)
    assert x.dtype == xp.float32
    assert to_numpy(x).dtype == np.float32


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: gradient_descent(learning_rate=-1.0), ValueError, "learning_rate must be"),
        (lambda: gradient_descent(learning_rate=0.1, momentum=1.5), ValueError,
         "momentum must lie in"),
        (lambda: adam(b1=1.0), ValueError, "b1 must lie in"),
        (lambda: adam(b2=-0.1), ValueError, "b2 must lie in"),
        (lambda: adam(eps=0.0), ValueError, "eps must be a positive"),
        (lambda: adam(learning_rate="fast"), TypeError, "learning_rate must be a real"),
        (lambda: newton(damping=-1.0), ValueError, "damping must be a non-negative"),
        (lambda: newton(learning_rate=float("nan")), ValueError, "learning_rate must be"),
    ],
    ids=["gd-rate", "gd-momentum", "b1", "b2", "eps", "adam-rate-type", "newton-damping",
         "newton-rate"],
)
def test_bad_hyper_parameters(make, error, message):
    with pytest.raises(error, match=message):
        make()

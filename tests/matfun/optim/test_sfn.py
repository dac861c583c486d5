"""exact_sfn and sfn_series against dense eigendecompositions in NumPy."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from matfun import SeriesDivergenceError
from matfun.optim import (
    NonFiniteError,
    Oracle,
    SingularCurvatureError,
    exact_sfn,
    sfn_series,
)
from tests._helpers import to_numpy, xp_assert_close

SADDLE = np.array([2.0, -1.0, 0.5, -3.0])  # the Hessian of f = x^T diag(SADDLE) x / 2
X0 = np.array([1.0, 0.5, -2.0, 0.25])


def quadratic(xp, matrix, dtype=None):
    """``f = x^T A x / 2`` with exact derivatives, in the backend ``xp``."""
    A = xp.asarray(matrix, dtype=dtype or xp.float64)
    return Oracle(
        value=lambda x: 0.5 * (x @ (A @ x)),
        grad=lambda x: A @ x,
        hvp=lambda x, v: A @ v,
        third=lambda x, u: 0.0 * x[0],
    )


def run(optimizer, oracle, params, steps):
    state = optimizer.init(params)
    infos = []
    for _ in range(steps):
        params, state, info = optimizer.update(state, params, oracle)
        infos.append(info)
    return params, state, infos


def saddle_free_direction(H, g, *, damping=0.0, kind="abs"):
    """Independent oracle: the damped saddle-free direction by numpy.linalg.eigh."""
    eigenvalues, Q = np.linalg.eigh(H)
    if kind == "abs":
        magnitude = np.abs(eigenvalues) + damping
    elif kind == "shift":
        magnitude = np.abs(eigenvalues + damping)
    else:
        magnitude = np.sqrt(eigenvalues**2 + damping)
    return Q @ ((Q.T @ g) / magnitude)


def random_indefinite(seed, size, low=0.5, high=2.0):
    """Symmetric matrix with |eigenvalues| in [low, high], both signs present."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((size, size)))
    eigenvalues = rng.uniform(low, high, size) * rng.choice([-1.0, 1.0], size)
    eigenvalues[0], eigenvalues[1] = abs(eigenvalues[0]), -abs(eigenvalues[1])
    return (Q * eigenvalues) @ Q.T, rng.standard_normal(size)


# --------------------------------------------------------------- the saddle


def test_exact_sfn_escapes_the_saddle(xp):
    # One step with learning rate 1 zeroes the positive-curvature coordinates and
    # doubles the negative ones (the mirror image of Newton's step to the saddle).
    x0 = xp.asarray(X0, dtype=xp.float64)
    x, _, infos = run(exact_sfn(), quadratic(xp, np.diag(SADDLE)), x0, 3)
    expected = np.where(SADDLE > 0, 0.0, X0 * 2.0**3)
    xp_assert_close(x, expected, rtol=1e-14, atol=1e-14, xp=xp)  # exact arithmetic up to eps
    assert infos[0]["matvecs"] == 4 and infos[0]["negative_eigenvalues"] == 2
    losses = [info["loss"] for info in infos]
    assert losses[1] < losses[0] and losses[2] < losses[1]


# ----------------------------------------------------------- exact details


def test_threshold_replaces_small_eigenvalues(xp):
    H = np.diag([4.0, 1e-6, -1e-7])
    x0 = np.array([1.0, 1.0, 1.0])
    opt = exact_sfn(threshold=1e-3, replacement=0.5)
    x, _, infos = run(opt, quadratic(xp, H), xp.asarray(x0, dtype=xp.float64), 1)
    g = H @ x0
    xp_assert_close(x, x0 - g / np.array([4.0, 0.5, 0.5]), rtol=1e-14, xp=xp)
    assert infos[0]["replaced_eigenvalues"] == 2


def test_exact_momentum(xp):
    # delta_t = -eta s_t + mu delta_{t-1}, checked against the NumPy recursion.
    H, g0 = random_indefinite(3, 4)
    opt = exact_sfn(learning_rate=0.3, momentum=0.5)
    x, state, _ = run(opt, quadratic(xp, H), xp.asarray(g0, dtype=xp.float64), 3)
    expected, delta = g0, np.zeros(4)
    for _ in range(3):
        delta = -0.3 * saddle_free_direction(H, H @ expected) + 0.5 * delta
        expected = expected + delta
    xp_assert_close(x, expected, rtol=1e-12, xp=xp)
    xp_assert_close(state.update, delta, rtol=1e-12, xp=xp)


def test_float32_stays_float32(xp):
    oracle = quadratic(xp, np.diag(SADDLE), dtype=xp.float32)
    x0 = xp.asarray(X0, dtype=xp.float32)
    for opt in (exact_sfn(), sfn_series(learning_rate=1.0, terms=50, accelerate=None,
                                        initial_scale=10.0)):
        x, state, _ = run(opt, oracle, x0, 1)
        assert x.dtype == xp.float32 and state.update.dtype == xp.float32


def test_half_precision_exact_step_decomposes_in_float32(xp):
    # NumPy's and torch's CPU eigh have no float16 kernel: the Hessian is decomposed in
    # float32 and the step rounded back. Against the float64 closed form: the float16
    # data (eps 2^-11 ~ 4.9e-4) and the two roundings bound the relative error by a few
    # eps times kappa(H) = 4 (|eigenvalues| 0.5..2): 1e-2 leaves room, 1e-1 would not
    # hide a lost factor or a wrong eigenvector.
    half = getattr(xp, "float16", None)
    if half is None:
        pytest.skip(f"{xp.__name__} has no float16")
    H, g0 = random_indefinite(11, 4)
    H16, x16 = H.astype(np.float16), g0.astype(np.float16)
    x, state, infos = run(exact_sfn(), quadratic(xp, H16, dtype=half), xp.asarray(x16,
                                                                                 dtype=half), 1)
    assert x.dtype == half
    H64, x64 = H16.astype(np.float64), x16.astype(np.float64)
    expected = x64 - saddle_free_direction(H64, H64 @ x64)
    assert np.linalg.norm(to_numpy(x).astype(np.float64) - expected) <= 1e-2 * np.linalg.norm(
        x64)
    assert infos[0]["negative_eigenvalues"] >= 1


# ---------------------------------------------------------- series details


@pytest.mark.parametrize("kind", ["abs", "shift", "square"])
def test_series_damping_kinds(xp, kind):
    H, g = random_indefinite(7, 5)
    lam = 0.3
    # V = 8 bounds every damped spectrum here (|l| + lam <= 2.3, l^2 + lam <= 4.3);
    # 600 terms: truncation below 1e-12.
    opt = sfn_series(learning_rate=1.0, terms=600, accelerate=None, initial_scale=8.0,
                     damping=lam, damping_kind=kind)
    x, _, infos = run(opt, quadratic(xp, H), xp.asarray(g, dtype=xp.float64), 1)
    expected = g - saddle_free_direction(H, H @ g, damping=lam, kind=kind)
    xp_assert_close(x, expected, rtol=1e-9, atol=1e-10, xp=xp)
    assert infos[0]["damping"] == lam


def test_scale_follows_the_paper_rule(xp):
    # V <- max(V, ||H^2 g|| / ||g||), carried in the state from step to step.
    H = np.diag([3.0, -0.5])
    x0 = np.array([1.0, 0.0])  # g = (3, 0): ||H^2 g|| / ||g|| = 9
    opt = sfn_series(learning_rate=0.5, terms=20, accelerate=None, initial_scale=1.0)
    _, state, _ = run(opt, quadratic(xp, H), xp.asarray(x0, dtype=xp.float64), 1)
    assert state.scale == pytest.approx(9.0, rel=1e-15)
    _, state, _ = run(opt, quadratic(xp, np.diag([1.0, 1.0])), xp.asarray(x0, dtype=xp.float64), 1)
    assert state.scale == 1.0


def test_series_divergence_is_raised_and_state_kept(xp):
    # g almost orthogonal to the large eigenvalue: the paper's quotient
    # ||H^2 g|| / ||g|| ~ 0.25 underestimates lambda_max(H^2) = 9 and the series diverges.
    opt = sfn_series(learning_rate=1.0, terms=200, accelerate=None, initial_scale=1e-3)
    oracle = quadratic(xp, np.diag([3.0, 0.5]))
    params = xp.asarray([1e-6, 1.0], dtype=xp.float64)
    state = opt.init(params)
    with pytest.raises(SeriesDivergenceError):
        opt.update(state, params, oracle)
    assert (state.step, state.scale) == (0, 1e-3)


def test_safe_adaptive_scale_converges_where_the_paper_rule_diverges(xp):
    # The adaptive rule restarts with V >= 4.5; then z <= 1 - 0.25/V and 1500 terms
    # leave a truncation error below 1e-12 (V <= 18 after restarts).
    opt = sfn_series(learning_rate=1.0, terms=1500, accelerate=None, initial_scale=1e-3,
                     scale="adaptive")
    oracle = quadratic(xp, np.diag([3.0, 0.5]))
    x, state, _ = run(opt, oracle, xp.asarray([1e-6, 1.0], dtype=xp.float64), 1)
    xp_assert_close(x, np.zeros(2), atol=1e-12, rtol=0, xp=xp)  # H > 0: the step is Newton's
    assert state.scale > 4.5


def test_sablonniere_acceleration_matches_exact(xp):
    H, g = random_indefinite(11, 5)
    # Accelerated 30-term series against the exact direction: order 2 Sablonniere on a
    # geometric-like tail; tolerance from the measured acceleration (1e-6 relative).
    opt = sfn_series(learning_rate=1.0, terms=30, order=2, initial_scale=4.5)
    x, _, _ = run(opt, quadratic(xp, H), xp.asarray(g, dtype=xp.float64), 1)
    step = to_numpy(x) - g
    exact = -saddle_free_direction(H, H @ g)
    cosine = step @ exact / np.linalg.norm(step) / np.linalg.norm(exact)
    assert cosine > 0.9999


# ------------------------------------- the seed paper's Algorithm 1, from scratch


def _epsilon_table(sums, order, sablonniere):
    """Wynn's epsilon table on ``2N + 1`` vectors, Samelson inverse (the paper's eq. 5)."""
    before = [np.zeros_like(sums[0])] * (len(sums) + 1)  # column -1
    column = list(sums)  # column 0
    for c in range(1, 2 * order + 1):
        weight = c // 2 + 1 if sablonniere else 1
        differences = [column[m + 1] - column[m] for m in range(len(column) - 1)]
        before, column = column, [before[m + 1] + weight * d / (d @ d)
                                  for m, d in enumerate(differences)]
    (estimate,) = column
    return estimate


def _algorithm_1(A, x, V, terms, order, accelerate, rate, momentum, previous):
    """One step of the paper's Algorithm 1 on f = x^T A x / 2 + sum(x^4) / 4, in NumPy."""
    g = A @ x + x**3
    H = A + np.diag(3 * x**2)
    V = max(V, np.linalg.norm(H @ (H @ g)) / np.linalg.norm(g))
    a, partial_sums = g, [g]  # a_0 = s_0 = g
    for k in range(1, terms):
        a = (2 * k - 1) / (2 * k) * (a - H @ (H @ a) / V)
        partial_sums.append(partial_sums[-1] + a)
    if accelerate is None:
        estimate = partial_sums[-1]
    else:  # N accelerations of s_{K-1-2N}, ..., s_{K-1}
        estimate = _epsilon_table(partial_sums[terms - 1 - 2 * order:], order,
                                  accelerate == "sablonniere")
    delta = -rate / np.sqrt(V) * estimate + momentum * previous
    return x + delta, V, delta


QUARTIC = np.array([[1.0, 0.4, 0.0, 0.2],
                    [0.4, -1.5, 0.3, 0.0],
                    [0.0, 0.3, 2.0, -0.5],
                    [0.2, 0.0, -0.5, -0.7]])


@pytest.mark.parametrize(("accelerate", "order"),
                         [("sablonniere", 2), ("shanks", 1), (None, 1)])
def test_series_step_is_the_papers_algorithm_1(xp, accelerate, order):
    # The paper's V rule from V_0 = 2 (it raises V on the first steps), K = 12 terms,
    # N accelerations of the last 2N + 1 partial sums, w <- w - eta V^{-1/2} s_hat plus
    # momentum, on a non-quadratic function; against the loop written from the paper.
    # Both compute the same sums in a different order (V^{-1/2} applied first here):
    # the epsilon table amplifies rounding by ||s|| / ||s_{m+1} - s_m||, under 1e4 for
    # these 12 terms, so 4 steps agree to ~1e4 * 4 * eps; 1e-10 leaves margin.
    matrix = xp.asarray(QUARTIC, dtype=xp.float64)
    oracle = Oracle(value=lambda x: 0.5 * (x @ (matrix @ x)) + 0.25 * xp.sum(x**4),
                    grad=lambda x: matrix @ x + x**3,
                    hvp=lambda x, v: matrix @ v + 3 * x**2 * v)
    opt = sfn_series(learning_rate=0.4, terms=12, order=order, accelerate=accelerate,
                     initial_scale=2.0, momentum=0.5)
    x0 = np.array([0.3, -0.2, 0.5, 0.1])
    params = xp.asarray(x0, dtype=xp.float64)
    state = opt.init(params)
    expected, V, delta = x0, 2.0, np.zeros(4)
    scales = []
    for _ in range(4):
        params, state, info = opt.update(state, params, oracle)
        expected, V, delta = _algorithm_1(QUARTIC, expected, V, 12, order, accelerate,
                                          0.4, 0.5, delta)
        scales.append(V)
        xp_assert_close(params, expected, rtol=1e-10, atol=1e-12, xp=xp)
        assert state.scale == pytest.approx(V, rel=1e-10)
        assert info["matvecs"] == 2 * (12 - 1)  # H^2 g sets V and gives the second term
    assert scales[0] > 2.0  # the rule did raise V


def test_exact_sfn_with_zero_threshold_refuses_a_singular_step(xp):
    # threshold = 0 replaces nothing: an exactly zero eigenvalue would give an infinite
    # step. The update raises and the state passed in stays valid.
    oracle = quadratic(xp, np.diag([1.0, 0.0]))
    shifted = Oracle(value=oracle.value, hvp=oracle.hvp,
                     grad=lambda x: oracle.grad(x) + xp.asarray([0.0, 1.0], dtype=x.dtype))
    opt = exact_sfn(threshold=0.0, replacement=1.0)
    params = xp.asarray([1.0, 1.0], dtype=xp.float64)
    state = opt.init(params)
    with pytest.raises(SingularCurvatureError, match="threshold = 0.0"):
        opt.update(state, params, shifted)
    assert state.step == 0
    np.testing.assert_array_equal(to_numpy(params), [1.0, 1.0])


# -------------------------------------------- failure, checkpoints, bad input


def _broken(xp, which):
    A = xp.asarray(np.diag(SADDLE))
    bad = lambda x: x * float("nan")  # noqa: E731
    return Oracle(
        value=lambda x: 0.5 * (x @ (A @ x)),
        grad=bad if which == "grad" else (lambda x: A @ x),
        hvp=(lambda x, v: bad(v)) if which == "hvp" else (lambda x, v: A @ v),
    )


@pytest.mark.parametrize("which", ["grad", "hvp"])
@pytest.mark.parametrize("make", [exact_sfn, lambda: sfn_series(learning_rate=1.0, terms=5,
                                                                 accelerate=None)],
                         ids=["exact", "series"])
def test_non_finite_raises_and_leaves_state(xp, which, make):
    opt = make()
    params = xp.asarray(X0, dtype=xp.float64)
    state = opt.init(params)
    snapshot = copy.deepcopy(state)
    with pytest.raises(NonFiniteError, match=f"oracle.{which}.*step 0"):
        opt.update(state, params, _broken(xp, which))
    assert state.step == snapshot.step
    np.testing.assert_array_equal(to_numpy(state.update), to_numpy(snapshot.update))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: exact_sfn(learning_rate=0.0), "learning_rate must be a positive"),
        (lambda: exact_sfn(momentum=1.0), "momentum must lie in"),
        (lambda: exact_sfn(threshold=-1.0), "threshold must be a non-negative"),
        (lambda: exact_sfn(threshold=0.0), "replacement must be positive.*threshold = 0"),
        (lambda: sfn_series(learning_rate=1.0, terms=0), "terms must be a positive"),
        (lambda: sfn_series(learning_rate=1.0, terms=4, order=2), "at least 2 \\* order"),
        (lambda: sfn_series(learning_rate=1.0, terms=9, damping_kind="x",
                            accelerate=None), "damping_kind must be one of"),
        (lambda: sfn_series(learning_rate=1.0, terms=9, scale="power", accelerate=None),
         "scale must be 'paper' or 'adaptive'"),
        (lambda: sfn_series(learning_rate=1.0, terms=9, initial_scale=0.0,
                            accelerate=None), "initial_scale must be a positive"),
        (lambda: sfn_series(learning_rate=1.0, terms=9, damping=-1.0, accelerate=None),
         "damping must be a non-negative"),
        (lambda: sfn_series(learning_rate=1.0, terms=9, accelerate="wynn"),
         "accelerate: method must be one of"),
    ],
    ids=["rate", "momentum", "threshold", "replacement", "terms", "order", "kind", "scale",
         "initial_scale", "damping", "accelerate"],
)
def test_bad_hyper_parameters(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_oracle_of_wrong_shape_is_named(xp):
    oracle = Oracle(value=lambda x: x[0], grad=lambda x: x[:2], hvp=lambda x, v: v)
    opt = exact_sfn()
    with pytest.raises(ValueError, match="oracle.grad returned shape"):
        x0 = xp.asarray(X0, dtype=xp.float64)
        opt.update(opt.init(x0), x0, oracle)

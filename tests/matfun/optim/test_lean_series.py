"""The optimisers' lean fixed-K series against the generic matfun.inv_sqrt_series path.

``sfn_series`` (and ``adaptive`` around it) takes the lean path of
:mod:`matfun.optim._lean_series` where it covers the call; setting the rule's
``lean`` flag to False forces the generic path. Both must give the same steps and
``info``: the lean path performs the same floating-point operations on the same
numbers (recurrence, rescaling, epsilon table), so the comparison is *bitwise*
(measured: every case below equal to the last bit on NumPy, PyTorch and JAX, float32
and float64), and the same errors, with the same messages.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import accel
from matfun import SeriesDivergenceError
from matfun.optim import NonFiniteError, Oracle, adaptive, sfn_series

ACCELERATORS = (None, "sablonniere", "shanks", "levin", "aitken")


def _problem(seed: int, n: int, spread: float):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    h = (a + a.T) / 2 * spread
    return h, rng.standard_normal(n)


def _oracle(xp, h, dtype, nan_after=None):
    matrix = xp.asarray(h.astype(dtype))
    calls = [0]

    def hvp(x, v):
        calls[0] += 1
        product = matrix @ v
        if nan_after is not None and calls[0] > nan_after:
            product = product * float("nan")
        return product

    return Oracle(value=lambda x: 0.5 * (x @ (matrix @ x)), grad=lambda x: matrix @ x,
                  hvp=hvp)


def _trajectory(xp, make, h, x0, dtype, *, lean, steps=3, nan_after=None):
    """``[(params as float64 NumPy, info)]`` per step, or the exception raised."""
    optimizer, rule = make()
    rule.lean = lean
    oracle = _oracle(xp, h, dtype, nan_after)
    params = xp.asarray(x0.astype(dtype))
    state = optimizer.init(params)
    out = []
    try:
        for _ in range(steps):
            params, state, info = optimizer.update(state, params, oracle)
            out.append((np.asarray(params).copy(), info))
    except (ArithmeticError, ValueError) as error:
        out.append((type(error), str(error)))
    return out


def _series(**options):
    def make():
        optimizer = sfn_series(learning_rate=0.5, **options)
        return optimizer, optimizer.update.saddle_free_rule
    return make


def _assert_same(xp, make, h, x0, dtype, **kwargs):
    lean = _trajectory(xp, make, h, x0, dtype, lean=True, **kwargs)
    generic = _trajectory(xp, make, h, x0, dtype, lean=False, **kwargs)
    assert len(lean) == len(generic)
    for (a, info_a), (b, info_b) in zip(lean, generic, strict=True):
        if isinstance(a, type):  # the same error, the same message
            assert (a, info_a) == (b, info_b)
            continue
        # Bitwise: the same operations on the same numbers (see the module docstring).
        np.testing.assert_array_equal(a, b)
        assert info_a == info_b


def _backends():
    backends = [pytest.param(np, id="numpy")]
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        class _Torch:
            float32, float64 = np.float32, np.float64

            @staticmethod
            def asarray(a):
                return torch.from_numpy(np.ascontiguousarray(a))
        backends.append(pytest.param(_Torch, id="torch"))
    return backends


@pytest.mark.parametrize("xp", _backends())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("accelerate", ACCELERATORS)
def test_lean_equals_generic(xp, dtype, accelerate):
    for terms in range(1, 13):
        if accelerate is not None and terms < 3:
            continue
        for seed, damping in ((0, 0.0), (1, 0.3)):
            h, x0 = _problem(seed, 12, spread=3.0)
            _assert_same(xp, _series(terms=terms, accelerate=accelerate, damping=damping),
                         h, x0, dtype)


def test_lean_equals_generic_jax():
    jnp = pytest.importorskip("jax.numpy")
    for dtype in (np.float32,):  # JAX's default (float64 needs jax_enable_x64)
        for accelerate in (None, "sablonniere"):
            for terms in (3, 12):
                h, x0 = _problem(terms, 10, spread=2.0)
                _assert_same(jnp, _series(terms=terms, accelerate=accelerate, order=1),
                             h, x0, dtype)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_lean_equals_generic_orders_and_templates(order):
    h, x0 = _problem(3, 15, spread=0.5)
    for accelerate in ("sablonniere", "shanks",
                       accel.accelerator("sablonniere", order=order)):
        _assert_same(np, _series(terms=2 * order + 4, order=order, accelerate=accelerate),
                     h, x0, np.float64)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")  # the test's own f in float32
def test_lean_equals_generic_range_of_magnitudes():
    # Hessians and gradients far from 1 (the rescaling by powers of two, the unfused
    # products in float32 where c^2 leaves the fused range).
    for spread in (1e-30, 1e-6, 1e3, 1e12):
        h, x0 = _problem(4, 9, spread=spread)
        for dtype in (np.float32, np.float64):
            _assert_same(np, _series(terms=8, accelerate="sablonniere",
                                     initial_scale=spread**2), h, x0 * spread, dtype)


def test_lean_equals_generic_on_long_vectors():
    # n >= 4096: the engine's norms of float64 NumPy vectors come from the one-pass
    # blocked sum (matfun._norms), other floats than a pairwise sum of squares; the lean
    # path reads the same function, so its decisions (divergence test, restarts) are the
    # engine's at every length. (Here no decision is near its threshold: the steps agree
    # with either sum; the test guards the long-vector path as a whole.)
    n = 6000
    rng = np.random.default_rng(12)
    d = rng.uniform(0.5, 2.0, n) * rng.choice([-1.0, 1.0], n)
    x0 = rng.standard_normal(n)
    oracle = Oracle(value=lambda x: 0.5 * (x @ (d * x)), grad=lambda x: d * x,
                    hvp=lambda x, v: d * v)
    runs = []
    for lean in (True, False):
        optimizer, rule = _series(terms=10, accelerate="sablonniere")()
        rule.lean = lean
        params, state = x0.copy(), optimizer.init(x0)
        steps = []
        for _ in range(2):
            params, state, info = optimizer.update(state, params, oracle)
            steps.append((params.copy(), info))
        runs.append(steps)
    for (a, info_a), (b, info_b) in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)
        assert info_a == info_b


def test_lean_equals_generic_divergence():
    # The paper's V = ||H^2 g|| / ||g|| from a gradient almost orthogonal to the large
    # eigenvalue: V << lambda_max^2 / 2, that component grows; the same error.
    h = np.diag([10.0, 1.0, -1.0, 0.5])
    x0 = np.array([1e-4, 1.0, 1.0, 1.0])
    for accelerate in (None, "sablonniere"):
        make = _series(terms=12, accelerate=accelerate, initial_scale=1e-6)
        lean = _trajectory(np, make, h, x0, np.float64, lean=True)
        generic = _trajectory(np, make, h, x0, np.float64, lean=False)
        assert lean[-1][0] is SeriesDivergenceError
        assert lean == generic


@pytest.mark.parametrize("nan_after", [0, 1, 2, 5, 9])
def test_non_finite_product_raises_as_generic(nan_after):
    # The n-th product (probe, first outer, inner or outer of a pair) is NaN: the lean
    # path proves finiteness later than the generic one checks it, but raises the same
    # NonFiniteError before returning anything.
    h, x0 = _problem(6, 8, spread=1.0)
    for accelerate in (None, "sablonniere"):
        make = _series(terms=8, accelerate=accelerate)
        lean = _trajectory(np, make, h, x0, np.float64, lean=True, nan_after=nan_after)
        generic = _trajectory(np, make, h, x0, np.float64, lean=False, nan_after=nan_after)
        assert lean[-1][0] is NonFiniteError
        assert lean[-1] == generic[-1]


def test_adaptive_around_series_lean_equals_generic():
    # adaptive() proposes through its base's rule, with its own (abs) damping.
    h, x0 = _problem(7, 10, spread=2.0)

    def make():
        base = sfn_series(learning_rate=1.0, terms=9)
        return adaptive(base, initial_damping=0.5), base.update.saddle_free_rule

    _assert_same(np, make, h, x0, np.float64, steps=4)


@given(seed=st.integers(0, 2**16), n=st.integers(2, 16),
       log_spread=st.floats(-3.0, 3.0), terms=st.integers(1, 12),
       accelerate=st.sampled_from(ACCELERATORS), damping=st.sampled_from([0.0, 0.05, 2.0]),
       kind=st.sampled_from(["abs", "shift", "square"]),
       log_v0=st.floats(-4.0, 4.0), dtype=st.sampled_from([np.float32, np.float64]))
def test_lean_equals_generic_property(seed, n, log_spread, terms, accelerate, damping, kind,
                                      log_v0, dtype):
    if accelerate is not None and terms < 3:
        terms = 3
    h, x0 = _problem(seed, n, spread=10.0**log_spread)
    _assert_same(np, _series(terms=terms, accelerate=accelerate, damping=damping,
                             damping_kind=kind, initial_scale=10.0**log_v0), h, x0, dtype,
                 steps=2)


def test_covers_only_what_it_reproduces():
    from matfun.optim._lean_series import covers

    g = np.ones(3)
    assert covers("paper", 10, 0.0, "abs", g)
    assert covers("paper", 10, 0.5, "abs", g)
    assert covers("paper", 10, 0.0, "shift", g)  # no damping: every kind is the same
    assert covers("paper", 255, 0.0, "abs", g.astype(np.float32))
    assert not covers("adaptive", 10, 0.0, "abs", g)  # restarts: the generic engine
    assert not covers("paper", 10, 0.5, "shift", g)
    assert not covers("paper", 10, 0.5, "square", g)
    assert not covers("paper", 256, 0.0, "abs", g)  # beyond the first coefficient block
    assert not covers("paper", 10, 0.0, "abs", g.astype(np.float16))

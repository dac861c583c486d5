"""The seed paper's claims on a nondegenerate quadratic saddle, and failure behaviour.

``f(x) = x^T H x / 2`` with ``H = Q diag(h) Q^T`` indefinite and nonsingular: the
saddle point is 0. In the eigenbasis ``y = Q^T x`` one step with learning rate
``eta`` maps

* saddle-free Newton: ``y_i -> y_i - eta y_i h_i / |h_i|``: ``(1 - eta) y_i`` along
  positive curvature (converges), ``(1 + eta) y_i`` along negative (escapes);
* Newton: ``y_i -> (1 - eta) y_i`` along every direction (converges to the saddle).
"""

from __future__ import annotations

import copy
import dataclasses

import array_api_compat.numpy as np_compat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matfun.optim import (
    NonFiniteError,
    Oracle,
    adam,
    adamqlr,
    adaptive,
    exact_sfn,
    gradient_descent,
    grouped_newton,
    newton,
    sfn_series,
)
from tests._helpers import to_numpy

RATE, STEPS = 0.5, 4


def saddle(seed, size):
    """``(H, Q, h)``: random rotation, |h| in [1, 2], at least one of each sign."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((size, size)))
    h = rng.uniform(1.0, 2.0, size) * rng.choice([-1.0, 1.0], size)
    h[0], h[1] = abs(h[0]), -abs(h[1])
    return (Q * h) @ Q.T, Q, h


def oracle_for(xp, H):
    A = xp.asarray(H, dtype=xp.float64)
    return Oracle(value=lambda x: 0.5 * (x @ (A @ x)), grad=lambda x: A @ x,
                  hvp=lambda x, v: A @ v)


def run(optimizer, oracle, params, steps):
    state = optimizer.init(params)
    for _ in range(steps):
        params, state, _ = optimizer.update(state, params, oracle)
    return params, state


def eigen_coordinates(xp, optimizer, seed, size):
    H, Q, h = saddle(seed, size)
    y0 = np.random.default_rng(seed + 1).uniform(0.5, 1.0, size)  # no zero coordinate
    x, _ = run(optimizer, oracle_for(xp, H), xp.asarray(Q @ y0, dtype=xp.float64), STEPS)
    return Q.T @ to_numpy(x), y0, h


# |h| in [1, 2]: the condition number is at most 2, so eigh (exact SFN, Newton) is
# accurate to a few tens of eps per step; the series with V = 4.5 > max h^2 = 4
# converges with ratio |z| <= 1 - 1 / 4.5 and K = 160 terms leave a relative truncation
# below |z|^K / (1 - |z|) < 1e-16 per step. Tolerance 1e-10 covers both with margin.
TOL = 1e-10
SADDLE_FREE = {
    "exact": lambda: exact_sfn(learning_rate=RATE),
    "series": lambda: sfn_series(learning_rate=RATE, terms=160, accelerate=None,
                                 initial_scale=4.5),
}


@pytest.mark.parametrize("make", SADDLE_FREE.values(), ids=SADDLE_FREE.keys())
@settings(max_examples=4)
@given(seed=st.integers(0, 2**31), size=st.integers(2, 5))
def test_saddle_free_newton_escapes_along_negative_curvature(xp, make, seed, size):
    _check_escape(xp, make, seed, size)


def _check_escape(xp, make, seed, size):
    y, y0, h = eigen_coordinates(xp, make(), seed, size)
    expected = y0 * np.where(h > 0, (1 - RATE) ** STEPS, (1 + RATE) ** STEPS)
    np.testing.assert_allclose(y, expected, rtol=TOL, atol=TOL * np.abs(y0).max())
    assert np.all(np.abs(y[h < 0]) > np.abs(y0[h < 0]))  # moved away from the saddle
    assert np.all(np.abs(y[h > 0]) < np.abs(y0[h > 0]))  # converged towards the minimum


@settings(max_examples=4)
@given(seed=st.integers(0, 2**31), size=st.integers(2, 5))
def test_adaptive_scale_series_escapes_too(seed, size):
    # The safe rule from a V far too small: it restarts with a larger V and converges
    # (V may settle just above max h^2 / 2, a slower ratio: 400 terms). In NumPy only:
    # the backend path of sfn_series is the "series" case above, and scale="adaptive"
    # runs in every backend in test_sfn.py and test_checkpoint.py; this case costs
    # ~1000 HVPs per step, 2 s on array-api-strict.
    make = lambda: sfn_series(learning_rate=RATE, terms=400, accelerate=None,  # noqa: E731
                              initial_scale=0.1, scale="adaptive")
    _check_escape(np_compat, make, seed, size)


@settings(max_examples=8)
@given(seed=st.integers(0, 2**31), size=st.integers(2, 6))
def test_newton_converges_to_the_saddle(xp, seed, size):
    y, y0, _ = eigen_coordinates(xp, newton(learning_rate=RATE), seed, size)
    np.testing.assert_allclose(y, y0 * (1 - RATE) ** STEPS, rtol=TOL,
                               atol=TOL * np.abs(y0).max())
    y_full, _, _ = eigen_coordinates(xp, newton(), seed, size)
    np.testing.assert_allclose(y_full, 0.0, atol=TOL)  # one full step lands on it


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31), size=st.integers(2, 8),
       terms=st.sampled_from([60, 200]))
def test_long_series_matches_exact_direction(xp, seed, size, terms):
    # With K terms the relative truncation error is below |z|^K / (1 - |z|) (z as
    # above): < 1e-6 for K = 60, < 1e-21 for 200; the cosine is then > 1 - 1e-12.
    H, _, _ = saddle(seed, size)
    oracle = oracle_for(xp, H)
    x0 = np.random.default_rng(seed + 2).standard_normal(size)
    x = xp.asarray(x0, dtype=xp.float64)
    exact_x, _ = run(exact_sfn(), oracle, x, 1)
    series_x, _ = run(sfn_series(learning_rate=1.0, terms=terms, accelerate=None,
                                 initial_scale=4.5), oracle, x, 1)
    exact_step, series_step = to_numpy(exact_x) - x0, to_numpy(series_x) - x0
    cosine = exact_step @ series_step / np.linalg.norm(exact_step) / np.linalg.norm(series_step)
    assert cosine > 0.9999
    if terms == 200:  # truncation < 1e-21: equal to rounding
        np.testing.assert_allclose(series_step, exact_step, rtol=TOL, atol=TOL)
    # and the exact step is the independent oracle's -|H|^{-1} H x0
    eigenvalues, Q = np.linalg.eigh(H)
    oracle_step = -Q @ ((Q.T @ (H @ x0)) / np.abs(eigenvalues))
    np.testing.assert_allclose(exact_step, oracle_step, rtol=TOL, atol=TOL)


def test_adaptive_saddle_free_escapes(xp):
    # The K-FAC wrapper keeps the saddle-free behaviour: the loss decreases without
    # bound along the negative-curvature directions.
    H, Q, h = saddle(3, 4)
    oracle = oracle_for(xp, H)
    x0 = xp.asarray(Q @ np.full(4, 0.1), dtype=xp.float64)
    for base in (exact_sfn(), sfn_series(learning_rate=1.0, terms=160, accelerate=None,
                                         initial_scale=4.5)):
        x, _ = run(adaptive(base, initial_damping=1e-3), oracle, x0, 5)
        y = Q.T @ to_numpy(x)
        assert np.all(np.abs(y[h < 0]) > 1.0)
        # along positive curvature each step leaves about lam / (h + lam) <= 1e-3
        np.testing.assert_allclose(y[h > 0], 0.0, atol=1e-9)
        assert float(oracle.value(x)) < float(oracle.value(x0)) - 1.0


# ------------------------------------------------------------ non-finite oracles

OPTIMIZERS = {
    "exact_sfn": exact_sfn,
    "sfn_series": lambda: sfn_series(learning_rate=1.0, terms=5, accelerate=None),
    "adaptive-exact": lambda: adaptive(exact_sfn()),
    "adaptive-series": lambda: adaptive(sfn_series(learning_rate=1.0, terms=5,
                                                   accelerate=None)),
    "adamqlr": adamqlr,
    "newton": newton,
    "grouped_newton": lambda: grouped_newton(groups=[slice(0, 2), slice(2, 4)]),
    "gradient_descent": lambda: gradient_descent(learning_rate=0.1, momentum=0.5),
    "adam": adam,
}
USES_HVP = {"exact_sfn", "sfn_series", "adaptive-exact", "adaptive-series", "adamqlr",
            "newton", "grouped_newton"}


def _broken(xp, which, H):
    A = xp.asarray(H, dtype=xp.float64)
    good = oracle_for(xp, H)
    nan = float("nan")
    return dataclasses.replace(
        good,
        grad=(lambda x: (A @ x) * nan) if which == "grad" else good.grad,
        hvp=(lambda x, v: (A @ v) * nan) if which == "hvp" else good.hvp,
    )


def _same(a, b):
    """Two states are identical: every field equal, arrays bit for bit."""
    for field in dataclasses.fields(a):
        left, right = getattr(a, field.name), getattr(b, field.name)
        if hasattr(left, "shape"):
            np.testing.assert_array_equal(to_numpy(left), to_numpy(right))
        else:
            assert left == right, field.name


@pytest.mark.parametrize(
    ("name", "which"),
    [(name, which) for name in OPTIMIZERS for which in ("grad", "hvp")
     if which == "grad" or name in USES_HVP],
)
def test_non_finite_oracle_stops_the_step_and_keeps_the_state(xp, name, which):
    H, Q, _ = saddle(0, 4)
    opt = OPTIMIZERS[name]()
    params = xp.asarray(Q @ np.ones(4), dtype=xp.float64)
    state = opt.init(params)
    # Take one good step first, so that the state carries history (moments, V, ...).
    params, state, _ = opt.update(state, params, oracle_for(xp, H))
    snapshot, params_before = copy.deepcopy(state), to_numpy(params).copy()
    with pytest.raises(NonFiniteError, match=f"oracle.{which} returned NaN or inf at step 1"):
        opt.update(state, params, _broken(xp, which, H))
    _same(state, snapshot)
    np.testing.assert_array_equal(to_numpy(params), params_before)
    # The intact state still works: the next good step is the one an unbroken run takes.
    expected, _, _ = opt.update(snapshot, params, oracle_for(xp, H))
    again, _, _ = opt.update(state, params, oracle_for(xp, H))
    np.testing.assert_array_equal(to_numpy(again), to_numpy(expected))

"""Checkpoint and resume: a run interrupted at step t and resumed from a saved state
(deep copy or pickle) repeats the uninterrupted run bit for bit, for every optimiser."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import numpy as np
import pytest

from matfun.optim import (
    Oracle,
    adam,
    adamqlr,
    adaptive,
    exact_sfn,
    gradient_descent,
    grouped_newton,
    newton,
    run,
    sfn_series,
)
from tests._helpers import to_numpy

# f(x) = x^T A x / 2 + sum(x^4) / 4 with A indefinite: bounded below, with saddles,
# and non-quadratic, so that damping, moments and V all change from step to step.
A = np.array([[1.0, 0.4, 0.0, 0.2],
              [0.4, -1.5, 0.3, 0.0],
              [0.0, 0.3, 2.0, -0.5],
              [0.2, 0.0, -0.5, -0.7]])
X0 = np.array([0.3, -0.2, 0.5, 0.1])


def quartic(xp):
    matrix = xp.asarray(A, dtype=xp.float64)
    return Oracle(
        value=lambda x: 0.5 * (x @ (matrix @ x)) + 0.25 * xp.sum(x**4),
        grad=lambda x: matrix @ x + x**3,
        hvp=lambda x, v: matrix @ v + 3 * x**2 * v,
        third=lambda x, v: 6 * xp.sum(x * v**3),
    )


OPTIMIZERS = {
    "exact_sfn": lambda: exact_sfn(learning_rate=0.5, momentum=0.3),
    "sfn_series": lambda: sfn_series(learning_rate=0.5, terms=30, momentum=0.3,
                                     accelerate=None, initial_scale=0.5, damping=0.1),
    "sfn_series-adaptive-scale": lambda: sfn_series(learning_rate=0.5, terms=30,
                                                    accelerate=None, initial_scale=0.5,
                                                    scale="adaptive"),
    "adaptive-exact": lambda: adaptive(exact_sfn(), initial_damping=0.1, curvature_ema=0.5),
    "adaptive-series": lambda: adaptive(sfn_series(learning_rate=1.0, terms=30,
                                                   accelerate=None, initial_scale=5.0),
                                        initial_damping=0.1),
    "adamqlr": lambda: adamqlr(initial_damping=0.1),
    "grouped_newton": lambda: grouped_newton(groups=[slice(0, 2), [2, 3]], damping=0.5,
                                             cubic=1.0, momentum=0.5),
    "gradient_descent": lambda: gradient_descent(learning_rate=0.1, momentum=0.9),
    "adam": lambda: adam(learning_rate=0.05),
    "newton": lambda: newton(learning_rate=0.5, damping=3.0),
}
SAVERS = {"pickle": lambda s: pickle.loads(pickle.dumps(s)), "deepcopy": copy.deepcopy}


def _assert_same_state(a, b):
    assert type(a) is type(b)
    for field in dataclasses.fields(a):
        left, right = getattr(a, field.name), getattr(b, field.name)
        if hasattr(left, "shape"):
            np.testing.assert_array_equal(to_numpy(left), to_numpy(right))
        else:
            assert left == right, field.name


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_resume_is_bit_identical(xp, make):
    # One uninterrupted run of 6 steps; then, for each way of saving (pickle, deep copy),
    # 3 steps, save, and 3 more steps with a fresh optimiser object.
    oracle, opt = quartic(xp), make()
    x0 = xp.asarray(X0, dtype=xp.float64)
    params, state = x0, opt.init(x0)
    straight = []
    for _ in range(6):
        params, state, info = opt.update(state, params, oracle)
        straight.append((to_numpy(params).copy(), info["loss"]))
    final_state = state

    params, state = x0, opt.init(x0)
    for _ in range(3):
        params, state, _ = opt.update(state, params, oracle)
    for save in SAVERS.values():
        resumed_params, resumed_state = save(params), save(state)
        # A fresh optimiser object, as after a restart of the process.
        resumed_opt = make()
        for t in range(3, 6):
            resumed_params, resumed_state, info = resumed_opt.update(
                resumed_state, resumed_params, oracle)
            np.testing.assert_array_equal(to_numpy(resumed_params), straight[t][0])
            assert info["loss"] == straight[t][1]
        _assert_same_state(resumed_state, final_state)


def test_state_is_frozen_plain_data(xp):
    for make in OPTIMIZERS.values():
        state = make().init(xp.asarray(X0, dtype=xp.float64))
        assert dataclasses.is_dataclass(state)
        with pytest.raises(dataclasses.FrozenInstanceError):
            state.step = 5


def test_runner_resumes_from_a_record(xp):
    oracle, opt = quartic(xp), OPTIMIZERS["adaptive-series"]()
    x0 = xp.asarray(X0, dtype=xp.float64)
    whole = run(opt, oracle, x0, steps=6, progress=False)
    first = run(opt, oracle, x0, steps=2, progress=False)
    saved = pickle.loads(pickle.dumps((first.params, first.state)))
    second = run(opt, oracle, saved[0], steps=4, state=saved[1], progress=False)
    np.testing.assert_array_equal(to_numpy(second.params), to_numpy(whole.params))
    assert first.loss + second.loss == whole.loss
    assert first.matvecs + second.matvecs == whole.matvecs

"""Every optimiser of matfun.optim decreases the MLP training loss from a fixed start.

The problem is a small version of the seed paper's UCI Energy model (8 inputs, tanh,
one output; 2 hidden layers of 6 units, 103 parameters, 64 samples) so that the dense
Hessian of exact SFN and Newton costs 103 products per step. Three steps from
``initial(0)`` must lower the loss by at least 10%: every method below, with the
hyper-parameters given, does so by 20% or more (Adam, the slowest, by 21%); a sign
error or a wrong curvature product gives an increase or a blow-up instead.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from matfun.optim import (
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
from matfun.optim.problems import mlp_regression
from tests._helpers import to_numpy

STEPS = 3
PROBLEM = mlp_regression(depth=2, width=6, inputs=8, samples=64, seed=0)

# Hyper-parameters: the papers' defaults where they exist; learning rates scaled to a
# loss of order 1 with Hessian eigenvalues in about [-2.5, 4.8] at the start.
METHODS = {
    "gradient_descent": lambda: gradient_descent(learning_rate=0.05, momentum=0.9),
    "adam": lambda: adam(learning_rate=1e-2),
    # Damping 3 exceeds the most negative eigenvalue (-2.5) at the start: H + 3 I is
    # positive definite there, so the step is a descent direction.
    "newton": lambda: newton(damping=3.0),
    "exact_sfn": lambda: exact_sfn(learning_rate=0.5, threshold=1e-2),
    "sfn_series": lambda: sfn_series(learning_rate=0.5, terms=20, accelerate=None),
    "sfn_series_accelerated": lambda: sfn_series(learning_rate=0.5, terms=20),
    "adaptive_exact_sfn": lambda: adaptive(exact_sfn(), curvature_ema=0.5),
    "adaptive_sfn_series": lambda: adaptive(sfn_series(learning_rate=1.0, terms=20,
                                                       accelerate=None)),
    # Seed 001: the damping factor shortens the model's step (its section 5.2).
    "grouped_newton": lambda: grouped_newton(groups=PROBLEM.groups, cubic=1.0, damping=0.5),
    "grouped_newton_momentum": lambda: grouped_newton(groups=PROBLEM.groups, cubic=10.0,
                                                      momentum=0.9),
    "adamqlr": lambda: adamqlr(),
    "adamqlr_gauss_newton": lambda: adamqlr(curvature="gauss_newton"),
}


def train(optimizer, params, steps=STEPS):
    state = optimizer.init(params)
    losses = [float(PROBLEM.oracle.value(params))]
    for _ in range(steps):
        params, state, info = optimizer.update(state, params, PROBLEM.oracle)
        # info["loss"] is the loss at the parameters passed in.
        assert info["loss"] == pytest.approx(losses[-1], rel=1e-12)
        losses.append(float(PROBLEM.oracle.value(params)))
    return params, losses


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_decreases_the_training_loss(name):
    _, losses = train(METHODS[name](), PROBLEM.initial(0))
    assert all(math.isfinite(loss) for loss in losses)
    assert losses[-1] < 0.9 * losses[0], losses


def test_grouped_newton_trains_in_every_backend(xp):
    # The same three steps in each backend and in float32: a loss decrease, parameters
    # of the backend and dtype given, and float32 tracking float64 to the rounding of
    # a few steps through a tanh network (1e-3 relative on the loss).
    optimizer = METHODS["grouped_newton"]
    reference = None
    for dtype in (xp.float64, xp.float32):
        params, losses = train(optimizer(), PROBLEM.initial(0, xp=xp, dtype=dtype))
        assert params.dtype == dtype and tuple(params.shape) == (PROBLEM.dimension,)
        assert losses[-1] < 0.9 * losses[0]
        assert np.all(np.isfinite(to_numpy(params)))
        if reference is None:
            reference = losses
        else:
            np.testing.assert_allclose(losses, reference, rtol=1e-3)


def test_exact_sfn_run_matches_an_independent_saddle_free_newton():
    # The user's check: matfun.optim.run(exact_sfn) on the MLP against saddle-free Newton
    # written here from the definition (dense Hessian from HVPs with the unit vectors,
    # numpy.linalg.eigh, |lambda| with the threshold, momentum). Both invert |H| with
    # magnitudes >= tau = 1e-2 and |lambda| <= 5: relative error below
    # (5 / tau) * p * eps ~ 1e-11 per step; 1e-8 over three steps leaves margin.
    problem = mlp_regression(depth=1, width=4, inputs=8, samples=16, seed=1)
    rate, tau, constant, mu = 0.5, 1e-2, 0.1, 0.3
    x0 = problem.initial(2)
    record = run(exact_sfn(learning_rate=rate, threshold=tau, replacement=constant,
                           momentum=mu), problem, x0, steps=3, progress=False)
    x, delta = np.asarray(x0, dtype=np.float64), np.zeros(problem.dimension)
    for _ in range(3):
        g = np.asarray(problem.oracle.grad(x))
        columns = np.stack([np.asarray(problem.oracle.hvp(x, e))
                            for e in np.eye(problem.dimension)], axis=1)
        eigenvalues, Q = np.linalg.eigh(0.5 * (columns + columns.T))
        # the comparison assumes no eigenvalue sits on the threshold's discontinuity
        assert np.min(np.abs(np.abs(eigenvalues) - tau)) > 1e-8
        magnitude = np.where(np.abs(eigenvalues) < tau, constant, np.abs(eigenvalues))
        delta = -rate * Q @ ((Q.T @ g) / magnitude) + mu * delta
        x = x + delta
    np.testing.assert_allclose(to_numpy(record.params), x, rtol=1e-8, atol=1e-10)

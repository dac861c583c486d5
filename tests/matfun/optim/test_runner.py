"""The runner: what it records, progress bar, callback, failure and bad input."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from matfun.optim import (
    NonFiniteError,
    Oracle,
    Record,
    RunStopped,
    SingularCurvatureError,
    exact_sfn,
    gradient_descent,
    newton,
    run,
)
from matfun.optim.runner import as_oracle
from tests._helpers import to_numpy

H = np.array([3.0, -1.0, 0.5])


def saddle(xp):
    h = xp.asarray(H, dtype=xp.float64)
    return Oracle(value=lambda x: 0.5 * xp.sum(h * x * x), grad=lambda x: h * x,
                  hvp=lambda x, v: h * v)


def test_record_columns(xp):
    # Gradient descent on f = sum(h x^2) / 2 multiplies each coordinate by (1 - eta h).
    x0 = np.array([1.0, 1.0, 1.0])
    record = run(gradient_descent(learning_rate=0.1), saddle(xp),
                 xp.asarray(x0, dtype=xp.float64), steps=4, progress=False)
    assert isinstance(record, Record) and len(record) == 4 and record.name == "gradient_descent"
    iterates = [x0 * (1 - 0.1 * H) ** t for t in range(5)]
    np.testing.assert_allclose(record.loss, [0.5 * np.sum(H * x**2) for x in iterates[:4]],
                               rtol=1e-14)
    np.testing.assert_allclose(record.grad_norm,
                               [np.linalg.norm(H * x) for x in iterates[:4]], rtol=1e-14)
    assert record.final_loss == pytest.approx(0.5 * np.sum(H * iterates[4] ** 2), rel=1e-14)
    np.testing.assert_allclose(to_numpy(record.params), iterates[4], rtol=1e-14)
    assert record.step == [0, 1, 2, 3] and record.matvecs == [0, 0, 0, 0]
    assert all(s >= 0 for s in record.seconds) and record.state.step == 4


def test_tidy_views(xp):
    record = run(exact_sfn(), saddle(xp), xp.asarray([1.0, 1.0, 1.0], dtype=xp.float64),
                 steps=3, progress=False)
    arrays = record.as_arrays()
    assert set(arrays) == {"step", "loss", "grad_norm", "matvecs", "seconds",
                           "total_matvecs", "elapsed"}
    np.testing.assert_array_equal(arrays["matvecs"], [3, 3, 3])  # p = 3 HVPs per step
    np.testing.assert_array_equal(arrays["total_matvecs"], [3, 6, 9])
    np.testing.assert_allclose(arrays["elapsed"], np.cumsum(record.seconds))
    rows = record.to_rows()
    assert len(rows) == 3 and rows[1]["step"] == 1 and rows[2]["total_matvecs"] == 9
    assert all(isinstance(value, int | float) for value in rows[0].values())
    assert record.info[0]["negative_eigenvalues"] == 1


def test_progress_bar_and_callback(xp, capsys):
    seen = []

    def callback(step, params, state, info):
        seen.append((step, state.step, info["loss"]))
        return step == 2  # stop after the third step

    record = run(gradient_descent(learning_rate=0.1), saddle(xp),
                 xp.asarray([1.0, 1.0, 1.0], dtype=xp.float64), steps=10, callback=callback)
    assert len(record) == 3 and [s[0] for s in seen] == [0, 1, 2]
    assert [s[1] for s in seen] == [1, 2, 3] and [s[2] for s in seen] == record.loss
    assert "gradient_descent" in capsys.readouterr().err  # tqdm writes to stderr


def test_non_finite_stops_with_the_last_valid_state(xp):
    # The gradient turns NaN once x[0] leaves [-2, 2]; gradient descent with a large
    # step on the negative-curvature coordinate gets there at a known step.
    h = xp.asarray(H, dtype=xp.float64)
    oracle = Oracle(
        value=lambda x: 0.5 * xp.sum(h * x * x),
        grad=lambda x: h * x if abs(float(x[1])) < 2 else h * x * float("nan"),
        hvp=lambda x, v: h * v,
    )
    # x[1] is multiplied by 1 + 0.5 = 1.5 per step: 1, 1.5, 2.25 -> fails at step 2.
    with pytest.raises(RunStopped, match="gradient_descent stopped at step 2") as caught:
        run(gradient_descent(learning_rate=0.5), oracle,
            xp.asarray([0.1, 1.0, 0.1], dtype=xp.float64), steps=5, progress=False)
    record = caught.value.record
    assert isinstance(caught.value, NonFiniteError)
    assert len(record) == 2 and record.state.step == 2
    assert float(record.params[1]) == 2.25


def test_other_numerical_failures_keep_their_type_and_carry_the_record(xp):
    # f = (x^2 + y^4) / 2 at y = 0: the Hessian diag(1, 6 y^2) = diag(1, 0) is singular.
    oracle = Oracle(value=lambda x: 0.5 * (x[0] ** 2 + x[1] ** 4),
                    grad=lambda x: xp.stack([x[0], 2 * x[1] ** 3]),
                    hvp=lambda x, v: xp.stack([v[0], 6 * x[1] ** 2 * v[1]]))
    with pytest.raises(SingularCurvatureError, match="singular at step 0") as caught:
        run(newton(), oracle, xp.asarray([1.0, 0.0], dtype=xp.float64), steps=3,
            progress=False)
    assert len(caught.value.record) == 0 and caught.value.record.state.step == 0


def test_problem_objects_are_accepted(xp):
    oracle = saddle(xp)
    with_attribute = SimpleNamespace(oracle=oracle)
    with_method = SimpleNamespace(oracle=lambda: oracle)
    with_methods = SimpleNamespace(value=oracle.value, grad=oracle.grad, hvp=oracle.hvp)
    for problem in (oracle, with_attribute, with_method, with_methods):
        assert as_oracle(problem).grad is oracle.grad
    x0 = xp.asarray([1.0, 2.0, 3.0], dtype=xp.float64)
    record = run(newton(), with_methods, x0, steps=1, progress=False)
    assert record.final_loss == 0.0  # one Newton step lands on the stationary point
    with pytest.raises(TypeError, match="problem must be an Oracle"):
        run(newton(), object(), x0, steps=1, progress=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"steps": -1}, ValueError, "steps must be a non-negative integer"),
        ({"steps": 2.0}, ValueError, "steps must be a non-negative integer"),
        ({"steps": 2, "callback": 3}, TypeError, "callback must be callable"),
    ],
    ids=["negative", "float", "callback"],
)
def test_bad_arguments(xp, kwargs, error, message):
    x0 = xp.asarray([1.0, 2.0, 3.0], dtype=xp.float64)
    with pytest.raises(error, match=message):
        run(newton(), saddle(xp), x0, progress=False, **kwargs)


def test_optimizer_must_have_init_and_update(xp):
    with pytest.raises(TypeError, match="optimizer must have init and update"):
        run(object(), saddle(xp), xp.asarray([1.0]), steps=1)


def test_params_must_match_the_problem_dimension(xp):
    # The Rosenbrock oracle evaluates at any size: without the check a 3-vector would
    # silently optimise rosenbrock(3) while the user asked for rosenbrock(2).
    from matfun.optim.problems import rosenbrock

    problem = rosenbrock(2)
    with pytest.raises(ValueError, match="params has 3 entries, but problem 'rosenbrock2' "
                                         "has dimension 2"):
        run(gradient_descent(learning_rate=1e-3), problem, xp.zeros(3, dtype=xp.float64),
            steps=1, progress=False)
    record = run(gradient_descent(learning_rate=1e-3), problem,
                 problem.initial(0, xp=xp), steps=1, progress=False)
    assert record.loss[0] == pytest.approx(24.2, rel=1e-14)  # f(-1.2, 1) = 4.84 + 19.36

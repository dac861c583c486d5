"""matfun.optim.train: epochs of minibatches, a curvature batch, evaluation, exact resuming.

Oracles: :func:`matfun.optim.run` (full batch must be the same computation), the
problem's own ``batch`` oracles on the rows the run logged (what each step must have
seen), and the uninterrupted run (a resumed run must equal it bit for bit).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from matfun.optim import (
    NonFiniteError,
    Optimizer,
    RunStopped,
    TrainRecord,
    adam,
    run,
    sfn_series,
    train,
)
from matfun.optim.problems import mlp_classifier, mlp_regressor, rosenbrock

RNG = np.random.default_rng(0)
X = RNG.standard_normal((23, 3))
Y = np.sin(X @ [1.0, -1.0, 0.5])
REGRESSOR = mlp_regressor(X, Y, hidden=(4,))
LABELS = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
CLASSIFIER = mlp_classifier(X, LABELS, hidden=(5,))


class Spy:
    """A DataProblem stand-in that logs the rows of every batch it makes."""

    def __init__(self, problem, poison_after=None):
        self.problem, self.rows, self.poison_after = problem, [], poison_after
        self.name, self.dimension = problem.name, problem.dimension
        self.samples, self.oracle, self.metrics = problem.samples, problem.oracle, problem.metrics

    def batch(self, indices):
        self.rows.append(np.array(indices))
        made = self.problem.batch(indices)
        if self.poison_after is not None and len(self.rows) > self.poison_after:
            from matfun.optim import Oracle

            oracle = made.oracle
            return type(made)(made.name, made.dimension, Oracle(
                value=lambda w: oracle.value(w) * np.nan, grad=oracle.grad, hvp=oracle.hvp),
                made.groups, made.sampler)
        return made


def probe():
    """Gradient descent that also records what the oracle gave at each step."""
    seen = []

    def update(state, params, oracle):
        ones = params * 0 + 1
        seen.append((params, float(oracle.value(params)), oracle.grad(params),
                     oracle.hvp(params, ones)))
        g = oracle.grad(params)
        info = {"loss": float(oracle.value(params)), "grad_norm": float(np.linalg.norm(g)),
                "matvecs": 1}
        return params - 0.1 * g, state + 1, info

    return Optimizer(init=lambda params: 0, update=update, name="probe"), seen


def test_full_batch_training_is_run_on_the_full_problem():
    optimizer = sfn_series(learning_rate=0.5, terms=6)
    w = REGRESSOR.initial(0)
    record = train(optimizer, REGRESSOR, w, epochs=4, progress=False)
    reference = run(optimizer, REGRESSOR, w, steps=4, progress=False)
    assert record.loss == reference.loss and record.matvecs == reference.matvecs
    np.testing.assert_array_equal(record.params, reference.params)
    assert record.step_epoch == [0, 1, 2, 3] and record.epoch == [0, 1, 2, 3]
    assert record.train_metrics[-1]["loss"] == reference.final_loss


@pytest.mark.parametrize("curvature", [None, 7])
def test_each_step_sees_its_batches_and_epochs_are_permutations(curvature):
    spy = Spy(REGRESSOR)
    optimizer, seen = probe()
    record = train(optimizer, spy, REGRESSOR.initial(1), epochs=2, batch_size=10,
                   curvature_batch_size=curvature, progress=False, seed=3)
    per_epoch = 3  # 23 rows in batches of 10, 10, 3
    assert len(record) == 2 * per_epoch and record.step_epoch == [0, 0, 0, 1, 1, 1]
    stride = 1 if curvature is None else 2
    gradient_rows = spy.rows[::stride]
    curvature_rows = spy.rows[1::stride] if curvature else gradient_rows
    assert [len(r) for r in gradient_rows] == [10, 10, 3] * 2
    for epoch in range(2):
        rows = np.concatenate(gradient_rows[epoch * per_epoch:(epoch + 1) * per_epoch])
        np.testing.assert_array_equal(np.sort(rows), np.arange(23))
    assert not np.array_equal(gradient_rows[0], gradient_rows[3])  # a fresh permutation
    if curvature:
        assert all(len(r) == 7 and len(np.unique(r)) == 7 for r in curvature_rows)
    for (params, value, grad, hvp), g_rows, c_rows in zip(seen, gradient_rows, curvature_rows,
                                                          strict=True):
        ones = np.ones_like(params)
        assert value == float(REGRESSOR.batch(g_rows).oracle.value(params))
        np.testing.assert_array_equal(grad, REGRESSOR.batch(g_rows).oracle.grad(params))
        np.testing.assert_array_equal(hvp, REGRESSOR.batch(c_rows).oracle.hvp(params, ones))
    assert record.loss == [value for _, value, _, _ in seen]


def test_epoch_metrics_and_tidy_rows():
    Xt, yt = X[:9] + 0.1, LABELS[:9]
    record = train(adam(learning_rate=0.05), CLASSIFIER, CLASSIFIER.initial(0), epochs=3,
                   batch_size=8, eval_data=(Xt, yt), progress=True)
    assert record.epoch == [0, 1, 2]
    assert record.eval_metrics[-1] == CLASSIFIER.metrics(record.params, Xt, yt)
    assert record.train_metrics[-1] == CLASSIFIER.metrics(record.params)
    steps = record.as_arrays()
    assert set(steps) == {"epoch", "step", "loss", "grad_norm", "matvecs", "seconds",
                          "total_matvecs"}
    assert np.all(np.diff(steps["seconds"]) >= 0) and len(record.to_rows()) == 9
    epochs = record.to_rows("epoch")
    assert [row["epoch"] for row in epochs] == [0, 1, 2]
    assert set(epochs[0]) == {"epoch", "seconds", "train_loss", "train_accuracy",
                              "eval_loss", "eval_accuracy"}
    assert epochs[-1]["seconds"] == record.seconds[-1]
    with pytest.raises(ValueError, match="kind"):
        record.as_arrays("steps")


def _same_run(a, b):
    for name in ("step_epoch", "step", "loss", "grad_norm", "matvecs", "epoch",
                 "train_metrics", "eval_metrics"):
        assert getattr(a, name) == getattr(b, name), name
    np.testing.assert_array_equal(a.params, b.params)
    assert pickle.dumps(a.state) == pickle.dumps(b.state)
    assert a.rng_state == b.rng_state


@pytest.mark.parametrize("stop_at", [0, 4, 5, 11])
def test_resumed_run_equals_the_uninterrupted_run_bit_for_bit(stop_at):
    # Series SFN with a separate curvature batch: the random draws, the optimiser's
    # state (V, momentum) and the epoch's permutation all have to be carried over.
    def make():
        return sfn_series(learning_rate=0.3, terms=5, momentum=0.5)

    settings = dict(epochs=4, batch_size=8, curvature_batch_size=6, seed=5,
                    eval_data=(X[:5], Y[:5]), progress=False)
    w = REGRESSOR.initial(2)
    whole = train(make(), REGRESSOR, w, **settings)
    assert len(whole) == 12  # 3 steps per epoch (8, 8, 7 rows)
    stopped = train(make(), REGRESSOR, w, callback=lambda step, *_: step == stop_at,
                    **settings)
    assert len(stopped) == stop_at + 1
    snapshot = pickle.dumps(stopped)
    resumed = train(make(), REGRESSOR, None, resume=stopped, **settings)
    assert pickle.dumps(stopped) == snapshot  # the record passed in is left alone
    _same_run(resumed, whole)
    # Fewer epochs, then more: the same again.
    first = train(make(), REGRESSOR, w, **{**settings, "epochs": 1})
    _same_run(train(make(), REGRESSOR, w, resume=first, **settings), whole)
    # The clock continues from where the stopped run left it.
    assert np.all(np.diff(resumed.seconds) >= 0)
    assert resumed.epoch_seconds[-1] >= stopped.elapsed


def test_non_finite_oracle_stops_with_the_record_of_the_valid_steps():
    spy = Spy(REGRESSOR, poison_after=4)
    with pytest.raises(RunStopped, match="stopped at step 4") as caught:
        train(adam(learning_rate=0.01), spy, REGRESSOR.initial(0), epochs=3, batch_size=10,
              progress=False)
    assert isinstance(caught.value, NonFiniteError)
    record = caught.value.record
    assert isinstance(record, TrainRecord) and len(record) == 4
    assert (record.next_epoch, record.step_in_epoch) == (1, 1)
    # The valid part equals a clean run's first four steps.
    clean = train(adam(learning_rate=0.01), REGRESSOR, REGRESSOR.initial(0), epochs=2,
                  batch_size=10, progress=False, callback=lambda step, *_: step == 3)
    _same_run(record, clean)


def test_bad_input_is_refused_with_the_argument_named():
    w = REGRESSOR.initial(0)
    optimizer = adam()
    with pytest.raises(TypeError, match="DataProblem"):
        train(optimizer, rosenbrock(3), np.zeros(3), epochs=1)
    with pytest.raises(ValueError, match="batch_size"):
        train(optimizer, REGRESSOR, w, epochs=1, batch_size=24)
    with pytest.raises(ValueError, match="curvature_batch_size"):
        train(optimizer, REGRESSOR, w, epochs=1, curvature_batch_size=0)
    with pytest.raises(TypeError, match="epochs"):
        train(optimizer, REGRESSOR, w, epochs=1.0)
    with pytest.raises(ValueError, match="dimension"):
        train(optimizer, REGRESSOR, w[:-1], epochs=1)
    with pytest.raises(TypeError, match="eval_data"):
        train(optimizer, REGRESSOR, w, epochs=1, eval_data=X)
    with pytest.raises(ValueError, match="columns"):
        train(optimizer, REGRESSOR, w, epochs=1, eval_data=(X[:, :2], Y))
    with pytest.raises(TypeError, match="resume"):
        train(optimizer, REGRESSOR, w, epochs=1, resume={"params": w})
    record = train(optimizer, REGRESSOR, w, epochs=1, batch_size=5, progress=False)
    with pytest.raises(ValueError, match="recorded with"):
        train(optimizer, REGRESSOR, w, epochs=2, batch_size=6, resume=record)
    with pytest.raises(ValueError, match="recorded with"):
        train(optimizer, REGRESSOR, w, epochs=2, batch_size=5, seed=1, resume=record)
    with pytest.raises(ValueError, match="no parameters of problem"):
        train(optimizer, CLASSIFIER, None, epochs=2, batch_size=5, resume=record)


def test_training_on_array_api_strict_parameters_matches_numpy():
    xp = pytest.importorskip("array_api_strict")
    settings = dict(epochs=2, batch_size=9, curvature_batch_size=5, seed=1, progress=False,
                    eval_data=(X[:6], LABELS[:6]))
    strict = train(sfn_series(learning_rate=0.3, terms=5), CLASSIFIER,
                   CLASSIFIER.initial(0, xp=xp), **settings)
    reference = train(sfn_series(learning_rate=0.3, terms=5), CLASSIFIER,
                      CLASSIFIER.initial(0), **settings)
    assert type(strict.params).__module__.startswith("array_api_strict")
    # Same draws, same arithmetic up to the summation order of the backends' matmul:
    # a few ulps per step, amplified by at most ~1e2 over 6 steps of a smooth model.
    np.testing.assert_allclose(strict.loss, reference.loss, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(strict.params), reference.params, rtol=1e-10,
                               atol=1e-12)
    assert strict.eval_metrics[-1]["accuracy"] == reference.eval_metrics[-1]["accuracy"]

"""The K-FAC baseline (kfac-jax) on the MLP problems: same loss, the right step, progress.

Oracles: the NumPy problem's own loss and gradient (backpropagation written without
JAX), ``numpy.linalg.lstsq`` for linear least squares, and the limit of the damped
step. Each new network or setting costs kfac-jax a compilation of several seconds on
the CPU, so the tests share settings where they can (fixed learning rate, momentum and
damping are arguments of the compiled step, not part of it).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from matfun.optim import TrainRecord
from matfun.optim.problems import mlp_classifier, mlp_regressor

kfac = pytest.importorskip("matfun.optim.kfac")
pytest.importorskip("kfac_jax")
jax = pytest.importorskip("jax")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((48, 3))
Y = np.sin(X @ [1.0, -2.0, 0.5]) + 0.1 * RNG.standard_normal(48)
LABELS = (X[:, 0] + X[:, 1] ** 2 > 1.0).astype(int) + (X[:, 2] > 0.5).astype(int)

# One compiled step for the two fixed-coefficient tests: only the values differ.
FIXED = {"momentum": 0.0, "adapt_damping": False, "estimation_mode": "ggn_exact",
         "burnin_steps": 0}
# The paper's adaptive setting with one compiled variant: no burn-in (a second program)
# and the damping adapted at every step (otherwise every fifth step is a third one).
ADAPTIVE = {"burnin_steps": 0, "damping_adaptation_interval": 1}


@pytest.mark.parametrize("problem", [
    mlp_regressor(X, Y, hidden=(5, 4)),
    mlp_regressor(X, np.column_stack([Y, X[:, 0]]), hidden=(3,), activation="softplus"),
    mlp_classifier(X, LABELS, hidden=(6,)),
], ids=["regressor", "two_outputs_softplus", "classifier"])
def test_the_jax_loss_is_the_problems_loss(problem):
    # The same parameterisation: at the same flat vector the JAX network gives the NumPy
    # problem's loss and gradient (1e-10 relative: float64 sums of a few hundred terms of
    # order 1, evaluated in another order; a transposed weight or a missing 1/N is O(1)).
    model = kfac.jax_mlp(problem)
    w = problem.initial(3) + 0.1 * RNG.standard_normal(problem.dimension)
    with jax.enable_x64(True):
        tree = model.to_tree(w)
        batch = tuple(jax.numpy.asarray(a) for a in model.data)
        value, grad = jax.jit(jax.value_and_grad(model.loss))(tree, batch)
        np.testing.assert_array_equal(model.to_flat(tree), w)
        assert float(value) == pytest.approx(float(problem.oracle.value(w)), rel=1e-10)
        np.testing.assert_allclose(model.to_flat(grad), problem.oracle.grad(w), rtol=1e-10,
                                   atol=1e-12)


def test_one_undamped_step_solves_linear_least_squares():
    # hidden=(): f(w) = |X W^T + b - y|^2 / N is quadratic, its Gauss-Newton matrix is
    # (2/N) [X 1]^T [X 1] (x) 1 -- one Kronecker product, so K-FAC's block is exact with
    # "ggn_exact", and learning rate 1 without momentum takes the Newton step to the
    # least-squares solution. Damping 1e-16 enters the factors as sqrt(1e-16) = 1e-8
    # (kfac-jax's factored damping): the error is at most ~1e-8 kappa |w0 - w*| with
    # kappa = cond([X 1]^T [X 1]) below 10 here; rtol 1e-6 leaves a margin.
    problem = mlp_regressor(X, X @ [1.0, -2.0, 0.5] + 0.3 + 0.1 * Y, hidden=())
    w0 = problem.initial(0)
    record = kfac.kfac_train(problem, w0, epochs=1, learning_rate=1.0, damping=1e-16,
                             progress=False, **FIXED)
    design = np.column_stack([X, np.ones(len(X))])
    solution = np.linalg.lstsq(design, problem._network.data._host[1][:, 0], rcond=None)[0]
    assert np.linalg.cond(design.T @ design) < 10
    np.testing.assert_allclose(record.params, solution, rtol=0,
                               atol=1e-6 * np.linalg.norm(w0 - solution))
    assert isinstance(record, TrainRecord) and record.matvecs == [0]


def test_a_heavily_damped_step_is_a_scaled_gradient_step():
    # (F + lambda I)^{-1} -> I / lambda as lambda grows: with a fixed learning rate eta and
    # no momentum the step tends to -eta g / lambda, g the NumPy problem's gradient. The
    # factored damping's first-order error is (|A|/pi + pi |G|) / sqrt(lambda), about
    # 1e-5 at lambda = 1e12 (|A| ~ 3, |G| = 2 here); rtol 1e-3.
    problem = mlp_regressor(X, X @ [1.0, -2.0, 0.5] + 0.3 + 0.1 * Y, hidden=())
    w0 = problem.initial(1)
    eta, damping = 0.5, 1e12
    record = kfac.kfac_train(problem, w0, epochs=1, learning_rate=eta, damping=damping,
                             progress=False, **FIXED)
    expected = -eta * problem.oracle.grad(w0) / damping
    np.testing.assert_allclose(record.params - w0, expected, rtol=1e-3)
    assert record.loss[0] == pytest.approx(float(problem.oracle.value(w0)), rel=1e-12)


@pytest.mark.slow  # a second network: ~10 s of compilation on a busy CPU
def test_kfac_lowers_the_regression_loss():
    # The paper's setting (adaptive learning rate, momentum and damping), full batch:
    # 4 steps must lower the loss by 15% (it falls by 26%, 0.468 to 0.345; a wrong sign
    # or curvature scale raises it or stalls it). The notebook's SMALL run (in the
    # default suite) trains this setting too.
    problem = mlp_regressor(X, Y, hidden=(8,))
    record = kfac.kfac_train(problem, problem.initial(0), epochs=4, progress=False,
                             **ADAPTIVE)
    start = float(problem.oracle.value(problem.initial(0)))
    assert record.loss[0] == pytest.approx(start, rel=1e-12)
    assert record.train_metrics[-1]["loss"] < 0.85 * start
    assert record.matvecs == [2] * 4 and record.epoch == [0, 1, 2, 3]
    assert all(info["learning_rate"] > 0 for info in record.info)


def test_kfac_lowers_the_classification_loss_on_minibatches():
    # Adaptive coefficients and damping on batches of 16 rows, 3 per epoch (the batches of
    # optim.train with the same seed): two epochs must lower the full training loss by a
    # fifth (it falls by a third, 1.196 to 0.787).
    problem = mlp_classifier(X, LABELS, hidden=(6,))
    start = problem.metrics(problem.initial(0))["loss"]
    record = kfac.kfac_train(problem, problem.initial(0), epochs=2, batch_size=16, seed=3,
                             eval_data=(X[:10], LABELS[:10]), progress=False, **ADAPTIVE)
    assert len(record) == 6 and record.step_epoch == [0, 0, 0, 1, 1, 1]
    assert record.train_metrics[-1]["loss"] < 0.8 * start
    assert 0.0 <= record.eval_metrics[-1]["accuracy"] <= 1.0
    # The first batch is train()'s: rows order[:16] of default_rng(3).permutation.
    rows = np.random.default_rng(3).permutation(len(X))[:16]
    assert record.loss[0] == pytest.approx(
        float(problem.batch(rows).oracle.value(problem.initial(0))), rel=1e-12)


@pytest.mark.parametrize("options, error, match", [
    ({"epochs": -1}, ValueError, "epochs"),
    ({"epochs": 1, "batch_size": 0}, ValueError, "batch_size"),
    ({"epochs": 1, "damping": 0.0}, ValueError, "damping"),
    ({"epochs": 1, "momentum": 1.0}, ValueError, "momentum"),
    ({"epochs": 1, "learning_rate": -1.0}, ValueError, "learning_rate"),
    ({"epochs": 1, "estimation_mode": "exact"}, ValueError, "estimation_mode"),
    ({"epochs": 1, "adapt_damping": 1}, TypeError, "adapt_damping"),
])
def test_bad_options_are_refused_by_name(options, error, match):
    problem = mlp_regressor(X, Y, hidden=(3,))
    with pytest.raises(error, match=match):
        kfac.kfac_train(problem, problem.initial(0), progress=False, **options)


def test_bad_params_and_problems_are_refused():
    problem = mlp_regressor(X, Y, hidden=(3,))
    with pytest.raises(ValueError, match="params"):
        kfac.kfac_train(problem, np.zeros(problem.dimension + 1), epochs=1)
    with pytest.raises(TypeError, match="problem"):
        kfac.kfac_train(object(), np.zeros(3), epochs=1)


def test_kfac_is_optional_and_named_when_missing():
    # A fresh interpreter where `import kfac_jax` fails: `import matfun.optim` loads
    # neither JAX nor kfac-jax, this module still imports (documentation and doctests load
    # it), and using it raises ImportError naming the package to install.
    code = ("import sys; sys.modules['kfac_jax'] = None\n"
            "import numpy as np, matfun.optim\n"
            "print('jax' in sys.modules)\n"
            "from matfun.optim import kfac\n"
            "from matfun.optim.problems import mlp_regressor\n"
            "p = mlp_regressor(np.eye(3), [1.0, 2.0, 3.0], hidden=(2,))\n"
            "try:\n"
            "    kfac.kfac_train(p, p.initial(0), epochs=1)\n"
            "except ImportError as e:\n"
            "    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.startswith("False\n")
    assert "kfac-jax" in out and "pip install" in out


@pytest.mark.slow  # the page's earlier examples, then kfac-jax's compilation (~40 s)
def test_the_training_page_example_prints_what_it_says(monkeypatch, tmp_path):
    # docs/training.md guards its K-FAC example so that the page runs without kfac-jax;
    # the documentation test then cannot compare its printed output with the indented
    # comment lines that state it. This does, with the documentation test's rule.
    import contextlib
    import io
    import re

    from tests.test_docs import _blocks, _same_output

    blocks = _blocks("training")
    index = next(i for i, block in enumerate(blocks) if "kfac_train(" in block)
    stated = [line.strip()[2:] for line in blocks[index].rstrip("\n").split("\n")
              if re.match(r"^\s+# ", line)]
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "docs_training"}
    for block in blocks[:index]:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(block, "docs/training.md", "exec"), namespace)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(blocks[index], "docs/training.md", "exec"), namespace)
    assert stated and _same_output(printed.getvalue(), stated), printed.getvalue()

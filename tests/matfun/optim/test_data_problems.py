"""MLP problems on data (regression, softmax classification): derivatives, batches, metrics.

Oracles: a plain-NumPy forward pass written here (the loss values), central finite
differences of the next-lower derivative (gradient, Hessian-vector product, third
derivative), a dense Hessian from differences of the gradient, and for the
Gauss-Newton product a Jacobian of the outputs by differences.

Finite-difference tolerance: a central difference with step ``h`` errs by
``h^2 |phi'''| / 6`` (truncation) plus ``eps |phi| / h`` (rounding). With ``h = 1e-5``
both are ~1e-10 to 1e-11 relative to the derivatives of these small tanh/softplus
networks at LeCun-initialised points (derivatives of order 1 to 1e2); ``1e-6`` times
(norm + 1) bounds the error with a margin of 10x or more, while a wrong term in a
formula shows up at O(1e-2) or larger.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matfun.optim import _mlp
from matfun.optim.problems import DataProblem, Problem, mlp_classifier, mlp_regressor
from tests._helpers import to_numpy

H = 1e-5
FD_RTOL = 1e-6


def regression_data(samples=24, inputs=3, outputs=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, inputs))
    y = np.sin(X @ rng.standard_normal((inputs, outputs))) + 0.1 * rng.standard_normal(
        (samples, outputs))
    return X, y[:, 0] if outputs == 1 else y


def classification_data(samples=30, inputs=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, inputs))
    labels = np.argmax(X @ rng.standard_normal((inputs, classes))
                       + 0.5 * rng.standard_normal((samples, classes)), axis=1)
    return X, labels


def problems():
    Xr, yr = regression_data()
    Xm, ym = regression_data(outputs=2, seed=1)
    Xc, yc = classification_data()
    Xb, yb = classification_data(classes=2, seed=2)
    return {
        "regressor_tanh": mlp_regressor(Xr, yr, hidden=(5, 4)),
        "regressor_softplus_2out": mlp_regressor(Xm, ym, hidden=(3,), activation="softplus"),
        "regressor_linear": mlp_regressor(Xr, yr, hidden=()),
        "classifier_tanh": mlp_classifier(Xc, yc, hidden=(5, 3)),
        "classifier_softplus": mlp_classifier(Xb, yb, hidden=(4,), activation="softplus"),
        "classifier_logistic": mlp_classifier(Xc, yc, hidden=()),
    }


PROBLEMS = problems()


def close_to(actual, desired):
    scale = np.linalg.norm(desired) + 1.0
    np.testing.assert_allclose(to_numpy(actual), desired, rtol=0, atol=FD_RTOL * scale)


def numpy_forward(problem, w, X):
    """The network written out in NumPy from the documented layout (independent)."""
    a, start = X, 0
    shapes = problem._network.shapes
    for index, (out, inp) in enumerate(shapes):
        W = w[start:start + out * inp].reshape(out, inp)
        b = w[start + out * inp:start + out * inp + out]
        start += out * inp + out
        z = a @ W.T + b
        if index < len(shapes) - 1:
            a = np.tanh(z) if problem.name.endswith("tanh") else np.logaddexp(0, z)
    return z


def numpy_loss(problem, w, X, y):
    z = numpy_forward(problem, w, X)
    if problem.task == "regression":
        return np.sum((z - y.reshape(z.shape)) ** 2) / X.shape[0]
    top = z.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(z - top).sum(axis=1))
    return np.mean(lse - z[np.arange(len(y)), y])


# ------------------------------------------------------------------------------ values


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_value_matches_a_plain_numpy_network(name):
    problem = PROBLEMS[name]
    X, y = problem._network.data._host
    labels = problem._network.labels
    w = np.asarray(problem.initial(2))
    expected = numpy_loss(problem, w, X, labels if labels is not None else y)
    assert float(problem.oracle.value(w)) == pytest.approx(expected, rel=1e-13)
    assert problem.metrics(w)["loss"] == pytest.approx(expected, rel=1e-13)


def test_classifier_at_zero_weights_has_loss_log_classes_and_metrics_count_hits():
    X, y = classification_data(classes=4, samples=40)
    problem = mlp_classifier(X, y, hidden=(3,))
    assert problem.metrics(np.zeros(problem.dimension))["loss"] == pytest.approx(np.log(4))
    w = np.asarray(problem.initial(5))
    predicted = np.argmax(numpy_forward(problem, w, X[:17]), axis=1)
    result = problem.metrics(w, X[:17], y[:17])
    assert result["accuracy"] == np.mean(predicted == y[:17])
    assert result["loss"] == pytest.approx(numpy_loss(problem, w, X[:17], y[:17]), rel=1e-13)


# ----------------------------------------------------- derivatives against differences


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_derivatives_match_central_differences(name):
    problem = PROBLEMS[name]
    oracle = problem.oracle
    rng = np.random.default_rng(7)
    x = np.asarray(problem.initial(1))
    v, u = rng.standard_normal((2, problem.dimension))
    f = lambda y: float(oracle.value(y))  # noqa: E731
    slope = (f(x + H * v) - f(x - H * v)) / (2 * H)
    assert oracle.grad(x) @ v == pytest.approx(slope, rel=FD_RTOL, abs=FD_RTOL)
    close_to(oracle.hvp(x, v), (oracle.grad(x + H * v) - oracle.grad(x - H * v)) / (2 * H))
    close_to(oracle.third(x, v), (oracle.hvp(x + H * v, v) - oracle.hvp(x - H * v, v)) / (2 * H))
    # Symmetric Hessian: u . H v == v . H u to rounding (1e-12 of the sizes involved).
    uhv, vhu = u @ oracle.hvp(x, v), v @ oracle.hvp(x, u)
    assert uhv == pytest.approx(vhu, rel=1e-12, abs=1e-13)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_dense_hessian_matches_differences_of_the_gradient(name):
    problem = PROBLEMS[name]
    oracle, x = problem.oracle, np.asarray(problem.initial(3))
    identity = np.eye(problem.dimension)
    hessian = np.stack([oracle.hvp(x, e) for e in identity])
    norm = np.linalg.norm(hessian)
    np.testing.assert_allclose(hessian, hessian.T, rtol=0, atol=1e-12 * norm)
    jacobian = np.stack([(oracle.grad(x + H * e) - oracle.grad(x - H * e)) / (2 * H)
                         for e in identity])
    np.testing.assert_allclose(hessian, jacobian, rtol=0, atol=FD_RTOL * (norm + 1))


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_gauss_newton_is_jt_l_j_and_positive_semidefinite(name):
    problem = PROBLEMS[name]
    oracle, x = problem.oracle, np.asarray(problem.initial(4))
    X, _ = problem._network.data._host
    identity = np.eye(problem.dimension)
    gauss_newton = np.stack([oracle.gauss_newton(x, e) for e in identity])
    # Independent: the Jacobian of the outputs by central differences, and the loss's
    # Hessian in the outputs written out (2/N I, or (diag p - p p^T) / N per row).
    outputs = [(numpy_forward(problem, x + H * e, X) - numpy_forward(problem, x - H * e, X))
               / (2 * H) for e in identity]
    J = np.stack(outputs, axis=-1)  # samples x outputs x parameters
    samples = X.shape[0]
    if problem.task == "regression":
        expected = 2.0 / samples * np.einsum("nkp,nkq->pq", J, J)
    else:
        z = numpy_forward(problem, x, X)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        middle = np.stack([np.diag(row) - np.outer(row, row) for row in p])
        expected = np.einsum("nkp,nkl,nlq->pq", J, middle, J) / samples
    norm = np.linalg.norm(expected)
    np.testing.assert_allclose(gauss_newton, expected, rtol=0, atol=FD_RTOL * (norm + 1))
    # PSD: eigenvalues >= -(rounding of a symmetric product, ~1e-13 of the norm).
    symmetric = (gauss_newton + gauss_newton.T) / 2
    assert np.linalg.eigvalsh(symmetric).min() >= -1e-12 * norm


def test_line_jets_agree_with_backprop_for_cross_entropy():
    # Two routes that share no output-loss code path: the forward cumulant formulas
    # (line) against backprop, the R-operator and jets of backprop.
    problem = PROBLEMS["classifier_tanh"]
    network = problem._network
    X, T = network.data._host
    w = np.asarray(problem.initial(6))
    u = np.random.default_rng(1).standard_normal(problem.dimension)
    line = _mlp.line_derivatives(np, w, u, X, T, network.shapes, "tanh",
                                 "softmax_cross_entropy")
    oracle = problem.oracle
    expected = (oracle.grad(w) @ u, u @ oracle.hvp(w, u), u @ oracle.third(w, u))
    for got, want in zip(line, expected, strict=True):
        assert float(got) == pytest.approx(float(want), rel=1e-11, abs=1e-13)


@settings(max_examples=8)
@given(hidden=st.lists(st.integers(1, 4), min_size=0, max_size=2),
       classify=st.booleans(), softplus=st.booleans(), seed=st.integers(0, 2**31))
def test_random_small_networks_match_differences(hidden, classify, softplus, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((7, 2))
    activation = "softplus" if softplus else "tanh"
    if classify:
        problem = mlp_classifier(X, rng.integers(0, 3, 7), hidden=tuple(hidden),
                                 activation=activation, classes=3)
    else:
        problem = mlp_regressor(X, rng.standard_normal(7), hidden=tuple(hidden),
                                activation=activation)
    oracle = problem.oracle
    x = np.asarray(problem.initial(seed % 5))
    v = rng.standard_normal(problem.dimension)
    close_to(oracle.hvp(x, v), (oracle.grad(x + H * v) - oracle.grad(x - H * v)) / (2 * H))
    close_to(oracle.third(x, v), (oracle.hvp(x + H * v, v) - oracle.hvp(x - H * v, v)) / (2 * H))
    assert v @ oracle.gauss_newton(x, v) >= -1e-12 * (v @ v)


# ------------------------------------------------------------------------------ batches


@pytest.mark.parametrize("name", ["regressor_tanh", "classifier_tanh"])
def test_batch_of_all_rows_is_the_full_problem_and_a_subset_is_that_data(name):
    problem = PROBLEMS[name]
    x = np.asarray(problem.initial(0))
    v = np.random.default_rng(0).standard_normal(problem.dimension)
    every = problem.batch(np.arange(problem.samples))
    assert isinstance(every, Problem) and every.dimension == problem.dimension
    assert every.groups == problem.groups
    for method in ("grad", "hvp", "third", "gauss_newton"):
        args = (x,) if method == "grad" else (x, v)
        np.testing.assert_array_equal(getattr(every.oracle, method)(*args),
                                      getattr(problem.oracle, method)(*args))
    assert float(every.oracle.value(x)) == float(problem.oracle.value(x))
    # A subset equals the problem built from those rows alone (independent construction).
    rows = np.array([5, 1, 1, 9, 2])
    X, T = problem._network.data._host
    labels = problem._network.labels
    hidden = tuple(out for out, _ in problem._network.shapes[:-1])
    if problem.task == "regression":
        alone = mlp_regressor(X[rows], T[rows], hidden=hidden)
    else:
        alone = mlp_classifier(X[rows], labels[rows], hidden=hidden,
                               classes=problem._network.outputs)
    part = problem.batch(rows)
    assert float(part.oracle.value(x)) == pytest.approx(float(alone.oracle.value(x)), rel=1e-14)
    np.testing.assert_allclose(part.oracle.hvp(x, v), alone.oracle.hvp(x, v), rtol=1e-13,
                               atol=1e-15)


def test_array_api_strict_backend_agrees_with_numpy():
    xp = pytest.importorskip("array_api_strict")
    for name in ("regressor_tanh", "classifier_softplus"):
        problem = PROBLEMS[name]
        x = np.asarray(problem.initial(2))
        v = np.random.default_rng(3).standard_normal(problem.dimension)
        xs, vs = xp.asarray(x), xp.asarray(v)
        batch = problem.batch([0, 3, 4])
        for source in (problem, batch):
            oracle = source.oracle
            got = [oracle.value(xs), oracle.grad(xs), oracle.hvp(xs, vs), oracle.third(xs, vs),
                   oracle.gauss_newton(xs, vs)]
            want = [oracle.value(x), oracle.grad(x), oracle.hvp(x, v), oracle.third(x, v),
                    oracle.gauss_newton(x, v)]
            for a, b in zip(got, want, strict=True):
                assert type(a).__module__.startswith("array_api_strict")
                np.testing.assert_allclose(to_numpy(a), b, rtol=1e-13, atol=1e-15)
        assert problem.metrics(xs) == pytest.approx(problem.metrics(x), rel=1e-13)


# ---------------------------------------------------------------------------- bad input


def test_bad_input_is_refused_with_the_argument_named():
    X, y = regression_data()
    with pytest.raises(ValueError, match="X must be a non-empty 2-D"):
        mlp_regressor(X[:, 0], y)
    with pytest.raises(ValueError, match="y must have shape"):
        mlp_regressor(X, y[:-1])
    with pytest.raises(ValueError, match="X contains NaN"):
        mlp_regressor(np.where(np.arange(X.size).reshape(X.shape) == 4, np.nan, X), y)
    with pytest.raises(TypeError, match="hidden"):
        mlp_regressor(X, y, hidden=3)
    with pytest.raises(ValueError, match="hidden widths"):
        mlp_regressor(X, y, hidden=(0,))
    with pytest.raises(ValueError, match="activation"):
        mlp_regressor(X, y, activation="relu")
    Xc, yc = classification_data()
    with pytest.raises(TypeError, match="integer class labels"):
        mlp_classifier(Xc, yc + 0.5)
    with pytest.raises(ValueError, match="class labels must lie"):
        mlp_classifier(Xc, yc, classes=2)
    with pytest.raises(ValueError, match="at least two classes"):
        mlp_classifier(Xc, np.zeros(len(yc), dtype=int))
    problem = mlp_classifier(Xc, yc)
    assert isinstance(problem, DataProblem)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 30\)"):
        problem.batch([0, 30])
    with pytest.raises(TypeError, match="indices must be integers"):
        problem.batch([0.0, 1.0])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        problem.batch([])
    w = problem.initial(0)
    with pytest.raises(ValueError, match="both X and y"):
        problem.metrics(w, Xc)
    with pytest.raises(ValueError, match="4 columns"):
        problem.metrics(w, Xc[:, :2], yc)


@pytest.mark.parametrize("name", ["classifier_tanh"])  # the new head; ~10 s with compiling
def test_derivatives_match_jax_autodiff(name):
    # Independent oracle to rounding: the same network written in jax.numpy and
    # differentiated by jax (grad, forward-over-reverse, and the gradient of v^T H v),
    # in float64. Agreement to 1e-10 relative: both are exact up to a few hundred
    # roundings of O(1) quantities.
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    problem = PROBLEMS[name]
    network = problem._network
    X_host, T_host = network.data._host
    softplus = problem.name.endswith("softplus")

    def logits(w):
        a, start = jnp.asarray(X_host), 0
        for index, (out, inp) in enumerate(network.shapes):
            W = w[start:start + out * inp].reshape(out, inp)
            b = w[start + out * inp:start + out * inp + out]
            start += out * inp + out
            z = a @ W.T + b
            if index < len(network.shapes) - 1:
                a = jnp.logaddexp(0.0, z) if softplus else jnp.tanh(z)
        return z

    def loss(w):
        z, T = logits(w), jnp.asarray(T_host)
        if problem.task == "regression":
            return jnp.sum((z - T) ** 2) / z.shape[0]
        return jnp.mean(jax.nn.logsumexp(z, axis=1) - jnp.sum(T * z, axis=1))

    def curvature_in_outputs(z, r):
        if problem.task == "regression":
            return 2.0 * r / z.shape[0]
        p = jax.nn.softmax(z, axis=1)
        return (p * r - p * jnp.sum(p * r, axis=1, keepdims=True)) / z.shape[0]

    with jax.enable_x64(True):
        w_host = np.asarray(problem.initial(3))
        v_host = np.random.default_rng(2).standard_normal(problem.dimension)
        w, v = jnp.asarray(w_host), jnp.asarray(v_host)
        grad = jax.grad(loss)

        def hvp(point, direction):
            return jax.jvp(grad, (point,), (direction,))[1]

        expected = jax.jit(lambda point: {  # one compilation instead of eager dispatch
            "value": loss(point), "grad": grad(point), "hvp": hvp(point, v),
            "third": jax.grad(lambda p: hvp(p, v) @ v)(point),
            "gauss_newton": jax.vjp(logits, point)[1](curvature_in_outputs(
                *jax.jvp(logits, (point,), (v,))))[0]})(w)
        expected = {key: np.asarray(value) for key, value in expected.items()}
    oracle = problem.oracle
    got = {"value": oracle.value(w_host), "grad": oracle.grad(w_host),
           "hvp": oracle.hvp(w_host, v_host), "third": oracle.third(w_host, v_host),
           "gauss_newton": oracle.gauss_newton(w_host, v_host)}
    for key, value in expected.items():
        scale = np.max(np.abs(value)) + 1e-300
        np.testing.assert_allclose(np.asarray(got[key]), value, rtol=0, atol=1e-10 * scale,
                                   err_msg=key)

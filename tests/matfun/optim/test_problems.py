"""Test problems: exact derivatives against finite differences, closed forms and autograd.

Finite-difference tolerances. A central difference with step ``h`` of a smooth
function ``phi`` errs by ``h^2 |phi'''| / 6`` (truncation) plus ``eps |phi| / h``
(rounding). With ``h = 1e-5`` both are ~1e-10 to 1e-11 times the size of the
derivatives involved; the derivatives of these problems at the test points are at
most ~1e3 times the quantity compared, so ``1e-6`` relative to the compared vector's
norm (plus the same absolute floor) bounds the error with a margin of ~10x, while any
wrong term in a formula shows up at O(1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matfun.optim import _mlp
from matfun.optim.problems import (
    Problem,
    mlp_regression,
    quadratic_saddle,
    rosenbrock,
    six_hump_camel,
)
from tests._helpers import to_numpy, xp_assert_close

H = 1e-5
FD_RTOL = 1e-6


def small_problems():
    return {
        "saddle": quadratic_saddle(),
        "rosenbrock2": rosenbrock(2),
        "rosenbrock5": rosenbrock(5),
        "camel": six_hump_camel(),
        "mlp_tanh": mlp_regression(depth=2, width=4, inputs=3, samples=16, seed=1),
        "mlp_softplus": mlp_regression(depth=3, width=3, inputs=2, samples=12,
                                       activation="softplus"),
        "mlp_linear": mlp_regression(depth=0, inputs=3, samples=10),
    }


PROBLEMS = small_problems()


def point_and_directions(problem, seed):
    rng = np.random.default_rng(seed)
    x = problem.initial(seed % 7)
    return np.asarray(x), rng.standard_normal(problem.dimension), rng.standard_normal(
        problem.dimension)


def on(xp, *arrays):
    return [xp.asarray(a, dtype=xp.float64) for a in arrays]


def close_to(actual, desired):
    scale = np.linalg.norm(desired) + 1.0
    np.testing.assert_allclose(to_numpy(actual), desired, rtol=0, atol=FD_RTOL * scale)


# --------------------------------------------------- derivatives against differences


@pytest.mark.parametrize("name", sorted(PROBLEMS))
@settings(max_examples=4)
@given(seed=st.integers(0, 2**31))
def test_derivatives_match_central_differences(xp, name, seed):
    problem = PROBLEMS[name]
    oracle = problem.oracle
    x, v, w = point_and_directions(problem, seed)
    xs, vs, ws = on(xp, x, v, w)
    # Reference: differences of the next-lower derivative (NumPy, float64).
    f = lambda y: float(oracle.value(y))  # noqa: E731
    slope = (f(x + H * v) - f(x - H * v)) / (2 * H)
    gradient = to_numpy(oracle.grad(xs))
    assert gradient @ v == pytest.approx(slope, rel=FD_RTOL, abs=FD_RTOL)
    close_to(oracle.hvp(xs, vs), (oracle.grad(x + H * v) - oracle.grad(x - H * v)) / (2 * H))
    close_to(oracle.third(xs, vs),
             (oracle.hvp(x + H * v, v) - oracle.hvp(x - H * v, v)) / (2 * H))
    # Third derivatives are symmetric: w . D3f[v, v, .] = d/ds v^T H(x + s w) v.
    along = (v @ oracle.hvp(x + H * w, v) - v @ oracle.hvp(x - H * w, v)) / (2 * H)
    third = to_numpy(oracle.third(xs, vs)) @ w
    assert third == pytest.approx(along, rel=FD_RTOL, abs=FD_RTOL * (1 + abs(along)))


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_dense_hessian_from_hvps_is_symmetric_and_matches_differences(name):
    problem = PROBLEMS[name]
    oracle, x = problem.oracle, np.asarray(problem.initial(3))
    identity = np.eye(problem.dimension)
    hessian = np.stack([oracle.hvp(x, e) for e in identity])
    # Exact products of a symmetric matrix: symmetric to rounding (~eps times the
    # accumulated magnitudes, far below 1e-12 of the norm here).
    norm = np.linalg.norm(hessian)
    np.testing.assert_allclose(hessian, hessian.T, rtol=0, atol=1e-12 * norm)
    jacobian = np.stack([(oracle.grad(x + H * e) - oracle.grad(x - H * e)) / (2 * H)
                         for e in identity])
    np.testing.assert_allclose(hessian, jacobian, rtol=0, atol=FD_RTOL * (norm + 1))


def test_mlp_line_jets_agree_with_backprop_and_r_operator():
    # Two independent routes: forward Taylor jets of f along u, and g, H u, D3f[u, u, .]
    # from backprop, the R-operator and jets of backprop. Agreement to rounding.
    shapes = _mlp.layer_shapes(3, 5, 3)
    X, T = _mlp.synthetic_regression(20, 3, 2)
    problem = mlp_regression(depth=3, width=5, inputs=3, samples=20, seed=2)
    w = np.asarray(problem.initial(4))
    u = np.random.default_rng(0).standard_normal(problem.dimension)
    first, second, third = _mlp.line_derivatives(np, w, u, X, T, shapes, "tanh")
    oracle = problem.oracle
    expected = (oracle.grad(w) @ u, u @ oracle.hvp(w, u), u @ oracle.third(w, u))
    for got, want in zip((first, second, third), expected, strict=True):
        assert float(got) == pytest.approx(float(want), rel=1e-12, abs=1e-13)


def test_mlp_matches_torch_autograd():
    # Independent oracle: the same network written directly in torch, differentiated by
    # autograd (double and triple backward). Agreement to rounding: 1e-10 relative.
    torch = pytest.importorskip("torch")
    depth, width, inputs, samples = 2, 4, 3, 16
    problem = mlp_regression(depth=depth, width=width, inputs=inputs, samples=samples, seed=5)
    X, T = (torch.asarray(a) for a in _mlp.synthetic_regression(samples, inputs, 5))
    shapes = _mlp.layer_shapes(inputs, width, depth)

    def loss(flat):
        a, start = X, 0
        for index, (out, inp) in enumerate(shapes):
            W = flat[start:start + out * inp].reshape(out, inp)
            b = flat[start + out * inp:start + out * inp + out]
            start += out * inp + out
            a = a @ W.T + b
            if index < len(shapes) - 1:
                a = torch.tanh(a)
        return ((a - T) ** 2).mean()

    w = torch.asarray(np.asarray(problem.initial(2)), requires_grad=True)
    v = torch.asarray(np.random.default_rng(1).standard_normal(problem.dimension))
    (gradient,) = torch.autograd.grad(loss(w), w, create_graph=True)
    (product,) = torch.autograd.grad(gradient @ v, w, create_graph=True)
    (third,) = torch.autograd.grad(product @ v, w)
    hessian = torch.autograd.functional.hessian(loss, w.detach())
    oracle, wn = problem.oracle, w.detach().numpy()
    vn = v.numpy()
    for ours, theirs in ((oracle.grad(wn), gradient), (oracle.hvp(wn, vn), product),
                         (oracle.third(wn, vn), third)):
        theirs = theirs.detach().numpy()
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10 * np.linalg.norm(theirs))
    dense = np.stack([oracle.hvp(wn, e) for e in np.eye(problem.dimension)])
    np.testing.assert_allclose(dense, hessian.numpy(), rtol=0,
                               atol=1e-10 * np.linalg.norm(dense))


def test_mlp_gauss_newton_is_jacobian_gram():
    # G = J^T (2/N) J with J the Jacobian of the outputs, built column by column from
    # central differences of the network output (1e-6 as for the other differences).
    problem = mlp_regression(depth=2, width=3, inputs=2, samples=10, seed=3)
    shapes = _mlp.layer_shapes(2, 3, 2)
    X, T = _mlp.synthetic_regression(10, 2, 3)
    w = np.asarray(problem.initial(1))

    def outputs(flat):  # the network's outputs y(x_n; w), one per sample
        return np.ravel(_mlp._forward(np, _mlp._unflatten(np, flat, shapes), X, "tanh")[0][-1])

    jacobian = np.stack([(outputs(w + H * e) - outputs(w - H * e)) / (2 * H)
                         for e in np.eye(problem.dimension)], axis=1)
    gram = jacobian.T @ jacobian * (2 / X.shape[0])
    dense = np.stack([problem.oracle.gauss_newton(w, e) for e in np.eye(problem.dimension)])
    np.testing.assert_allclose(dense, gram, rtol=0, atol=FD_RTOL * np.linalg.norm(gram))
    assert np.linalg.eigvalsh(dense)[0] >= -1e-12 * np.linalg.norm(dense)
    assert T.shape == (10, 1)


# ------------------------------------------------------------------- closed forms


def test_saddle_hessian_has_the_prescribed_curvatures(xp):
    problem = quadratic_saddle(curvatures=(2.0, -0.5), angle=0.3)
    (x,) = on(xp, [0.0, 0.0])
    hessian = np.stack([to_numpy(problem.oracle.hvp(x, e)) for e in on(xp, *np.eye(2))])
    np.testing.assert_allclose(np.linalg.eigvalsh(hessian), [-0.5, 2.0], rtol=1e-14)
    xp_assert_close(problem.oracle.grad(x), np.zeros(2), rtol=0, atol=0, xp=xp)
    xp_assert_close(problem.oracle.third(x, x + 1.0), np.zeros(2), rtol=0, atol=0, xp=xp)


def test_rosenbrock_minimum_and_hessian_there(xp):
    problem = rosenbrock(2)
    (x,) = on(xp, [1.0, 1.0])
    assert float(problem.oracle.value(x)) == 0.0
    xp_assert_close(problem.oracle.grad(x), np.zeros(2), rtol=0, atol=0, xp=xp)
    hessian = np.stack([to_numpy(problem.oracle.hvp(x, e)) for e in on(xp, *np.eye(2))])
    np.testing.assert_array_equal(hessian, [[802.0, -400.0], [-400.0, 200.0]])
    np.testing.assert_array_equal(to_numpy(problem.initial(xp=xp)), [-1.2, 1.0])


def test_six_hump_camel_global_minima():
    # Known minimisers (Dixon-Szego, 8 digits): gradient ~0 to the rounding of the
    # given digits (1e-7 times the Hessian ~ 10), value -1.0316284535.
    problem = six_hump_camel()
    for sign in (1.0, -1.0):
        x = sign * np.array([0.08984201, -0.71265640])
        assert float(problem.oracle.value(x)) == pytest.approx(-1.0316284535, abs=1e-9)
        np.testing.assert_allclose(problem.oracle.grad(x), 0.0, atol=1e-6)
        hessian = np.stack([problem.oracle.hvp(x, e) for e in np.eye(2)])
        assert np.linalg.eigvalsh(hessian)[0] > 0
    # The origin is a stationary point (a saddle: f_xx = 8, f_yy = -8).
    origin = np.zeros(2)
    np.testing.assert_array_equal(problem.oracle.grad(origin), 0.0)
    hessian = np.stack([problem.oracle.hvp(origin, e) for e in np.eye(2)])
    eigenvalues = np.linalg.eigvalsh(hessian)
    assert eigenvalues[0] < 0 < eigenvalues[1]


# ------------------------------------------------------------ backends and dtypes


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_backends_and_float32(xp, name):
    problem = PROBLEMS[name]
    oracle = problem.oracle
    x64 = problem.initial(2, xp=xp)
    x32 = problem.initial(2, xp=xp, dtype=xp.float32)
    v = xp.asarray(np.linspace(-1.0, 1.0, problem.dimension), dtype=xp.float32)
    reference = problem.initial(2)
    np.testing.assert_array_equal(to_numpy(x64), reference)
    for fn in (oracle.grad, lambda y: oracle.hvp(y, xp.astype(v, y.dtype)),
               lambda y: oracle.third(y, xp.astype(v, y.dtype))):
        out64, out32 = fn(x64), fn(x32)
        assert out32.dtype == xp.float32 and out64.dtype == xp.float64
        assert tuple(out32.shape) == (problem.dimension,)
        # float32 rounding (eps 1.2e-7) amplified by at most ~1e3 through the layers.
        np.testing.assert_allclose(to_numpy(out32), to_numpy(out64), rtol=0,
                                   atol=1e-4 * (np.linalg.norm(to_numpy(out64)) + 1))
    assert xp.asarray(oracle.value(x32)).dtype == xp.float32


# ------------------------------------------------------------------- the structure


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_groups_partition_the_parameters(name):
    problem = PROBLEMS[name]
    count = np.zeros(problem.dimension, dtype=int)
    for group in problem.groups:
        count[group] += 1
    np.testing.assert_array_equal(count, 1)
    assert isinstance(problem, Problem)


def test_default_mlp_is_the_uci_energy_shape():
    problem = mlp_regression()
    # 8 -> 12 (x7) -> 1: 8*12+12 + 6*(12*12+12) + 12+1 weights and biases.
    assert problem.dimension == 108 + 6 * 156 + 13 == 1057
    assert len(problem.groups) == 16
    X, T = _mlp.synthetic_regression(256, 8, 0)
    assert X.shape == (256, 8) and T.shape == (256, 1)
    np.testing.assert_allclose([T.mean(), T.std()], [0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    X2, T2 = _mlp.synthetic_regression(256, 8, 0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(T, T2)
    w = problem.initial(0)
    # LeCun initialisation keeps the output of order one, the loss of order the variance.
    assert 0.1 < float(problem.oracle.value(w)) < 10.0
    assert math.isfinite(float(np.linalg.norm(problem.oracle.hvp(w, w))))


def test_initial_points_are_reproducible():
    problem = rosenbrock(4)
    np.testing.assert_array_equal(problem.initial(0), [-1.2, 1.0, -1.2, 1.0])
    np.testing.assert_array_equal(problem.initial(3), problem.initial(3))
    assert not np.array_equal(problem.initial(3), problem.initial(4))


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: rosenbrock(1), r"dimension must be an integer in \[2, "),
        (lambda: rosenbrock(10**30), "dimension must be an integer in"),
        (lambda: quadratic_saddle(curvatures=(1.0, 0.0)), "curvatures must be two non-zero"),
        (lambda: quadratic_saddle(curvatures=(1.0,)), "curvatures must be two"),
        (lambda: quadratic_saddle(angle=math.inf), "angle must be finite"),
        (lambda: mlp_regression(depth=-1), r"depth must be an integer in \[0, "),
        (lambda: mlp_regression(width=0), r"width must be an integer in \[1, "),
        (lambda: mlp_regression(samples=1), r"samples must be an integer in \[2, "),
        (lambda: mlp_regression(activation="relu"), "activation must be one of"),
        (lambda: rosenbrock(2).initial(-1), "seed must be a non-negative integer"),
        (lambda: rosenbrock(2).initial(0, dtype=np.int64), "dtype must be a real floating"),
    ],
)
def test_bad_input(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: rosenbrock(2.0), "dimension must be an integer, got 2.0"),
        (lambda: rosenbrock(True), "dimension must be an integer, got True"),
        (lambda: mlp_regression(depth="2"), "depth must be an integer"),
        (lambda: quadratic_saddle(angle="0.5"), "angle must be a real number"),
        (lambda: quadratic_saddle(curvatures=None), "curvatures must be two real numbers"),
    ],
)
def test_bad_input_types(build, message):
    with pytest.raises(TypeError, match=message):
        build()

"""matfun.optim.torch: the torch.optim classes take the NumPy forms' steps.

References are independent of the adapter: the NumPy methods of :mod:`matfun.optim` on
NumPy oracles (a quadratic with its matrix; the MLP of ``problems.mlp_regression``
with hand-written backprop, R-operator and Taylor jets), ``torch.autograd.functional
.hessian`` and finite differences for the closure oracle's derivatives.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from matfun.optim import (  # noqa: E402
    Oracle,
    _mlp,
    adamqlr,
    adaptive,
    exact_sfn,
    grouped_newton,
    problems,
    sfn_series,
)
from matfun.optim.torch import (  # noqa: E402
    AdamQLR,
    AdaptiveSFN,
    ExactSFN,
    GroupedNewton,
    SFNSeries,
)
from matfun.optim.torch._oracle import ClosureOracle, FunctionalOracle  # noqa: E402

# torch.func's first use scripts a helper inside torch itself (torch 2.13 warns about its own
# torch.jit.script); nothing of ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning")

# Both forms run the same algorithm in float64; they differ only in the summation order
# of matmuls and norms (eps ~ 2e-16 per operation). Over a few steps of conditioning
# kappa <= 10 (quadratic) or the MLP's smooth Hessian, that stays far below 1e-10
# relative; an error in the plumbing (a wrong chunk order, a stale graph, a lost
# state) is O(1).
STEP_RTOL = 1e-10

# (NumPy method, torch class and options); the two build the same method.
METHODS = {
    "sfn_series": (lambda groups: sfn_series(learning_rate=0.5, terms=12, initial_scale=50.0,
                                             momentum=0.5),
                   lambda ps: SFNSeries(ps, learning_rate=0.5, terms=12, initial_scale=50.0,
                                        momentum=0.5)),
    "sfn_series_adaptive_scale": (
        lambda groups: sfn_series(learning_rate=1.0, terms=9, scale="adaptive", damping=0.1,
                                  momentum=0.3),
        lambda ps: SFNSeries(ps, learning_rate=1.0, terms=9, scale="adaptive", damping=0.1,
                             momentum=0.3)),
    "exact_sfn": (lambda groups: exact_sfn(momentum=0.3),
                  lambda ps: ExactSFN(ps, momentum=0.3)),
    "adaptive_series": (
        lambda groups: adaptive(sfn_series(learning_rate=1.0, terms=12, initial_scale=50.0)),
        lambda ps: AdaptiveSFN(ps, sfn_series(learning_rate=1.0, terms=12, initial_scale=50.0))),
    "adaptive_exact": (
        lambda groups: adaptive(exact_sfn(), initial_damping=0.1, curvature_ema=0.5),
        lambda ps: AdaptiveSFN(ps, exact_sfn(), initial_damping=0.1, curvature_ema=0.5)),
    "grouped_newton": (lambda groups: grouped_newton(groups=groups, damping=0.5, momentum=0.5),
                       lambda ps: GroupedNewton(ps, damping=0.5, momentum=0.5)),
    "grouped_newton_cubic": (lambda groups: grouped_newton(groups=groups, cubic=1.0,
                                                           damping=0.5, momentum=0.3),
                             lambda ps: GroupedNewton(ps, cubic=1.0, damping=0.5,
                                                      momentum=0.3)),
    "adamqlr": (lambda groups: adamqlr(initial_damping=0.1),
                lambda ps: AdamQLR(ps, initial_damping=0.1)),
}


def flat(params):
    return torch.cat([p.detach().reshape(-1) for p in params]).numpy()


# --- a quadratic saddle split over two tensors -------------------------------------------
def saddle(seed=0, n=10):
    """f(x) = x^T A x / 2 - b^T x with eigenvalues +-[1, 4] (an indefinite Hessian)."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eigenvalues = rng.uniform(1.0, 4.0, n) * np.where(np.arange(n) % 3 == 0, -1.0, 1.0)
    A = (Q * eigenvalues) @ Q.T
    A = 0.5 * (A + A.T)
    b = rng.standard_normal(n)
    x0 = rng.standard_normal(n)
    oracle = Oracle(value=lambda x: 0.5 * x @ A @ x - b @ x, grad=lambda x: A @ x - b,
                    hvp=lambda x, v: A @ v, third=lambda x, v: 0.0)
    return A, b, x0, oracle


def saddle_model(A, b, x0):
    """The same quadratic in torch, its parameters a 2 x 3 matrix and a 4-vector."""
    W = torch.nn.Parameter(torch.tensor(x0[:6].reshape(2, 3)))
    c = torch.nn.Parameter(torch.tensor(x0[6:]))
    At, bt = torch.tensor(A), torch.tensor(b)

    def closure():
        x = torch.cat([W.reshape(-1), c])
        return 0.5 * x @ At @ x - bt @ x

    return [W, c], closure


# The cubic term needs third derivatives, which vanish on a quadratic (no minimiser there).
@pytest.mark.parametrize("name", sorted(set(METHODS) - {"grouped_newton_cubic"}))
def test_quadratic_steps_equal_the_numpy_form(name):
    A, b, x0, oracle = saddle()
    make_numpy, make_torch = METHODS[name]
    reference = make_numpy([slice(0, 6), slice(6, 10)])
    params, closure = saddle_model(A, b, x0)
    optimizer = make_torch(params)
    x, state = x0.copy(), reference.init(x0)
    for _ in range(4):
        x, state, info = reference.update(state, x, oracle)
        loss = optimizer.step(closure)
        assert float(loss) == pytest.approx(info["loss"], rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(flat(params), x, rtol=0,
                                   atol=STEP_RTOL * np.max(np.abs(x)))
        assert optimizer.last_info["matvecs"] == info["matvecs"]


@given(seed=st.integers(0, 2**31 - 1), cuts=st.lists(st.integers(1, 7), max_size=3,
                                                    unique=True))
def test_exact_sfn_step_is_the_closed_form(seed, cuts):
    # Closed form, independent of both forms: on f = x^T A x / 2 - b^T x (no |eigenvalue|
    # below the threshold) one step of exact SFN is x - |A|^{-1} (A x - b), |A| from
    # numpy.linalg.eigh. The vector is split into tensors at random cuts. Tolerance:
    # kappa(|A|) <= 4 times a few eps, relative to the step.
    rng = np.random.default_rng(seed)
    n = 8
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eigenvalues = rng.uniform(1.0, 4.0, n) * rng.choice([-1.0, 1.0], n)
    A = (Q * eigenvalues) @ Q.T
    A = 0.5 * (A + A.T)
    b, x0 = rng.standard_normal(n), rng.standard_normal(n)
    bounds = [0, *sorted(cuts), n]
    params = [torch.nn.Parameter(torch.tensor(x0[a:z])) for a, z in zip(bounds[:-1], bounds[1:],
                                                                       strict=True)]
    At, bt = torch.tensor(A), torch.tensor(b)

    def closure():
        x = torch.cat(params)
        return 0.5 * x @ At @ x - bt @ x

    ExactSFN(params).step(closure)
    values, vectors = np.linalg.eigh(A)
    step = vectors @ ((vectors.T @ (A @ x0 - b)) / np.abs(values))
    np.testing.assert_allclose(flat(params), x0 - step, rtol=0,
                               atol=1e-13 * (np.linalg.norm(step) + np.linalg.norm(x0)))


def test_grouped_newton_with_scalar_tensors_is_newton():
    # Seed 001, appendix C: each coordinate its own group (here each a 0-d tensor) and a
    # positive definite A: one step is Newton's, x - A^{-1}(A x - b), i.e. A^{-1} b.
    rng = np.random.default_rng(7)
    n = 5
    M = rng.standard_normal((n, n))
    A = M @ M.T + n * np.eye(n)
    b, x0 = rng.standard_normal(n), rng.standard_normal(n)
    params = [torch.nn.Parameter(torch.tensor(value)) for value in x0]
    At, bt = torch.tensor(A), torch.tensor(b)

    def closure():
        x = torch.stack(list(params))
        return 0.5 * x @ At @ x - bt @ x

    optimizer = GroupedNewton(params)
    optimizer.step(closure)
    assert optimizer.last_info["matvecs"] == n
    np.testing.assert_allclose(flat(params), np.linalg.solve(A, b), rtol=0,
                               atol=1e-12 * np.linalg.norm(np.linalg.solve(A, b)))


# --- a small MLP: nn.Sequential against problems.mlp_regression ---------------------------
DEPTH, WIDTH, INPUTS, SAMPLES, SEED = 2, 4, 3, 16, 5


def mlp_problem():
    problem = problems.mlp_regression(depth=DEPTH, width=WIDTH, inputs=INPUTS, samples=SAMPLES,
                                      seed=SEED)
    return problem, np.asarray(problem.initial(2))


def mlp_model(w0, dtype=torch.float64):
    """nn.Sequential with the flat layout of _mlp (per layer: weight row-major, bias)."""
    layers = []
    for index, (out, inp) in enumerate(_mlp.layer_shapes(INPUTS, WIDTH, DEPTH)):
        layers.append(torch.nn.Linear(inp, out, dtype=dtype))
        if index < DEPTH:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    torch.nn.utils.vector_to_parameters(torch.tensor(w0, dtype=dtype), model.parameters())
    X, T = (torch.tensor(a, dtype=dtype) for a in _mlp.synthetic_regression(SAMPLES, INPUTS,
                                                                             SEED))

    def closure():
        return ((model(X) - T) ** 2).mean()

    return model, closure


def test_mlp_model_is_the_numpy_problem():
    # Guards the layout the next tests rely on: same loss, same gradient.
    problem, w0 = mlp_problem()
    model, closure = mlp_model(w0)
    loss = closure()
    loss.backward()
    gradient = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).numpy()
    assert float(loss.detach()) == pytest.approx(float(problem.oracle.value(w0)), rel=1e-13)
    np.testing.assert_allclose(gradient, problem.oracle.grad(w0), rtol=0,
                               atol=1e-12 * np.linalg.norm(gradient))


@pytest.mark.parametrize("name", sorted(METHODS))
def test_mlp_steps_equal_the_numpy_form(name):
    problem, w0 = mlp_problem()
    make_numpy, make_torch = METHODS[name]
    reference = make_numpy(problem.groups)  # one slice per weight matrix and per bias
    model, closure = mlp_model(w0)
    optimizer = make_torch(model.parameters())
    x, state = w0.copy(), reference.init(w0)
    for _ in range(3):
        x, state, info = reference.update(state, x, problem.oracle)
        optimizer.step(closure)
        np.testing.assert_allclose(flat(model.parameters()), x, rtol=0,
                                   atol=STEP_RTOL * np.max(np.abs(x)))
        assert optimizer.last_info["loss"] == pytest.approx(info["loss"], rel=STEP_RTOL)


def mlp_loss_fn(model):
    """The MLP's loss as a pure function of its parameter tensors (torch.func form)."""
    names = [name for name, _ in model.named_parameters()]
    X, T = (torch.tensor(a, dtype=next(model.parameters()).dtype)
            for a in _mlp.synthetic_regression(SAMPLES, INPUTS, SEED))

    def loss_fn(*tensors):
        outputs = torch.func.functional_call(model, dict(zip(names, tensors, strict=True)),
                                             (X,))
        return ((outputs - T) ** 2).mean()

    return loss_fn


@pytest.mark.parametrize("name", ["adamqlr", "adaptive_exact", "grouped_newton_cubic",
                                  "sfn_series"])
def test_mlp_steps_with_torch_func_equal_the_numpy_form(name):
    problem, w0 = mlp_problem()
    make_numpy, make_torch = METHODS[name]
    reference = make_numpy(problem.groups)
    model, _ = mlp_model(w0)
    loss_fn = mlp_loss_fn(model)
    optimizer = make_torch(model.parameters())
    x, state = w0.copy(), reference.init(w0)
    for _ in range(3):
        x, state, info = reference.update(state, x, problem.oracle)
        loss = optimizer.step(loss_fn=loss_fn)
        assert float(loss) == pytest.approx(info["loss"], rel=STEP_RTOL)
        np.testing.assert_allclose(flat(model.parameters()), x, rtol=0,
                                   atol=STEP_RTOL * np.max(np.abs(x)))


def test_grouped_newton_partition_per_param_group():
    problem, w0 = mlp_problem()
    model, closure = mlp_model(w0)
    layers = [m for m in model if isinstance(m, torch.nn.Linear)]
    optimizer = GroupedNewton([{"params": list(layer.parameters())} for layer in layers],
                              partition="param_group")
    sizes = [sum(p.numel() for p in layer.parameters()) for layer in layers]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    per_layer = grouped_newton(groups=[slice(a, b) for a, b in zip(starts[:-1], starts[1:],
                                                                        strict=True)])
    per_tensor = grouped_newton(groups=problem.groups)
    optimizer.step(closure)
    expected, _, info = per_layer.update(per_layer.init(w0), w0, problem.oracle)
    other, _, _ = per_tensor.update(per_tensor.init(w0), w0, problem.oracle)
    assert len(info["learning_rates"]) == len(layers) == 3
    assert np.max(np.abs(expected - other)) > 1e-3  # the partition matters here
    np.testing.assert_allclose(flat(model.parameters()), expected, rtol=0,
                               atol=STEP_RTOL * np.max(np.abs(expected)))


# --- the closure oracle's derivatives -------------------------------------------------------
def test_closure_oracle_derivatives_match_autograd_hessian_and_differences():
    problem, w0 = mlp_problem()
    model, closure = mlp_model(w0)
    params = list(model.parameters())
    origin = torch.tensor(w0)
    source = ClosureOracle(params, closure, origin)
    X, T = (torch.tensor(a) for a in _mlp.synthetic_regression(SAMPLES, INPUTS, SEED))

    names = [name for name, _ in model.named_parameters()]

    def loss(w):  # the same network as a function of the flat vector
        pieces = [c.view_as(p) for c, p in zip(torch.split(w, [p.numel() for p in params]),
                                                params, strict=True)]
        outputs = torch.func.functional_call(model, dict(zip(names, pieces, strict=True)),
                                             (X,))
        return ((outputs - T) ** 2).mean()

    hessian = torch.autograd.functional.hessian(loss, origin.clone()).numpy()
    rng = np.random.default_rng(3)
    v = torch.tensor(rng.standard_normal(w0.size))
    product = source.hvp(origin, v).numpy()
    np.testing.assert_allclose(product, hessian @ v.numpy(), rtol=0,
                               atol=1e-12 * np.linalg.norm(hessian) * np.linalg.norm(v))
    # D^3 f[v, v, v] = d/dt v^T H(w + t v) v: central differences of the independent
    # NumPy R-operator, truncation O(t^2) ~ 1e-8 relative at t = 1e-4.
    t = 1e-4
    vn = v.numpy()
    difference = (vn @ problem.oracle.hvp(w0 + t * vn, vn)
                  - vn @ problem.oracle.hvp(w0 - t * vn, vn)) / (2 * t)
    third = float(source.third(origin, v))
    assert third == pytest.approx(difference, rel=1e-6)
    assert third == pytest.approx(float(vn @ problem.oracle.third(w0, vn)), rel=1e-10)


def test_torch_func_oracle_agrees_with_double_backward():
    # Forward-over-reverse and nested jvp against double and triple backward; both
    # exact to rounding, so 1e-12 relative.
    _, w0 = mlp_problem()
    model, closure = mlp_model(w0)
    params = list(model.parameters())
    origin = torch.tensor(w0)
    functional = FunctionalOracle(params, mlp_loss_fn(model), origin)
    reverse = ClosureOracle(params, closure, origin)
    v = torch.tensor(np.random.default_rng(4).standard_normal(w0.size))
    assert float(functional.value(origin)) == pytest.approx(float(reverse.value(origin)),
                                                            rel=1e-14)
    for ours, theirs in ((functional.grad(origin), reverse.grad(origin)),
                         (functional.hvp(origin, v), reverse.hvp(origin, v))):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0,
                                   atol=1e-12 * float(theirs.norm()))
    assert float(functional.third(origin, v)) == pytest.approx(
        float(reverse.third(origin, v)), rel=1e-12)


def test_value_and_gradient_are_fused():
    # One closure evaluation (with autograd) per step for the series; AdamQLR and the
    # adaptive form one more at the trial point, without autograd.
    problem, w0 = mlp_problem()
    for make, calls in ((lambda ps: SFNSeries(ps, learning_rate=0.5, terms=8), [True]),
                        (lambda ps: AdamQLR(ps), [True, False]),
                        (lambda ps: GroupedNewton(ps, cubic=1.0), [True])):
        model, closure = mlp_model(w0)
        seen = []

        def counted(closure=closure, seen=seen):
            seen.append(torch.is_grad_enabled())
            return closure()

        make(model.parameters()).step(counted)
        assert seen == calls


# --- state --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(METHODS))
def test_state_dict_resumes_the_same_next_step(name):
    _, w0 = mlp_problem()
    make = METHODS[name][1]
    model, closure = mlp_model(w0)
    optimizer = make(model.parameters())
    for _ in range(2):
        optimizer.step(closure)
    saved_params = flat(model.parameters()).copy()
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)  # plain data: loads with weights_only
    optimizer.step(closure)
    uninterrupted = flat(model.parameters())

    resumed_model, resumed_closure = mlp_model(saved_params)
    resumed = make(resumed_model.parameters())
    buffer.seek(0)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    resumed.step(resumed_closure)
    np.testing.assert_array_equal(flat(resumed_model.parameters()), uninterrupted)

    fresh_model, fresh_closure = mlp_model(saved_params)
    fresh = make(fresh_model.parameters())
    fresh.step(fresh_closure)  # without the state the step differs: the test can fail
    assert not np.array_equal(flat(fresh_model.parameters()), uninterrupted)


def test_state_is_kept_per_parameter():
    _, w0 = mlp_problem()
    model, closure = mlp_model(w0)
    optimizer = AdamQLR(model.parameters())
    optimizer.step(closure)
    params = list(model.parameters())
    for p in params:
        assert optimizer.state[p]["first_moment"].shape == p.shape
    assert optimizer.state[params[0]]["step"] == 1


def test_changing_an_option_in_param_groups_takes_effect():
    A, b, x0, _ = saddle()
    runs = []
    for rate in (0.5, 1.0):
        params, closure = saddle_model(A, b, x0)
        optimizer = SFNSeries(params, learning_rate=0.5, terms=12, initial_scale=50.0)
        optimizer.step(closure)
        before = flat(params).copy()
        for group in optimizer.param_groups:
            group["lr"] = rate  # the learning rate's key in the groups, as in torch.optim
        optimizer.step(closure)
        runs.append(flat(params) - before)
    np.testing.assert_allclose(runs[1], 2 * runs[0], rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["sfn_series", "exact_sfn"])
def test_torch_learning_rate_schedulers_drive_the_learning_rate(name):
    # StepLR halves group["lr"] after every step: the method must take each step with
    # the rate the scheduler set (before: KeyError 'lr' inside torch's scheduler).
    A, b, x0, _ = saddle()
    params, closure = saddle_model(A, b, x0)
    build = {"sfn_series": lambda: SFNSeries(params, learning_rate=0.8, terms=12,
                                            initial_scale=50.0),
             "exact_sfn": lambda: ExactSFN(params, learning_rate=0.8)}[name]
    optimizer = build()
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    rates = []
    for _ in range(3):
        rates.append(optimizer.param_groups[0]["lr"])
        before = flat(params).copy()
        optimizer.step(closure)
        scheduler.step()
        assert optimizer.last_info["learning_rate"] == rates[-1]
        assert np.all(np.isfinite(flat(params) - before))
    assert rates == [0.8, 0.4, 0.2]


@pytest.mark.parametrize("name", ["adaptive", "grouped_newton", "adamqlr"])
def test_a_scheduler_on_a_method_without_learning_rate_is_told_why(name):
    # These choose their step lengths: no "lr" in the groups. Before: torch's scheduler
    # stopped with a bare KeyError: 'lr'. Also after a state_dict round trip.
    A, b, x0, _ = saddle()
    params, closure = saddle_model(A, b, x0)
    optimizer = {"adaptive": lambda: AdaptiveSFN(params, base=exact_sfn()),
                 "grouped_newton": lambda: GroupedNewton(params),
                 "adamqlr": lambda: AdamQLR(params)}[name]()
    for _ in range(2):
        with pytest.raises(KeyError, match="chooses its step lengths itself"):
            torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        with pytest.raises(KeyError, match="schedulers do not apply"):
            torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
        optimizer.step(closure)
        optimizer.load_state_dict(optimizer.state_dict())
    with pytest.raises(KeyError, match="'no_such_key'"):
        optimizer.param_groups[0]["no_such_key"]  # other keys: the plain KeyError


def test_state_saved_with_the_old_learning_rate_key_loads():
    A, b, x0, _ = saddle()
    params, closure = saddle_model(A, b, x0)
    optimizer = SFNSeries(params, learning_rate=0.5, terms=12, initial_scale=50.0)
    optimizer.step(closure)
    saved = optimizer.state_dict()
    saved["param_groups"] = [{("learning_rate" if key == "lr" else key): value
                              for key, value in group.items()}
                             for group in saved["param_groups"]]
    again = SFNSeries(params, learning_rate=0.1, terms=12, initial_scale=50.0)
    again.load_state_dict(saved)
    assert again.param_groups[0]["lr"] == 0.5


def test_float32_parameters_stay_float32_and_train():
    _, w0 = mlp_problem()
    model, closure = mlp_model(w0, dtype=torch.float32)
    optimizer = AdaptiveSFN(model.parameters(), sfn_series(learning_rate=1.0, terms=12))
    first = float(optimizer.step(closure))
    for _ in range(9):
        last = float(optimizer.step(closure))
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert last < 0.5 * first


# --- bad input ----------------------------------------------------------------------------
def quadratic_params():
    return [torch.nn.Parameter(torch.ones(3, dtype=torch.float64))]


def test_step_needs_a_closure_or_a_loss_function():
    (p,) = params = quadratic_params()
    optimizer = SFNSeries(params, learning_rate=1.0, terms=5)
    with pytest.raises(TypeError, match="closure.*neither"):
        optimizer.step()
    with pytest.raises(TypeError, match="both"):
        optimizer.step(lambda: (p**2).sum(), loss_fn=lambda q: (q**2).sum())
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        optimizer.step(loss_fn=3.0)
    with pytest.raises(ValueError, match="loss_fn must return a scalar"):
        optimizer.step(loss_fn=lambda q: q**2)


def test_closure_that_calls_backward_is_explained():
    (p,) = params = quadratic_params()
    optimizer = SFNSeries(params, learning_rate=1.0, terms=5)

    def closure():
        optimizer.zero_grad()
        loss = (p**4).sum()
        loss.backward()
        return loss

    with pytest.raises(ValueError, match="without calling loss.backward"):
        optimizer.step(closure)


@pytest.mark.parametrize("returned, error, match", [
    (lambda p: 1.0, TypeError, "torch.Tensor"),
    (lambda p: p * p, ValueError, "scalar loss"),
    (lambda p: (p * p).sum().detach(), ValueError, "does not require grad"),
    (lambda p: (p * p).sum() > 0, TypeError, "real floating"),
])
def test_bad_closure_results(returned, error, match):
    (p,) = params = quadratic_params()
    with pytest.raises(error, match=match):
        AdamQLR(params).step(lambda: returned(p))


@pytest.mark.parametrize("params, error, match", [
    ([], ValueError, "empty"),
    ([torch.ones(3, dtype=torch.int64)], TypeError, "real floating"),
    ([torch.ones(3, dtype=torch.complex128, requires_grad=True)], TypeError, "real floating"),
    ([torch.ones(3, dtype=torch.float64)], ValueError, "does not require grad"),
    ([torch.ones(3, dtype=torch.float64, requires_grad=True),
      torch.ones(2, dtype=torch.float32, requires_grad=True)], TypeError, "share dtype"),
])
def test_bad_parameters(params, error, match):
    with pytest.raises(error, match=match):
        SFNSeries(params, learning_rate=1.0, terms=5)


def test_sparse_parameters_and_sparse_gradients_are_refused():
    sparse = torch.eye(3, dtype=torch.float64).to_sparse().requires_grad_()
    with pytest.raises(TypeError, match="sparse"):
        ExactSFN([sparse])
    embedding = torch.nn.Embedding(5, 2, sparse=True, dtype=torch.float64)
    optimizer = AdamQLR(embedding.parameters())
    with pytest.raises(TypeError, match="sparse gradients"):
        optimizer.step(lambda: embedding(torch.tensor([0, 2])).pow(2).sum())


def test_bad_options():
    with pytest.raises(ValueError, match="learning_rate"):
        SFNSeries(quadratic_params(), learning_rate=-1.0, terms=5)
    with pytest.raises(ValueError, match="partition"):
        GroupedNewton(quadratic_params(), partition="layer")
    with pytest.raises(ValueError, match="curvature"):
        AdamQLR(quadratic_params(), curvature="gauss_newton")
    with pytest.raises(TypeError, match="base"):
        AdaptiveSFN(quadratic_params(), base="series")
    a, b = quadratic_params(), quadratic_params()
    with pytest.raises(ValueError, match=r"param_groups\[1\] sets terms"):
        SFNSeries([{"params": a}, {"params": b, "terms": 7}], learning_rate=1.0, terms=5)


def test_a_failing_step_leaves_parameters_and_state_as_they_were():
    # The closure fails at AdamQLR's trial point (its second call), after the trial
    # values were written into the tensors: the error propagates, the tensors hold the
    # starting point again and the state has not moved.
    (p,) = params = quadratic_params()
    optimizer = AdamQLR(params)
    optimizer.step(lambda: (p**2).sum())
    before = p.detach().clone()
    calls = []

    def closure():
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("data loader failed")
        return (p**2).sum()

    with pytest.raises(RuntimeError, match="data loader failed"):
        optimizer.step(closure)
    assert torch.equal(p.detach(), before)
    assert optimizer.state[p]["step"] == 1


def test_add_param_group_after_a_step_is_refused():
    (p,) = params = quadratic_params()
    optimizer = AdamQLR(params)
    optimizer.step(lambda: (p**2).sum())
    with pytest.raises(ValueError, match="add_param_group"):
        optimizer.add_param_group({"params": quadratic_params()})


def test_documented_example_runs():
    # The example of docs/optim_torch.md (kept in a non-executed fence there: the
    # documentation tests run without torch), with its stated output checked.
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    X, y = torch.randn(64, 3), torch.randn(64, 1)
    optimizer = SFNSeries(model.parameters(), learning_rate=1.0, terms=10)

    def closure():
        return torch.nn.functional.mse_loss(model(X), y)   # no backward(): see below

    losses = []
    for _ in range(20):
        loss = optimizer.step(closure)        # the loss before the step
        losses.append(float(loss))
    assert optimizer.last_info["matvecs"] == 18
    state = optimizer.state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    torch.load(buffer, weights_only=True)
    assert losses[-1] < 0.9 * losses[0]


def test_quick_benchmark_writes_its_table(tmp_path):
    # benchmarks/bench_optim_torch.py --quick (a few seconds), so that the script never rots.
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_optim_torch.py"
    spec = importlib.util.spec_from_file_location("bench_optim_torch", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    output = tmp_path / "bench.md"
    threads = torch.get_num_threads()
    try:
        assert module.main(["--quick", "--breakdown", "--output", str(output)]) == 0
    finally:
        torch.set_num_threads(threads)
    text = output.read_text()
    for step in ("AdamQLR", "SFNSeries K=10, accelerate=sablonniere", "torch.func",
                 "power iteration by hand", "accelerator's table"):
        assert step in text
    assert "nan" not in text.lower()
    # The breakdown's parts: differences of nested timers, so never negative, and the
    # table (only the accelerated step has one) is zero without the accelerator.
    rows = [line.split("|")[1:-1] for line in text.splitlines() if line.count("|") == 4]
    parts = {(step.strip(), part.strip()): float(ms) for step, part, ms in rows[1:]
             if ms.strip() != "---"}
    assert len(parts) == 16 and all(value >= 0 for value in parts.values())
    assert parts[("SFNSeries K=10, accelerate=None", "accelerator's table")] == 0
    assert parts[("SFNSeries K=10, accelerate=sablonniere", "accelerator's table")] > 0


def test_flat_gradient_products_equal_the_per_parameter_double_backward():
    # hvp() runs one backward pass from the flat gradient (its graph includes the
    # concatenation); the per-parameter route (one output per tensor, the direction
    # split by hand) is the reference, and so is the dense autograd Hessian. An unused
    # parameter gets a zero block; a loss linear in the parameters a zero product.
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 2).double()
    unused = torch.nn.Parameter(torch.randn(4, dtype=torch.float64))
    X = torch.randn(5, 3, dtype=torch.float64)
    params = [layer.weight, layer.bias, unused]

    def closure():
        return torch.tanh(layer(X)).pow(2).sum()

    origin = torch.cat([p.detach().reshape(-1) for p in params])
    source = ClosureOracle(params, closure, origin)
    v = torch.randn(origin.numel(), dtype=torch.float64)
    product = source.hvp(origin, v)
    by_parameter = torch.cat([h.reshape(-1) for h in source._backward(
        source.grads, source._chunks(v), create_graph=False)])
    sizes = [p.numel() for p in params]

    def loss(w):
        weight, bias, _ = torch.split(w, sizes)
        return torch.tanh(X @ weight.view(2, 3).T + bias).pow(2).sum()

    hessian = torch.autograd.functional.hessian(loss, origin.clone())
    scale = float(hessian.norm() * v.norm())
    np.testing.assert_allclose(product.numpy(), by_parameter.numpy(), rtol=0,
                               atol=1e-14 * scale)
    np.testing.assert_allclose(product.numpy(), (hessian @ v).numpy(), rtol=0,
                               atol=1e-13 * scale)
    assert torch.all(product[-4:] == 0)

    linear = ClosureOracle(params, lambda: (layer(X).sum() + unused.sum()), origin)
    assert torch.all(linear.hvp(origin, v) == 0)


@pytest.mark.parametrize("contiguous", [True, False])
def test_loading_a_point_writes_every_parameter(contiguous):
    # Contiguous parameters are written by one multi-tensor copy into flat views; any
    # other layout tensor by tensor. Either way the tensors then hold the point.
    weight = torch.nn.Parameter(torch.zeros(3, 4, dtype=torch.float64))
    if not contiguous:
        weight = torch.nn.Parameter(torch.zeros(4, 3, dtype=torch.float64).T)
    bias = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    params = [weight, bias]
    origin = torch.cat([p.detach().reshape(-1) for p in params])
    source = ClosureOracle(params, lambda: (weight.sum() + bias.sum()) ** 2, origin)
    assert (source._flat_params is None) is not contiguous
    point = torch.arange(15, dtype=torch.float64)
    source.value(point)
    np.testing.assert_array_equal(weight.detach().numpy(), np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(bias.detach().numpy(), [12.0, 13.0, 14.0])
    assert float(source.value(point)) == float(point.sum()) ** 2

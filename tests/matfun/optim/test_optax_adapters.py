"""The optax forms of matfun.optim: same steps as the NumPy forms, jit, pytrees, failures.

Float64 throughout: a module-scoped fixture turns on ``jax_enable_x64`` and restores the
previous setting afterwards (the NumPy forms run in float64, and the comparisons below
are at float64 rounding).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402

from matfun import SeriesDivergenceError, optim  # noqa: E402
from matfun.optim import NonFiniteError, Oracle, SingularCurvatureError, _mlp  # noqa: E402
from matfun.optim import optax as mo  # noqa: E402
from matfun.optim._cubic import UnboundedModelError  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module", autouse=True)
def float64():
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


# --- problems: a NumPy oracle and the same objective in jax.numpy -----------------------

def quadratic(n=12, seed=0):
    """``x^T H x / 2 + b^T x``, ``H`` with 8 positive and 4 negative eigenvalues in [0.5, 3]."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    k = 2 * n // 3
    eigenvalues = np.concatenate([rng.uniform(0.5, 3, k), -rng.uniform(0.5, 3, n - k)])
    H = Q @ np.diag(eigenvalues) @ Q.T
    H = 0.5 * (H + H.T)
    b = rng.standard_normal(n)
    oracle = Oracle(value=lambda x: 0.5 * x @ H @ x + b @ x, grad=lambda x: H @ x + b,
                    hvp=lambda x, v: H @ v)
    Hj, bj = jnp.asarray(H), jnp.asarray(b)

    def loss(x):
        return 0.5 * x @ Hj @ x + bj @ x

    return oracle, loss, rng.standard_normal(n), None


def mlp():
    """``problems.mlp_regression(depth=1, width=4, samples=16)``: the same loss in jax.numpy."""
    problem = optim.problems.mlp_regression(depth=1, width=4, samples=16)
    shapes = _mlp.layer_shapes(8, 4, 1)
    X, T = (jnp.asarray(a) for a in _mlp.synthetic_regression(16, 8, 0))

    def loss(w):
        return _mlp.loss(jnp, w, X, T, shapes, "tanh")

    return problem.oracle, loss, problem.initial(0), problem.groups


SERIES = dict(learning_rate=0.7, initial_scale=20.0)
CASES = {
    # name: (NumPy form, optax form, accelerated: the epsilon table amplifies rounding)
    "series": (lambda: optim.sfn_series(terms=40, accelerate=None, **SERIES),
               lambda: mo.sfn_series(terms=40, accelerate=None, **SERIES), False),
    "series-sablonniere-2": (lambda: optim.sfn_series(terms=41, order=2, **SERIES),
                             lambda: mo.sfn_series(terms=41, order=2, **SERIES), True),
    "series-shanks-3": (
        lambda: optim.sfn_series(terms=30, order=3, accelerate="shanks", **SERIES),
        lambda: mo.sfn_series(terms=30, order=3, accelerate="shanks", **SERIES), True),
    "series-adaptive-V-momentum": (
        lambda: optim.sfn_series(learning_rate=0.7, terms=30, accelerate=None,
                                 scale="adaptive", momentum=0.5),
        lambda: mo.sfn_series(learning_rate=0.7, terms=30, accelerate=None,
                              scale="adaptive", momentum=0.5), False),
    **{f"series-damped-{kind}": (
        lambda kind=kind: optim.sfn_series(terms=31, order=2, damping=0.3, damping_kind=kind,
                                           **SERIES),
        lambda kind=kind: mo.sfn_series(terms=31, order=2, damping=0.3, damping_kind=kind,
                                        **SERIES), True) for kind in ("abs", "shift", "square")},
    "exact": (lambda: optim.exact_sfn(learning_rate=0.5, momentum=0.5),
              lambda: mo.exact_sfn(learning_rate=0.5, momentum=0.5), False),
    "adaptive-exact-ema": (lambda: optim.adaptive(optim.exact_sfn(), curvature_ema=0.5),
                           lambda: mo.adaptive(mo.exact_sfn(), curvature_ema=0.5), False),
    "adaptive-series": (
        lambda: optim.adaptive(optim.sfn_series(terms=31, order=2, **SERIES)),
        lambda: mo.adaptive(mo.sfn_series(terms=31, order=2, **SERIES)), True),
    "adaptive-series-square": (
        lambda: optim.adaptive(optim.sfn_series(learning_rate=1, terms=30, accelerate=None,
                                                scale="adaptive", damping_kind="square")),
        lambda: mo.adaptive(mo.sfn_series(learning_rate=1, terms=30, accelerate=None,
                                          scale="adaptive", damping_kind="square")), False),
    "adamqlr": (lambda: optim.adamqlr(initial_damping=1e-3),
                lambda: mo.adamqlr(initial_damping=1e-3), False),
    "grouped": (lambda groups: optim.grouped_newton(groups=groups, momentum=0.5, damping=0.5),
                lambda: mo.grouped_newton(momentum=0.5, damping=0.5), False),
    "grouped-cubic": (lambda groups: optim.grouped_newton(groups=groups, cubic=10.0,
                                                          momentum=0.9),
                      lambda: mo.grouped_newton(cubic=10.0, momentum=0.9), False),
}

# Unaccelerated steps are the same float64 operations in another order (XLA's sums and
# matrix products): agreement to ~1e-15 relative per step, 1e-11 after three steps of
# compounding. The epsilon tables divide by differences of consecutive partial sums,
# which amplifies rounding: measured up to 3e-7 relative after three steps (order-3
# Shanks on the MLP), so 1e-6.
def tolerance(accelerated):
    return 1e-6 if accelerated else 1e-11


# Compiling a step takes seconds on a loaded CI machine: the default run covers every
# method once on the quadratic and a few on the MLP; ``-m slow`` runs the full matrix.
QUICK_MLP = {"series", "exact", "adamqlr", "grouped-cubic", "adaptive-exact-ema"}


def matrix(names, quick):
    return [pytest.param(name, marks=() if name in quick else pytest.mark.slow)
            for name in sorted(names)]


def jitted(transformation):
    """``transformation.update`` compiled (eager dispatch of a step is slower than compiling)."""
    return jax.jit(transformation.update, static_argnames="value_fn")


def numpy_form(name, groups, n):
    make = CASES[name][0]
    if name.startswith("grouped"):
        return make(groups if groups is not None else [[i] for i in range(n)])
    return make()


def leaf_tree(x, groups):
    """Params as a dict with one leaf per group (a flat vector: one leaf per coordinate)."""
    if groups is None:
        return {f"c{i:02d}": x[i] for i in range(x.shape[0])}
    return {f"g{s:02d}": x[group] for s, group in enumerate(groups)}


@pytest.mark.parametrize("name", matrix(set(CASES) - {"grouped-cubic"}, CASES))
def test_steps_equal_the_numpy_form_on_a_quadratic(name):
    _check_steps(quadratic, name)


@pytest.mark.parametrize("name", matrix(CASES, QUICK_MLP))
def test_steps_equal_the_numpy_form_on_an_mlp(name):
    _check_steps(mlp, name)


def _check_steps(problem, name):
    oracle, loss, x0, groups = problem()
    reference = numpy_form(name, groups, x0.shape[0])
    transformation = CASES[name][1]()
    grouped = name.startswith("grouped")

    def flat_loss(params):
        return loss(jax.flatten_util.ravel_pytree(params)[0]) if grouped else loss(params)

    # grouped Newton's default is one group per leaf: the NumPy form's groups as leaves.
    params = leaf_tree(jnp.asarray(x0), groups) if grouped else jnp.asarray(x0)
    update = jax.jit(transformation.update, static_argnames="value_fn")
    x, state, opt_state = x0.copy(), reference.init(x0), transformation.init(params)
    for _ in range(3):
        x, state, info = reference.update(state, x, oracle)
        value, grads = jax.value_and_grad(flat_loss)(params)
        updates, opt_state = update(grads, opt_state, params, value=value, grad=grads,
                                    value_fn=flat_loss)
        params = optax.apply_updates(params, updates)
        assert int(opt_state.status) == 0
        got = np.asarray(jax.flatten_util.ravel_pytree(params)[0])
        np.testing.assert_allclose(got, x, rtol=tolerance(CASES[name][2]),
                                   atol=tolerance(CASES[name][2]) * np.max(np.abs(x)))
        np.testing.assert_allclose(float(opt_state.info["loss"]), info["loss"],
                                   rtol=10 * tolerance(CASES[name][2]))  # at those params
        if not grouped:  # grouped Newton's optax form spends S products, inactive ones too
            assert int(opt_state.info["matvecs"]) == info["matvecs"]
        for key in ("scale", "damping", "learning_rate", "rho"):
            if key in opt_state.info and info.get(key) is not None:
                np.testing.assert_allclose(float(opt_state.info[key]), info[key], rtol=1e-6)


@pytest.mark.parametrize("name", matrix(CASES, {"series-sablonniere-2", "adamqlr"}))
def test_jit_equals_eager(name):
    _, loss, x0, _ = mlp()
    transformation = CASES[name][1]()
    params = jnp.asarray(x0)
    grads = jax.grad(loss)(params)
    state = transformation.init(params)
    eager = transformation.update(grads, state, params, value_fn=loss)
    jitted = jax.jit(transformation.update, static_argnames="value_fn")(grads, state, params,
                                                                     value_fn=loss)
    np.testing.assert_allclose(eager[0], jitted[0], rtol=tolerance(CASES[name][2]),
                               atol=tolerance(CASES[name][2]) * float(jnp.max(jnp.abs(eager[0]))))
    assert jax.tree_util.tree_structure(eager[1]) == jax.tree_util.tree_structure(jitted[1])


@pytest.mark.parametrize("name", matrix({name for name in CASES if "grouped" not in name},
                                         {"series", "exact", "adamqlr", "adaptive-exact-ema"}))
def test_pytree_params_take_the_flat_step(name):
    _, loss, x0, _ = quadratic()
    transformation = CASES[name][1]()
    flat = jnp.asarray(x0)
    tree = {"a": flat[:5], "b": {"c": flat[5:].reshape(7, 1)}}

    def tree_loss(p):
        return loss(jnp.concatenate([p["a"], p["b"]["c"].reshape(-1)]))

    flat_updates, _ = jitted(transformation)(jax.grad(loss)(flat), transformation.init(flat),
                                             flat, value_fn=loss)
    tree_updates, state = jitted(transformation)(jax.grad(tree_loss)(tree),
                                                 transformation.init(tree), tree,
                                                 value_fn=tree_loss)
    assert jax.tree_util.tree_structure(tree_updates) == jax.tree_util.tree_structure(tree)
    got = jnp.concatenate([tree_updates["a"], tree_updates["b"]["c"].reshape(-1)])
    np.testing.assert_allclose(got, flat_updates, rtol=1e-13, atol=1e-13)


def test_grouped_newton_default_groups_are_the_leaves():
    _, loss, x0, groups = mlp()
    flat = jnp.asarray(x0)
    tree = leaf_tree(flat, groups)

    def tree_loss(p):
        return loss(jax.flatten_util.ravel_pytree(p)[0])

    by_leaf = mo.grouped_newton()
    explicit = mo.grouped_newton(groups=groups)
    leaf_updates, state = jitted(by_leaf)(jax.grad(tree_loss)(tree), by_leaf.init(tree), tree,
                                          value_fn=tree_loss)
    flat_updates, _ = jitted(explicit)(jax.grad(loss)(flat), explicit.init(flat), flat,
                                       value_fn=loss)
    np.testing.assert_allclose(jax.flatten_util.ravel_pytree(leaf_updates)[0], flat_updates,
                               rtol=1e-12, atol=1e-14)
    assert state.info["learning_rates"].shape == (len(groups),)


CHAINED = {
    "series": lambda: mo.sfn_series(learning_rate=0.5, terms=21, order=2, scale="adaptive"),
    "adaptive-series": lambda: mo.adaptive(mo.sfn_series(learning_rate=1.0, terms=21)),
    "adamqlr": lambda: mo.adamqlr(),
    "grouped": lambda: mo.grouped_newton(damping=0.1, cubic=10.0),
    "exact": lambda: mo.exact_sfn(learning_rate=0.5),
}


@pytest.mark.parametrize("name", matrix(CHAINED, {"series", "adamqlr", "grouped"}))
def test_a_jitted_training_loop_in_a_chain_lowers_the_loss(name):
    _, loss, x0, _ = mlp()
    transformation = optax.chain(optax.clip_by_global_norm(10.0), CHAINED[name]())
    params = jnp.asarray(x0)

    @jax.jit
    def train(params, state):
        def body(_, carry):
            params, state = carry
            value, grads = jax.value_and_grad(loss)(params)
            updates, state = transformation.update(grads, state, params, value=value,
                                                   grad=grads, value_fn=loss)
            return optax.apply_updates(params, updates), state
        return jax.lax.fori_loop(0, 5, body, (params, state))

    state = transformation.init(params)
    trained, state = train(params, state)
    assert float(loss(trained)) < float(loss(params))
    mo.raise_for_status(state)  # every step succeeded
    # The state is a pytree of arrays: it maps, flattens and round-trips.
    leaves, treedef = jax.tree_util.tree_flatten(state)
    assert all(isinstance(leaf, jax.Array) for leaf in leaves)
    assert jax.tree_util.tree_unflatten(treedef, leaves) is not None
    doubled = jax.tree_util.tree_map(lambda a: a, state)
    assert jax.tree_util.tree_structure(doubled) == treedef


def test_extra_args_reach_value_fn():
    _, loss, x0, _ = quadratic()
    params = jnp.asarray(x0)

    def batch_loss(x, shift):
        return loss(x - shift)

    shift = jnp.linspace(0.0, 1.0, x0.shape[0])
    opt = mo.exact_sfn()
    updates, _ = jitted(opt)(jax.grad(batch_loss)(params, shift), opt.init(params), params,
                            value_fn=batch_loss, shift=shift)
    reference, _ = jitted(opt)(jax.grad(loss)(params - shift), opt.init(params), params,
                              value_fn=lambda x: loss(x - shift))
    np.testing.assert_allclose(updates, reference, rtol=1e-13)
    with pytest.raises(TypeError, match="not accepted by value_fn"):
        opt.update(jax.grad(loss)(params), opt.init(params), params, value_fn=loss, batch=1)


# --- failures: the NumPy form raises; the optax form reports in the state ---------------

def diverging():
    """``diag(0.1, 10)`` with ``g`` almost along the small eigenvector: the paper's rule
    sets ``V = max(1, ||H^2 g||/||g||) = 1 < lambda_max^2 / 2 = 50``."""
    h = np.array([0.1, 10.0])
    x0 = np.array([10.0, 1e-5])
    oracle = Oracle(value=lambda x: 0.5 * np.sum(h * x * x), grad=lambda x: h * x,
                    hvp=lambda x, v: h * v)
    hj = jnp.asarray(h)
    return oracle, (lambda x: 0.5 * jnp.sum(hj * x * x)), x0


def _failed_step(transformation, loss, x0, status, error):
    params = jnp.asarray(x0)
    state = transformation.init(params)
    updates, new_state = jax.jit(transformation.update, static_argnames="value_fn")(
        jax.grad(loss)(params), state, params, value_fn=loss)
    assert int(new_state.status) == status
    assert not np.any(np.asarray(updates))  # no step, no NaN
    assert int(new_state.count) == int(state.count)  # the state passed in is kept
    with pytest.raises(error):
        mo.raise_for_status(new_state)
    mo.raise_for_status(state)  # the initial state has status 0: nothing raised


def test_series_divergence_is_reported_not_stepped():
    oracle, loss, x0 = diverging()
    options = dict(learning_rate=1.0, terms=20, accelerate=None, initial_scale=1.0)
    with pytest.raises(SeriesDivergenceError):
        optim.sfn_series(**options).update(optim.sfn_series(**options).init(x0), x0, oracle)
    _failed_step(mo.sfn_series(**options), loss, x0, 2, SeriesDivergenceError)
    # the library's safe rule raises V instead (restarts), as the NumPy form does
    safe = dict(options, scale="adaptive")
    x, _, info = optim.sfn_series(**safe).update(optim.sfn_series(**safe).init(x0), x0, oracle)
    transformation = mo.sfn_series(**safe)
    params = jnp.asarray(x0)
    updates, state = jitted(transformation)(jax.grad(loss)(params), transformation.init(params),
                                            params, value_fn=loss)
    assert int(state.status) == 0 and int(state.info["restarts"]) == info["restarts"] > 0
    np.testing.assert_allclose(np.asarray(params + updates), x, rtol=1e-12)


def test_a_terminating_series_returns_the_exact_partial_sum():
    # H^2 = 4 I: with V = ||H^2 g|| / ||g|| = 4 the second term is exactly zero, the sum
    # stops there and the (exact) partial sum is returned unaccelerated, as in NumPy.
    h = np.array([2.0, -2.0])
    oracle = Oracle(value=lambda x: 0.5 * np.sum(h * x * x), grad=lambda x: h * x,
                    hvp=lambda x, v: h * v)
    options = dict(learning_rate=1.0, terms=5, order=2, initial_scale=1.0)
    x0 = np.array([1.0, 0.5])
    x, _, info = optim.sfn_series(**options).update(optim.sfn_series(**options).init(x0), x0,
                                                    oracle)
    hj = jnp.asarray(h)
    transformation = mo.sfn_series(**options)
    params = jnp.asarray(x0)
    updates, state = jitted(transformation)(jax.grad(lambda v: 0.5 * jnp.sum(hj * v * v))(params),
                                            transformation.init(params), params,
                                            value_fn=lambda v: 0.5 * jnp.sum(hj * v * v))
    np.testing.assert_array_equal(np.asarray(params + updates), [0.0, 1.0])
    np.testing.assert_array_equal(x, [0.0, 1.0])
    assert int(state.info["terms"]) == info["terms"] == 2


def test_non_finite_values_are_reported():
    def loss(x):
        return jnp.sum(x**2) + jnp.where(x[0] > 0, jnp.nan, 0.0)

    x0 = np.array([1.0, 2.0])
    for transformation in (mo.sfn_series(learning_rate=1.0, terms=5), mo.exact_sfn(),
                           mo.adaptive(mo.exact_sfn()), mo.grouped_newton(), mo.adamqlr()):
        _failed_step(transformation, loss, x0, 1, NonFiniteError)


def test_singular_curvature_is_reported():
    h = np.array([1.0, 0.0])
    oracle = Oracle(value=lambda x: 0.5 * np.sum(h * x * x) + x[1], grad=lambda x: h * x + [0, 1],
                    hvp=lambda x, v: h * v)
    options = dict(threshold=0.0, replacement=1.0)
    x0 = np.array([1.0, 1.0])
    with pytest.raises(SingularCurvatureError):
        optim.exact_sfn(**options).update(optim.exact_sfn(**options).init(x0), x0, oracle)
    hj = jnp.asarray(h)
    _failed_step(mo.exact_sfn(**options), lambda x: 0.5 * jnp.sum(hj * x * x) + x[1], x0, 3,
                 SingularCurvatureError)


def test_unbounded_cubic_model_is_reported():
    # Negative curvature on a group whose third derivative is zero: no minimiser.
    h = np.array([1.0, -1.0])
    oracle = Oracle(value=lambda x: 0.5 * np.sum(h * x * x), grad=lambda x: h * x,
                    hvp=lambda x, v: h * v, third=lambda x, v: 0.0)
    x0 = np.array([1.0, 1.0])
    reference = optim.grouped_newton(groups=[[0], [1]], cubic=1.0)
    with pytest.raises(UnboundedModelError):
        reference.update(reference.init(x0), x0, oracle)
    hj = jnp.asarray(h)
    _failed_step(mo.grouped_newton(cubic=1.0), lambda x: 0.5 * jnp.sum(hj * x * x), x0, 4,
                 UnboundedModelError)


def test_a_non_finite_trial_is_rejected_like_the_numpy_form():
    def loss(x):  # finite at the start, inf beyond |x| = 1.2, where both steps land
        return jnp.where(jnp.max(jnp.abs(x)) > 1.2, jnp.inf, jnp.sum(x**2) - 3 * jnp.sum(x))

    x0 = np.array([1.0, 1.0])
    for transformation in (mo.adamqlr(initial_damping=1e-8),
                           mo.adaptive(mo.exact_sfn(), initial_damping=1e-8)):
        params = jnp.asarray(x0)
        state = transformation.init(params)
        updates, new_state = jitted(transformation)(jax.grad(loss)(params), state, params,
                                                    value_fn=loss)
        assert bool(new_state.info["rejected"]) and int(new_state.status) == 0
        assert not np.any(np.asarray(updates))
        np.testing.assert_allclose(float(new_state.damping), 1e-8 / 0.95)


# --- bad input ------------------------------------------------------------------------

@pytest.mark.parametrize("make, error, message", [
    (lambda: mo.sfn_series(learning_rate=-1.0, terms=5), ValueError, "learning_rate"),
    (lambda: mo.sfn_series(learning_rate=1.0, terms=0), ValueError, "terms"),
    (lambda: mo.sfn_series(learning_rate=1.0, terms=5, accelerate="levin"), ValueError,
     "accelerate"),
    (lambda: mo.sfn_series(learning_rate=1.0, terms=5, accelerate="nonsense"), ValueError,
     "accelerate: "),
    (lambda: mo.sfn_series(learning_rate=1.0, terms=5, scale="lanczos"), ValueError, "scale"),
    (lambda: mo.exact_sfn(threshold=0.0), ValueError, "replacement"),
    (lambda: mo.adamqlr(curvature="gauss_newton"), ValueError, "curvature"),
    (lambda: mo.adamqlr(b1=1.0), ValueError, "b1"),
    (lambda: mo.adaptive(optax.adam(1e-3)), TypeError, "base"),
    (lambda: mo.adaptive(mo.sfn_series(learning_rate=1.0, terms=5), curvature_ema=0.5),
     ValueError, "curvature_ema"),
    (lambda: mo.grouped_newton(damping=2.0), ValueError, "damping"),
    (lambda: mo.grouped_newton(groups=[[0, 1], [1]]).init(jnp.zeros(2)), ValueError,
     "partition"),
])
def test_bad_options_raise_naming_the_argument(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_bad_update_arguments_raise():
    opt = mo.exact_sfn()
    x = jnp.ones(3)

    def loss(v):
        return jnp.sum(v**2)

    state = opt.init(x)
    with pytest.raises(TypeError, match="value_fn"):
        opt.update(x, state, x)
    with pytest.raises(TypeError, match="state must be"):
        opt.update(x, mo.adamqlr().init(x), x, value_fn=loss)
    with pytest.raises(ValueError, match="structure|shape"):
        opt.update(jnp.ones(3), opt.init(jnp.ones(4)), x, value_fn=loss)
    with pytest.raises(ValueError, match="updates"):
        opt.update(jnp.ones(4), state, x, value_fn=loss)
    with pytest.raises(TypeError, match="floating"):
        opt.init(jnp.arange(3))
    with pytest.raises(ValueError, match="scalar"):
        opt.update(x, state, x, value=jnp.ones(2), value_fn=loss)
    with pytest.raises(ValueError, match="empty"):
        opt.init({})


def test_raise_for_status_reads_chains():
    state = (mo.exact_sfn().init(jnp.ones(2)), optax.EmptyState())
    mo.raise_for_status(state)
    failed = (state[0]._replace(status=jnp.asarray(2)), state[1])
    with pytest.raises(SeriesDivergenceError):
        mo.raise_for_status(failed)


# --- the documentation page's examples run and print what the page says ---------------

def test_the_docs_page_examples_run():

    text = (ROOT / "docs" / "optim_optax.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert blocks
    namespace = {"__name__": "docs_optim_optax"}
    # The page runs in JAX's default float32, as a reader's session would.
    jax.config.update("jax_enable_x64", False)
    try:
        _run_blocks(blocks, namespace)
    finally:
        jax.config.update("jax_enable_x64", True)


def _run_blocks(blocks, namespace):
    import contextlib
    import io

    for block in blocks:
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            exec(compile(block, "docs/optim_optax.md", "exec"), namespace)
        lines = block.rstrip("\n").split("\n")
        expected = []
        while lines and lines[-1].startswith("# "):
            expected.insert(0, lines.pop()[2:])
        if expected:
            got, want = stdout.getvalue().split(), " ".join(expected).split()
            assert len(got) == len(want), (stdout.getvalue(), expected)
            for a, b in zip(got, want, strict=True):
                try:  # numbers within 10% (the convention of tests/test_docs.py)
                    assert abs(float(a) - float(b)) <= 0.1 * abs(float(b)), (a, b)
                except ValueError:
                    assert a == b


@pytest.mark.slow
def test_the_benchmark_quick_mode_writes_its_table(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_optim_optax", ROOT / "benchmarks" / "bench_optim_optax.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    output = tmp_path / "bench.md"
    assert module.main(["--quick", "--output", str(output)]) == 0
    text = output.read_text()
    assert "series / HVPs" in text and "nan" not in text.lower()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_powers_of_two_are_exact_as_ldexp(dtype):
    # The series and its epsilon table scale by 2**e with two multiplications (the NumPy
    # form's accel._honest.scale_by_power_of_two) instead of jnp.ldexp: exact, so equal
    # to ldexp wherever the result is a normal number, also for e beyond the dtype's
    # exponent range (where 2**e itself is not representable).
    from matfun.optim.optax._series import scale_by_power_of_two

    finfo = np.finfo(dtype)
    low, high = int(finfo.minexp), int(finfo.maxexp)  # normal u 2**a: low <= a <= high
    rng = np.random.default_rng(1)
    u = rng.uniform(0.5, 1.0, 64) * rng.choice([-1.0, 1.0], 64)
    scale = jax.jit(scale_by_power_of_two)
    for a, e in ((0, 0), (0, 37), (0, -37), (5, -3), (low + 1, high - low - 2),
                 (high - 1, low - high + 2), (low + 1, 1), (high - 1, -1)):
        x = jnp.asarray(np.ldexp(u, a).astype(dtype))
        expected = np.asarray(jnp.ldexp(x, e))
        assert np.all(np.isfinite(expected)) and np.all(np.abs(expected) >= finfo.tiny)
        np.testing.assert_array_equal(np.asarray(scale(x, jnp.asarray(e))), expected)


# --- learning-rate schedules (optax's ScalarOrSchedule) ----------------------------------

@pytest.mark.parametrize("name", ["sfn_series", "exact_sfn"])
def test_a_schedule_gives_each_step_the_numpy_form_with_that_rate(name):
    # Step t of the scheduled transformation must equal one step of the NumPy form with
    # learning_rate = schedule(t) from the same point (tolerance as the fixed-rate tests:
    # the same arithmetic in another library, accelerated or not).
    oracle, loss, x0, _ = quadratic()
    schedule = optax.exponential_decay(0.9, transition_steps=1, decay_rate=0.5)
    build = {"sfn_series": lambda rate: dict(learning_rate=rate, terms=12, accelerate=None,
                                             initial_scale=20.0),
             "exact_sfn": lambda rate: dict(learning_rate=rate)}[name]
    transformation = getattr(mo, name)(**build(schedule))
    params = jnp.asarray(x0)
    state = transformation.init(params)
    numpy_state = getattr(optim, name)(**build(1.0)).init(x0)  # V and momentum carried
    for step in range(3):
        rate = float(schedule(jnp.asarray(step, jnp.int32)))  # as the state counts
        numpy = getattr(optim, name)(**build(rate))
        expected, numpy_state, _ = numpy.update(numpy_state, np.asarray(params), oracle)
        updates, state = jitted(transformation)(jax.grad(loss)(params), state, params,
                                                value_fn=loss)
        params = optax.apply_updates(params, updates)
        np.testing.assert_allclose(np.asarray(params), expected, rtol=1e-10, atol=1e-12)


def test_a_schedule_returning_nan_fails_the_step():
    _, loss, x0, _ = quadratic()
    transformation = mo.sfn_series(learning_rate=lambda count: jnp.nan * count, terms=5,
                                   accelerate=None, initial_scale=20.0)
    _failed_step(transformation, loss, x0, 1, NonFiniteError)


def test_adamqlr_eps_that_rounds_to_zero_in_float16_is_named():
    # As in the NumPy form: d = 0/0 at a zero gradient entry otherwise (eps = 1e-8 is 0
    # in float16), a NaN that the state would blame on the Hessian-vector product.
    def loss(x):
        return 0.0 * jnp.sum(x * x)

    params = jnp.ones(3, jnp.float16)
    transformation = mo.adamqlr()
    with pytest.raises(ValueError, match="eps = 1e-08 rounds to 0 in float16"):
        transformation.update(jax.grad(loss)(params), transformation.init(params), params,
                              value_fn=loss)


# Half precision: LAPACK has no float16/bfloat16 eigh, and bfloat16 rounds b2 = 0.999 to 1
# (Adam's bias correction 1 - b2^t was 0 and the step silently zero). Each step is checked
# against the float64 step on the same rounded data. The half-precision run rounds the
# data, every product and the result with unit roundoff u (float16 2^-11, bfloat16 2^-8);
# the directions below have condition number at most 6 (|eigenvalues| in [0.5, 3]), so a
# relative error of 8 * 6 * u covers it; a lost factor, a zero step or a wrong eigenvector
# is an O(1) error.
HALF = {"float16": 2.0**-11, "bfloat16": 2.0**-8}
HALF_STEPS = {
    "exact": lambda: mo.exact_sfn(learning_rate=0.5),
    "grouped": lambda: mo.grouped_newton(groups=[slice(0, 6), slice(6, 12)], damping=0.5),
    "adamqlr": lambda: mo.adamqlr(eps=1e-3),
}


@pytest.mark.parametrize("name", sorted(HALF_STEPS))
@pytest.mark.parametrize("dtype", sorted(HALF))
def test_half_precision_steps_match_float64_on_the_rounded_data(name, dtype):
    _, _, x0, _ = quadratic()
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    eigenvalues = np.concatenate([rng.uniform(0.5, 3, 8), -rng.uniform(0.5, 3, 4)])
    half = jnp.dtype(dtype)
    H = np.asarray(jnp.asarray(Q @ np.diag(eigenvalues) @ Q.T, half), np.float64)
    H = 0.5 * (H + H.T)  # symmetric after rounding (rounding is elementwise)
    b = np.asarray(jnp.asarray(rng.standard_normal(12), half), np.float64)
    x = np.asarray(jnp.asarray(x0, half), np.float64)

    def step(dt):
        Hj, bj = jnp.asarray(H, dt), jnp.asarray(b, dt)

        def loss(v):
            return 0.5 * v @ Hj @ v + bj @ v

        params = jnp.asarray(x, dt)
        transformation = HALF_STEPS[name]()
        updates, state = transformation.update(jax.grad(loss)(params),
                                               transformation.init(params), params,
                                               value_fn=loss)
        assert int(state.status) == 0 and updates.dtype == dt
        return np.asarray(updates, np.float64)

    expected = step(jnp.float64)
    got = step(half)
    assert np.linalg.norm(got - expected) <= 8 * 6 * HALF[dtype] * np.linalg.norm(expected)

"""Lanczos f(H) g against dense eigendecomposition (numpy.linalg.eigh)."""

import math

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given
from hypothesis import strategies as st

import matfun
from matfun._lanczos import LanczosProcess
from matfun.lanczos import (
    FUNCTIONS,
    RitzFunction,
    SingularFunctionError,
    lanczos_apply,
    ritz_function,
)
from matfun.operators import as_operator
from tests._helpers import to_numpy, xp_assert_close


def indefinite(n, seed, kappa, extra=()):
    """``(H, eigenvalues, Q)``: |eigenvalues| geometric in [1, kappa], random signs, extras."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eigenvalues = rng.choice([-1.0, 1.0], n) * np.geomspace(1.0, kappa, n)
    eigenvalues[: len(extra)] = extra
    matrix = (q * eigenvalues) @ q.T
    return (matrix + matrix.T) / 2, eigenvalues, q


def oracle(q, values, g):
    return q @ (values * (q.T @ g))


def relative_error(x, exact):
    return np.linalg.norm(to_numpy(x).astype(np.float64) - exact) / np.linalg.norm(exact)


# The lagged-difference estimate bounds the error under geometric convergence
# (module docstring); Lanczos on indefinite H converges irregularly, so allow a
# factor 10 on top. Rounding: full reorthogonalisation keeps the basis orthonormal
# to O(eps), and f(T_k) amplifies a perturbation of T_k by at most
# max|f'| / min|f| ~ kappa (for 1/|x|, |x|^-alpha with alpha <= 1): floor 100 kappa eps.
def allowed(tol, kappa, dtype):
    return 10 * tol + 100 * kappa * np.finfo(dtype).eps


FUNCTION_CASES = {
    "inv_abs": lambda lam: 1 / np.abs(lam),
    "inv": lambda lam: 1 / lam,
    "inv_sqrt_abs": lambda lam: np.abs(lam) ** -0.5,
    "abs": np.abs,
}


@given(n=st.integers(3, 40), seed=st.integers(0, 2**16), kappa=st.floats(1.5, 30.0),
       name=st.sampled_from(sorted(FUNCTION_CASES)), single=st.booleans())
def test_named_functions_match_the_oracle(xp, n, seed, kappa, name, single):
    dtype, tol = (np.float32, 1e-4) if single else (np.float64, 1e-9)
    H, eigenvalues, q = indefinite(n, seed, kappa)
    g = np.random.default_rng(seed + 1).standard_normal(n)
    x, info = lanczos_apply(xp.asarray(H.astype(dtype)), xp.asarray(g.astype(dtype)), name,
                            rtol=tol, full_output=True)
    assert x.dtype == (xp.float32 if single else xp.float64)
    assert info.converged and info.matvecs <= n
    exact = oracle(q, FUNCTION_CASES[name](eigenvalues), g)
    assert relative_error(x, exact) <= allowed(tol, kappa, dtype)


@given(n=st.integers(3, 30), seed=st.integers(0, 2**16), alpha=st.floats(0.1, 1.0))
def test_abs_power_and_callables(n, seed, alpha):
    H, eigenvalues, q = indefinite(n, seed, 10.0)
    g = np.random.default_rng(seed).standard_normal(n)
    exact = oracle(q, np.abs(eigenvalues) ** -alpha, g)
    for f in [("abs_power", alpha), RitzFunction(lambda t: np.abs(t) ** -alpha, (0.0,))]:
        x = lanczos_apply(H, g, f, rtol=1e-10)
        assert relative_error(x, exact) <= allowed(1e-10, 10.0, np.float64)
    x = lanczos_apply(H, g, np.exp, rtol=1e-10)  # a plain callable, smooth: no poles
    assert relative_error(x, oracle(q, np.exp(eigenvalues), g)) <= allowed(1e-10, 1e5, np.float64)


def test_large_indefinite_matrix_meets_tolerance_with_few_matvecs():
    H, eigenvalues, q = indefinite(300, 3, 100.0)
    g = np.random.default_rng(0).standard_normal(300)
    x, info = lanczos_apply(H, g, "inv_abs", rtol=1e-6, full_output=True)
    exact = oracle(q, 1 / np.abs(eigenvalues), g)
    assert info.status == "converged" and info.matvecs < 300
    # The estimate is conservative: the true error is below the reported one (geometric
    # convergence, module docstring).
    assert relative_error(x, exact) <= max(info.error_estimate, 1e-12) <= 1e-6


def iterate_errors(H, g, exact, first, steps):
    """True relative errors of the Lanczos iterates first..steps for 1/|x|."""
    process = LanczosProcess(as_operator(H), g)
    errors = []
    while process.steps < steps and process.step():
        if process.steps < first:
            continue
        alphas, betas = process.tridiagonal()
        theta, u = scipy.linalg.eigh_tridiagonal(np.array(alphas), np.array(betas))
        y = process.start_norm * u @ (u[0] / np.abs(theta))
        errors.append(relative_error(np.stack(process.basis[: y.size], axis=1) @ y, exact))
    return np.array(errors)


def test_eigenvalue_close_to_zero_guard():
    # Indefinite, kappa = 100, plus one eigenvalue 1e-3 (weight 1000 x in 1/|x|). On this
    # matrix the iterates' error first meets tol and then rises above it again (Ritz
    # values passing near 0): the returned iterate must be a clean one that meets tol.
    tol = 1e-6
    H, eigenvalues, q = indefinite(300, 0, 100.0, extra=(1e-3,))
    g = np.random.default_rng(9).standard_normal(300)
    exact = oracle(q, 1 / np.abs(eigenvalues), g)
    x, info = lanczos_apply(H, g, "inv_abs", rtol=tol, full_output=True)
    errors = iterate_errors(H, g, exact, info.matvecs - 100, info.matvecs)
    first = int(np.argmax(errors <= tol))
    assert errors[first] <= tol and np.max(errors[first:]) > 2 * tol  # the trap is real
    assert info.status == "converged" and info.ritz_guard <= tol
    assert relative_error(x, exact) <= allowed(tol, 1e5, np.float64)
    assert info.smallest_ritz == pytest.approx(1e-3, rel=1e-6)  # it resolved the eigenvalue


def test_breakdown_in_three_dimensional_invariant_subspace_is_exact(xp):
    # Block diagonal with exact zeros, so the 3-dim subspace is invariant in floating
    # point too (a rotated diagonal matrix is only invariant up to n eps ||H||).
    rng = np.random.default_rng(1)
    blocks = [rng.standard_normal((3, 3)), rng.standard_normal((5, 5))]
    H = np.zeros((8, 8))
    H[:3, :3], H[3:, 3:] = blocks[0] + blocks[0].T, blocks[1] + blocks[1].T
    eigenvalues, q = np.linalg.eigh(H)
    g = np.concatenate([rng.standard_normal(3), np.zeros(5)])
    x, info = lanczos_apply(xp.asarray(H), xp.asarray(g), "inv_abs", rtol=1e-14,
                            full_output=True)
    assert info.status == "breakdown" and info.converged
    assert info.matvecs == 3 and info.error_estimate == 0.0
    # Exact up to rounding: the Krylov space is the invariant subspace; the oracle and
    # the 3 x 3 eigenproblem each carry ~ cond * eps with cond = max|l| / min|l| <= 1e3.
    xp_assert_close(x, oracle(q, 1 / np.abs(eigenvalues), g), rtol=1e-11, xp=xp)


def test_budget_is_respected_and_reported():
    H, _, _ = indefinite(200, 1, 100.0)
    g = np.random.default_rng(1).standard_normal(200)
    x, info = lanczos_apply(H, g, "inv_abs", rtol=1e-10, max_matvecs=40, full_output=True)
    assert info.matvecs == 40 and info.status == "max_matvecs" and not info.converged
    assert np.all(np.isfinite(x))


def test_zero_vector_costs_nothing(xp):
    # float64 on every backend (torch defaults to float32, where rtol 1e-8 is refused)
    zero = xp.zeros(3, dtype=xp.float64)
    x, info = lanczos_apply(xp.asarray(np.eye(3)), zero, "inv", full_output=True)
    assert info.matvecs == 0 and info.status == "zero"
    xp_assert_close(x, np.zeros(3), rtol=0, xp=xp, check_dtype=False)


def test_pole_at_an_eigenvalue_raises():
    H = np.diag([0.0, 1.0, -2.0])
    with pytest.raises(SingularFunctionError) as err:
        lanczos_apply(H, np.ones(3), "inv_abs")
    assert err.value.info.matvecs <= 3
    # g orthogonal to the null space: the answer exists and is exact.
    x = lanczos_apply(H, np.array([0.0, 1.0, 1.0]), "inv_abs")
    np.testing.assert_allclose(x, [0.0, 1.0, 0.5], atol=1e-14)


def test_ritz_function_resolution():
    assert ritz_function("inv_abs") is FUNCTIONS["inv_abs"]
    assert ritz_function(("abs_power", -1.0)).poles == ()
    assert ritz_function(np.sin).poles == ()


@pytest.mark.parametrize("f, error", [
    ("sqrt", ValueError), (("power", 1.0), ValueError), (("abs_power", math.nan), ValueError),
    (3.0, TypeError),
])
def test_bad_functions(f, error):
    with pytest.raises(error, match="f"):
        lanczos_apply(np.eye(2), np.ones(2), f)


def test_bad_arguments():
    with pytest.raises(ValueError, match="rtol"):
        lanczos_apply(np.eye(2), np.ones(2), "inv", rtol=0.0)
    with pytest.raises(TypeError, match="rtol"):
        lanczos_apply(np.eye(2), np.ones(2), "inv", rtol="small")
    with pytest.raises(ValueError, match="max_matvecs"):
        lanczos_apply(np.eye(2), np.ones(2), "inv", max_matvecs=0)
    with pytest.raises(ValueError, match="g must be a 1-D"):
        lanczos_apply(np.eye(2), np.ones((2, 1)), "inv")
    with pytest.raises(ValueError, match="op has shape"):
        lanczos_apply(np.eye(3), np.ones(2), "inv")
    with pytest.raises(ValueError, match="same shape"):
        lanczos_apply(np.eye(2), np.ones(2), lambda t: 1.0)


def test_atol_is_an_absolute_tolerance():
    # SciPy's convention: stop when the estimated error <= atol + rtol ||x||.
    H, eigenvalues, q = indefinite(200, 5, 50.0)
    g = np.random.default_rng(5).standard_normal(200)
    exact = oracle(q, 1 / np.abs(eigenvalues), g)
    size = np.linalg.norm(exact)
    loose, info = lanczos_apply(H, g, "inv_abs", rtol=1e-12, atol=1e-4 * size,
                                full_output=True)
    tight = lanczos_apply(H, g, "inv_abs", rtol=1e-12, atol=0.0, full_output=True)[1]
    assert info.converged and info.matvecs < tight.matvecs
    # The heuristic's factor-10 margin, on the absolute tolerance.
    assert np.linalg.norm(loose - exact) <= 10 * 1e-4 * size
    with pytest.raises(ValueError, match="atol"):
        lanczos_apply(H, g, "inv_abs", atol=-1.0)


def test_basis_buffer_grows_and_stays_orthonormal(xp):
    H, _, _ = indefinite(150, 6, 20.0)
    process = LanczosProcess(as_operator(xp.asarray(H)), xp.asarray(np.ones(150)))
    while process.steps < 100 and process.step():
        pass
    Q = to_numpy(process.rows(100))
    # Two Gram-Schmidt passes keep orthonormality at a few eps (Parlett's "twice is
    # enough"), independent of the number of steps.
    assert np.linalg.norm(Q @ Q.T - np.eye(100)) <= 1e-13
    alphas, betas = process.tridiagonal()  # of H itself (the process runs on H / s)
    T = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
    np.testing.assert_allclose(Q @ H @ Q.T, T, atol=1e-12 * 20)  # ||H|| = 20


def test_named_functions_declare_homogeneity_and_bounds():
    assert ritz_function("inv_abs").degree == -1 and ritz_function("inv").bound == ("inverse",)
    assert ritz_function(("abs_power", 0.5)).bound[0] == "stieltjes"
    assert ritz_function(("abs_power", 2.5)).bound is None
    assert ritz_function(np.sin).degree is None and ritz_function(np.sin).bound is None


def test_benchmark_script_measures_the_same_krylov_work():
    # benchmarks/bench_lanczos.py: the bare Lanczos with the library's step count must
    # reproduce the library's answer (same Krylov space, same reorthogonalisation).
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_lanczos.py"
    spec = importlib.util.spec_from_file_location("bench_lanczos", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    g = np.random.default_rng(0).standard_normal(120)
    row = bench.measure("dense", bench.dense_indefinite(120, 20.0), g, 1)
    assert row["converged"] and row["difference"] <= 1e-12 and row["ratio"] > 0
    assert "| dense |" in bench.table([row])


@pytest.mark.parametrize("budget", [None, 40])
def test_auto_memory_keeps_the_basis_only_when_it_fits(xp, budget):
    # memory="auto": full memory when (k + 1) basis vectors and 4 working ones fit in
    # max_memory for the step budget k (max_matvecs, n by default), else low memory.
    H, eigenvalues, q = indefinite(200, 6, 10.0)
    g = np.random.default_rng(6).standard_normal(200)
    exact = oracle(q, 1 / np.abs(eigenvalues), g)
    steps = 200 if budget is None else budget
    full_bytes = (steps + 1 + 4) * 200 * 8
    for max_memory, expected in [(full_bytes, "full"), (full_bytes - 1, "low")]:
        x, info = lanczos_apply(xp.asarray(H), xp.asarray(g), "inv_abs", rtol=1e-8,
                                memory="auto", max_memory=max_memory, max_matvecs=budget,
                                full_output=True)
        assert info.memory == expected
        if info.converged:
            assert relative_error(x, exact) <= allowed(1e-8, 10.0, np.float64)
    assert info.memory == "low" and info.matvecs <= (budget or 8 * 200)  # both passes


def test_auto_memory_options_are_checked():
    H, g = np.diag([1.0, -2.0, 3.0]), np.ones(3)
    with pytest.raises(ValueError, match="needs max_memory"):
        lanczos_apply(H, g, "inv_abs", memory="auto")
    with pytest.raises(ValueError, match="max_memory is used by memory='auto' only"):
        lanczos_apply(H, g, "inv_abs", max_memory=1e9)
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="max_memory"):
            lanczos_apply(H, g, "inv_abs", memory="auto", max_memory=bad)
    with pytest.raises(TypeError, match="max_memory"):
        lanczos_apply(H, g, "inv_abs", memory="auto", max_memory="1GB")
    with pytest.raises(ValueError, match="below even memory='low'"):
        lanczos_apply(H, g, "inv_abs", memory="auto", max_memory=6 * 3 * 8 - 1)
    x, info = lanczos_apply(H, g, "inv_abs", memory="auto", max_memory=6 * 3 * 8,
                            full_output=True)
    assert info.memory == "low"
    x, info = matfun.inv_sqrt(H, g, method="lanczos", memory="auto", max_memory=1e6,
                              full_output=True)
    assert info.details.memory == "full" and np.allclose(x, [1, 1 / 2, 1 / 3])


def test_fixed_shape_storage_for_immutable_arrays_gives_the_same_decomposition(xp):
    # Backends without in-place assignment (JAX) keep the buffer at a fixed shape
    # between doublings and project on all its rows; forced here on any backend.
    H, _, _ = indefinite(60, 7, 10.0)
    g = xp.asarray(np.random.default_rng(7).standard_normal(60))
    buffered = LanczosProcess(as_operator(xp.asarray(H)), g, capacity=8)
    fixed = LanczosProcess(as_operator(xp.asarray(H)), g, capacity=8)
    fixed._in_place = False
    for process in (buffered, fixed):
        while process.steps < 40 and process.step():
            pass
    assert fixed._capacity == buffered._capacity == 61  # 8 -> 16 -> 32 -> 61 (n + 1)
    # The zero rows add exact zeros to each product, but the summation order of the
    # products may differ with the shape: equal to rounding, a few eps * ||H|| = 10.
    np.testing.assert_allclose(fixed.alphas, buffered.alphas, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fixed.betas, buffered.betas, rtol=0, atol=1e-12)
    rows = to_numpy(fixed.rows(fixed.weight_length(40)))
    assert rows.shape == (61, 60) and not np.any(rows[41:])  # unused rows stay zero
    np.testing.assert_allclose(rows[:41], to_numpy(buffered.rows(41)), rtol=0, atol=1e-12)
    weights = np.random.default_rng(8).standard_normal(40)
    padded = np.concatenate([weights, np.zeros(fixed.weight_length(40) - 40)])
    np.testing.assert_allclose(to_numpy(fixed.combination(xp.asarray(padded))),
                               to_numpy(buffered.combination(xp.asarray(weights))),
                               rtol=0, atol=1e-12 * np.linalg.norm(weights))


def test_jax_compilations_grow_with_the_doublings_not_the_steps():
    # Each new array shape is a new compilation on JAX: the fixed-shape buffer makes
    # a run of k steps compile O(log k) kernels (it compiled ~4 per step when the
    # basis grew by a row per step). Deterministic: the counted kernels are those of
    # shapes this test alone uses (n = 97).
    import logging

    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    H, _, _ = indefinite(97, 9, 10.0)
    op, g = as_operator(jnp.asarray(H)), jnp.asarray(np.ones(97))

    class Count(logging.Handler):
        compilations = 0

        def emit(self, record):
            self.compilations += record.getMessage().startswith("Finished XLA compilation")

    def compilations(steps):
        counter = Count()
        logging.getLogger("jax").addHandler(counter)
        try:
            with jax.log_compiles():
                process = LanczosProcess(op, g, capacity=4)
                while process.steps < steps and process.step():
                    pass
        finally:
            logging.getLogger("jax").removeHandler(counter)
        return counter.compilations, process

    first, _ = compilations(3)  # capacity 4: every kernel of a step compiled once
    more, process = compilations(97)  # capacities 8, 16, 32, 64, 98: five doublings
    assert first > 0 and process.steps == 97 and process._capacity == 98
    assert more <= 5 * 4  # per new capacity: the step, the row write, the growth (2)

"""Two-pass Lanczos (``memory="low"``) against ``numpy.linalg.eigh``, and its verification.

Without reorthogonalisation the first pass needs more steps than the full mode, but the
bound from ``bounds=`` rests only on the Lanczos relation and ``||q_{k+1}|| = 1``
(module docstring of ``matfun._lanczos_low_memory``), so a converged result must be
within ``rtol`` plus the rounding floor of ``tests/matfun/test_honesty_lanczos.py``.
The second pass is checked on the vectors it actually regenerates: an operator whose
products change between the passes must not come back converged.
"""

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matfun._lanczos_low_memory import verify
from matfun.errors import IrreproducibleOperatorError
from matfun.lanczos import lanczos_apply
from tests._helpers import to_numpy
from tests.matfun.test_honesty_lanczos import (
    FUNCTIONS,
    floor,
    hermitian,
    hostile_problems,
    relative_error,
)
from tests.matfun.test_lanczos import indefinite, oracle


@pytest.mark.parametrize("kappa", [10.0, 100.0])
def test_matches_the_oracle_with_twice_the_first_pass_matvecs(xp, kappa):
    H, eigenvalues, q = indefinite(200, 4, kappa)
    g = np.random.default_rng(4).standard_normal(200)
    exact = oracle(q, 1 / np.abs(eigenvalues), g)
    x, info = lanczos_apply(xp.asarray(H), xp.asarray(g), "inv_abs", rtol=1e-8, memory="low",
                            full_output=True)
    assert info.converged and not info.bounded and info.memory == "low"
    assert info.matvecs == 2 * info.steps  # the second pass: k - 1 products and r_k
    assert relative_error(to_numpy(x), exact) <= 10 * 1e-8 + floor(kappa)


def test_with_bounds_the_estimate_is_a_bound():
    H, eigenvalues, q = indefinite(200, 4, 100.0)
    g = np.random.default_rng(4).standard_normal(200)
    exact = oracle(q, 1 / np.abs(eigenvalues), g)
    for budget in (60, 200, None):
        x, info = lanczos_apply(H, g, "inv_abs", rtol=1e-9, bounds=(1.0, 100.0),
                                memory="low", max_matvecs=budget, full_output=True)
        error = relative_error(x, exact)
        assert info.bounded and error <= info.error_estimate + floor(100.0)
    assert info.converged and error <= 1e-9 + floor(100.0)


@given(problem=hostile_problems(max_kappa=1e6), name=st.sampled_from(sorted(FUNCTIONS)),
       log_rtol=st.floats(-10, -3), log_c=st.floats(-200, 200))
def test_with_bounds_converged_means_within_rtol(problem, name, log_rtol, log_c):
    # The same property as with full memory (test_honesty_lanczos): no factor 10.
    eigenvalues, g, a, b = problem
    rtol, c = 10.0**log_rtol, 10.0**log_c
    x, info = lanczos_apply(np.diag(c * eigenvalues), g, name, rtol=rtol,
                            bounds=(c * a, c * b), memory="low", full_output=True)
    degree = -0.5 if name == "inv_sqrt_abs" else -1.0
    error = relative_error(x, FUNCTIONS[name](eigenvalues) * g * c**degree)
    assert info.bounded
    if info.converged:
        assert error <= rtol + floor(b / a)
    assert error <= info.error_estimate + floor(b / a)


def test_the_default_budget_goes_past_n_steps():
    # n steps span the space only with orthogonality; this problem needs more.
    H, eigenvalues, q = indefinite(150, 5, 100.0)
    g = np.random.default_rng(5).standard_normal(150)
    x, info = lanczos_apply(H, g, "inv_abs", rtol=1e-10, memory="low", full_output=True)
    assert info.converged and info.steps > 150
    assert relative_error(x, oracle(q, 1 / np.abs(eigenvalues), g)) <= 10 * 1e-10 + floor(100)
    x, info = lanczos_apply(H, g, "inv_abs", rtol=1e-10, memory="low", max_matvecs=299,
                            full_output=True)
    assert not info.converged and info.status == "max_matvecs"
    assert info.steps == 149 and info.matvecs == 298  # 2 k <= max_matvecs


def test_budget_arguments():
    H, g = np.diag([1.0, -2.0, 3.0]), np.ones(3)
    with pytest.raises(ValueError, match="max_matvecs must be at least 2"):
        lanczos_apply(H, g, "inv_abs", memory="low", max_matvecs=1)
    x, info = lanczos_apply(H, g, "inv_abs", memory="low", max_matvecs=2, full_output=True)
    assert info.steps == 1 and info.matvecs == 2 and np.all(np.isfinite(x))
    with pytest.raises(ValueError, match="memory"):
        lanczos_apply(H, g, "inv_abs", memory="small")


def switching_operator(H, first_pass, perturbation):
    """``H`` for the first ``first_pass`` products, ``H + perturbation`` after them."""
    calls = [0]

    def product(v):
        calls[0] += 1
        return (H if calls[0] <= first_pass else H + perturbation) @ v

    return product


@pytest.mark.parametrize("size", [1e-15, 1e-12, 1e-6])
def test_an_irreproducible_second_pass_is_refused(size):
    # Rounding-sized changes of the products between the passes grow through the
    # recurrence: the regenerated basis leaves unit length and the call raises.
    H, eigenvalues, q = indefinite(200, 4, 100.0)
    g = np.random.default_rng(4).standard_normal(200)
    _, info = lanczos_apply(H, g, "inv_abs", rtol=1e-8, bounds=(1.0, 100.0), memory="low",
                            full_output=True)
    first_pass = info.matvecs - info.steps
    noise = np.random.default_rng(9).standard_normal((200, 200))
    with pytest.raises(IrreproducibleOperatorError, match="memory='full'"):
        lanczos_apply(switching_operator(H, first_pass, size * (noise + noise.T)), g,
                      "inv_abs", rtol=1e-8, bounds=(1.0, 100.0), memory="low")
    same = lanczos_apply(switching_operator(H, first_pass, 0.0 * noise), g, "inv_abs",
                         rtol=1e-8, bounds=(1.0, 100.0), memory="low")
    assert relative_error(same, oracle(q, 1 / np.abs(eigenvalues), g)) <= 1e-8 + floor(100)


def fake_process(size, residual, beta):
    return SimpleNamespace(regenerated=(size, residual), betas=[2.0, beta],
                           breakdown_threshold=1e-12)


@pytest.mark.parametrize("size, residual, expected_status, expected_estimate", [
    (5.0, 1.0, "converged", 1e-9),  # ||x|| = ||y||, ||r_k|| = beta_k: unchanged
    (2.5, 1.0, "unverified", 2e-9),  # ||x|| = ||y|| / 2: relative error doubles
    (5.0, 3.0, "unverified", 3e-9),  # the regenerated residual is 3 beta_k
    (5.0, 0.5, "converged", 1e-9),  # a shorter residual never improves the estimate
    (0.0, 1.0, "unverified", math.inf),
])
def test_verify_scales_the_estimate_by_what_the_second_pass_measured(
        size, residual, expected_status, expected_estimate):
    coefficients = np.array([3.0, 4.0])  # ||y|| = 5
    status, estimate = verify(fake_process(size, residual, 1.0), coefficients, "converged",
                              1e-9, 1.5e-9, 1.5e-9)
    assert status == expected_status and math.isclose(estimate, expected_estimate)


def test_verify_uses_the_measured_norm_for_atol():
    # tol = rtol + atol / ||y||; with ||x|| = 2 ||y|| the atol part halves.
    coefficients = np.array([3.0, 4.0])
    assert verify(fake_process(10.0, 1.0, 1.0), coefficients, "converged", 1.1e-9, 0.0,
                  2e-9)[0] == "converged"  # 1.1e-9 / 2 <= 1e-9
    assert verify(fake_process(10.0, 1.0, 1.0), coefficients, "converged", 2.1e-9, 0.0,
                  2e-9)[0] == "unverified"


def test_verify_keeps_a_breakdown_only_below_its_threshold():
    coefficients = np.array([1.0, 0.0])
    assert verify(fake_process(1.0, 1e-13, 1e-13), coefficients, "breakdown", 0.0, 1e-8,
                  1e-8) == ("breakdown", 0.0)
    assert verify(fake_process(1.0, 1e-3, 1e-13), coefficients, "breakdown", 0.0, 1e-8,
                  1e-8) == ("unverified", math.inf)


@given(n=st.integers(4, 60), seed=st.integers(0, 2**16), log_kappa=st.floats(0, 3),
       complex_=st.booleans(), single=st.booleans())
def test_complex_and_float32_with_bounds(n, seed, log_kappa, complex_, single):
    # float32: rtol 1e-4, floor 100 kappa eps of float32 (the rounding of the data).
    kappa = 10.0**log_kappa
    rng = np.random.default_rng(seed)
    eigenvalues = rng.choice([-1.0, 1.0], n) * np.geomspace(1.0, kappa, n)
    H, _ = hermitian(eigenvalues, seed, complex_)
    g = rng.standard_normal(n) + (1j * rng.standard_normal(n) if complex_ else 0)
    dtype = (np.complex64 if complex_ else np.float32) if single else H.dtype
    H, g = H.astype(dtype), g.astype(dtype)
    rtol = 1e-4 if single else 1e-9
    values, vectors = np.linalg.eigh(H.astype(np.complex128))  # the problem as stored
    a, b = np.min(np.abs(values)), np.max(np.abs(values))
    x, info = lanczos_apply(H, g, "inv_abs", rtol=rtol, bounds=(a * (1 - 1e-12), b),
                            memory="low", full_output=True)
    assert x.dtype == dtype and info.bounded
    exact = vectors @ ((vectors.conj().T @ g.astype(np.complex128)) / np.abs(values))
    allowance = floor(kappa, np.float32 if single else np.float64)
    if info.converged:
        assert relative_error(x, exact) <= rtol + allowance

"""The optimiser protocol: Oracle, Optimizer, errors, and the validated oracle calls."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matfun.optim import NonFiniteError, Optimizer, Oracle, SingularCurvatureError
from matfun.optim._oracle_calls import (
    HVPCounter,
    check_fraction,
    check_positive,
    dense_hessian,
    directional,
    gradient_and_loss,
    parameters,
    value_at,
)
from tests._helpers import xp_assert_close


def _quadratic(xp, matrix):
    A = xp.asarray(matrix, dtype=xp.float64)
    return Oracle(value=lambda x: 0.5 * (x @ (A @ x)), grad=lambda x: A @ x,
                  hvp=lambda x, v: A @ v)


# ------------------------------------------------------------------ protocol


def test_errors_are_arithmetic_errors():
    assert issubclass(NonFiniteError, ArithmeticError)
    assert issubclass(SingularCurvatureError, ArithmeticError)


def test_oracle_is_frozen_plain_data():
    oracle = Oracle(value=abs, grad=abs, hvp=max)
    assert oracle.third is None and oracle.gauss_newton is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        oracle.value = min


@pytest.mark.parametrize("field", ["value", "grad", "hvp", "third", "gauss_newton"])
def test_oracle_rejects_non_callables(field):
    members = {"value": abs, "grad": abs, "hvp": max, field: 3.0}
    with pytest.raises(TypeError, match=f"Oracle.{field} must be callable"):
        Oracle(**members)


def test_optimizer_is_a_named_pair():
    opt = Optimizer(init=lambda p: 0, update=lambda s, p, o: (p, s, {}), name="noop")
    init, update, name = opt
    assert name == "noop" and init(1) == 0
    assert Optimizer(init, update).name == "optimizer"


# ------------------------------------------------------------ oracle calls


def test_parameters_validation(xp):
    promoted = parameters(xp.asarray([1, 2, 3]))
    assert xp.isdtype(promoted.dtype, "real floating")
    with pytest.raises(ValueError, match="params must be a 1-D vector, got shape"):
        parameters(xp.ones((2, 2)))
    with pytest.raises(TypeError, match="params must be an array, got list"):
        parameters([1.0, 2.0])


def test_value_must_be_a_finite_scalar(xp):
    x = xp.asarray([1.0, 2.0], dtype=xp.float64)
    vector_valued = Oracle(value=lambda p: p, grad=lambda p: p, hvp=lambda p, v: v)
    with pytest.raises(ValueError, match="oracle.value returned shape"):
        value_at(vector_valued, x, 0)
    nan_valued = Oracle(value=lambda p: xp.sum(p) * float("nan"), grad=lambda p: p,
                        hvp=lambda p, v: v)
    with pytest.raises(NonFiniteError, match="oracle.value returned NaN or inf at step 7"):
        value_at(nan_valued, x, 7)


def test_gradient_and_loss(xp):
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    x = xp.asarray([1.0, -1.0], dtype=xp.float64)
    loss, gradient, grad_norm = gradient_and_loss(_quadratic(xp, A), x, 0)
    # 0.5 x^T A x = 0.5 (2 - 2 + 3) = 1.5, gradient A x = (1, -2)
    assert loss == pytest.approx(1.5, rel=1e-15)
    xp_assert_close(gradient, np.array([1.0, -2.0]), rtol=1e-15, xp=xp)
    assert grad_norm == pytest.approx(np.sqrt(5.0), rel=1e-15)


def test_gradient_of_another_library_is_a_type_error(xp):
    x = xp.asarray([1.0, 2.0], dtype=xp.float64)
    oracle = Oracle(value=lambda p: xp.sum(p), grad=lambda p: [1.0, 2.0], hvp=lambda p, v: v)
    with pytest.raises(TypeError, match="oracle.grad returned list"):
        gradient_and_loss(oracle, x, 0)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31), size=st.integers(1, 6))
def test_dense_hessian_counts_and_matches(xp, seed, size):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((size, size))
    A = M + M.T
    x = xp.zeros(size, dtype=xp.float64)
    hvp = HVPCounter(_quadratic(xp, A), x, 0)
    # Each column is A e_i exactly (one product of 0/1 entries): equal to rounding of
    # the symmetrising average, which is exact for a symmetric A.
    xp_assert_close(dense_hessian(hvp, x), A, rtol=0, atol=0, xp=xp)
    assert hvp.matvecs == size


def test_hvp_counter_validates(xp):
    x = xp.asarray([1.0, 2.0], dtype=xp.float64)
    wrong = Oracle(value=lambda p: p[0], grad=lambda p: p, hvp=lambda p, v: v[:1])
    with pytest.raises(ValueError, match=r"oracle.hvp returned shape \(1,\), expected \(2,\)"):
        HVPCounter(wrong, x, 0)(x)
    infinite = Oracle(value=lambda p: p[0], grad=lambda p: p, hvp=lambda p, v: v * float("inf"))
    with pytest.raises(NonFiniteError, match="oracle.hvp returned NaN or inf at step 3"):
        HVPCounter(infinite, x, 3)(x)
    with pytest.raises(ValueError, match="the oracle has no gauss_newton callable"):
        HVPCounter(wrong, x, 0, "gauss_newton")


def test_directional_accepts_scalar_and_vector(xp):
    # f = sum x^4 / 4: D^3 f[u, u, u] = 6 sum x u^3, D^3 f[u, u, .] = 6 x u^2.
    x = xp.asarray([1.0, -2.0], dtype=xp.float64)
    u = xp.asarray([0.5, 1.0], dtype=xp.float64)
    expected = 6 * (1.0 * 0.125 - 2.0 * 1.0)
    common = {"value": lambda p: p[0], "grad": lambda p: p, "hvp": lambda p, v: v}
    scalar = Oracle(**common, third=lambda p, v: 6.0 * xp.sum(p * v**3))
    vector = Oracle(**common, third=lambda p, v: 6.0 * p * v**2)
    assert directional(scalar, x, u, 0) == pytest.approx(expected, rel=1e-15)
    assert directional(vector, x, u, 0) == pytest.approx(expected, rel=1e-15)
    with pytest.raises(ValueError, match="the oracle has no third callable"):
        directional(Oracle(**common), x, u, 0)
    broken = Oracle(**common, third=lambda p, v: xp.sum(p) * float("inf"))
    with pytest.raises(NonFiniteError, match="oracle.third"):
        directional(broken, x, u, 0)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_check_positive(bad):
    with pytest.raises(ValueError, match="rate must be"):
        check_positive(bad, "rate")


def test_check_fraction_and_types():
    assert check_fraction(0.0, "mu") == 0.0
    with pytest.raises(ValueError, match=r"omega must lie in \(0, 1\)"):
        check_fraction(0.0, "omega", open_low=True)
    with pytest.raises(ValueError, match=r"mu must lie in \[0, 1\)"):
        check_fraction(1.0, "mu")
    with pytest.raises(TypeError, match="mu must be a real number"):
        check_fraction(True, "mu")
    with pytest.raises(TypeError, match="mu must be a real number"):
        check_fraction(object(), "mu")

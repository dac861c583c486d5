"""Regression tests from a new user's review of the matfun core (one per bug found)."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import matfun
from matfun import SeriesDivergenceError, binomial_series, inv_sqrt_series, neumann_series
from matfun.exact import abs_inv, apply_function, truncated_inv_sqrt_series
from matfun.series import inv_sqrt_partial_sums
from matfun.testing import symmetric_matrices, vectors
from tests._helpers import to_numpy, xp_assert_close


class CountingOperator:
    """A matvec-only operator that counts its calls (each one is a Hessian-vector product)."""

    def __init__(self, matrix):
        self.matrix = matrix
        self.calls = 0

    def __call__(self, v):
        self.calls += 1
        return self.matrix @ v


def _indefinite(xp, n=6, seed=0, negatives=2):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eigenvalues = np.geomspace(1.0, 5.0, n) * np.where(np.arange(n) < negatives, -1.0, 1.0)
    matrix = (q * eigenvalues) @ q.T
    return xp.asarray((matrix + matrix.T) / 2), xp.asarray(rng.standard_normal(n))


# Bug 1: with the default (adaptive) scale an indefinite operator made the Neumann and
# binomial series double V ~45 times until the growth hid below rounding, then return
# a meaningless vector with only a SeriesConvergenceWarning (reproducer:
# neumann_series(H, g) for H with eigenvalues -3, -1, 0.5, 2, 4).


@pytest.mark.parametrize("scale", ["adaptive", "lanczos", 30.0])
@pytest.mark.parametrize(
    "series", [neumann_series, lambda H, g, **kw: binomial_series(H, g, -0.5, **kw),
               lambda H, g, **kw: binomial_series(H, g, 0.5, **kw)],
    ids=["neumann", "binomial-0.5", "binomial+0.5"])
def test_indefinite_operator_raises_divergence_for_every_scale(xp, series, scale):
    H, g = _indefinite(xp)
    with pytest.raises(SeriesDivergenceError, match="not positive definite") as caught:
        series(H, g, scale=scale)
    assert caught.value.info.diverged and caught.value.info.stopped_by == "diverged"


def test_negative_definite_operator_raises_at_once():
    H, g = _indefinite(np, negatives=6)
    with pytest.raises(SeriesDivergenceError, match="not positive definite") as caught:
        neumann_series(H, g, terms=3)
    # Before the fix: 46 restarts to V = 1.3e14 and a silent result.
    assert caught.value.info.restarts == 0


@given(problem=symmetric_matrices(size=st.integers(2, 8), condition=st.floats(1.0, 100.0),
                                  negatives=st.integers(1, 7)),
       data=st.data())
def test_neumann_never_returns_on_an_indefinite_matrix(problem, data):
    g = data.draw(vectors(problem.matrix.shape[0]))
    if np.all(problem.eigenvalues > 0):  # negatives was capped at size 0: not our case
        return
    with pytest.raises(SeriesDivergenceError):
        neumann_series(problem.matrix, g, max_terms=20_000)


@given(problem=symmetric_matrices(size=st.integers(1, 8), condition=st.floats(1.0, 30.0),
                                  negatives=0),
       data=st.data())
def test_curvature_check_has_no_false_alarm_on_spd(problem, data):
    # The check fires only on p^T A p <= 0, which never happens for SPD A: the series
    # must still converge to A^{-1} g. Tolerance: tol = 1e-10 on the tail estimate,
    # times a kappa <= 30 float64 rounding allowance.
    g = data.draw(vectors(problem.matrix.shape[0]))
    x = neumann_series(problem.matrix, g, rtol=1e-10)
    q, w = problem.eigenvectors, problem.eigenvalues
    expected = q @ ((q.T @ g) / w)
    np.testing.assert_allclose(x, expected, rtol=0, atol=1e-8 * np.linalg.norm(expected))


# Bug 2: an array operator from another library than g raised AttributeError or the
# other library's own TypeError (reproducer: inv_sqrt_series(torch_H, numpy_g)).


def test_operator_and_vector_from_different_libraries():
    strict = pytest.importorskip("array_api_strict")
    H = np.diag([2.0, -1.0])
    with pytest.raises(TypeError, match="op is a numpy.ndarray but the vector is a array_api"):
        inv_sqrt_series(H, strict.ones(2))
    with pytest.raises(TypeError, match="use one array library"):
        inv_sqrt_series(strict.asarray(H), np.ones(2))


def test_torch_operator_with_numpy_vector():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="op is a torch.Tensor but the vector is a numpy"):
        inv_sqrt_series(torch.eye(2, dtype=torch.float64), np.ones(2))


# Bug 3: a matvec returning None or a Python float raised AttributeError.


@pytest.mark.parametrize("returned", [None, 1.0, [1.0, 2.0]])
def test_matvec_returning_a_non_array(xp, returned):
    with pytest.raises(TypeError, match="op: matvec returned .* it must return an array"):
        inv_sqrt_series(lambda v: returned, xp.ones(2))


# Bug 4: sparse torch tensors raised NotImplementedError (from the finiteness check).


def test_sparse_torch_tensor_is_an_operator():
    torch = pytest.importorskip("torch")
    H, g = _indefinite(np)
    sparse = torch.asarray(H).to_sparse()
    w, q = np.linalg.eigh(H)
    expected = q @ ((q.T @ g) / np.abs(w))
    # The series stops at tol = 1e-12 on its tail estimate; kappa = 5 for |H|.
    x = inv_sqrt_series(sparse, torch.asarray(g), rtol=1e-12)
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float64
    np.testing.assert_allclose(to_numpy(x), expected, rtol=1e-9)
    # The dense oracle densifies it; float64 eigh, kappa = 5: 1e-13.
    np.testing.assert_allclose(to_numpy(abs_inv(sparse, torch.asarray(g))), expected, rtol=1e-13)


# Bug 5: NumPy integers were refused as counts, a string tol raised an unhelpful
# ValueError, and a non-callable callback failed only after matvecs were spent.


def test_numpy_integers_are_counts():
    H, g = _indefinite(np)
    expected = inv_sqrt_series(H, g, terms=7, scale=30.0)
    xp_assert_close(inv_sqrt_series(H, g, terms=np.int64(7), scale=30.0), expected, rtol=0)
    xp_assert_close(inv_sqrt_series(H, g, terms=np.int32(7), scale=30.0, max_terms=np.int64(9)),
                    expected, rtol=0)
    xp_assert_close(truncated_inv_sqrt_series(H, g, terms=np.int64(7), scale=30.0),
                    truncated_inv_sqrt_series(H, g, terms=7, scale=30.0), rtol=0)
    assert len(list(inv_sqrt_partial_sums(H, g, terms=np.int64(3), scale=30.0))) == 3


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(rtol="1e-6"), TypeError, "rtol must be a real number"),
    (dict(callback=3), TypeError, "callback must be callable"),
    (dict(terms=0), ValueError, "terms must be a positive integer"),
    (dict(order=0, accelerate="shanks"), ValueError, "order must be a positive integer"),
    (dict(initial_scale=-1.0), ValueError, "initial_scale must be a positive"),
    (dict(initial_scale="big", scale="paper"), TypeError, "initial_scale must be a positive"),
])
def test_options_are_checked_before_any_matvec(kwargs, error, match):
    H, g = _indefinite(np)
    op = CountingOperator(H)
    kwargs.setdefault("scale", "lanczos")  # a strategy that spends matvecs up front
    with pytest.raises(error, match=match):
        inv_sqrt_series(op, g, **kwargs)
    assert op.calls == 0


def test_neumann_and_binomial_check_options_first():
    op = CountingOperator(np.eye(3))
    with pytest.raises(ValueError, match="terms"):
        neumann_series(op, np.ones(3), terms=0, scale="lanczos")
    with pytest.raises(TypeError, match="exponent must be a real number"):
        binomial_series(op, np.ones(3), True)
    assert op.calls == 0


# Bug 6: inv_sqrt_partial_sums was a generator function, so a bad argument raised
# only at the first next(), and terms=0 was reported as "max_terms".


def test_partial_sums_check_their_arguments_at_the_call():
    H, g = _indefinite(np)
    with pytest.raises(ValueError, match="op has shape"):
        inv_sqrt_partial_sums(H, g[:2], terms=3)
    with pytest.raises(ValueError, match="^terms must be a positive integer"):
        inv_sqrt_partial_sums(H, g, terms=0)


# Bug 7: apply_function with an f of another library failed inside array-api-strict.


def test_apply_function_from_another_library():
    strict = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match="f returned a numpy.ndarray"):
        apply_function(strict.asarray(np.diag([1.0, 2.0])), strict.ones(2), np.exp)


# Bug 8: three docstring examples did not run (NumPy 2 prints arrays differently; the
# partial-sums example stopped at an exactly zero term). Keep every example running.


@pytest.mark.parametrize("module", [
    "matfun.series", "matfun.operators", "matfun.coefficients", "matfun.scaling",
    "matfun.exact", "matfun._exact_mp", "matfun._truncations", "matfun.testing",
    "matfun._strategies",
])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module),
                             optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_public_api_unchanged_by_the_split():
    from matfun import exact, testing

    for name in ["truncated_inv_sqrt_series", "truncated_neumann_series",
                 "truncated_binomial_series"]:
        assert name in exact.__all__ and callable(getattr(exact, name))
    for name in ["spectra", "symmetric_matrices", "vectors", "matrix_with_spectrum",
                 "assert_matches_oracle", "SymmetricProblem", "DISTRIBUTIONS"]:
        assert name in testing.__all__ and hasattr(testing, name)
    assert matfun.exact is exact

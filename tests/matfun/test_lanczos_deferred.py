"""Lanczos on NumPy proves each product finite from ``beta = ||w||`` (deferred check).

:meth:`matfun._lanczos.LanczosProcess._step_numpy` does not test ``H q`` for NaN/inf
itself: a NaN/inf entry survives both Gram-Schmidt passes and reaches the norm, and only
a non-finite norm looks at the product. That must raise the same error as
:meth:`matfun.Operator.matvec`, with no further matvec and no warning, whichever call
turns bad (the first product, checked by ``matvec`` itself, and later ones). The
oracle is the call number at which the matvec turns bad and the message ``matvec``
gives; the results of clean runs are compared with a dense eigendecomposition.
"""

import math
import warnings

import numpy as np
import pytest
import scipy.sparse

import matfun
from matfun._lanczos import LanczosProcess


def _indefinite(n, seed=0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * np.linspace(1.0, 3.0, n) * np.where(np.arange(n) % 2, 1.0, -1.0)) @ q.T


CALLS = {  # rtol 1e-5: reachable in float32 too
    "inv_abs": lambda op, g: matfun.lanczos_apply(op, g, "inv_abs", rtol=1e-5),
    "inv bounded": lambda op, g: matfun.lanczos_apply(op, g, "inv", bounds=(1.0, 3.0),
                                                      rtol=1e-5),
    "inv_sqrt lanczos": lambda op, g: matfun.inv_sqrt(op, g, method="lanczos", rtol=1e-5),
}


def _spoiled(apply, bad, value, n):
    calls = [0]

    def matvec(v):  # the real product, spoiled in one entry at call `bad`
        calls[0] += 1
        result = apply(v)
        return np.where(np.arange(n) == 3, value, result) if calls[0] == bad else result

    return matvec, calls


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("bad", [1, 2, 3, 9])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_bad_user_product_raises_at_once(dtype, name, bad, value):
    n = 30
    matrix = _indefinite(n).astype(dtype)
    g = np.random.default_rng(1).standard_normal(n).astype(dtype)
    matvec, calls = _spoiled(lambda v: matrix @ v, bad, value, n)
    op = matfun.as_operator(matvec, like=g, name="hvp")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way to the error
        with pytest.raises(ValueError, match=r"^hvp: matvec returned NaN or inf$"):
            CALLS[name](op, g)
    assert calls[0] == bad  # raised before the matvec was applied again
    assert op.matvecs == bad


@pytest.mark.parametrize("form", ["dense", "sparse"])
@pytest.mark.parametrize("bad", [1, 2, 5])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_a_bad_product_of_a_matrix_operator_raises_at_once(form, bad, value):
    n = 30
    matrix = _indefinite(n)
    g = np.random.default_rng(1).standard_normal(n)
    op = matfun.as_operator(matrix if form == "dense" else scipy.sparse.csr_array(matrix),
                            like=g, name="hvp")
    op._apply, calls = _spoiled(op._apply, bad, value, n)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^hvp: matvec returned NaN or inf$"):
            matfun.lanczos_apply(op, g, "inv_abs")
    assert calls[0] == bad == op.matvecs


def test_a_bad_vector_is_blamed_as_matvec_blames_it():
    # raise_non_finite blames the vector when it was already bad; the process's vectors
    # are finite, so the product is blamed (the message matvec gives for them).
    n = 30
    op = matfun.as_operator(lambda v: np.full(n, np.nan), like=np.ones(n), name="hvp")
    process = LanczosProcess(op, np.ones(n))
    with pytest.raises(ValueError, match=r"^hvp: matvec returned NaN or inf$"):
        process.step()


def test_an_unchecked_operator_is_not_checked_later_either():
    n = 30
    matrix = _indefinite(n)
    g = np.random.default_rng(1).standard_normal(n)
    matvec, _ = _spoiled(lambda v: matrix @ v, 4, np.nan, n)
    op = matfun.as_operator(matvec, like=g, name="hvp", check=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            matfun.lanczos_apply(op, g, "inv_abs")
        except (ValueError, ArithmeticError) as error:
            assert "matvec returned NaN" not in str(error)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 1e-5)])
def test_the_lean_step_keeps_an_orthonormal_basis_and_the_answer(dtype, rtol):
    # Oracle: numpy.linalg.eigh of the matrix; tolerance: ten times the requested rtol
    # (the estimate is a heuristic) plus 100 kappa eps (kappa = 3) of the dtype.
    n = 200
    matrix = _indefinite(n, seed=3).astype(dtype)
    g = np.random.default_rng(4).standard_normal(n).astype(dtype)
    process = LanczosProcess(matfun.as_operator(matrix), g)
    assert process._numpy
    for _ in range(60):
        process.step()
    Q = process.rows(process.steps + 1).astype(np.float64)
    eps = np.finfo(dtype).eps
    assert np.max(np.abs(Q @ Q.T - np.eye(process.steps + 1))) <= 100 * n * eps
    x = matfun.lanczos_apply(matrix, g, "inv_abs", rtol=rtol)
    w, v = np.linalg.eigh(matrix.astype(np.float64))
    exact = v @ ((v.T @ g.astype(np.float64)) / np.abs(w))
    assert x.dtype == dtype
    tol = 10 * rtol + 300 * eps
    assert np.linalg.norm(x - exact) <= tol * np.linalg.norm(exact)


@pytest.mark.parametrize("f, fast", [("inv_abs", 1e-11), ("inv_abs", 0.0), ("inv", 0.0)])
def test_a_reference_without_its_bound_is_the_same_check(f, fast):
    # Lag references are evaluated with bound=False: the same iterate, guard and Ritz
    # values as the full check (equal floats: the same code path up to the bound), and
    # an infinite bound instead of the computed one.
    from matfun._lanczos_checks import evaluate
    from matfun.lanczos import FUNCTIONS

    n = 200
    matrix = _indefinite(n, seed=5)
    process = LanczosProcess(matfun.as_operator(matrix), np.random.default_rng(6)
                             .standard_normal(n))
    for _ in range(80):
        process.step()
    function = FUNCTIONS[f]
    for steps in (40, 79, None):
        full = evaluate(process, function, None, True, None, steps, fast)
        lean = evaluate(process, function, None, True, None, steps, fast, bound=False)
        assert math.isfinite(full.bound) and lean.bound == math.inf
        np.testing.assert_array_equal(lean.coefficients, full.coefficients)
        np.testing.assert_array_equal(lean.ritz, full.ritz)
        assert (lean.guard, lean.reliable_min, lean.steps) == (
            full.guard, full.reliable_min, full.steps)

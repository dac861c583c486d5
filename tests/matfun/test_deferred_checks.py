"""A NaN/inf from the user's matvec raises the operator's error wherever it appears.

The series check the outer product of each term through the norm of the next term
(:attr:`matfun._engine.SeriesSpec.deferred`) and the operator checks NumPy products by
a dot product (:func:`accel._backend.all_finite`) instead of ``isfinite`` + ``all``.
Neither may let a bad product through, change the message, or apply the user's matvec
again after a bad product. The oracle is the call number at which the matvec turns
bad (a counter in the test), and the message ``matvec`` itself gives.
"""

import warnings

import numpy as np
import pytest

import matfun
from accel._backend import _DOT_FROM, all_finite
from tests._helpers import to_numpy


def _finite(vector):
    return all_finite(np, vector)


def _spd(n, seed=0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * np.linspace(1.0, 3.0, n)) @ q.T


class _TurnsBad:
    """``v -> H v``, except that call number ``bad`` returns ``value`` in one entry."""

    def __init__(self, xp, matrix, bad, value):
        self.xp, self.matrix, self.bad, self.value = xp, xp.asarray(matrix), bad, value
        self.calls = 0

    def __call__(self, v):
        self.calls += 1
        result = self.matrix @ v
        if self.calls == self.bad:
            mask = self.xp.arange(result.shape[0]) == 3
            result = self.xp.where(mask, self.xp.asarray(self.value, dtype=result.dtype),
                                   result)
        return result


CALLS = {
    "inv_sqrt_series": lambda op, g: matfun.inv_sqrt_series(op, g),
    "inv_sqrt_series fixed V": lambda op, g: matfun.inv_sqrt_series(op, g, scale=9.5),
    "neumann_series": lambda op, g: matfun.neumann_series(op, g),
    "chebyshev_inv_sqrt": lambda op, g: matfun.chebyshev_inv_sqrt(op, g,
                                                                  interval=(0.9, 9.5)),
}


@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("bad", [1, 2, 3, 8, 9, 40, 41])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_bad_product_raises_at_once_with_the_operators_message(xp, name, bad, value):
    # Odd calls are the inner products H p of the squared series, even ones the outer
    # products H (H p) whose check the series defers to the next term's norm.
    matrix = _spd(12)
    g = xp.asarray(np.random.default_rng(1).standard_normal(12))
    matvec = _TurnsBad(xp, matrix, bad, value)
    op = matfun.as_operator(matvec, like=g, name="hvp")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way to the error
        with pytest.raises(ValueError, match=r"^hvp: matvec returned NaN or inf$"):
            CALLS[name](op, g)
    assert matvec.calls == bad  # raised before the matvec was applied again
    assert op.matvecs == bad


@pytest.mark.parametrize("name", list(CALLS))
def test_an_unchecked_operator_is_not_checked_later_either(name):
    # check=False: no error from the deferred check (what the user asked for); the
    # result is then whatever the arithmetic gives, or the method's own failure.
    matrix = _spd(12)
    g = np.random.default_rng(1).standard_normal(12)
    op = matfun.as_operator(_TurnsBad(np, matrix, 9, np.nan), like=g, name="hvp",
                            check=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            CALLS[name](op, g)
        except (ValueError, ArithmeticError) as error:
            assert "matvec returned NaN" not in str(error)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [5, _DOT_FROM, 3 * _DOT_FROM + 1])
def test_finite_matches_isfinite(dtype, n):
    rng = np.random.default_rng(n)
    base = rng.standard_normal(n).astype(dtype)
    huge = np.full(n, np.finfo(dtype).max / 2, dtype=dtype)  # finite; its dot overflows
    cases = [base, huge, -huge]
    for value in (np.nan, np.inf, -np.inf):
        for where in (0, n // 2, n - 1):
            bad = base.copy()
            bad[where] = value
            cases.append(bad)
            cases.append(bad[::-1])  # strided
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflowing dot product warns nothing
        for vector in cases:
            assert _finite(vector) == bool(np.all(np.isfinite(vector)))


def test_finite_on_other_shapes_and_dtypes():
    assert not _finite(np.array([1.0 + 1j, complex(np.nan, 0.0)] * _DOT_FROM))
    assert _finite(np.arange(_DOT_FROM + 3))
    assert not _finite(np.full((2, _DOT_FROM), np.inf))


def test_series_results_on_a_large_vector_are_unchanged_by_the_fast_check():
    # n above _DOT_FROM: the dot-product check is the one in use; an independent
    # oracle for the answer (eigendecomposition of a diagonal operator).
    n = _DOT_FROM + 17
    d = np.linspace(1.0, 3.0, n)
    g = np.random.default_rng(2).standard_normal(n)
    x = matfun.inv_sqrt_series(lambda v: d * v, g)
    assert np.linalg.norm(to_numpy(x) - g / d) <= 1e-6 * np.linalg.norm(g / d)


@pytest.mark.parametrize("form", ["dense", "sparse"])
@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("bad", [1, 2, 3, 8, 9, 40, 41])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_a_bad_product_of_a_matrix_operator_raises_the_same_error(form, name, bad, value):
    # A matrix this library applies itself propagates a NaN/inf of H p into H (H p), so
    # the squared products are checked by one test of the outer one; the inner one is
    # confirmed first, so the message is the one matvec gives. At most the one product
    # after the bad one is spent (the outer product of the pair).
    import scipy.sparse

    matrix = _spd(12)
    g = np.random.default_rng(1).standard_normal(12)
    op = matfun.as_operator(matrix if form == "dense" else scipy.sparse.csr_array(matrix),
                            like=g, name="hvp")
    assert op._propagates
    apply, calls = op._apply, [0]

    def spoiled(v):  # the real product, spoiled in one entry at call `bad` (as overflow)
        calls[0] += 1
        result = apply(v)
        return np.where(np.arange(12) == 3, value, result) if calls[0] == bad else result

    op._apply = spoiled
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^hvp: matvec returned NaN or inf$"):
            CALLS[name](op, g)
    assert bad <= op.matvecs <= bad + 1

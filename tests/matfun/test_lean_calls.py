"""The shortcuts of Chebyshev's and the series' calls decide exactly what they replace.

* :func:`matfun._chebyshev_range.norm_proves_range`: the computed ``||x||`` (the
  expansion computes it anyway) proves the answer's range, so the largest entry is read
  only when it does not. Oracle: the largest entry itself, against the dtype's limits
  (``numpy.finfo``), for norms computed in two summation orders (NumPy's
  ``vector_norm``, and a running sum in the vector's dtype: the worst order).
* the eager loops (Chebyshev's, the series') do not call ``settle`` (Dask's graph
  tests are in ``test_dask.py``);
* :func:`matfun._validation.check_real`'s float fast path keeps every refusal.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import matfun
from matfun import _chebyshev_expansion, _engine
from matfun._chebyshev_range import check_result_range, norm_proves_range
from matfun._validation import check_real
from matfun.errors import ResultRangeError

DTYPES = [np.float64, np.float32, np.complex128]


def _limits(dtype):
    info = np.finfo(dtype)
    return float(info.eps), float(info.max), float(info.smallest_normal)


def _largest(x):
    """``max |x_i|`` in float64 (complex: the modulus of float64 parts)."""
    return float(np.max(np.abs(x.astype(np.complex128 if np.iscomplexobj(x) else np.float64))))


def _running_norm(x):
    """``sqrt`` of a left-to-right running sum of the squares, in ``x``'s real dtype."""
    real = np.abs(x) if np.iscomplexobj(x) else x
    squares = real * real
    return float(np.sqrt(np.cumsum(squares, dtype=squares.dtype)[-1]))


@st.composite
def _vectors(draw):
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(1, 2000))
    _, big, tiny = _limits(dtype)
    top = math.frexp(big)[1]
    bottom = math.frexp(tiny)[1]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # Entries of one magnitude 2^e anywhere in the dtype's range (squares that
    # overflow or underflow included), some of them far smaller still.
    e = draw(st.integers(bottom - 20, top - 1))
    x = rng.standard_normal(n) * 2.0**e
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(n) * 2.0**e
    spread = draw(st.integers(0, 200))
    x[rng.random(n) < 0.3] *= 2.0**-spread
    with np.errstate(over="ignore", under="ignore"):
        x = x.astype(dtype)
    x[~np.isfinite(x)] = 0
    # factor near the top or bottom of the range for this x, or anywhere.
    largest = _largest(x) or 1.0
    edge = draw(st.sampled_from(["top", "bottom", "any"]))
    if edge == "top":
        k = top - math.frexp(largest)[1] + draw(st.integers(-4, 4))
    elif edge == "bottom":
        k = bottom - math.frexp(largest)[1] + draw(st.integers(-4, 40))
    else:
        k = draw(st.integers(-1200, 1200))
    return x, math.ldexp(1.0, k) if -1074 <= k <= 1023 else (0.0 if k < 0 else math.inf)


@given(_vectors())
def test_a_proof_from_the_norm_is_what_the_entries_say(case):
    x, factor = case
    eps, big, tiny = _limits(x.dtype)
    with np.errstate(over="ignore", under="ignore"):
        norms = [float(np.linalg.vector_norm(x)), _running_norm(x)]
    largest = _largest(x) * factor
    in_range = tiny <= largest <= big
    for norm in norms:
        if norm_proves_range(norm, factor, x.shape[0], eps, big, tiny):
            assert in_range, (norm, factor, largest)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_proof_declines_what_it_cannot_see(dtype):
    eps, big, tiny = _limits(dtype)
    assert norm_proves_range(3.0, 1.0, 1000, eps, big, tiny)  # the common case
    for norm in (0.0, math.inf, math.nan):
        assert not norm_proves_range(norm, 1.0, 1000, eps, big, tiny)
    assert not norm_proves_range(3.0, big, 1000, eps, big, tiny)  # maybe too large
    assert not norm_proves_range(3.0, tiny, 1000, eps, big, tiny)  # maybe too small
    # squares that may have underflowed: the computed norm proves nothing
    assert not norm_proves_range(math.sqrt(tiny), 1.0, 10, eps, big, tiny)
    # too long for the dtype's rounding bound (2 n eps > 1/8)
    n = int(1 / (16 * eps)) + 1
    assert not norm_proves_range(3.0, 1.0, n, eps, big, tiny)


class _NoReads:
    """A namespace whose reductions fail: shows whether the entries were read."""

    def abs(self, x):
        raise AssertionError("the entries were read")

    max = abs


def test_the_range_check_reads_the_entries_only_when_the_norm_proves_nothing():
    x = np.array([0.5, -2.0, 1.0])
    info = np.finfo(np.float64)
    check_result_range(_NoReads(), info, x, 1.0, float(np.linalg.vector_norm(x)))
    with pytest.raises(AssertionError, match="read"):
        check_result_range(_NoReads(), info, x, 2.0**1022, float(np.linalg.vector_norm(x)))
    # and the entries still decide at the edges: 2.0 * 2^1023 overflows, 2^-1021 fits
    with pytest.raises(ResultRangeError, match="beyond"):
        check_result_range(np, info, x, 2.0**1023, float(np.linalg.vector_norm(x)))
    check_result_range(np, info, x, 2.0**-1021, float(np.linalg.vector_norm(x)))
    with pytest.raises(ResultRangeError, match="underflows"):
        check_result_range(np, info, x, 2.0**-1024, float(np.linalg.vector_norm(x)))


def definite_problem(seed):
    """``(H, g)``: a 20 x 20 symmetric ``H`` with eigenvalues in ``[1, 3]``, random ``g``."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    H = (q * rng.uniform(1.0, 3.0, 20)) @ q.T
    return (H + H.T) / 2, rng.standard_normal(20)


def test_eager_vectors_are_not_settled(monkeypatch):
    # settle() is the identity on NumPy: skipping it changes no float.
    H, g = definite_problem(3)
    expected = matfun.chebyshev_inv_sqrt(H, g, interval=(1.0, 9.0))
    calls = []

    def counting(x):
        calls.append(x)
        return x

    monkeypatch.setattr(_chebyshev_expansion, "settle", counting)
    x = matfun.chebyshev_inv_sqrt(H, g, interval=(1.0, 9.0))
    assert calls == []
    assert np.array_equal(x, expected)
    w, v = np.linalg.eigh(H)  # and the answer is the answer (kappa(H^2) <= 9: rtol 1e-8)
    exact = v @ ((v.T @ g) / np.abs(w))
    assert np.linalg.norm(x - exact) <= 1e-7 * np.linalg.norm(exact)


def test_check_real_fast_path_keeps_every_refusal():
    assert check_real(2.5, "a") == 2.5 and type(check_real(2.5, "a")) is float
    assert check_real(np.float32(0.5), "a") == 0.5 and check_real(3, "a") == 3.0
    for bad in (math.inf, -math.inf, math.nan, np.float64(math.nan)):
        with pytest.raises(ValueError, match="a must be finite"):
            check_real(bad, "a")
    for bad in (True, "1.0", b"1", None, [1.0]):
        with pytest.raises(TypeError, match="a must be a real number"):
            check_real(bad, "a")


def test_eager_series_terms_are_not_settled(monkeypatch):
    H, g = definite_problem(4)
    expected = [matfun.inv_sqrt_series(H, g), matfun.inv_sqrt_series(H, g, accelerate="levin")]
    calls = []

    def counting(x):
        calls.append(x)
        return x

    monkeypatch.setattr(_engine, "settle", counting)
    got = [matfun.inv_sqrt_series(H, g), matfun.inv_sqrt_series(H, g, accelerate="levin")]
    assert calls == []
    for x, y in zip(got, expected, strict=True):
        assert np.array_equal(x, y)
    w, v = np.linalg.eigh(H)  # the answer: kappa(H^2) <= 9, default rtol sqrt(eps)
    exact = v @ ((v.T @ g) / np.abs(w))
    assert np.linalg.norm(got[0] - exact) <= 1e-6 * np.linalg.norm(exact)


def _sym(n, seed=5):
    a = np.random.default_rng(seed).standard_normal((n, n))
    return (a + a.T) / 2


@pytest.mark.parametrize("where", [(0, 0), (5, 200), (299, 3), (150, 150)])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("mirror", [False, True])
def test_a_dense_matrix_is_read_once_and_still_refuses_nan_and_inf(xp, where, value, mirror):
    # n = 300: three tiles a side (block 128), the bad entry in a diagonal or an
    # off-diagonal tile, alone or mirrored (inf - inf inside the symmetry test).
    import warnings

    matrix = _sym(300)
    matrix[where] = value
    if mirror:
        matrix[where[::-1]] = value
    g = xp.asarray(np.ones(300))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way to the error
        with pytest.raises(ValueError, match=r"^H contains NaN or inf$"):
            matfun.as_operator(xp.asarray(matrix), like=g, name="H")


def test_a_finite_symmetric_matrix_needs_no_separate_finiteness_pass(monkeypatch):
    from matfun import _operator_forms

    calls = []
    original = _operator_forms.all_finite
    monkeypatch.setattr(_operator_forms, "all_finite",
                        lambda xp, x: calls.append(x.shape) or original(xp, x))
    op = matfun.as_operator(_sym(300))
    assert calls == []  # the symmetry test's maxima proved every entry finite
    assert np.array_equal(op.matvec(np.ones(300)), _sym(300) @ np.ones(300))
    with pytest.raises(ValueError, match="contains NaN or inf"):
        bad = _sym(300)
        bad[7, 9] = np.nan
        matfun.as_operator(bad)
    assert calls == [(300, 300)]  # a non-finite maximum sends the test to the entries
    # check_symmetric=False: the finiteness pass is all that runs
    matfun.as_operator(_sym(300), check_symmetric=False)
    assert calls == [(300, 300)] * 2


def test_an_overflowing_difference_is_an_asymmetry_not_a_nan():
    import warnings

    huge = np.finfo(float).max / 2
    matrix = np.eye(4)
    matrix[0, 1], matrix[1, 0] = 1.5 * huge, -1.5 * huge  # finite; the difference overflows
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="must be symmetric"):
            matfun.as_operator(matrix)

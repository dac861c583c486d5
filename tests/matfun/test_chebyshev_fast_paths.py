"""Chebyshev's fast paths change no float: each is checked against the code it replaces.

:func:`matfun._chebyshev_expansion.chebyshev_sum` folds the powers of two of the
scaling and the doubling of ``2 L T_j`` into the map's divisor and shift, and updates
fresh vectors in place where the library allows it. The reference below is the
straightforward recurrence written out independently (each product divided by ``s`` as
it comes, ``L v = (A v + (mu - c) v) / h``, ``T_{j+1} = 2 L T_j - T_{j-1}``): the
results must be equal bit for bit, for float64, float32 and complex vectors, operator
units inside and beyond the range where the powers are folded, both variables (``H^2``
and the definite ``H``), and on NumPy and array-api-strict alike. The accuracy of the
answers themselves is tested against ``eigh`` in ``test_chebyshev.py``.
"""

import numpy as np
import pytest

import matfun
from matfun import _chebyshev_definite, _chebyshev_expansion
from matfun import chebyshev as chebyshev_module
from matfun.operators import as_operator

# (dtype, unit of H): inside float64's folding range (|log2 s| <= 64) and beyond it,
# inside float32's (<= 8) and beyond it.
CASES = [(np.float64, u) for u in (1.0, 3e-5, 2.0**40, 2.0**70, 1e150)] + [
    (np.float32, u) for u in (1.0, 2.0**6, 2.0**12)] + [(np.complex128, 1.0)]


def problem(n, seed, unit, dtype, definite):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    w = np.geomspace(0.05, 1.0, n) * (1.0 if definite else rng.choice([-1.0, 1.0], n))
    H = (q * w) @ q.T
    H = ((H + H.T) / 2 * unit).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    return H, g


def reference_sum(H, g, s, mu, lo, hi, coefficients, reciprocal=False):
    """The textbook recurrence, every product divided by ``s`` as it comes.

    ``reciprocal``: the map multiplies by ``fl(1 / h)`` instead of dividing by ``h``.
    """
    center, half_width = (hi + lo) / 2, (hi - lo) / 2
    inverse = 1.0 / s
    by = 1.0 / half_width

    def mapped(v):
        w = H.matvec(H.matvec(v) * inverse) * inverse + (mu - center) * v
        return w * by if reciprocal else w / half_width

    return textbook_sum(mapped, g, coefficients)


def reference_inverse(H, g, factor, a, b, coefficients, reciprocal=False):
    center, half_width = (b + a) / 2, (b - a) / 2
    by = 1.0 / half_width

    def mapped(v):
        w = H.matvec(v) * factor - center * v
        return w * by if reciprocal else w / half_width

    return textbook_sum(mapped, g, coefficients)


def textbook_sum(mapped, g, coefficients):
    """``c_0/2 g + sum_j c_j T_j(M) g`` by the three-term recurrence, ``M`` = ``mapped``."""
    x = (coefficients[0] / 2) * g
    previous, current = g, g
    for j in range(1, len(coefficients)):
        following = mapped(current) if j == 1 else 2 * mapped(current) - previous
        x = x + coefficients[j] * following
        previous, current = current, following
    return x


def same(a, b):
    return a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize(("dtype", "unit"), CASES)
@pytest.mark.parametrize("reciprocal", [False, True])
def test_square_expansion_is_the_textbook_recurrence(dtype, unit, reciprocal):
    H, g = problem(14, 2, unit, dtype, definite=False)
    op = as_operator(H)
    s = 2.0 ** round(np.log2(unit))  # a power of two near ||H||, as the caller picks it
    lo, hi, mu = 0.002, 1.1, 0.01
    coefficients = [float(c) for c in chebyshev_module.chebyshev_coefficients(lo, hi, 30)]
    x, _, _ = _chebyshev_expansion.expand_square(np, op, g, s, mu, lo, hi, coefficients,
                                                 reciprocal)
    assert same(x, reference_sum(op, g, s, mu, lo, hi, coefficients, reciprocal))


@pytest.mark.parametrize(("dtype", "unit"), CASES)
@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("reciprocal", [False, True])
def test_definite_expansion_is_the_textbook_recurrence(dtype, unit, sign, reciprocal):
    H, g = problem(14, 3, unit, dtype, definite=True)
    op = as_operator(H * H.dtype.type(sign))  # sign H positive definite
    s = 2.0 ** round(np.log2(unit))
    a, b = 0.05, 1.0
    expansion = _chebyshev_definite.InverseExpansion(a, b)
    coefficients = expansion.coefficients(30)
    dtype_max = float(np.finfo(np.dtype(dtype).char.lower() if dtype is np.complex128
                               else dtype).max)
    x, _, _ = _chebyshev_definite.expand_inverse(np, op, g, sign / s, a, b, coefficients,
                                                 dtype_max, reciprocal=reciprocal)
    assert same(x, reference_inverse(op, g, sign / s, a, b, coefficients, reciprocal))


@pytest.mark.parametrize(("dtype", "unit"), [c for c in CASES if c[0] is not np.complex128])
def test_public_results_are_the_same_on_a_backend_without_numpy_buffers(dtype, unit):
    strict = pytest.importorskip("array_api_strict")
    for definite in (True, False):
        H, g = problem(14, 4, unit, dtype, definite)
        x, info = matfun.chebyshev_inv_sqrt(H, g, full_output=True)
        y, other = matfun.chebyshev_inv_sqrt(strict.asarray(H), strict.asarray(g),
                                             full_output=True)
        assert same(x, np.asarray(y)) and info == other


def test_the_folding_range_is_exercised_and_left():
    f64, f32 = float(np.finfo(np.float64).max), float(np.finfo(np.float32).max)
    assert _chebyshev_expansion.fusable(64, f64) and not _chebyshev_expansion.fusable(65, f64)
    assert _chebyshev_expansion.fusable(-8, f32) and not _chebyshev_expansion.fusable(9, f32)


@pytest.mark.parametrize(("lo", "hi"), [(1.0, 9.0), (0.01, 1.0), (1e-4, 2.0)])
@pytest.mark.parametrize("theta", [1e-7, -1e-7, 1e-9])
def test_reciprocal_error_bounds_the_change_of_the_map(lo, hi, theta):
    # The claim behind reciprocal_error: the expansion evaluated on a map whose
    # half-width is off by the relative theta changes f = t^(-1/2) by at most
    # reciprocal_error(h, lo, 1/2, eps) with u = eps / 2 -> |theta|. Oracle: the
    # Chebyshev series itself (numpy.polynomial) at both points, over the interval.
    degree = 400
    coefficients = chebyshev_module.chebyshev_coefficients(lo, hi, degree + 1)
    series = np.polynomial.chebyshev.Chebyshev(np.concatenate(([coefficients[0] / 2],
                                                               coefficients[1:])))
    t = np.linspace(lo, hi, 2001)
    center, half = (hi + lo) / 2, (hi - lo) / 2
    exact_map, perturbed_map = (t - center) / half, (t - center) / (half * (1 + theta))
    change = np.max(np.abs(series(perturbed_map) - series(exact_map)) * np.sqrt(t))
    assert change <= _chebyshev_expansion.reciprocal_error(half, lo, 0.5, 2 * abs(theta))
    # and the bound is not vacuous: within a factor 8 of the worst change (t = lo)
    assert change >= _chebyshev_expansion.reciprocal_error(half, lo, 0.5, 2 * abs(theta)) / 8


def test_the_reciprocal_is_taken_where_it_is_cheap_and_reported():
    # [1, 9] (the overhead benchmark's interval): (hi - lo) / (2 lo) = 4 <= d + 1, so
    # the map multiplies; the estimate grows by 4 eps and still bounds the error.
    rng = np.random.default_rng(7)
    n = 60
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = rng.uniform(1.0, 3.0, n) * rng.choice([-1.0, 1.0], n)
    H = (q * lam) @ q.T
    H = (H + H.T) / 2
    g = rng.standard_normal(n)
    taken = []
    original = _chebyshev_expansion.chebyshev_sum

    def spy(*args, **kwargs):
        taken.append(kwargs.get("reciprocal"))
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_chebyshev_expansion, "chebyshev_sum", spy)
        x, info = matfun.chebyshev_inv_sqrt(H, g, interval=(1.0, 9.0), rtol=1e-12,
                                            full_output=True)
        wide, wide_info = matfun.chebyshev_inv_sqrt(H, g, interval=(1e-6, 9.0), rtol=1e-6,
                                                    full_output=True)
    assert taken == [True, False]  # the wide interval: 4.5e6 > d + 1, divided
    eps = float(np.finfo(float).eps)
    floor = 8 * eps * (info.degree + 1)
    assert floor < info.rounding <= floor * np.sqrt(9.0) + 4 * eps
    w, v = np.linalg.eigh(H)
    exact = v @ ((v.T @ g) / np.abs(w))
    assert np.linalg.norm(x - exact) <= info.error_estimate * np.linalg.norm(x)
    assert np.linalg.norm(wide - exact) <= wide_info.error_estimate * np.linalg.norm(wide)


def test_a_kept_plan_is_the_plan():
    # plan() keeps recent small plans: a repeated call returns the same numbers as a
    # fresh computation, read-only; long plans are not kept.
    args = (0.37, 5.1, 1e-9, 10**6, None)
    _chebyshev_expansion._PLANS.clear()
    first = _chebyshev_expansion.plan(*args)
    again = _chebyshev_expansion.plan(*args)
    fresh = _chebyshev_expansion._plan(*args)
    assert again is first
    assert np.array_equal(first[0], fresh[0][: first[1] + 1]) and first[1:] == fresh[1:]
    with pytest.raises(ValueError):
        first[0][0] = 1.0
    long = _chebyshev_expansion.plan(1e-7, 1.0, 1e-12, 10**6, None)
    assert long[1] > _chebyshev_expansion._PLAN_KEPT_DEGREE
    assert all(value[1] <= _chebyshev_expansion._PLAN_KEPT_DEGREE
               for value in _chebyshev_expansion._PLANS.values())
    for k in range(40):  # bounded
        _chebyshev_expansion.plan(1.0, 2.0 + k, 1e-8, 10**6, None)
    assert len(_chebyshev_expansion._PLANS) <= _chebyshev_expansion._PLANS_KEPT

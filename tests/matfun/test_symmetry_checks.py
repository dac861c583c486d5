"""Operators that are not symmetric, refused from the products each method computes anyway.

``as_operator`` checks a dense or SciPy sparse matrix entrywise; a callable, a
``matvec`` object or a matrix given with ``check_symmetric=False`` can only be checked
through its products. Before these checks, ``H = S + E`` given as a callable with a
relative asymmetry of 1e-2 came back from ``inv_sqrt_series`` and from
``lanczos_apply(memory="low")`` marked converged, 2% away from the answer for ``S``
(and at 1e-4, 1.7e-4 away); only full-memory Lanczos on NumPy refused it. Now every
method refuses such an operator within its first few products, and never refuses a
symmetric one (the property test below, with extreme scales and conditioning, ``g``
near an eigenvector, float32 and complex input).
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import matfun
from matfun._symmetry import SLACK, check_square
from matfun.lanczos import lanczos_apply
from tests.matfun.test_honesty_lanczos import hermitian

NOT_SYMMETRIC = "not symmetric"
METHODS = ["series", "series_paper", "series_fixed_scale", "chebyshev_interval",
           "chebyshev", "lanczos", "lanczos_low"]


def run(method, op, g, magnitude, largest):
    """``|H|^{-1} g`` by ``method``; ``|eigenvalues|`` in ``magnitude * [1, largest]``."""
    rtol = 1e-8 if "64" in str(g.dtype) or "128" in str(g.dtype) else 1e-4
    if method == "series":
        return matfun.inv_sqrt_series(op, g, rtol=1e-5, max_matvecs=300)
    if method == "series_paper":
        return matfun.inv_sqrt_series(op, g, terms=20, scale="paper")
    if method == "series_fixed_scale":
        return matfun.inv_sqrt_series(op, g, terms=20, scale=1.1 * (largest * magnitude) ** 2)
    if method == "chebyshev_interval":  # no Lanczos: the interval and degree are given
        return matfun.chebyshev_inv_sqrt(op, g, interval=(magnitude**2,
                                                          (largest * magnitude) ** 2),
                                         degree=30)
    if method == "chebyshev":  # the certified interval comes from Lanczos
        return matfun.chebyshev_inv_sqrt(op, g, rtol=1e-5, max_matvecs=400)
    if method == "lanczos":
        return lanczos_apply(op, g, "inv_abs", rtol=rtol, max_matvecs=400)
    return lanczos_apply(op, g, "inv_abs", rtol=rtol, memory="low", max_matvecs=800)


def perturbed(n, asymmetry, seed, complex_=False):
    """``S + E``: ``S`` symmetric, ``|eigenvalues|`` in ``[1, 10]``; ``||E|| = asymmetry ||S||``."""
    rng = np.random.default_rng(seed)
    S, _ = hermitian(rng.choice([-1.0, 1.0], n) * np.linspace(1, 10, n), seed, complex_)
    E = rng.standard_normal((n, n))
    if complex_:
        E = E + 1j * rng.standard_normal((n, n))
    return S + asymmetry * np.linalg.norm(S, 2) / np.linalg.norm(E, 2) * E


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("large", [False, True])
def test_every_method_refuses_a_callable_that_is_not_symmetric(xp, method, dtype, large):
    # A random asymmetry E shows in a bilinear form of two generic vectors at about
    # ||E|| / sqrt(n): ten times the threshold of matfun._symmetry (100 sqrt(eps)) is
    # then ||E|| = 1000 sqrt(eps n) ||S||, 9.4e-5 in float64 (capped at ||S|| in
    # float32). `large` scales H beyond the range where the series and Chebyshev fold
    # the operator's unit into their scalars (2^64 in float64, 2^8 in float32), so the
    # products are divided as they come: another path.
    eps = float(np.finfo(dtype).eps)
    magnitude = (2.0**100 if dtype == "float64" else 2.0**20) if large else 1.0
    H = magnitude * perturbed(40, min(1.0, 10 * SLACK * math.sqrt(eps * 40)), seed=1)
    H_xp = xp.asarray(H.astype(dtype))
    g = xp.asarray(np.random.default_rng(2).standard_normal(40).astype(dtype))
    op = matfun.Operator(lambda v: H_xp @ v, 40)
    with pytest.raises(ValueError, match=NOT_SYMMETRIC), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(method, op, g, magnitude, 10.0)
    # Refused at the first square, or at the second Lanczos step (Chebyshev's
    # certificate runs Lanczos first).
    assert op.matvecs <= 3


@pytest.mark.parametrize("method", ["series", "chebyshev_interval", "lanczos", "lanczos_low"])
def test_a_complex_symmetric_matrix_that_is_not_hermitian_is_refused(method):
    # A = A^T with complex entries is symmetric but not Hermitian: |A|^{-1} is not
    # defined by this library's functions, which assume H = H^H.
    rng = np.random.default_rng(3)
    B = rng.standard_normal((30, 30)) + 1j * rng.standard_normal((30, 30))
    A = (B + B.T) / 2
    g = rng.standard_normal(30) + 0j
    with pytest.raises(ValueError, match=NOT_SYMMETRIC), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(method, lambda v: A @ v, g, 0.1, 100.0)


@pytest.mark.parametrize("form", ["callable", "dense_unchecked"])
def test_a_matrix_given_unchecked_is_checked_by_the_series_and_chebyshev(form):
    # check_symmetric=False skips only as_operator's entrywise test; the methods still
    # check what they can from their products, as Lanczos already did.
    H = perturbed(30, 1e-2, seed=4)
    op = {"callable": lambda v: H @ v,
          "dense_unchecked": matfun.as_operator(H, check_symmetric=False)}[form]
    g = np.ones(30)
    for method in ("series", "chebyshev_interval"):
        with pytest.raises(ValueError, match=NOT_SYMMETRIC):
            run(method, op, g, 1.0, 10.0)


@pytest.mark.parametrize("method", ["series", "chebyshev_interval", "lanczos_low"])
def test_the_checks_spend_no_matvec_and_change_no_float(method):
    # A symmetric callable gives what the same matrix, checked entrywise (so not by
    # its products), gives: the same matvecs and the same floats.
    rng = np.random.default_rng(5)
    S, _ = hermitian(rng.choice([-1.0, 1.0], 50) * np.geomspace(1, 10, 50), 5)
    g = rng.standard_normal(50)
    results = []
    for form in (lambda v: S @ v, S):
        op = matfun.Operator(form, 50) if callable(form) else matfun.as_operator(form)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.append((run(method, op, g, 1.0, 10.0), op.matvecs))
    (x_callable, matvecs_callable), (x_matrix, matvecs_matrix) = results
    assert matvecs_callable == matvecs_matrix
    np.testing.assert_array_equal(x_callable, x_matrix)


def plain_lanczos_coupling_gap(H, g, steps):
    """``max |q_{k-1}^T H q_k - beta_{k-1}| / ||T||`` of the plain three-term recurrence.

    Independent of the code under test: the identity a fully reorthogonalised basis
    keeps, which the plain recurrence does not.
    """
    q_previous, q, betas, size, worst = None, g / np.linalg.norm(g), [], 0.0, 0.0
    for k in range(steps):
        w = H @ q
        alpha = q @ w
        if k > 0:
            worst = max(worst, abs(q_previous @ w - betas[-1]) / size)
        r = w - alpha * q - (betas[-1] * q_previous if k > 0 else 0.0)
        beta = np.linalg.norm(r)
        size = max(size, abs(alpha) + beta + (betas[-1] if k > 0 else 0.0))
        betas.append(beta)
        if beta <= H.shape[0] * np.finfo(float).eps * size:
            break
        q_previous, q = q, r / beta
    return worst


@pytest.mark.parametrize("seed", range(4))
def test_low_memory_does_not_refuse_a_symmetric_operator_that_lost_orthogonality(seed):
    # Four distinct |eigenvalues| over 1e11 and g near an eigenvector: the plain
    # recurrence loses orthogonality fast, and the coupling identity the full mode
    # checks (q_{k-1}^T H q_k = beta_{k-1}) misses by far more than the threshold
    # (asserted). A check built on it refused 66 of 400 such symmetric operators;
    # the low-memory mode compares q_{k-1}^T (H q_k) with q_k^T (H q_{k-1}) instead.
    rng = np.random.default_rng(seed)
    eigenvalues = rng.choice(np.geomspace(1, 1e11, 4), 60) * rng.choice([-1.0, 1.0], 60)
    H, q = hermitian(eigenvalues, seed)
    H = H / np.max(np.abs(H))
    g = q[:, 0] + 1e-3 * rng.standard_normal(60)
    assert plain_lanczos_coupling_gap(H, g, 400) > SLACK * math.sqrt(np.finfo(float).eps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lanczos_apply(lambda v: H @ v, g, "inv_abs", rtol=1e-8, memory="low",
                      max_matvecs=800)


@st.composite
def symmetric_cases(draw):
    """Symmetric (Hermitian) operators chosen to stress the checks' thresholds."""
    n = draw(st.integers(5, 60))
    kappa = 10.0 ** draw(st.floats(0, 12))
    kind = draw(st.sampled_from(["geometric", "clustered", "few"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "geometric":
        magnitudes = np.geomspace(1, kappa, n)
    elif kind == "clustered":
        magnitudes = np.abs(rng.choice(np.geomspace(1, kappa, 3), n)
                            * (1 + 1e-3 * rng.standard_normal(n)))
    else:  # few distinct values: early (near-)breakdown, fast loss of orthogonality
        magnitudes = rng.choice(np.geomspace(1, kappa, 4), n)
    signs = rng.choice([-1.0, 1.0], n) if draw(st.booleans()) else np.ones(n)
    complex_ = draw(st.booleans())
    dtype = draw(st.sampled_from(["float64", "float32"]))
    log_c = draw(st.floats(-200, 200) if dtype == "float64" else st.floats(-15, 15))
    H, q = hermitian(signs * magnitudes * 10.0**log_c, int(rng.integers(2**16)), complex_)
    g = q[:, int(rng.integers(n))] + 10.0 ** draw(st.floats(-12, 0)) * rng.standard_normal(n)
    if dtype == "float32":
        H, g = H.astype(np.complex64 if complex_ else np.float32), g.astype(H.dtype)
    return H, g.astype(H.dtype), 10.0**log_c, kappa


@given(case=symmetric_cases(), method=st.sampled_from(METHODS))
def test_a_symmetric_callable_is_never_refused(case, method):
    H, g, magnitude, kappa = case
    if method in ("series_fixed_scale", "chebyshev_interval"):  # given (kappa c)^2 and c^2
        assume(1e-300 < magnitude**2 and math.log10(kappa * magnitude) < 150)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run(method, lambda v: H @ v, g, magnitude, kappa)
    except ValueError as error:
        assert NOT_SYMMETRIC not in str(error)
    except OverflowError:  # a raw Python error is never an answer
        raise
    except ArithmeticError:
        pass  # the methods' own refusals (divergence, range, a pole, an interval)


def test_check_square_measures_the_gap_of_a_hand_computed_case():
    # H = [[1, a], [0, 1]], v = e_2: H v = (a, 1), H H v = (2a, 1); v^T H H v = 1 and
    # ||H v||^2 = 1 + a^2: the gap is a^2, against sqrt(1 + 4a^2) + 1 + a^2.
    def square_of(a, dtype):
        H = np.array([[1.0, a], [0.0, 1.0]], dtype=dtype)
        v = np.array([0.0, 1.0], dtype=dtype)
        return v, H @ v, H @ (H @ v)

    with pytest.raises(ValueError, match=r"differs from \|\|H v\|\|\^2 by 0\.25 "):
        check_square(*square_of(0.5, np.float64), "op")
    with pytest.raises(ValueError, match=NOT_SYMMETRIC):
        check_square(*square_of(0.5, np.float32), "op")  # 0.094 > 100 sqrt(eps32) = 0.035
    check_square(*square_of(1e-3, np.float64), "op")  # 5e-7 < 1.5e-6: too small to refuse
    # Homogeneous: the same vectors in units 2^-40 (H / 2^40) decide the same.
    v, inner, outer = square_of(0.5, np.float64)
    with pytest.raises(ValueError, match=NOT_SYMMETRIC):
        check_square(v, inner * 2.0**-40, outer * 2.0**-80, "op")
    # A NaN decides nothing (the caller's finiteness check reports it).
    check_square(v, inner, np.array([np.nan, 1.0]), "op")

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import given
from hypothesis import strategies as st

import matfun
from matfun import Operator, as_operator
from matfun.operators import scale, shift, square
from tests._helpers import to_numpy, xp_assert_close


def _symmetric(n, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    return (a + a.T) / 2


class _HasMatvec:
    def __init__(self, matrix):
        self.matrix = matrix

    def matvec(self, v):
        return self.matrix @ v


def _all_forms(xp, matrix):
    dense = xp.asarray(matrix)
    forms = {
        "dense": dense,
        "callable": lambda v: dense @ v,
        "matvec object": _HasMatvec(dense),
    }
    if xp.__name__ == "array_api_compat.numpy":
        forms["LinearOperator"] = spla.LinearOperator(
            matrix.shape, matvec=lambda v: matrix @ v, dtype=np.float64
        )
        forms["sparse"] = sp.csr_array(matrix)
    return forms


@given(n=st.integers(1, 12), seed=st.integers(0, 2**16))
def test_every_form_applies_the_same_matrix(xp, n, seed):
    matrix = _symmetric(n, seed)
    v = np.random.default_rng(seed + 1).standard_normal(n)
    for name, form in _all_forms(xp, matrix).items():
        op = as_operator(form, like=xp.asarray(v))
        # One matrix-vector product in float64: error ~ n eps ||A|| ||v||.
        xp_assert_close(op.matvec(xp.asarray(v)), matrix @ v, rtol=1e-12, atol=1e-12, xp=xp)
        assert op.matvecs == 1, name
        assert op.shape == (n, n)


def test_composition_costs_no_extra_matvec(xp):
    matrix = _symmetric(5)
    v = np.arange(5.0)
    op = as_operator(xp.asarray(matrix))
    xp_assert_close(square(op).matvec(xp.asarray(v)), matrix @ (matrix @ v), rtol=1e-12, xp=xp)
    assert op.matvecs == 2
    xp_assert_close(shift(op, 0.5).matvec(xp.asarray(v)), matrix @ v + 0.5 * v, rtol=1e-12,
                    xp=xp)
    assert op.matvecs == 3
    xp_assert_close(scale(op, -2.0).matvec(xp.asarray(v)), -2.0 * (matrix @ v), rtol=1e-12,
                    xp=xp)
    assert op.matvecs == 4
    assert square(shift(op, 1.0)).matvecs == 4  # shared counter, nothing spent building them


def test_scipy_linear_operator_is_never_probed():
    calls = []

    def matvec(v):
        calls.append(1)
        return 2.0 * v

    linop = spla.LinearOperator((3, 3), matvec=matvec, dtype=np.float64)
    op = as_operator(linop)
    assert calls == []
    op.matvec(np.ones(3))
    assert len(calls) == 1 and op.matvecs == 1


def test_float32_vector_keeps_float32(xp):
    op = as_operator(xp.asarray(_symmetric(4)))  # float64 matrix
    result = op.matvec(xp.ones(4, dtype=xp.float32))
    assert result.dtype == xp.float32


def test_integer_matrix_is_promoted(xp):
    op = as_operator(xp.asarray([[2, 1], [1, 3]]))
    assert xp.isdtype(op.dtype, "real floating")
    assert to_numpy(op.matvec(xp.asarray([1.0, 1.0]))).tolist() == [3.0, 4.0]


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.ones((3, 4)), "must be square"),
        (np.ones(3), "2-D"),
        (np.zeros((0, 0)), "must not be empty"),
        (np.array([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
        (np.array([[np.nan, 0.0], [0.0, 1.0]]), "NaN or inf"),
    ],
)
def test_bad_dense_input(xp, matrix, message):
    with pytest.raises(ValueError, match=message):
        as_operator(xp.asarray(matrix))


def test_size_mismatch_with_vector(xp):
    with pytest.raises(ValueError, match=r"shape \(3, 3\) but the vector has length 4"):
        as_operator(xp.asarray(np.eye(3)), like=xp.ones(4))


def test_callable_needs_a_size():
    with pytest.raises(TypeError, match="like="):
        as_operator(lambda v: v)


def test_not_an_operator():
    with pytest.raises(TypeError, match="got str"):
        as_operator("H")


def test_matvec_of_wrong_shape_is_caught(xp):
    op = as_operator(lambda v: xp.concat([v, v]), like=xp.ones(3), name="hvp")
    with pytest.raises(ValueError, match=r"hvp: matvec returned shape \(6,\)"):
        op.matvec(xp.ones(3))


def test_matvec_returning_nan_is_caught(xp):
    op = as_operator(lambda v: v * float("nan"), like=xp.ones(3), name="hvp")
    with pytest.raises(ValueError, match="hvp: matvec returned NaN or inf"):
        op.matvec(xp.ones(3))


def test_matvec_returning_another_library_is_caught(xp):
    if xp.__name__ == "array_api_compat.numpy":
        import array_api_strict as other  # a test dependency: NumPy needs a mismatch too
    else:
        other = np
    op = as_operator(lambda v: other.ones(3), like=xp.ones(3), name="hvp")
    with pytest.raises(TypeError, match="same library"):
        op.matvec(xp.ones(3))


def test_vector_of_wrong_shape_is_caught(xp):
    op = as_operator(xp.asarray(np.eye(3)))
    with pytest.raises(ValueError, match=r"expected a vector of shape \(3,\)"):
        op.matvec(xp.ones(2))


def test_operator_gives_a_counted_view():
    # as_operator(an Operator) is a per-call view: same matvec, its own count, and the
    # original's total still sees every product.
    op = Operator(lambda v: v, 2)
    view = as_operator(op)
    assert view is not op and view.shape == op.shape and view.name == op.name
    view.matvec(np.ones(2))
    view.matvec(np.ones(2))
    op.matvec(np.ones(2))
    assert (view.matvecs, op.matvecs) == (2, 3)
    inner = as_operator(view)  # nested views add all the way up
    inner.matvec(np.ones(2))
    assert (inner.matvecs, view.matvecs, op.matvecs) == (1, 3, 4)


def test_view_of_a_derived_operator_counts_its_own_products(xp):
    base = as_operator(xp.asarray(_symmetric(3)))
    derived = square(shift(base, 1.0))
    view = as_operator(derived)
    v = xp.asarray(np.arange(3.0))
    xp_assert_close(view.matvec(v), derived.matvec(v), rtol=0, atol=0, xp=xp)
    assert view.matvecs == 2  # the view's own count: two products of H per product of (H+I)^2
    assert base.matvecs == derived.matvecs == 4  # the total: the view's two and derived's two


def test_public_signature_has_no_private_parameter():
    import inspect

    for function in (Operator, as_operator, square, shift, scale):
        parameters = inspect.signature(function).parameters
        assert not [name for name in parameters if name.startswith("_")], function


def test_operator_constructor_checks_its_arguments():
    with pytest.raises(TypeError, match="apply must be callable"):
        Operator(3, 2)
    with pytest.raises(ValueError, match="size must be a positive integer"):
        Operator(lambda v: v, 0)
    with pytest.raises(ValueError, match="size must be a positive integer"):
        Operator(lambda v: v, True)
    with pytest.raises(TypeError, match="check must be True or False"):
        Operator(lambda v: v, 2, check="yes")
    with pytest.raises(TypeError, match="op must be an Operator"):
        square(np.eye(2))
    with pytest.raises(TypeError, match="lam must be a real number"):
        shift(Operator(lambda v: v, 2), "1")


def test_shared_operator_counts_exactly_under_threads():
    # Four threads share one operator: each call sees exactly its own matvecs and
    # stays within its budget; the operator's total is the exact sum (no lost update).
    import threading

    import matfun

    H = np.diag(np.linspace(1.0, 2.0, 20))
    shared = Operator(lambda v: H @ v, 20, name="shared")
    g = np.ones(20)
    results, errors = [], []

    def solve():
        try:
            for _ in range(5):
                x, info = matfun.inv_sqrt_series(shared, g, terms=30, scale=8.0,
                                                 max_matvecs=60, full_output=True)
                results.append(info.matvecs)
        except Exception as error:  # reported below: a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=solve) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    # terms=30 at a fixed scale: 2 matvecs per term after the first, as in one thread.
    alone, = {matfun.inv_sqrt_series(Operator(lambda v: H @ v, 20), g, terms=30, scale=8.0,
                                     max_matvecs=60, full_output=True)[1].matvecs}
    assert results == [alone] * 20
    assert shared.matvecs == 20 * alone


def test_counter_loses_no_update_under_threads():
    import threading

    op = Operator(lambda v: v, 1)
    views = [as_operator(op) for _ in range(4)]
    v = np.ones(1)

    def hammer(view):
        for _ in range(5000):
            view.matvec(v)

    threads = [threading.Thread(target=hammer, args=(view,)) for view in views]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [view.matvecs for view in views] == [5000] * 4
    assert op.matvecs == 20000


def test_complex_hermitian_operator(xp):
    H = np.array([[2.0, 1j], [-1j, 3.0]])
    op = as_operator(xp.asarray(H))
    v = np.array([1.0, 1j])
    xp_assert_close(op.matvec(xp.asarray(v)), H @ v, rtol=1e-15, atol=0, xp=xp)
    with pytest.raises(ValueError, match="Hermitian"):
        as_operator(xp.asarray(np.array([[2.0, 1j], [1j, 3.0]])))  # symmetric, not Hermitian
    with pytest.raises(TypeError, match="complex values for a real vector"):
        op.matvec(xp.asarray(np.ones(2)))


@pytest.mark.parametrize("method", ["lanczos", "chebyshev", "series"])
@pytest.mark.parametrize("coarse", ["float32", "int64"])
def test_a_product_coarser_than_the_vector_is_refused(method, coarse):
    # A float32 product of a float64 vector: Lanczos reported convergence with error
    # estimate 0.0 and a relative error of 5.7e-6 against rtol = 1e-10 (Chebyshev
    # 1.2e-4 after 22,144 matvecs); an integer product is a rounded one (Lanczos
    # "converged" on garbage). Both are refused before any answer.
    H = np.diag([2.0, -1.0, 0.5])
    dtype = np.dtype(coarse)

    def matvec(v):
        return (H @ v).astype(dtype)

    with pytest.raises(TypeError, match=f"matvec returned {dtype} values for a float64 "
                                        "vector"):
        matfun.inv_sqrt(matvec, np.ones(3), method=method)
    # The same precision on both sides runs (float32 data, float32 tolerance).
    if coarse == "float32":
        x = matfun.inv_sqrt(matvec, np.ones(3, dtype=np.float32), method=method, rtol=1e-5)
        np.testing.assert_allclose(x, [0.5, 1.0, 2.0], rtol=1e-4)


def test_a_wider_product_is_rounded_to_the_vector(xp):
    # float64 products of a float32 vector lose nothing the vector has: accepted.
    op = as_operator(lambda v: 2.0 * xp.astype(v, xp.float64), like=xp.ones(2, dtype=xp.float32))
    assert op.matvec(xp.ones(2, dtype=xp.float32)).dtype == xp.float32


@pytest.mark.parametrize("kind", ["csr_array", "csc_matrix", "coo_array", "dia_matrix",
                                  "lil_array", "dok_matrix", "bsr_array"])
def test_a_nonsymmetric_sparse_matrix_is_refused(kind):
    # It was accepted: inv_sqrt returned [0.233, 0.552, 1.519] "converged" for a
    # nonsymmetric matrix, for which |H|^{-1} g means nothing.
    make = getattr(sp, kind)
    A = np.array([[2.0, 1.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 0.5]])
    with pytest.raises(ValueError, match=r"op must be symmetric \(Hermitian\)"):
        matfun.inv_sqrt(make(A), np.ones(3))
    with pytest.raises(ValueError, match="must be symmetric"):
        as_operator(make(np.array([[2.0, 1j], [1j, 3.0]])))  # symmetric, not Hermitian
    # Symmetric to rounding passes, and check_symmetric=False skips the test.
    S = A + A.T + 1e-12 * np.triu(np.ones((3, 3)), 1)
    np.testing.assert_allclose(matfun.inv_sqrt(make(S), np.ones(3)), matfun.inv_sqrt(
        (S + S.T) / 2, np.ones(3)), rtol=1e-8)
    assert as_operator(make(A), check_symmetric=False).size == 3


@pytest.mark.parametrize("form", ["callable", "linear_operator", "sparse_unchecked",
                                  "dense_unchecked"])
def test_lanczos_refuses_an_operator_it_finds_nonsymmetric(form):
    # Operators as_operator cannot (or was told not to) check: Lanczos returned
    # [0.233, 0.552, 1.519] "converged". A symmetric operator satisfies
    # q_{k-1}^T H q_k = beta_{k-1} to rounding; this one misses it by 0.81 at step 2.
    N = np.array([[2.0, 1.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 0.5]])
    op = {"callable": lambda v: N @ v, "linear_operator": spla.aslinearoperator(N),
          "sparse_unchecked": as_operator(sp.csr_array(N), check_symmetric=False),
          "dense_unchecked": as_operator(N, check_symmetric=False)}[form]
    with pytest.raises(ValueError, match="is not symmetric .* at Lanczos step 2"):
        matfun.inv_sqrt(op, np.ones(3))
    # A symmetric callable of a larger size (random basis, so the check sees every
    # coupling) runs to its answer.
    rng = np.random.default_rng(0)
    A = rng.standard_normal((300, 300))
    S = (A + A.T) / 2
    w, V = np.linalg.eigh(S)
    x = matfun.inv_sqrt(lambda v: S @ v, np.ones(300), rtol=1e-10)
    exact = V @ ((V.T @ np.ones(300)) / np.abs(w))
    assert np.linalg.norm(x - exact) <= 1e-6 * np.linalg.norm(exact)


def test_no_mT_attribute_in_owned_modules():
    # Dask arrays have no .mT: the portable transpose of matfun._backend is used instead.
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "matfun"
    for name in ("operators.py", "_operator_forms.py", "exact.py", "_eigen.py",
                 "optim/_oracle_calls.py"):
        assert ".mT" not in (root / name).read_text(), name


@pytest.mark.parametrize("where", [(0, 1), (5, 290), (127, 128), (299, 0)])
def test_asymmetry_found_in_any_tile(xp, where):
    # The symmetry check compares 128 x 128 tiles with their mirrors: an asymmetric pair
    # inside a tile, across tiles, on a tile edge and in the ragged last tile.
    a = np.random.default_rng(0).standard_normal((300, 300))
    H = (a + a.T) / 2
    H[where] += 1e-3
    with pytest.raises(ValueError, match="must be symmetric"):
        as_operator(xp.asarray(H), like=xp.asarray(np.ones(300)))


def _hermitian(n, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
    u, _ = np.linalg.qr(z)
    w = np.geomspace(1.0, 10.0, n) * rng.choice([-1.0, 1.0], n)
    H = (u * w) @ u.conj().T
    return (H + H.conj().T) / 2, w


@pytest.mark.parametrize("seed", range(4))
def test_complex_hermitian_through_every_method(xp, seed):
    # A complex Hermitian H (kappa = 10) through each matvec method, against the real
    # 2n x 2n embedding [[A, -B], [B, A]] of H = A + iB solved by numpy's eigh: an oracle
    # that never sees a complex number. Inner products must conjugate (q^H H q) or the
    # Lanczos coefficients and the power method's Rayleigh quotient come out wrong.
    import matfun
    from matfun import exact, spectrum

    H, w = _hermitian(6, seed)
    g = np.random.default_rng(seed + 10).standard_normal(6) + 1j
    E = np.block([[H.real, -H.imag], [H.imag, H.real]])
    values, vectors = np.linalg.eigh(E)
    x = vectors @ ((vectors.T @ np.concatenate([g.real, g.imag])) / np.abs(values))
    expected = x[:6] + 1j * x[6:]
    Hx, gx = xp.asarray(H), xp.asarray(g)
    # Default tolerances (1e-8 relative): a converged answer is within 10x of it.
    for name, call in [("inv_sqrt", lambda: matfun.inv_sqrt(Hx, gx)),
                       ("lanczos_apply", lambda: matfun.lanczos_apply(
                           Hx, gx, lambda t: 1 / abs(t))),
                       ("chebyshev_inv_sqrt", lambda: matfun.chebyshev_inv_sqrt(Hx, gx))]:
        got = to_numpy(call())
        assert np.linalg.norm(got - expected) <= 1e-7 * np.linalg.norm(expected), name
    # 60 terms at a fixed V: the same polynomial as the exact truncation (rounding only).
    V = 2.0 * np.max(w**2)
    series = to_numpy(matfun.inv_sqrt_series(Hx, gx, terms=60, scale=V))
    truncated = exact.truncated_inv_sqrt_series(H, g, terms=60, scale=V)
    np.testing.assert_allclose(series, truncated, rtol=1e-12, atol=1e-12)
    radius = np.max(np.abs(w))
    for method in ("lanczos", "power"):
        estimate = spectrum.spectral_radius(Hx, like=gx, method=method, steps=6)
        # An estimate from Ritz values / a Rayleigh quotient never exceeds the radius;
        # the upper bound (estimate + residual) is certified to bound it.
        assert estimate.estimate <= radius * (1 + 1e-12), method
        assert estimate.upper >= radius * (1 - 1e-12), method


def test_integer_vector_gets_a_floating_product(xp):
    # H v for an integer v is the exact product in floating point, never rounded back.
    op = as_operator(xp.asarray(np.array([[0.5, 0.0], [0.0, 1.5]])))
    xp_assert_close(op.matvec(xp.asarray(np.array([1, 3]))), np.array([0.5, 4.5]),
                    rtol=0, xp=xp, check_dtype=False)
    half = as_operator(lambda v: 0.5 * xp.astype(v, xp.float64), like=xp.asarray(np.ones(2)))
    xp_assert_close(half.matvec(xp.asarray(np.array([1, 3]))), np.array([0.5, 1.5]),
                    rtol=0, xp=xp, check_dtype=False)

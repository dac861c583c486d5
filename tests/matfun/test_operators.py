import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import given
from hypothesis import strategies as st

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
    if xp.__name__.endswith("numpy"):
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
    if xp.__name__.endswith("numpy"):
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


def test_operator_passes_through():
    op = Operator(lambda v: v, 2)
    assert as_operator(op) is op


@pytest.mark.parametrize("where", [(0, 1), (5, 290), (127, 128), (299, 0)])
def test_asymmetry_found_in_any_tile(xp, where):
    # The symmetry check compares 128 x 128 tiles with their mirrors: an asymmetric pair
    # inside a tile, across tiles, on a tile edge and in the ragged last tile.
    a = np.random.default_rng(0).standard_normal((300, 300))
    H = (a + a.T) / 2
    H[where] += 1e-3
    with pytest.raises(ValueError, match="must be symmetric"):
        as_operator(xp.asarray(H), like=xp.asarray(np.ones(300)))

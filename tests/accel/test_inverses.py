import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from accel.inverses import _guarded_inverse, elementwise_inverse, samelson_inverse
from tests._helpers import to_numpy, xp_assert_close

EPS = np.finfo(np.float64).eps

finite_vectors = hnp.arrays(
    np.float64, st.integers(1, 6),
    elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
).filter(lambda v: np.linalg.norm(v) > 1e-3)


def test_samelson_closed_form(xp):
    v = xp.asarray([3.0, 4.0], dtype=xp.float64)
    # v / (v^T v) = [3, 4] / 25, exact in binary floating point up to one rounding each
    xp_assert_close(samelson_inverse(v), np.array([0.12, 0.16]), rtol=2 * EPS, xp=xp)


def test_samelson_complex_conjugates_and_reduces_to_reciprocal(xp):
    z = xp.asarray([1.0 + 2.0j], dtype=xp.complex128)
    # a length-1 vector: the Samelson inverse is the ordinary reciprocal 1/z
    xp_assert_close(samelson_inverse(z), np.array([1 / (1 + 2j)]), rtol=4 * EPS, xp=xp)
    v = xp.asarray([1.0 + 1.0j, 2.0 - 1.0j], dtype=xp.complex128)
    # conj(v) / ||v||^2 with ||v||^2 = 2 + 5 = 7
    expected = np.conj(np.array([1 + 1j, 2 - 1j])) / 7.0
    xp_assert_close(samelson_inverse(v), expected, rtol=4 * EPS, xp=xp)


def test_samelson_keeps_float32(xp):
    v = xp.asarray([3.0, 4.0], dtype=xp.float32)
    out = samelson_inverse(v)
    assert out.dtype == xp.float32
    xp_assert_close(out, np.array([0.12, 0.16]), rtol=4 * np.finfo(np.float32).eps, xp=xp,
                    check_dtype=False)


def test_samelson_stacked_vectors_are_independent():
    v = np.array([[3.0, 4.0], [0.0, 2.0]])
    np.testing.assert_allclose(samelson_inverse(v), [[0.12, 0.16], [0.0, 0.5]], rtol=2 * EPS)


@given(finite_vectors)
def test_samelson_is_an_involution_with_unit_pairing(v):
    inverse = samelson_inverse(v)
    # sum_i v^{-1}_i v_i = 1 and (v^{-1})^{-1} = v: a few roundings in the norm
    # (n <= 6 terms) and two divisions, each relative eps
    assert abs(np.sum(inverse * v) - 1.0) <= 16 * EPS
    np.testing.assert_allclose(samelson_inverse(inverse), v, rtol=32 * EPS,
                               atol=32 * EPS * np.linalg.norm(v))


@given(finite_vectors.filter(lambda v: np.all(np.abs(v) > 1e-3)))
def test_elementwise_inverse_matches_reciprocal(v):
    np.testing.assert_allclose(elementwise_inverse(v), 1.0 / v, rtol=EPS)


def test_elementwise_backend_and_integer_promotion(xp):
    out = elementwise_inverse(xp.asarray([2, -4]))
    xp_assert_close(out, np.array([0.5, -0.25]), rtol=0, xp=xp, check_dtype=False)
    assert xp.isdtype(out.dtype, "real floating")


@pytest.mark.parametrize("bad, message", [
    (np.zeros(3), "nonzero"),
    (np.array([1.0, np.nan]), "finite"),
    (np.array(2.0), "at least one axis"),
    (np.zeros((2, 0)), "empty"),
    (np.array([[1.0, 0.0], [0.0, 0.0]]), "nonzero"),
])
def test_samelson_rejects_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        samelson_inverse(bad)


@pytest.mark.parametrize("bad, message", [
    (np.array([1.0, 0.0]), "zero entry"),
    (np.array([np.inf]), "finite"),
])
def test_elementwise_rejects_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        elementwise_inverse(bad)


def test_rejects_non_arrays():
    with pytest.raises(TypeError):
        samelson_inverse([1.0, 2.0])


@pytest.mark.parametrize("joint", [True, False])
def test_guard_flags_exact_and_rounding_level_differences(joint):
    upper = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]])
    # an exact zero, a one-ulp difference (noise) and a genuine one
    lower = np.array([[1.0, 2.0], [1.0 + EPS, 2.0], [0.5, 1.0]])
    inverted = _guarded_inverse(np, upper, lower, joint=joint)
    small = np.broadcast_to(inverted.small, upper.shape)
    ok = np.broadcast_to(inverted.ok, upper.shape)
    assert small[0].all() and small[1, 0] and not ok[:2, 0].any()
    assert ok[2].all() and np.isfinite(to_numpy(inverted.inverse)).all()
    expected = samelson_inverse(upper[2] - lower[2]) if joint else 1.0 / (upper[2] - lower[2])
    np.testing.assert_allclose(inverted.inverse[2], expected, rtol=4 * EPS)


@pytest.mark.parametrize("weight", [1.0, 3.0])
def test_weighted_joint_inverse_one_pass_and_fallback(weight):
    # Rows whose factor (w / ||d||) / ||d|| is a normal number take one scaling; a row
    # of norm 5e-158 (1 / ||d||^2 overflows) is divided by its norm twice, then
    # weighted. Both must be w d / ||d||^2 (oracle: that formula, divided twice, with
    # the guard's own norm: the norm is not what is tested).
    lower = np.zeros((3, 4))
    upper = np.array([[1.0, 2.0, 3.0, 4.0],
                      [3e-158, -4e-158, 0.0, 0.0],
                      [1e150, 1e150, -1e150, 2e150]])
    for rows in (upper[:1], upper):  # every row in one pass, then mixed
        inverted = _guarded_inverse(np, rows, lower[:rows.shape[0]], joint=True, weight=weight)
        assert np.all(inverted.ok)
        expected = weight * (rows / inverted.size / inverted.size)
        # One factor instead of two divisions: a few roundings, 4 eps relative.
        np.testing.assert_allclose(inverted.inverse, expected, rtol=4 * EPS, atol=0)

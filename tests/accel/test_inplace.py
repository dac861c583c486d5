"""accel._inplace: in place on NumPy, the plain expression elsewhere, the same bits."""

import array_api_strict as xps
import numpy as np

from accel._inplace import add_scaled, conjugate, overwritable, scale_add, subtract_into


def _vectors(seed=0, n=1000):
    rng = np.random.default_rng(seed)
    return rng.normal(size=n) * 1e3, rng.normal(size=n), np.array([rng.normal() ** -3])


def test_numpy_in_place_equals_the_plain_expression_bit_for_bit():
    x, y, factor = _vectors()
    expected = x * factor + y  # two roundings, no fused multiply-add
    buffer = x.copy()
    assert scale_add(buffer, factor, y) is buffer
    np.testing.assert_array_equal(buffer, expected)
    target, scratch = y.copy(), x.copy()
    assert add_scaled(target, scratch, factor) is target
    np.testing.assert_array_equal(target, y + x * factor)
    out = np.empty_like(x)
    assert subtract_into(out, x, y) is out
    np.testing.assert_array_equal(out, x - y)
    z = x + 1j * y
    assert conjugate(np, z) is z
    np.testing.assert_array_equal(z, x - 1j * y)


def test_other_backends_get_new_arrays_and_the_same_numbers():
    x, y, factor = _vectors(1)
    a, b, f = (xps.asarray(v) for v in (x, y, factor))
    assert not overwritable(a) and overwritable(x)
    np.testing.assert_array_equal(np.asarray(scale_add(a, f, b)), x * factor + y)
    np.testing.assert_array_equal(np.asarray(add_scaled(b, a, f)), y + x * factor)
    np.testing.assert_array_equal(np.asarray(subtract_into(a, a, b)), x - y)
    np.testing.assert_array_equal(np.asarray(a), x)  # untouched


def test_read_only_numpy_arrays_are_not_written():
    x, y, factor = _vectors(2)
    frozen = x.copy()
    frozen.flags.writeable = False
    result = scale_add(frozen, factor, y)
    assert result is not frozen
    np.testing.assert_array_equal(frozen, x)
    np.testing.assert_array_equal(result, x * factor + y)

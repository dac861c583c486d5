"""accel._backend's host checks: all_finite by the sum first, vecdot without the wrapper."""

import numpy as np
import pytest

from accel._backend import all_finite, namespace, vecdot


@pytest.mark.parametrize("values, expected", [
    ([1.0, -2.0, 3.5], True),
    ([1.0, np.nan], False),
    ([np.inf, 1.0], False),
    ([np.inf, -np.inf], False),           # the sum is NaN
    ([], True),
])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex128])
def test_all_finite_agrees_with_the_entries(values, expected, dtype):
    x = np.asarray(values, dtype=dtype)
    assert all_finite(namespace(x), x) is expected
    assert expected == bool(np.all(np.isfinite(x)))  # the definition


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_finite_entries_whose_sum_overflows_are_finite(dtype):
    # The sum reaches inf (and +inf - inf = NaN with both signs): the entries decide.
    big = float(np.finfo(dtype).max)
    for x in (np.full(4, big, dtype), np.array([big, big, -big, -big], dtype)):
        with np.errstate(over="raise", invalid="raise"):  # and no warning escapes
            assert all_finite(namespace(x), x)


def test_all_finite_of_integers_and_complex_parts():
    ints = np.array([2**62, 2**62, 2**62])  # the sum wraps around: still finite
    assert all_finite(namespace(ints), ints)
    z = np.array([1.0 + 0j, complex(0.0, np.inf)])
    assert not all_finite(namespace(z), z)


def test_torch_vecdot_is_the_array_api_vecdot():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for dtype in (torch.float32, torch.float64, torch.complex128):
        x = torch.tensor(rng.standard_normal(7) + 1j * rng.standard_normal(7)).to(dtype) \
            if dtype.is_complex else torch.tensor(rng.standard_normal(7)).to(dtype)
        y = torch.tensor(rng.standard_normal(7)).to(dtype)
        xp = namespace(x)
        ours, theirs = vecdot(xp)(x, y), xp.vecdot(x, y)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        # conj(x) . y either way; the summation order may differ: rounding only
        eps = float(torch.finfo(dtype).eps)
        assert abs(complex(ours) - complex(theirs)) <= 8 * eps * float(x.abs() @ y.abs())
        stacked = torch.stack([x, x])
        assert torch.equal(vecdot(xp)(stacked, torch.stack([y, y])),
                           xp.vecdot(stacked, torch.stack([y, y])))
        assert all_finite(xp, x) and not all_finite(xp, x * float("nan"))

import numpy as np
import pytest

from tests._helpers import xp_assert_close


def test_xp_assert_close_detects_wrong_backend(xp):
    if xp.__name__ == "array_api_compat.numpy":
        pytest.skip("needs a non-NumPy backend to mismatch")
    import array_api_compat.numpy as np_xp

    with pytest.raises(AssertionError, match="expected"):
        xp_assert_close(np.ones(2), xp.ones(2), rtol=0, xp=xp)
    xp_assert_close(xp.ones(2), np.ones(2), rtol=0, xp=xp)
    assert np_xp is not None


def test_xp_assert_close_detects_value_mismatch(xp):
    with pytest.raises(AssertionError):
        xp_assert_close(xp.ones(2), np.zeros(2), rtol=1e-12, xp=xp)

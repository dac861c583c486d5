"""Test helpers shared by the suite: backend-aware comparison."""

from __future__ import annotations

import numpy as np


def to_numpy(x):
    """Copy an array of any backend to NumPy (tests only)."""
    if type(x).__module__.startswith("torch"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def library(xp):
    """The array library of a namespace: ``numpy`` for NumPy and its compat wrapper,
    ``jax.numpy``, ``torch``, ``array_api_strict`` (not the last dotted part: that of
    ``jax.numpy`` is ``numpy`` too)."""
    return xp.__name__.removeprefix("array_api_compat.")


def xp_assert_close(actual, desired, *, rtol, atol=0.0, xp=None, check_dtype=True):
    """Compare arrays like numpy.testing.assert_allclose, also checking backend and dtype.

    ``desired`` may be a NumPy array (an oracle computed in float64): then only the
    values are compared, and ``actual`` must belong to ``xp``.
    """
    if xp is not None:
        import array_api_compat

        actual_ns = array_api_compat.array_namespace(actual)
        assert library(actual_ns) == library(xp), (
            f"result is from {actual_ns.__name__}, expected {xp.__name__}"
        )
    if check_dtype and not isinstance(desired, np.ndarray | float | int):
        assert actual.dtype == desired.dtype, f"dtype {actual.dtype} != {desired.dtype}"
    np.testing.assert_allclose(to_numpy(actual), to_numpy(desired), rtol=rtol, atol=atol)

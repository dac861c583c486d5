"""In-place elementwise arithmetic on NumPy temporaries; plain operations elsewhere.

The streaming tables of :mod:`accel.epsilon_stream` update long vectors. On
NumPy each update is written into a buffer the stream owns (``out=`` ufuncs)
instead of a new array: no allocation, no page faults, no second copy alive at
once. Every element sees the same operations in the same order as the plain
expression (two roundings stay two roundings: nothing is contracted into a
fused multiply-add), so the numbers are the same to the last bit. Backends
without in-place updates (JAX, ``array-api-strict``) and every array that is
not a writeable NumPy array get the plain expression.

(Running a chain block by block, so that the intermediate stays in cache, was
measured slower than whole-vector passes on the development machine: the
per-call overhead and the broken prefetch streams cost more than the pass it
saves.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["add_scaled", "conjugate", "overwritable", "scale_add", "subtract_into"]


def overwritable(x: Any) -> bool:
    """Whether ``x`` is a NumPy array that may be updated in place."""
    return type(x) is np.ndarray and x.flags.writeable


def scale_add(x: Any, factor: Any, y: Any) -> Any:
    """``x * factor + y`` with two roundings; ``x`` (a caller's temporary) is overwritten.

    ``factor`` is a scalar or broadcasts against ``x`` without enlarging it.
    """
    if not overwritable(x):
        return x * factor + y
    np.multiply(x, factor, out=x)
    np.add(x, y, out=x)
    return x


def add_scaled(y: Any, x: Any, factor: Any) -> Any:
    """``y + x * factor`` with two roundings, written into ``y`` when it can be.

    The same number as :func:`scale_add` (addition commutes exactly); ``x`` is
    a scratch vector of the caller's and is overwritten too.
    """
    if not (overwritable(y) and overwritable(x)):
        return y + x * factor
    np.multiply(x, factor, out=x)
    np.add(y, x, out=y)
    return y


def subtract_into(out: Any, x: Any, y: Any) -> Any:
    """``x - y`` written into ``out`` (NumPy) or returned as a new array."""
    if not overwritable(out):
        return x - y
    np.subtract(x, y, out=out)
    return out


def conjugate(xp: Any, x: Any) -> Any:
    """``conj(x)``, in place when ``x`` is a writeable NumPy temporary."""
    if not overwritable(x):
        return xp.conj(x)
    np.conjugate(x, out=x)
    return x

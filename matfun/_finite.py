"""Whether a product is finite, decided in one read pass where NumPy allows (private).

What :class:`matfun.operators.Operator` asks of every product it validates, and what a
method that defers that check (``Operator._product``) asks when its own reduction of
the product is not finite.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._backend import all_finite, namespace

__all__ = ["finite"]

_SQUARES_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
# Below this length isfinite + all is cheaper than entering np.errstate (about a
# microsecond); above it, the single read pass of the dot product wins.
_DOT_FROM = 16384


def finite(result: Any) -> bool:
    """Whether every entry of the product ``result`` is finite (a host decision).

    A real NumPy vector: its dot product with itself is finite only if every entry is
    (IEEE arithmetic: a NaN entry makes its square and every sum with it NaN, an
    infinite one makes them inf or NaN; squares are never negative, so nothing
    cancels), so a finite ``result . result`` decides in one read pass what
    ``isfinite`` + ``all`` decide in two and a temporary. A huge finite vector can
    overflow the dot product (silently: that only means "maybe"): then the exact test
    decides.
    """
    if type(result) is np.ndarray:
        if (result.ndim == 1 and result.size >= _DOT_FROM
                and result.dtype in _SQUARES_DTYPES):
            with np.errstate(over="ignore"):  # an overflow only means "maybe": no warning
                square = float(np.dot(result, result))
            if math.isfinite(square):
                return True
        return bool(np.isfinite(result).all())
    return all_finite(namespace(result), result)

"""The :class:`Problem` record and the cache that moves constant data to a backend.

Kept apart from :mod:`matfun.optim.problems` so that the data-driven problems
(:mod:`matfun.optim._data_problems`) can build on them while ``problems`` re-exports
those constructors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import array_api_compat
import array_api_compat.numpy as np_compat
import numpy as np

from .._backend import namespace
from ._base import Oracle

__all__ = ["Problem"]


@dataclass(frozen=True)
class Problem:
    r"""An objective with exact derivatives and a reproducible starting point.

    Attributes
    ----------
    name : str
    dimension : int
        Number of parameters ``p``.
    oracle : Oracle
        ``value``, ``grad``, ``hvp``, ``third`` (:math:`D^3 f(x)[v, v, \cdot\,]`) and,
        for least-squares problems, ``gauss_newton``.
    groups : tuple of slice
        A partition of ``range(p)`` for grouped Newton (per coordinate for the small
        functions, per weight matrix and per bias for the network).
    """

    name: str
    dimension: int
    oracle: Oracle
    groups: tuple[slice, ...]
    sampler: Callable[[int], np.ndarray] = field(repr=False, compare=False)

    def initial(self, seed: int = 0, *, xp: Any = None, dtype: Any = None,
                device: Any = None) -> Any:
        """A starting point, the same numbers for every backend.

        Parameters
        ----------
        seed : int
            Which starting point (drawn on the host by ``numpy.random.default_rng``).
        xp : array namespace, optional
            Backend of the result; array-api-compat's NumPy by default.
        dtype : floating dtype of ``xp``, optional
            ``xp.float64`` by default.
        device : optional
            Where the array lives (the backend's default).
        """
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        xp = np_compat if xp is None else xp
        dtype = xp.float64 if dtype is None else dtype
        if not xp.isdtype(dtype, "real floating"):
            raise ValueError(f"dtype must be a real floating dtype, got {dtype}")
        return xp.asarray(self.sampler(int(seed)), dtype=dtype, device=device)


class _Constants:
    """Host arrays moved, on first use, to the backend, dtype and device of the params."""

    def __init__(self, *arrays: np.ndarray) -> None:
        self._host = arrays
        self._cache: dict[tuple[str, str, str], tuple[Any, ...]] = {}

    def like(self, params: Any) -> tuple[Any, ...]:
        xp = namespace(params)
        device = array_api_compat.device(params)
        key = (xp.__name__, str(params.dtype), str(device))
        if key not in self._cache:
            self._cache[key] = tuple(xp.asarray(a, dtype=params.dtype, device=device)
                                     for a in self._host)
        return self._cache[key]

"""A streaming accelerator for any batch transform: keep the last ``window`` terms.

Methods whose estimate from the newest terms needs only a fixed number of them
(Levin of order k, Aitken, MPE/RRE with k + 2 terms, ...) stream with memory
``window`` terms: the terms sit in a ring buffer and the batch transform is
applied to them when :meth:`result` is read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from ._backend import namespace
from ._result import Accelerator, AccelResult

__all__ = ["Windowed"]


class Windowed(Accelerator):
    """Stream terms into ``transform`` over the last ``window`` of them.

    Parameters
    ----------
    transform : callable
        A batch function ``transform(terms, full_output=True, **options) ->
        AccelResult`` over an array whose leading axis indexes the terms.
    window : int
        How many of the newest terms the transform sees (the memory kept).
    name : str
        The method's name, for repr and error messages.
    **options
        Passed to ``transform``.
    """

    def __init__(self, transform: Callable[..., AccelResult], window: int, *,
                 name: str = "windowed", **options: Any) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1, got {window}")
        self.transform = transform
        self.window = int(window)
        self.name = name
        self.options = options
        self._terms: deque = deque(maxlen=self.window)
        self._count = 0

    @property
    def terms(self) -> int:
        """Number of terms pushed so far."""
        return self._count

    def push(self, term: Any) -> None:
        """Feed the next term."""
        self._terms.append(term)
        self._count += 1

    def result(self) -> AccelResult:
        """Apply the transform to the terms in the window."""
        if not self._terms:
            raise ValueError(f"{self.name}: no terms pushed yet")
        xp = namespace(self._terms[0])
        return self.transform(xp.stack(list(self._terms)), full_output=True, **self.options)

    def __repr__(self) -> str:
        return f"<{self.name} accelerator window={self.window} terms={self._count}>"

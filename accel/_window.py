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

from ._backend import all_finite, as_term, namespace, result_float_dtype, settle
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
        self._checked: AccelResult | None = None  # result() of the terms pushed so far

    @property
    def terms(self) -> int:
        """Number of terms pushed so far."""
        return self._count

    def push(self, term: Any) -> None:
        """Feed the next term (a finite scalar or vector like the first one).

        Raises
        ------
        TypeError
            A first term that is not numeric, or of NumPy's extended precision.
        ValueError
            NaN or inf in ``term`` (refused now, not at the next :meth:`result`),
            or a shape or dtype other than the first term's.
        """
        xp, term = as_term(term)
        if term.ndim > 1:
            raise ValueError(f"term must be a scalar (0-d) or a vector (1-d), got shape "
                             f"{tuple(term.shape)}")
        if not self._terms:
            result_float_dtype(xp, term, "term")  # a dtype result() could not transform
        else:
            first = self._terms[0]
            if tuple(term.shape) != tuple(first.shape) or term.dtype != first.dtype:
                raise ValueError(f"term must match the first term pushed (shape "
                                 f"{tuple(first.shape)}, dtype {first.dtype}), got shape "
                                 f"{tuple(term.shape)}, dtype {term.dtype}")
        term = settle(term)  # lazy arrays (Dask): evaluated once, kept for result()
        if not all_finite(xp, term):  # decision: refuse bad input at once
            raise ValueError(f"term {self._count} must be finite, got NaN or inf")
        self._terms.append(term)
        self._count += 1
        self._checked = None

    def result(self) -> AccelResult:
        """Apply the transform to the terms in the window.

        Computed once per push: reading the result again before the next push
        returns the same object.
        """
        if not self._terms:
            raise ValueError(f"{self.name}: no terms pushed yet")
        if self._checked is None:
            self._checked = self._transform_window()
        return self._checked

    def _transform_window(self) -> AccelResult:
        xp = namespace(self._terms[0])
        return self.transform(xp.stack(list(self._terms)), full_output=True, **self.options)

    def __repr__(self) -> str:
        return f"<{self.name} accelerator window={self.window} terms={self._count}>"

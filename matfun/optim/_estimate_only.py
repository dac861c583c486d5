"""The series' accelerator for the optimisers: the estimate without the checks they don't read.

:func:`matfun.optim.sfn_series` (and :func:`matfun.optim.adaptive` around it) sums a
fixed number of terms and steps along the accelerated vector, when finite; it reads no
error estimate or status of it. A named epsilon stream is then wrapped so that its
``result()`` is :meth:`accel.epsilon_stream.EpsilonAccelerator.unchecked_result`: the
checked result's estimate to the last bit, from one table of the newest ``2N + 1``
terms instead of three (one on ``2N + 4`` terms, two on perturbed copies).
"""

from __future__ import annotations

import copy
from typing import Any

import accel

__all__ = ["EstimateOnly", "estimate_only"]


class EstimateOnly(accel.Accelerator):
    """A named epsilon stream whose ``result()`` is its ``unchecked_result()`` (internal).

    With a fixed number of terms the series returns the accelerated vector (when
    finite) and the optimiser reads no error or status of it: the checks of
    :meth:`accel.epsilon_stream.EpsilonAccelerator.result` (two more tables, one on
    perturbed copies) would change nothing it uses. The estimate is the same to
    the last bit; ``info.accelerator_status`` of the series is then the table's own.
    """

    def __init__(self, method: str, order: int) -> None:
        self._method, self.order = method, order
        self._stream = accel.accelerator(method, order=order)
        self.name = self._stream.name

    def __deepcopy__(self, memo: dict) -> EstimateOnly:
        copy_ = EstimateOnly.__new__(EstimateOnly)
        copy_._method, copy_.order, copy_.name = self._method, self.order, self.name
        # The series copies its template (never pushed) per run: a fresh stream is
        # that copy, without walking the empty stream's attributes.
        copy_._stream = (accel.accelerator(self._method, order=self.order)
                         if self._stream.terms == 0 else copy.deepcopy(self._stream, memo))
        return copy_

    @property
    def template(self) -> Any:
        """The wrapped stream (read only: copy it before pushing)."""
        return self._stream

    @property
    def terms(self) -> int:
        """Terms pushed so far."""
        return self._stream.terms

    def push(self, term: Any) -> None:
        """Feed the next partial sum."""
        self._stream.push(term)

    def result(self) -> Any:
        """The checked result's estimate, with the table's own error and status."""
        return self._stream.unchecked_result()


def estimate_only(accelerate: Any, order: int) -> Any:
    """``accelerate`` for the series: named epsilon streams skip the checks they don't need."""
    if isinstance(accelerate, str):
        stream = accel.accelerator(accelerate, order=order)
        if hasattr(stream, "unchecked_result"):
            return EstimateOnly(accelerate, order)
    return accelerate

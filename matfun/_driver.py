"""Running a series to a stopping rule, optionally through an accelerator."""

from __future__ import annotations

import copy
import dataclasses
import math
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any

import accel

from ._backend import namespace, norm, to_float
from ._engine import PartialSum, SeriesInfo, SeriesSpec, iterate_partial_sums
from ._validation import check_real, positive_integer
from .errors import SeriesConvergenceWarning
from .scaling import ScaleRule

__all__ = ["run_series", "check_stopping"]

_RATE_WINDOW = 10
_SAFE_EXPONENT = 200
_TINY = 1e-300


def check_stopping(terms: int | None, tol: float | None, max_terms: int, dtype_eps: float
                   ) -> tuple[int, float | None]:
    """Validate ``terms``, ``tol``, ``max_terms``; return ``(limit, tol)``.

    With neither ``terms`` nor ``tol`` the tolerance defaults to ``sqrt(eps)`` of the
    vector's dtype.
    """
    if terms is not None:
        terms = positive_integer(terms, "terms")
    max_terms = positive_integer(max_terms, "max_terms")
    if tol is not None:
        tol = check_real(tol, "tol")
        if not tol > 0:
            raise ValueError(f"tol must be a positive finite number, got {tol}")
    if terms is None and tol is None:
        tol = math.sqrt(dtype_eps)
    limit = max_terms if terms is None else terms
    return limit, tol


def run_series(
    spec: SeriesSpec,
    g: Any,
    rule: ScaleRule,
    *,
    terms: int | None,
    tol: float | None,
    max_terms: int,
    accelerate: Any,
    order: int,
    callback: Callable[[PartialSum], None] | None,
    matvecs_before: int,
    max_matvecs: int | None = None,
) -> tuple[Any, SeriesInfo]:
    """Sum ``spec`` applied to ``g`` until the stopping rule; return ``(x, info)``.

    The tolerance applies to the estimated relative error of the partial sum, the
    last term times the geometric tail factor :math:`q / (1 - q)`, with ``q`` the
    observed decay rate of the terms over the last ``_RATE_WINDOW`` terms: the bare
    relative change underestimates the error by ``1/(1 - q)``, a factor of 50 and
    more for the slowly converging series of ill-conditioned matrices.
    ``max_matvecs`` caps every matvec of the call (scale estimates and restarts
    included): the sum stops before a term that could exceed it.
    """
    xp = namespace(g)
    if max_matvecs is not None:
        max_matvecs = positive_integer(max_matvecs, "max_matvecs")
    limit, tol = check_stopping(terms, tol, max_terms, float(xp.finfo(g.dtype).eps))
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    g, unit = _balance(xp, g)
    if unit != 1.0 and callback is not None:
        user_callback = callback
        callback = lambda step: user_callback(dataclasses.replace(step, value=step.value * unit))  # noqa: E731
    accelerator = _make_accelerator(accelerate, order)
    tail = _TailEstimate()
    step = None
    stopped_by = "max_terms" if terms is None else "terms"
    error = math.inf
    for step in iterate_partial_sums(spec, g, rule, max_terms=limit):
        if step.restarted:
            tail = _TailEstimate()
            accelerator = _make_accelerator(accelerate, order)
        if callback is not None:
            callback(step)
        # Without a tolerance only the last terms' decay feeds the reported estimate:
        # skip the norm (and its synchronisation) before them.
        if tol is not None or step.index >= limit - _RATE_WINDOW - 1 or step.restarted:
            sum_norm = to_float(norm(xp, step.value))
            error = tail.update(step.term_norm / max(sum_norm, _TINY))
        if accelerator is not None:
            accelerator.push(step.value)
            if tol is not None and step.index > 0:
                error = _accelerator_error(xp, accelerator.result())
        if tol is not None and error <= tol:
            stopped_by = "tol"
            break
        # A term costs at most two matvecs (restarts reuse A g).
        if max_matvecs is not None and spec.operator.matvecs - matvecs_before + 2 > max_matvecs:
            stopped_by = "max_matvecs"
            break
    if stopped_by not in ("tol", "max_matvecs") and step.index + 1 < limit:
        stopped_by = "exact"  # the engine stops early only on an exactly zero term
        error = 0.0
    x = step.value
    accelerator_name = accelerator_status = None
    if accelerator is not None:
        result = accelerator.result()
        x = result.estimate
        error = _accelerator_error(xp, result)
        accelerator_name = getattr(accelerator, "name", type(accelerator).__name__)
        accelerator_status = str(getattr(result.status, "value", result.status))
    x = x * unit if unit != 1.0 else x
    info = SeriesInfo(
        terms=step.index + 1,
        matvecs=spec.operator.matvecs - matvecs_before,
        scale=step.scale,
        scale_strategy=rule.name,
        restarts=step.restarts,
        stopped_by=stopped_by,
        converged=stopped_by in ("tol", "exact"),
        diverged=False,
        relative_change=tail.relative_change,
        error_estimate=error,
        accelerator=accelerator_name,
        accelerator_status=accelerator_status,
    )
    if tol is not None and not info.converged:
        warnings.warn(
            f"{spec.name} stopped at {info.terms} terms ({stopped_by}) with estimated relative "
            f"error {error:.3g} > tol = {tol:.3g}",
            SeriesConvergenceWarning,
            stacklevel=3,
        )
    return x, info


def _balance(xp: Any, g: Any) -> tuple[Any, float]:
    """``(g / 2^e, 2^e)`` with ``max |g| / 2^e`` near 1 when ``g`` is extremely small or large.

    The series is linear in ``g``; the norms of the stopping and divergence rules
    are not safe from underflow (``||g||`` computes as 0 for ``||g|| < 1e-154`` in
    some backends) or overflow. Scaling by a power of two is exact.
    """
    largest = to_float(xp.max(xp.abs(g)))  # decision: whether to rescale
    exponent = math.frexp(largest)[1]
    if -_SAFE_EXPONENT <= exponent <= _SAFE_EXPONENT:
        return g, 1.0
    unit = math.ldexp(1.0, exponent)
    return g / unit, unit


class _TailEstimate:
    """Relative error of a partial sum from the decay of its last terms."""

    def __init__(self) -> None:
        self._changes: deque[float] = deque(maxlen=_RATE_WINDOW + 1)
        self.relative_change = math.inf

    def update(self, relative_change: float) -> float:
        self.relative_change = relative_change
        self._changes.append(relative_change)
        if relative_change == 0.0:
            return 0.0
        first = self._changes[0]
        steps = len(self._changes) - 1
        if steps == 0 or first == 0.0:
            return math.inf
        rate = (relative_change / first) ** (1.0 / steps)
        return relative_change * rate / (1.0 - rate) if rate < 1.0 else math.inf


def _make_accelerator(accelerate: Any, order: int) -> Any:
    if accelerate is None:
        return None
    if isinstance(accelerate, accel.Accelerator):
        # A template: each (re)started series gets a fresh copy, the caller's is untouched.
        return copy.deepcopy(accelerate)
    return accel.accelerator(accelerate, order=order)


def _accelerator_error(xp: Any, result: Any) -> float:
    return result.error / max(to_float(norm(xp, result.estimate)), _TINY)

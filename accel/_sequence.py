"""Plumbing shared by the sequence transforms: validation, fallback and status.

A transform that computes its estimates of orders ``0, 1, ..., k`` from the
newest terms (order 0 is the newest term itself) hands them to
:func:`fold_orders` with a validity mask per order; the fold keeps, per
component, the highest valid order, so a zero denominator falls back to the last
finite estimate without a host synchronisation. :func:`summarize` then turns
the fold into an :class:`~accel._result.AccelResult` (this part synchronises:
the status is a decision).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import device as array_device

from ._backend import (
    all_finite,
    as_float_array,
    check_concrete,
    is_array,
    namespace,
    real_dtype,
    to_float,
)
from ._result import AccelResult, Status
from ._window import Windowed

__all__ = [
    "Fold",
    "IndexedWindow",
    "all_true",
    "as_sequence",
    "check_first_index",
    "check_order",
    "classify",
    "constants",
    "fold_orders",
    "insufficient",
    "observed_ratio",
    "raw_tail_error",
    "safe_divide",
    "settled",
    "steps_allow_convergence",
    "summarize",
    "summarize_joint",
    "tail_error",
    "total_norm",
]

# Rounding-level agreement: a few ulps of the larger of the estimate and the last
# term, as in the CONVERGED criterion of every transform here.
CONVERGED_ULPS = 16.0

# CONVERGED needs steps resolved to this many ulps, or a sequence settled by itself
# (settled): on steps of a few ulps the perturbation estimate of the rounding floor
# leaves its linear range and a slowly moving sequence looks stationary (float16
# zeta(3/2), terms 13..19, theta: reported 0.019, off by 0.456; steps of 5-8 ulps).
RESOLVED_ULPS = 64.0


# Resolved steps must also shrink by more than the rounding of two step norms: each
# step of the data is off by at most eps max||s_j|| (two terms rounded to half an ulp
# each), and the centring and scaling add at most as much again, so two step norms
# differ by up to 4 eps max||s_j|| through rounding alone (see settled).
SHRINK_ULPS = 4.0


def settled(first: float, last: float, smallest: float, count: int, ulp: float, *,
            term_ulp: float = 0.0, earlier: float | None = None) -> bool:
    r"""Whether ``count`` steps (oldest ``first``, newest ``last``) support a CONVERGED claim.

    ``smallest`` is the least step size, ``ulp = eps ||estimate||`` and ``term_ulp =
    eps max_j ||s_j||`` over the terms the steps join.
    True when every step is at least ``RESOLVED_ULPS * ulp`` (the data resolve the
    differences a transform works with) *and* the newest step is smaller than every
    earlier one (the least of them is ``earlier``; ``first`` when not given) by more
    than ``SHRINK_ULPS * term_ulp``, the most rounding can change a step norm; or
    when the steps' own geometric tail :math:`\|\Delta_m\| q / (1 - q)`, with
    :math:`q = (\|\Delta_m\| / \|\Delta_1\|)^{1/(k-1)}` read over all ``k`` steps
    (robust to steps quantised to a few ulps, where the ratio of the last two is
    noise), is within
    ``CONVERGED_ULPS * ulp``: the sequence has settled by itself.

    Why the resolved steps must shrink: the steps of a convergent sequence tend to
    zero, so its newest step is, beyond rounding, below the earlier ones.
    Steps that stay the same size to rounding are those of a sequence without a
    limit -- a linear drift ``s_n = L + a r^n + delta n`` or a bounded oscillation
    ``L + a r^n + c (-1)^n`` once ``a r^n`` has died out -- which the transforms
    happily "sum" (Shanks maps ``c (-1)^n`` to 0, four agreeing runs): "the last step
    no larger than every earlier one" alone held there about half the time, by the
    roundings of equal steps (``benchmarks/fuzz_accel.py``, families drift and
    oscillating). The *newest* step is compared, not the oldest: on ``L + a r^n +
    delta n`` the steps ``delta + O(r^n)`` still shrink across a window that reaches
    back to where ``a r^n`` was visible, while the newest two are equal to rounding
    (theta and Levin v were CONVERGED there). A convergent sequence is refused only
    when it moves by ``RESOLVED_ULPS`` ulps or more per step yet its newest step
    is within ``SHRINK_ULPS`` ulps of an earlier one, i.e. a contraction ``q``
    within ``1/16`` of 1 (or steps that do not shrink monotonically): its own tail
    is then above ``16 * 64`` ulps, and an honest ACCELERATING is what such a claim
    deserves.
    """
    if smallest >= RESOLVED_ULPS * ulp:
        reference = first if earlier is None else earlier
        return bool(reference - last > SHRINK_ULPS * term_ulp)
    if last == 0.0:
        return True
    if count < 2 or first == 0.0 or last >= first:
        return False
    q = (last / first) ** (1.0 / (count - 1))
    return bool(last * q / (1.0 - q) <= CONVERGED_ULPS * ulp)


def steps_allow_convergence(sizes: list[float], ulp: float, *, term_ulp: float = 0.0) -> bool:
    """The window's part of CONVERGED, from its step sizes (oldest first, two or more).

    Terms that do not grow (the newest step no larger than every earlier one) and
    steps that are resolved and shrinking or settled (:func:`settled`; ``term_ulp =
    eps max_j ||s_j||`` over the window).
    """
    earlier = min(sizes[:-1])
    return not sizes[-1] > earlier and settled(sizes[0], sizes[-1], min(earlier, sizes[-1]),
                                               len(sizes), ulp, term_ulp=term_ulp,
                                               earlier=earlier)


def as_sequence(seq: Any, *, name: str = "seq") -> tuple[Any, Any]:
    """Validate a sequence of terms; return ``(xp, terms)`` in a floating dtype.

    Raises
    ------
    TypeError
        If ``seq`` is not an array of a supported library, or not numeric.
    ValueError
        If ``seq`` is not of shape ``(m,)`` or ``(m, n)`` with ``m, n >= 1``, or
        holds NaN or inf.
    """
    if not is_array(seq):
        raise TypeError(f"{name} must be an array of an array-API library (NumPy, CuPy, "
                        f"JAX, ...), got {type(seq).__name__}; e.g. numpy.asarray({name})")
    check_concrete(seq, name, "accel")
    xp = namespace(seq)
    if seq.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (m,) or (m, n), got shape {tuple(seq.shape)}")
    if seq.shape[0] < 1 or (seq.ndim == 2 and seq.shape[1] < 1):
        raise ValueError(f"{name} must hold at least one term, got shape {tuple(seq.shape)}")
    terms = as_float_array(xp, seq, name)
    if not all_finite(xp, terms):
        raise ValueError(f"{name} must be finite, got NaN or inf among its terms")
    return xp, terms


def check_order(order: Any, *, name: str = "order") -> int | None:
    """``None`` or a positive integer; anything else is an error naming ``name``."""
    if order is None:
        return None
    value = _integer(order, name)
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def check_first_index(first_index: Any) -> int:
    """A non-negative integer index of the first term; anything else is an error."""
    value = _integer(first_index, "first_index")
    if value < 0:
        raise ValueError(f"first_index must be non-negative, got {value}")
    return value


def _integer(value: Any, name: str) -> int:
    """``value`` as a Python int (anything with ``__index__`` but a bool)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None


def constants(xp: Any, values: Any, like: Any) -> Any:
    """Host-side coefficients (a NumPy float64 array) moved to ``like``'s device.

    The dtype is the real floating dtype of ``like`` (coefficients of the
    transforms are real even for complex sequences).
    """
    # Contiguous: a reversed view (negative strides) cannot become a torch tensor.
    return xp.asarray(np.ascontiguousarray(values, dtype=np.float64), dtype=real_dtype(xp, like),
                      device=array_device(like))


def all_true(xp: Any, shape: tuple[int, ...], like: Any) -> Any:
    """A boolean mask of ``shape``, all true, on ``like``'s device."""
    return xp.ones(shape, dtype=xp.bool, device=array_device(like))


def safe_divide(xp: Any, numerator: Any, denominator: Any) -> tuple[Any, Any]:
    """``numerator / denominator`` where it is finite, 0 elsewhere, and that mask.

    The zero denominators are replaced before dividing so that no floating-point
    warning is raised; the mask marks where the quotient means something.
    """
    nonzero = denominator != 0
    quotient = numerator / xp.where(nonzero, denominator, xp.ones_like(denominator))
    valid = nonzero & xp.isfinite(quotient)
    return xp.where(valid, quotient, xp.zeros_like(quotient)), valid


@dataclass(frozen=True)
class Fold:
    """Per-component outcome of :func:`fold_orders` (arrays of the estimate's shape)."""

    estimate: Any
    previous: Any
    has_previous: Any
    reached: Any


def fold_orders(xp: Any, candidates: list[tuple[Any, Any]]) -> Fold:
    """Keep, per component, the highest order whose estimate is valid.

    ``candidates[j] = (value_j, valid_j)`` is the estimate of order ``j``; order
    0 (the newest term) must be valid everywhere. ``previous`` is the next lower
    valid order's estimate, the reference for the error estimate.
    """
    estimate = candidates[0][0]
    previous = xp.zeros_like(estimate)
    where = array_device(estimate)
    has_previous = xp.zeros(estimate.shape, dtype=xp.bool, device=where)
    reached = xp.zeros(estimate.shape, dtype=real_dtype(xp, estimate), device=where)
    for order, (value, valid) in enumerate(candidates[1:], start=1):
        valid = valid & xp.isfinite(value)
        previous = xp.where(valid, estimate, previous)
        has_previous = has_previous | valid
        estimate = xp.where(valid, value, estimate)
        reached = xp.where(valid, float(order), reached)
    return Fold(estimate, previous, has_previous, reached)


def total_norm(xp: Any, x: Any) -> float:
    """Euclidean norm of all entries of ``x`` as a float.  Synchronises (a decision)."""
    return to_float(xp.linalg.vector_norm(xp.reshape(x, (-1,))))


def tail_error(step: float, ratio: float | None) -> float:
    r"""The raw sequence's own geometric estimate of its tail error.

    .. math:: \text{raw\_error} = \lVert\Delta_m\rVert \, \frac{|q|}{1 - q}

    from the last raw step ``step = ||Delta_m||`` and the observed ratio ``q``
    (:func:`observed_ratio`): the distance from ``s_m`` to the limit if the
    steps kept shrinking by ``q``, ``s_m - S = -sum_{k>=1} q^k Delta_m``.
    ``step`` itself, the conservative yardstick, when no geometric tail can be
    read off: ``q`` undefined (``None`` or NaN: two terms only, or a zero
    previous step) or ``q >= 1`` (the last steps do not shrink: a divergent or
    erratic sequence, where a random step ratio must not excuse any error).
    """
    if ratio is None or math.isnan(ratio) or ratio >= 1.0:
        return step
    return step * abs(ratio) / (1.0 - ratio)


def observed_ratio(xp: Any, terms: Any) -> Any:
    r"""Observed ratio of the last two raw steps, a real 0-d array.

    .. math:: q = \frac{\operatorname{Re} \langle \Delta_m, \Delta_{m-1} \rangle}
                       {\lVert \Delta_{m-1} \rVert^2},
              \qquad \Delta_m = s_m - s_{m-1}

    (signed: negative for alternating terms). NaN when fewer than three terms
    are given or ``Delta_{m-1} = 0``: then :func:`tail_error` falls back to
    ``||Delta_m||``.
    """
    real = real_dtype(xp, terms)
    where = array_device(terms)
    if terms.shape[0] < 3:
        return xp.asarray(math.nan, dtype=real, device=where)
    last = xp.reshape(terms[-1, ...] - terms[-2, ...], (-1,))
    previous = xp.reshape(terms[-2, ...] - terms[-3, ...], (-1,))
    size = xp.linalg.vector_norm(previous)
    defined = size > 0
    size = xp.where(defined, size, xp.ones_like(size))
    # Dividing by the norm twice avoids the underflow of ||Delta_{m-1}||^2.
    pairing = xp.vecdot(previous / xp.astype(size, previous.dtype), last)
    if xp.isdtype(pairing.dtype, "complex floating"):
        pairing = xp.real(pairing)
    return xp.where(defined, pairing / size, xp.asarray(math.nan, dtype=real, device=where))


def raw_tail_error(xp: Any, terms: Any) -> float:
    """:func:`tail_error` of the last terms: the yardstick of NOT_ACCELERATING."""
    step = total_norm(xp, terms[-1, ...] - terms[-2, ...])
    return tail_error(step, to_float(observed_ratio(xp, terms)))  # decision: the status


def classify(xp: Any, *, error: float, estimate: Any, terms: Any, broke: bool) -> Status:
    """Status of a finished transform (see :class:`~accel._result.Status`).

    CONVERGED when the error is at rounding level of the estimate or the last
    term; NOT_ACCELERATING when it exceeds the raw sequence's own tail-error
    estimate :func:`raw_tail_error`, ``||Delta_m|| |q| / (1 - q)`` with the
    observed ratio ``q`` of the last two steps (``||Delta_m||`` with two terms,
    a zero previous step or ``q >= 1``): the transform then claims less accuracy
    than the plain sequence's geometric tail estimate.
    """
    if broke:
        return Status.BREAKDOWN
    eps = xp.finfo(real_dtype(xp, terms)).eps
    scale = max(total_norm(xp, estimate), total_norm(xp, terms[-1, ...]))
    if error <= CONVERGED_ULPS * eps * scale:
        return Status.CONVERGED
    if error > raw_tail_error(xp, terms):
        return Status.NOT_ACCELERATING
    return Status.ACCELERATING


def insufficient(terms: Any) -> AccelResult:
    """The result when no transformation is possible: the last term, unbounded error."""
    return AccelResult(terms[-1, ...], float("inf"), Status.INSUFFICIENT_TERMS, 0,
                       terms.shape[0])


def summarize(xp: Any, fold: Fold, *, terms: Any, order: int, used: int) -> AccelResult:
    """Status, error and reached order of a :func:`fold_orders` outcome.

    ``terms`` are the terms the transform saw, ``order`` the order it aimed
    for and ``used`` how many terms that order needs. Components whose terms
    are all equal (three or more) have settled: they keep the last term and count
    neither as a breakdown nor in the error. Two equal final terms are not enough
    (one coincidence); the status itself is decided by :mod:`accel._honest`.
    """
    # A component is settled only when every term seen agrees (three at least):
    # two equal final terms are one coincidence, not convergence.
    converged = xp.all(terms == terms[-1:, ...], axis=0) & (terms.shape[0] >= 3)
    short = (fold.reached < order) & ~converged
    broke = bool(xp.any(short))  # decision: the status
    counted = fold.has_previous & ~converged
    step = xp.where(counted, fold.estimate - fold.previous, xp.zeros_like(fold.estimate))
    error = total_norm(xp, step)
    if bool(xp.any(~fold.has_previous & ~converged)):  # decision: the error is unbounded
        error = float("inf")
    reached = order
    if broke:
        lowest = xp.min(xp.where(converged, float(order), fold.reached))
        reached = int(to_float(lowest))
    status = classify(xp, error=error, estimate=fold.estimate, terms=terms, broke=broke)
    return AccelResult(fold.estimate, error, status, reached, used)


class IndexedWindow(Windowed):
    """A :class:`Windowed` whose transform also needs the index of its first term.

    Levin's and Richardson's weights depend on the absolute index ``n`` of the
    terms, which a plain window forgets; this one passes
    ``first_index = terms pushed - terms kept`` to the transform.
    """

    def _transform_window(self) -> AccelResult:
        """Apply the transform to the terms in the window, with their first index."""
        xp = namespace(self._terms[0])
        first_index = self._count - len(self._terms)
        return self.transform(xp.stack(list(self._terms)), first_index=first_index,
                              full_output=True, **self.options)


def summarize_joint(xp: Any, candidates: list[tuple[Any, Any]], *, terms: Any,
                    exact: list[Any], order: int, used: int) -> AccelResult:
    """Status, error and reached order of a transform that treats vectors jointly.

    ``candidates[j] = (value_j, valid_j)`` is the order-``j`` estimate with a 0-d
    validity flag (order 0, the newest term, valid); ``exact[j]`` is a 0-d flag
    that order ``j`` reproduces its model to rounding (its residual vanishes).
    The estimate is the highest valid order's; the error is its distance to the
    next lower valid one. When orders above the reached one are invalid, the
    status is CONVERGED if the reached order is exact (the higher orders were
    singular because the model is already matched: nothing left to extrapolate)
    and BREAKDOWN otherwise.
    """
    valid = [bool(flag) for _, flag in candidates]  # decisions: which order stands
    valid[0] = True
    reached = max(j for j, ok in enumerate(valid) if ok)
    estimate = candidates[reached][0]
    lower = [j for j in range(reached) if valid[j]]
    error = math.inf
    if lower:
        error = total_norm(xp, estimate - candidates[lower[-1]][0])
    if reached < order:
        status = Status.CONVERGED if bool(exact[reached]) else Status.BREAKDOWN
    else:
        status = classify(xp, error=error, estimate=estimate, terms=terms, broke=False)
    return AccelResult(estimate, error, status, reached, used)

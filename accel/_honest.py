r"""The honest status and error of every batch transform, at any magnitude.

Every public batch function of :mod:`accel` is wrapped by :func:`honest`. The
wrapper does three things the transforms themselves cannot:

**Scale-free arithmetic.** The terms are centred on the newest one and divided
by a power of two ``p`` (exact) so that the largest centred term lies in
``[1/2, 1)``; the transform runs on ``u_j = (s_j - s_m) / p`` and the result is
mapped back, ``T(s) = s_m + p T(u)``. Every transform here is homogeneous and
translative, so this changes nothing in exact arithmetic, while no norm, square
or inverse overflows or underflows: ``T(c s) = c T(s)`` holds to the last bit,
status included, for every power of two ``c`` (to rounding for other ``c``), in
every floating dtype.

**An error estimate that does not trust one coincidence.** Besides the
transform's own estimate (distance between its two highest orders), it is run
again on the sequence without its newest one, two and three terms. The
distances ``d_1, d_2, d_3`` between consecutive estimates (newest first) and
the slower contraction ``q = max(d_1/d_2, d_2/d_3)`` give a second, independent
estimate ``max(d_1, d_2 q / (1 - q))`` (``max(d_1, d_2, d_3)`` when the
estimates do not contract): the geometric tail of the sequence of estimates
itself (:func:`accel._error_checks.prefix_error`).

**A rounding floor.** The data are rounded: each term is known only to about
``eps |s_j|``. The transform is run twice more on ``s_j (1 + eps r_j)``, with
fixed pseudo-random signs ``r_j`` and with alternating ones; four times the larger
change of the estimate is the *rounding floor*, the accuracy the data allow. It is
what large weights (Richardson, high-order Levin) or divergent series cost, and it
is part of the reported error.

The reported error is the largest of the three. The status is

* ``BREAKDOWN`` / ``INSUFFICIENT_TERMS``: as the transform reported;
* ``CONVERGED`` only when (a) the prefix estimates exist and none of them is a
  breakdown (four evaluations of the transform agree: never one coincidence, and
  a broken-down run's estimate is a raw term, not a transform), (b) both
  truncation estimates (the transform's own and the prefix one) are below the
  rounding floor or ``16 eps |estimate|``, i.e. more terms cannot improve the
  estimate, with a floor of at most ``sqrt(eps) |estimate|`` (a transform that
  loses half the digits to rounding has not converged, it has stalled), and (c)
  the terms do not grow: the last step ``||s_m - s_{m-1}||`` is no larger than
  every earlier step among the terms the four runs read (a divergent series is
  summed, never "converged"), and steps of 64 ulps or more shrink across those
  terms by more than rounding (a drift or a bounded oscillation, whose steps stay
  equal, has no limit: :func:`accel._sequence.settled`). Equal terms count as
  converged once there are as many as the four runs read (:func:`_constant`);
* ``NOT_ACCELERATING`` when the error exceeds the raw sequence's own geometric
  tail estimate (:func:`accel._sequence.raw_tail_error`);
* ``ACCELERATING`` otherwise.

This is a named heuristic, not a proof: CONVERGED means the limit is known to
the reported error on every sequence of :mod:`accel.testing` (checked by the
test suite: the true error never exceeds three times the reported one above
rounding), not on every sequence there is.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._backend import all_finite, is_complex, real_dtype, to_float
from ._backend import namespace as _namespace
from ._error_checks import PREFIX_RUNS, prefix_error, prefix_runs, rounding_floor
from ._power_of_two import power_of_two_exponent, scale_by_power_of_two
from ._result import AccelResult, Status
from ._sequence import (
    CONVERGED_ULPS,
    as_sequence,
    raw_tail_error,
    settled,
    total_norm,
)

__all__ = ["conclude", "honest"]


def honest(transform: Callable[..., Any] | None = None, *, table_scaling: bool = False,
           translative: bool = True,
           fast: Callable[..., AccelResult | None] | None = None) -> Callable[..., Any]:
    """Wrap a batch transform ``f(seq, *, ..., full_output)`` (see the module docstring).

    ``table_scaling``: the transform's table has epsilon-like columns (even ones
    are estimates, odd ones scale like ``1 / s``) and is mapped back accordingly.
    ``translative``: ``T(s + c) = T(s) + c``, so the terms may be centred
    (Levin's is not: its first remainder estimate is ``s_0`` itself).
    ``fast``: ``fast(seq, *args, **options)`` returns the same checked result by
    a shorter route, or ``None`` where it does not apply (:mod:`accel._scalar`).
    """
    if transform is None:
        return functools.partial(honest, table_scaling=table_scaling, translative=translative,
                                 fast=fast)

    @functools.wraps(transform)
    def wrapper(seq: Any, *args: Any, full_output: bool = False, **options: Any) -> Any:
        if fast is not None:
            quick = fast(seq, *args, **options)
            if quick is not None:
                return quick if full_output else quick.estimate
        # Only the main run keeps a table (when asked): the checks need none.
        checks = {**options, "table": False} if options.get("table") else options

        def run(terms: Any, *, check: bool = False) -> AccelResult:
            return transform(terms, *args, full_output=True, **(checks if check else options))

        result = honest_result(run, seq, table_scaling=table_scaling, translative=translative)
        return result if full_output else result.estimate

    return wrapper


def honest_result(run: Callable[..., AccelResult], seq: Any, *,
                  table_scaling: bool = False, translative: bool = True,
                  eps: float | None = None) -> AccelResult:
    """Run ``run`` on the normalised terms (and the checks); map the result back.

    ``eps``: the unit roundoff the data are judged at (default the dtype's).
    """
    xp, terms = as_sequence(seq)
    dtype_eps = float(xp.finfo(real_dtype(xp, terms)).eps)
    half = getattr(xp, "float16", None)
    if half is not None and terms.dtype == half:
        # float16: transformed in float32 (linear algebra has no float16), judged at
        # float16's eps (its data are rounded to it), rounded back at the end.
        result = honest_result(run, xp.astype(terms, xp.float32), table_scaling=table_scaling,
                               translative=translative, eps=dtype_eps)
        result = _representable(xp, result, terms, half)
        with np.errstate(over="ignore"):  # a table's inverses may exceed float16
            table = None if result.table is None else [xp.astype(column, half)
                                                        for column in result.table]
        return dataclasses.replace(result, estimate=xp.astype(result.estimate, half),
                                   table=table)
    eps = dtype_eps if eps is None else eps
    m = terms.shape[0]
    center = terms[-1, ...]
    centred = terms - center
    size = to_float(xp.max(xp.abs(centred))) if m > 1 else 0.0  # decision: the scale
    if not translative or not math.isfinite(size):  # scale only (or the centring overflowed)
        center = xp.zeros_like(center)
        centred = terms
        size = to_float(xp.max(xp.abs(terms)))
    if size == 0.0 or m == 1:  # every term equal (or a single term)
        return _constant(run, terms, terms[-1, ...])
    exponent = power_of_two_exponent(size)
    unit = scale_by_power_of_two(centred, -exponent)
    del centred  # (a copy of the terms, unless the scaling was the identity)
    main = run(unit)
    if main.status is Status.INSUFFICIENT_TERMS:
        return _back(main, center, exponent, table_scaling, terms[-1, ...])
    estimate = main.estimate
    scaled_center = scale_by_power_of_two(center, -exponent)
    scaled_size = _size(xp, estimate + scaled_center)
    # The estimate is s_m + p T(u): it cannot be known better than s_m's rounding.
    representable = max(scaled_size, _size(xp, scaled_center))
    floor = rounding_floor(xp, run, terms, unit, estimate, exponent, eps, representable)
    earlier = prefix_runs(run, unit)
    return conclude(xp, main, earlier, floor, unit, eps=eps, scaled_size=scaled_size,
                    center=center, exponent=exponent, table_scaling=table_scaling,
                    newest=terms[-1, ...])


def conclude(xp: Any, main: AccelResult, earlier: list[AccelResult], floor: float, unit: Any,
             *, eps: float, scaled_size: float, center: Any, exponent: int,
             table_scaling: bool, newest: Any) -> AccelResult:
    """The reported error and status (module docstring), mapped back to the caller's units.

    ``main``: the transform of the normalised terms ``unit``; ``earlier``: of
    ``unit`` without its newest 1, 2, 3 terms
    (:func:`accel._error_checks.prefix_runs`); ``floor``: the rounding floor;
    ``scaled_size``: the estimate's size in the scaled units.
    Shared by :func:`honest_result` and the streams' checked result
    (:mod:`accel._stream_check`), which compute the same runs by other routes.
    """
    m = unit.shape[0]
    prefix_tail_error, verified = prefix_error(xp, main, earlier)
    # A transform that reports its own order exact (CONVERGED: the higher orders
    # were singular because the model is matched) measured its error against a
    # lower order; the prefix runs are then the check that counts.
    own = 0.0 if main.status is Status.CONVERGED and verified else main.error
    truncation = max(own, prefix_tail_error)
    error = max(truncation, floor)
    if main.status is Status.BREAKDOWN:
        status = Status.BREAKDOWN
    elif error > _raw_tail(xp, unit):
        status = Status.NOT_ACCELERATING
    elif (verified and truncation <= max(floor, CONVERGED_ULPS * eps * scaled_size)
          and floor <= math.sqrt(eps) * scaled_size
          and _steps_allow_convergence(xp, unit[-min(m, main.terms + PREFIX_RUNS):, ...],
                                       eps * scaled_size, eps,
                                       scale_by_power_of_two(center, -exponent))):
        status = Status.CONVERGED
    else:
        status = Status.ACCELERATING
    result = dataclasses.replace(main, error=error, status=status)
    return _back(result, center, exponent, table_scaling, newest)


def _representable(xp: Any, result: AccelResult, terms: Any, dtype: Any) -> AccelResult:
    """``result`` if its estimate fits ``dtype``; else the newest term, as a breakdown.

    (Large weights can carry an estimate beyond the dtype's range: float16's 65504.)
    """
    largest = float(xp.finfo(dtype).max)
    if total_norm(xp, result.estimate) <= largest and all_finite(xp, result.estimate):
        return result
    newest = xp.astype(terms[-1, ...], result.estimate.dtype)
    distance = total_norm(xp, result.estimate - newest)
    return dataclasses.replace(result, estimate=newest, status=Status.BREAKDOWN,
                               error=max(result.error, distance), order=0)


def _size(xp: Any, x: Any) -> float:
    """``||x||`` as a float, in float64 where the dtype might overflow (a decision)."""
    if x.dtype not in (xp.float64, xp.complex128):
        x = xp.astype(x, xp.complex128 if is_complex(xp, x) else xp.float64)
    return total_norm(xp, x)


def _constant(run: Callable[..., AccelResult], terms: Any, center: Any) -> AccelResult:
    """Every term equal: the limit is that term once the four runs of CONVERGED exist.

    Rule (a) of CONVERGED asks for the transform on the terms and on them without
    the newest one, two and three: as many terms as the method reads, and three
    more. Equal terms are held to the same count. Three equal terms were enough
    before, and three equal *first* terms are cheap to come by: a sequence whose
    terms each repeat three times, ``s_0, s_0, s_0, s_1, ...``, was CONVERGED on
    ``s_0`` at its third term by every method (``benchmarks/fuzz_accel.py``, family
    repeated). Until then the result is INSUFFICIENT_TERMS: the last term, error
    ``inf`` (the order and terms the transform read kept).
    """
    m = terms.shape[0]
    zeros = terms - center
    main = run(zeros)  # zeros; also validates the transform's options
    if m < 3 or main.status is Status.INSUFFICIENT_TERMS:
        return AccelResult(center, math.inf, Status.INSUFFICIENT_TERMS, 0, m)
    enough = len(prefix_runs(run, zeros)) == PREFIX_RUNS
    return dataclasses.replace(main, estimate=center + main.estimate * 0,
                               error=0.0 if enough else math.inf,
                               status=Status.CONVERGED if enough else Status.INSUFFICIENT_TERMS,
                               table=None)


def _steps_allow_convergence(xp: Any, window: Any, ulp: float, eps: float,
                             scaled_center: Any) -> bool:
    """:func:`accel._sequence.steps_allow_convergence` on the window's terms.

    ``window`` holds ``u_j = (s_j - c) / p`` and ``scaled_center`` is ``c / p``;
    ``ulp = eps ||estimate||`` and ``eps max_j ||u_j + c / p||`` is the terms' own
    rounding (their scale). The step sizes computed once, four numbers read on the
    host. False for fewer than three terms (no earlier step to compare the newest with).
    """
    m = window.shape[0]
    if m < 3:
        return False
    steps = window[1:, ...] - window[:-1, ...]
    sizes = xp.linalg.vector_norm(xp.reshape(steps, (m - 1, -1)), axis=1)
    first, last = to_float(sizes[0]), to_float(sizes[-1])  # decisions: the status
    earlier = to_float(xp.min(sizes[:-1]))
    magnitudes = xp.linalg.vector_norm(xp.reshape(window + scaled_center, (m, -1)), axis=1)
    term_ulp = eps * to_float(xp.max(magnitudes))
    return not last > earlier and settled(first, last, min(earlier, last), m - 1, ulp,
                                          term_ulp=term_ulp, earlier=earlier)


def _raw_tail(xp: Any, unit: Any) -> float:
    return raw_tail_error(xp, unit) if unit.shape[0] > 1 else math.inf


def _back(result: AccelResult, center: Any, exponent: int, table_scaling: bool,
          newest: Any) -> AccelResult:
    """Map a result on ``(s - center) / 2**exponent`` back to ``s``.

    An estimate beyond the dtype's range falls back to the newest term (BREAKDOWN).
    """
    with np.errstate(over="ignore"):
        estimate = scale_by_power_of_two(result.estimate, exponent) + center
    if not all_finite(_namespace(estimate), estimate):
        return dataclasses.replace(result, estimate=newest, error=math.inf,
                                   status=Status.BREAKDOWN, order=0, table=None)
    error = result.error
    if math.isfinite(error):
        try:
            error = math.ldexp(error, exponent)
        except OverflowError:
            error = math.inf
    table = result.table
    if table is not None:
        # Odd columns hold inverses: at extreme magnitudes they may overflow to inf
        # in the caller's units (the estimate never does).
        with np.errstate(over="ignore", under="ignore"):
            table = [scale_by_power_of_two(column, exponent) + center if c % 2 == 0 or
                     not table_scaling else scale_by_power_of_two(column, -exponent)
                     for c, column in enumerate(table)]
    return dataclasses.replace(result, estimate=estimate, error=error, table=table)

"""The frame of a Lanczos ``f(H) g`` run: checks at the door, targets, cadence, assembly.

The process runs on ``H / s`` from ``g / d`` (:mod:`matfun._lanczos`); these helpers
convert between that frame and the user's: the relative target of ``atol``, the
Ritz values against the user's ``bounds``, and ``x = d s^p Q_k y`` at the end; and
:class:`Cadence`, which steps are checked and how much of each check is computed.

**The schedule.** The stopping rule (:mod:`matfun.lanczos`) is the same at every
check; which step is checked, and how much of a check is computed, depends on ``k``,
``n`` and the checks' values only (results are deterministic). Checks run on the host
with no matvec, cheapest part first. A full check costs a tridiagonal
eigendecomposition (``O(k^2)``, ~15 ms at ``k = 600``, about 50 steps of a dense
``n = 1000`` run); for ``f = 1/|x|`` without ``bounds`` it needs the Ritz values only
(~4.6 ms there), the rest coming in ``O(k)`` per piece from determinants and an
elliptic quadrature (:mod:`matfun._lanczos_fast`). It is reached only past two screens:

* **guard screen** (without ``bounds``): the Ritz value nearest each pole on either
  side, by bisection and inverse iteration (``O(k)``), gets the guard's test; if these
  pairs alone weigh more than the tolerance relative to the last full ``||y||``, the
  check is spoilt without its eigenvectors;
* **bound screen**: the Ritz values alone (``O(k^2)``, a third of the eigenvectors'
  cost; the ``1/|x|`` full check that may follow reuses them) and the bound's
  quadrature (``O(k)`` per node) -- for ``1/|x|`` first an ``O(k)`` estimate of that
  bound (:func:`matfun._lanczos_fast.inv_abs_bound_estimate`, measured 0.5-2% below
  it), which screens the check out only above 1.1 times the limit -- relative to the
  last full
  ``||y||``: a stop needs the bound-part within the tolerance under either rule, so a
  bound above twice the tolerance (the factor covers the growth of ``||y||``, measured
  below ``1 + 1e-6`` between the last full check and a stop on the fuzz of
  :mod:`matfun.lanczos`) ends the
  check. It is skipped right after a full check that passed it (or a lag-screened
  one whose estimate did);
* **lag screen** (``1/|x|`` without ``bounds``, :mod:`matfun._lanczos_probe`): once
  the bound's estimate is within the tolerance over 1.1 (or the bound screen is
  skipped), the lagged change of the iterate against the rule's reference, both by
  the quadrature in ``O(N k)`` (the reference provisionally: its guard screen only);
  above 1.01 times the tolerance no hit is possible, and the check is screened out
  as a clean miss of the lag (no Ritz values, no full reference). Otherwise the full
  check and reference reuse the quadrature's iterates.

Both use the last known ``||y||``, so when it is older than ``k / 2`` a full check is
forced -- for ``1/|x|`` without ``bounds`` the screen measures ``||y||`` by the
quadrature instead; ``f`` without a bound has no bound screen. The lag's reference is an
earlier full check or an iterate of a leading block (the first clean one of
``k - d, ..., k - d - 3``), reused while it is within ``max(2, k // 128)`` steps of
``k - d`` (an older one inflates the lagged change and delays the stop); a clean check
whose bound exceeds the tolerance cannot hit and skips the lag (computed only if the
budget ends there, when a spoilt last step also tries the one or two before it).

Checks run every step from ``k = 10`` (1 with ``bounds``), then every
``max(k // 32, 8 k / n)`` steps (overshoot below 4% for ``n >= 256``); a spoilt check,
and a first hit, are checked again at the next step; further spoilt checks in a row,
while no clean estimate is within 100x the tolerance, at least ``k // 16`` apart (each
costs a guard screen and none can stop). While no stop is possible (a
screened or spoilt check, a bound above the screen) the next check waits half the steps
the trend of the last two bounds predicts they need to reach the screen (at most
``k // 8``); after a clean miss it comes where the estimate's geometric trend meets the
tolerance, if sooner; and once a clean estimate is within 100x the tolerance, at most
``max(1, k // 128)`` steps later (near the stop a flat trend, or spoilt steps, would
otherwise push the next check a whole cadence away) -- except after a miss of the
lagged change: against the same reference the lag measures the same error (that of
``y_j``), so the next check comes where the estimate's trend meets the tolerance, and
never before the lag must take a newer reference
(:func:`renewal`). Measured against checking every
step fully (``tests/matfun/test_lanczos_schedule.py``): within 1.1% on dense cases with
``n = 400..2000``.

**Measured cost** (dense ``n = 1000``, ``kappa = 100``, 632 steps, one BLAS thread,
``benchmarks/bench_lanczos.py``): about 45 ms of checks over a 0.19 s bare run (64 ms
before the lag screen and the measured sizes) -- 2 full checks (630 and 632, 7.5-9.5
ms each, 630 with the probe's work) and 1 lag reference (591, ~5 ms), all three
mostly the Ritz values (LAPACK ``sterf``, 4.3-4.9 ms each at ``k >= 585``); one
lag-screened check (624, ~3 ms: its quadrature iterate and the reference 585's, guard
screens and bound estimate; it replaced a full check and a full reference, ~15 ms);
73 spoilt guard screens (13 ms; 0.4-0.6 ms at ``k = 600``: a Sturm count extended from
the last screen's, two bisections to the radii's rounding floor, inverse iteration)
and 8 screens by the bound estimate or a measured size (~1 ms each). The Ritz values
cannot be dropped from a full check: besides the bound (which needs only determinants
of ``T_k - it``) the guard's end entries take the product of all ``|theta_j -
theta_i|`` for the ~60 pairs within ``beta_k`` of 0, whose values by bisection cost 9
ms against 4.8 ms for all of them.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from array_api_compat import device as array_device

from ._backend import is_complex, namespace
from ._lanczos import LanczosProcess
from ._lanczos_checks import Check, Stopping, reuse_start
from ._validation import check_real, positive_integer

__all__ = ["Cadence", "assemble", "check_bounds", "check_budget", "check_ritz_values",
           "choose_memory", "crossing", "extremes", "halfway", "relative_target", "renewal",
           "spacing"]

_EVERY_STEP_UNTIL = 32
# Once a clean check's estimate is within this factor of the tolerance, checks come at
# least every k // _NEAR_DIVISOR steps (a trend through two nearly equal estimates
# predicts no crossing, and spoilt steps near the stop must not push it a cadence away).
_NEAR_FACTOR = 100.0
_NEAR_DIVISOR = 128
# Spoilt checks in a row far from a stop come at least every k // _SPOILT_DIVISOR steps.
_SPOILT_DIVISOR = 16


def spacing(steps: int, size: int) -> int:
    """Steps to the next check: ``k // 32`` (overshoot below 4%), and at least ``8 k / n``.

    The second keeps the ``O(k^2)`` checks a fraction of the ``O(k n)`` steps on small
    operators.
    """
    return max(1, steps // _EVERY_STEP_UNTIL, (8 * steps) // size)


def relative_target(check: Check | np.ndarray, rtol: float, atol: float,
                    process: LanczosProcess, function: Any) -> float:
    """The relative tolerance ``rtol + atol / ||x||`` at this check (``||x||`` unscaled).

    ``check`` may also be the coefficients of an iterate.
    """
    coefficients = check if isinstance(check, np.ndarray) else check.coefficients
    if atol == 0 or coefficients is None:
        return rtol
    size = float(np.linalg.norm(coefficients))
    if size == 0:
        return rtol
    # ||x|| = d s^p ||y||, in logarithms (it may be out of range while x is not).
    log_size = (math.log(size) if size > 0 else -math.inf) + math.log(process.start_scale) + (
        function.degree * math.log(process.scale) if function.degree is not None
        else math.log(process.value_unit or 1.0))
    return rtol + math.exp(min(700.0, math.log(atol) - log_size))


def check_ritz_values(check: Check, bounds: tuple[float, float] | None,
                      process: LanczosProcess) -> None:
    """Raise ``ValueError`` when a Ritz value proves the user's ``b`` too small."""
    if bounds is None:
        return
    largest = float(np.max(np.abs(check.ritz))) * process.scale
    if largest > bounds[1] * (1 + 10 * check.steps * process.eps):
        raise ValueError(f"bounds = {bounds} is wrong: H has a Ritz value of magnitude "
                         f"{largest:.6g} > b (Ritz values lie within the spectrum)")


def extremes(check: Check, scale: float) -> tuple[float, float]:
    """``min |theta|`` and ``max |theta|`` of ``H`` (not ``H / s``)."""
    magnitudes = np.abs(check.ritz)
    return float(np.min(magnitudes)) * scale, float(np.max(magnitudes)) * scale


def assemble(xp: Any, process: Any, coefficients: np.ndarray, g: Any,
              function: Any) -> Any:
    """``x = d s^p Q_k y`` (or ``d w Q_k y``): the factor applied in two halves."""
    # Zero-padded on the host to the process' buffer length (fixed shapes on JAX).
    padded = np.zeros(process.weight_length(coefficients.shape[0]), dtype=coefficients.dtype)
    padded[: coefficients.shape[0]] = coefficients
    weights = xp.asarray(padded, dtype=g.dtype, device=array_device(g))
    x = process.combination(weights)
    exponent = math.frexp(process.start_scale)[1] - 1
    factor = 1.0
    if function.degree is not None:
        power = function.degree * (math.frexp(process.scale)[1] - 1)
        exponent += math.floor(power)
        factor = 2.0 ** (power - math.floor(power))
    else:  # f's values were divided by a power of two (matfun._lanczos_values)
        exponent += math.frexp(process.value_unit or 1.0)[1] - 1
    half = exponent // 2
    if factor != 1.0:
        x = x * factor
    with warnings.catch_warnings():  # an overflow is reported by the caller's check
        warnings.simplefilter("ignore", RuntimeWarning)
        return (x * math.ldexp(1.0, half)) * math.ldexp(1.0, exponent - half)


def check_bounds(bounds: Any, function: Any) -> tuple[float, float] | None:
    if bounds is None:
        return None
    if not isinstance(bounds, tuple | list) or len(bounds) != 2:
        raise ValueError(f"bounds must be a pair (a, b) with 0 < a <= b, got {bounds!r}")
    a, b = check_real(bounds[0], "bounds[0]"), check_real(bounds[1], "bounds[1]")
    if not 0 < a <= b:
        raise ValueError(f"bounds must be a pair (a, b) with 0 < a <= b, got {bounds!r}")
    if function.bound is None:
        raise ValueError(f"bounds give a guaranteed error bound only for 'inv', 'inv_abs', "
                         f"'inv_sqrt_abs' and ('abs_power', alpha) with 0 < alpha < 2; "
                         f"f = {function.name} has none")
    return a, b


def check_budget(max_matvecs: int | None, size: int) -> int:
    if max_matvecs is None:
        return size
    return positive_integer(max_matvecs, "max_matvecs")


# Vectors besides the basis: the full mode's working vectors (the product, the start,
# the result and a temporary of the reorthogonalisation), the low mode's all of them
# (q_{j-1}, q_j, the product, the start, the result and a temporary).
_FULL_EXTRA_VECTORS = 4
_LOW_VECTORS = 6


def choose_memory(memory: Any, max_memory: Any, steps: int, size: int, g: Any) -> str:
    """``"full"`` or ``"low"``: ``memory`` checked, ``"auto"`` decided under ``max_memory``.

    ``"full"`` keeps ``steps + 1`` basis vectors and :data:`_FULL_EXTRA_VECTORS` more,
    ``"low"`` :data:`_LOW_VECTORS`, each ``size`` entries of ``g``'s dtype.
    """
    if memory not in ("full", "low", "auto"):
        raise ValueError(f"memory must be 'full', 'low' or 'auto', got {memory!r}")
    if memory != "auto":
        if max_memory is not None:
            raise ValueError("max_memory is used by memory='auto' only; got memory="
                             f"{memory!r}")
        return memory
    if max_memory is None:
        raise ValueError("memory='auto' needs max_memory (bytes the vectors may take)")
    budget = check_real(max_memory, "max_memory")
    if not budget > 0:
        raise ValueError(f"max_memory must be a positive number of bytes, got {max_memory!r}")
    xp = namespace(g)
    entry = size * xp.finfo(g.dtype).bits // 8 * (2 if is_complex(xp, g) else 1)
    if (steps + 1 + _FULL_EXTRA_VECTORS) * entry <= budget:
        return "full"
    if _LOW_VECTORS * entry <= budget:
        return "low"
    raise ValueError(f"max_memory = {max_memory:.4g} bytes is below even memory='low' "
                     f"({_LOW_VECTORS} vectors of {size} x {g.dtype}: {_LOW_VECTORS * entry}"
                     " bytes)")


def halfway(earlier: tuple[int, float], later: tuple[int, float], limit: float,
            now: int) -> int:
    """Half the steps the bound's geometric rate needs to reach ``limit``, from ``now``.

    ``earlier`` and ``later`` are ``(steps, bound)`` of two checks; 0 when the bound
    does not decrease; at most ``now // 8`` (a bound can drop faster later, when a Ritz
    value settles: waiting half the prediction keeps the overshoot small).
    """
    (k0, b0), (k1, b1) = earlier, later
    if not (k1 > k0 and 0 < b1 < b0 and math.isfinite(b0)):
        return 0
    rate = math.log(b0 / b1) / (k1 - k0)
    needed = math.log(b1 / limit) / rate if b1 > limit else 0.0
    return int(max(0.0, min(needed / 2 - (now - k1), now // 8)))


def crossing(earlier: tuple[int, float], later: tuple[int, float], value: float,
             limit: float) -> int | None:
    """Steps until ``value`` (now) reaches ``limit`` at the geometric rate of two points.

    ``earlier`` and ``later`` are ``(steps, estimate)``; ``None`` when they do not show
    a decrease (no rate to extrapolate).
    """
    (k0, e0), (k1, e1) = earlier, later
    if not (k1 > k0 and 0 < e1 < e0 and math.isfinite(e0)) or not 0 < limit < value < math.inf:
        return None
    rate = math.log(e0 / e1) / (k1 - k0)
    return math.ceil(math.log(value / limit) / rate)


def renewal(reference: int, steps: int) -> int:
    """The first step after ``steps`` whose lag can no longer reuse ``reference``.

    The lag of step ``k`` reuses a reference ``j >= reuse_start(k)`` (and ``j <= k -
    max(1, k // 16)``; :meth:`~matfun._lanczos_checks.Stopping._lagged_change`).
    """
    k = steps + 1
    while reuse_start(k) <= reference:
        k += 1
    return k


class Cadence:
    """When the next check of a run comes, and how much of it to compute first.

    Every decision depends on ``k``, ``n`` and the checks' values only (deterministic).

    * A spoilt check (or one screened out by its guard) is retried at the next step
      (spikes often alternate with clean steps); a second one in a row falls back to
      the cadence, spaced at least ``k // 16`` while no clean estimate is within 100x
      the tolerance. A first hit is confirmed at the next step.
    * After a clean miss of the lagged change, the next check uses a newer reference
      (:func:`renewal`) and comes where the estimate's
      trend meets the tolerance (not capped at ``k // 128``). A check the lag screen
      screened out counts as such a miss, its estimate ``max(lag, bound estimate)``
      (not recorded by :class:`~matfun._lanczos_checks.Stopping`: a later hit's
      growth test compares with the last full check's).
    * Otherwise every :func:`spacing` steps, pushed back while no stop is possible (a
      screened or spoilt check, or a bound above the screen) by half the steps the
      trend of the last two known bounds needs to meet the screen (:func:`halfway`),
      pulled in after a clean miss to where the estimate's geometric trend (else the
      bound's) meets the tolerance (:func:`crossing`).
    * The Ritz-value screen is skipped after a full check whose bound already passed
      it (the guard screen still runs).
    """

    def __init__(self, stopping: Stopping, size: int) -> None:
        self.stopping = stopping
        self.size = size
        self.spoilt = 0
        self.previous: Check | None = None  # the last check not spoilt
        self.bounds: list[tuple[int, float]] = []  # (steps, bound) of checks not spoilt

    def screen(self, tol: float, steps: int, measure: bool = False
               ) -> tuple[float, float, float] | None:
        """The ``screen`` argument of :func:`~matfun._lanczos_checks.evaluate`."""
        screen = self.stopping.screen(tol, steps, measure)
        last = self.previous
        if screen is not None and last is not None and (
                not last.screened or last.lag is not None) and last.bound <= screen[1]:
            return screen[0], math.inf, screen[2]
        return screen

    def wait(self, latest: Check, tol: float) -> int:
        """Steps from ``latest`` (not a stop) to the next check."""
        stopping = self.stopping
        # A check the lag probe screened out counts as a clean miss of the lag, its
        # estimate max(lag, bound estimate) (matfun._lanczos_probe).
        probed = latest.lag is not None
        clean = stopping.is_clean(latest, tol) or probed
        estimate = max(latest.lag[0], latest.bound if math.isfinite(latest.bound) else 0.0) \
            if probed else (stopping.estimates[-1] if stopping.estimates else None)
        self.spoilt = 0 if (latest.screened and not latest.spoilt) or clean else \
            self.spoilt + 1
        retry = self.spoilt == 1 or stopping.hits > 0
        step = 1 if retry else spacing(latest.steps, self.size)
        previous = self.previous
        if not latest.spoilt and math.isfinite(latest.bound) and latest.bound > 0:
            self.bounds.append((latest.steps, latest.bound))
        screen = stopping.screen(tol, 0)
        limit = screen[1] if screen is not None and math.isfinite(screen[1]) else tol
        far = (latest.screened and not probed) or (
            math.isfinite(latest.bound) and latest.bound > limit)
        if not retry and far and len(self.bounds) > 1:
            # Nothing can stop before the bound meets the screen: wait half the steps
            # its trend predicts (a spoilt check has no bound: the last two known).
            step = max(step, halfway(self.bounds[-2], self.bounds[-1], limit, latest.steps))
        near = estimate is not None and estimate <= _NEAR_FACTOR * tol
        if not retry and self.spoilt > 1 and not near:
            # A run of spoilt checks far from a stop (no clean estimate near the
            # tolerance): each costs a guard screen and none can stop; spaced wider.
            step = max(step, latest.steps // _SPOILT_DIVISOR)
        lag = stopping.lag
        # The lagged change is what missed: against the same reference it measures the
        # same error (that of y_j), so the next check waits for a newer reference.
        lagging = not retry and clean and lag is not None and lag[0] == latest.steps and \
            lag[1] > tol
        wait = None
        if not (not retry and far and len(self.bounds) > 1) and not retry and clean and (
                probed or (stopping.clean and stopping.clean[-1] is latest)):
            before = len(stopping.clean) - (1 if probed else 2)  # the clean check before
            if before >= 0:
                wait = crossing((stopping.clean[before].steps, stopping.estimates[before]),
                                (latest.steps, estimate), estimate, tol)
            if wait is None and previous is not None:
                wait = crossing((previous.steps, previous.bound),
                                (latest.steps, latest.bound), estimate, tol)
            step = min(step, max(1, wait or step))
        if near and not (
                lagging and wait is not None):
            step = min(step, max(1, latest.steps // _NEAR_DIVISOR))
        if lagging:
            step = max(step, renewal(lag[2], latest.steps) - latest.steps)
        if not latest.spoilt:
            self.previous = latest
        return step

r"""One check of a Lanczos ``f(H) g`` run: ``f(T_k) e_1``, its guard and its error estimate.

Everything here runs on the host on the ``k x k`` tridiagonal matrix of the *scaled*
process (``H / s``, start vector of norm ``unit_norm``), so no value squares a user
magnitude. The stopping rules are documented in :mod:`matfun.lanczos`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._lanczos import LanczosProcess
from ._lanczos_bounds import inverse_bound, stieltjes_bound
from ._lanczos_fast import inv_abs_bound_estimate, inv_abs_pieces
from ._lanczos_guard import _near_poles, leading_block
from ._lanczos_probe import provisional_iterate
from ._lanczos_values import ritz_values_of

# Heuristic rule (no spectral bounds): no stop before this many steps, two consecutive
# hits, and the smallest |Ritz value| settled to this relative change over the lag.
MIN_STEPS = 10
CONSECUTIVE = 2
SETTLED = 0.1
_GROWTH = 1.5
_LAG_DIVISOR = 16
_FRESH_DIVISOR = 128
_REFERENCE_TRIES = 3
# A screened check (Ritz values only) skips the eigenvectors while its bound exceeds the
# tolerance by this factor (the size ||y|| it uses is the previous full check's, at most
# k / 2 steps old). A stop needs bound <= tol under both rules (the heuristic estimate is
# at least the bound), so the factor only covers the growth of ||y|| since that check.
_SCREEN_FACTOR = 2.0
# The O(k) estimate of the 1/|x| bound (matfun._lanczos_fast) screens a check out only
# above this multiple of the limit (measured 0.5% to 2% below the bound it estimates).
_ESTIMATE_MARGIN = 1.1


@dataclass(frozen=True)
class Check:
    """The iterate after ``steps`` steps, in the basis: ``x = factor * Q_k coefficients``.

    A *screened* check (``coefficients is None`` and ``screened``) computed no
    eigenvectors: its bound (relative to the previous full check's ``||y||``) was too
    large to stop, or (``spoilt``) the Ritz pairs near a pole already weigh too much.
    """

    steps: int
    coefficients: np.ndarray | None
    guard: float
    ritz: np.ndarray  # Ritz values of H / s (a screened check: those it computed)
    reliable_min: float  # smallest |theta| among pairs whose interval avoids the poles
    bound: float  # relative error bound or bound-type estimate (inf if none)
    screened: bool = False
    spoilt: bool = False
    # A check screened out by its lag (matfun._lanczos_probe): (lagged change, j).
    lag: tuple[float, int] | None = None
    size: float | None = None  # ||coefficients|| measured by a screen by quadrature


def evaluate(process: LanczosProcess, function: Any, bounds: tuple[float, float] | None,
             homogeneous: bool, screen: tuple[float, float, float] | None = None,
             steps: int | None = None, fast: float = 0.0, bound: bool = True,
             probe: Callable[[int, np.ndarray], tuple[float, int] | None] | None = None,
             iterate: np.ndarray | None = None) -> Check:
    """``f(T_j) e_1`` in the scaled frame, its Ritz guard and its bound (estimate).

    ``steps = j``: the iterate of an earlier step (``T_j`` is the leading block of
    ``T_k``: no matvec), default the current one. ``screen = (size, limit, guard)``:
    before the eigenvectors, (1) the Ritz pairs within ``beta_j`` of a pole alone
    (bisection and inverse iteration, ``O(j)`` each): if their weight relative to
    ``size`` (the previous ``||y||``) exceeds ``guard`` the check is spoilt; (2) the
    Ritz values alone and the bound relative to ``size``: above ``limit`` no stop is
    possible yet. Either way a screened check is returned. ``fast > 0`` (``f = 1/|x|``
    only): a full check without eigenvectors where it applies, with a quadrature error
    of ``y`` at most ``fast`` relative (:mod:`matfun._lanczos_fast`). ``bound=False``
    (a lag reference, whose bound nothing reads): an unscreened check's bound is left
    infinite instead of computed (``O(N k)``). ``probe(j, coefficients)`` (``1/|x|``
    without bounds, a screened check): after the guard screen and a bound estimate at
    most the tolerance over 1.1, the lagged change of the iterate by quadrature
    (:mod:`matfun._lanczos_probe`); a ``(lag, j)`` it returns screens the check out.
    ``iterate``: that provisional ``y`` (unit start) already computed for step ``j``,
    reused by the ``1/|x|`` full check.
    """
    j = process.steps if steps is None else steps
    breakdown = process.breakdown and j == process.steps
    residual = 0.0 if breakdown else process.betas[j - 1]
    alphas, betas = leading_block(process, j)
    theta, absolute, near, provisional = None, None, np.zeros(0), iterate
    measured = None  # ||y|| measured here (a NaN size in screen)
    if screen is not None and j > 1 and not breakdown:
        size, limit, guard = screen
        if function.poles and math.isfinite(guard):
            near, spurious = _near_poles(alphas, betas, residual, function, process,
                                         homogeneous)
            if math.isnan(size) and fast > 0:
                provisional = provisional_iterate(alphas, betas, near, process.eps, fast)
                if provisional is not None:
                    measured = size = process.unit_norm * float(np.linalg.norm(provisional))
            if math.isnan(size):
                screen = None  # no size to screen with: the full check
            elif not spurious / size <= guard:
                return Check(j, None, math.inf, near, 0.0, math.inf, True, True,
                             size=measured)
    if screen is not None and j > 1 and not breakdown:
        estimated = math.inf  # the bound's O(k) estimate, relative to size
        if math.isfinite(limit) and fast > 0 and near.size:
            # 1/|x|: the bound's estimate in O(k) first, with a margin over its error.
            estimate = inv_abs_bound_estimate(alphas, betas, residual,
                                              float(np.min(np.abs(near))))
            if estimate is not None:
                estimated = estimate * process.unit_norm / size
                if estimated > _ESTIMATE_MARGIN * limit:
                    return Check(j, None, math.inf, near, 0.0, estimated, True,
                                 size=measured)
        if probe is not None and fast > 0 and (
                math.isinf(limit) or _ESTIMATE_MARGIN * estimated <= guard):
            # The bound passes: the lagged change, from cheap iterates, may rule out a hit.
            if provisional is None:
                provisional = provisional_iterate(alphas, betas, near, process.eps, fast)
            found = None if provisional is None else probe(
                j, process.unit_norm * provisional)
            if found is not None:
                return Check(j, None, math.inf, near, 0.0, estimated, True, lag=found,
                             size=measured)
        if math.isfinite(limit):
            import scipy.linalg  # lazy: SciPy submodules are slow to import
            theta = scipy.linalg.eigvalsh_tridiagonal(alphas, betas)
            absolute = _absolute_bound(function, theta, process, bounds, j)
            if absolute / size > limit:
                return Check(j, None, math.inf, theta, 0.0, absolute / size, True,
                             size=measured)
    pieces = inv_abs_pieces(alphas, betas, residual, theta, lambda theta: _floor(
        process, j, theta), function, fast, provisional) \
        if fast > 0 and j > 1 and not breakdown else None
    if pieces is not None:
        y, theta, spurious, reliable_min = pieces
        coefficients = process.unit_norm * y
        size = float(np.linalg.norm(coefficients))
        if absolute is None:  # else the bound screen's, on the same Ritz values
            absolute = _absolute_bound(function, theta, process, bounds, j) if bound \
                else math.inf
        return Check(j, coefficients, process.unit_norm * spurious / size, theta,
                     reliable_min, absolute / size)
    theta, vectors = _tridiagonal_eigh(alphas, betas)
    s = process.scale
    values = ritz_values_of(function, theta, process, homogeneous)
    if values.shape != theta.shape:
        raise ValueError(f"f must map an array of Ritz values to an array of the same shape; "
                         f"got shape {values.shape} for {theta.shape}")
    weights = values * vectors[0]
    finite = np.isfinite(weights)
    # Residuals of the Ritz pairs (0 after a breakdown, but never below rounding).
    floor = _floor(process, j, theta)
    radius = np.maximum(residual * np.abs(vectors[-1]), floor)
    unreliable = ~finite
    for pole in function.poles:
        unreliable |= np.abs(theta - (pole if homogeneous else pole / s)) <= radius
    reliable = np.abs(theta[~unreliable])
    reliable_min = float(np.min(reliable)) if reliable.size else 0.0
    if not np.all(finite):
        return Check(j, None, math.inf, theta, reliable_min, math.inf)
    coefficients = process.unit_norm * (vectors @ weights)
    size = float(np.linalg.norm(coefficients))
    spurious = process.unit_norm * float(np.linalg.norm(weights[unreliable]))
    guard = spurious / size if size > 0 else (0.0 if spurious == 0 else math.inf)
    estimate = 0.0 if breakdown else (
        _absolute_bound(function, theta, process, bounds, j) / size if size > 0 and bound
        else math.inf)
    return Check(j, coefficients, guard, theta, reliable_min, estimate)


def _floor(process: LanczosProcess, j: int, theta: np.ndarray) -> float:
    """Rounding floor of the Ritz residuals: ``10 j eps max(1, max |theta|)``."""
    return 10 * j * process.eps * max(1.0, float(np.max(np.abs(theta))))


def _absolute_bound(function: Any, theta: np.ndarray, process: LanczosProcess,
                    bounds: tuple[float, float] | None, j: int) -> float:
    """``||g|| beta_k (...)`` of :mod:`matfun._lanczos_bounds` in the scaled frame (or inf).

    With ``bounds`` it bounds the error; without, the Ritz values stand in for them:
    ``a = min |theta|``, ``b = max |theta| + beta_k`` (every Ritz residual is at most
    ``beta_k``) -- a heuristic estimate.
    """
    if function.bound is None:
        return math.inf
    magnitudes = np.abs(theta)
    if bounds is not None:
        a, b = bounds[0] / process.scale, bounds[1] / process.scale
    else:
        a, b = float(np.min(magnitudes)), float(np.max(magnitudes)) + process.betas[j - 1]
        if a == 0:
            return math.inf
    with np.errstate(divide="ignore"):
        log_betas = float(np.sum(np.log(leading_block(process, j + 1)[1])))  # beta_1..k
    kind = function.bound
    if kind[0] == "inverse":
        value = inverse_bound(theta, log_betas, a)
    else:
        value = stieltjes_bound(theta, log_betas, a, b, (kind[1], kind[2]))
    return process.unit_norm * value


def _tridiagonal_eigh(alphas: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if alphas.size == 1:
        return alphas.copy(), np.ones((1, 1))
    try:
        import scipy.linalg  # lazy: SciPy submodules are slow to import
        return scipy.linalg.eigh_tridiagonal(alphas, betas)
    except np.linalg.LinAlgError:  # rare LAPACK stemr failure: dense fallback
        matrix = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
        return np.linalg.eigh(matrix)


class Stopping:
    """The stopping rule: a guaranteed bound when ``bounded``, else the heuristic."""

    def __init__(self, bounded: bool, screened: bool = True) -> None:
        self.bounded = bounded
        self.screened = screened  # False: f has no bound, a screen could never pass
        self.references: dict[int, Check] = {}  # lag references from leading blocks
        self.probes: dict[int, Any] = {}  # the lag screen's references (_lanczos_probe)
        self.partial: set[int] = set()  # steps of clean checks recorded without the lag
        self._earlier: Callable[..., Check] | None = None
        self.clean: list[Check] = []
        self.estimates: list[float] = []
        self.hits = 0
        self.stopped = False
        self.sizes: list[tuple[int, float]] = []
        self.lag: tuple[int, float, int] | None = None  # (k, lagged change, j) of the last

    @staticmethod
    def is_clean(check: Check, tol: float) -> bool:
        """Finite, and the unreliable Ritz pairs weigh at most ``tol``."""
        return check.coefficients is not None and check.guard <= tol

    def screen(self, tol: float, steps: int, measure: bool = False
               ) -> tuple[float, float, float] | None:
        """``(size, limit, guard)`` for :func:`evaluate`: the last known ``||y||``, margins.

        ``None`` (a full check) when the last size is older than ``steps / 2``: ``||y||``
        grows as the Krylov space finds small eigenvalues, and a stale size would keep
        screening out checks that could stop -- or, with ``measure`` (``1/|x|``
        without bounds), a NaN size: the screen measures ``||y||`` by quadrature
        (:mod:`matfun._lanczos_probe`). ``limit`` is infinite when ``f`` has no bound;
        ``guard`` is infinite with spectral bounds (a bounded stop does not look at
        the guard).
        """
        if not self.sizes or self.sizes[-1][0] < steps // 2:
            if not (measure and self.screened and not self.bounded):
                return None
            return math.nan, tol * _SCREEN_FACTOR, tol
        limit = tol * _SCREEN_FACTOR if self.screened else math.inf
        guard = math.inf if self.bounded else tol
        if math.isinf(limit) and math.isinf(guard):
            return None
        return self.sizes[-1][1], limit, guard

    def reference_screen(self, tol: float) -> tuple[float, float, float] | None:
        """The guard part of :meth:`screen` alone (a lag reference needs no bound)."""
        if self.bounded or not self.sizes:
            return None
        return self.sizes[-1][1], math.inf, tol

    def update(self, check: Check, tol: float, earlier: Callable[..., Check]) -> bool:
        """Record ``check`` (its relative target ``tol``); True when the run may stop.

        ``earlier(j)`` evaluates the iterate of step ``j`` (the lag's reference).
        """
        if check.size is not None:  # measured by the screen (a full check: its own)
            self.sizes.append((check.steps, check.size))
        if check.screened:
            if check.lag is not None:  # a miss of the lag, from the probe: as a clean miss
                self.lag = (check.steps, *check.lag)
                self.hits = 0
            return False
        if check.coefficients is not None:
            self.sizes.append((check.steps, float(np.linalg.norm(check.coefficients))))
        if self.bounded:
            if check.coefficients is None:
                return False
            self.clean.append(check)
            self.estimates.append(check.bound)
            self.stopped = check.bound <= tol
            return self.stopped
        if not self.is_clean(check, tol):
            return False
        self._earlier = earlier
        if math.isfinite(check.bound) and check.bound > tol:
            # No hit is possible (the estimate is at least the bound): the lag, and the
            # reference it may need, are left out and the bound recorded. A later hit
            # has estimate <= tol < this bound, so its growth test reads the same; the
            # lag is computed if this check is returned (:meth:`outcome`).
            self.clean.append(check)
            self.estimates.append(check.bound)
            self.partial.add(check.steps)
            self.hits, self.stopped = 0, False
            return False
        lagged, reference = self._lagged_change(check, earlier, tol)
        if reference is not None:
            self.lag = (check.steps, lagged, reference.steps)
        estimate = max(lagged, check.bound if math.isfinite(check.bound) else lagged)
        settled = reference is not None and _settled(check, reference)
        # A growing estimate means the Krylov space is still finding new content
        # (rounding-level wobble of a converged estimate is allowed).
        shrinking = not self.estimates or estimate <= _GROWTH * self.estimates[-1]
        self.clean.append(check)
        self.estimates.append(estimate)
        hit = estimate <= tol and settled and shrinking and check.steps >= MIN_STEPS
        self.hits = self.hits + 1 if hit else 0
        self.stopped = self.hits >= CONSECUTIVE
        return self.stopped

    def _lagged_change(self, check: Check, earlier: Callable[..., Check], tol: float
                       ) -> tuple[float, Check | None]:
        """``||y_k - y_j|| / ||y_k||`` against a clean ``y_j``, ``k - k//8 <= j <= k - d``.

        ``d = max(1, k // 16)``: the latest clean check or reference already computed in
        ``[k - d - max(2, k // 128), k - d]``, else the first clean iterate of steps
        ``k - d, k - d - 1, ..., k - d - 3`` (in the window), evaluated from the leading
        block of ``T_k`` and kept for later checks, else (all spoilt) that of ``k - d``.
        ``earlier(j, False)`` evaluates without the guard screen.
        """
        reference, candidates = self.lag_window(check.steps, tol)
        if not candidates:
            return math.inf, None
        if reference is None:
            # Clean references are sought down the window (a spoilt one costs only its
            # guard screen); if none of the first few is, the full iterate of k - d.
            for j in candidates:
                reference = self.references.get(j) or earlier(j)
                self.references[j] = reference
                if self.is_clean(reference, tol):
                    break
            else:
                reference = earlier(candidates[0], False)
        if reference.coefficients is None:
            return math.inf, reference
        difference = check.coefficients.copy()
        difference[: reference.steps] -= reference.coefficients
        size = float(np.linalg.norm(check.coefficients))
        change = float(np.linalg.norm(difference))
        return (change / size if size > 0 else (0.0 if change == 0 else math.inf)), reference

    def lag_window(self, steps: int, tol: float) -> tuple[Check | None, list[int]]:
        """The lag's reference of step ``k`` at hand (or None), and the steps to try.

        A clean check or reference in ``[k - d - max(2, k // 128), k - d]``; the steps
        ``k - d, ..., k - d - 3`` in the window (none when ``k - d < 1``).
        """
        target = steps - max(1, steps // _LAG_DIVISOR)
        if target < 1:
            return None, []
        oldest = steps - max(2, steps // (_LAG_DIVISOR // 2))
        # Reused only if recent: the lagged change is about the error of y_j, so an
        # older reference delays the stop.
        recent = reuse_start(steps)
        known = [c for c in self.clean if recent <= c.steps <= target] + [
            c for j, c in self.references.items() if recent <= j <= target and
            self.is_clean(c, tol)]
        return max(known, key=lambda c: c.steps, default=None), list(
            range(target, max(oldest, target - _REFERENCE_TRIES, 1) - 1, -1))

    def outcome(self, latest: Check, breakdown: bool, tol: float
                ) -> tuple[Check | None, str, float]:
        """``(returned check, status, relative error estimate)``."""
        if breakdown:
            # Exact up to rounding, unless f has a pole at one of the eigenvalues found.
            return (latest, "breakdown", 0.0) if self.is_clean(latest, tol) else (
                None, "breakdown", math.inf)
        if self.stopped:
            return self.clean[-1], "converged", self.estimates[-1]
        if not self.clean:
            # Budget spent before any clean iterate: return the last finite one, flagged
            # by an infinite error estimate.
            return (latest if latest.coefficients is not None else None), "max_matvecs", \
                math.inf
        best = int(np.argmin(self.estimates)) if self.bounded else len(self.clean) - 1
        chosen, estimate = self.clean[best], self.estimates[best]
        if chosen.steps in self.partial:
            lagged, _ = self._lagged_change(chosen, self._earlier, tol)
            estimate = max(lagged, estimate)
        return chosen, "max_matvecs", estimate


def reuse_start(k: int) -> int:
    """The oldest lag reference step ``k`` reuses: ``k - d - max(2, k // 128)``, in window."""
    return max(k - max(2, k // (_LAG_DIVISOR // 2)),
               k - max(1, k // _LAG_DIVISOR) - max(2, k // _FRESH_DIVISOR))


def _settled(check: Check, reference: Check) -> bool:
    """The smallest reliable |Ritz value| changed by at most ``SETTLED`` over the lag."""
    now, before = check.reliable_min, reference.reliable_min
    return now > 0 and abs(now - before) <= SETTLED * now

r"""One check of a Lanczos ``f(H) g`` run: ``f(T_k) e_1``, its guard and its error estimate.

Everything here runs on the host on the ``k x k`` tridiagonal matrix of the *scaled*
process (``H / s``, start vector of norm ``unit_norm``), so no value squares a user
magnitude. The stopping rules are documented in :mod:`matfun.lanczos`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from ._lanczos import LanczosProcess
from ._lanczos_bounds import inverse_bound, stieltjes_bound

# Heuristic rule (no spectral bounds): no stop before this many steps, two consecutive
# hits, and the smallest |Ritz value| settled to this relative change over the lag.
MIN_STEPS = 10
CONSECUTIVE = 2
SETTLED = 0.1
_LAG_DIVISOR = 16


@dataclass(frozen=True)
class Check:
    """The iterate after ``steps`` steps, in the basis: ``x = factor * Q_k coefficients``."""

    steps: int
    coefficients: np.ndarray | None
    guard: float
    ritz: np.ndarray  # Ritz values of H / s
    reliable_min: float  # smallest |theta| among pairs whose interval avoids the poles
    bound: float  # relative error bound or bound-type estimate (inf if none)


def evaluate(process: LanczosProcess, function: Any, bounds: tuple[float, float] | None,
             homogeneous: bool) -> Check:
    """``f(T_k) e_1`` in the scaled frame, its Ritz guard and its bound (estimate)."""
    alphas, betas = process.scaled_tridiagonal()
    theta, vectors = _tridiagonal_eigh(np.asarray(alphas), np.asarray(betas))
    s = process.scale
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        values = np.asarray(function.evaluate(theta if homogeneous else theta * s),
                            dtype=np.float64)
    if values.shape != theta.shape:
        raise ValueError(f"f must map an array of Ritz values to an array of the same shape; "
                         f"got shape {values.shape} for {theta.shape}")
    weights = values * vectors[0]
    finite = np.isfinite(weights)
    # Residuals of the Ritz pairs (0 after a breakdown, but never below rounding).
    floor = 10 * process.steps * process.eps * max(1.0, float(np.max(np.abs(theta))))
    radius = np.maximum(process.scaled_residual * np.abs(vectors[-1]), floor)
    unreliable = ~finite
    for pole in function.poles:
        unreliable |= np.abs(theta - (pole if homogeneous else pole / s)) <= radius
    reliable = np.abs(theta[~unreliable])
    reliable_min = float(np.min(reliable)) if reliable.size else 0.0
    if not np.all(finite):
        return Check(process.steps, None, math.inf, theta, reliable_min, math.inf)
    coefficients = process.unit_norm * (vectors @ weights)
    size = float(np.linalg.norm(coefficients))
    spurious = process.unit_norm * float(np.linalg.norm(weights[unreliable]))
    guard = spurious / size if size > 0 else (0.0 if spurious == 0 else math.inf)
    if bounds is not None:
        interval = (bounds[0] / s, bounds[1] / s)
    elif reliable_min > 0:
        # Heuristic stand-in for spectral bounds: the Ritz values themselves.
        interval = (reliable_min, float(np.max(np.abs(theta) + radius)))
    else:
        interval = None
    bound = math.inf
    if process.breakdown:
        bound = 0.0
    elif interval is not None and function.bound is not None and size > 0:
        bound = _bound(function.bound, theta, process, interval) * process.unit_norm / size
    return Check(process.steps, coefficients, guard, theta, reliable_min, bound)


def _bound(kind: tuple, theta: np.ndarray, process: LanczosProcess,
           interval: tuple[float, float]) -> float:
    with np.errstate(divide="ignore"):
        log_betas = float(np.sum(np.log(np.asarray(process.betas[: process.steps]))))
    a, b = interval
    if kind[0] == "inverse":
        return inverse_bound(theta, log_betas, a)
    return stieltjes_bound(theta, log_betas, a, b, (kind[1], kind[2]))


def _tridiagonal_eigh(alphas: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if alphas.size == 1:
        return alphas.copy(), np.ones((1, 1))
    try:
        return scipy.linalg.eigh_tridiagonal(alphas, betas)
    except np.linalg.LinAlgError:  # rare LAPACK stemr failure: dense fallback
        matrix = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
        return np.linalg.eigh(matrix)


class Stopping:
    """The stopping rule: a guaranteed bound when ``bounded``, else the heuristic."""

    def __init__(self, bounded: bool) -> None:
        self.bounded = bounded
        self.clean: list[Check] = []
        self.estimates: list[float] = []
        self.hits = 0
        self.stopped = False

    @staticmethod
    def is_clean(check: Check, tol: float) -> bool:
        """Finite, and the unreliable Ritz pairs weigh at most ``tol``."""
        return check.coefficients is not None and check.guard <= tol

    def update(self, check: Check, tol: float) -> bool:
        """Record ``check`` (its relative target ``tol``); True when the run may stop."""
        if self.bounded:
            if check.coefficients is None:
                return False
            self.clean.append(check)
            self.estimates.append(check.bound)
            self.stopped = check.bound <= tol
            return self.stopped
        if not self.is_clean(check, tol):
            return False
        lagged, reference = self._lagged_change(check)
        estimate = max(lagged, check.bound if math.isfinite(check.bound) else lagged)
        settled = reference is not None and _settled(check, reference)
        # A growing estimate means the Krylov space is still finding new content.
        shrinking = not self.estimates or estimate <= self.estimates[-1]
        self.clean.append(check)
        self.estimates.append(estimate)
        hit = estimate <= tol and settled and shrinking and check.steps >= MIN_STEPS
        self.hits = self.hits + 1 if hit else 0
        self.stopped = self.hits >= CONSECUTIVE
        return self.stopped

    def _lagged_change(self, check: Check) -> tuple[float, Check | None]:
        """``||y_k - y_j|| / ||y_k||`` for the latest clean check ``j <= k - d``."""
        target = check.steps - max(1, check.steps // _LAG_DIVISOR)
        reference = next((c for c in reversed(self.clean) if c.steps <= target), None)
        if reference is None:
            return math.inf, None
        difference = check.coefficients.copy()
        difference[: reference.steps] -= reference.coefficients
        size = float(np.linalg.norm(check.coefficients))
        change = float(np.linalg.norm(difference))
        return (change / size if size > 0 else (0.0 if change == 0 else math.inf)), reference

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
        return self.clean[best], "max_matvecs", self.estimates[best]


def _settled(check: Check, reference: Check) -> bool:
    """The smallest reliable |Ritz value| changed by at most ``SETTLED`` over the lag."""
    now, before = check.reliable_min, reference.reliable_min
    return now > 0 and abs(now - before) <= SETTLED * now

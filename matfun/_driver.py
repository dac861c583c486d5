r"""Running a series to a stopping rule, optionally through an accelerator.

The stopping rule (what ``converged`` means)
---------------------------------------------
Write the series as :math:`x = \pi \sum_k c_k Z^k g`, :math:`Z = I - A/V`, with
eigenvalues :math:`z_i` of ``Z`` in :math:`(-1, 1)`, and the term
:math:`a_k = \pi c_k p_k`, :math:`p_k = Z^k g`. Let :math:`\rho = \max |z_i|` over
the eigenvectors present in ``g`` and
:math:`\gamma_K = \max(1, \sup_{j \ge K} |c_{j+1}/c_j|)`. In the eigenbasis the tail
of each component is at most its last term times a geometric sum, so

.. math::

    \|x - s_K\| \le \|a_K\| \, \frac{\gamma_K \rho}{1 - \gamma_K \rho}
    \qquad (\gamma_K \rho < 1). \tag{T}

This is a proven bound, but :math:`\rho` (about :math:`1 - \lambda_{\min}(A)/V`) is
not known. The squared norms :math:`\|p_k\|^2 = \sum_i |g_i|^2 z_i^{2k}` form a
moment sequence, so the ratios :math:`\|p_k\| / \|p_{k-1}\|` never decrease and
converge to :math:`\rho`: their maximum so far, :math:`\hat\rho_K`, is the best
lower estimate of :math:`\rho` the terms can give, and it uses no coefficient (a
slowly decaying coefficient, :math:`c_k(1/2) \sim k^{-1/2}`, cannot pass for a fast
mode). The estimate is (T) with :math:`\hat\rho_K` for :math:`\rho`, plus a rounding
floor :math:`\epsilon \sqrt{K+1} \sum_{k \le K} \|a_k\|` (a random-walk model of the
roundings of ``K + 1`` additions; ``eps`` of the working dtype). It is an upper bound
on the error of :math:`s_K` whenever :math:`\hat\rho_K = \rho`, i.e. once the slowest
mode present in ``g`` dominates :math:`p_K`; a mode hidden below the faster ones
(weight below :math:`\|p_K\|`) can make it an underestimate, by at most that mode's
share of the answer. No rule built from matvecs can do better: certifying an error
needs a lower bound on :math:`\lambda_{\min}(A)`, which matvecs cannot give. So the
rule also waits until the coefficient-free terms have decayed,
:math:`\|p_K\| \le \sqrt{\epsilon}\, \tau \|g\|` with
:math:`\tau = (atol + rtol \|s_K\|)/\|s_K\|`: a component of ``g`` still hidden
then has weight at most :math:`\sqrt\epsilon \tau \|g\|`, and changes the answer by
at most :math:`\sqrt\epsilon\, \tau\, \kappa \|x\|` (``kappa`` the condition number
of ``H`` for the saddle-free and Neumann series, :math:`\kappa(A)^{|p|}` for
:math:`A^p`): below the tolerance for :math:`\kappa < 1/\sqrt\epsilon` (``6.7e7`` in
float64), below :math:`\kappa \epsilon` (the conditioning floor) beyond. It never
fires before :data:`_MIN_TERMS` terms (since the last restart) either.

With an accelerator the estimate :math:`\hat x_K` is *confirmed* through the same
bound: by the triangle inequality :math:`\|\hat x_K - x\| \le \|\hat x_K - s_K\| +
\|s_K - x\|`, so :math:`\hat x_K` is reported converged when
:math:`\|\hat x_K - s_K\| + E_K \le atol + rtol \|\hat x_K\|` (``E_K`` the estimate
above). The accelerator's own error estimate (the difference of its last two
estimates) is never trusted: it is small whenever the transform stagnates. When the
plain partial sum meets the tolerance and the accelerated one does not, the
partial sum is returned (``info.accelerated`` is False).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import warnings
from collections.abc import Callable
from typing import Any

import accel

from ._backend import all_finite, namespace, norm, settle, to_float
from ._engine import PartialSum, SeriesInfo, SeriesSpec, iterate_partial_sums
from ._validation import check_tolerances, positive_integer
from .errors import SeriesConvergenceWarning, SeriesRangeError
from .scaling import ScaleRule

__all__ = ["run_series", "check_stopping", "Stopping"]

# Terms (since the last restart) before the stopping rule may fire: a slow mode
# hidden under faster ones shows in the ratios of ||p_k|| once the fast ones decay.
_MIN_TERMS = 20


@dataclasses.dataclass(frozen=True)
class Stopping:
    """Checked stopping options: ``limit`` terms; tolerance active iff ``rtol`` is not None."""

    limit: int
    rtol: float | None
    atol: float
    fixed_terms: bool


def check_stopping(terms: Any, rtol: Any, atol: Any, max_terms: Any, dtype_eps: float
                   ) -> Stopping:
    """Validate ``terms``, ``rtol``, ``atol``, ``max_terms`` before any matvec.

    With neither ``terms`` nor ``rtol`` (nor a positive ``atol``) the tolerance is
    ``rtol = sqrt(eps)`` of the working dtype; with ``terms`` alone there is none.
    """
    if terms is not None:
        terms = positive_integer(terms, "terms")
    max_terms = positive_integer(max_terms, "max_terms")
    atol_value = 0.0 if atol is None else atol
    active = terms is None or rtol is not None or atol_value != 0
    if not active:
        check_tolerances(math.sqrt(dtype_eps), atol_value, eps=dtype_eps)  # atol's type
        return Stopping(terms, None, 0.0, True)
    default = math.sqrt(dtype_eps) if terms is None else 0.0
    if rtol is None and default == 0.0:
        rtol = 0.0
    rtol, atol_value = check_tolerances(rtol, atol_value, eps=dtype_eps, default_rtol=default)
    return Stopping(max_terms if terms is None else terms, rtol, atol_value, terms is not None)


def run_series(
    spec: SeriesSpec,
    g: Any,
    rule: ScaleRule,
    stopping: Stopping,
    *,
    accelerate: Any,
    order: int,
    callback: Callable[[PartialSum], None] | None,
    matvecs_before: int,
    max_matvecs: int | None = None,
    output_unit: float = 1.0,
    scale_unit: float = 1.0,
    operator_unit: float = 1.0,
) -> tuple[Any, SeriesInfo]:
    """Sum ``spec`` applied to ``g`` until the stopping rule; return ``(x, info)``.

    ``g`` and the operator are already normalised (entries about 1); the result is
    ``output_unit`` times the normalised one, ``V`` in user units ``scale_unit``
    times the normalised one. ``max_matvecs`` caps every matvec of the call (scale
    estimates and restarts included): the sum stops before a term that could
    exceed it.
    """
    xp = namespace(g)
    eps = float(xp.finfo(g.dtype).eps)
    rtol, limit = stopping.rtol, stopping.limit
    # atol in the normalised units (inf when the answer is far below atol).
    atol = stopping.atol / output_unit if stopping.atol else 0.0
    if callback is not None:
        user_callback = callback
        callback = lambda step: user_callback(  # noqa: E731
            dataclasses.replace(step, value=step.value * output_unit,
                                term_norm=step.term_norm * output_unit,
                                scale=step.scale * scale_unit))
    accelerator = _make_accelerator(accelerate, order)
    tail = _TailBound(eps, g.shape[0])
    step = None
    stopped_by = "max_terms" if not stopping.fixed_terms else "terms"
    x = None
    # Only the latest partial sum is read when nothing keeps the earlier ones.
    overwrite = accelerator is None and callback is None
    for step in iterate_partial_sums(spec, g, rule, max_terms=limit, scale_unit=scale_unit,
                                     overwrite=overwrite):
        if step.restarted:
            tail = _TailBound(eps, g.shape[0])
            accelerator = _make_accelerator(accelerate, order)
        if callback is not None:
            callback(step)
        tail.push(step)
        if accelerator is not None:
            accelerator.push(step.value)
        if rtol is not None and (tail.terms >= _MIN_TERMS or tail.exact_tail):
            x = _check(xp, tail, step.value, accelerator, rtol, atol)
            if x is not None:
                stopped_by = "tol"
                break
        # A term costs at most two matvecs (restarts reuse A g).
        if max_matvecs is not None and spec.operator.matvecs - matvecs_before + 2 > max_matvecs:
            stopped_by = "max_matvecs"
            break
    if stopped_by not in ("tol", "max_matvecs") and step.index + 1 < limit:
        stopped_by = "exact"  # the engine stops early only on an exactly zero term
    if stopped_by == "exact":
        tail.estimate_norm = tail.record_sum(to_float(norm(xp, step.value)))
        x = (step.value, tail.bound(), False)  # exact up to rounding: no accelerator
    elif x is None:
        x = _final(xp, tail, step.value, accelerator)
    estimate, error, accelerated = x
    sum_norm = tail.sum_norm if tail.sum_norm is not None else to_float(norm(xp, step.value))
    accelerator_name = accelerator_status = None
    if accelerator is not None:
        accelerator_name = getattr(accelerator, "name", type(accelerator).__name__)
        accelerator_status = tail.accelerator_status
    x_norm = tail.estimate_norm
    info = SeriesInfo(
        terms=step.index + 1,
        matvecs=spec.operator.matvecs - matvecs_before,
        scale=step.scale * scale_unit,
        scale_strategy=rule.name,
        restarts=step.restarts,
        stopped_by=stopped_by,
        converged=stopped_by in ("tol", "exact"),
        diverged=False,
        relative_change=step.term_norm / sum_norm if sum_norm > 0 else math.inf,
        error_estimate=error / x_norm if x_norm > 0 else math.inf,
        accelerator=accelerator_name,
        accelerator_status=accelerator_status,
        accelerated=accelerated,
        normalised_scale=step.scale,
        operator_unit=operator_unit,
    )
    if rtol is not None and not info.converged:
        warnings.warn(
            f"{spec.name} stopped at {info.terms} terms ({stopped_by}) with estimated error "
            f"{info.error_estimate:.3g} (relative) above atol + rtol * ||x|| "
            f"(rtol = {rtol:.3g}, atol = {stopping.atol:.3g})",
            SeriesConvergenceWarning,
            stacklevel=4,
        )
    if output_unit != 1.0:
        _check_range(xp, spec.name, estimate, output_unit, info)
        estimate = estimate * output_unit
    return estimate, info


def _check_range(xp, name, estimate, unit, info):
    """The result in the caller's units (``estimate * unit``) must fit the dtype's normal range."""
    largest = to_float(xp.max(xp.abs(estimate))) * unit  # decision: over/underflow
    finfo = xp.finfo(estimate.dtype)
    if largest > float(finfo.max):
        raise SeriesRangeError(
            f"{name}: the result overflows {estimate.dtype} in the caller's units "
            f"(largest entry {largest:.3g})", info)
    if 0 < largest < float(finfo.smallest_normal) or (largest == 0 and unit == 0):
        # An unconverged iterate can be far below the answer: say which one underflows.
        what = "result" if info.converged else "unconverged iterate (not the answer, maybe)"
        raise SeriesRangeError(
            f"{name}: the {what} underflows {estimate.dtype} in the caller's units "
            f"(largest entry {largest:.3g})", info)


def _check(xp, tail, partial, accelerator, rtol, atol):
    """``(x, error, accelerated)`` if the tolerance is met now, else None."""
    bound = tail.bound()
    # ||s_K|| <= sum ||a_k||: skip the norms (and accelerator) while even that fails.
    if not (bound <= atol + rtol * tail.term_sum or rtol >= 1.0):
        return None
    if tail.fails_anyway(bound, rtol, atol, accelerator is None):
        return None  # what the norm below would decide: no pass over n for it
    sum_norm = tail.record_sum(to_float(norm(xp, partial)))  # decision
    if not tail.decayed(atol + rtol * sum_norm, sum_norm):
        return None
    if accelerator is not None:
        confirmed = _confirm(xp, tail, partial, accelerator, bound)
        if confirmed is not None and confirmed[1] <= atol + rtol * tail.estimate_norm:
            return confirmed
    if bound <= atol + rtol * sum_norm:
        tail.estimate_norm = sum_norm
        return partial, bound, False
    return None


def _confirm(xp, tail, partial, accelerator, bound):
    """The accelerated estimate with its confirmed bound ``||x^ - s_K|| + E_K``."""
    result = accelerator.result()
    tail.accelerator_status = str(getattr(result.status, "value", result.status))
    estimate = settle(result.estimate)  # three decisions below read it
    if tuple(estimate.shape) != tuple(partial.shape) or not all_finite(xp, estimate):
        tail.accelerator_status += " (not finite: rejected)"
        return None
    distance = to_float(norm(xp, estimate - partial))  # decision
    tail.estimate_norm = to_float(norm(xp, estimate))
    return estimate, distance + bound, True


def _final(xp, tail, partial, accelerator):
    """At the end without convergence: the accelerated estimate when there is one."""
    bound = tail.bound()
    sum_norm = tail.record_sum(to_float(norm(xp, partial)))
    if accelerator is not None:
        confirmed = _confirm(xp, tail, partial, accelerator, bound)
        if confirmed is not None:
            return confirmed
    tail.estimate_norm = sum_norm
    return partial, bound, False


class _TailBound:
    """The tail estimate (T) of the module docstring from the streamed partial sums."""

    def __init__(self, eps: float, size: int = 1) -> None:
        self.eps = eps
        # ||s_K|| between checks: within the last computed norm +- the term norms pushed
        # since (triangle inequality), widened by the norms' rounding (any sum of n
        # squares is within n eps; 4 (n + 16) eps covers it and the few roundings here).
        self._slack = 4.0 * (size + 16) * eps
        self._known_norm: float | None = None
        self._drift = 0.0
        self.terms = 0
        self.term_sum = 0.0
        self.last_term = math.inf
        self.ratio = 0.0
        self.growth = 1.0
        self._previous_power = math.nan
        self.first_power = self.last_power = math.nan
        self.sum_norm: float | None = None
        self.estimate_norm = math.nan
        self.accelerator_status: str | None = None

    def push(self, step: PartialSum) -> None:
        if self.terms and self._previous_power > 0:
            self.ratio = max(self.ratio, step.power_norm / self._previous_power)
        self._previous_power = step.power_norm
        if not self.terms:
            self.first_power = step.power_norm
        self.last_power = step.power_norm
        self.terms += 1
        self.term_sum += step.term_norm
        self.last_term = step.term_norm
        self.growth = step.coefficient_growth
        self.sum_norm = None
        self._drift += step.term_norm

    @property
    def exact_tail(self) -> bool:
        """Every later term is exactly zero (a terminating series): no estimate is needed."""
        return self.growth == 0.0 or self.last_term == 0.0

    def decayed(self, tolerance: float, sum_norm: float) -> bool:
        """``||p_K|| <= sqrt(eps) (tolerance / ||s_K||) ||g||``: see the module docstring."""
        if self.last_power == 0.0 or self.growth == 0.0:
            return True
        if not sum_norm > 0:
            return False
        return self.last_power <= math.sqrt(self.eps) * tolerance / sum_norm * self.first_power

    def record_sum(self, value: float) -> float:
        self.sum_norm = self._known_norm = value
        self._drift = 0.0
        return value

    def fails_anyway(self, bound: float, rtol: float, atol: float, plain: bool) -> bool:
        """Whether the check fails whatever ``||s_K||`` is within its known range.

        ``||s_K||`` lies in ``[known - drift, known + drift]`` (the last computed norm
        and the term norms since), widened by the rounding slack. True when the decay
        test fails even at the lower end (its threshold decreases with ``||s_K||``), or,
        for a plain partial sum (``plain``: no accelerator, whose estimate has its own
        norm), when the bound exceeds ``atol + rtol ||s_K||`` even at the upper end.
        The check then computes the norm only when the answer could change: the same
        decisions, one pass over ``n`` fewer per term while the terms decay.
        """
        known = self._known_norm
        if known is None or not self._slack < 0.1 or not math.isfinite(self._drift):
            return False
        lower = (known - self._drift) * (1.0 - self._slack)
        if (lower > 0 and self.last_power > 0.0 and self.growth != 0.0
                and self.last_power > math.sqrt(self.eps) * (atol / lower + rtol)
                * self.first_power * (1.0 + self._slack)):
            return True
        upper = (known + self._drift) * (1.0 + self._slack)
        return plain and not bound <= (atol + rtol * upper) * (1.0 + self._slack)

    def bound(self) -> float:
        """Absolute error estimate ``E_K`` of the current partial sum (normalised units)."""
        floor = self.eps * math.sqrt(self.terms) * self.term_sum
        if self.last_term == 0.0 or self.growth == 0.0:
            return floor  # the remaining terms are exactly zero
        if self.terms < 2:
            return math.inf
        q = self.growth * self.ratio
        if not q < 1.0:
            return math.inf
        return self.last_term * q / (1.0 - q) + floor


def _make_accelerator(accelerate: Any, order: int) -> Any:
    if accelerate is None:
        return None
    if isinstance(accelerate, accel.Accelerator):
        # A template: each (re)started series gets a fresh copy, the caller's is untouched.
        return copy.deepcopy(accelerate)
    return accel.accelerator(accelerate, order=order)

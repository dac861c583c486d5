r"""The optimisers' fixed-``K`` saddle-free series, without the generic layers (internal).

:func:`matfun.optim.sfn_series` (and :func:`~matfun.optim.adaptive` around it) asks
:func:`matfun.inv_sqrt_series` for ``K`` terms with the paper's scale rule and no
tolerance. This module computes that call's direction with the same arithmetic and
none of its bookkeeping (operator layers, tail bounds, per-term records, per-push
checks of the accelerator): the entry rescaling of :mod:`matfun._series_setup`
(``g / d``, the unit ``c`` from the probe :math:`Hg`), the recurrence of
:mod:`matfun._engine`

.. math::

    p_0 = g, \quad p_k = p_{k-1} + (H (H p_{k-1})) / (-c^2 V), \quad
    s_k = s_{k-1} + V^{-1/2} c_k p_k

(products divided by ``c`` as they come where ``c^2`` is out of the fused range),
the same divergence test (``||p_k|| > (1 + 100 eps) ||p_{k-1}||`` raises
:class:`~matfun.SeriesDivergenceError`), the estimate of the epsilon stream's
``unchecked_result()`` (:mod:`accel._batched_epsilon`, or the stream itself where
that declines), and the range check of the result. Every Hessian-vector product is
proven finite before the direction is returned (the norm of the next term, any
NaN/inf entry reaches it; the inner product of each pair by one running sum),
and a non-finite one raises :class:`~matfun.optim.NonFiniteError` as the generic
path does -- before any other error of the step.

Used where it covers the call: the ``"paper"`` scale, no damping or ``"abs"``
damping, at most 255 terms, float32 or float64 on an eager array library.
"""

from __future__ import annotations

import copy
import math
from functools import lru_cache
from typing import Any

import numpy as np

import accel
from accel._batched_epsilon import supports, unchecked_estimate

from .._backend import all_finite, is_lazy, max_abs, namespace, norm, settle, to_float
from .._engine import SeriesInfo, _norm
from .._series_setup import _SQUARE_HINT, _fusable, _in_units
from .._units import log2_unit, two_to
from .._validation import power_of_two
from ..coefficients import abs_damped_coefficients, binomial_coefficients
from ..errors import SeriesDivergenceError, SeriesRangeError
from ._estimate_only import EstimateOnly

__all__ = ["covers", "lean_direction"]

_BLOCK = 256  # the engine's first block of coefficients (matfun._engine)
_NAME = "inv_sqrt_series"


def covers(scale: str, terms: int, damping: float, damping_kind: str, g: Any) -> bool:
    """Whether :func:`lean_direction` computes what the generic series would."""
    if not (scale == "paper" and terms < _BLOCK and (damping == 0.0 or damping_kind == "abs")
            and not is_lazy(g)):
        return False
    xp = namespace(g)
    return g.dtype in (xp.float32, xp.float64)  # the dtypes compared with the generic path


@lru_cache(maxsize=1)
def _binomial() -> list:
    values = binomial_coefficients(0.5, _BLOCK)
    return values.tolist()


def _coefficients(lam_n: float, scale: float) -> list:
    if not lam_n:
        return _binomial()
    values = abs_damped_coefficients(lam_n / scale**0.5, _BLOCK)
    if not np.all(np.isfinite(values)):
        raise SeriesRangeError(f"{_NAME}: the series coefficients overflow float64 "
                               f"(V = {scale:.3g}); the exponent is too large for a series")
    return values.tolist()


class _Owed:
    """Products whose finiteness is still to be proven: their running sum, reduced at the end."""

    def __init__(self, hvp: Any, xp: Any) -> None:
        self.hvp, self.xp = hvp, xp
        self.products: list = []
        self.total: Any = None  # the elementwise sum of the products (a new vector)

    def add(self, product: Any) -> None:
        self.products.append(product)
        # NaN/inf entries make the sum's entries NaN/inf (one vector operation a product).
        self.total = product if self.total is None else self.total + product

    def settle(self) -> None:
        """Raise the first non-finite product's error (one decision, entries if needed).

        A finite sum of the entries of the sum proves every product finite; a
        non-finite one (finite entries can reach it by overflow) sends the test to
        each product.
        """
        if self.products and not math.isfinite(to_float(self.xp.sum(self.total))):
            for product in self.products:
                self.hvp.check(product)
        self.products, self.total = [], None


def lean_direction(hvp: Any, g: Any, *, initial_scale: float, terms: int, damping: float,
                   accelerate: Any, order: int) -> tuple[Any, float, int]:
    """``(direction, V in the caller's units or 0, terms)`` of the fixed-``K`` series.

    ``hvp`` is the step's :class:`~matfun.optim._oracle_calls.HVPCounter`; ``accelerate``
    what the generic series receives (``None``, a name, an accelerator template).
    """
    xp = namespace(g)
    largest = to_float(max_abs(xp, g))  # decision: zero, and the unit d
    if largest == 0.0:
        return 0.0 * g, 0.0, 0
    d = power_of_two(largest)
    g_n = g / d
    probe = hvp.unchecked(g_n)
    top = to_float(xp.max(xp.abs(probe)))  # decision: the unit c (NaN/inf reach it)
    if not math.isfinite(top):
        hvp.check(probe)
    g_norm = to_float(norm(xp, g_n))
    if top == 0.0:
        c = 1.0
    else:
        inner_unit = power_of_two(top)
        ratio = to_float(norm(xp, probe / inner_unit)) / g_norm
        exponent = math.frexp(ratio)[1] + math.frexp(inner_unit)[1] - 1
        c = math.ldexp(1.0, max(-1074, min(exponent, 1023)))
    if damping:
        c = max(c, power_of_two(damping))
    e_c = log2_unit(c)
    c_squared = two_to(2 * e_c)
    lam_n = damping / c
    fused = _fusable(e_c, g_n)
    initial = _in_units(initial_scale, e_c, 2, "initial_scale")
    output_unit = two_to(log2_unit(d) - e_c, "the result's unit d/c")
    owed = _Owed(hvp, xp)
    after_probe = hvp.matvecs

    def apply(v: Any, first: Any = None) -> tuple[Any, Any]:
        """``(unit A v, H v or its scaled form)``: ``A = (H/c)^2``, ``unit = c^2`` if fused."""
        if fused:
            inner = hvp.unchecked(v) if first is None else first
            return hvp.unchecked(inner), inner
        inner = hvp.unchecked(v) if first is None else first
        scaled = inner / c if c != 1.0 else inner
        outer = hvp.unchecked(scaled)
        return (outer / c if c != 1.0 else outer), inner

    unit = c_squared if fused else 1.0
    product, _ = apply(g_n, probe)
    product_norm = to_float(norm(xp, product))
    if not math.isfinite(product_norm):
        hvp.check(product)
    scale = max(initial, product_norm / unit / g_norm)
    if not scale > 0:
        raise ValueError(f"{_NAME}: the operator maps g to zero; pass a fixed scale")
    coefficients = _coefficients(lam_n, scale)
    try:
        prefactor = float(scale**-0.5)
    except (OverflowError, ZeroDivisionError):
        prefactor = math.inf
    if not math.isfinite(prefactor):
        raise SeriesRangeError(f"{_NAME}: the prefactor overflows float64 at V = {scale:.3g}")
    eps = float(xp.finfo(g.dtype).eps)
    growth = 1.0 + 100 * eps
    squares = xp is namespace(np.empty(0)) and g.dtype == np.float64
    step_scale = unit * scale
    p, p_norm = g_n, g_norm
    partial = (prefactor * coefficients[0]) * p
    sums = [partial] if accelerate is not None else None
    done, exact = 1, False
    for k in range(1, terms):
        if product is None:
            product, inner = apply(p)
            owed.add(inner)
        p_next = product / -step_scale
        p_next += p
        p_next_norm = _norm(xp, p_next, squares)
        if not math.isfinite(p_next_norm):  # a NaN/inf product, or an overflow
            owed.settle()
            hvp.check(product)
        if p_next_norm > growth * p_norm:
            owed.settle()  # a non-finite product's error comes first, as generically
            info = SeriesInfo(terms=k, matvecs=hvp.matvecs - after_probe,
                              scale=scale * c_squared, scale_strategy="paper", restarts=0,
                              stopped_by="diverged", converged=False, diverged=True,
                              relative_change=math.inf, error_estimate=math.inf,
                              normalised_scale=scale)
            raise SeriesDivergenceError(
                f"{_NAME} diverged at term {k} with scale V = {scale * c_squared:.6g}: the "
                "terms grew, so V is below lambda_max/2 of the series operator. "
                f"{_SQUARE_HINT}", info)
        product = None
        p, p_norm = p_next, p_next_norm
        weight = prefactor * coefficients[k]
        if sums is None:
            partial += weight * p
        else:
            term = weight * p
            term += partial
            partial = term
            sums.append(partial)
        done = k + 1
        if p_norm == 0.0:
            exact = done < terms
            break
    owed.settle()
    estimate = partial
    if sums is not None and not exact:
        estimate = _accelerated(xp, accelerate, order, sums, partial)
    if output_unit != 1.0:
        _check_range(xp, estimate, output_unit, exact, done, hvp.matvecs - after_probe,
                     scale, c_squared, c)
        estimate = estimate * output_unit
    return estimate, scale * c_squared, done


def _accelerated(xp: Any, accelerate: Any, order: int, sums: list, partial: Any) -> Any:
    """The accelerated partial sums as the generic series confirms them, else ``partial``.

    An estimate-only epsilon stream (:mod:`matfun.optim._estimate_only`) by the batched
    table where it applies; any other accelerator, and the cases the batched table
    declines, by pushing every partial sum into a fresh copy, as the series does.
    """
    if isinstance(accelerate, EstimateOnly) and supports(accelerate.template):
        estimate = unchecked_estimate(accelerate.template, sums)
        if estimate is not None:
            return estimate
    accelerator = (copy.deepcopy(accelerate) if isinstance(accelerate, accel.Accelerator)
                   else accel.accelerator(accelerate, order=order))
    for value in sums:
        accelerator.push(value)
    estimate = settle(accelerator.result().estimate)
    if tuple(estimate.shape) != tuple(partial.shape) or not all_finite(xp, estimate):
        return partial
    return estimate


def _check_range(xp, estimate, unit, exact, done, matvecs, scale, c_squared, c) -> None:
    """The generic series' range check of the result in the caller's units."""
    largest = to_float(xp.max(xp.abs(estimate))) * unit  # decision: over/underflow
    finfo = xp.finfo(estimate.dtype)
    info = SeriesInfo(terms=done, matvecs=matvecs, scale=scale * c_squared,
                      scale_strategy="paper", restarts=0,
                      stopped_by="exact" if exact else "terms", converged=exact,
                      diverged=False, relative_change=math.inf, error_estimate=math.inf,
                      normalised_scale=scale, operator_unit=c)
    if largest > float(finfo.max):
        raise SeriesRangeError(
            f"{_NAME}: the result overflows {estimate.dtype} in the caller's units "
            f"(largest entry {largest:.3g})", info)
    if 0 < largest < float(finfo.smallest_normal) or (largest == 0 and unit == 0):
        what = "result" if exact else "unconverged iterate (not the answer, maybe)"
        raise SeriesRangeError(
            f"{_NAME}: the {what} underflows {estimate.dtype} in the caller's units "
            f"(largest entry {largest:.3g})", info)

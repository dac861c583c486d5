r"""The power-series engine shared by every named series.

A series of the form

.. math::

    x = \pi(V) \sum_{k \ge 0} c_k(V)\, p_k, \qquad p_0 = g, \quad
    p_k = p_{k-1} - A p_{k-1} / V = (I - A/V)^k g,

is described by a :class:`SeriesSpec` (the operator ``A``, the coefficients
``c_k(V)`` and the prefactor ``pi(V)``); :func:`iterate_partial_sums` produces its
partial sums, handling the scale rule (restarts) and detecting divergence.

Divergence is detected rigorously: in the eigenbasis of ``A`` the vector ``p_k``
has components :math:`z_i^k g_i` with :math:`z_i = 1 - \lambda_i / V`, so
:math:`\|p_k\|` can only grow if some :math:`|z_i| > 1`, i.e. ``V`` is below
:math:`\lambda_{\max}(A)/2` or ``A`` has a negative eigenvalue. Growth beyond
rounding (``100 eps`` relative per step) is therefore reported at once. The
adaptive rule answers growth by raising ``V``, which cures the first cause but not
the second: there the curvature :math:`p_k^H A p_k \le 0` of the growing term
proves ``A`` indefinite (for positive definite ``A`` it is positive), and the series
raises at once instead of raising ``V`` until the growth hides below rounding.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._backend import inner, is_complex, is_lazy, namespace, norm, settle, to_float
from ._norms import sum_of_squares
from .errors import SeriesDivergenceError, SeriesRangeError
from .operators import Operator
from .scaling import ScaleRule

__all__ = ["PartialSum", "SeriesInfo", "SeriesSpec", "iterate_partial_sums"]

_MAX_RESTARTS = 60
_COEFFICIENT_BLOCK = 256


@dataclass(frozen=True)
class SeriesSpec:
    """A named series: operator, coefficients and prefactor as functions of ``V``."""

    name: str
    operator: Operator
    coefficients: Callable[[float, int], np.ndarray]
    prefactor: Callable[[float], float]
    hint: str
    positive: bool = False  # A is positive semi-definite by construction (A = H^2 + lam I)
    # ``operator`` returns ``unit * A v`` (``unit`` a power of two): the engine divides
    # once, inside the recurrence's scalar, instead of once per product (exact, so the
    # partial sums are the same numbers).
    unit: float = 1.0
    # ``v -> (unit * A v, confirm)`` for ``v`` finite: the product with the finiteness
    # check of its last user product owed, ``confirm()`` raising the operator's error
    # (see ``Operator._product``). The engine proves the product finite from the norm of
    # the next term (any NaN/inf entry reaches it), confirming only when that norm is not
    # finite: the same error, one pass over n fewer per term. None: ``operator.matvec``.
    deferred: Callable[[Any], tuple[Any, Callable[[], None]]] | None = None


@dataclass(frozen=True)
class PartialSum:
    r"""One partial sum of a series, as streamed to callbacks and accelerators.

    Attributes
    ----------
    index : int
        ``k``: the partial sum holds terms ``0..k``.
    value : array
        :math:`s_k`.
    term_norm : float
        :math:`\|a_k\|`, the norm of the last term added.
    scale : float
        The ``V`` in use.
    restarted : bool
        True for the first partial sum after the scale rule raised ``V``: earlier
        partial sums belong to a different series.
    restarts : int
        Restarts so far.
    matvecs : int
        Matvecs of the user's operator spent so far.
    power_norm : float
        :math:`\|p_k\| = \|(I - A/V)^k g\|`, the term without its coefficient and
        prefactor, for the normalised ``g`` (divided by a power of two at entry:
        entries about 1).
    coefficient_growth : float
        :math:`\gamma_k = \max(1, \sup_{j \ge k} |c_{j+1}/c_j|)` over the coefficients
        computed so far (exact for the binomial families, whose ratio is monotone in
        ``j``); 0 when every later coefficient is zero.
    """

    index: int
    value: Any
    term_norm: float
    scale: float
    restarted: bool
    restarts: int
    matvecs: int
    power_norm: float = math.nan
    coefficient_growth: float = 1.0


@dataclass(frozen=True)
class SeriesInfo:
    r"""What a series computation did.

    Attributes
    ----------
    terms : int
        Terms in the partial sum that was returned (``K``).
    matvecs : int
        Matvecs of the user's operator spent, restarts and scale estimates included.
    scale : float
        The ``V`` of the returned partial sum, in the caller's units (``inf`` when it
        overflows float64, e.g. ``V ~ ||H||^2`` for ``||H|| > 1e154``: then see
        ``normalised_scale``).
    scale_strategy : str
    restarts : int
        Times the adaptive rule raised ``V`` and restarted.
    stopped_by : str
        ``"terms"``, ``"tol"`` (``atol + rtol * ||x||`` met), ``"max_terms"``,
        ``"max_matvecs"``, ``"exact"`` (a term was exactly zero: the sum is exact up
        to rounding), or ``"diverged"``.
    converged : bool
        ``stopped_by`` is ``"tol"`` or ``"exact"``: the error estimate met the
        tolerance. What the estimate guarantees is in :mod:`matfun._driver` and the
        docstring of :func:`~matfun.inv_sqrt_series` (a bound once the slowest mode
        present in ``g`` is visible in the terms, a heuristic before).
    diverged : bool
    relative_change : float
        :math:`\|a_K\| / \|s_K\|` of the last term.
    error_estimate : float
        The estimated error of the returned vector divided by its norm (relative):
        the tail bound of the partial sum plus a rounding floor, plus, for an
        accelerated estimate, its distance to the partial sum (``inf`` when the
        terms do not decay).
    accelerator : str or None
        The accelerator applied to the partial sums, if any.
    accelerator_status : str or None
        Its status at the last check.
    accelerated : bool
        Whether the returned vector is the accelerator's estimate (False: the plain
        partial sum, returned when only it met the tolerance).
    normalised_scale : float
        ``V`` for the normalised operator ``H / operator_unit`` (about 1).
    operator_unit : float
        The power of two the operator was divided by at entry (exact rescaling).
    """

    terms: int
    matvecs: int
    scale: float
    scale_strategy: str
    restarts: int
    stopped_by: str
    converged: bool
    diverged: bool
    relative_change: float
    error_estimate: float
    accelerator: str | None = None
    accelerator_status: str | None = None
    accelerated: bool = False
    normalised_scale: float = math.nan
    operator_unit: float = 1.0


class _Coefficients:
    """Coefficients for the current ``V``, extended in blocks as terms are requested.

    Kept as Python floats (read once per term: a list lookup, not an array index).
    """

    def __init__(self, spec: SeriesSpec, scale: float) -> None:
        self._spec = spec
        self._scale = scale
        self._set(spec.coefficients(scale, _COEFFICIENT_BLOCK))

    def _set(self, values: np.ndarray) -> None:
        if not np.all(np.isfinite(values)):
            raise SeriesRangeError(
                f"{self._spec.name}: the series coefficients overflow float64 "
                f"(V = {self._scale:.3g}); the exponent is too large for a series")
        self._values = values.tolist()
        self._growth = _suffix_growth(values).tolist()
        self._ready = len(self._values) - 1  # indices below it need no extension

    def _extend(self, k: int) -> None:
        if k >= self._ready:
            self._set(self._spec.coefficients(self._scale, 2 * (k + 2)))

    def __getitem__(self, k: int) -> float:
        if k >= self._ready:
            self._extend(k)
        return self._values[k]

    def growth(self, k: int) -> float:
        """``max(1, max_{j >= k} |c_{j+1} / c_j|)`` over the computed block (0: zero tail)."""
        if k >= self._ready:
            self._extend(k)
        return self._growth[k]


def _suffix_growth(values: np.ndarray) -> np.ndarray:
    magnitude = np.abs(values)
    head, tail = magnitude[:-1], magnitude[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(tail == 0.0, 0.0, tail / np.where(head == 0.0, 1.0, head))
    ratio = np.where((head == 0.0) & (tail != 0.0), np.inf, ratio)
    suffix = np.maximum.accumulate(ratio[::-1])[::-1]
    # A zero tail (a terminating series, e.g. a positive integer power) has growth 0;
    # otherwise the ratios of every family here tend to 1 from one side, so the
    # supremum over the infinite tail is at least 1.
    zero_tail = np.flip(np.logical_and.accumulate(np.flip(tail == 0.0)))
    growth = np.where(zero_tail, 0.0, np.maximum(suffix, 1.0))
    return np.concatenate((growth, [growth[-1] if growth.size else 1.0]))


def iterate_partial_sums(spec: SeriesSpec, g: Any, rule: ScaleRule, *, max_terms: int,
                         scale_unit: float = 1.0, overwrite: bool = False
                         ) -> Iterator[PartialSum]:
    """Yield the partial sums ``s_0, s_1, ...`` of ``spec`` applied to ``g`` (``g != 0``).

    ``scale_unit`` converts ``V`` to the caller's units in a divergence error.
    ``overwrite``: the caller keeps no earlier ``value`` (no accelerator, no callback),
    so the partial sum may be updated in place (the same floats; libraries without
    in-place operations rebind).

    Stops after ``max_terms`` partial sums, or early when a term is exactly zero.
    Raises :class:`SeriesDivergenceError` when the terms grow and the rule cannot
    raise ``V``.
    """
    op = spec.operator
    unit = spec.unit
    xp = namespace(g)
    eps = float(xp.finfo(g.dtype).eps)
    # Each norm below is within 26 eps (n < 2^31: matfun._norms): the two norms of this
    # test take at most 52 eps of the margin, the rest is the rounding of p_{k+1}.
    growth = 1.0 + 100 * eps
    # Relative error of any float sum of n squares is below n eps (both norms below).
    slack = 1.0 + (4.0 * g.shape[0] + 16.0) * eps
    # Real float64 NumPy: the norm from one read pass with a bound (matfun._norms).
    squares = xp is namespace(np.empty(0)) and g.dtype == np.float64
    screen = (rule.adaptive and slack <= 1.4 and not is_complex(xp, g)
              and hasattr(xp, "vecdot"))
    deferred = spec.deferred
    matvecs_before = op.matvecs
    # Lazy arrays (Dask): g, each product, term and partial sum is settled (persisted)
    # once, so every step's graph starts from stored chunks and each norm below is one
    # small reduction, not a recomputation of all earlier steps. Eager libraries skip
    # the calls (decided once: every vector of the loop is of g's library).
    lazy = is_lazy(g)
    g = settle(g) if lazy else g
    # Host scalars drive the decisions below (scale, growth, stopping): one
    # synchronisation per term.
    g_norm = to_float(norm(xp, g))
    product = g_product = None
    scale = rule.initial
    if rule.from_first_product:
        product = g_product = settle(op.matvec(g)) if lazy else op.matvec(g)
        quotient = to_float(norm(xp, product)) / unit / g_norm
        scale = quotient if scale is None else max(rule.floor, quotient)
        if not scale > 0:
            raise ValueError(f"{spec.name}: the operator maps g to zero; pass a fixed scale")
    restarts = 0
    while True:
        coefficients = _Coefficients(spec, scale)
        prefactor = _prefactor(spec, scale)
        p, p_norm = g, g_norm
        # p - (unit A p) / (unit V) is p - A p / V bit for bit: unit V is exact.
        step_scale = unit * scale
        partial = (prefactor * coefficients[0]) * p
        yield PartialSum(0, partial, abs(prefactor * coefficients[0]) * p_norm, scale,
                         restarts > 0, restarts, op.matvecs - matvecs_before, p_norm,
                         coefficients.growth(0))
        grew = indefinite = False
        for k in range(1, max_terms):
            confirm = None
            if product is None:
                if deferred is not None and k > 1:
                    product, confirm = deferred(p)  # p != g: finite (its norm was)
                else:
                    product = settle(op.matvec(p)) if lazy else op.matvec(p)
                if k == 1:
                    g_product = product
                # The bound ||A p|| / ||p|| <= lambda_max(A): a decision only for the
                # adaptive rule (a fixed V spends no norm and no sync on it). A finite
                # screen proves the product finite; a NaN/inf one sends it here.
                if rule.adaptive and (not screen or _may_exceed(xp, product, unit * p_norm,
                                                                scale, slack)):
                    product_norm = to_float(norm(xp, product))
                    if confirm is not None and not math.isfinite(product_norm):
                        confirm()  # the operator's error if the product is not finite
                    quotient = product_norm / unit / p_norm
                    if quotient > scale:
                        break
            # p - x is p + (-x) in IEEE arithmetic, and a + b is b + a: the same floats
            # as ``p - product / V`` and ``partial + weight * p``, accumulated into the
            # fresh temporary (one allocation fewer each; no caller's array is written).
            p_next = product / -step_scale
            p_next += p
            p_next = settle(p_next) if lazy else p_next
            p_next_norm = _norm(xp, p_next, squares)
            # A NaN/inf entry of the product makes p_next, and so its norm, NaN or inf
            # (V and p are finite): a finite norm proves the product finite.
            if confirm is not None and not math.isfinite(p_next_norm):
                confirm()
            if p_next_norm > growth * p_norm:
                grew = True
                # Decision, taken only when the terms grew: p^H A p <= 0 proves that A
                # is not positive definite, and then no V can make the series converge
                # (raising V only slows the growth below what can be detected).
                indefinite = not spec.positive and _curvature(xp, p, product) <= 0.0
                break
            product = None
            p, p_norm = p_next, p_next_norm
            weight = prefactor * coefficients[k]
            if overwrite:  # nothing holds the earlier partial sums: update in place
                partial += weight * p
                if lazy:
                    partial = settle(partial)
            else:
                term = weight * p
                term += partial
                partial = settle(term) if lazy else term
            yield PartialSum(k, partial, abs(weight) * p_norm, scale, False, restarts,
                             op.matvecs - matvecs_before, p_norm, coefficients.growth(k))
            if p_norm == 0.0:
                return
        else:
            return
        if indefinite or not rule.adaptive or restarts >= _MAX_RESTARTS:
            info = SeriesInfo(
                terms=k, matvecs=op.matvecs - matvecs_before, scale=scale * scale_unit,
                scale_strategy=rule.name, restarts=restarts, stopped_by="diverged",
                converged=False, diverged=True, relative_change=math.inf,
                error_estimate=math.inf,
            )
            reason = (
                ": the series operator is not positive definite (p^T A p <= 0 for the "
                "current term p), so no V makes the series converge"
                if indefinite else ", so V is below lambda_max/2 of the series operator"
                + ("" if spec.positive else " or the operator is not positive definite")
            )
            raise SeriesDivergenceError(
                f"{spec.name} diverged at term {k} with scale V = {scale * scale_unit:.6g}: "
                "the terms "
                f"grew{reason}. {spec.hint}",
                dataclasses.replace(info, normalised_scale=scale),
            )
        # Restart from g with the larger V: the Rayleigh quotient of the current
        # term, or twice V when the terms grew before the quotient caught up.
        scale = 2.0 * scale if grew else quotient
        restarts += 1
        product = g_product  # A g does not depend on V: reuse it


def _norm(xp: Any, v: Any, squares: bool) -> float:
    """``||v||`` as a host float (a decision); ``squares``: one pass, see :mod:`matfun._norms`."""
    return math.sqrt(sum_of_squares(v)) if squares else to_float(norm(xp, v))


def _may_exceed(xp: Any, product: Any, reference: float, scale: float, slack: float) -> bool:
    """False only when ``||product|| / reference <= scale`` for sure (a host decision).

    A screen before the exact test (the same norm as everywhere else, so that the
    restarts, and hence the partial sums, do not depend on it): one dot product, about
    a third of what a norm costs, and both sums of squares are within ``n eps``
    relative of the exact one, so the screen cannot clear a quotient the norm would
    flag (``slack = 1 + (4 n + 16) eps`` covers both sums and the roundings of the
    quotient). Not used above ``n eps = 0.1``, nor for complex vectors.
    """
    square = to_float(xp.vecdot(product, product))
    return not square * slack <= (scale * reference) ** 2 or not math.isfinite(square)


def _prefactor(spec: SeriesSpec, scale: float) -> float:
    """``pi(V)`` as a finite float, or a clear error (``V ** p`` overflows for huge ``p``)."""
    try:
        value = float(spec.prefactor(scale))
    except (OverflowError, ZeroDivisionError):
        value = math.inf
    if not math.isfinite(value):
        raise SeriesRangeError(f"{spec.name}: the prefactor overflows float64 at V = {scale:.3g}")
    return value


def _curvature(xp: Any, p: Any, product: Any) -> float:
    """``Re(p^H A p)`` as a host float (a decision)."""
    value = inner(xp, p, product)
    return to_float(xp.real(value) if is_complex(xp, value) else value)

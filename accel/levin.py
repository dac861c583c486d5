r"""Levin's transforms t, u, v and the modified t (Levin 1973; Weniger 1989).

The sequence is read as the partial sums ``s_n = a_0 + ... + a_n`` of a series,
``a_n = s_n - s_{n-1}`` and ``a_0 = s_0`` (mpmath's convention). With a remainder
estimate ``w_n`` the transform of order ``k`` built on ``s_n, ..., s_{n+k}`` is

.. math::

    L_k^{(n)} = \frac{\sum_{j=0}^k (-1)^j \binom{k}{j}
                      \left(\frac{\beta + n + j}{\beta + n + k}\right)^{k-1}
                      s_{n+j} / w_{n+j}}
                     {\sum_{j=0}^k (-1)^j \binom{k}{j}
                      \left(\frac{\beta + n + j}{\beta + n + k}\right)^{k-1}
                      / w_{n+j}},

exact when ``s_n = S + w_n P_{k-1}(1/(n + beta))`` for a polynomial ``P_{k-1}``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _scalar_levin
from ._honest import honest
from ._sequence import (
    all_true,
    as_sequence,
    check_first_index,
    check_order,
    constants,
    fold_orders,
    insufficient,
    safe_divide,
    summarize,
)

__all__ = ["levin", "REMAINDERS", "VARIANTS"]

VARIANTS = ("t", "u", "v", "t_modified")
REMAINDERS = ("componentwise", "scalar")


def check_levin_options(variant: Any, beta: Any) -> float:
    """Validate ``variant`` and ``beta``; return ``beta`` as a float."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(map(repr, VARIANTS))}, "
                         f"got {variant!r}")
    if isinstance(beta, bool) or not isinstance(beta, int | float):
        raise TypeError(f"beta must be a real number, got {beta!r}")
    if not (math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be positive and finite, got {beta}")
    return float(beta)


@honest(translative=False, fast=_scalar_levin.levin_fast)
def levin(seq: Any, *, variant: str = "t", beta: float = 1.0, order: int | None = None,
          first_index: int = 0, remainder: str = "componentwise",
          full_output: bool = False) -> Any:
    """Levin's sequence transformation of the newest terms of ``seq``.

    Remainder estimates (``a_n = s_n - s_{n-1}``, ``a_0 = s_0``):

    * ``"t"``: ``w_n = a_n`` (alternating series, linear convergence);
    * ``"u"``: ``w_n = (n + beta) a_n`` (also logarithmic convergence, e.g. ``zeta(2)``);
    * ``"v"``: ``w_n = a_n a_{n+1} / (a_n - a_{n+1})``;
    * ``"t_modified"``: ``w_n = a_{n+1}`` (Levin's d transform; what the seed
      paper's reference code called "t").

    These are mpmath's conventions (``mpmath.levin(method="levin", variant=...)``
    with its ``theta`` as ``beta``): with ``first_index=0`` and ``order=None`` the
    result equals ``mpmath.levin(...).update_psum(seq)`` to rounding.

    Parameters
    ----------
    seq : array, shape (m,) or (m, n)
        Partial sums; the leading axis indexes the terms. Vectors are transformed
        componentwise (each column is an independent scalar sequence).
    variant : {"t", "u", "v", "t_modified"}
    beta : float
        The shift ``beta > 0`` in the weights (default 1, as in mpmath).
    order : int, optional
        The order ``k``: the transform of the newest ``k + 1`` partial sums with
        their ``k + 1`` remainder estimates (``v`` and ``t_modified`` read one
        term further, ``a_{n+k+1}``). Default: the highest the terms allow.
    first_index : int
        The index ``n`` of ``seq[0]`` in the whole sequence (the ``u`` weights
        and the factors depend on it). When it is positive ``a_{first_index}`` is
        unknown, so ``seq[0]`` serves only to form the next difference.
    remainder : {"componentwise", "scalar"}
        For vectors: ``"componentwise"`` (default) transforms each column as an
        independent scalar sequence, with its own remainder estimates;
        ``"scalar"`` uses ONE scalar remainder estimate per term for the whole
        vector, the E-algorithm form of the Levin transform (Brezinski 1980; the
        seed paper's reference code): ``a_n`` above is replaced by the projection
        ``<a_n, u>`` of the difference vector on the unit vector ``u`` along the
        newest difference, so the weights are scalars and the estimate is one
        linear combination of the vector partial sums (exact when
        ``s_n = S + w_n P_{k-1}(1/(n + beta))`` with vector coefficients).
        Ignored for scalar sequences.
    full_output : bool
        Return an :class:`~accel.AccelResult` instead of the estimate.

    Returns
    -------
    estimate : array, shape () or (n,)
        Or an :class:`~accel.AccelResult` with ``full_output=True``.

    Notes
    -----
    Which sequences it is for (Weniger 1989, sections 7 and 13; Sidi 2003,
    chapter 19): ``"t"`` (and the modified t) for alternating series and
    linearly convergent ones, including divergent alternating series such as
    Euler's (Borel-summable); ``"u"`` also for logarithmic convergence
    (``zeta(2)``, ``sum 1/k^(3/2)``), the most versatile; ``"v"`` like ``u``.
    Monotone logarithmic sequences defeat ``"t"`` (and Shanks): use ``"u"``,
    :func:`accel.rho` or :func:`accel.sablonniere`.

    A zero remainder estimate (``a_n = 0``) or a zero denominator makes that order
    invalid in that component, which then falls back to the highest lower order
    that is valid (order 0 is the newest term): status ``BREAKDOWN``. Components
    whose terms are all equal keep the last term (two equal final terms are one
    coincidence, not convergence: they break the order down). The
    error estimate is the distance between the estimates of orders ``k`` and
    ``k - 1``. Like every Levin transform this one cancels heavily: the factors
    grow like ``2^k``, so in float64 orders beyond about 15-20 lose digits.
    It is evaluated by the recursive scheme of Fessler, Ford and Smith (as mpmath
    does; the explicit binomial sums lose up to 100 times more on divergent
    alternating series), followed by one refinement step where the partial
    sums cluster around the estimate.

    References
    ----------
    D. Levin, Development of non-linear transformations for improving convergence
    of sequences, Int. J. Comput. Math. B3 (1973) 371-388.
    E. J. Weniger, Nonlinear sequence transformations for the acceleration of
    convergence and the summation of divergent series, Comput. Phys. Rep. 10
    (1989) 189-371, section 7. A. Sidi, *Practical Extrapolation Methods*,
    Cambridge 2003, chapter 19. C. Brezinski, A general extrapolation algorithm,
    Numer. Math. 35 (1980) 175-187 (the E-algorithm). C. Brezinski, M.
    Redivo-Zaglia, *Extrapolation Methods*, North-Holland 1991, 2.7.

    Examples
    --------
    The alternating harmonic series ``1 - 1/2 + 1/3 - ... = log 2``:

    >>> import numpy as np
    >>> from accel import levin
    >>> s = np.cumsum([(-1.0) ** k / (k + 1) for k in range(12)])
    >>> bool(abs(levin(s, variant="t") - np.log(2)) < 1e-12)
    True
    """
    beta = check_levin_options(variant, beta)
    if remainder not in REMAINDERS:
        raise ValueError(f"remainder must be one of {', '.join(map(repr, REMAINDERS))}, "
                         f"got {remainder!r}")
    first_index = check_first_index(first_index)
    requested = check_order(order)
    xp, terms = as_sequence(seq)
    scalar = remainder == "scalar" and terms.ndim == 2
    sums, inverse_weights, valid_weights, start = _weights(xp, terms, variant, beta, first_index,
                                                           scalar=scalar)
    count = sums.shape[0]
    if count < 2:
        result = insufficient(terms)
        return result if full_output else result.estimate
    k = count - 1 if requested is None else min(requested, count - 1)
    candidates = [(terms[-1, ...], all_true(xp, terms.shape[1:], terms))]
    window = slice(count - 1 - k, count)
    first = start + count - 1 - k  # absolute index of the oldest partial sum used
    ratios = _ratios(xp, k + 1, first, beta, sums)
    estimates, valid = _recursion(xp, sums[window, ...], inverse_weights[window, ...],
                                  valid_weights[window, ...], ratios)
    # One refinement step: the same (linear) transform applied to s - T gives the
    # correction to T. It cancels far less when the sums cluster around T
    # (convergent series), and is skipped where they do not (divergent ones).
    # The anchor is the best valid estimate (an undefined order's value is garbage).
    anchor = fold_orders(xp, candidates + list(zip(estimates, valid, strict=True))).estimate
    shifted = sums[window, ...] - anchor
    corrections, _ = _recursion(xp, shifted, inverse_weights[window, ...],
                                valid_weights[window, ...], ratios)
    clustered = (xp.max(xp.abs(shifted), axis=0)
                 < 0.5 * xp.max(xp.abs(sums[window, ...]), axis=0))
    estimates = [xp.where(clustered, value + correction, value)
                 for value, correction in zip(estimates, corrections, strict=True)]
    candidates += list(zip(estimates, valid, strict=True))
    used = k + 1 + (first > 0) + (variant in ("v", "t_modified"))
    result = summarize(xp, fold_orders(xp, candidates), terms=terms, order=k, used=used)
    return result if full_output else result.estimate


def _weights(xp: Any, terms: Any, variant: str, beta: float, first_index: int, *,
             scalar: bool = False) -> tuple[Any, Any, Any, int]:
    """Partial sums that carry a remainder estimate, ``1 / w`` there, and its validity.

    Returns ``(sums, inverse_weights, valid, start)`` with ``start`` the absolute
    index of ``sums[0]``. ``scalar``: one remainder per vector term, from the
    differences projected on the newest one (shape ``(m, 1)``, broadcast).
    """
    steps = terms[1:, ...] - terms[:-1, ...]
    if first_index == 0:
        differences = xp.concat([terms[:1, ...], steps], axis=0)
        sums, start = terms, 0
    else:
        differences = steps
        sums, start = terms[1:, ...], first_index + 1
    if scalar:
        newest = differences[-1, ...]
        size = xp.linalg.vector_norm(newest)
        direction = newest / xp.where(size > 0, size, xp.ones_like(size))
        differences = xp.reshape(xp.sum(differences * direction, axis=1), (-1, 1))
    ones = xp.ones_like(differences)
    if variant == "t":
        inverse, valid = safe_divide(xp, ones, differences)
    elif variant == "u":
        index = constants(xp, start + np.arange(differences.shape[0]) + beta, terms)
        index = xp.reshape(index, (differences.shape[0],) + (1,) * (terms.ndim - 1))
        inverse, valid = safe_divide(xp, ones, index * differences)
    elif variant == "t_modified":
        inverse, valid = safe_divide(xp, ones[1:, ...], differences[1:, ...])
        sums = sums[:-1, ...]
    else:  # "v": 1/w_n = 1/a_{n+1} - 1/a_n, defined when neither difference vanishes
        current, following = differences[:-1, ...], differences[1:, ...]
        inverse, valid = safe_divide(xp, current - following, current * following)
        valid = valid & (current != 0) & (following != 0)
        sums = sums[:-1, ...]
    return sums, inverse, valid, start


def _ratios(xp: Any, size: int, first: int, beta: float, like: Any) -> list[Any]:
    """The factors of :func:`_recursion` for ``size`` partial sums from index ``first``.

    ``ratios[k]`` has shape ``(size - 1 - k, 1, ...)`` (one per partial sum, broadcast
    over the components of ``like``). Computed on the host and moved to the device
    in one transfer, shared by the estimate and its refinement.
    """
    factors = _scalar_levin.levin_factors(size, first, beta)
    if not factors:
        return []
    moved = constants(xp, np.concatenate(factors), like)
    ratios, offset = [], 0
    for factor in factors:
        count = factor.shape[0]
        ratios.append(xp.reshape(moved[offset:offset + count],
                                 (count,) + (1,) * (like.ndim - 1)))
        offset += count
    return ratios


def _recursion(xp: Any, sums: Any, inverse_weights: Any, valid_weights: Any,
               ratios: list[Any]) -> tuple[list[Any], list[Any]]:
    """Orders ``1..K`` of the newest entry by the recursive scheme (Fessler, Ford & Smith).

    ``N_0^{(n)} = s_n / w_n``, ``D_0^{(n)} = 1 / w_n`` and, for both,
    ``X_{k+1}^{(n)} = X_k^{(n+1)} - (beta + n) (beta + n + k)^(k-1) / (beta + n + k + 1)^k
    X_k^{(n)}``; ``L_k^{(n)} = N_k^{(n)} / D_k^{(n)}``. The successive differences
    cancel far less than the explicit binomial sums on alternating (divergent) series.
    """
    numerator = sums * inverse_weights
    denominator = inverse_weights
    valid = valid_weights
    size = sums.shape[0]
    estimates, defined = [], []
    for k in range(size - 1):
        ratio = ratios[k]
        numerator = numerator[1:, ...] - ratio * numerator[:-1, ...]
        denominator = denominator[1:, ...] - ratio * denominator[:-1, ...]
        valid = valid[1:, ...] & valid[:-1, ...]
        value, ok = safe_divide(xp, numerator[-1, ...], denominator[-1, ...])
        estimates.append(value)
        defined.append(ok & valid[-1, ...])
    return estimates, defined

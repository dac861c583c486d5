r"""Oracles for series implementations: coefficients and truncated sums, with assertions.

A series implementation can be checked piece by piece, each to rounding error rather
than to a truncation error:

* its coefficients against :func:`coefficient_oracle` (mpmath at 40 digits, by
  algorithms independent of :mod:`matfun.coefficients`);
* its ``K``-term partial sum at a fixed ``V`` against the exact value of that
  truncation, :math:`Q\, s_K(\Lambda)\, Q^H g` (the ``truncated_*`` functions of
  :mod:`matfun.exact`).

Public through :mod:`matfun.testing`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import exact
from ._exact_mp import _to_host, mp_abs_damped_coefficients, mp_binomial_coefficients
from ._testing_problems import safe_norm, spectrum_summary

__all__ = ["SERIES", "assert_coefficients_match", "assert_truncated_series_matches",
           "coefficient_oracle"]

SERIES = ("inv_sqrt", "neumann", "binomial")


def coefficient_oracle(alpha: float, terms: int, *, delta: float | None = None) -> np.ndarray:
    r"""The first ``terms`` coefficients of :math:`(1 - z)^{-\alpha}`, from mpmath.

    :math:`c_k(\alpha) = \binom{\alpha + k - 1}{k}`, computed by the recurrence
    :math:`c_k = c_{k-1} (\alpha + k - 1)/k` at 40 significant digits and rounded once
    to float64 (so each is correctly rounded or within one ulp). A negative ``alpha``
    gives the positive powers :math:`(1 - z)^{|\alpha|}`. With ``delta``
    (``alpha`` must be 1/2): the coefficients :math:`d_k` of the abs-damped series
    :math:`1/(\sqrt{1 - z} + \delta)`, by a forward recurrence carried at the extra
    precision its instability needs.

    Examples
    --------
    >>> coefficient_oracle(0.5, 4)  # C(2k, k) / 4^k
    array([1.    , 0.5   , 0.375 , 0.3125])
    """
    alpha, terms = float(alpha), _check_terms(terms)
    if delta is None:
        return np.array(mp_binomial_coefficients(alpha, terms))
    if alpha != 0.5:
        raise ValueError(f"delta applies to alpha = 0.5 only, got alpha = {alpha}")
    if not (math.isfinite(delta) and delta >= 0):
        raise ValueError(f"delta must be a finite number >= 0, got {delta!r}")
    return np.array(mp_abs_damped_coefficients(float(delta), terms))


def assert_coefficients_match(
    fn: Callable[[float, int], Any] | Any,
    alpha: float,
    terms: int,
    *,
    delta: float | None = None,
    safety: float = 4.0,
) -> float:
    r"""Assert that ``fn(alpha, terms)`` gives the series' coefficients to rounding error.

    Coefficient ``k`` may differ from :func:`coefficient_oracle` by
    :math:`\mathrm{safety} \cdot (k + 1)\, \epsilon\, |c_k|`: the recurrence
    :math:`c_k = c_{k-1}(\alpha + k - 1)/k` makes three roundings per step, a
    relative error of at most about :math:`1.5\, k\, \epsilon` after ``k`` steps
    (first order). An implementation through factorials or the Gamma function fails
    it where they overflow; the forward recurrence of the abs-damped coefficients
    fails it for :math:`0 < \delta < \sqrt 2`.

    Parameters
    ----------
    fn : callable or array
        ``fn(alpha, terms)`` (or ``fn(delta, terms)`` with ``delta``) returning the
        ``terms`` coefficients, or those coefficients themselves.

    Returns
    -------
    float
        The largest error, in units of :math:`(k + 1)\,\epsilon\,|c_k|`.

    Examples
    --------
    >>> import matfun
    >>> assert_coefficients_match(matfun.binomial_coefficients, 0.5, 10_000) < 4
    True
    """
    expected = coefficient_oracle(alpha, terms, delta=delta)
    if callable(fn):
        fn = fn(alpha if delta is None else delta, terms)
    actual = np.asarray(_to_host(fn, "coefficients"))
    if actual.dtype.kind not in "fiu":
        raise AssertionError(f"coefficients must be real numbers, got dtype {actual.dtype}")
    what = f"coefficients of (1 - z)^(-{alpha:g})" if delta is None else \
        f"abs-damped coefficients (delta = {delta:g})"
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: got shape {actual.shape}, expected {expected.shape}")
    if not np.all(np.isfinite(actual)):
        k = int(np.argmin(np.isfinite(actual)))
        raise AssertionError(
            f"{what}: coefficient {k} is {actual[k]} (expected {expected[k]:.17g})")
    eps = float(np.finfo(np.float64).eps)
    scale = (np.arange(terms) + 1.0) * eps * np.maximum(np.abs(expected), np.finfo(float).tiny)
    units = np.abs(actual.astype(np.float64) - expected) / scale
    worst = int(np.argmax(units))
    if units[worst] > safety:
        raise AssertionError(
            f"{what}: coefficient {worst} is {actual[worst]:.17g}, expected "
            f"{expected[worst]:.17g} (relative error {units[worst] * (worst + 1) * eps:.3g} > "
            f"safety * (k + 1) * eps = {safety * (worst + 1) * eps:.3g}; "
            f"{int(np.sum(units > safety))} of {terms} coefficients fail)")
    return float(units[worst])


def assert_truncated_series_matches(
    actual: Any,
    op: Any,
    g: Any,
    *,
    terms: int,
    scale: float,
    series: str = "inv_sqrt",
    exponent: float | None = None,
    damping: float = 0.0,
    damping_kind: str = "abs",
    safety: float = 10.0,
) -> float:
    r"""Assert that ``actual`` is the ``terms``-term partial sum of a series at fixed ``V``.

    The expected value is the exact truncation from :mod:`matfun.exact`
    (``truncated_inv_sqrt_series``, ``truncated_neumann_series`` or
    ``truncated_binomial_series``, chosen by ``series``): the series' polynomial on the
    eigenvalues, with mpmath coefficients. It holds for any ``V`` (convergent or not),
    so an implementation is checked to rounding error, not to its truncation error.

    Tolerance, a first-order forward-error estimate of the term recurrence (a named
    heuristic, not a proven bound): with :math:`\rho = \max_i |z_i| \le 1` the terms
    are bounded by :math:`V^{-p} |c_k| \|g\|`, each carries the rounding of ``k``
    steps of about :math:`\sqrt n\, \epsilon`, so

    .. math::

        \|x - x_K\| \le \mathrm{safety}\,\sqrt n\,\epsilon\, V^{-p}\, \|g\|
        \sum_{k<K} (k + 1)\, |c_k| \, \max(1, \rho)^k ,

    with :math:`p` the series' exponent (1/2, 1 or ``exponent``) and
    :math:`\epsilon` that of ``actual``'s dtype.

    Returns
    -------
    float
        The error relative to the tolerance (below 1 when it passes).

    Examples
    --------
    >>> import numpy as np
    >>> H, g = np.diag([1.0, -2.0]), np.ones(2)
    >>> a = g / 2.0  # V = 4: a_0 = V^(-1/2) g, a_1 = (1/2)(a_0 - H^2 a_0 / V)
    >>> a1 = 0.5 * (a - H @ (H @ a) / 4.0)
    >>> assert_truncated_series_matches(a + a1, H, g, terms=2, scale=4.0) < 1
    True
    """
    if series not in SERIES:
        raise ValueError(f"series must be one of {SERIES}, got {series!r}")
    if (exponent is None) != (series != "binomial"):
        raise ValueError("exponent is needed for series='binomial' and only for it")
    if series == "inv_sqrt":
        expected = exact.truncated_inv_sqrt_series(op, g, terms=terms, scale=scale,
                                                   damping=damping, damping_kind=damping_kind)
        p, alpha = 0.5, 0.5
    elif damping:
        raise ValueError("damping applies to series='inv_sqrt' only")
    elif series == "neumann":
        expected = exact.truncated_neumann_series(op, g, terms=terms, scale=scale)
        p, alpha = 1.0, 1.0
    else:
        expected = exact.truncated_binomial_series(op, g, exponent, terms=terms, scale=scale)
        p, alpha = float(exponent), float(exponent)
    eigenvalues, _ = exact.eigendecomposition(op, like=g)
    w = np.asarray(_to_host(eigenvalues, "eigenvalues")).real
    # The series' variable on each eigenvalue, z = 1 - a/V, and its coefficients.
    delta = None
    if series != "inv_sqrt":
        a = w
    elif damping and damping_kind == "shift":
        a = (w + damping) ** 2
    elif damping and damping_kind == "square":
        a = w * w + damping
    else:
        a = w * w
        delta = damping / math.sqrt(scale) if damping else None
    rho = float(np.max(np.abs(1.0 - a / scale)))
    coefficients = np.abs(coefficient_oracle(alpha, terms, delta=delta))
    growth = max(1.0, rho) ** np.arange(terms)
    result = np.asarray(_to_host(actual, "actual"))
    host_g = np.asarray(_to_host(g, "g"))
    expected = np.asarray(_to_host(expected, "expected"))
    n = host_g.shape[0]
    if result.shape != (n,):
        raise AssertionError(f"actual has shape {result.shape}, expected ({n},)")
    if not np.all(np.isfinite(result)):
        raise AssertionError(f"actual contains NaN or inf ({spectrum_summary(w)})")
    eps = float(np.finfo(result.dtype).eps) if result.dtype.kind in "fc" else 2.0**-52
    bound = (safety * math.sqrt(n) * eps * scale ** (-p) * safe_norm(host_g)
             * float(np.sum((np.arange(terms) + 1.0) * coefficients * growth)))
    wide = np.promote_types(result.dtype, expected.dtype)
    error = safe_norm(result.astype(wide) - expected.astype(wide))
    if not error <= bound:
        relative = error / max(safe_norm(expected), np.finfo(float).tiny)
        raise AssertionError(
            f"{series} series, {terms} terms at V = {scale:.6g}: error {error:.3g} (relative "
            f"{relative:.3g}) > tolerance {bound:.3g} (safety * sqrt(n) * eps * V^-{p:g} ||g|| "
            f"sum (k+1)|c_k| max(1, rho)^k, rho = {rho:.3g}); {spectrum_summary(w)}")
    return error / bound if bound > 0 else 0.0


def _check_terms(terms):
    if isinstance(terms, bool) or not isinstance(terms, int | np.integer) or terms < 1:
        raise ValueError(f"terms must be a positive integer, got {terms!r}")
    return int(terms)

"""Coefficients of the binomial series and of the abs-damped inverse square root.

Host-side scalars (NumPy float64): they multiply the backend vectors of the series
as Python floats, so no backend array is ever built from them.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import check_flag, check_real

__all__ = ["binomial_coefficients", "abs_damped_coefficients"]

# Anchors of the abs-damped coefficients: one quadrature every _BLOCK indices, a
# _NODES-point Gauss-Laguerre rule, exact once the pole is _FORWARD_REACH away.
_BLOCK = 64
_NODES = 64
_FORWARD_REACH = 4.0
_NEUTRAL = 0.1
_QUADRATURE_CHUNK = 8192
_LAGUERRE: tuple[np.ndarray, np.ndarray] | None = None


def binomial_coefficients(alpha: float, n: int, *, positive: bool = False) -> np.ndarray:
    r"""First ``n`` coefficients of :math:`(1 - z)^{-\alpha}` (or :math:`(1 - z)^{\alpha}`).

    .. math::

        (1 - z)^{-\alpha} = \sum_{k \ge 0} c_k(\alpha) z^k, \qquad
        c_0 = 1, \quad c_k = c_{k-1} \frac{\alpha + k - 1}{k}.

    For :math:`\alpha = 1/2`, :math:`c_k = \binom{2k}{k} / 4^k`. With
    ``positive=True`` the coefficients of :math:`(1 - z)^{\alpha}` are returned,
    which are :math:`c_k(-\alpha)` (alternating in sign for :math:`0 < \alpha < 1`
    after the first).

    The recurrence is evaluated as a cumulative product in float64: no factorial is
    formed, so nothing overflows at ``k = 10**6``; the relative error of
    :math:`c_k` is at most about :math:`2 k \epsilon` (one rounding per factor).

    Parameters
    ----------
    alpha : float
        The exponent (any finite real).
    n : int
        Number of coefficients, ``n >= 0``.
    positive : bool
        Coefficients of :math:`(1 - z)^{\alpha}` instead of :math:`(1 - z)^{-\alpha}`.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``, float64.

    References
    ----------
    Oldewage, Clarke, Hernandez-Lobato (2024), *Series of Hessian-vector products for
    tractable saddle-free Newton optimisation of neural networks*, TMLR, eq. (3)-(4).

    Examples
    --------
    >>> binomial_coefficients(0.5, 4)
    array([1.    , 0.5   , 0.375 , 0.3125])
    >>> binomial_coefficients(0.5, 3, positive=True)
    array([ 1.   , -0.5  , -0.125])
    """
    alpha = check_real(alpha, "alpha")
    n = _check_count(n, "n")
    if check_flag(positive, "positive"):
        alpha = -alpha
    if n == 0:
        return np.zeros(0)
    k = np.arange(1, n, dtype=np.float64)
    factors = (alpha + k - 1.0) / k
    with np.errstate(over="ignore", invalid="ignore"):
        coefficients = np.concatenate(([1.0], np.cumprod(factors)))
    if not np.all(np.isfinite(coefficients)):
        first = int(np.argmin(np.isfinite(coefficients)))
        raise ValueError(f"alpha = {alpha!r}: the coefficients overflow float64 from "
                         f"k = {first} on")
    return coefficients


def abs_damped_coefficients(delta: float, n: int) -> np.ndarray:
    r"""First ``n`` Taylor coefficients of :math:`1 / (\sqrt{1 - z} + \delta)`, ``delta >= 0``.

    These give the ``abs`` damping of the saddle-free series,
    :math:`(|H| + \lambda I)^{-1} g = V^{-1/2} \sum_k d_k (I - H^2/V)^k g` with
    :math:`\delta = \lambda / \sqrt{V}`.

    With :math:`b_j` the coefficients of :math:`\sqrt{1 - z}` (``b_0 = 1``, ``b_j < 0``
    for ``j >= 1``) and :math:`r = 1 - \delta^2`, multiplying by
    :math:`(\sqrt{1-z} - \delta)/(r - z)` gives :math:`r d_k - d_{k-1} = b_k`
    (``k >= 1``). Run forward (:math:`d_k = (d_{k-1} + b_k)/r`, the reference code's
    recurrence) it multiplies rounding errors by :math:`1/|r| > 1` at each step
    whenever :math:`0 < \delta < \sqrt 2`, and divides by zero at :math:`\delta = 1`.
    The cut of :math:`\sqrt{1-z}` along :math:`z > 1` gives the integral

    .. math::

        d_k = \frac{1}{\pi} \int_0^\infty e^{-(k + 1/2) u}
              \frac{\sqrt{1 - e^{-u}}}{1 - r e^{-u}} \, du > 0,

    a completely monotone sequence (so :math:`d_k` decreases), which a 64-node
    generalised Gauss-Laguerre rule (weight :math:`v^{1/2} e^{-v}`,
    :math:`v = (k + 1/2) u`) evaluates to rounding accuracy at ``k >= 5`` (its
    integrand's poles are then far from the real axis). The coefficients are
    computed in ``O(n)``:

    * anchors every 64 coefficients from the quadrature, filled in by the
      recurrence in its stable direction: downwards (:math:`d_k = r d_{k+1} -
      b_{k+1}`, errors damped by :math:`|r| \le 1`) for :math:`\delta \le \sqrt 2`,
      upwards for :math:`\delta > \sqrt 2` (errors damped by :math:`1/|r|`); for
      :math:`0.9 < |r| < 1.1`, :math:`r < 0`, where neither direction damps and each
      step cancels, every coefficient comes from the quadrature;
    * for :math:`0 < r < 1` the quadrature needs the pole at :math:`u = \ln r` not too
      close, :math:`k \ge 4 / |\ln r|`: below that index the coefficients come from
      the anchor there, downwards (one linear filter: positive terms, errors damped);
      when that index lies beyond ``4 n`` (tiny :math:`\delta`) the forward recurrence
      from :math:`d_0 = 1/(1 + \delta)` is used, amplifying errors by at most
      :math:`r^{-n} < e`.

    The relative error is then at most about ``100 k eps``, like the cumulative
    product of :func:`binomial_coefficients` (checked against mpmath up to
    ``k = 10**6``); ``10**6`` coefficients take well under a second.

    Parameters
    ----------
    delta : float
        Non-negative damping ratio :math:`\lambda / \sqrt{V}`.
    n : int
        Number of coefficients.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``, float64, all positive.

    Examples
    --------
    >>> abs_damped_coefficients(0.0, 3)  # delta = 0 gives the binomial c_k(1/2)
    array([1.   , 0.5  , 0.375])
    >>> abs_damped_coefficients(1.0, 3)  # delta = 1: d_k = -b_{k+1}
    array([0.5   , 0.125 , 0.0625])
    """
    delta = check_real(delta, "delta")
    if delta < 0:
        raise ValueError(f"delta must be non-negative, got {delta}")
    n = _check_count(n, "n")
    if n == 0:
        return np.zeros(0)
    if delta == 0:
        return binomial_coefficients(0.5, n)
    r = 1.0 - delta * delta
    size = max(n, _BLOCK + 1)  # anchors then sit at k >= 5, where the quadrature is exact
    if r > 0:
        return _positive_ratio(delta, r, size)[:n].copy()
    minus_b = -_sqrt_coefficients(size + 1)  # |b_j| for j >= 1
    d = np.empty(size)
    # Near r = -1 neither direction damps errors and each step cancels by a factor
    # ~2: every coefficient from the quadrature (O(64 n), still linear).
    block = 1 if r > -1.0 - _NEUTRAL and r < -1.0 + _NEUTRAL else _BLOCK
    if r >= -1.0:
        _fill_downwards(d, r, minus_b, 0, delta, block)
    else:
        _fill_upwards(d, r, minus_b, delta, block)
    return d[:n].copy()


def _positive_ratio(delta: float, r: float, size: int) -> np.ndarray:
    """``0 < r < 1`` (``0 < delta < 1``): the quadrature is exact from ``k = 4 / |ln r|``.

    Below that index the coefficients come from the anchor there, downwards (stable:
    errors damped by ``r`` per step, every term positive). When that index lies far
    beyond ``size`` (tiny ``delta``) the forward recurrence is used instead: it
    amplifies errors by at most ``r^{-size} < e``.
    """
    log_r = -math.log1p(-delta * delta)
    first_top = max(5, math.ceil(_FORWARD_REACH / log_r)) if log_r > 0 else math.inf
    if first_top > 4 * size:
        return _forward(delta, r, size)
    total = max(size, first_top + 1)
    minus_b = -_sqrt_coefficients(total + 1)
    d = np.empty(total)
    # The first block, [0, first_top], may be long: one linear filter, downwards.
    from scipy.signal import lfilter  # lazy: scipy.signal costs 0.4 s at import

    d[first_top] = _quadrature(delta, r, np.array([first_top]))[0]
    forcing = np.concatenate(([d[first_top]], minus_b[first_top:0:-1]))
    d[first_top::-1] = lfilter([1.0], [1.0, -r], forcing)
    if total > first_top + 1:
        _fill_downwards(d, r, minus_b, first_top + 1, delta, _BLOCK)
    return d


def _sqrt_coefficients(n: int) -> np.ndarray:
    return binomial_coefficients(0.5, n, positive=True)


def _forward(delta: float, r: float, n: int) -> np.ndarray:
    from scipy.signal import lfilter  # lazy: scipy.signal costs 0.4 s at import

    b = _sqrt_coefficients(n)
    rhs = b.copy()
    rhs[0] = 1.0 - delta
    # d_k - d_{k-1}/r = b_k / r: a first-order filter with pole 1/r.
    return lfilter([1.0 / r], [1.0, -1.0 / r], rhs)


def _quadrature(delta: float, r: float, ks: np.ndarray) -> np.ndarray:
    """``d_k`` at the indices ``ks`` (``k >= 5``) by generalised Gauss-Laguerre."""
    nodes, weights = _laguerre()
    out = np.empty(ks.shape[0])
    for first in range(0, ks.shape[0], _QUADRATURE_CHUNK):  # bounded memory
        shifted = ks[first:first + _QUADRATURE_CHUNK].astype(np.float64)[:, None] + 0.5
        u = nodes[None, :] / shifted
        one_minus = -np.expm1(-u)
        # 1 - r e^{-u} as a sum of positive terms: delta^2 + r (1 - e^{-u}) for r > 0.
        denominator = delta * delta + r * one_minus if r > 0 else 1.0 - r * np.exp(-u)
        values = np.sqrt(one_minus / u) / denominator
        out[first:first + _QUADRATURE_CHUNK] = (
            (values @ weights) / math.pi * shifted[:, 0] ** -1.5)
    return out


def _laguerre() -> tuple[np.ndarray, np.ndarray]:
    global _LAGUERRE
    if _LAGUERRE is None:
        from scipy.special import roots_genlaguerre  # lazy import

        _LAGUERRE = roots_genlaguerre(_NODES, 0.5)
    return _LAGUERRE


def _fill_downwards(d, r, minus_b, start, delta, block) -> None:
    """Blocks ``[lo, top]``: ``d_top`` by quadrature, then ``d_k = r d_{k+1} + |b_{k+1}|``."""
    size = d.shape[0]
    lows = np.arange(start, size, block)
    tops = np.minimum(lows + block - 1, size - 1)
    d[tops] = _quadrature(delta, r, tops)
    if block == 1:  # the quadrature needs k >= 5: the first few from d_5 downwards
        for k in range(min(4, size - 2), -1, -1):
            d[k] = r * d[k + 1] + minus_b[k + 1]
    for offset in range(1, block):
        index = tops - offset
        live = index >= lows
        if not live.any():
            break
        index = index[live]
        d[index] = r * d[index + 1] + minus_b[index + 1]


def _fill_upwards(d, r, minus_b, delta, block) -> None:
    """Blocks from anchors at their starts: ``d_k = (d_{k-1} - |b_k|) / r``, ``|r| > 1``."""
    size = d.shape[0]
    starts = np.arange(0, size, block)
    d[0] = 1.0 / (1.0 + delta)
    if starts.size > 1:
        d[starts[1:]] = _quadrature(delta, r, starts[1:])
    if block == 1:  # the quadrature needs k >= 5: the first few from d_0 upwards
        for k in range(1, min(5, size)):
            d[k] = (d[k - 1] - minus_b[k]) / r
    ends = np.minimum(starts + block, size)
    for offset in range(1, block):
        index = starts + offset
        live = index < ends
        if not live.any():
            break
        index = index[live]
        d[index] = (d[index - 1] - minus_b[index]) / r


def _check_count(n: int, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {n!r}")
    if n < 0:
        raise ValueError(f"{name} must be non-negative, got {n}")
    return int(n)

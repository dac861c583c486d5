"""Coefficients of the binomial series and of the abs-damped inverse square root.

Host-side scalars (NumPy float64): they multiply the backend vectors of the series
as Python floats, so no backend array is ever built from them.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

from ._validation import check_real

__all__ = ["binomial_coefficients", "abs_damped_coefficients"]

# The forward recurrence damps old rounding errors by 1/|r| per step; from
# |r| = 1.1 on, they die out before they can matter relative to d_k ~ k^(-3/2).
_FORWARD_MIN_RATIO = 1.1
# Past this many extra terms the backward tail sum of the abs-damped coefficients
# costs more than the O(K^2) convolution it replaces for the sizes we use.
_MAX_TAIL = 2_000_000


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
    if positive:
        alpha = -alpha
    if n == 0:
        return np.zeros(0)
    k = np.arange(1, n, dtype=np.float64)
    factors = (alpha + k - 1.0) / k
    return np.concatenate(([1.0], np.cumprod(factors)))


def abs_damped_coefficients(delta: float, n: int) -> np.ndarray:
    r"""First ``n`` Taylor coefficients of :math:`1 / (\sqrt{1 - z} + \delta)`, ``delta >= 0``.

    These give the ``abs`` damping of the saddle-free series,
    :math:`(|H| + \lambda I)^{-1} g = V^{-1/2} \sum_k d_k (I - H^2/V)^k g` with
    :math:`\delta = \lambda / \sqrt{V}`.

    With :math:`b_j` the coefficients of :math:`\sqrt{1 - z}` (``b_0 = 1``, ``b_j < 0``
    for ``j >= 1``) and :math:`r = 1 - \delta^2`, multiplying by
    :math:`(\sqrt{1-z} - \delta)/(r - z)` gives the relation
    :math:`r d_k - d_{k-1} = b_k` (``k >= 1``). Run forward
    (:math:`d_k = (d_{k-1} + b_k)/r`, the reference code's recurrence) it multiplies
    rounding errors by :math:`1/|r| > 1` at each step whenever
    :math:`0 < \delta < \sqrt 2`, and divides by zero at :math:`\delta = 1`. Instead:

    * :math:`|r| \ge 1.1` (:math:`\delta \gtrsim 1.45`): the forward recurrence,
      which then damps old rounding errors geometrically;
    * otherwise the backward tail sum
      :math:`d_k = -\sum_{j > k} b_j r^{j-k-1}`, i.e. :math:`d_k = r d_{k+1} - b_{k+1}`
      run downwards from a start far enough out that :math:`|r|^{J-k}` is below
      rounding; every term is positive for :math:`0 \le r < 1` and alternating
      decreasing for :math:`-1 < r < 0`, so nothing cancels;
    * :math:`|r|` so close to 1 that the tail would need more than two million
      terms (tiny :math:`\delta`, or :math:`\delta` near :math:`\sqrt 2`), and the
      rest of :math:`\sqrt 2 \le \delta < 1.45`: the convolution
      :math:`(1 + \delta) d_k = -\sum_{j=1}^{k} b_j d_{k-j}`, a sum of positive
      terms, stable but :math:`O(n^2)`.

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
    if r <= -_FORWARD_MIN_RATIO:
        return _forward(delta, r, n)
    if abs(r) < 1.0:
        tail = 1 if r == 0.0 else math.ceil(math.log(np.finfo(float).eps / 4) / math.log(abs(r)))
    else:
        tail = _MAX_TAIL + 1
    if tail <= _MAX_TAIL:
        return _backward(r, n, tail)
    return _convolution(delta, n)


def _sqrt_coefficients(n: int) -> np.ndarray:
    return binomial_coefficients(0.5, n, positive=True)


def _forward(delta: float, r: float, n: int) -> np.ndarray:
    b = _sqrt_coefficients(n)
    rhs = b.copy()
    rhs[0] = 1.0 - delta
    # d_k - d_{k-1}/r = b_k / r, a first-order filter with pole 1/r, |1/r| <= 1.
    return lfilter([1.0 / r], [1.0, -1.0 / r], rhs)


def _backward(r: float, n: int, tail: int) -> np.ndarray:
    total = n + tail
    b = _sqrt_coefficients(total + 1)
    # d_k = r d_{k+1} - b_{k+1}, run from k = total - 1 down to 0 with d_total = 0;
    # the neglected start contributes |r|^tail < eps/4 relative.
    forcing = -b[total:0:-1]
    d_reversed = lfilter([1.0], [1.0, -r], forcing)
    return d_reversed[::-1][:n].copy()


def _convolution(delta: float, n: int) -> np.ndarray:
    minus_b = -_sqrt_coefficients(n)[1:]
    d = np.empty(n)
    d[0] = 1.0 / (1.0 + delta)
    for k in range(1, n):
        d[k] = np.dot(minus_b[:k], d[k - 1 :: -1]) / (1.0 + delta)
    return d


def _check_count(n: int, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {n!r}")
    if n < 0:
        raise ValueError(f"{name} must be non-negative, got {n}")
    return int(n)

r"""Error bounds for Lanczos ``f(H) g`` from spectral bounds, via shifted-system residuals.

Let ``every |lambda(H)|`` lie in ``[a, b]`` (``a > 0``). After ``k`` steps, for a shift
``z`` off the spectrum the Lanczos (FOM) approximation of :math:`(H - z)^{-1} g` is
:math:`x_k(z) = \|g\| Q_k (T_k - z)^{-1} e_1`, and from
:math:`H Q_k = Q_k T_k + \beta_k q_{k+1} e_k^T`,

.. math::

    (H - z)^{-1} g - x_k(z) = -\|g\|\, \beta_k\, c(z)\, (H - z)^{-1} q_{k+1},
    \qquad c(z) = e_k^T (T_k - z)^{-1} e_1
          = \pm \frac{\beta_1 \cdots \beta_{k-1}}{\prod_j (\theta_j - z)} ,

the last form (the cofactor of a tridiagonal matrix) computed in logarithms: no
cancellation and no under/overflow. The Lanczos approximation is linear in ``f``, so
every ``f`` that is a positive combination of resolvents inherits a bound:

* ``f(x) = 1/x`` (``z = 0``): :math:`\|e_k\| \le \|g\| \beta_k |c(0)| / a`.
* ``f(x) = \int_0^\infty \rho(t) (x^2 + t^2)^{-1} dt`` with ``rho >= 0`` -- here
  :math:`|x|^{-\alpha} = \frac{2 \sin(\pi\alpha/2)}{\pi} \int_0^\infty
  \frac{t^{1-\alpha}}{x^2 + t^2} dt` for ``0 < alpha < 2`` (``1/|x|`` at
  ``alpha = 1``). Writing :math:`(x^2 + t^2)^{-1} = \frac{1}{2it}[(x - it)^{-1} -
  (x + it)^{-1}]` and :math:`c(it) = R + i t A` (``T`` real),

  .. math::

      e_k(t) = -\|g\| \beta_k (H^2 + t^2)^{-1} (A H + R)\, q_{k+1},
      \qquad \|e_k(t)\| \le \|g\| \beta_k \Bigl(|A|\, \varphi(t)
          + \frac{|R|}{a^2 + t^2}\Bigr),

  :math:`\varphi(t) = \max_{a \le |\lambda| \le b} |\lambda| / (\lambda^2 + t^2)`, and
  :math:`\|e_k\| \le \int_0^\infty \rho(t) \|e_k(t)\| dt`.

These hold in exact arithmetic for the computed ``T_k`` and ``beta_k``; with full
reorthogonalisation the Lanczos relation holds to ``O(eps ||H||)``, which adds a
rounding term of order ``eps * cond`` (not included). The one-dimensional integral is
evaluated by 8-point Gauss-Legendre on panels of width ``ln 4`` in ``ln t`` (the
integrand is analytic in a strip of half-width ``pi/2`` around each panel except at the
kinks of ``|.|`` and ``phi``, which are panel ends or rare), with rigorous closed-form
tails outside ``[1e-4, 1e4]`` times the spectral scales; the sum is multiplied by
``1.1`` to cover the quadrature error (measured at most 0.4% against panels of width
``ln 1.1`` with 16 points, on 200 random Ritz sets).

**The sums over the Ritz values** (:func:`_ritz_sums`). At each node ``t`` the
integrand needs :math:`\ln|c(it)| = \ln(\beta_1 \cdots \beta_{k-1}) - \frac12 \sum_j
\ln(\theta_j^2 + t^2)` and, with :math:`\psi = \sum_j \operatorname{sign}(\theta_j)
\arctan(t / |\theta_j|)` (``c(it) = (-1)^m |c| e^{i\psi}``, ``m`` Ritz values
negative), ``|sin psi|`` and ``|cos psi|``: ``2 k`` transcendental functions per node
(0.45 ms at ``k = 632`` with 136 nodes; neither complex products in chunks of 8 nor the
``LDL^T`` pivots of ``T_k - it``, which need no Ritz value, were faster: the Ritz values
are computed for the Ritz-value guard anyway, :mod:`matfun._lanczos_fast`). Rounding,
``u`` the unit roundoff: each logarithm is off by at most ``u (3 + |ln(theta^2 +
t^2)|)``, each arctangent by ``2u`` relative, and a sum of ``k`` terms adds at most
``(k - 1) u`` times the sum of their magnitudes, so each of ``sum ln|theta_j - it|``,
``|sin psi|``, ``|cos psi|`` is within ``delta = (4 k + k^2 L) u``, ``L`` the largest
``|ln|`` of a factor ``|theta_j - it|`` (at least 2; ``6e-10`` on the benchmark's
``k = 632``). The integrand takes them as absolute allowances -- ``|c|`` times
``e^delta``, ``delta`` added to ``|sin psi|`` and ``|cos psi|`` -- so the rounding of
the sums is covered; ``delta`` raises the bound by at most about ``1e4 delta``
relative (the ``|sin psi| / t`` term at the lowest node, ``1e4`` times below ``a``;
measured ``1e-8`` there). Where a square could over- or underflow (a factor outside
``[1e-150, 1e150]``) the moduli come from ``hypot``. Not included, like the rounding
of the Lanczos relation: that of the Ritz values themselves (``eps ||T||`` each) and of
the caller's ``ln(beta_1 ... beta_k)`` (a sum of ``k`` logarithms, of the order of
``delta``).

References: Frommer, Kahl, Lippert, Rittich (2013), *2-norm error bounds and estimates
for Lanczos approximations to linear systems and rational matrix functions*, SIAM J.
Matrix Anal. Appl. 34(3); Chen, Greenbaum, Musco, Musco (2022), *Error bounds for
Lanczos-based matrix function approximation*, SIAM J. Matrix Anal. Appl. 43(2); Golub
and Meurant, *Matrices, Moments and Quadrature with Applications* (2010).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = ["inverse_bound", "stieltjes_bound", "abs_power_density"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(8)
_QUADRATURE_SAFETY = 1.1
_TAIL_DECADES = 4.0
# The Ritz-value sums square theta and t while every factor |theta - it| lies in this
# range (no square over- or underflows), else they take hypot.
_SQUARE_RANGE = (1e-150, 1e150)


def abs_power_density(alpha: float) -> tuple[float, float]:
    r"""``(C, 1 - alpha)``: :math:`|x|^{-\alpha} = C \int_0^\infty t^{1-\alpha}/(x^2+t^2) dt`."""
    return 2.0 * math.sin(math.pi * alpha / 2.0) / math.pi, 1.0 - alpha


def _ritz_sums(theta: np.ndarray, t: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``(sum_j ln|theta_j - it|, |sin psi|, |cos psi|, delta)`` at each ``t > 0``.

    ``psi = sum_j sign(theta_j) arctan(t / |theta_j|)`` (no ``theta_j`` zero); ``delta``
    bounds the rounding of each of the three (module docstring).
    """
    k, unit = theta.size, float(np.finfo(np.float64).eps) / 2
    magnitudes = np.abs(theta)
    low = max(float(np.min(magnitudes)), float(np.min(t)))
    high = math.sqrt(2.0) * max(float(np.max(magnitudes)), float(np.max(t)))
    if _SQUARE_RANGE[0] <= low and high <= _SQUARE_RANGE[1]:
        log_det = 0.5 * np.sum(np.log(theta[None, :] ** 2 + t[:, None] ** 2), axis=1)
    else:  # a square could over- or underflow
        log_det = np.sum(np.log(np.hypot(theta[None, :], t[:, None])), axis=1)
    with np.errstate(over="ignore"):  # t / |theta| = inf: arctan gives pi / 2
        psi = np.sum(np.sign(theta)[None, :] * np.arctan(t[:, None] / magnitudes[None, :]),
                     axis=1)
    largest = max(2.0, abs(math.log(low)), abs(math.log(high)))
    return log_det, np.abs(np.sin(psi)), np.abs(np.cos(psi)), (4 * k + k * k * largest) * unit


def inverse_bound(theta: np.ndarray, log_betas: float, a: float) -> float:
    """``beta_k |c(0)| / a`` (``log_betas = ln(beta_1 ... beta_k)``); times ``||g||`` bounds 1/x."""
    if np.any(theta == 0):
        return math.inf
    return math.exp(min(700.0, log_betas - float(np.sum(np.log(np.abs(theta)))) - math.log(a)))


def stieltjes_bound(theta: np.ndarray, log_betas: float, a: float, b: float,
                    density: tuple[float, float]) -> float:
    r"""``int rho(t) beta_k (|A| phi + |R| / (a^2 + t^2)) dt`` with ``rho = C t^p``.

    ``log_betas = ln(beta_1 ... beta_k)``; times ``||g||`` it bounds the error of
    ``f(x) = int rho(t) / (x^2 + t^2) dt`` (module docstring).
    """
    coefficient, power = density
    magnitudes = np.abs(theta)
    if np.any(magnitudes == 0):
        return math.inf
    low = _TAIL_DECADES * math.log(10)
    lo = min(a, float(np.min(magnitudes))) * math.exp(-low)
    hi = max(b, float(np.max(magnitudes))) * math.exp(low)
    breaks = sorted({math.log(lo), math.log(a), math.log(b), math.log(hi)})
    edges = np.concatenate([np.linspace(left, right, max(1, math.ceil((right - left) /
                            math.log(4.0))) + 1)[:-1] for left, right in itertools.pairwise(breaks)]
                           + [np.array([breaks[-1]])])
    half = np.diff(edges) / 2
    u = (edges[:-1, None] + half[:, None] * (1 + _NODES[None, :])).ravel()
    weights = (half[:, None] * _WEIGHTS[None, :]).ravel()
    t = np.exp(u)
    # c(it) = |c| e^{i phase}; phase = m pi + psi with m negative Ritz values, so
    # Re c = (-1)^m |c| cos psi and Im c / t = (-1)^m |c| sin(psi) / t; each of
    # ln|c|, |sin psi|, |cos psi| within delta (its rounding, module docstring).
    log_det, sine, cosine, delta = _ritz_sums(theta, t)
    log_abs = log_betas - log_det + delta
    phi = np.where(t < a, a / (a * a + t * t), np.where(t > b, b / (b * b + t * t), 0.5 / t))
    integrand_log = log_abs + power * u + u  # dt = t du
    scaled = (sine + delta) / t * phi + (cosine + delta) / (a * a + t * t)
    with np.errstate(under="ignore", over="ignore"):
        middle = float(np.sum(weights * scaled * np.exp(np.minimum(integrand_log, 700.0))))
    # Tails, bounded in closed form. Below lo: |c(it)| <= |c(0)|, |sin psi| / t <=
    # sum 1/|theta_j|, phi <= 1/a. Above hi: beta_k |c(it)| <= prod beta / t^k,
    # |sin psi| <= k pi / 2, phi <= b / t^2.
    log_abs0 = log_betas - float(np.sum(np.log(magnitudes)))
    near_zero = math.exp(min(700.0, log_abs0)) * (float(np.sum(1 / magnitudes)) / a + 1 / a**2)
    low_tail = near_zero * lo ** (power + 1) / (power + 1)
    k = theta.size
    far = math.exp(min(700.0, log_betas + (power - k - 1) * math.log(hi)))
    high_tail = far * (k * math.pi * b / (2 * hi) + 1.0) / (k + 1 - power)
    return _QUADRATURE_SAFETY * coefficient * (middle + low_tail + high_tail)

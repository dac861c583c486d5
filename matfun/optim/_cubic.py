r"""The anisotropic cubic-regularised model of grouped Newton, minimised exactly.

Wolinski's grouped Newton method (seed 001, section 4.2 and appendix D) chooses the
per-group learning rates :math:`\eta \in \mathbb{R}^S` by minimising

.. math::

    m(\eta) = -\bar g^T \eta + \tfrac12 \eta^T \bar H \eta
              + \tfrac{\lambda}{6} \|W \eta\|^3, \qquad W = \mathrm{diag}(w),\ w \ge 0,

with :math:`w_s = |D^3 f[u_s, u_s, u_s]|^{1/3}` (the anisotropic Nesterov-Polyak
cubic term). A global minimiser satisfies (Nesterov and Polyak 2006, theorem 10,
applied in the variables :math:`W\eta`)

.. math::

    (\bar H + \sigma W^2)\,\eta = \bar g, \qquad \sigma = \tfrac{\lambda}{2} r,
    \quad r = \|W\eta\|, \qquad \bar H + \sigma W^2 \succeq 0 .

**How it is solved.** Pick :math:`\sigma_1 \ge 0` with
:math:`B = \bar H + \sigma_1 W^2 \succ 0` and solve the generalised eigenproblem
:math:`W^2 v_i = \nu_i B v_i` (:math:`V^T B V = I`). Both matrices are then diagonal
in the basis ``V``: :math:`V^T(\bar H + \sigma W^2)V = \mathrm{diag}(1 + (\sigma -
\sigma_1)\nu_i)`, so with :math:`\beta = V^T \bar g` the condition is the scalar
equation

.. math::

    \phi(\sigma) = \Big(\sum_i \frac{\nu_i \beta_i^2}{(1 + (\sigma - \sigma_1)\nu_i)^2}
    \Big)^{1/2} - \frac{2\sigma}{\lambda} = 0, \qquad
    \sigma > \sigma_0 = \max(0, \sigma_1 - 1/\nu_{\max}),

whose left side is strictly decreasing, so the root is unique and bracketed
(``scipy.optimize.brentq``). Unlike the reference code's bracket stepping this
never fails:

* a zero weight (:math:`w_s = 0`, e.g. a group on which the loss is quadratic) gives
  :math:`\nu = 0` components, which leave the root alone; no :math:`W^{-1}` is formed;
* when :math:`\bar H \not\succ 0` the pole at :math:`\sigma_0` is where
  :math:`\bar H + \sigma W^2` turns singular; the root is sought in the distance
  :math:`t = \sigma - \sigma_0` so that the pole terms are computed without
  cancellation;
* the *hard case* of the trust-region literature (:math:`\bar g` orthogonal to the
  null vector at :math:`\sigma_0`, and :math:`\phi(\sigma_0) \le 0`) takes
  :math:`\sigma = \sigma_0` and adds the multiple of the null vector that makes
  :math:`\|W\eta\| = 2\sigma_0/\lambda`.

Two preparations make the solve independent of the groups' scales, as the model is
(seed 001 appendix E): a group with no curvature, slope or weight (a saturated layer)
does not enter the model and gets :math:`\eta_s = 0`; the others are rescaled
exactly, by powers of two, to unit diagonal (:func:`equilibration`) before any
threshold is applied, and the solution scaled back.

**Groups with zero weight** (:math:`w_s = 0`, e.g. an output layer on which the loss
is quadratic) are bounded only by :math:`\bar H`. Let :math:`\mu_i, q_i` be the
eigenpairs of the (equilibrated) block :math:`\bar H_{ZZ}` on those groups and
:math:`\tau = c S \varepsilon \max|\lambda(\bar H)|` (:math:`c = 8`) its rounding level:

* :math:`\mu_{\min} < -\tau`: negative curvature with no cubic term, the model is
  unbounded below -- :class:`UnboundedModelError`;
* :math:`|\mu_i| \le \tau`: the curvature along :math:`q_i` is not resolved and is
  treated as zero. If :math:`\bar g` has a clearly non-zero component along
  :math:`q_i` (above :math:`\sqrt\varepsilon \|\bar g\|`) the model is unbounded:
  :class:`UnboundedModelError`. Otherwise the step along :math:`q_i` is 0 and the model
  is minimised on the complement, i.e. :math:`\eta_Z = \bar H_{ZZ}^+ (\bar g_Z -
  \bar H_{ZP}\eta_P)` with the pseudo-inverse: when the block is exactly singular and
  consistent (:math:`\bar H q_i = 0`, :math:`\bar g^T q_i = 0`) the minimisers form
  an affine subspace and this is its minimum-norm point (in the equilibrated
  variables, as for ``cubic = 0`` in :func:`matfun.optim.grouped_newton`).

Without a cubic term (:math:`\lambda = 0` or :math:`w = 0`) the model has a
minimiser only for :math:`\bar H \succ 0`, else :class:`UnboundedModelError`.

This is small ``S x S`` host work, done in NumPy/SciPy on purpose: ``S`` is the
number of parameter groups.

References
----------
Wolinski (2024), *Adapting Newton's method to neural networks through a summary of
higher-order derivatives*, section 4.2 and appendix D.
Nesterov and Polyak (2006), *Cubic regularization of Newton method and its global
performance*, Math. Program. 108, section 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

__all__ = ["CubicSolution", "UnboundedModelError", "cubic_model", "equilibration",
           "minimize_cubic_model"]

_EPS = float(np.finfo(np.float64).eps)
_MAX_DOUBLINGS = 2100  # 4**2100 overflows: far beyond any finite shift
# c in the rounding level c * S * eps * scale: room for the rounding of the inner
# products that form Hbar and gbar (measured up to ~2.2 S eps on the MLP of problems).
_ROUNDING = 8.0


class UnboundedModelError(ArithmeticError):
    """The cubic model has no (unique) minimiser: it is unbounded below or flat."""


@dataclass(frozen=True)
class CubicSolution:
    r"""The minimiser of the cubic model and how it was found.

    Attributes
    ----------
    eta : numpy.ndarray
        The minimiser :math:`\eta`, shape ``(S,)``.
    shift : float
        :math:`\sigma = \lambda \|W\eta\| / 2`, the multiple of :math:`W^2` added to
        :math:`\bar H`.
    radius : float
        :math:`r = \|W \eta\|`.
    case : str
        ``"quadratic"`` (no cubic term, or nothing to minimise), ``"interior"``
        (:math:`\bar H \succ 0` and the root is at :math:`\sigma \ge 0`), ``"easy"``
        (:math:`\bar H` not positive definite, root above the pole) or ``"hard"``.
    value : float
        :math:`m(\eta)`, negative unless :math:`\eta = 0`.
    """

    eta: np.ndarray
    shift: float
    radius: float
    case: str
    value: float


def cubic_model(eta, matrix, vector, weights, cubic: float) -> float:
    r"""Evaluate :math:`m(\eta) = -\bar g^T\eta + \eta^T\bar H\eta/2 + (\lambda/6)\|W\eta\|^3`.

    Examples
    --------
    >>> cubic_model([1.0], [[2.0]], [1.0], [1.0], 6.0)
    1.0
    """
    eta = np.asarray(eta, dtype=np.float64)
    quadratic = 0.5 * eta @ np.asarray(matrix, dtype=np.float64) @ eta
    cubic_term = cubic / 6.0 * np.linalg.norm(np.asarray(weights) * eta) ** 3
    return float(-np.asarray(vector, dtype=np.float64) @ eta + quadratic + cubic_term)


def minimize_cubic_model(matrix, vector, weights, *, cubic: float) -> CubicSolution:
    r"""Global minimiser of the anisotropic cubic model (see the module docstring).

    Parameters
    ----------
    matrix : array_like, shape (S, S)
        :math:`\bar H`, symmetric (it is symmetrised).
    vector : array_like, shape (S,)
        :math:`\bar g`.
    weights : array_like, shape (S,)
        :math:`w \ge 0` (for grouped Newton :math:`|d_s|^{1/3}`).
    cubic : float
        :math:`\lambda \ge 0`.

    Returns
    -------
    CubicSolution

    Raises
    ------
    UnboundedModelError
        No minimiser: :math:`\bar H` is indefinite beyond rounding on the groups with
        zero weight, or singular there with :math:`\bar g` clearly not orthogonal to the
        null space (module docstring); or, without a cubic term, not positive definite.

    Examples
    --------
    One group, :math:`\bar H = -1` (negative curvature), :math:`\bar g = 0`: the
    cubic term alone bounds the step, :math:`\eta = 2/\lambda` (hard case).

    >>> sol = minimize_cubic_model([[-1.0]], [0.0], [1.0], cubic=1.0)
    >>> float(sol.eta[0]), sol.case
    (2.0, 'hard')
    """
    A, b, w, lam = _validated(matrix, vector, weights, cubic)
    # A group with no curvature, no slope and no cubic weight (a saturated layer) does
    # not enter the model at all: it gets learning rate 0 (minimum norm) and is dropped.
    live = np.any(A != 0, axis=1) | (b != 0) | (w > 0)
    if not np.all(live):
        eta = np.zeros_like(b)
        if not np.any(live):
            return CubicSolution(eta, 0.0, 0.0, "quadratic", 0.0)
        reduced = _minimize(A[np.ix_(live, live)], b[live], w[live], lam)
        eta[live] = reduced.eta
        return CubicSolution(eta, reduced.shift, reduced.radius, reduced.case, reduced.value)
    return _minimize(A, b, w, lam)


def _minimize(A, b, w, lam):
    # The model is invariant under eta -> C^{-1} eta with (A, b, w) -> (C A C, C b, C w):
    # solving in the equilibrated variables makes every threshold below independent of
    # the groups' scales (a group with a tiny direction is not mistaken for a flat one).
    c = equilibration(A, w)
    A_c, b_c, w_c = c[:, None] * A * c[None, :], c * b, c * w
    if lam == 0.0 or not np.any(w > 0):
        eta = c * _quadratic_minimiser(A_c, b_c)
        return CubicSolution(eta, 0.0, float(np.linalg.norm(w * eta)), "quadratic",
                             cubic_model(eta, A, b, w, lam))
    # Numerically flat directions of the zero-weight block are rotated out (basis T).
    T = _resolved_basis(A_c, b_c, w_c)
    A_c, b_c, w_c = T.T @ A_c @ T, T.T @ b_c, np.abs(T.T) @ w_c
    sigma1 = _positive_definite_shift(A_c, w_c)
    nu, V = scipy.linalg.eigh(np.diag(w_c**2), A_c + sigma1 * np.diag(w_c**2))
    nu = np.clip(nu, 0.0, None)  # W^2 is semidefinite: negative values are rounding
    beta = V.T @ b_c
    eta, sigma, case = _secular_solution(nu, V, beta, sigma1, lam)
    eta = c * (T @ eta)
    return CubicSolution(eta, sigma, float(np.linalg.norm(w * eta)), case,
                         cubic_model(eta, A, b, w, lam))


def equilibration(matrix, weights) -> np.ndarray:
    r"""Powers of two :math:`c_s` that bring the model to unit scale per group.

    :math:`c_s pprox |ar H_{ss}|^{-1/2}` where the diagonal is non-zero, else
    :math:`1/w_s`, else 1. Powers of two make the rescaling exact in floating point.
    """
    A = np.asarray(matrix, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    diagonal = np.abs(np.diag(A))
    size = np.where(diagonal > 0, np.sqrt(diagonal), np.where(w > 0, w, 1.0))
    return np.exp2(-np.round(np.log2(size)))


def _validated(matrix, vector, weights, cubic):
    A = np.asarray(matrix, dtype=np.float64)
    b = np.asarray(vector, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"matrix must be a non-empty square matrix, got shape {A.shape}")
    size = A.shape[0]
    if b.shape != (size,):
        raise ValueError(f"vector must have shape ({size},), got {b.shape}")
    if w.shape != (size,):
        raise ValueError(f"weights must have shape ({size},), got {w.shape}")
    for name, value in (("matrix", A), ("vector", b), ("weights", w)):
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name} contains NaN or inf")
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")
    lam = float(cubic)
    if not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"cubic must be a non-negative finite number, got {cubic}")
    return 0.5 * (A + A.T), b, w, lam


def _quadratic_minimiser(A, b):
    lam, Q = np.linalg.eigh(A)
    scale = max(float(np.max(np.abs(lam))), np.finfo(np.float64).tiny)
    if lam[0] <= A.shape[0] * _EPS * scale:
        raise UnboundedModelError(
            "the model has no cubic term (cubic = 0, or every third derivative is zero) "
            "and its matrix is not positive definite "
            f"(smallest eigenvalue {lam[0]:.3g}): no minimiser"
        )
    return Q @ ((Q.T @ b) / lam)


def _resolved_basis(A, b, w):
    """Orthonormal ``T`` (S x R) spanning the directions whose curvature is resolved.

    The columns are the unit vectors of the groups with ``w > 0`` and the eigenvectors
    of the zero-weight block ``A[Z, Z]`` with eigenvalue above the rounding level
    ``tol``; eigenvalues within ``[-tol, tol]`` are treated as zero (their directions
    are dropped: minimum norm). Raises when that block is indefinite beyond rounding,
    or when the slope ``b`` has a clearly non-zero component (above
    ``sqrt(eps) ||b||``) along a dropped direction (unbounded).
    """
    size = A.shape[0]
    zero = w == 0
    identity = np.eye(size)
    if not np.any(zero):
        return identity
    scale = float(np.max(np.abs(np.linalg.eigvalsh(A))))
    mu, Q = np.linalg.eigh(A[np.ix_(zero, zero)])
    tolerance = _ROUNDING * size * _EPS * scale
    if mu[0] < -tolerance:
        raise UnboundedModelError(
            "the model's matrix is indefinite on the groups with zero cubic weight "
            f"(smallest eigenvalue there {mu[0]:.3g}, rounding level {tolerance:.3g}): "
            "the model is unbounded below"
        )
    flat = mu <= tolerance
    if not np.any(flat):
        return identity
    slope = Q[:, flat].T @ b[zero]
    # Only a clearly non-zero slope is rejected: Hbar and gbar come from inner products
    # of length p (the parameter count), whose rounding (~p eps, measured 175 eps on the
    # MLP of problems) this S x S solver cannot know.
    if np.max(np.abs(slope)) > _EPS**0.5 * float(np.linalg.norm(b)):
        raise UnboundedModelError(
            "the model's matrix is singular on the groups with zero cubic weight and the "
            f"slope has a component {np.max(np.abs(slope)):.3g} along its null space: "
            "the model is unbounded below"
        )
    rotation = identity.copy()
    rotation[np.ix_(zero, zero)] = Q
    keep = np.ones(size, dtype=bool)
    keep[np.flatnonzero(zero)[flat]] = False
    return rotation[:, keep]


def _positive_definite_shift(A, w):
    """``sigma1 >= 0`` with ``A + sigma1 W^2`` positive definite, within a factor 4."""
    zero = w == 0
    lam = np.linalg.eigvalsh(A)
    scale = float(np.max(np.abs(lam)))
    if np.any(zero):
        flat = np.linalg.eigvalsh(A[np.ix_(zero, zero)])[0]
        if flat <= A.shape[0] * _EPS * scale:
            raise UnboundedModelError(
                "the model's matrix is not positive definite on the groups with zero cubic "
                f"weight (smallest eigenvalue there {flat:.3g}): no unique minimiser"
            )
    # A well-conditioned A needs no shift; a nearly singular one is shifted so that the
    # generalised eigenproblem below keeps its accuracy.
    if lam[0] > 0.0 and lam[0] >= _EPS**0.5 * scale:
        return 0.0
    w2 = w**2
    sigma = max(-lam[0], _EPS**0.5 * scale) / float(np.max(w2))
    if sigma == 0.0:
        sigma = 1.0 / float(np.max(w2))
    for _ in range(_MAX_DOUBLINGS):
        try:
            np.linalg.cholesky(A + sigma * np.diag(w2))
        except np.linalg.LinAlgError:
            sigma *= 4.0
            continue
        # Twice the first success keeps B away from singularity.
        return 2.0 * sigma
    raise UnboundedModelError("no shift makes the model's matrix positive definite")


def _secular_solution(nu, V, beta, sigma1, lam):
    # sigma0: where A + sigma W^2 turns singular (0 if A is positive semidefinite).
    sigma0 = max(0.0, sigma1 - 1.0 / float(nu[-1]))
    # 1 + (sigma0 - sigma1) nu, written so that it is exactly zero on the null space.
    base = 1.0 - nu / nu[-1] if sigma0 > 0.0 else 1.0 - sigma1 * nu
    null = base <= 8 * nu.shape[0] * _EPS
    base[null] = 0.0
    weighted = nu * beta**2

    def phi(t, terms=weighted):
        denominator = (base + t * nu) ** 2
        ratio = np.divide(terms, denominator, out=np.where(terms > 0, np.inf, 0.0),
                          where=denominator > 0)
        return math.sqrt(float(np.sum(ratio))) - 2.0 * (sigma0 + t) / lam

    regular = np.where(null, 0.0, weighted)
    if not np.any(null) and phi(0.0) <= 0.0:
        return V @ (beta / base), sigma0, "interior"
    if np.any(null) and (not np.any(beta[null] != 0.0) and phi(0.0, regular) <= 0.0):
        return _hard_case(nu, V, beta, base, null, sigma0, lam), sigma0, "hard"
    t_high = max(sigma1 - sigma0, lam * math.sqrt(float(np.sum(weighted))) / 2.0 - sigma0, 0.0)
    t_high = t_high * (1.0 + 4 * _EPS) + np.finfo(np.float64).tiny
    t_low = 0.0 if not np.any(null) else _positive_point(phi, t_high)
    if t_low is None:  # the null-space component is below underflow: the hard case
        return _hard_case(nu, V, beta, base, null, sigma0, lam), sigma0, "hard"
    if phi(t_high) >= 0.0:
        t = t_high
    else:
        t = scipy.optimize.brentq(phi, t_low, t_high, xtol=np.finfo(np.float64).tiny,
                                  rtol=4 * _EPS, maxiter=500)
    case = "easy" if np.any(null) else "interior"
    return V @ (beta / (base + t * nu)), sigma0 + t, case


def _positive_point(phi, t_high):
    t = t_high
    while t > 0.0:
        t *= 0.5
        if phi(t) > 0.0:
            return t
    return None


def _hard_case(nu, V, beta, base, null, sigma0, lam):
    coefficients = np.where(null, 0.0, beta / np.where(null, 1.0, base))
    missing = (2.0 * sigma0 / lam) ** 2 - float(np.sum(nu * coefficients**2))
    first_null = int(np.flatnonzero(null)[0])
    coefficients[first_null] = math.sqrt(max(missing, 0.0) / nu[first_null])
    return V @ coefficients

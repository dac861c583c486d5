r"""Functions of a symmetric matrix applied to a vector by the Lanczos method.

After ``k`` Lanczos steps from :math:`q_1 = g/\|g\|` (one matvec each, full
reorthogonalisation, :class:`matfun._lanczos.LanczosProcess`),
:math:`H Q_k = Q_k T_k + \beta_k q_{k+1} e_k^T`, and

.. math::

    f(H)\, g \approx x_k = \|g\|\, Q_k f(T_k) e_1
      = \|g\|\, Q_k U f(\Theta) U^T e_1 ,
    \qquad T_k = U \Theta U^T ,

the Lanczos (Krylov) approximation: exact for every polynomial of degree ``< k``
and therefore at least as good as the best polynomial approximation of ``f`` on
the spectrum, *instance-optimal* in that it adapts to the actual eigenvalues (no
spectral bounds are needed). ``f`` is evaluated only on the ``k`` Ritz values
:math:`\theta_j`, on the host. An invariant subspace (``beta_k = 0``, a
*breakdown*) makes :math:`x_k` exact.

Stopping rule
-------------
Iterates are compared in the orthonormal basis (no extra matvec or vector
operation): :math:`\|x_k - x_j\| = \|g\|\,\|y_k - [y_j; 0]\|` with
:math:`y_k = f(T_k) e_1`. The error estimate at check ``k`` is
:math:`E_k = \|y_k - y_j\| / \|y_k\|` against the clean check ``j <= k - d``
with the lag ``d = max(1, k // 8)``: under geometric convergence
:math:`\varepsilon_k = C q^k` the difference is about
:math:`\varepsilon_{k-d}(1 - q^d) \ge \varepsilon_k` as soon as
:math:`q^d \le 1/2`, which holds once the error is below ``2^-8`` (a bare
one-step difference would underestimate a slowly converging error by
:math:`1/(1-q)`).

For ``f`` with a pole (``1/|x|``, ``1/x``, ``|x|^-alpha`` at 0) the iterates of
an indefinite ``H`` *spike*: a Ritz value that passes close to the pole in a gap
of the spectrum gives :math:`f(\theta_j)` a spurious huge weight, and the error
rises again after having met the tolerance (measured: from 2e-7 to 3e-6 in one
step for ``1/|x|`` with ``kappa = 100``). Two guards:

* **Ritz-value guard.** The residual of Ritz pair ``j`` is
  :math:`\rho_j = \beta_k |u_{kj}|`, and an eigenvalue of ``H`` lies in
  :math:`[\theta_j - \rho_j, \theta_j + \rho_j]`. A pair whose interval contains
  a pole is *unreliable*: its contribution :math:`f(\theta_j) u_{1j} u_j` cannot
  be trusted. A check is *clean* only if these contributions together are below
  ``tol`` relative to :math:`\|y_k\|`; only clean iterates are compared, stopped
  at, or returned. A genuine eigenvalue near the pole thus has to converge to
  relative accuracy before the method stops -- which the answer needs anyway.
* **Consecutive checks.** The estimate must meet ``tol`` at two consecutive clean
  checks. A check that is not clean is repeated at the next step, so an
  even/odd spike pattern cannot hide every clean iterate.

Checks (a tridiagonal eigenproblem of size ``k`` on the host, ``O(k^2)``) run
every step up to ``k = 32`` and then every ``k // 32`` steps (overshoot below 4%);
a spoilt check is retried at the next step once.

References
----------
N. J. Higham, *Functions of Matrices* (SIAM, 2008), section 13.2.
Golub and Meurant, *Matrices, Moments and Quadrature with Applications* (2010).
Chen, Greenbaum, Musco, Musco (2022), *Error bounds for Lanczos-based matrix
function approximation*, SIAM J. Matrix Anal. Appl. 43(2).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
from array_api_compat import device as array_device

from ._backend import as_vector, norm, to_float
from ._lanczos import LanczosProcess
from ._validation import positive_integer
from .operators import as_operator

__all__ = [
    "FUNCTIONS",
    "LanczosInfo",
    "RitzFunction",
    "SingularFunctionError",
    "lanczos_apply",
    "ritz_function",
]

_EVERY_STEP_UNTIL = 32
_LAG_DIVISOR = 16
_CONSECUTIVE = 2


class SingularFunctionError(ArithmeticError):
    """``f`` has a pole at an eigenvalue of ``H`` that ``g`` excites (``f(H) g`` is undefined).

    Attributes
    ----------
    info : LanczosInfo
        What the method did before giving up.
    """

    def __init__(self, message: str, info: Any) -> None:
        super().__init__(message)
        self.info = info


@dataclass(frozen=True)
class RitzFunction:
    """A scalar function applied to Ritz values, with its poles.

    Attributes
    ----------
    evaluate : callable
        ``numpy array of Ritz values -> numpy array of f values`` (float64, host).
    poles : tuple of float
        Points where ``f`` is singular; they switch on the Ritz-value guard.
    name : str
        Reported in :class:`LanczosInfo`.
    """

    evaluate: Callable[[np.ndarray], np.ndarray]
    poles: tuple[float, ...] = ()
    name: str = "callable"


def _abs_power(alpha: float) -> RitzFunction:
    return RitzFunction(lambda x: np.abs(x) ** -alpha, (0.0,) if alpha > 0 else (),
                        f"abs_power({alpha:g})")


FUNCTIONS: dict[str, RitzFunction] = {
    "inv_abs": RitzFunction(lambda x: 1.0 / np.abs(x), (0.0,), "inv_abs"),
    "inv": RitzFunction(lambda x: 1.0 / x, (0.0,), "inv"),
    "inv_sqrt_abs": RitzFunction(lambda x: np.abs(x) ** -0.5, (0.0,), "inv_sqrt_abs"),
    "abs": RitzFunction(np.abs, (), "abs"),
}
"""Named functions: ``1/|x|``, ``1/x``, ``|x|^(-1/2)``, ``|x|``."""


def ritz_function(f: Any) -> RitzFunction:
    r"""Resolve ``f`` (a name of :data:`FUNCTIONS`, ``("abs_power", alpha)``, a callable).

    ``("abs_power", alpha)`` is :math:`|x|^{-\alpha}` (pole at 0 for ``alpha > 0``).
    A plain callable gets no poles; wrap it in :class:`RitzFunction` to declare them.

    Examples
    --------
    >>> ritz_function(("abs_power", 0.5)).poles
    (0.0,)
    """
    if isinstance(f, RitzFunction):
        return f
    if isinstance(f, str):
        if f not in FUNCTIONS:
            raise ValueError(f"f must be one of {tuple(FUNCTIONS)}, ('abs_power', alpha) or a "
                             f"callable; got {f!r}")
        return FUNCTIONS[f]
    if isinstance(f, tuple):
        if len(f) != 2 or f[0] != "abs_power":
            raise ValueError(f"f as a tuple must be ('abs_power', alpha), got {f!r}")
        alpha = f[1]
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not math.isfinite(
                alpha):
            raise ValueError(f"alpha of ('abs_power', alpha) must be a finite real, got {alpha!r}")
        return _abs_power(float(alpha))
    if callable(f):
        return RitzFunction(f)
    raise TypeError(f"f must be a function name, ('abs_power', alpha) or a callable, got "
                    f"{type(f).__name__}")


@dataclass(frozen=True)
class LanczosInfo:
    """What :func:`lanczos_apply` did.

    Attributes
    ----------
    function : str
        Name of ``f``.
    matvecs : int
        Matvecs of the user's operator spent (= Lanczos steps).
    steps : int
        Size ``k`` of the tridiagonal matrix the result uses.
    status : str
        ``"converged"`` (estimate met ``tol``), ``"breakdown"`` (invariant subspace:
        exact up to rounding), ``"max_matvecs"`` (budget spent first) or ``"zero"``
        (``g = 0``).
    converged : bool
        ``status in ("converged", "breakdown", "zero")``.
    error_estimate : float
        Estimated relative error (0 for an exact result, ``inf`` when no two clean
        iterates existed).
    ritz_guard : float
        Relative weight of the unreliable Ritz pairs (see the module docstring).
    smallest_ritz, largest_ritz : float
        ``min |theta|`` and ``max |theta|`` of the returned iterate's Ritz values.
    """

    function: str
    matvecs: int
    steps: int
    status: str
    converged: bool
    error_estimate: float
    ritz_guard: float
    smallest_ritz: float
    largest_ritz: float


def lanczos_apply(op: Any, g: Any, f: Any, *, tol: float = 1e-8,
                  max_matvecs: int | None = None, full_output: bool = False) -> Any:
    r"""Apply ``f(H)`` to ``g`` by the Lanczos method, to a relative tolerance.

    .. math::

        f(H)\, g \approx \|g\|\, Q_k f(T_k) e_1

    with full reorthogonalisation (accurate in float32 and float64), the stopping
    rule and Ritz-value guard of the module docstring, and exact results on a
    breakdown.

    Parameters
    ----------
    op
        The symmetric ``H``: anything :func:`~matfun.as_operator` accepts.
    g : array
        Shape ``(n,)``, any array-API backend.
    f : str, tuple or callable
        ``"inv_abs"`` (:math:`1/|x|`), ``"inv"`` (:math:`1/x`), ``"inv_sqrt_abs"``,
        ``"abs"``, ``("abs_power", alpha)`` (:math:`|x|^{-\alpha}`), a callable on a
        NumPy array of Ritz values, or a :class:`RitzFunction` (a callable with its
        poles).
    tol : float
        Target relative error. Reachable down to about ``eps * cond(f, H)`` of the
        dtype (use ``>= 1e-5`` in float32).
    max_matvecs : int, optional
        Budget; default ``n`` (the Krylov space is then the whole space). The basis
        keeps one vector per matvec.
    full_output : bool
        Also return a :class:`LanczosInfo`.

    Returns
    -------
    x : array
        Same backend, shape and dtype as ``g``.
    info : LanczosInfo
        Only with ``full_output=True``.

    Raises
    ------
    SingularFunctionError
        ``f`` has a pole at an eigenvalue that ``g`` excites (found by a breakdown),
        or ``f`` is infinite at a Ritz value of the last iterate and no earlier one was
        clean. (A budget spent before any clean iterate returns the last one with
        ``error_estimate = inf``.)

    Examples
    --------
    >>> import numpy as np
    >>> H = np.diag([2.0, -1.0, 0.5])
    >>> lanczos_apply(H, np.ones(3), "inv_abs")
    array([0.5, 1. , 2. ])
    """
    xp, g = as_vector(g, "g")
    H = as_operator(op, like=g, name="op")
    function = ritz_function(f)
    tol = _check_tol(tol)
    limit = _check_budget(max_matvecs, H.size)
    before = H.matvecs
    if to_float(norm(xp, g)) == 0.0:  # decision: f(H) 0 = 0, no matvec
        info = LanczosInfo(function.name, 0, 0, "zero", True, 0.0, 0.0, 0.0, 0.0)
        return (0.0 * g, info) if full_output else 0.0 * g
    process = LanczosProcess(H, g)
    stopping = _Stopping(tol)
    latest = None
    next_check, spoilt = 1, 0
    while process.steps < limit and process.step():
        if process.breakdown or process.steps < next_check:
            continue
        latest = _evaluate(process, function)
        if stopping.update(latest):
            break
        # A spoilt check is retried at once (spikes often alternate with clean steps);
        # a second spoilt one in a row falls back to the cadence (each check is O(k^2)).
        spoilt = 0 if stopping.is_clean(latest) else spoilt + 1
        step = 1 if spoilt == 1 else max(1, process.steps // _EVERY_STEP_UNTIL)
        next_check = process.steps + step
    if latest is None or latest.steps != process.steps:
        latest = _evaluate(process, function)
        stopping.update(latest)
    chosen, status, error = stopping.outcome(latest, process.breakdown)
    info = LanczosInfo(function.name, H.matvecs - before, 0 if chosen is None else chosen.steps,
                       status, status in ("converged", "breakdown"), error,
                       latest.guard if chosen is None else chosen.guard,
                       *(_extremes(latest if chosen is None else chosen)))
    if chosen is None:
        raise SingularFunctionError(
            f"f = {function.name} has a pole at a Ritz value (relative weight "
            f"{latest.guard:.3g} after {process.steps} matvecs): f(H) g is undefined; add "
            "damping", info)
    x = _assemble(xp, process, chosen.coefficients, g)
    return (x, info) if full_output else x


@dataclass(frozen=True)
class _Check:
    steps: int
    coefficients: np.ndarray | None
    guard: float
    ritz: np.ndarray


def _evaluate(process: LanczosProcess, function: RitzFunction) -> _Check:
    alphas, betas = process.tridiagonal()
    theta, vectors = _tridiagonal_eigh(np.asarray(alphas), np.asarray(betas))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        values = np.asarray(function.evaluate(theta), dtype=np.float64)
    if values.shape != theta.shape:
        raise ValueError(f"f must map an array of Ritz values to an array of the same shape; "
                         f"got shape {values.shape} for {theta.shape}")
    weights = values * vectors[0]
    finite = np.isfinite(weights)
    # Residuals of the Ritz pairs (0 after a breakdown, but never below rounding).
    floor = 10 * process.steps * process._eps * max(1.0, float(np.max(np.abs(theta))))
    radius = np.maximum(process.residual * np.abs(vectors[-1]), floor)
    unreliable = ~finite
    for pole in function.poles:
        unreliable |= np.abs(theta - pole) <= radius
    if not np.all(finite):
        return _Check(process.steps, None, math.inf, theta)
    coefficients = process.start_norm * (vectors @ weights)
    size = float(np.linalg.norm(coefficients))
    spurious = process.start_norm * float(np.linalg.norm(weights[unreliable]))
    guard = spurious / size if size > 0 else (0.0 if spurious == 0 else math.inf)
    return _Check(process.steps, coefficients, guard, theta)


def _tridiagonal_eigh(alphas: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if alphas.size == 1:
        return alphas.copy(), np.ones((1, 1))
    try:
        return scipy.linalg.eigh_tridiagonal(alphas, betas)
    except np.linalg.LinAlgError:  # rare LAPACK stemr failure: dense fallback
        matrix = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
        return np.linalg.eigh(matrix)


class _Stopping:
    """Lagged differences between clean iterates; two consecutive hits stop."""

    def __init__(self, tol: float) -> None:
        self.tol = tol
        self.clean: list[_Check] = []
        self.estimates: list[float] = []
        self.hits = 0

    def is_clean(self, check: _Check) -> bool:
        """Finite, and the unreliable Ritz pairs weigh at most ``tol``."""
        return check.coefficients is not None and check.guard <= self.tol

    def update(self, check: _Check) -> bool:
        if not self.is_clean(check):
            return False
        # The lagged change estimates the error at k - d, which bounds the error at k
        # under geometric convergence once q^d <= 1/2 (module docstring).
        estimate = self._lagged_change(check)
        self.clean.append(check)
        self.estimates.append(estimate)
        self.hits = self.hits + 1 if estimate <= self.tol else 0
        return self.hits >= _CONSECUTIVE

    def _lagged_change(self, check: _Check) -> float:
        """``||y_k - y_j|| / ||y_k||`` for the latest clean check ``j <= k - d``."""
        target = check.steps - max(1, check.steps // _LAG_DIVISOR)
        reference = next((c for c in reversed(self.clean) if c.steps <= target), None)
        if reference is None:
            return math.inf
        difference = check.coefficients.copy()
        difference[: reference.steps] -= reference.coefficients
        size = float(np.linalg.norm(check.coefficients))
        change = float(np.linalg.norm(difference))
        return change / size if size > 0 else (0.0 if change == 0 else math.inf)

    def outcome(self, latest: _Check, breakdown: bool) -> tuple[_Check | None, str, float]:
        if breakdown:
            # Exact up to rounding, unless f has a pole at one of the eigenvalues found.
            return (latest, "breakdown", 0.0) if self.is_clean(latest) else (
                None, "breakdown", math.inf)
        if self.hits >= _CONSECUTIVE:
            return self.clean[-1], "converged", self.estimates[-1]
        if not self.clean:
            # Budget spent before any clean iterate: return the last finite one, flagged
            # by an infinite error estimate.
            return (latest if latest.coefficients is not None else None), "max_matvecs", \
                math.inf
        return self.clean[-1], "max_matvecs", self.estimates[-1]


def _extremes(check: _Check) -> tuple[float, float]:
    magnitudes = np.abs(check.ritz)
    return float(np.min(magnitudes)), float(np.max(magnitudes))


def _assemble(xp: Any, process: LanczosProcess, coefficients: np.ndarray, g: Any) -> Any:
    basis = xp.stack(process.basis[: coefficients.size], axis=1)
    weights = xp.asarray(coefficients, dtype=g.dtype, device=array_device(g))
    return basis @ weights


def _check_tol(tol: float) -> float:
    if isinstance(tol, bool) or not isinstance(tol, int | float):
        raise TypeError(f"tol must be a positive real number, got {tol!r}")
    tol = float(tol)
    if not (tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be a positive finite number, got {tol}")
    return tol


def _check_budget(max_matvecs: int | None, size: int) -> int:
    if max_matvecs is None:
        return size
    return positive_integer(max_matvecs, "max_matvecs")

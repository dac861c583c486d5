r"""Estimating the spectral radius of a symmetric operator from matvecs.

The series need ``V > lambda_max(H^2) / 2`` and the Chebyshev method needs an
upper bound of the spectrum; both come from here.

* ``method="lanczos"`` (default): ``steps`` Lanczos steps with full
  reorthogonalisation from a random start. The extreme Ritz values
  :math:`\theta` converge to the extreme eigenvalues from inside, and
  :math:`\max|\theta| + \beta_k` (``beta_k`` the last off-diagonal of the
  tridiagonal matrix) is the practical upper bound of Zhou and Li (2011): the
  largest eigenvalue lies within ``beta_k`` of the Ritz interval unless the start
  vector is (nearly) orthogonal to its eigenvector, which a random start avoids
  with probability one.
* ``method="power"``: ``steps`` power iterations; the Rayleigh quotient
  :math:`\rho` and residual ``r = H q - rho q`` give
  ``upper = |rho| + ||r||`` (an eigenvalue lies within ``||r||`` of ``rho``),
  times the safety factor. Slower to converge than Lanczos; kept because it
  needs no basis.

Both are multiplied by ``safety`` (default 1.01). After a Lanczos breakdown the
Ritz values are eigenvalues and the bound is exact (times ``safety``).

References
----------
Y. Zhou and R.-C. Li (2011), *Bounding the spectrum of large Hermitian matrices*,
Linear Algebra and its Applications 435, 480-493.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import device as array_device

from ._backend import as_vector, inner, namespace, norm, to_float
from ._lanczos import LanczosProcess
from ._validation import positive_integer
from .operators import as_operator

__all__ = ["SpectralEstimate", "SpectralInterval", "spectral_interval", "spectral_radius",
           "random_start"]

METHODS = ("lanczos", "power")


@dataclass(frozen=True)
class SpectralEstimate:
    """An estimate of ``max |lambda(H)|``.

    Attributes
    ----------
    estimate : float
        The best point estimate (a lower bound up to rounding).
    upper : float
        The safe-side value to use as a bound (estimate plus residual, times safety).
    matvecs : int
        Matvecs spent.
    """

    estimate: float
    upper: float
    matvecs: int


@dataclass(frozen=True)
class SpectralInterval:
    r"""Estimates of ``min |lambda(H)|`` and ``max |lambda(H)|`` from one Lanczos run.

    Attributes
    ----------
    smallest : float
        :math:`\min_j |\theta_j|` over the Ritz values: a *heuristic* estimate of
        :math:`\min_i |\lambda_i|`. Interior Ritz values converge slowly and a Ritz
        value may sit in a gap of the spectrum, so it can lie on either side; it is
        exact only after a breakdown.
    largest : float
        :math:`\max_j |\theta_j| \le \max_i |\lambda_i|`: a lower bound (up to rounding).
    upper : float
        The safe-side bound ``(largest + beta_k) * safety`` on :math:`\max_i |\lambda_i|`
        (as :func:`spectral_radius`).
    matvecs : int
        Matvecs spent.
    exact : bool
        True after a breakdown: the Ritz values are eigenvalues (of the part of the
        spectrum the random start reaches, with probability one all of it).
    """

    smallest: float
    largest: float
    upper: float
    matvecs: int
    exact: bool


def spectral_interval(op: Any, *, like: Any, steps: int = 30, seed: int = 0,
                      safety: float = 1.01) -> SpectralInterval:
    """Estimate the range of ``|lambda(H)|`` by ``steps`` Lanczos steps from a random start.

    The Chebyshev method needs both ends of the spectrum of :math:`H^2`; the upper
    end comes with the Zhou-Li bound of the module docstring, the lower end only as
    a heuristic (see :class:`SpectralInterval`).

    Parameters
    ----------
    op : operator-like
        Anything :func:`matfun.as_operator` accepts.
    like : array
        A vector fixing backend, device and dtype (and ``n`` for callables).
    steps : int
        Matvecs to spend (fewer after a breakdown).
    seed : int
        Seed of the random start vector.
    safety : float
        Factor ``>= 1`` applied to the upper bound.

    Returns
    -------
    SpectralInterval

    Examples
    --------
    >>> import numpy as np
    >>> from matfun.spectrum import spectral_interval
    >>> est = spectral_interval(np.diag([1.0, -3.0, 2.0]), like=np.ones(3))
    >>> round(est.smallest, 12), est.exact
    (1.0, True)
    """
    steps = positive_integer(steps, "steps")
    if not safety >= 1.0:
        raise ValueError(f"safety must be >= 1, got {safety!r}")
    _, like = as_vector(like, "like")
    H = as_operator(op, like=like, name="op")
    before = H.matvecs
    process = LanczosProcess(H, random_start(like, H.size, seed))
    while process.steps < steps and process.step():
        pass
    alphas, betas = process.tridiagonal()
    magnitudes = np.abs(np.linalg.eigvalsh(_tridiagonal_matrix(alphas, betas)))
    largest = float(np.max(magnitudes))
    return SpectralInterval(float(np.min(magnitudes)), largest,
                            (largest + process.residual) * safety, H.matvecs - before,
                            process.breakdown)


def random_start(like: Any, size: int, seed: int) -> Any:
    """A reproducible standard-normal vector of length ``size`` in ``like``'s backend and dtype.

    Drawn on the host with NumPy (it is not user data) and moved once.
    """
    xp = namespace(like)
    values = np.random.default_rng(seed).standard_normal(size)
    return xp.asarray(values, dtype=like.dtype, device=array_device(like))


def spectral_radius(op: Any, *, like: Any, method: str = "lanczos", steps: int = 20,
                    seed: int = 0, safety: float = 1.01) -> SpectralEstimate:
    """Estimate ``max |lambda(H)|`` of a symmetric operator.

    Parameters
    ----------
    op : operator-like
        Anything :func:`matfun.as_operator` accepts.
    like : array
        A vector fixing backend, device and dtype (and ``n`` for callables).
    method : {"lanczos", "power"}
    steps : int
        Matvecs to spend (fewer if Lanczos finds an invariant subspace).
    seed : int
        Seed of the random start vector.
    safety : float
        Factor ``>= 1`` applied to the upper bound.

    Returns
    -------
    SpectralEstimate

    Examples
    --------
    >>> import numpy as np
    >>> from matfun.spectrum import spectral_radius
    >>> est = spectral_radius(np.diag([1.0, -3.0, 2.0]), like=np.ones(3))
    >>> bool(3.0 <= est.upper <= 3.1)
    True
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    steps = positive_integer(steps, "steps")
    if not safety >= 1.0:
        raise ValueError(f"safety must be >= 1, got {safety!r}")
    _, like = as_vector(like, "like")
    H = as_operator(op, like=like, name="op")
    before = H.matvecs
    start = random_start(like, H.size, seed)
    if method == "lanczos":
        estimate, upper = _lanczos_bound(H, start, steps)
    else:
        estimate, upper = _power_bound(H, start, steps)
    return SpectralEstimate(estimate, upper * safety, H.matvecs - before)


def _lanczos_bound(H, start, steps):
    process = LanczosProcess(H, start)
    while process.steps < steps and process.step():
        pass
    alphas, betas = process.tridiagonal()
    ritz = np.linalg.eigvalsh(_tridiagonal_matrix(alphas, betas))
    estimate = float(np.max(np.abs(ritz)))
    return estimate, estimate + process.residual


def _tridiagonal_matrix(alphas, betas):
    return np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)


def _power_bound(H, start, steps):
    xp = namespace(start)
    q = start / norm(xp, start)
    for _ in range(steps - 1):
        w = H.matvec(q)
        size = norm(xp, w)
        if to_float(size) == 0.0:  # decision: q is in the null space
            return 0.0, 0.0
        q = w / size
    w = H.matvec(q)
    rho = to_float(xp.real(inner(xp, q, w)))  # q^H H q: real for a Hermitian H
    residual = to_float(norm(xp, w - rho * q))
    return abs(rho), abs(rho) + residual

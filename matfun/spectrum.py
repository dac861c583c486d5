r"""Spectral information about a symmetric operator: certified intervals and radius estimates.

* :func:`certified_interval` -- an interval ``[lower, upper]`` that holds every
  :math:`|\lambda_i(H)|` (so ``[lower^2, upper^2]`` holds the spectrum of ``H^2``),
  *proven*: deterministically for dense matrices (``eigh`` with an a posteriori
  Bauer-Fike bound), or with a stated failure probability over a random start
  for operators known only through matvecs (Lanczos and its polynomial: an
  eigenvalue outside the interval would force the random start's component on
  it to be tiny). An end that cannot be certified within the budget is reported as such
  (``lower = 0`` / ``upper = inf``), never guessed. Proof sketches:
  :mod:`matfun._certify`. The Chebyshev method uses it.
* :func:`spectral_radius` -- a *heuristic* estimate of :math:`\max|\lambda|` for the
  series' scale ``V`` (which detect divergence and restart, so a slight
  underestimate is safe there):

  * ``method="lanczos"`` (default): ``steps`` Lanczos steps with full
    reorthogonalisation from a random start; :math:`\max|\theta| + \beta_k`
    is the practical upper bound of Zhou and Li (2011), not a proven one.
  * ``method="power"``: the Rayleigh quotient :math:`\rho` and residual ``r`` of
    ``steps`` power iterations give ``|rho| + ||r||``.

  Both are multiplied by ``safety`` (default 1.01).

References
----------
Y. Zhou and R.-C. Li (2011), *Bounding the spectrum of large Hermitian matrices*,
Linear Algebra and its Applications 435, 480-493; and those of :mod:`matfun._certify`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import device as array_device

from ._backend import as_vector, inner, is_complex, namespace, norm, to_float
from ._certify import dense_certificate, krylov_certificate
from ._lanczos import LanczosProcess
from ._validation import check_integer, check_real, positive_integer
from .operators import Operator, as_operator

__all__ = ["CertifiedInterval", "SpectralEstimate", "certified_interval", "random_start",
           "spectral_radius"]

_EIGH_UP_TO = 2048

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
class CertifiedInterval:
    r"""An interval ``[lower, upper]`` holding every :math:`|\lambda_i(H)|`, and how it is known.

    Attributes
    ----------
    lower, upper : float
        Bounds on :math:`\min_i |\lambda_i|` and :math:`\max_i |\lambda_i|`. Where an end
        could not be certified within the budget, ``lower`` is 0 and ``upper`` is inf:
        never an estimate.
    certificate : str
        ``"eigh"``: deterministic (a posteriori Bauer-Fike on a dense eigendecomposition,
        rounding included). ``"invariant"``: Lanczos spanned the whole space (small
        ``n``); the Ritz values are the eigenvalues, up to rounding. ``"krylov"``: holds
        with probability at least ``1 - failure_probability`` over the random start,
        for every ``H`` chosen independently of ``seed`` (see :mod:`matfun._certify`).
    status : str
        ``"certified"`` (both ends), ``"upper only"`` (``lower = 0``) or
        ``"not certified"`` (``lower = 0``, ``upper = inf``).
    failure_probability : float
        0 for ``"eigh"`` and ``"invariant"``.
    matvecs : int
        Matvecs of the operator spent (0 for ``"eigh"``, which uses the matrix).
    ritz : tuple of float
        ``(s_min, s_max)``: the uncertified Krylov values (extreme singular values of
        the Lanczos matrix, from its square, so ``s_min`` is accurate only to about
        ``eps s_max^2 / s_min``; or ``lower, upper`` for ``eigh``), for comparison.
    sign : int
        ``+1``: every eigenvalue is proven positive (``H`` is positive definite, its
        spectrum in ``[lower, upper]``); ``-1``: every eigenvalue proven negative; ``0``:
        neither was proven (``H`` may be indefinite). Holds with the same guarantee as
        the interval (deterministic for ``"eigh"``/``"invariant"``, else with
        probability ``1 - failure_probability``, on the same event).
    """

    lower: float
    upper: float
    certificate: str
    status: str
    failure_probability: float
    matvecs: int
    ritz: tuple[float, float]
    sign: int = 0

    @property
    def squared(self) -> tuple[float, float]:
        """``(lower**2, upper**2)``: holds the spectrum of ``H^2`` (inf on overflow)."""
        return _square(self.lower), _square(self.upper)


def _square(value: float) -> float:
    return value * value  # a float product overflows to inf, never raises


def certified_interval(op: Any, *, like: Any, method: str = "auto",
                       failure_probability: float = 1e-6, max_matvecs: int | None = None,
                       slack: float = 2.0, seed: int = 0) -> CertifiedInterval:
    r"""An interval guaranteed to hold every :math:`|\lambda_i(H)|` of a symmetric operator.

    Proof sketches in :mod:`matfun._certify`. In short: a Ritz value with residual
    ``r`` only proves that *some* eigenvalue lies within ``||r||`` of it (Kato, Temple,
    Lehmann) -- the wrong side for both ends of a Chebyshev interval; a bound on *all*
    eigenvalues needs the whole matrix (``method="eigh"``, deterministic) or, from
    matvecs alone, a random start and a probability (``method="lanczos"``).

    Parameters
    ----------
    op : operator-like
        Anything :func:`matfun.as_operator` accepts (symmetric or complex Hermitian).
    like : array
        A vector fixing backend, device and dtype (and ``n`` for callables).
    method : {"auto", "eigh", "lanczos"}
        ``"auto"``: ``"eigh"`` for a dense matrix with ``n <= 2048``, else ``"lanczos"``.
    failure_probability : float
        For ``"lanczos"``: in (0, 1), the probability that the interval is wrong.
    max_matvecs : int, optional
        Budget of ``"lanczos"`` (default ``min(10000, 50 n)``).
    slack : float
        ``"lanczos"`` stops once ``upper^2 / lower^2`` is within this factor of the
        uncertified ``(s_max / s_min)^2`` (a Chebyshev solve on the interval then
        costs at most ``sqrt(slack)`` times what the uncertified one would).
    seed : int
        Seed of the random start.

    Returns
    -------
    CertifiedInterval

    Examples
    --------
    >>> import numpy as np
    >>> from matfun.spectrum import certified_interval
    >>> box = certified_interval(np.diag([1.0, -3.0, 2.0]), like=np.ones(3))
    >>> box.certificate, bool(0.99 < box.lower <= 1.0 and 3.0 <= box.upper < 3.01)
    ('eigh', True)
    >>> box = certified_interval(np.diag([1.0, -3.0, 2.0]), like=np.ones(3), method="lanczos")
    >>> box.certificate, bool(0.99 < box.lower <= 1.0 and 3.0 <= box.upper < 3.01)
    ('invariant', True)
    """
    if method not in ("auto", "eigh", "lanczos"):
        raise ValueError(f"method must be 'auto', 'eigh' or 'lanczos', got {method!r}")
    failure_probability = check_real(failure_probability, "failure_probability")
    if not 0 < failure_probability < 1:
        raise ValueError(f"failure_probability must be in (0, 1), got {failure_probability!r}")
    slack = check_real(slack, "slack")
    if not slack > 1:
        raise ValueError(f"slack must be > 1, got {slack!r}")
    seed = check_integer(seed, "seed")
    _, like = as_vector(like, "like")
    H = as_operator(op, like=like, name="op")
    budget = min(10_000, 50 * H.size) if max_matvecs is None else positive_integer(
        max_matvecs, "max_matvecs")
    return _certify_operator(H, like, method=method, failure_probability=failure_probability,
                             budget=budget, slack=slack, seed=seed)


def _certify_operator(H: Operator, like: Any, *, method: str, failure_probability: float,
                      budget: int, slack: float, seed: int,
                      cost: Callable[[float, float, int], float] | None = None
                      ) -> CertifiedInterval:
    """:func:`certified_interval` on an already normalised operator (for internal callers).

    ``cost(lower, upper, sign)``: the matvecs a solve on that interval would take (inf
    if unusable; ``sign`` as in :class:`CertifiedInterval`); with it, the Krylov
    certificate stops when more steps would no longer pay for themselves in that solve
    (instead of by ``slack``).
    """
    if method == "auto":
        dense = H.array is not None and H.size <= _EIGH_UP_TO
        # Dask has no eigh: its dense matrices are certified by matvecs like any operator.
        method = "eigh" if dense and hasattr(namespace(H.array).linalg, "eigh") else "lanczos"
    if method == "eigh":
        if H.array is None:
            raise TypeError("method='eigh' needs a dense matrix; use method='lanczos'")
        lower, upper, _, sign = dense_certificate(H.array)
        return CertifiedInterval(lower, upper, "eigh", _status(lower, upper), 0.0, 0,
                                 (lower, upper), sign if lower > 0 else 0)
    before = H.matvecs
    found = krylov_certificate(H, random_start(like, H.size, seed),
                               failure_probability=failure_probability, budget=budget,
                               slack=slack, complex_field=is_complex(namespace(like), like),
                               cost=cost)
    lower, upper = found["lower"], found["upper"]
    kind = "invariant" if found["exact"] else "krylov"
    return CertifiedInterval(lower, upper, kind, _status(lower, upper),
                             0.0 if found["exact"] else failure_probability,
                             H.matvecs - before, found["ritz"],
                             found["sign"] if lower > 0 and math.isfinite(upper) else 0)


def _status(lower: float, upper: float) -> str:
    if not math.isfinite(upper):
        return "not certified"
    return "certified" if lower > 0 else "upper only"


def random_start(like: Any, size: int, seed: int) -> Any:
    """A reproducible standard-normal vector of length ``size`` in ``like``'s backend and dtype.

    Drawn on the host with NumPy (it is not user data) and moved once.

    Examples
    --------
    >>> import numpy as np
    >>> from matfun.spectrum import random_start
    >>> v = random_start(np.zeros(3, dtype=np.float32), 3, seed=0)
    >>> v.dtype, bool(np.all(v == random_start(np.zeros(3, dtype=np.float32), 3, seed=0)))
    (dtype('float32'), True)
    """
    _, like = as_vector(like, "like")
    size = check_integer(size, "size", minimum=1)
    seed = check_integer(seed, "seed")
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
    seed = check_integer(seed, "seed")
    safety = check_real(safety, "safety")
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

r"""One front door for the saddle-free direction :math:`|H|^{-1} g = (H^2)^{-1/2} g`.

Three methods, each stopping at a tolerance or a matvec budget:

==============  =====================================  ====================================
``method``      what                                   matvecs to relative error ``eps``
==============  =====================================  ====================================
``"series"``    the seed paper's binomial series       :math:`O(\kappa^2 \ln(1/\epsilon))`
                (:func:`matfun.inv_sqrt_series`)
``"chebyshev"`` Chebyshev expansion of                 :math:`\approx \kappa \ln(2/\epsilon)`
                :math:`y^{-1/2}` on the spectrum of
                :math:`H^2` (:mod:`matfun.chebyshev`)
``"lanczos"``   Lanczos :math:`f(T_k)`                 adapts to the spectrum; at most
                (:mod:`matfun.lanczos`)                that of Chebyshev, usually far less
==============  =====================================  ====================================

Damping ``lam = damping`` (names as in :func:`matfun.inv_sqrt_series`):

* ``"abs"``: :math:`(|H| + \lambda I)^{-1} g` -- Lanczos with
  :math:`f(x) = 1/(|x| + \lambda)`; not available for Chebyshev (it gives no lower
  spectral bound, and :math:`1/(\sqrt y + \lambda)` has no closed-form tail bound);
* ``"square"``: :math:`(H^2 + \lambda I)^{-1/2} g` -- Lanczos with
  :math:`(x^2 + \lambda)^{-1/2}`, Chebyshev with ``mu = lam`` (then ``lo = lam`` is
  guaranteed);
* ``"shift"``: :math:`|H + \lambda I|^{-1} g` -- both methods on the shifted operator
  (no extra matvec).

Every method reports a :class:`SolveInfo` (``details`` holds the method's own info).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._backend import as_vector
from ._validation import positive_integer
from .chebyshev import chebyshev_inv_sqrt
from .lanczos import RitzFunction, lanczos_apply
from .operators import as_operator, shift
from .series import inv_sqrt_series

__all__ = ["METHODS", "SolveInfo", "inv_sqrt"]

METHODS = ("series", "chebyshev", "lanczos")
DAMPING_KINDS = ("abs", "square", "shift")


@dataclass(frozen=True)
class SolveInfo:
    """What :func:`inv_sqrt` did, the same for every method.

    Attributes
    ----------
    method : str
        ``"series"``, ``"chebyshev"`` or ``"lanczos"``.
    matvecs : int
        Matvecs of the user's operator spent (estimates of the spectrum included).
    converged : bool
        Whether the method's error estimate met ``atol + rtol * ||x||`` (or the result
        is exact).
    error_estimate : float
        The method's estimate of the relative error (error / ``||x||``): the series'
        tail estimate, Chebyshev's truncation bound, Lanczos' heuristic estimate or,
        with ``bounds=``, its guaranteed bound (:mod:`matfun.lanczos`).
    details : object
        The method's own info (:class:`~matfun.SeriesInfo`,
        :class:`~matfun.chebyshev.ChebyshevInfo`, :class:`~matfun.lanczos.LanczosInfo`).
    """

    method: str
    matvecs: int
    converged: bool
    error_estimate: float
    details: Any


def inv_sqrt(op: Any, g: Any, *, method: str = "lanczos", rtol: float = 1e-8,
             atol: float = 0.0, max_matvecs: int | None = None, damping: float = 0.0,
             damping_kind: str = "abs", full_output: bool = False, **options: Any) -> Any:
    r"""The saddle-free direction :math:`(H^2)^{-1/2} g` (optionally damped) by any method.

    Parameters
    ----------
    op
        The symmetric ``H``: anything :func:`~matfun.as_operator` accepts.
    g : array
        Shape ``(n,)``, any array-API backend.
    method : {"lanczos", "chebyshev", "series"}
        See the module docstring.
    rtol, atol : float
        Stop when the method's error estimate is at most ``atol + rtol * ||x||``
        (SciPy's convention; ``rtol`` below ``10 eps`` of the dtype is refused).
    max_matvecs : int, optional
        Budget of matvecs (the series gets ``max_terms = max_matvecs // 2``; its scale
        estimate, if any, is extra).
    damping : float
        ``lam >= 0``.
    damping_kind : {"abs", "square", "shift"}
        See the module docstring.
    full_output : bool
        Also return a :class:`SolveInfo`.
    **options
        Passed to the method: :func:`~matfun.inv_sqrt_series` (``scale``,
        ``accelerate``, ``order``...), :func:`~matfun.chebyshev.chebyshev_inv_sqrt`
        (``interval``, ``scale``, ``degree``); for Lanczos ``bounds=(a, b)``
        (``a <= |lambda(H)| <= b``: the stop then rests on a guaranteed error bound;
        undamped only), ``memory="low"`` (two passes, ``O(1)`` vectors) and
        ``memory="auto"`` with ``max_memory`` (bytes: full memory if its basis fits),
        see :func:`~matfun.lanczos_apply`.

    Returns
    -------
    x : array
        Same backend, shape and dtype as ``g``.
    info : SolveInfo
        Only with ``full_output=True``.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.diag([2.0, -1.0, 0.5])
    >>> x, info = inv_sqrt(H, np.ones(3), full_output=True)
    >>> np.round(x, 12), info.method, info.converged
    (array([0.5, 1. , 2. ]), 'lanczos', True)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if damping_kind not in DAMPING_KINDS:
        raise ValueError(f"damping_kind must be one of {DAMPING_KINDS}, got {damping_kind!r}")
    lam = _damping(damping)
    if max_matvecs is not None:
        max_matvecs = positive_integer(max_matvecs, "max_matvecs")
    if method == "series":
        x, details = _series(op, g, rtol, atol, max_matvecs, lam, damping_kind, options)
        info = SolveInfo(method, details.matvecs, details.converged, details.error_estimate,
                         details)
    elif method == "chebyshev":
        x, details = _chebyshev(op, g, rtol, atol, max_matvecs, lam, damping_kind, options)
        info = SolveInfo(method, details.matvecs, details.converged, details.error_bound,
                         details)
    else:
        bounds = options.pop("bounds", None)
        memory = options.pop("memory", "full")
        max_memory = options.pop("max_memory", None)
        if options:
            raise TypeError(f"method='lanczos' takes no options other than bounds, memory "
                            f"and max_memory, got {sorted(options)}")
        if bounds is not None and lam:
            raise ValueError("bounds are supported for undamped Lanczos only (damping=0)")
        x, details = _lanczos(op, g, rtol, atol, bounds, memory, max_memory, max_matvecs,
                              lam, damping_kind)
        info = SolveInfo(method, details.matvecs, details.converged, details.error_estimate,
                         details)
    return (x, info) if full_output else x


def _series(op, g, rtol, atol, max_matvecs, lam, kind, options):
    if {"terms", "max_terms", "max_matvecs"} & set(options):
        raise TypeError("pass rtol and max_matvecs to inv_sqrt, not terms/max_terms")
    budget = {} if max_matvecs is None else {"max_matvecs": max_matvecs,
                                              "max_terms": max(1, max_matvecs)}
    return inv_sqrt_series(op, g, rtol=rtol, atol=atol, damping=lam, damping_kind=kind,
                           full_output=True, **budget, **options)


def _chebyshev(op, g, rtol, atol, max_matvecs, lam, kind, options):
    if "damping" in options:
        raise TypeError("pass damping to inv_sqrt (with damping_kind), not as an option")
    if lam and kind == "abs":
        raise ValueError("damping_kind='abs' is not available for method='chebyshev' (no lower "
                         "spectral bound, no error bound); use damping_kind='square', or "
                         "method='lanczos'")
    if lam and kind == "shift":
        _, g = as_vector(g, "g")
        op, lam = shift(as_operator(op, like=g, name="op"), lam), 0.0
    return chebyshev_inv_sqrt(op, g, rtol=rtol, atol=atol, damping=lam,
                              max_matvecs=max_matvecs, full_output=True, **options)


def _lanczos(op, g, rtol, atol, bounds, memory, max_memory, max_matvecs, lam, kind):
    f: Any = "inv_abs"
    if lam and kind == "shift":
        _, g = as_vector(g, "g")
        op = shift(as_operator(op, like=g, name="op"), lam)
    elif lam and kind == "abs":
        f = RitzFunction(lambda x: 1.0 / (np.abs(x) + lam), (), f"1/(|x| + {lam:g})")
    elif lam:
        f = RitzFunction(lambda x: (x * x + lam) ** -0.5, (), f"(x^2 + {lam:g})^(-1/2)")
    return lanczos_apply(op, g, f, rtol=rtol, atol=atol, bounds=bounds, memory=memory,
                         max_memory=max_memory, max_matvecs=max_matvecs, full_output=True)


def _damping(damping: Any) -> float:
    if isinstance(damping, bool) or not isinstance(damping, numbers.Real):
        raise TypeError(f"damping must be a real number, got {damping!r}")
    lam = float(damping)
    if not (lam >= 0 and math.isfinite(lam)):
        raise ValueError(f"damping must be a non-negative finite number, got {damping}")
    return lam

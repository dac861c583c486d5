r"""Functions of a symmetric matrix applied to a vector by the Lanczos method.

After ``k`` Lanczos steps from :math:`q_1 = g/\|g\|` (one matvec each, full
reorthogonalisation, :class:`matfun._lanczos.LanczosProcess`; ``H`` real symmetric or
complex Hermitian),
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

Scale
-----
The process runs on ``H / s`` from ``g / d`` (``s``, ``d`` powers of two from the
first product and the largest entry of ``g``; :mod:`matfun._lanczos`), so any finite
magnitudes work (float64: 1e-300..1e300). The named functions are positively
homogeneous of a known degree ``p`` (``1/|x|``: ``p = -1``) and are evaluated on the
scaled Ritz values, the result multiplied by ``d s^p`` at the end. A
:class:`RitzFunction` without ``degree`` (a plain callable, the damped functions of
:func:`matfun.inv_sqrt`) is evaluated at the true Ritz values ``s theta`` (``f`` must
itself be representable there), its values divided by a power of two fixed at the
first check (:mod:`matfun._lanczos_values`: no subnormal arithmetic when they are
tiny), and only ``g`` is rescaled for it.

Stopping rule
-------------
Converged means *estimated* absolute error ``<= atol + rtol ||x||``;
``error_estimate`` is the relative one (error / ``||x||``).

**With spectral bounds** (``bounds=(a, b)``: every eigenvalue has
``a <= |lambda| <= b``, ``a > 0``) the estimate is a *guaranteed* upper bound in
exact arithmetic for ``f`` in ``"inv"``, ``"inv_abs"``, ``"inv_sqrt_abs"`` and
``("abs_power", alpha)`` with ``0 < alpha < 2``: the error of the shifted systems
``(H - z)^{-1} g`` is ``||g|| beta_k |e_k^T (T_k - z)^{-1} e_1| ||(H - z)^{-1}
q_{k+1}||``, and these ``f`` are positive integrals of such resolvents (proof
sketch and references in :mod:`matfun._lanczos_bounds`). Rounding adds an
``O(eps * cond)`` term the bound does not include. The run stops at the first step
whose bound meets the tolerance. A Ritz value above ``b`` proves the bounds wrong
and raises ``ValueError``.

**Without bounds** the estimate is a *heuristic* (no a-posteriori estimate can be
safe without spectral information: a component of ``g`` of size ``delta`` on an
eigenvalue far below every Ritz value stays invisible until the Krylov polynomial
resolves it). It is the larger of

* the lagged change :math:`\|y_k - [y_j; 0]\| / \|y_k\|` (``y_k = f(T_k) e_1``,
  compared in the orthonormal basis, no vector work) against a clean iterate ``y_j``
  with ``k - k // 8 <= j <= k - d``, ``d = max(1, k // 16)`` (an earlier check, or
  recomputed from the leading block ``T_j``): under geometric convergence
  :math:`\varepsilon_k = C q^k` it bounds the error once :math:`q^d \le 1/2`;
* for the functions above, the bound of the previous paragraph with the Ritz values
  standing in for ``(a, b)`` (``min |theta|``, ``max |theta| + beta_k``): the
  residual-based estimate, large while a Ritz value nears 0,

and it must meet the tolerance at two consecutive clean checks, after at least
10 steps, not growing by more than 1.5x from one clean check to the next (a growing
estimate means the Krylov space is still finding new content), with the smallest
reliable ``|theta|`` changed by at most 10% over the lag
(an unsettled smallest Ritz value means the bottom of the spectrum -- where
``1/|x|`` puts its weight -- is not resolved yet). Measured on a hostile fuzz
(``python benchmarks/bench_lanczos.py --fuzz 300 --seed S``, S = 0, 1, 2: ``kappa`` up
to 1e8, clustered spectra, ``g`` near eigenvectors, isolated slow modes, extreme
scales) it ended converged with an error above ``10 (rtol + 100 kappa eps)`` in 14 of
900 problems; every one had at most ``4e-5 ||g||`` on the smallest-``|lambda|``
eigenvector, which (in 12 of them) lies 600 to 1e7 times below the next eigenvalue.
With the exact ``bounds``: none.

For ``f`` with a pole the iterates of an indefinite ``H`` *spike*: a Ritz value that
passes close to the pole in a gap of the spectrum gives :math:`f(\theta_j)` a
spurious huge weight. **Ritz-value guard.** The residual of Ritz pair ``j`` is
:math:`\rho_j = \beta_k |u_{kj}|`, and an eigenvalue of ``H`` lies in
:math:`[\theta_j - \rho_j, \theta_j + \rho_j]`. A pair whose interval contains a pole
is *unreliable*; a check is *clean* only if these contributions weigh at most the
relative tolerance; only clean iterates are compared, stopped at, or returned.

Checks run on the host with no matvec and are *scheduled*: which step is checked,
and how much of a check is computed (two screens before the full check), depends on
``k``, ``n`` and the checks' values only, so results are deterministic; the rule
above is the same at every check. The schedule, its screens and its measured cost
are described in :mod:`matfun._lanczos_frame`.

References
----------
N. J. Higham, *Functions of Matrices* (SIAM, 2008), section 13.2.
Golub and Meurant, *Matrices, Moments and Quadrature with Applications* (2010).
Chen, Greenbaum, Musco, Musco (2022), *Error bounds for Lanczos-based matrix
function approximation*, SIAM J. Matrix Anal. Appl. 43(2).
Frommer, Kahl, Lippert, Rittich (2013), *2-norm error bounds and estimates for
Lanczos approximations to linear systems and rational matrix functions*, SIAM J.
Matrix Anal. Appl. 34(3).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._backend import all_finite, as_vector, max_abs, real_dtype, to_float
from ._lanczos import LanczosProcess, largest_magnitude, refuse_autograd
from ._lanczos_bounds import abs_power_density
from ._lanczos_checks import MIN_STEPS, Check, Stopping, evaluate
from ._lanczos_frame import (
    Cadence,
    assemble,
    check_bounds,
    check_budget,
    check_ritz_values,
    choose_memory,
    extremes,
    relative_target,
)
from ._lanczos_low_memory import LowMemoryProcess, first_pass_budget, verify
from ._lanczos_probe import LAG_SCREEN_MARGIN, lag_probe
from ._lanczos_result import LanczosInfo, SingularFunctionError
from ._validation import check_tolerances
from .errors import ResultRangeError
from .operators import as_operator

__all__ = [
    "FUNCTIONS",
    "LanczosInfo",
    "RitzFunction",
    "SingularFunctionError",
    "lanczos_apply",
    "ritz_function",
]


@dataclass(frozen=True)
class RitzFunction:
    r"""A scalar function applied to Ritz values, with what the method may assume of it.

    Attributes
    ----------
    evaluate : callable
        ``numpy array of Ritz values -> numpy array of f values`` (float64, host).
    poles : tuple of float
        Points where ``f`` is singular; they switch on the Ritz-value guard.
    name : str
        Reported in :class:`LanczosInfo`.
    degree : float, optional
        ``p`` with ``f(c x) = c^p f(x)`` for every ``c > 0`` (positive homogeneity).
        Then ``f`` is evaluated on the Ritz values of the rescaled ``H / s`` and the
        result multiplied by ``s^p`` (module docstring); ``None``: ``f`` is evaluated
        at the true Ritz values.
    bound : tuple, optional
        How ``f`` is a positive integral of resolvents, enabling the guaranteed bound
        with spectral bounds: ``("inverse",)`` for ``1/x``, ``("stieltjes", C, p)`` for
        :math:`f(x) = C \int_0^\infty t^p (x^2 + t^2)^{-1} dt`. ``None``: no bound.
    """

    evaluate: Callable[[np.ndarray], np.ndarray]
    poles: tuple[float, ...] = ()
    name: str = "callable"
    degree: float | None = None
    bound: tuple | None = None


def _abs_power(alpha: float) -> RitzFunction:
    bound = ("stieltjes", *abs_power_density(alpha)) if 0 < alpha < 2 else None
    return RitzFunction(lambda x: np.abs(x) ** -alpha, (0.0,) if alpha > 0 else (),
                        f"abs_power({alpha:g})", -alpha, bound)


FUNCTIONS: dict[str, RitzFunction] = {
    "inv_abs": RitzFunction(lambda x: 1.0 / np.abs(x), (0.0,), "inv_abs", -1.0,
                            ("stieltjes", *abs_power_density(1.0))),
    "inv": RitzFunction(lambda x: 1.0 / x, (0.0,), "inv", -1.0, ("inverse",)),
    "inv_sqrt_abs": RitzFunction(lambda x: np.abs(x) ** -0.5, (0.0,), "inv_sqrt_abs", -0.5,
                                 ("stieltjes", *abs_power_density(0.5))),
    "abs": RitzFunction(np.abs, (), "abs", 1.0),
}
"""Named functions: ``1/|x|``, ``1/x``, ``|x|^(-1/2)``, ``|x|``."""


def ritz_function(f: Any) -> RitzFunction:
    r"""Resolve ``f`` (a name of :data:`FUNCTIONS`, ``("abs_power", alpha)``, a callable).

    ``("abs_power", alpha)`` is :math:`|x|^{-\alpha}` (pole at 0 for ``alpha > 0``).
    A plain callable gets no poles, no homogeneity and no bound; wrap it in
    :class:`RitzFunction` to declare them.

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


def lanczos_apply(op: Any, g: Any, f: Any, *, rtol: float = 1e-8, atol: float = 0.0,
                  bounds: tuple[float, float] | None = None, max_matvecs: int | None = None,
                  memory: str = "full", max_memory: float | None = None,
                  full_output: bool = False) -> Any:
    r"""Apply ``f(H)`` to ``g`` by the Lanczos method, to a tolerance.

    .. math::

        f(H)\, g \approx \|g\|\, Q_k f(T_k) e_1

    with full reorthogonalisation (accurate in float32 and float64), the stopping
    rule and Ritz-value guard of the module docstring, and exact results on a
    breakdown. ``H`` may be real symmetric or complex Hermitian.

    Parameters
    ----------
    op
        The Hermitian ``H``: anything :func:`~matfun.as_operator` accepts.
    g : array
        Shape ``(n,)``, any array-API backend, real or complex.
    f : str, tuple or callable
        ``"inv_abs"`` (:math:`1/|x|`), ``"inv"`` (:math:`1/x`), ``"inv_sqrt_abs"``,
        ``"abs"``, ``("abs_power", alpha)`` (:math:`|x|^{-\alpha}`), a callable on a
        NumPy array of Ritz values, or a :class:`RitzFunction` (a callable with its
        poles, homogeneity and bound).
    rtol, atol : float
        Stop when the estimated error is at most ``atol + rtol * ||x||`` (SciPy's
        convention). ``rtol`` below ``10 eps`` of the dtype is refused; reachable down
        to about ``eps * cond(f, H)``.
    bounds : (float, float), optional
        ``(a, b)`` with ``0 < a <= |lambda| <= b`` for every eigenvalue of ``H``. Makes
        the estimate a guaranteed bound (module docstring); only for ``"inv"``,
        ``"inv_abs"``, ``"inv_sqrt_abs"`` and ``("abs_power", alpha)``, ``0 < alpha < 2``.
    max_matvecs : int, optional
        Budget of matvecs, both passes counted (at least 2 with ``memory="low"``);
        default ``n`` steps with full memory (the Krylov space is then the whole
        space), ``4 n`` first-pass steps with low memory (without orthogonality ``n``
        steps do not span it).
    memory : {"full", "low", "auto"}
        ``"full"``: one pass, the basis kept (one vector per matvec) and fully
        reorthogonalised. ``"low"``: two passes with ``O(1)`` vectors and no
        reorthogonalisation, ``2 k`` matvecs for ``k`` steps (more steps than
        ``"full"``: ghost Ritz values delay convergence); the bound from ``bounds``
        stays a guarantee, checked on the regenerated basis, and a stop it does not
        confirm is reported ``"unverified"`` (:mod:`matfun._lanczos_low_memory`).
        ``"auto"``: ``"full"`` if its basis for the whole step budget fits in
        ``max_memory``, else ``"low"`` (``info.memory`` says which ran).
    max_memory : float, optional
        Bytes the vectors may take, for ``memory="auto"`` (required there, refused
        otherwise): ``"full"`` needs ``(k + 4) n`` entries of ``g``'s dtype for a budget
        of ``k`` steps (``max_matvecs``; ``n`` by default, so pass ``max_matvecs`` to let
        a large problem run with full memory), ``"low"`` about ``6 n``; a
        ``ValueError`` if neither fits. The choice is made before the first matvec.
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
    ValueError
        Bad arguments, or a Ritz value proving ``bounds`` wrong.
    matfun.errors.ResultRangeError
        The answer itself is outside the dtype's range (e.g. ``|H|^{-1} g`` with
        ``||g|| = 1e300``, ``||H|| = 1e-300``), or below its normal numbers.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.diag([2.0, -1.0, 0.5])
    >>> lanczos_apply(H, np.ones(3), "inv_abs")
    array([0.5, 1. , 2. ])
    >>> x, info = lanczos_apply(H, np.ones(3), "inv", bounds=(0.5, 2.0), full_output=True)
    >>> info.bounded, info.status
    (True, 'breakdown')
    """
    xp, g = as_vector(g, "g")
    refuse_autograd(g, "g")
    H = as_operator(op, like=g, name="op")
    function = ritz_function(f)
    eps = float(xp.finfo(real_dtype(xp, g)).eps)
    rtol, atol = check_tolerances(rtol, atol, eps=eps, default_rtol=1e-8)
    bounds = check_bounds(bounds, function)
    limit = check_budget(max_matvecs, H.size)
    memory = choose_memory(memory, max_memory, limit, H.size, g)
    if memory == "low":
        limit = first_pass_budget(max_matvecs, H.size)  # 2 k matvecs for k steps
    before = H.matvecs
    if to_float(max_abs(xp, g)) == 0.0:  # decision: f(H) 0 = 0, no matvec
        info = LanczosInfo(function.name, 0, 0, "zero", True, 0.0, bounds is not None, 0.0,
                           0.0, 0.0, memory)
        return (0.0 * g, info) if full_output else 0.0 * g
    process = (LanczosProcess if memory == "full" else LowMemoryProcess)(H, g)
    homogeneous = function.degree is not None
    stopping = Stopping(bounds is not None, function.bound is not None)
    latest, target = None, rtol

    # 1/|x| without bounds: full checks without eigenvectors (matfun._lanczos_fast),
    # their quadrature error bound at most a thousandth of rtol (else eigenvectors).
    fast = 1e-3 * rtol if bounds is None and memory == "full" and \
        function is FUNCTIONS["inv_abs"] else 0.0

    def check(screen: tuple[float, float, float] | None = None, steps: int | None = None,
              bound: bool = True, probe: Any = None, iterate: Any = None) -> Check:
        return evaluate(process, function, bounds, homogeneous, screen, steps, fast, bound,
                        probe, iterate)

    def probe(steps: int, coefficients: np.ndarray) -> tuple[float, int] | None:
        # The lag screen (matfun._lanczos_probe): a sure miss of the lagged change.
        tol = relative_target(coefficients, rtol, atol, process, function)
        found = lag_probe(process, function, stopping, steps, coefficients, tol, fast)
        return found if found is not None and found[0] > LAG_SCREEN_MARGIN * tol else None

    def earlier(steps: int, screened: bool = True) -> Check:
        # A lag reference: its iterate, guard and Ritz values are read, not its bound
        # (its y and passed guard screen reused from the lag screen's probe where it
        # made one: with the screen passed, the evaluation is the unscreened one).
        screen = stopping.reference_screen(target) if screened else None
        spurious, known = stopping.probes.get(steps, (math.inf, None))
        if screen is not None and known is not None and spurious / screen[0] <= screen[2]:
            return check(None, steps, False, iterate=known)
        return check(screen, steps, False)

    # Without bounds no stop comes before MIN_STEPS (the lag's reference is computed
    # on demand), so no check either.
    next_check = 1 if bounds is not None else MIN_STEPS
    cadence = Cadence(stopping, H.size)
    while process.steps < limit and process.step():
        if process.breakdown or process.steps < next_check:
            continue
        latest = check(cadence.screen(target, process.steps, fast > 0),
                       probe=probe if fast > 0 else None)
        check_ritz_values(latest, bounds, process)
        target = relative_target(latest, rtol, atol, process, function)
        if stopping.update(latest, target, earlier):
            break
        next_check = process.steps + cadence.wait(latest, target)
    if latest is None or latest.screened or latest.steps != process.steps:
        latest = check()
        check_ritz_values(latest, bounds, process)
        target = relative_target(latest, rtol, atol, process, function)
        stopping.update(latest, target, earlier)
        # A spoilt last step: the one or two before it (leading blocks, no matvec), so
        # that the budget's end returns a recent clean iterate, as checking every step.
        candidate = latest
        for steps in range(latest.steps - 1, max(latest.steps - 3, 0), -1):
            if stopping.stopped or process.breakdown or stopping.is_clean(candidate, target):
                break
            if not stopping.clean or stopping.clean[-1].steps < steps:
                candidate = check(steps=steps)
                stopping.update(candidate, relative_target(candidate, rtol, atol, process,
                                                           function), earlier)
    chosen, status, error = stopping.outcome(latest, process.breakdown, target)
    shown = latest if chosen is None else chosen

    def report() -> LanczosInfo:
        return LanczosInfo(function.name, H.matvecs - before,
                           0 if chosen is None else chosen.steps, status,
                           status in ("converged", "breakdown"), error,
                           bounds is not None, shown.guard,
                           *extremes(shown, process.scale), memory)

    if chosen is None:
        raise SingularFunctionError(
            f"f = {function.name} has a pole at a Ritz value (relative weight "
            f"{latest.guard:.3g} after {process.steps} matvecs): f(H) g is undefined; add "
            "damping", report())
    x = assemble(xp, process, chosen.coefficients, g, function)  # memory="low": 2nd pass
    if memory == "low":
        status, error = verify(process, chosen.coefficients, status, error, rtol,
                               relative_target(chosen, rtol, atol, process, function))
    if not all_finite(xp, x):  # decisions: two syncs per call
        raise ResultRangeError(f"f(H) g is out of the range of {g.dtype} (the data are finite, "
                            "the answer is not representable)")
    if largest_magnitude(xp, x) < float(xp.finfo(x.dtype).smallest_normal):
        raise ResultRangeError(f"f(H) g underflows in {g.dtype}: its largest entry is "
                                 "below the smallest normal number (no relative accuracy)")
    info = report()
    return (x, info) if full_output else x

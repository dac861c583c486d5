r"""Limited-memory BFGS with a strong-Wolfe line search, the quasi-Newton baseline.

The direction is :math:`d_k = -H_k g_k`, :math:`H_k` the BFGS inverse-Hessian
approximation built from the last ``m`` pairs :math:`s_i = w_{i+1} - w_i`,
:math:`y_i = g_{i+1} - g_i` on top of :math:`H_k^0 = \gamma_k I`,
:math:`\gamma_k = s^T y / y^T y` of the newest pair, applied by the two-loop recursion
without ever forming a matrix. The step :math:`w_{k+1} = w_k + \alpha_k d_k` takes an
:math:`\alpha_k` satisfying the strong Wolfe conditions

.. math::

    f(w + \alpha d) \le f(w) + c_1 \alpha\, g^T d, \qquad
    |\nabla f(w + \alpha d)^T d| \le c_2\, |g^T d| ,

found by the bracketing and zoom of Nocedal and Wright (Algorithms 3.5 and 3.6) with
safeguarded cubic interpolation. These conditions make :math:`s^T y > 0`, so the
update keeps :math:`H_k` positive definite; a pair with
:math:`s^T y \le \epsilon \|s\| \|y\|` (possible only when the line search ran out of
evaluations and accepted a point of sufficient decrease alone) is *skipped*, counted
in the state and reported, never stored.

References
----------
Nocedal and Wright (2006), *Numerical Optimization*, 2nd ed., Algorithm 7.4 (the
two-loop recursion), section 7.2 (L-BFGS), Algorithms 3.5-3.6 and equation (3.59).
Liu and Nocedal (1989), *On the limited memory BFGS method for large scale
optimization*, Mathematical Programming 45.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._backend import namespace, norm, to_float
from .._validation import check_integer
from ._base import NonFiniteError, Optimizer
from ._oracle_calls import check_fraction, gradient_and_loss, parameters, step_inputs

__all__ = ["LBFGSState", "lbfgs"]


@dataclass(frozen=True)
class LBFGSState:
    """State of :func:`lbfgs`: step count, the stored pairs (oldest first), skips."""

    step: int
    s_history: tuple[Any, ...] = ()
    y_history: tuple[Any, ...] = ()
    skipped: int = 0


def lbfgs(
    *,
    memory: int = 10,
    c1: float = 1e-4,
    c2: float = 0.9,
    max_evaluations: int = 20,
) -> Optimizer:
    r"""L-BFGS (Liu and Nocedal 1989) with a strong-Wolfe line search.

    Parameters
    ----------
    memory : int
        ``m >= 1``, the number of curvature pairs kept (SciPy's ``maxcor``; 10 there).
    c1, c2 : float
        The Wolfe constants, :math:`0 < c_1 < c_2 < 1` (sufficient decrease and
        curvature).
    max_evaluations : int
        Value-and-gradient evaluations the line search may spend per step, ``>= 1``.

    Returns
    -------
    Optimizer
        No Hessian-vector products (``info["matvecs"] == 0``). ``info`` also has
        ``evaluations`` (value-and-gradient pairs of the line search; the step's own
        gradient at ``params`` is one more), ``step_size`` (:math:`\alpha`),
        ``line_search`` and ``pair``:

        * ``"wolfe"``: both conditions hold at the new point (a guarantee);
        * ``"armijo"``: the evaluations ran out at a point of sufficient decrease only;
        * ``"failed"``: no point of sufficient decrease was found: the parameters are
          returned unchanged and the memory is cleared (the next step is steepest
          descent);
        * ``"stationary"``: the gradient is exactly zero, no step;

        ``pair`` is ``"stored"``, ``"skipped"`` (:math:`s^T y \le \epsilon\|s\|\|y\|`)
        or ``"none"``.

    Notes
    -----
    The first step (empty memory) tries :math:`\alpha = 1/\|g\|`, a step of unit
    length; later steps try :math:`\alpha = 1` first, the quasi-Newton step. A NaN or
    inf at a *trial* point of the line search counts as a failed decrease (the step
    shrinks); at ``params`` itself it raises :class:`~matfun.optim.NonFiniteError`.
    Each step starts from the oracle at the ``params`` it is given, so the gradient at
    the accepted point is computed twice (once in the line search, once at the next
    step): one gradient per step more than SciPy, the price of the stateless protocol.

    Examples
    --------
    A convex quadratic in two variables: the gradient falls below 1e-10 in 8 steps.

    >>> import numpy as np
    >>> from matfun.optim import Oracle
    >>> A = np.array([[3.0, 1.0], [1.0, 2.0]])
    >>> oracle = Oracle(value=lambda x: 0.5 * x @ A @ x, grad=lambda x: A @ x,
    ...                 hvp=lambda x, v: A @ v)
    >>> opt = lbfgs()
    >>> x = np.array([1.0, -2.0])
    >>> state = opt.init(x)
    >>> for _ in range(8):
    ...     x, state, info = opt.update(state, x, oracle)
    >>> bool(np.linalg.norm(x) < 1e-10), info["matvecs"]
    (True, 0)
    """
    m = check_integer(memory, "memory", minimum=1)
    sufficient = check_fraction(c1, "c1", open_low=True)
    curvature = check_fraction(c2, "c2", open_low=True)
    if not sufficient < curvature:
        raise ValueError(f"c1 must be smaller than c2 (0 < c1 < c2 < 1), got c1={c1!r}, "
                         f"c2={c2!r}")
    budget = check_integer(max_evaluations, "max_evaluations", minimum=1)

    def init(params: Any) -> LBFGSState:
        parameters(params)
        return LBFGSState(step=0)

    def update(state: LBFGSState, params: Any, oracle: Any):
        params = step_inputs(state, params, oracle, LBFGSState, "lbfgs")
        _check_history(state, params)
        xp = namespace(params)
        loss, gradient, grad_norm = gradient_and_loss(oracle, params, state.step)
        info = {"loss": loss, "grad_norm": grad_norm, "matvecs": 0, "evaluations": 0,
                "step_size": 0.0, "line_search": "stationary", "pair": "none",
                "memory": len(state.s_history)}
        if grad_norm == 0:
            return params, LBFGSState(state.step + 1, state.s_history, state.y_history,
                                      state.skipped), info
        direction = _two_loop(xp, gradient, state.s_history, state.y_history)
        slope = to_float(xp.sum(gradient * direction))  # a decision: descent or not
        if not slope < 0:  # rounding in a nearly singular H_k: fall back to -g
            direction, slope = -gradient, -grad_norm**2
        # A first trial of unit length; 1 where 1/||g|| overflows (a subnormal gradient).
        first = 1.0 if state.s_history or not math.isfinite(1.0 / grad_norm) else 1.0 / grad_norm
        search = _LineSearch(oracle, params, direction, loss, slope, state.step)
        alpha, status, new_gradient = search.run(first, sufficient, curvature, budget)
        info.update(evaluations=search.evaluations, step_size=alpha, line_search=status)
        if status == "failed":
            return params, LBFGSState(state.step + 1, (), (), state.skipped), info
        s = alpha * direction
        y = new_gradient - gradient
        s_dot_y = to_float(xp.sum(s * y))  # a decision: store or skip the pair
        eps = float(xp.finfo(params.dtype).eps)
        s_history, y_history, skipped = state.s_history, state.y_history, state.skipped
        if s_dot_y > eps * to_float(norm(xp, s)) * to_float(norm(xp, y)):
            s_history, y_history = (s_history + (s,))[-m:], (y_history + (y,))[-m:]
            info["pair"] = "stored"
        else:
            skipped += 1
            info["pair"] = "skipped"
        info["memory"] = len(s_history)
        return params + s, LBFGSState(state.step + 1, s_history, y_history, skipped), info

    return Optimizer(init, update, "lbfgs")


def _check_history(state, params):
    if len(state.s_history) != len(state.y_history):
        raise ValueError("state.s_history and state.y_history must have the same length")
    for vector in state.s_history + state.y_history:
        if tuple(getattr(vector, "shape", ())) != tuple(params.shape):
            raise ValueError(f"state holds pairs of shape {getattr(vector, 'shape', None)} "
                             f"but params has shape {tuple(params.shape)}")


def _two_loop(xp, gradient, s_history, y_history):
    """``-H_k g`` by Nocedal and Wright's Algorithm 7.4 (0-d arrays: no host sync)."""
    q = gradient
    rhos = [1.0 / xp.sum(y * s) for s, y in zip(s_history, y_history, strict=True)]
    alphas = []
    for s, y, rho in zip(reversed(s_history), reversed(y_history), reversed(rhos),
                         strict=True):
        alpha = rho * xp.sum(s * q)
        q = q - alpha * y
        alphas.append(alpha)
    if s_history:
        s, y = s_history[-1], y_history[-1]
        q = (xp.sum(s * y) / xp.sum(y * y)) * q
    for s, y, rho, alpha in zip(s_history, y_history, rhos, reversed(alphas), strict=True):
        beta = rho * xp.sum(y * q)
        q = q + (alpha - beta) * s
    return -q


class _LineSearch:
    r""":math:`\phi(\alpha) = f(w + \alpha d)` and its slope, counted and guarded."""

    def __init__(self, oracle, params, direction, loss, slope, step):
        self.oracle, self.params, self.direction = oracle, params, direction
        self.xp = namespace(params)
        self.phi0, self.slope0, self.step = loss, slope, step
        self.evaluations = 0

    def evaluate(self, alpha):
        """``(phi, phi', gradient)``; a NaN or inf at the trial point gives ``phi = inf``."""
        self.evaluations += 1
        try:
            value, gradient, _ = gradient_and_loss(
                self.oracle, self.params + alpha * self.direction, self.step)
        except NonFiniteError:
            return math.inf, math.nan, None
        return value, to_float(self.xp.sum(gradient * self.direction)), gradient

    def run(self, alpha, c1, c2, budget):
        """Nocedal and Wright's Algorithm 3.5: bracket, then zoom."""
        previous = (0.0, self.phi0, self.slope0, None)
        for i in range(budget):
            phi, slope, gradient = self.evaluate(alpha)
            current = (alpha, phi, slope, gradient)
            if phi > self.phi0 + c1 * alpha * self.slope0 or (i > 0 and phi >= previous[1]):
                return self.zoom(previous, current, c1, c2, budget)
            if abs(slope) <= -c2 * self.slope0:
                return alpha, "wolfe", gradient
            if slope >= 0:
                return self.zoom(current, previous, c1, c2, budget)
            previous, alpha = current, 2.0 * alpha
        return self.give_up(previous)

    def zoom(self, low, high, c1, c2, budget):
        """Algorithm 3.6: ``low`` has sufficient decrease and the lower value."""
        while self.evaluations < budget:
            alpha = _interpolate(low, high)
            phi, slope, gradient = self.evaluate(alpha)
            if phi > self.phi0 + c1 * alpha * self.slope0 or phi >= low[1]:
                high = (alpha, phi, slope, gradient)
                continue
            if abs(slope) <= -c2 * self.slope0:
                return alpha, "wolfe", gradient
            if slope * (high[0] - low[0]) >= 0:
                high = low
            low = (alpha, phi, slope, gradient)
        return self.give_up(low)

    def give_up(self, low):
        alpha, _, _, gradient = low
        return (alpha, "armijo", gradient) if alpha > 0 else (0.0, "failed", None)


def _interpolate(low, high):
    """The cubic's minimiser on ``[low, high]`` (N&W eq. 3.59), kept 10% inside; else bisection."""
    (a, fa, da, _), (b, fb, db, _) = low, high
    middle = 0.5 * (a + b)
    if not all(map(math.isfinite, (fa, fb, da, db))) or a == b:
        return middle
    d1 = da + db - 3 * (fa - fb) / (a - b)
    radicand = d1 * d1 - da * db
    if radicand < 0:
        return middle
    d2 = math.copysign(math.sqrt(radicand), b - a)
    denominator = db - da + 2 * d2
    if denominator == 0:
        return middle
    trial = b - (b - a) * (db + d2 - d1) / denominator
    lo, hi = min(a, b), max(a, b)
    margin = 0.1 * (hi - lo)
    if not lo + margin <= trial <= hi - margin:
        return middle
    return trial

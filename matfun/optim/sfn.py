r"""Saddle-free Newton: exact (eigendecomposition) and by the series of Hessian-vector products.

Both step along the saddle-free direction :math:`s = |H|^{-1} g = (H^2)^{-1/2} g`,
which rescales every eigen-direction of the Hessian by :math:`1/|\lambda_i|`: it
descends along positive curvature like Newton, and *ascends the negative
curvature away from the saddle* where Newton would be attracted to it (Dauphin et
al. 2014). The update, with momentum on the previous update :math:`\delta_{t-1}`:

.. math::

    \delta_t = -\eta\, s_t + \mu\, \delta_{t-1}, \qquad w_{t+1} = w_t + \delta_t .

* :func:`exact_sfn` -- builds the dense Hessian from ``p`` Hessian-vector products,
  eigendecomposes it, takes absolute eigenvalues, replaces those below a
  threshold by a constant and inverts. ``O(p)`` HVPs and ``O(p^3)`` flops per step:
  small models only (the seed paper's "Exact SFN" on UCI Energy).
* :func:`sfn_series` -- the seed paper's Algorithm 1: ``K`` terms of the binomial
  series of :func:`matfun.inv_sqrt_series` (two HVPs per term), accelerated, with
  the scale ``V`` carried from step to step in the state.

:func:`matfun.optim.adaptive` wraps either with K-FAC's adaptive learning rate,
momentum and damping.

References
----------
Oldewage, Clarke, Hernandez-Lobato (2024), *Series of Hessian-vector products for
tractable saddle-free Newton optimisation of neural networks*, TMLR: Algorithm 1,
section 4.1 (Exact SFN). Dauphin et al. (2014), *Identifying and attacking the saddle
point problem in high-dimensional non-convex optimization*, NeurIPS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._base import Optimizer
from ._oracle_calls import (
    check_fraction,
    check_learning_rate,
    check_nonnegative,
    parameters,
    step_inputs,
)
from ._saddle_free_rules import ExactRule, SeriesRule

__all__ = ["ExactSFNState", "SeriesSFNState", "exact_sfn", "sfn_series"]


@dataclass(frozen=True)
class ExactSFNState:
    """State of :func:`exact_sfn`: the step count and the previous update."""

    step: int
    update: Any


@dataclass(frozen=True)
class SeriesSFNState:
    """State of :func:`sfn_series`: step count, scale ``V`` and the previous update."""

    step: int
    scale: float
    update: Any


def exact_sfn(
    *,
    learning_rate: float = 1.0,
    threshold: float = 1e-4,
    replacement: float | None = None,
    momentum: float = 0.0,
) -> Optimizer:
    r"""Exact saddle-free Newton from the eigendecomposition of the dense Hessian.

    .. math::

        H = Q \Lambda Q^T, \quad
        \tilde\lambda_i = \begin{cases} |\lambda_i| & |\lambda_i| \ge \tau \\
                                        c & |\lambda_i| < \tau \end{cases}, \quad
        s = Q \tilde\Lambda^{-1} Q^T g, \quad
        \delta_t = -\eta s + \mu \delta_{t-1} .

    On a quadratic with no eigenvalue below the threshold, ``learning_rate=1`` reaches
    the minimum along every positive-curvature direction in one step and moves away
    from the saddle along every negative one (the step there is the mirror image of
    Newton's).

    Parameters
    ----------
    learning_rate : float
        :math:`\eta > 0`.
    threshold : float
        :math:`\tau \ge 0`: absolute eigenvalues below it are replaced (``0``
        replaces none, and then needs an explicit ``replacement``).
    replacement : float, optional
        The constant :math:`c > 0`; default ``threshold`` (so that
        :math:`\tilde\lambda = \max(|\lambda|, \tau)`). The seed paper tuned
        ``tau = 5.2e-4``, ``c = 1.54e-4`` on UCI Energy.
    momentum : float
        :math:`\mu \in [0, 1)`.

    Returns
    -------
    Optimizer
        Each step spends ``p`` Hessian-vector products (one per coordinate).

    References
    ----------
    Oldewage, Clarke, Hernandez-Lobato (2024), TMLR, section 4.1 ("Exact SFN");
    Dauphin et al. (2014), NeurIPS (the saddle-free Newton method).

    Raises
    ------
    SingularCurvatureError
        From ``update``, when ``threshold = 0`` lets an exactly zero absolute eigenvalue
        through (the step would be infinite); the state passed in is untouched.

    Examples
    --------
    >>> import numpy as np
    >>> from matfun.optim import Oracle
    >>> h = np.array([2.0, -1.0])       # f = (2 x^2 - y^2) / 2: a saddle at 0
    >>> oracle = Oracle(value=lambda x: 0.5 * np.sum(h * x * x), grad=lambda x: h * x,
    ...                 hvp=lambda x, v: h * v)
    >>> opt = exact_sfn()
    >>> x = np.array([1.0, 0.5])
    >>> x, state, info = opt.update(opt.init(x), x, oracle)
    >>> x                               # minimum in x, twice as far from the saddle in y
    array([0., 1.])
    """
    rate = check_learning_rate(learning_rate)
    mu = check_fraction(momentum, "momentum")
    rule = ExactRule(threshold, replacement)

    def init(params: Any) -> ExactSFNState:
        params = parameters(params)
        return ExactSFNState(step=0, update=0.0 * params)

    def update(state: ExactSFNState, params: Any, oracle: Any):
        params = step_inputs(state, params, oracle, ExactSFNState, "exact_sfn")
        proposal = rule.propose(None, state.step, params, oracle, 0.0)
        delta = -rate * proposal.direction + mu * state.update
        info = proposal.info(learning_rate=rate, momentum=mu)
        return params + delta, ExactSFNState(step=state.step + 1, update=delta), info

    update.saddle_free_rule = rule
    return Optimizer(init, update, "exact_sfn")


def sfn_series(
    *,
    learning_rate: float,
    terms: int,
    order: int = 1,
    accelerate: Any = "sablonniere",
    initial_scale: float = 100.0,
    scale: str = "paper",
    damping: float = 0.0,
    damping_kind: str = "abs",
    momentum: float = 0.0,
) -> Optimizer:
    r"""Saddle-free Newton by the series of Hessian-vector products (seed paper Algorithm 1).

    Each step computes, with :func:`matfun.inv_sqrt_series`,

    .. math::

        V \leftarrow \max\Big(V, \frac{\|H^2 g\|}{\|g\|}\Big), \qquad
        s = V^{-1/2} \sum_{k<K} c_k(\tfrac12) (I - H^2/V)^k g
        \ \text{(accelerated)}, \qquad
        \delta_t = -\eta s + \mu \delta_{t-1},

    ``V`` kept in the state from one step to the next (the partial sums here include
    the factor :math:`V^{-1/2}`, which the paper applies at the update; the epsilon
    accelerators are homogeneous, so the step is the same). The series converges iff
    ``V > lambda_max(H^2)/2``; the paper's rule only raises ``V`` to a *lower* bound
    of ``lambda_max(H^2)``, so once ``initial_scale`` no longer dominates the series
    can diverge: that raises :class:`~matfun.SeriesDivergenceError` (the state passed
    in is untouched). ``scale="adaptive"`` uses the library's safe rule instead
    (``V`` re-estimated from every term, restarting when it grows).

    Parameters
    ----------
    learning_rate : float
        :math:`\eta > 0`.
    terms : int
        ``K``, the number of series terms (partial sums ``s_0 .. s_{K-1}``):
        ``2 max(K - 1, 1)`` HVPs per step (the first product :math:`H^2 g` both sets
        ``V`` and gives the second term), plus restarts with ``scale="adaptive"``.
    order : int
        ``N``, the order of the accelerator (epsilon types use the last ``2N + 1``
        partial sums, so ``terms >= 2N + 1``).
    accelerate : str, accel.Accelerator or None
        Any :mod:`accel` method; default the Sablonniere-modified epsilon algorithm.
    initial_scale : float
        ``V_0`` (100 in the paper).
    scale : {"paper", "adaptive"}
        The rule for ``V`` (see :mod:`matfun.scaling`). ``"paper"`` carries ``V`` in the
        state and only ever raises it; ``"adaptive"`` re-estimates it at every step
        from :math:`\|H^2 g\|/\|g\|` and the terms (``initial_scale`` unused; the
        state records the last ``V`` for inspection).
    damping : float
        :math:`\lambda \ge 0`.
    damping_kind : {"abs", "shift", "square"}
        :math:`(|H| + \lambda I)^{-1} g` (default, what the paper's code ran),
        :math:`((H + \lambda I)^2)^{-1/2} g` (the paper's text) or
        :math:`(H^2 + \lambda I)^{-1/2} g`.
    momentum : float
        :math:`\mu \in [0, 1)`.

    Returns
    -------
    Optimizer

    Raises
    ------
    matfun.SeriesDivergenceError
        From ``update``, when the series diverges (``scale="paper"`` with ``V`` too
        small); the state passed in is untouched.

    References
    ----------
    Oldewage, Clarke, Hernandez-Lobato (2024), TMLR: Algorithm 1, eq. (4) and
    section 3.4 (the rule for ``V``, the Sablonniere-modified epsilon algorithm on the
    last ``2N + 1`` partial sums), appendix A.5 (Algorithm 2).

    Examples
    --------
    >>> import numpy as np
    >>> from matfun.optim import Oracle
    >>> h = np.array([2.0, -1.0])
    >>> oracle = Oracle(value=lambda x: 0.5 * np.sum(h * x * x), grad=lambda x: h * x,
    ...                 hvp=lambda x, v: h * v)
    >>> opt = sfn_series(learning_rate=1.0, terms=60, accelerate=None, initial_scale=5.0)
    >>> x = np.array([1.0, 0.5])
    >>> x, state, info = opt.update(opt.init(x), x, oracle)
    >>> np.round(x, 6), state.scale, info["matvecs"]
    (array([0., 1.]), 5.0, 118)
    """
    rate = check_learning_rate(learning_rate)
    mu = check_fraction(momentum, "momentum")
    lam = check_nonnegative(damping, "damping")
    rule = SeriesRule(terms=terms, order=order, accelerate=accelerate,
                      initial_scale=initial_scale, scale=scale, damping_kind=damping_kind)

    def init(params: Any) -> SeriesSFNState:
        params = parameters(params)
        return SeriesSFNState(step=0, scale=rule.init(params), update=0.0 * params)

    def update(state: SeriesSFNState, params: Any, oracle: Any):
        params = step_inputs(state, params, oracle, SeriesSFNState, "sfn_series")
        proposal = rule.propose(state.scale, state.step, params, oracle, lam)
        delta = -rate * proposal.direction + mu * state.update
        info = proposal.info(learning_rate=rate, momentum=mu, damping=lam)
        new_state = SeriesSFNState(step=state.step + 1, scale=proposal.aux, update=delta)
        return params + delta, new_state, info

    update.saddle_free_rule = rule
    return Optimizer(init, update, "sfn_series")

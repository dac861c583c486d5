r"""K-FAC's adaptive learning rate, momentum and damping around a saddle-free Newton step.

The seed paper's "Adaptive" variants (its section 4.1 and appendix A.4) borrow three
heuristics from K-FAC (Martens and Grosse 2015, sections 6-7):

**Learning rate and momentum from a 2x2 quadratic model.** With the proposed
direction :math:`\Delta = -C^{-1} g` (the damped saddle-free step,
:math:`C = |H| + \lambda I`) and the previous update :math:`\delta_0`, the update
:math:`\delta = \alpha\Delta + \mu\delta_0` minimises
:math:`M(\delta) = g^T\delta + \tfrac12 \delta^T C \delta` over the span:

.. math::

    \begin{bmatrix}\alpha\\ \mu\end{bmatrix} = -
    \begin{bmatrix}\Delta^T C\Delta & \Delta^T C\delta_0\\
                   \Delta^T C\delta_0 & \delta_0^T C\delta_0\end{bmatrix}^{-1}
    \begin{bmatrix} g^T\Delta\\ g^T\delta_0\end{bmatrix}.

``C`` is positive semidefinite, so this model always has a minimiser (the Hessian
itself would not: along negative curvature it is unbounded). The products with
``C`` cost no HVP for exact SFN (the eigendecomposition is at hand) and one for the
series: there :math:`\Delta^T C \Delta = -g^T\Delta` and
:math:`\Delta^T C\delta_0 = -g^T\delta_0` follow from :math:`C\Delta = -g`, and
:math:`\delta_0^T C\delta_0` is replaced by its Cauchy-Schwarz upper bound
:math:`\|H\delta_0\|\|\delta_0\| + \lambda\|\delta_0\|^2` (exact for eigenvectors;
it errs towards less momentum). The first step, or a previous update collinear with
:math:`\Delta`, uses the 1-D model (:math:`\mu = 0`).

**Levenberg-Marquardt damping.** After the step, the reduction ratio

.. math::

    \rho = \frac{f(w + \delta) - f(w)}{M(\delta)}

compares the actual change with the model's, and with :math:`\omega \in (0, 1)`
(the seed paper's eq. 8, exact thresholds):

.. math::

    \lambda \leftarrow \begin{cases} \omega\lambda & \rho > 3/4 \\
    \lambda/\omega & \rho < 1/4 \\ \lambda & \text{otherwise,}\end{cases}

clipped to ``[min_damping, max_damping]``. Like the seed paper's code, ``rho`` is
measured against the damped model that the step minimises (K-FAC uses the
undamped one). A step whose loss is not finite is rejected (the parameters stay,
:math:`\lambda \leftarrow \lambda/\omega`, ``info["rejected"] = True``).

**Moving average of the curvature** (exact SFN only):
:math:`\bar H_t = \beta \bar H_{t-1} + (1 - \beta) H_t`, K-FAC's convention in which
``curvature_ema = beta`` weights the history (the paper's eq. 6 prints the weights
the other way round; its code follows K-FAC). The step uses :math:`\bar H_t`, the
2x2 model this step's :math:`H_t`.

Each step spends, besides the base method's HVPs, one extra function value (for
:math:`\rho`) and, for the series, one HVP.

References
----------
Martens and Grosse (2015), *Optimizing neural networks with Kronecker-factored
approximate curvature*, ICML, sections 6.5 and 7. Oldewage, Clarke,
Hernandez-Lobato (2024), TMLR, appendix A.4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._backend import all_finite, namespace, to_float
from ._base import Optimizer
from ._oracle_calls import check_fraction, check_positive, parameters, step_inputs
from ._saddle_free_rules import ExactRule, Proposal, SeriesRule

__all__ = ["AdaptiveState", "adaptive"]

_COLLINEAR = 1e-12  # det below this fraction of G00 G11: the 2x2 model is singular


@dataclass(frozen=True)
class AdaptiveState:
    r"""State of :func:`adaptive`.

    Attributes
    ----------
    step : int
    damping : float
        :math:`\lambda` for the next step.
    update : array
        The previous update :math:`\delta_0` (zero at the start and after a rejection).
    aux : float, array or None
        The base rule's carried quantity: ``V`` for the series, the averaged Hessian
        for exact SFN with ``curvature_ema > 0``.
    """

    step: int
    damping: float
    update: Any
    aux: Any


def adaptive(
    base: Optimizer,
    *,
    initial_damping: float = 1.0,
    omega: float = 0.95,
    curvature_ema: float = 0.0,
    min_damping: float = 1e-8,
    max_damping: float = 1e8,
) -> Optimizer:
    r"""Adaptive learning rate, momentum and damping (K-FAC) for an SFN optimiser.

    Parameters
    ----------
    base : Optimizer
        Made by :func:`~matfun.optim.exact_sfn` or :func:`~matfun.optim.sfn_series`;
        its direction settings (threshold, terms, accelerator, damping kind, ...) are
        used, its learning rate, momentum and damping are replaced by the adaptive ones.
    initial_damping : float
        :math:`\lambda_0 > 0`.
    omega : float
        :math:`\omega \in (0, 1)`; K-FAC's :math:`(19/20)^{T}` with an adaptation
        interval ``T = 1`` is the default.
    curvature_ema : float
        :math:`\beta \in [0, 1)`, exact SFN only.
    min_damping, max_damping : float
        Clipping range of :math:`\lambda`.

    Returns
    -------
    Optimizer

    Examples
    --------
    >>> import numpy as np
    >>> from matfun.optim import Oracle, exact_sfn
    >>> h = np.array([2.0, -1.0])
    >>> oracle = Oracle(value=lambda x: 0.5 * np.sum(h * x * x), grad=lambda x: h * x,
    ...                 hvp=lambda x, v: h * v)
    >>> opt = adaptive(exact_sfn(), initial_damping=1e-3)
    >>> x = np.array([1.0, 0.5])
    >>> state = opt.init(x)
    >>> for _ in range(3):
    ...     x, state, info = opt.update(state, x, oracle)
    >>> bool(abs(x[0]) < 1e-6 and abs(x[1]) > 1.0)    # escaped along y, converged in x
    True
    """
    rule = getattr(getattr(base, "update", None), "saddle_free_rule", None)
    if not isinstance(rule, ExactRule | SeriesRule):
        raise TypeError("base must be an optimiser made by exact_sfn or sfn_series, got "
                        f"{type(base).__name__}")
    lam0 = check_positive(initial_damping, "initial_damping")
    factor = check_fraction(omega, "omega", open_low=True)
    ema = check_fraction(curvature_ema, "curvature_ema")
    if ema > 0 and isinstance(rule, SeriesRule):
        raise ValueError("curvature_ema applies to exact_sfn only: the series never forms "
                         "the curvature matrix")
    low = check_positive(min_damping, "min_damping")
    high = check_positive(max_damping, "max_damping")
    if not low <= lam0 <= high:
        raise ValueError(f"initial_damping must lie in [min_damping, max_damping] = "
                         f"[{low}, {high}], got {lam0}")

    def init(params: Any) -> AdaptiveState:
        params = parameters(params)
        return AdaptiveState(step=0, damping=lam0, update=0.0 * params, aux=rule.init(params))

    def update(state: AdaptiveState, params: Any, oracle: Any):
        params = step_inputs(state, params, oracle, AdaptiveState, "adaptive")
        lam = state.damping
        proposal = rule.propose(state.aux, state.step, params, oracle, lam, ema=ema)
        gram, linear = _model(rule, proposal, state.update, lam)
        alpha, mu = _minimise_2x2(gram, linear)
        delta = (-alpha) * proposal.direction + mu * state.update
        predicted = (alpha * linear[0] + mu * linear[1]
                     + 0.5 * (alpha**2 * gram[0][0] + 2 * alpha * mu * gram[0][1]
                              + mu**2 * gram[1][1]))
        xp = namespace(params)
        trial = params + delta
        new_loss = xp.asarray(oracle.value(trial))
        rejected = not all_finite(xp, new_loss)
        rho = None
        if rejected:
            trial, delta, new_lam = params, 0.0 * params, min(lam / factor, high)
        elif predicted < 0:
            rho = (to_float(new_loss) - proposal.loss) / predicted
            new_lam = _levenberg_marquardt(lam, rho, factor, low, high)
        else:  # a zero step: nothing to learn about the model
            new_lam = lam
        info = proposal.info(learning_rate=alpha, momentum=mu, damping=lam, rho=rho,
                             predicted_change=predicted, rejected=rejected)
        new_state = AdaptiveState(step=state.step + 1, damping=new_lam, update=delta,
                                  aux=proposal.aux)
        return trial, new_state, info

    return Optimizer(init, update, f"adaptive({base.name})")


def _model(rule: Any, proposal: Proposal, previous: Any, lam: float):
    """Gram matrix of ``C`` on ``(Delta, delta0)`` and the linear terms ``g^T(.)``."""
    xp = namespace(previous)
    g, s = proposal.gradient, proposal.direction
    linear = [-to_float(g @ s), to_float(g @ previous)]
    has_previous = to_float(xp.max(xp.abs(previous))) > 0
    if proposal.curvature is not None:
        step = -s
        g00 = to_float(step @ proposal.curvature(step))
        if not has_previous:
            return [[g00, 0.0], [0.0, 0.0]], linear
        c_previous = proposal.curvature(previous)
        return ([[g00, to_float(step @ c_previous)],
                 [to_float(step @ c_previous), to_float(previous @ c_previous)]], linear)
    # The series: C Delta = -g up to truncation, so the Delta terms come free.
    g00, g01 = -linear[0], -linear[1]
    if not has_previous:
        return [[g00, 0.0], [0.0, 0.0]], linear
    return [[g00, g01], [g01, rule.curvature_bound(proposal.hvp, previous, lam)]], linear


def _minimise_2x2(gram, linear) -> tuple[float, float]:
    """``(alpha, mu)`` minimising the model; host floats (two numbers decide the step)."""
    (g00, g01), (_, g11) = gram
    if not g00 > 0 or not linear[0] < 0:
        # The proposal is no descent direction of the model (a zero gradient, or a
        # series truncation that is not positive definite): take no step along it.
        return 0.0, 0.0
    det = g00 * g11 - g01 * g01
    if g11 <= 0 or det <= _COLLINEAR * g00 * g11:
        return -linear[0] / g00, 0.0
    alpha = -(g11 * linear[0] - g01 * linear[1]) / det
    mu = -(g00 * linear[1] - g01 * linear[0]) / det
    return alpha, mu


def _levenberg_marquardt(lam: float, rho: float, omega: float, low: float, high: float
                         ) -> float:
    if rho > 0.75:
        lam = lam * omega
    elif rho < 0.25:
        lam = lam / omega
    return min(max(lam, low), high)

r"""Grouped Newton: one learning rate per parameter group, from a summary of the Hessian.

Wolinski's method (seed 001, "Method 4.1"). The parameters are partitioned into
``S`` groups (the tensors of a network). Given a direction ``u`` (the gradient,
or a moving average of it), let :math:`u_s` be ``u`` restricted to group ``s``
(zero elsewhere). The step :math:`w \leftarrow w - \sum_s \eta_s u_s` has one
learning rate per group, chosen from the second-order Taylor model of the loss
along the ``S``-dimensional subspace spanned by the :math:`u_s`:

.. math::

    \bar H_{st} = u_s^T H u_t, \qquad \bar g_s = g^T u_s, \qquad
    f\Big(w - \sum_s \eta_s u_s\Big) \approx f(w) - \bar g^T\eta
    + \tfrac12 \eta^T \bar H \eta .

:math:`\bar H` costs ``S`` Hessian-vector products (:math:`H u_t` for each ``t``).
Without regularisation the learning rates solve :math:`\bar H \eta = \bar g`; this
is Cauchy's steepest descent (step :math:`g^Tg / g^THg` along ``g``) for the
trivial partition (one group) and Newton's method for the discrete one (each
coordinate a group, ``u = g`` with no zero entry) -- seed 001 appendix C.

With ``cubic = lam > 0`` the model gains the anisotropic Nesterov term
:math:`(\lambda/6) \|D\eta\|^3`, :math:`D = \mathrm{diag}(|d_s|^{1/3})`,
:math:`d_s = D^3 f(w)[u_s, u_s, u_s]` (``S`` third-order directional
derivatives), and the learning rates are its global minimiser
(:func:`matfun.optim._cubic.minimize_cubic_model`; indefinite :math:`\bar H` is fine).
This keeps the step where the cubic term of the Taylor expansion is small, and,
because :math:`D` scales like the group, the method stays invariant under
per-group rescaling of the parameters (seed 001 appendix E).

A group whose direction is exactly zero gets learning rate zero and is left out of
the ``S x S`` solve. That small solve runs in NumPy on the host (``S`` numbers per
row): a deliberate synchronisation per step.

For training, seed 001 appendix F adds a refresh period (rates reused between
refreshes, no Hessian-vector products there), a moving average and the positive part
of the rates, and a plateau schedule of the damping: keyword options here, with their
numbers in :class:`GroupedNewtonState`.

References
----------
Wolinski (2024), *Adapting Newton's method to neural networks through a summary of
higher-order derivatives*, sections 4.1-4.3, appendices B-F; the damping factor of
section 5.2 multiplies the learning rates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from .._backend import namespace
from .._validation import check_flag, check_integer
from ._base import Optimizer
from ._cubic import equilibration, minimize_cubic_model
from ._oracle_calls import (
    HVPCounter,
    check_fraction,
    check_nonnegative,
    check_positive,
    directional,
    gradient_and_loss,
    parameters,
    step_inputs,
)
from .schedules import ReduceOnPlateau

__all__ = ["GroupedNewtonState", "grouped_newton"]


@dataclass(frozen=True)
class GroupedNewtonState:
    """State of :func:`grouped_newton` (plain data: a resumed run repeats bit for bit).

    Attributes
    ----------
    step : int
        Steps taken.
    direction : array
        The averaged direction ``u`` of the last step.
    rates : tuple of float or None
        The learning rates in use (averaged, positive part taken, before the damping
        factor); ``None`` until the first refresh.
    damping : float or None
        The damping factor set by the plateau schedule; ``None`` (no schedule, or
        before its first step): the optimiser's ``damping``.
    best_loss, bad_periods
        The plateau schedule's best monitored loss and count of periods without
        improvement.
    loss_sum, loss_count
        Sum and number of the losses seen since the last refresh.
    """

    step: int
    direction: Any
    rates: tuple[float, ...] | None = None
    damping: float | None = None
    best_loss: float = math.inf
    bad_periods: int = 0
    loss_sum: float = 0.0
    loss_count: int = 0


def grouped_newton(
    *,
    groups: Sequence[Any],
    damping: float = 1.0,
    cubic: float = 0.0,
    momentum: float = 0.0,
    refresh_every: int = 1,
    rate_momentum: float = 0.0,
    positive_part: bool = False,
    schedule: ReduceOnPlateau | None = None,
) -> Optimizer:
    r"""Grouped Newton with per-group learning rates (seed 001).

    Parameters
    ----------
    groups : sequence of slices or integer index sequences
        A partition of ``range(p)``: every parameter index in exactly one group
        (checked by ``init``).
    damping : float
        The factor in ``(0, 1]`` multiplying the learning rates (seed 001 section
        5.2: a step shorter than the model's optimum).
    cubic : float
        :math:`\lambda \ge 0`, the strength of the anisotropic cubic term; ``0`` solves
        :math:`\bar H\eta = \bar g` (minimum-norm solution, in variables equilibrated to
        unit diagonal, if singular), which is the
        model's minimiser only when :math:`\bar H \succ 0`. ``cubic > 0`` needs the
        oracle's ``third`` callable.
    momentum : float
        :math:`\beta \in [0, 1)`: the direction is
        :math:`u_t = \beta u_{t-1} + (1 - \beta) g_t` (``u_0 = g_0``). Its scale is
        irrelevant (the learning rates absorb it).
    refresh_every : int
        :math:`T \ge 1`: the learning rates are computed at steps ``0, T, 2T, ...``
        (a *refresh*) and reused in between, where a step costs one gradient and no
        Hessian-vector product (seed 001 appendix F: the summary is the expensive part).
        The direction ``u`` is still updated at every step.
    rate_momentum : float
        :math:`\beta_2 \in [0, 1)`: the rates in use are the moving average over the
        refreshes :math:`k = 0, 1, \dots`,
        :math:`\bar\eta_k = \beta_2 \bar\eta_{k-1} + (1 - \beta_2)\, \eta_k`,
        :math:`\bar\eta_0 = \eta_0`, of the fresh model minimisers :math:`\eta_k`
        (after the positive part, if taken). A group whose direction is zero at a
        refresh contributes a fresh rate of ``0``.
    positive_part : bool
        Replace each fresh rate by :math:`\max(\eta_s, 0)` before averaging. With
        ``u = g`` (no momentum) :math:`\bar g_s = \|g_s\|^2 \ge 0`, and a negative
        :math:`\eta_s` -- from an indefinite or badly estimated :math:`\bar H` --
        steps *up* the gradient on group ``s``; with the positive part the first-order
        change :math:`-\sum_s \eta_s \|g_s\|^2` of the loss is never positive (seed
        001 appendix F: "to avoid negative learning rates"). With momentum,
        :math:`g^T u_s` can be negative and this guarantee is lost.
    schedule : ReduceOnPlateau, optional
        Reduce the damping factor on a plateau: at each refresh the rule observes the
        mean loss of the steps since the previous refresh (this step's included) and
        the damping it returns applies from this step on. The damping never exceeds
        its initial value and never falls below ``schedule.min_damping``. ``None``:
        constant damping.

    Returns
    -------
    Optimizer
        A refresh spends ``S`` HVPs (``info["matvecs"]``) and, with the cubic term,
        ``S`` third derivatives; a step between refreshes spends none. ``info`` has
        ``learning_rates``, the rates :math:`\bar\eta` in use *before* the damping
        factor (the step taken is ``damping * eta_s * u_s`` on group ``s``; with the
        defaults this is the model's minimiser of this step), ``fresh_rates`` (the
        model's minimiser, ``None`` between refreshes), ``refreshed``, ``damping`` (the
        factor of this step), ``third`` and ``model`` (``None`` and ``"reused"``
        between refreshes).

    Notes
    -----
    The summary uses the oracle's pieces as given: :math:`\bar H` its ``hvp``, ``D``
    its ``third`` and :math:`\bar g` (with the direction ``u``) its ``grad``. A
    training loop that estimates the curvature on a separate batch (seed 001 appendix
    F, the second sampler) builds an oracle whose ``hvp`` and ``third`` read that batch
    while ``value`` and ``grad`` read the gradient batch.

    The cubic term restrains a group only as much as its diagonal third derivative
    :math:`d_s`. Where :math:`d_s \approx 0` and the curvature along the group is
    negative (e.g. the biases of a tanh network at a zero-bias initialisation, where
    odd symmetry makes :math:`d_s` vanish), the model's minimiser can be a very long
    step and the loss can rise by orders of magnitude: measured on
    ``mlp_regression(depth=1, width=4, samples=16)`` from ``initial(0)`` with
    ``cubic=1, damping=0.5``, the loss goes from 1.05 to 425 in three steps, every step
    the exact minimiser of its model. There ``damping=0.1``, ``cubic=10`` or
    ``momentum=0.9`` each bring the loss below 0.5 in ten steps.

    Raises
    ------
    matfun.optim._cubic.UnboundedModelError
        From ``update``, when the cubic model has no minimiser (negative curvature
        beyond rounding along groups whose third derivative is zero, or a slope along
        a direction where their curvature is zero). Curvature zero to within rounding
        on those groups is handled by the minimum-norm rule of
        :mod:`matfun.optim._cubic`.

    Examples
    --------
    On a quadratic with each coordinate its own group, one step is Newton's:

    >>> import numpy as np
    >>> from matfun.optim import Oracle
    >>> A = np.array([[3.0, 1.0], [1.0, 2.0]])
    >>> oracle = Oracle(value=lambda x: 0.5 * x @ A @ x, grad=lambda x: A @ x,
    ...                 hvp=lambda x, v: A @ v)
    >>> opt = grouped_newton(groups=[[0], [1]])
    >>> x = np.array([1.0, -2.0])
    >>> x, state, info = opt.update(opt.init(x), x, oracle)
    >>> np.allclose(x, 0.0, atol=1e-14), info["matvecs"]
    (True, 2)
    """
    group_list = _checked_groups(groups)
    factor = check_positive(damping, "damping")
    if factor > 1:
        raise ValueError(f"damping must lie in (0, 1], got {damping!r}")
    lam = check_nonnegative(cubic, "cubic")
    beta = check_fraction(momentum, "momentum")
    period = check_integer(refresh_every, "refresh_every", minimum=1)
    beta_rates = check_fraction(rate_momentum, "rate_momentum")
    clip = check_flag(positive_part, "positive_part")
    if schedule is not None and not isinstance(schedule, ReduceOnPlateau):
        raise TypeError(f"schedule must be a ReduceOnPlateau or None, got "
                        f"{type(schedule).__name__}")
    if schedule is not None and schedule.min_damping > factor:
        raise ValueError(f"schedule.min_damping ({schedule.min_damping!r}) must not exceed "
                         f"damping ({damping!r})")

    labels_cache: dict[tuple[str, int, str], Any] = {}

    def labels_like(xp, params):
        """Group label of every parameter, moved once to the parameters' device."""
        device = array_api_compat.device(params)
        key = (xp.__name__, params.shape[0], str(device))
        if key not in labels_cache:
            labels_cache[key] = xp.asarray(_labels(group_list, params.shape[0]), device=device)
        return labels_cache[key]

    def init(params: Any) -> GroupedNewtonState:
        params = parameters(params)
        _labels(group_list, params.shape[0])
        return GroupedNewtonState(step=0, direction=0.0 * params)

    def update(state: GroupedNewtonState, params: Any, oracle: Any):
        params = step_inputs(state, params, oracle, GroupedNewtonState, "grouped_newton")
        _check_state(state, len(group_list))
        xp = namespace(params)
        labels = labels_like(xp, params)
        loss, gradient, grad_norm = gradient_and_loss(oracle, params, state.step)
        u = gradient if state.step == 0 else beta * state.direction + (1 - beta) * gradient
        current = factor if state.damping is None else state.damping
        best, bad = state.best_loss, state.bad_periods
        loss_sum, loss_count = state.loss_sum + loss, state.loss_count + 1
        refresh = state.rates is None or state.step % period == 0
        matvecs, fresh, third, case = 0, None, None, "reused"
        eta = np.asarray(state.rates, dtype=np.float64) if state.rates is not None else None
        if refresh:
            if schedule is not None:
                current, best, bad = schedule.observe(loss_sum / loss_count, current, best, bad)
            loss_sum, loss_count = 0.0, 0
            hvp = HVPCounter(oracle, params, state.step)
            summary, g_bar, third, active = _summary(xp, labels, len(group_list), u, gradient,
                                                     hvp, oracle, params, state.step, lam)
            fresh = np.zeros(len(group_list))
            case = "zero"
            if active.any():
                fresh[active], case = _learning_rates(summary, g_bar, third[active], lam)
            matvecs = hvp.matvecs
            admissible = np.maximum(fresh, 0.0) if clip else fresh
            fresh_only = eta is None or beta_rates == 0
            eta = admissible if fresh_only else beta_rates * eta + (1 - beta_rates) * admissible
        rates = xp.asarray(eta, dtype=params.dtype, device=array_api_compat.device(params))
        step = current * xp.take(rates, labels) * u
        info = {"loss": loss, "grad_norm": grad_norm, "matvecs": matvecs,
                "learning_rates": tuple(eta.tolist()), "refreshed": refresh,
                "fresh_rates": None if fresh is None else tuple(fresh.tolist()),
                "third": None if third is None else tuple(third.tolist()),
                "model": case, "damping": current, "cubic": lam}
        new_state = GroupedNewtonState(
            step=state.step + 1, direction=u, rates=tuple(eta.tolist()),
            # Without a schedule the damping is configuration, not state.
            damping=None if schedule is None else current,
            best_loss=best, bad_periods=bad, loss_sum=loss_sum, loss_count=loss_count)
        return params - step, new_state, info

    return Optimizer(init, update, "grouped_newton")


def _check_state(state, size):
    """The schedule's and the rates' fields of a state: shapes and ranges."""
    if state.rates is not None and len(state.rates) != size:
        raise ValueError(f"state.rates has {len(state.rates)} entries for {size} groups: a "
                         "state of another partition?")
    if state.damping is not None and not 0 < state.damping <= 1:
        raise ValueError(f"state.damping must lie in (0, 1], got {state.damping!r}")
    if state.loss_count < 0 or isinstance(state.bad_periods, bool) or state.bad_periods < 0:
        raise ValueError("state.loss_count and state.bad_periods must be non-negative")


def _summary(xp, labels, size, u, gradient, hvp, oracle, params, step, lam):
    """``Hbar``, ``gbar``, third derivatives over the groups with a non-zero direction."""
    zero = xp.zeros_like(u)
    pieces = [xp.where(labels == s, u, zero) for s in range(size)]  # u_s
    # One host synchronisation decides which groups take part.
    magnitudes = _host(xp.stack([xp.max(xp.abs(piece)) for piece in pieces]))
    active = np.asarray(magnitudes, dtype=np.float64) > 0
    third = np.zeros(size)
    rows = np.flatnonzero(active).tolist()
    if not rows:
        return None, None, third, active
    selected = xp.stack([pieces[s] for s in rows], axis=0)
    products = xp.stack([hvp(pieces[s]) for s in rows], axis=0)
    # Host copies of S x S numbers: the small solve is NumPy work.
    summary = np.asarray(_host(selected @ products.mT), dtype=np.float64)
    summary = 0.5 * (summary + summary.T)
    g_bar = np.asarray(_host(selected @ gradient), dtype=np.float64)
    if lam > 0:
        third[rows] = [directional(oracle, params, pieces[s], step) for s in rows]
    return summary, g_bar, third, active


def _learning_rates(summary, g_bar, third, lam):
    if lam == 0:
        return _least_norm_solve(summary, g_bar), "linear"
    weights = np.abs(third) ** (1.0 / 3.0)
    solution = minimize_cubic_model(summary, g_bar, weights, cubic=lam)
    return solution.eta, solution.case


def _least_norm_solve(matrix, vector):
    """``Hbar^+ gbar`` in the equilibrated variables (so the cutoff ignores group scales)."""
    c = equilibration(matrix, np.zeros_like(vector))
    eigenvalues, Q = np.linalg.eigh(c[:, None] * matrix * c[None, :])
    cutoff = matrix.shape[0] * np.finfo(np.float64).eps * np.max(np.abs(eigenvalues))
    keep = np.abs(eigenvalues) > cutoff
    coefficients = np.zeros_like(eigenvalues)
    coefficients[keep] = (Q.T @ (c * vector))[keep] / eigenvalues[keep]
    return c * (Q @ coefficients)


def _host(x):
    """Copy a small array to NumPy (torch through ``.cpu()``, CuPy through ``.get()``)."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    if hasattr(x, "get") and not isinstance(x, np.ndarray):
        return x.get()
    return np.from_dlpack(x)


def _checked_groups(groups):
    if isinstance(groups, str | bytes) or not isinstance(groups, Sequence) or not groups:
        raise ValueError("groups must be a non-empty sequence of slices or index sequences")
    checked = []
    for s, group in enumerate(groups):
        if isinstance(group, slice):
            checked.append(group)
            continue
        try:
            indices = np.asarray(group)
        except (TypeError, ValueError):
            raise TypeError(f"groups[{s}] must be a slice or a sequence of integers") from None
        if indices.ndim != 1 or indices.size == 0 or not np.issubdtype(indices.dtype,
                                                                        np.integer):
            raise ValueError(f"groups[{s}] must be a slice or a non-empty 1-D sequence of "
                             f"integers, got {group!r}")
        checked.append(indices)
    return checked


def _labels(groups, size):
    """Group index of every parameter; ``ValueError`` unless the groups partition range(p)."""
    count = np.zeros(size, dtype=np.int64)
    labels = np.zeros(size, dtype=np.int64)
    for s, group in enumerate(groups):
        indices = np.arange(size)[group] if isinstance(group, slice) else group
        if isinstance(group, slice) and indices.size == 0:
            raise ValueError(f"groups[{s}] selects no parameter")
        if not isinstance(group, slice) and (indices.min() < 0 or indices.max() >= size):
            raise ValueError(f"groups[{s}] has indices outside range({size})")
        np.add.at(count, indices, 1)
        labels[indices] = s
    if np.any(count != 1):
        missing = np.flatnonzero(count == 0)
        repeated = np.flatnonzero(count > 1)
        raise ValueError("groups must partition range(p): "
                         f"missing {missing[:5].tolist()}, repeated {repeated[:5].tolist()}")
    return labels

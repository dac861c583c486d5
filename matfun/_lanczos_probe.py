r"""The lag screen of a ``1/|x|`` Lanczos check: the lagged change from cheap iterates.

Near a stop of the heuristic rule (:mod:`matfun.lanczos`) a full check that misses
only on its lagged change ``||y_k - y_j|| / ||y_k||`` still costs its own Ritz values
and a lag reference's (two ``O(k^2)`` evaluations, ~15 ms at ``k = 620`` on the dense
``n = 1000`` benchmark), and after the miss the next check needs a newer reference.
For ``f = 1/|x|`` both iterates are ``|T_i|^{-1} e_1``, which the elliptic quadrature
of :mod:`matfun._lanczos_quadrature` gives in ``O(N k)`` from any interval
``[low, high]`` that holds every ``|theta|``: ``low`` from the guard screen's Ritz
values next to 0 (bisected to the radii's floor, so ``min |theta| >= low`` once
``2 floor`` is taken off), ``high`` Gershgorin's bound on ``||T||``. Each iterate is
then within the quadrature's error bound (at most ``1e-3 rtol``) of the full check's,
so the probe's lagged change is within about ``2e-3`` of the tolerance of the rule's.
The same iterate gives the screens' size ``||y||`` when the last one is stale
(:meth:`Stopping.screen <matfun._lanczos_checks.Stopping.screen>`).

The reference is the one the rule would take (:meth:`Stopping._lagged_change
<matfun._lanczos_checks.Stopping._lagged_change>`): a clean check or reference already
computed in the reuse window, else the first of ``k - d, ..., k - d - 3`` whose guard
screen passes (the rule's own screen, same size and tolerance) -- provisionally, as
its full guard is not computed: the probe is a screen, it can only postpone a check.
A probe above ``1.01`` times the tolerance cannot hit (up to that provisional
reference), and the check is returned screened, carrying the probe's ``(lag, j)``;
:class:`matfun._lanczos_frame.Cadence` then places the next check as after a clean
miss of the lag. Otherwise (or when an interval, a quadrature or every candidate
fails) the full check runs as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._lanczos_guard import _near_poles, gershgorin, leading_block, radii_floor
from ._lanczos_quadrature import RATIO_LIMIT, inv_abs_e1_within

__all__ = ["LAG_SCREEN_MARGIN", "lag_probe", "provisional_iterate"]

# The probe screens a check out only above this multiple of the tolerance: each
# provisional iterate is within the quadrature's budget (1e-3 rtol) of the full one.
LAG_SCREEN_MARGIN = 1.01


def provisional_iterate(alphas: np.ndarray, betas: np.ndarray, near: np.ndarray,
                        eps: float, budget: float) -> np.ndarray | None:
    """``|T|^{-1} e_1`` (unit start) by the quadrature on a bracket of ``|theta|``, or None.

    ``near``: the Ritz values next to 0 as the guard screen bisected them (to its floor,
    :func:`matfun._lanczos_guard._near_poles`); the top of the bracket is Gershgorin's
    bound on ``||T||``. ``None`` when the bracket does not exclude 0, is too wide for
    the rule, or the rule's error exceeds ``budget``.
    """
    if not near.size or alphas.size < 2:
        return None
    high = gershgorin(alphas, betas)
    low = float(np.min(np.abs(near))) - 2 * radii_floor(alphas, betas, eps)
    if not 0 < low <= high or (high / low) ** 2 > RATIO_LIMIT:
        return None
    return inv_abs_e1_within(alphas, betas, low, high, budget)


def lag_probe(process: Any, function: Any, stopping: Any, steps: int,
              coefficients: np.ndarray, tol: float, budget: float
              ) -> tuple[float, int] | None:
    """``(lagged change, j)`` of the provisional iterate ``coefficients`` of step ``steps``.

    ``None`` when the rule's reference is not available cheaply (no guard-screen size,
    every candidate spoilt, a quadrature refused): the full check decides then.
    """
    screen = stopping.reference_screen(tol)
    if screen is None:
        return None
    size = screen[0]
    reference, candidates = stopping.lag_window(steps, tol)
    if reference is not None:
        j, earlier = reference.steps, reference.coefficients
    else:
        earlier = None
        for j in candidates:
            done = stopping.references.get(j)
            if done is not None:
                if stopping.is_clean(done, tol):
                    earlier = done.coefficients
                    break
                continue
            if j < 2:
                return None
            if j not in stopping.probes:
                stopping.probes[j] = _reference(process, function, j, budget)
            spurious, y = stopping.probes[j]
            if not spurious / size <= tol:
                continue  # its guard screen is spoilt: the rule, too, tries the next
            if y is None:
                return None
            earlier = process.unit_norm * y
            break
        if earlier is None:
            return None
    difference = coefficients.copy()
    difference[:j] -= earlier
    norm = float(np.linalg.norm(coefficients))
    if not norm > 0:
        return None
    return float(np.linalg.norm(difference)) / norm, j


def _reference(process: Any, function: Any, j: int, budget: float
               ) -> tuple[float, np.ndarray | None]:
    """``(the guard screen's weight, the provisional y_j or None)`` of step ``j``.

    Both depend on ``T_j`` only (the screen's decision, weight over size against the
    tolerance, is taken by the caller, as :func:`~matfun._lanczos_checks.evaluate`
    takes it).
    """
    alphas, betas = leading_block(process, j)
    near, spurious = _near_poles(alphas, betas, process.betas[j - 1], function, process,
                                 True)
    return spurious, provisional_iterate(alphas, betas, near, process.eps, budget)

r"""``f`` at the Ritz values, in units that keep the host's arithmetic in the normal range.

A function of known degree ``p`` is evaluated on the Ritz values of ``H / s``; the
factor ``s^p`` comes with ``d`` at the end (:func:`matfun._lanczos_frame.assemble`).
A function without degree (a plain callable, the damped functions of
:func:`matfun.inv_sqrt`) is evaluated at the true Ritz values ``s theta``, where its
values may lie anywhere in the floating-point range: ``1 / (|x| + mu)`` on an ``H`` of
size ``1e299`` is about ``1e-299``, and ``f(theta_j) u_{1j}`` then falls among the
subnormal numbers -- digits lost, or exact zeros that make two iterates agree and a
lagged change of exactly 0 stop the run far from the answer. Those values are divided
by a power of two ``w`` fixed at the run's first evaluation (the largest finite
``|f(theta)|`` there; 1 if there is none): exact, the same for every check of the run
(their iterates are compared with each other), and ``x = d w Q_k y`` at the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import power_of_two

__all__: list[str] = []


def ritz_values_of(function: Any, theta: np.ndarray, process: Any,
                   homogeneous: bool) -> np.ndarray:
    """``f`` at the Ritz values ``theta`` of ``H / s`` (float64), in the run's unit."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        values = np.asarray(function.evaluate(theta if homogeneous else theta * process.scale),
                            dtype=np.float64)
    if homogeneous or values.shape != theta.shape:  # a wrong shape: the caller says so
        return values
    if process.value_unit is None:
        finite = np.abs(values[np.isfinite(values)])
        largest = float(np.max(finite)) if finite.size else 0.0
        process.value_unit = power_of_two(largest) if largest > 0 else 1.0
    return values / process.value_unit if process.value_unit != 1.0 else values

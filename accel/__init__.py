"""Scalar and vector sequence accelerators, batch and streaming, on any array backend.

Batch functions take a sequence whose leading axis indexes the terms (shape
``(m,)`` or ``(m, n)``) and return the estimate of its limit;
``full_output=True`` returns an :class:`AccelResult` with an error estimate and a
:class:`Status`. :func:`accelerator` gives the streaming form of every method in
:func:`methods`. This package is the bottom layer: it never imports ``matfun``.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._registry import accelerator, methods
from ._result import Accelerator, AccelResult, Status
from ._window import Windowed
from .aitken import aitken
from .levin import levin
from .pade import pade
from .polynomial import mpe, rre
from .richardson import richardson
from .theta import theta

# The epsilon family (Wynn, Sablonnière, rho, topological epsilon, the inverses and
# the streaming epsilon classes) is imported on first access, so that ``import
# accel`` (and matfun, which imports it) never depends on those modules loading.
_EPSILON_FAMILY = {
    "shanks": "epsilon",
    "sablonniere": "epsilon",
    "rho": "rho",
    "topological_epsilon": "topological",
    "samelson_inverse": "inverses",
    "elementwise_inverse": "inverses",
    "ShanksAccelerator": "epsilon_stream",
    "SablonniereAccelerator": "epsilon_stream",
}

__all__ = [
    "AccelResult",
    "Accelerator",
    "SablonniereAccelerator",
    "ShanksAccelerator",
    "Status",
    "Windowed",
    "accelerator",
    "aitken",
    "elementwise_inverse",
    "levin",
    "methods",
    "mpe",
    "pade",
    "rho",
    "richardson",
    "rre",
    "sablonniere",
    "samelson_inverse",
    "shanks",
    "theta",
    "topological_epsilon",
]



def __getattr__(name: str) -> Any:
    if name in _EPSILON_FAMILY:
        value = getattr(importlib.import_module(f"accel.{_EPSILON_FAMILY[name]}"), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'accel' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

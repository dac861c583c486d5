"""Scalar and vector sequence accelerators, batch and streaming, on any array backend.

Batch functions take a sequence whose leading axis indexes the terms (shape
``(m,)`` or ``(m, n)``) and return the estimate of its limit;
``full_output=True`` returns an :class:`AccelResult` with an error estimate and a
:class:`Status`. :func:`accelerator` gives the streaming form of every method in
:func:`methods`. This package is the bottom layer: it never imports ``matfun``.
"""

from ._registry import accelerator, methods
from ._result import Accelerator, AccelResult, Status
from ._version import __version__ as __version__
from ._window import Windowed
from .aitken import aitken
from .epsilon import sablonniere, shanks
from .epsilon_stream import SablonniereAccelerator, ShanksAccelerator
from .inverses import elementwise_inverse, samelson_inverse
from .levin import levin
from .pade import pade
from .polynomial import mpe, rre
from .rho import rho
from .richardson import richardson
from .theta import theta
from .topological import topological_epsilon

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

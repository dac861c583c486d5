"""What :func:`matfun.lanczos.lanczos_apply` reports: its info record and its pole error.

Both are public as :class:`matfun.lanczos.LanczosInfo` and
:class:`matfun.lanczos.SingularFunctionError`; the stopping rule and the Ritz-value
guard their fields refer to are described in :mod:`matfun.lanczos`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["LanczosInfo", "SingularFunctionError"]


class SingularFunctionError(ArithmeticError):
    """``f`` has a pole at an eigenvalue of ``H`` that ``g`` excites (``f(H) g`` is undefined).

    Attributes
    ----------
    info : LanczosInfo
        What the method did before giving up.
    """

    def __init__(self, message: str, info: Any) -> None:
        super().__init__(message)
        self.info = info


@dataclass(frozen=True)
class LanczosInfo:
    """What :func:`lanczos_apply` did.

    Attributes
    ----------
    function : str
        Name of ``f``.
    matvecs : int
        Matvecs of the user's operator spent (= Lanczos steps; with ``memory="low"``
        also the second pass's ``steps``).
    steps : int
        Size ``k`` of the tridiagonal matrix the result uses.
    status : str
        ``"converged"`` (estimate met the tolerance), ``"breakdown"`` (invariant
        subspace: exact up to rounding), ``"max_matvecs"`` (budget spent first),
        ``"zero"`` (``g = 0``) or, with ``memory="low"`` only, ``"unverified"`` (the
        first pass stopped, but on the basis the second pass regenerated the estimate
        misses the tolerance: see :func:`matfun._lanczos_low_memory.verify`).
    converged : bool
        ``status in ("converged", "breakdown", "zero")``.
    error_estimate : float
        Relative error estimate (error / ``||x||``): a guaranteed bound (up to rounding)
        when ``bounded``, the heuristic of :mod:`matfun.lanczos` otherwise; 0 for an
        exact result, ``inf`` when none was available.
    bounded : bool
        Whether ``error_estimate`` is the guaranteed bound from ``bounds``.
    ritz_guard : float
        Relative weight of the unreliable Ritz pairs (see :mod:`matfun.lanczos`).
    smallest_ritz, largest_ritz : float
        ``min |theta|`` and ``max |theta|`` of the returned iterate's Ritz values.
    memory : str
        ``"full"`` or ``"low"``: the mode that ran (with ``memory="auto"``, the one
        chosen under ``max_memory``).
    """

    function: str
    matvecs: int
    steps: int
    status: str
    converged: bool
    error_estimate: float
    bounded: bool
    ritz_guard: float
    smallest_ritz: float
    largest_ritz: float
    memory: str = "full"

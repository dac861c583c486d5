r"""Choosing the scale ``V`` of the binomial series.

The series in :math:`z = I - A/V` (``A = H^2`` for the saddle-free direction)
converges geometrically iff every eigenvalue of ``A`` lies in :math:`(0, 2V)`, i.e.
:math:`V > \lambda_{\max}(A)/2`; each term costs the matvecs of one product with
``A``. A larger ``V`` is safer and slower: the terms needed grow like
:math:`V / \lambda_{\min}(A)`.

Strategies (the ``scale=`` argument of the series functions):

``float``
    A fixed ``V``.
``"adaptive"`` (default, safe)
    Starts at :math:`\|A g\| / \|g\|` and applies the same Rayleigh-type bound to every
    term, :math:`\|A p_k\| / \|p_k\|`, which is free since :math:`A p_k` is computed
    anyway; when it exceeds ``V`` the series restarts with the larger value. If ``V`` is
    too small the offending component of :math:`p_k = z^k g` grows and dominates,
    so the bound approaches :math:`\lambda_{\max}(A)` and the restart fixes ``V``.
``"paper"`` (unsafe, the seed paper's rule)
    :math:`V \leftarrow \max(V_0, \|A g\| / \|g\|)` once per solve from
    ``initial_scale`` (100 in the paper). The quotient is only a *lower* bound on
    :math:`\lambda_{\max}(A)`; on random indefinite matrices it lands at 0.2-0.5 times
    it, and the series diverges once ``V_0`` no longer dominates. Kept for
    reproducing the paper; divergence is detected and raised.
``"lanczos"`` / ``"power"``
    An upper estimate of the spectral radius from a few Lanczos (or power) steps
    (:func:`matfun.spectrum.spectral_radius`), its matvecs counted.
``"frobenius"``
    :math:`\|H\|_F^2 \ge \lambda_{\max}(H^2)` for dense input: safe, no matvec,
    often pessimistic by a factor of up to ``n``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._validation import positive_number

__all__ = ["ScaleRule", "resolve_scale", "SCALE_STRATEGIES"]

SCALE_STRATEGIES = ("adaptive", "paper", "lanczos", "power", "frobenius")


@dataclass(frozen=True)
class ScaleRule:
    r"""A resolved scale strategy.

    Attributes
    ----------
    initial : float or None
        ``V`` to start from; ``None`` means "take it from the first product".
    floor : float
        Lower limit for ``V`` (the paper's ``V_0``; 0 otherwise).
    adaptive : bool
        Whether ``V`` is raised (and the series restarted) when a term's Rayleigh
        quotient exceeds it.
    from_first_product : bool
        Whether ``V`` is raised to :math:`\|A g\|/\|g\|` after the first product.
    name : str
        The strategy's name, reported in the series info.
    """

    initial: float | None
    floor: float
    adaptive: bool
    from_first_product: bool
    name: str


def resolve_scale(
    scale: Any,
    *,
    initial_scale: float,
    estimate_radius: Callable[[str], float],
    frobenius_bound: Callable[[], float],
) -> ScaleRule:
    """Turn the user's ``scale=`` argument into a :class:`ScaleRule`.

    Parameters
    ----------
    scale : float or str
        See the module docstring.
    initial_scale : float
        ``V_0`` of the paper's rule.
    estimate_radius : callable
        ``method -> upper estimate of lambda_max(A)`` (spends matvecs); called only for
        ``"lanczos"`` and ``"power"``.
    frobenius_bound : callable
        ``() -> bound >= lambda_max(A)`` for dense input; raises ``TypeError`` when
        the operator has no dense matrix.
    """
    # Checked whatever the strategy: a bad value is a mistake even where it is unused.
    floor = positive_number(initial_scale, "initial_scale")
    if isinstance(scale, str):
        if scale == "adaptive":
            return ScaleRule(None, 0.0, True, True, scale)
        if scale == "paper":
            return ScaleRule(floor, floor, False, True, scale)
        if scale in ("lanczos", "power"):
            estimate = positive_number(estimate_radius(scale), "estimated scale")
            return ScaleRule(estimate, 0.0, False, False, scale)
        if scale == "frobenius":
            bound = positive_number(frobenius_bound(), "Frobenius bound")
            return ScaleRule(bound, 0.0, False, False, scale)
        raise ValueError(
            f"scale must be a positive number or one of {SCALE_STRATEGIES}, got {scale!r}"
        )
    if isinstance(scale, bool):
        raise TypeError(f"scale must be a positive number or a strategy name, got {scale!r}")
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise TypeError(
            f"scale must be a positive number or a strategy name, got {type(scale).__name__}"
        ) from None
    return ScaleRule(positive_number(value, "scale"), 0.0, False, False, "fixed")



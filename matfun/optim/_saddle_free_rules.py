"""The saddle-free direction rules behind :mod:`matfun.optim.sfn` (internal).

A rule turns the oracle at the current parameters into a :class:`Proposal`: the
direction :math:`s = C^{-1} g` with the saddle-free curvature :math:`C` (exact
from the dense Hessian's eigendecomposition, :class:`ExactRule`, or by the
series of Hessian-vector products, :class:`SeriesRule`) and what was measured
on the way. :func:`~matfun.optim.exact_sfn`, :func:`~matfun.optim.sfn_series` and
:func:`~matfun.optim.adaptive` (K-FAC's adaptive rate, momentum and damping)
step along it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import accel

from .._backend import all_finite, namespace, norm, to_float
from .._validation import positive_integer
from ..operators import as_operator
from ..series import DAMPING_KINDS, inv_sqrt_series
from ._base import SingularCurvatureError
from ._estimate_only import estimate_only
from ._lean_series import covers, lean_direction
from ._oracle_calls import (
    HVPCounter,
    check_nonnegative,
    check_positive,
    dense_hessian,
    gradient_and_loss,
)


@dataclass(frozen=True)
class Proposal:
    r"""A saddle-free direction and what was measured to compute it (internal).

    ``direction`` is :math:`s = C^{-1} g`, the update being :math:`-\eta s`;
    ``curvature`` applies the (damped) saddle-free curvature ``C`` when it is known
    explicitly (exact SFN); ``aux`` is the rule's carried quantity (``V``, or the
    averaged Hessian).
    """

    direction: Any
    gradient: Any
    loss: float
    grad_norm: float
    hvp: HVPCounter
    aux: Any
    curvature: Callable[[Any], Any] | None = None
    extras: dict = field(default_factory=dict)

    def info(self, **fields: Any) -> dict:
        """The protocol's info dict: loss, grad_norm, matvecs and method fields."""
        return {"loss": self.loss, "grad_norm": self.grad_norm,
                "matvecs": self.hvp.matvecs, **self.extras, **fields}


class ExactRule:
    """The exact saddle-free direction from the dense Hessian (internal).

    ``aux`` is the exponential moving average of the Hessian when
    :func:`~matfun.optim.adaptive` asks for one (``ema > 0``), else ``None``.
    """

    def __init__(self, threshold: float, replacement: float | None) -> None:
        self.threshold = check_nonnegative(threshold, "threshold")
        self.replacement = (self.threshold if replacement is None
                            else check_nonnegative(replacement, "replacement"))
        if not self.replacement > 0:
            raise ValueError(f"replacement must be positive (it is inverted); it defaults to "
                             f"threshold, so threshold = {self.threshold} needs an explicit "
                             f"replacement, got {replacement!r}")

    def init(self, params: Any) -> None:
        """No carried quantity until a moving average is asked for."""
        return None

    def propose(self, aux: Any, step: int, params: Any, oracle: Any, damping: float,
                ema: float = 0.0) -> Proposal:
        """Dense Hessian (``p`` HVPs), eigendecomposition, inverted absolute eigenvalues."""
        xp = namespace(params)
        loss, gradient, grad_norm = gradient_and_loss(oracle, params, step)
        hvp = HVPCounter(oracle, params, step)
        hessian = dense_hessian(hvp, params)
        averaged = hessian if (ema == 0.0 or aux is None) else ema * aux + (1 - ema) * hessian
        eigenvalues, Q = _eigh(xp, averaged)
        magnitude = xp.abs(eigenvalues) + damping
        small = magnitude < self.threshold
        magnitude = xp.where(small, xp.asarray(self.replacement, dtype=magnitude.dtype,
                                                 device=magnitude.device), magnitude)
        # Decisions on host flags: with threshold = 0 (fine when damping keeps the
        # magnitudes positive) a zero eigenvalue would be inverted, a tiny one overflow.
        singular = not bool(xp.min(magnitude) > 0)
        direction = None if singular else Q @ ((gradient @ Q) / magnitude)
        if singular or not all_finite(xp, direction):
            raise SingularCurvatureError(
                f"the saddle-free curvature is singular at step {step}: an absolute "
                f"eigenvalue (plus damping {damping}) is zero or so small that the step "
                f"overflows, and threshold = {self.threshold} does not replace it; use a "
                "larger threshold")
        model_eigenvalues, model_Q = eigenvalues, Q
        if averaged is not hessian:
            # K-FAC's model uses this step's curvature, not the smoothed one.
            model_eigenvalues, model_Q = _eigh(xp, hessian)
        model_magnitude = xp.abs(model_eigenvalues) + damping

        def curvature(v: Any) -> Any:
            return model_Q @ (model_magnitude * (v @ model_Q))

        extras = {
            "negative_eigenvalues": int(xp.sum(xp.astype(eigenvalues < 0, xp.int64))),
            "replaced_eigenvalues": int(xp.sum(xp.astype(small, xp.int64))),
        }
        return Proposal(direction, gradient, loss, grad_norm, hvp,
                        averaged if ema > 0.0 else None, curvature, extras)


class SeriesRule:
    """The saddle-free direction by :func:`matfun.inv_sqrt_series` (internal); ``aux = V``."""

    def __init__(self, *, terms: int, order: int, accelerate: Any, initial_scale: float,
                 scale: str, damping_kind: str) -> None:
        terms = positive_integer(terms, "terms")
        order = positive_integer(order, "order")
        if accelerate is not None:
            if terms < 2 * order + 1:
                raise ValueError(f"terms must be at least 2 * order + 1 = {2 * order + 1} "
                                 f"to accelerate at order {order}, got {terms}")
            if not isinstance(accelerate, accel.Accelerator):
                try:
                    accel.accelerator(accelerate, order=order)  # unknown names fail here
                except (TypeError, ValueError) as error:
                    raise type(error)(f"accelerate: {error}") from None
        if scale not in ("paper", "adaptive"):
            raise ValueError(f"scale must be 'paper' or 'adaptive', got {scale!r}")
        if damping_kind not in DAMPING_KINDS:
            raise ValueError(f"damping_kind must be one of {DAMPING_KINDS}, got "
                             f"{damping_kind!r}")
        self.terms, self.order, self.accelerate = terms, order, accelerate
        self._series_accelerate = estimate_only(accelerate, order)
        self.initial_scale = check_positive(initial_scale, "initial_scale")
        self.scale, self.damping_kind = scale, damping_kind
        # The fixed-K series of matfun.optim._lean_series where it applies (False: always
        # matfun.inv_sqrt_series; the tests compare the two).
        self.lean = True

    def init(self, params: Any) -> float:
        """``V_0``."""
        return self.initial_scale

    def propose(self, aux: float, step: int, params: Any, oracle: Any, damping: float,
                ema: float = 0.0) -> Proposal:
        """``K`` accelerated series terms from the scale ``V = aux``."""
        loss, gradient, grad_norm = gradient_and_loss(oracle, params, step)
        hvp = HVPCounter(oracle, params, step)
        if self.lean and covers(self.scale, self.terms, damping, self.damping_kind, gradient):
            # The same direction, V and terms by the fixed-K series alone (no restarts).
            direction, scale, terms = lean_direction(
                hvp, gradient, initial_scale=aux, terms=self.terms, damping=damping,
                accelerate=self._series_accelerate, order=self.order)
            extras = {"scale": scale if scale > 0 else aux, "terms": terms, "restarts": 0}
            return Proposal(direction, gradient, loss, grad_norm, hvp,
                            extras["scale"], None, extras)
        # HVPCounter validates every product (shape, dtype, finite): no second check.
        operator = as_operator(hvp, like=gradient, name="oracle.hvp", check=False)
        direction, info = inv_sqrt_series(
            operator, gradient, terms=self.terms, scale=self.scale, initial_scale=aux,
            damping=damping, damping_kind=self.damping_kind,
            accelerate=self._series_accelerate, order=self.order, full_output=True,
        )
        scale = info.scale if info.scale > 0 else aux  # a zero gradient chooses no V
        extras = {"scale": scale, "terms": info.terms, "restarts": info.restarts}
        return Proposal(direction, gradient, loss, grad_norm, hvp, scale, None, extras)

    def curvature_bound(self, hvp: HVPCounter, delta: Any, damping: float) -> float:
        r"""Upper bound on :math:`\delta^T C \delta` from one HVP (Cauchy-Schwarz).

        :math:`\delta^T |H| \delta \le \|H\delta\| \|\delta\|`, with equality
        for eigenvectors; likewise for the shifted and square-damped curvatures.
        """
        xp = namespace(delta)
        product = hvp(delta)
        delta_norm = to_float(norm(xp, delta))
        if self.damping_kind == "shift":
            return to_float(norm(xp, product + damping * delta)) * delta_norm
        product_norm = to_float(norm(xp, product))
        if self.damping_kind == "square":
            return math.sqrt(product_norm**2 + damping * delta_norm**2) * delta_norm
        return product_norm * delta_norm + damping * delta_norm**2


def _eigh(xp: Any, matrix: Any) -> tuple[Any, Any]:
    """``xp.linalg.eigh``; a half-precision matrix (float16, bfloat16) in float32.

    NumPy and PyTorch's CPU have no half-precision ``eigh``; the Hessian of a model small
    enough for the exact method decomposes in float32 at no real cost, and the results
    are rounded back to the parameters' dtype.
    """
    if xp.finfo(matrix.dtype).bits >= 32:
        return xp.linalg.eigh(matrix)
    values, vectors = xp.linalg.eigh(xp.astype(matrix, xp.float32))
    return xp.astype(values, matrix.dtype), xp.astype(vectors, matrix.dtype)

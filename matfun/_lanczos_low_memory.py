r"""Two-pass Lanczos: ``O(1)`` vectors of memory, at most twice the matvecs.

The first pass runs the plain three-term recurrence

.. math::

    \beta_j q_{j+1} = H q_j / s - \alpha_j q_j - \beta_{j-1} q_{j-1},
    \qquad \alpha_j = \operatorname{Re} q_j^H H q_j / s,

keeping only ``q_{j-1}, q_j`` and the tridiagonal ``T_k`` (the stopping checks of
:mod:`matfun.lanczos` need nothing else). The second pass
(:meth:`LowMemoryProcess.combination`) reruns the same recurrence with the stored
``alpha, beta`` -- the same operations, so the same vectors up to the operator's own
determinism -- and accumulates ``x = sum_j y_j q_j``: ``k - 1`` more matvecs.

**Trade-off.** Without reorthogonalisation the basis loses orthogonality once a Ritz
value converges (Paige): copies ("ghosts") of converged Ritz values appear in ``T_k``,
convergence is delayed (more steps than with full reorthogonalisation), and
``||Q_k y|| != ||y||``, so the error estimates computed from ``T_k`` -- including the
bound from ``bounds=`` -- are heuristics in this mode, not guarantees (Greenbaum 1989:
finite-precision Lanczos behaves like exact Lanczos on a matrix with eigenvalues in
tiny intervals around those of ``H``, which keeps them meaningful in practice).

Reference: Frommer and Simoncini (2008), *Matrix functions*, in Model Order Reduction,
section 3.3 (two-pass Lanczos); A. Greenbaum (1989), *Behavior of slightly perturbed
Lanczos and conjugate-gradient recurrences*, Linear Algebra Appl. 113.
"""

from __future__ import annotations

from typing import Any

from ._backend import inner, is_complex, namespace, real_dtype, settle, to_float
from ._lanczos import refuse_autograd, residual_norm, unit_start
from ._validation import magnitude_unit
from .operators import Operator

__all__ = ["LowMemoryProcess"]


class LowMemoryProcess:
    """The interface of :class:`matfun._lanczos.LanczosProcess` without a stored basis."""

    def __init__(self, op: Operator, start: Any) -> None:
        self.op = op
        xp = self.xp = namespace(start)
        self._complex = is_complex(xp, start)
        self.start_scale, self.unit_norm, self._first = unit_start(xp, start)
        self.start_norm = self.start_scale * self.unit_norm
        self._previous, self._current = None, self._first
        self.alphas: list[float] = []
        self.betas: list[float] = []
        self.breakdown = False
        self.scale = 1.0
        self.value_unit: float | None = None  # matfun._lanczos_values
        self.eps = float(xp.finfo(real_dtype(xp, start)).eps)
        self._size_of_t = 0.0

    @property
    def steps(self) -> int:
        """Number of completed steps ``k`` (= matvecs of the first pass)."""
        return len(self.alphas)

    def _advance(self, previous: Any, current: Any, k: int, alpha: float | None
                 ) -> tuple[Any, float]:
        """``(w, alpha)``: ``w = H q_k / s - alpha_k q_k - beta_{k-1} q_{k-1}``."""
        xp = self.xp
        w = self.op.matvec(current)
        if k == 0 and alpha is None:
            # Decision: the scale of H, from the first product (no extra matvec).
            refuse_autograd(w, "op's product")
            self.scale = magnitude_unit(xp, w)
        if self.scale != 1.0:
            w = w / self.scale
        if alpha is None:
            product = inner(xp, current, w)
            alpha = to_float(xp.real(product) if self._complex else product)
        w = w - alpha * current
        if previous is not None:
            w = w - self.betas[k - 1] * previous
        return w, alpha

    def step(self) -> bool:
        """One step of the first pass; False (and nothing done) after a breakdown."""
        if self.breakdown:
            return False
        k = self.steps
        w, alpha = self._advance(self._previous, self._current, k, None)
        beta = residual_norm(self.xp, w)
        self.alphas.append(alpha)
        self.betas.append(beta)
        previous = self.betas[-2] if k > 0 else 0.0
        self._size_of_t = max(self._size_of_t, abs(alpha) + beta + previous)
        # Only a vanishing beta is an invariant subspace here: without orthogonality
        # k = n steps do not span the space (the run may go on past n).
        if beta <= self.breakdown_threshold:
            self.breakdown = True
        else:
            self._previous, self._current = self._current, settle(w / beta)
        return True

    @property
    def breakdown_threshold(self) -> float:
        """``n eps ||T||`` (of ``H / scale``): a ``beta`` at or below it is a breakdown."""
        return self.op.size * self.eps * self._size_of_t

    @property
    def scaled_residual(self) -> float:
        """``beta_k`` of ``H / scale`` (0 after a breakdown)."""
        return 0.0 if self.breakdown or not self.betas else self.betas[-1]

    def weight_length(self, k: int) -> int:
        """``k``: :meth:`combination` takes exactly ``k`` weights (no stored buffer)."""
        return k

    def combination(self, weights: Any) -> Any:
        """Second pass: ``sum_j weights_j q_j`` with the basis regenerated (``k - 1`` matvecs)."""
        k = weights.shape[0]
        previous, current = None, self._first
        total = weights[0] * current
        for j in range(k - 1):
            w, _ = self._advance(previous, current, j, self.alphas[j])
            previous, current = current, settle(w / self.betas[j])
            total = settle(total + weights[j + 1] * current)
        return total

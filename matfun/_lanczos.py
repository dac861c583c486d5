r"""The symmetric Lanczos process with full reorthogonalisation.

After ``k`` steps from a start vector ``q_1 = v / ||v||`` it holds an orthonormal
basis ``Q_k = [q_1, ..., q_k]`` of the Krylov space
:math:`\mathcal K_k(H, v)` and the tridiagonal ``T_k = Q_k^T H Q_k`` (diagonal
``alpha``, off-diagonal ``beta``), with

.. math::

    H Q_k = Q_k T_k + \beta_k q_{k+1} e_k^T .

Each step costs one matvec. The new vector is orthogonalised against the whole
basis twice ("twice is enough", Parlett), so the basis stays orthonormal to
working precision in float32 and float64 and no ghost Ritz values appear. A
``beta_k`` below ``n * eps * ||T||`` means an invariant subspace was found: the
process stops (``breakdown``) and functions of ``T_k`` are then exact.

Reference: Golub and Van Loan, *Matrix Computations*, 4th ed., section 10.1;
Parlett, *The Symmetric Eigenvalue Problem*, chapter 13.
"""

from __future__ import annotations

from typing import Any

from ._backend import conj_transpose, inner, namespace, norm, real_dtype, to_float
from .operators import Operator

__all__ = ["LanczosProcess"]


class LanczosProcess:
    """Grow a Lanczos decomposition of ``op`` one matvec at a time.

    Parameters
    ----------
    op : Operator
        The symmetric operator.
    start : array
        Non-zero start vector (its backend and dtype are the basis').

    Attributes
    ----------
    basis : list of arrays
        ``q_1, ..., q_k``.
    alphas, betas : list of float
        Diagonal and off-diagonal of ``T_k`` (``betas[j]`` couples ``q_{j+1}``
        and ``q_{j+2}``; after ``k`` steps ``betas[k-1]`` is the residual
        coefficient ``beta_k``).
    breakdown : bool
        True once an invariant subspace has been found.
    start_norm : float
        ``||start||``.
    """

    def __init__(self, op: Operator, start: Any) -> None:
        self.op = op
        self.xp = namespace(start)
        self.start_norm = to_float(norm(self.xp, start))
        if self.start_norm == 0.0:
            raise ValueError("the Lanczos start vector must be non-zero")
        self.basis: list[Any] = [start / self.start_norm]
        self.alphas: list[float] = []
        self.betas: list[float] = []
        self.breakdown = False
        self._eps = float(self.xp.finfo(real_dtype(self.xp, start)).eps)
        self._scale = 0.0

    @property
    def steps(self) -> int:
        """Number of completed steps ``k`` (= matvecs spent)."""
        return len(self.alphas)

    def step(self) -> bool:
        """One Lanczos step; returns False (and does nothing) after a breakdown."""
        if self.breakdown or self.steps >= self.op.size:
            self.breakdown = True
            return False
        xp = self.xp
        q = self.basis[self.steps]
        w = self.op.matvec(q)
        # Decisions follow (alpha, beta and the breakdown test): one sync per step.
        # q^H H q: real for a Hermitian H (the conjugate makes complex input work).
        alpha = to_float(xp.real(inner(xp, q, w)))
        w = w - alpha * q
        if self.steps > 0:
            w = w - self.betas[-1] * self.basis[self.steps - 1]
        w = self._reorthogonalize(w)
        beta = to_float(norm(xp, w))
        self.alphas.append(alpha)
        self.betas.append(beta)
        previous = self.betas[-2] if self.steps > 1 else 0.0
        self._scale = max(self._scale, abs(alpha) + beta + previous)
        if beta <= self.op.size * self._eps * self._scale or self.steps >= self.op.size:
            self.breakdown = True
        else:
            self.basis.append(w / beta)
        return True

    def _reorthogonalize(self, w: Any) -> Any:
        xp = self.xp
        Q = xp.stack(self.basis[: self.steps + 1], axis=1)
        for _ in range(2):
            w = w - Q @ (conj_transpose(xp, Q) @ w)
        return w

    def tridiagonal(self) -> tuple[list[float], list[float]]:
        """``(alpha_1..k, beta_1..k-1)``: the diagonal and off-diagonal of ``T_k``."""
        return list(self.alphas), list(self.betas[: self.steps - 1])

    @property
    def residual(self) -> float:
        """``beta_k``, the coefficient of ``q_{k+1}`` (0 after a breakdown)."""
        return 0.0 if self.breakdown or not self.betas else self.betas[-1]

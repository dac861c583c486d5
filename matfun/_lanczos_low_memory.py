r"""Two-pass Lanczos: ``O(1)`` vectors of memory, twice the matvecs of its first pass.

The first pass runs the plain three-term recurrence

.. math::

    \beta_j q_{j+1} = H q_j / s - \alpha_j q_j - \beta_{j-1} q_{j-1},
    \qquad \alpha_j = \operatorname{Re} q_j^H H q_j / s,

keeping only ``q_{j-1}, q_j`` and the tridiagonal ``T_k`` (the stopping checks of
:mod:`matfun.lanczos` need nothing else). The second pass
(:meth:`LowMemoryProcess.combination`) reruns the same recurrence with the stored
``alpha, beta`` -- the same operations, so the same vectors up to the operator's own
determinism -- and accumulates ``x = sum_j y_j q_j``, then regenerates the residual
``beta_k q_{k+1}``: ``k`` more matvecs, ``2 k`` in all.

**Trade-off.** Without reorthogonalisation the basis loses orthogonality once a Ritz
value converges (Paige): copies ("ghosts") of converged Ritz values appear in ``T_k``
and convergence is delayed -- more first-pass steps than the full mode needs (measured
at ``kappa = 100``: 1664 against 632 at ``n = 1000``, 3458 against 2467 at
``n = 10^5``; ``docs/fast_methods.md``). No method with ``O(1)`` vectors avoids it:
finite-precision Lanczos behaves like exact Lanczos on a larger matrix whose
eigenvalues lie in tiny intervals around those of ``H`` (Greenbaum 1989), which erases
the advantage the full mode draws from a finite discrete spectrum.

**How the result is still verified.** The bound from ``bounds=``
(:mod:`matfun._lanczos_bounds`) rests on the Lanczos relation ``H Q_k = Q_k T_k +
beta_k q_{k+1} e_k^T`` and ``||q_{k+1}|| = 1``, not on orthogonality: the relation
holds to rounding in the plain recurrence (Paige 1976). It is therefore as much a
guarantee here as with full memory once :func:`verify` has checked, on the vectors the
second pass actually summed, the residual's norm and ``||x||`` (which is not ``||y||``
without orthogonality). Without ``bounds`` the estimate is the heuristic of
:mod:`matfun.lanczos`, as with full memory.

References: Frommer and Simoncini (2008), *Matrix functions*, in Model Order Reduction,
section 3.3 (two-pass Lanczos); C. C. Paige (1976), *Error analysis of the Lanczos
algorithm for tridiagonalizing a symmetric matrix*, IMA J. Appl. Math. 18; A. Greenbaum
(1989), *Behavior of slightly perturbed Lanczos and conjugate-gradient recurrences*,
Linear Algebra Appl. 113.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._backend import inner, is_complex, namespace, real_dtype, settle, to_float
from ._lanczos import refuse_autograd, residual_norm, unit_start
from ._symmetry import check_coupling
from ._validation import magnitude_unit
from .errors import IrreproducibleOperatorError
from .operators import Operator

__all__ = ["DEFAULT_STEPS_PER_UNKNOWN", "LowMemoryProcess", "first_pass_budget", "verify"]


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
        # The first pass checks symmetry where as_operator could not (two inner
        # products a step; matfun._symmetry).
        self._check_symmetry = op._symmetry_unverified
        self._backward: Any = None  # q_k^H H q_{k-1} / s, from the last step

    @property
    def steps(self) -> int:
        """Number of completed steps ``k`` (= matvecs of the first pass)."""
        return len(self.alphas)

    def _advance(self, previous: Any, current: Any, k: int, alpha: float | None
                 ) -> tuple[Any, float, Any]:
        """``(w, alpha, H q_k / s)``: ``w = H q_k / s - alpha_k q_k - beta_{k-1} q_{k-1}``."""
        xp = self.xp
        product = self.op.matvec(current)
        if k == 0 and alpha is None:
            # Decision: the scale of H, from the first product (no extra matvec).
            refuse_autograd(product, "op's product")
            self.scale = magnitude_unit(xp, product)
        if self.scale != 1.0:
            product = product / self.scale
        if alpha is None:
            value = inner(xp, current, product)
            alpha = to_float(xp.real(value) if self._complex else value)
        w = product - alpha * current
        if previous is not None:
            w = w - self.betas[k - 1] * previous
        return w, alpha, product

    def step(self) -> bool:
        """One step of the first pass; False (and nothing done) after a breakdown."""
        if self.breakdown:
            return False
        k = self.steps
        w, alpha, product = self._advance(self._previous, self._current, k, None)
        beta = residual_norm(self.xp, w)
        self.alphas.append(alpha)
        self.betas.append(beta)
        previous = self.betas[-2] if k > 0 else 0.0
        self._size_of_t = max(self._size_of_t, abs(alpha) + beta + previous)
        if self._check_symmetry:
            self._check_transposed(product, w, beta, k)
        # Only a vanishing beta is an invariant subspace here: without orthogonality
        # k = n steps do not span the space (the run may go on past n).
        if beta <= self.breakdown_threshold:
            self.breakdown = True
        else:
            self._previous, self._current = self._current, settle(w / beta)
        return True

    def _check_transposed(self, product: Any, w: Any, beta: float, k: int) -> None:
        """``q_{k-1}^H H q_k = conj(q_k^H H q_{k-1})``, or a ``ValueError`` (two inner products).

        ``q_k^H H q_{k-1}`` was kept from the step before (``w`` there is ``beta_{k-1}
        q_k``); no orthogonality is assumed, which the plain recurrence does not keep.
        """
        xp = self.xp
        if k > 0:
            forward, backward = inner(xp, self._previous, product), self._backward
            if self._complex:
                forward, backward = complex(forward), complex(backward).conjugate()
            else:
                forward, backward = to_float(forward), to_float(backward)
            check_coupling(forward, backward, self._size_of_t, self.eps, self.op.name, k,
                           against="q_k^T H q_{k-1}")
        self._backward = inner(xp, w, product) / beta if beta > 0 else None

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
        """Second pass: ``sum_j weights_j q_j`` with the basis regenerated (``k`` matvecs).

        The ``k``-th matvec regenerates the residual ``beta_k q_{k+1}`` (not used in the
        sum); the norms of the sum and of the residual are kept in :attr:`regenerated`
        for :func:`verify`. A regenerated ``q_j`` longer than ``2`` (exactly 1 for a
        deterministic operator) raises :class:`~matfun.errors.IrreproducibleOperatorError`
        at once: the rounding term of the Lanczos relation, ``eps ||H|| ||q_j||`` per
        column, would more than double.
        """
        k = weights.shape[0]
        previous, current = None, self._first
        total = weights[0] * current
        for j in range(k - 1):
            w, _, _ = self._advance(previous, current, j, self.alphas[j])
            _check_length(residual_norm(self.xp, w) / self.betas[j], j + 2)
            previous, current = current, settle(w / self.betas[j])
            total = settle(total + weights[j + 1] * current)
        w, _, _ = self._advance(previous, current, k - 1, self.alphas[k - 1])
        self.regenerated = (residual_norm(self.xp, total), residual_norm(self.xp, w))
        return total


# The first pass's default budget, in steps per unknown: without orthogonality n steps
# do not exhaust the space (measured: 1664 steps at n = 1000, kappa = 100, where the
# full mode needs 632).
DEFAULT_STEPS_PER_UNKNOWN = 4

# The longest regenerated basis vector accepted (LowMemoryProcess.combination).
_LONGEST = 2.0


def _check_length(length: float, j: int) -> None:
    """Raise if the regenerated ``q_j`` has drifted from unit length (NaN included)."""
    if not length <= _LONGEST:
        raise IrreproducibleOperatorError(
            f"memory='low': the second pass regenerated q_{j} with norm {length:.3g} "
            "instead of 1 (the first pass normalised it): op's products are not "
            "reproducible from call to call, and the result has no error bound; use "
            "memory='full'")


def first_pass_budget(max_matvecs: int | None, size: int) -> int:
    """Steps ``k`` of the first pass: ``2 k <= max_matvecs`` (both passes), or ``4 n``."""
    if max_matvecs is None:
        return DEFAULT_STEPS_PER_UNKNOWN * size
    if max_matvecs < 2:
        raise ValueError(f"max_matvecs must be at least 2 with memory='low' (two passes), "
                         f"got {max_matvecs}")
    return max_matvecs // 2


def verify(process: LowMemoryProcess, coefficients: np.ndarray, status: str, error: float,
           rtol: float, tol: float) -> tuple[str, float]:
    r"""``(status, relative error estimate)`` of the summed result, from its second pass.

    The first pass's estimate is relative to ``||y||`` (``y`` the coefficients) and takes
    the residual :math:`r_k = H q_k - \alpha_k q_k - \beta_{k-1} q_{k-1}` to have norm
    ``beta_k``. The error analysis (:mod:`matfun._lanczos_bounds`) needs only the
    Lanczos relation :math:`H Q_k = Q_k T_k + r_k e_k^T`, which holds to rounding
    without orthogonality (Paige 1976), and ``||r_k||``: so it holds for the vectors the
    second pass regenerated and summed, with ``||r_k||`` as measured there (equal to
    ``beta_k`` for a deterministic operator). The absolute bound is scaled by
    ``rho = max(1, ||r_k|| / beta_k)`` and divided by the measured
    ``||x|| = nu ||y||`` (``nu != 1`` without orthogonality); a stop whose estimate then
    misses ``rtol + atol / ||x||`` (``tol`` is that target with ``||y||``) becomes
    ``"unverified"``, a breakdown whose regenerated residual is not below the breakdown
    threshold too.
    """
    size, residual = process.regenerated
    nu = size / float(np.linalg.norm(coefficients))
    beta = process.betas[coefficients.shape[0] - 1]
    if status == "breakdown":
        exact = residual <= process.breakdown_threshold
        return (status, error) if exact else ("unverified", math.inf)
    if nu == 0 or beta == 0:
        return ("unverified" if status == "converged" else status), math.inf
    estimate = error * max(1.0, residual / beta) / nu if error > 0 else 0.0
    if status == "converged" and not estimate <= rtol + (tol - rtol) / nu:
        status = "unverified"
    return status, estimate

r"""The Hermitian Lanczos process with full reorthogonalisation, at any scale.

After ``k`` steps from a start vector ``q_1 = v / ||v||`` it holds an orthonormal
basis ``Q_k = [q_1, ..., q_k]`` of the Krylov space
:math:`\mathcal K_k(H, v)` and the real tridiagonal ``T_k = Q_k^H H Q_k``
(diagonal ``alpha``, off-diagonal ``beta > 0``), with

.. math::

    H Q_k = Q_k T_k + \beta_k q_{k+1} e_k^T .

Each step costs one matvec. The new vector is orthogonalised against the whole
basis by classical Gram-Schmidt applied twice (two BLAS-2 passes
``c = Q^H w, w <- w - Q c``; "twice is enough", Parlett), so the basis stays
orthonormal to working precision in float32 and float64 and no ghost Ritz values
appear. Inner products are conjugated (``alpha = Re q^H H q`` for a Hermitian
``H``), so complex Hermitian operators work. A ``beta_k`` below
``n * eps * ||T||`` means an invariant subspace was found: the process stops
(``breakdown``) and functions of ``T_k`` are then exact.

**Scale.** The start vector is divided by the power of two above its largest
entry, and every matvec by the power of two ``s`` above the largest entry of the
first product ``H q_1`` (both exact), so norms, inner products and ``T`` are
computed on data of order 1: the process runs on ``H / s`` for any
``||H||`` in the dtype's range (float64: 1e-300..1e300). :meth:`tridiagonal`
returns ``T`` of ``H`` itself, :meth:`scaled_tridiagonal` that of ``H / s``.

**Storage.** The basis lives in one buffer of shape ``(capacity, n)`` (a row per
vector, so the two passes are matrix-vector products), the capacity doubled when
full (a real NumPy basis starts with room for 64 MiB: untouched rows cost no
memory). Backends with in-place assignment (NumPy, CuPy, PyTorch) write rows in
place and project on the view of the ``k + 1`` rows in use (the rows beyond are left
uninitialised when the buffer grows). Backends without it (JAX)
keep every array at a fixed shape between doublings, since each new shape is a new
compilation there: rows are written functionally (``where`` over the row index,
``O(capacity n)`` like the projections), and the projections run over the whole
buffer, whose unused rows are zero (``Q^H w`` is zero there and ``w - Q c`` is
unchanged). A run of ``k`` steps then sees ``O(log k)`` distinct shapes, so a
solve compiles a bounded number of kernels and a second solve of the same shape
none. The extra rows cost at most twice the flops of the view.

Reference: Golub and Van Loan, *Matrix Computations*, 4th ed., section 10.1;
Parlett, *The Symmetric Eigenvalue Problem*, chapter 13.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from array_api_compat import device as array_device

from ._backend import (
    compiled,
    is_complex,
    is_lazy,
    max_abs,
    namespace,
    norm,
    real_dtype,
    settle,
    to_float,
)
from ._symmetry import check_coupling
from ._validation import magnitude_unit, power_of_two
from .operators import Operator

__all__ = ["LanczosProcess", "largest_magnitude", "residual_norm", "unit_start"]

_NUMPY_REAL = (np.dtype(np.float64), np.dtype(np.float32))
_INITIAL_CAPACITY = 32
_RESERVED = 64 * 2**20  # a NumPy basis' first allocation, in bytes (address space)
# Fixed-shape storage (JAX) starts larger: each capacity costs about four
# compilations (the step kernel ~0.17 s of them at n = 1000), projecting on up to
# 128 zero rows far less.
_INITIAL_FIXED_CAPACITY = 128


def largest_magnitude(xp: Any, v: Any) -> float:
    """``max |v_i|`` as a Python float (no squares: safe at any magnitude). One sync."""
    return to_float(max_abs(xp, v))


def unit_start(xp: Any, start: Any) -> tuple[float, float, Any]:
    """``(start_scale, unit_norm, q_1)`` with ``start = start_scale * unit_norm * q_1``.

    ``start_scale`` is the power of two above ``max |start_i|`` (exact), so the norm
    of ``start / start_scale`` can neither overflow nor underflow.
    """
    peak = largest_magnitude(xp, start)
    if peak == 0.0:
        raise ValueError("the Lanczos start vector must be non-zero")
    start_scale = power_of_two(peak)
    unit = start / start_scale
    unit_norm = to_float(norm(xp, unit))
    return start_scale, unit_norm, unit / unit_norm


def residual_norm(xp: Any, w: Any) -> float:
    """``||w||``, rescaled by a power of two where the plain norm overflows. One sync."""
    beta = to_float(norm(xp, w))
    if not math.isfinite(beta):  # entries above 1e154: squares overflow
        peak = power_of_two(largest_magnitude(xp, w))
        beta = peak * to_float(norm(xp, w / peak))
    return beta


class LanczosProcess:
    """Grow a Lanczos decomposition of ``op`` one matvec at a time.

    Parameters
    ----------
    op : Operator
        The Hermitian operator.
    start : array
        Non-zero start vector (its backend and dtype are the basis').
    capacity : int, optional
        Rows to allocate at once (default: grown from 32 by doubling; from 128 with
        fixed-shape storage).

    Attributes
    ----------
    alphas, betas : list of float
        Diagonal and off-diagonal of ``T_k`` of ``H / scale`` (``betas[j]`` couples
        ``q_{j+1}`` and ``q_{j+2}``; after ``k`` steps ``betas[k-1]`` is the residual
        coefficient ``beta_k``).
    breakdown : bool
        True once an invariant subspace has been found.
    start_norm : float
        ``||start||`` (may under- or overflow only where the true value does; see
        ``start_scale`` and ``unit_norm``: ``start_norm = start_scale * unit_norm``).
    scale : float
        The power of two ``s`` the operator is divided by (1 before the first step).
    """

    def __init__(self, op: Operator, start: Any, *, capacity: int | None = None) -> None:
        self.op = op
        xp = self.xp = namespace(start)
        self.start_scale, self.unit_norm, first = unit_start(xp, start)
        self.start_norm = self.start_scale * self.unit_norm
        self.alphas: list[float] = []
        self.betas: list[float] = []
        self.breakdown = False
        self.scale = 1.0
        self.value_unit: float | None = None  # matfun._lanczos_values
        self._eps = float(xp.finfo(real_dtype(xp, start)).eps)
        self._check_symmetry = op._symmetry_unverified  # generic steps (NumPy: always)
        self._size_of_t = 0.0
        self._capacity = min(op.size + 1, capacity or _INITIAL_CAPACITY)
        self._lazy = is_lazy(first)
        self._numpy = False
        self._current = first = settle(first)
        self._rows = 1
        if self._lazy:
            # Lazy arrays (Dask): rows appended by concatenation and persisted (writing a
            # row into a preallocated lazy buffer rewrites the whole block every step).
            self._in_place = False
            self._buffer = settle(xp.reshape(first, (1, op.size)))
            return
        if type(first) is np.ndarray and first.dtype in _NUMPY_REAL:
            # A real NumPy basis: the lean step (:meth:`_step_numpy`), and room for up to
            # _RESERVED bytes at once: a large zeroed allocation is only address space
            # (pages zeroed by the system when first written), each doubling a copy.
            self._numpy = True
            if capacity is None:
                self._capacity = min(op.size + 1, max(
                    _INITIAL_CAPACITY, _RESERVED // (op.size * first.dtype.itemsize)))
            self._buffer = np.zeros((self._capacity, op.size), dtype=first.dtype)
        else:
            self._buffer = xp.zeros((self._capacity, op.size), dtype=start.dtype,
                                    device=array_device(start))
        try:
            self._buffer[0, :] = first
            self._in_place = True
        except (TypeError, ValueError, NotImplementedError, AttributeError):
            self._in_place = False  # immutable arrays (JAX): fixed shapes, functional writes
            if capacity is None:
                self._capacity = min(op.size + 1, _INITIAL_FIXED_CAPACITY)
                self._buffer = xp.zeros((self._capacity, op.size), dtype=start.dtype,
                                        device=array_device(start))
            self._buffer = compiled(xp, _set_row)(self._buffer, 0, first)

    @property
    def steps(self) -> int:
        """Number of completed steps ``k`` (= matvecs spent)."""
        return len(self.alphas)

    @property
    def eps(self) -> float:
        """Machine epsilon of the basis' real dtype."""
        return self._eps

    @property
    def breakdown_threshold(self) -> float:
        """``n eps ||T||`` (of ``H / scale``): a ``beta`` at or below it is a breakdown."""
        return self.op.size * self.eps * self._size_of_t

    def rows(self, k: int) -> Any:
        """``Q_k^T`` as a ``(k, n)`` array (a view of the buffer where the backend has them).

        ``k`` may exceed :attr:`steps` up to :meth:`weight_length`: the rows past the
        basis are zero (fixed-shape storage; with in-place storage ``k`` never exceeds
        the basis, and the rows past it are uninitialised).
        """
        return self._buffer[:k, :]

    def weight_length(self, k: int) -> int:
        """Length to zero-pad ``k`` weights to for :meth:`combination`.

        ``k`` itself with in-place storage; the buffer's capacity otherwise, so that
        the combination, too, has one shape per capacity (JAX compiles per shape).
        """
        return k if self._in_place or self._lazy else self._capacity

    def combination(self, weights: Any) -> Any:
        """``sum_j weights_j q_j = Q_k weights`` for ``k = len(weights)``.

        Zero weights past :attr:`steps` (padding to :meth:`weight_length`) add nothing.
        """
        return weights @ self.rows(weights.shape[0])

    @property
    def basis(self) -> list[Any]:
        """``[q_1, ..., q_{k+1}]`` as a list of vectors (views)."""
        return [self._buffer[j, :] for j in range(self._rows)]

    def step(self) -> bool:
        """One Lanczos step; returns False (and does nothing) after a breakdown."""
        if self.breakdown or self.steps >= self.op.size:
            self.breakdown = True
            return False
        k = len(self.alphas)
        if self._numpy and k > 0 and self._in_place:
            return self._step_numpy(k)
        xp = self.xp
        w = self.op.matvec(self._current)
        if k == 0:
            # Decision: the scale of H, from the first product (no extra matvec).
            refuse_autograd(w, "op's product")
            self.scale = magnitude_unit(xp, w)
        if self.scale != 1.0:
            w = w / self.scale
        # Fixed-shape storage projects on every row (the unused ones are zero).
        Q = self.rows(k + 1 if self._in_place or self._lazy else self._capacity)
        w, alpha, beta, coupling = compiled(xp, _orthogonalise)(Q, w, k)
        # Decisions follow (alpha, beta, the breakdown test and, from the second step,
        # the symmetry check where as_operator could not make it): two or three syncs.
        alpha, beta = to_float(alpha), to_float(beta)
        if not math.isfinite(beta):
            beta = residual_norm(xp, w)
        self.alphas.append(alpha)
        self.betas.append(beta)
        previous = self.betas[-2] if k > 0 else 0.0
        self._size_of_t = max(self._size_of_t, abs(alpha) + beta + previous)
        if k > 0 and self._check_symmetry:
            coupling = complex(coupling) if is_complex(xp, w) else to_float(coupling)
            check_coupling(coupling, previous, self._size_of_t, self._eps, self.op.name, k)
        if beta <= self.breakdown_threshold or self.steps >= self.op.size:
            self.breakdown = True
        else:
            self._append(w / beta)
        return True

    def _step_numpy(self, k: int) -> bool:
        """:meth:`step` for a real NumPy basis in place: the same floats, less around them.

        The product's finiteness check is the norm ``beta``, which the step computes
        anyway: a NaN/inf entry of ``H q`` stays in that entry through both passes
        (``w_j - (c Q)_j`` is NaN or inf whatever ``c`` is), so it reaches ``beta``.
        Only a non-finite ``beta`` looks at the product (:meth:`Operator._confirm`,
        before anything else is done with it): the operator's error, as by
        :meth:`~matfun.Operator.matvec`, and no further matvec. ``q_k`` is finite (a
        finite ``w`` over a finite ``beta``), as :meth:`Operator._product` needs.
        """
        current = self._current
        product = self.op._product(current)
        Q = self._buffer[: k + 1, :]
        # A NaN/inf product (inf - inf) or a huge one (its squares) warns nothing: it
        # is decided below from beta.
        with np.errstate(invalid="ignore", over="ignore"):
            w = product / self.scale if self.scale != 1.0 else product
            first = Q @ w
            w = w - first @ Q  # not in place: ``product`` may still be needed below
            second = Q @ w
            w -= second @ Q
            alpha = float(first[k] + second[k])
            beta = float(np.sqrt(np.add.reduce(w * w)))  # = vector_norm(w), bit for bit
        if not math.isfinite(beta):
            self.op._confirm(current, product)  # the matvec's error for a NaN/inf product
            beta = residual_norm(self.xp, w)
        self.alphas.append(alpha)
        self.betas.append(beta)
        self._size_of_t = max(self._size_of_t, abs(alpha) + beta + self.betas[-2])
        check_coupling(float(first[k - 1]), self.betas[-2], self._size_of_t, self._eps,
                        self.op.name, k)
        if beta <= self.op.size * self._eps * self._size_of_t or k + 1 >= self.op.size:
            self.breakdown = True
            return True
        rows = self._rows
        if rows == self._capacity:
            self._grow(min(self.op.size + 1, 2 * rows))
        q = self._buffer[rows, :]
        np.divide(w, beta, out=q)
        self._current = q
        self._rows = rows + 1
        return True

    def _append(self, q: Any) -> None:
        if self._lazy:
            self._current = q = settle(q)
            self._buffer = settle(self.xp.concat([self._buffer, q[None, :]], axis=0))
            self._rows += 1
            return
        if self._rows == self._capacity:
            self._grow(min(self.op.size + 1, 2 * self._capacity))
        if self._in_place:
            self._buffer[self._rows, :] = q
        else:
            self._buffer = compiled(self.xp, _set_row)(self._buffer, self._rows, q)
        self._current = q
        self._rows += 1

    def _grow(self, capacity: int) -> None:
        """Double the buffer: new rows below the basis (one new shape per doubling).

        In place the new rows are left uninitialised (never read before written:
        zeroing them cost a third of a run at ``n = 1e5``); fixed-shape storage needs
        them zero.
        """
        xp = self.xp
        if self._in_place:
            grown = xp.empty((capacity, self.op.size), dtype=self._buffer.dtype,
                             device=array_device(self._buffer))
            grown[: self._rows, :] = self._buffer[: self._rows, :]
        else:
            zeros = xp.zeros((capacity - self._capacity, self.op.size),
                             dtype=self._buffer.dtype, device=array_device(self._buffer))
            grown = xp.concat([self._buffer, zeros], axis=0)
        self._buffer, self._capacity = grown, capacity

    def scaled_tridiagonal(self) -> tuple[list[float], list[float]]:
        """``(alpha_1..k, beta_1..k-1)`` of ``T_k`` for ``H / scale``."""
        return list(self.alphas), list(self.betas[: self.steps - 1])

    def tridiagonal(self) -> tuple[list[float], list[float]]:
        """``(alpha_1..k, beta_1..k-1)``: the diagonal and off-diagonal of ``T_k`` of ``H``."""
        alphas, betas = self.scaled_tridiagonal()
        return [a * self.scale for a in alphas], [b * self.scale for b in betas]

    @property
    def scaled_residual(self) -> float:
        """``beta_k`` of ``H / scale`` (0 after a breakdown)."""
        return 0.0 if self.breakdown or not self.betas else self.betas[-1]

    @property
    def residual(self) -> float:
        """``beta_k``, the coefficient of ``q_{k+1}`` (0 after a breakdown)."""
        return self.scaled_residual * self.scale


def _orthogonalise(Q: Any, w: Any, k: int) -> tuple[Any, Any, Any, Any]:
    """``(w', alpha, ||w'||, coupling)``: two Gram-Schmidt passes of ``w`` against ``Q``.

    ``w' = (I - Q^H Q)^2 w`` by ``c = Q^H w, w <- w - Q c`` twice (conjugating the
    vector, not the basis), ``alpha = Re(c_1 + c_2)_k`` and the coupling
    ``(c_1)_{k-1} = q_{k-1}^H H q_k / s`` (``beta_{k-1}`` for a symmetric ``H``; for
    ``k = 0`` the entry of the last row, unused). Zero rows of ``Q`` change
    nothing. One kernel on JAX (:func:`matfun._backend.compiled`); on Dask every
    intermediate is persisted (:func:`matfun._backend.settle`), so the decisions
    computed from them do not recompute the step.
    """
    xp = namespace(Q, w)
    complex_basis = is_complex(xp, Q)
    projections = []
    for _ in range(2):
        c = settle(xp.conj(Q @ xp.conj(w)) if complex_basis else Q @ w)
        w = settle(w - c @ Q)
        projections.append(c)
    alpha = projections[0][k] + projections[1][k]
    return (w, xp.real(alpha) if complex_basis else alpha, norm(xp, w),
            projections[0][k - 1])


def _set_row(buffer: Any, row: int, q: Any) -> Any:
    """``buffer`` with row ``row`` replaced by ``q``, functionally (same shape, no setitem)."""
    xp = namespace(buffer, q)
    index = xp.reshape(xp.arange(buffer.shape[0], device=array_device(buffer)),
                       (buffer.shape[0], 1))
    return xp.where(index == row, q[None, :], buffer)


def refuse_autograd(x: Any, what: str) -> None:
    """``TypeError`` when autograd records operations on ``x`` (a tensor requiring grad).

    The iterate is ``||g|| Q_k f(T_k) e_1`` with ``f(T_k) e_1`` computed on the host
    from the Lanczos coefficients: autograd would differentiate ``Q_k`` alone and
    return a gradient that is silently wrong (measured: relative error 1.8 on a
    30 x 30 problem), so the run is refused instead.
    """
    if getattr(x, "requires_grad", False):
        raise TypeError(f"{what} requires grad: Lanczos computes f(T_k) e_1 on the host, "
                        "where autograd cannot follow it (its gradient would be wrong); "
                        "pass detached tensors, or use method='series' or 'chebyshev', "
                        "whose arithmetic autograd does follow")


"""Polynomial vector extrapolation: MPE and RRE (Cabay & Jackson 1976; Eddy 1979; Mesina 1977).

Both treat the terms as vectors jointly. From the differences
``u_i = s_{i+1} - s_i`` of the newest ``k + 2`` terms they pick weights
``gamma_0..gamma_k`` with ``sum gamma = 1`` so that ``sum gamma_i u_i`` is small,
and return ``sum gamma_i s_i``. For a linear iteration ``s_{i+1} = A s_i + b``
whose error ``s_i - S`` stays in a ``d``-dimensional invariant subspace, the
minimal polynomial of ``A`` on that subspace makes ``sum gamma_i u_i = 0``
possible with ``k = d``: both are then exact from ``d + 2`` iterates. The least
squares problems are solved by a QR factorisation of the difference matrix
(never by normal equations, which square its condition number).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from ._backend import is_complex, norm, real_dtype
from ._honest import honest
from ._sequence import all_true, as_sequence, check_order, insufficient, summarize_joint

__all__ = ["mpe", "rre"]

@honest
def mpe(seq: Any, *, order: int | None = None, full_output: bool = False) -> Any:
    r"""Minimal polynomial extrapolation of the newest ``k + 2`` terms.

    With ``c_k = 1``, the other ``c_0..c_{k-1}`` minimise
    ``|| sum_{i=0}^k c_i u_{n+i} ||`` (least squares by QR of
    ``[u_n, ..., u_{n+k-1}]``), and

    .. math::

        \mathrm{MPE}_k = \frac{\sum_{i=0}^k c_i s_{n+i}}{\sum_{i=0}^k c_i}.

    It is the value at ``z = 1`` of a vector Padé-type approximant with the
    scalar denominator ``Q(z) = sum c_i z^{k-i}`` that imposes only the first of
    the ``k`` Padé conditions, in the least-squares sense (see
    :func:`accel.pade`, which imposes all ``k``). For scalars, order 1 is
    Aitken's delta-squared.

    Parameters
    ----------
    seq : array, shape (m,) or (m, n)
        The terms; the leading axis indexes them. Vectors are treated jointly
        (one set of weights for all components); a scalar sequence is a vector
        of length 1, for which only order 1 (Aitken's delta-squared) exists.
    order : int, optional
        ``k``: the newest ``k + 2`` terms. Default and upper limit:
        ``min(m - 2, n)`` (more than ``n`` differences in dimension ``n`` are
        always dependent).
    full_output : bool
        Return an :class:`~accel.AccelResult` instead of the estimate.

    Returns
    -------
    estimate : array, shape () or (n,)
        Or an :class:`~accel.AccelResult` with ``full_output=True``.

    Notes
    -----
    A difference column that is numerically dependent on the newer ones (its
    part orthogonal to them below ``tol`` times its norm, ``tol`` a small
    multiple of ``eps``), or ``sum c_i = 0``, makes that order and the higher
    ones undefined: the estimate falls back to the highest defined order, with
    status ``CONVERGED`` when that order already annihilates the newest
    difference (exact on a low-rank error) and ``BREAKDOWN`` otherwise.

    References
    ----------
    S. Cabay and L. W. Jackson, A polynomial extrapolation method for finding
    limits and antilimits of vector sequences, SIAM J. Numer. Anal. 13 (1976)
    734-752. A. Sidi, Vector Extrapolation Methods with Applications, SIAM
    (2017), chapter 1.

    Examples
    --------
    A linear iteration with a 2-dimensional error is extrapolated exactly from
    4 iterates:

    >>> import numpy as np
    >>> from accel import mpe
    >>> A = np.diag([0.9, -0.5, 0.0]); b = np.array([1.0, 2.0, 3.0])
    >>> x = [np.array([0.0, 0.0, 3.0])]  # the error lies in the first two axes
    >>> for _ in range(3):
    ...     x.append(A @ x[-1] + b)
    >>> limit = np.linalg.solve(np.eye(3) - A, b)
    >>> bool(np.allclose(mpe(np.stack(x), order=2), limit, rtol=1e-13))
    True
    """
    return _extrapolate(seq, order, full_output, minimal=True)


@honest
def rre(seq: Any, *, order: int | None = None, full_output: bool = False) -> Any:
    """Reduced rank extrapolation of the newest ``k + 2`` terms.

    The weights ``gamma_0..gamma_k`` minimise ``|| sum gamma_i u_{n+i} ||``
    subject to ``sum gamma_i = 1``, and ``RRE_k = sum gamma_i s_{n+i}``. With
    ``gamma_k = 1 - sum_{i<k} gamma_i`` this is the unconstrained least-squares
    problem ``min || u_{n+k} + sum_{i<k} gamma_i (u_{n+i} - u_{n+k}) ||``,
    solved by QR of that difference matrix. It never breaks down on a
    full-rank difference matrix (the constraint needs no division) and its
    residual decreases monotonically with ``k`` (it is GMRES on linear
    iterations).

    Parameters
    ----------
    seq : array, shape (m,) or (m, n)
        The terms; the leading axis indexes them. Vectors are treated jointly
        (one set of weights for all components); a scalar sequence is a vector
        of length 1, for which only order 1 (Aitken's delta-squared) exists.
    order : int, optional
        ``k``: the newest ``k + 2`` terms. Default and upper limit:
        ``min(m - 2, n)`` (more than ``n`` differences in dimension ``n`` are
        always dependent).
    full_output : bool
        Return an :class:`~accel.AccelResult` instead of the estimate.

    Returns
    -------
    estimate : array, shape () or (n,)
        Or an :class:`~accel.AccelResult` with ``full_output=True``.

    Notes
    -----
    Numerically dependent difference columns are handled as in :func:`mpe`.

    References
    ----------
    R. P. Eddy, Extrapolating to the limit of a vector sequence (1979); M. Mesina,
    Convergence acceleration for the iterative solution of x = Ax + f, Comput.
    Methods Appl. Mech. Eng. 10 (1977) 165-173. A. Sidi, Vector Extrapolation
    Methods with Applications, SIAM (2017), chapter 1.

    Examples
    --------
    >>> import numpy as np
    >>> from accel import rre
    >>> A = np.diag([0.9, -0.5, 0.0]); b = np.array([1.0, 2.0, 3.0])
    >>> x = [np.array([0.0, 0.0, 3.0])]  # the error lies in the first two axes
    >>> for _ in range(3):
    ...     x.append(A @ x[-1] + b)
    >>> limit = np.linalg.solve(np.eye(3) - A, b)
    >>> bool(np.allclose(rre(np.stack(x), order=2), limit, rtol=1e-13))
    True
    """
    return _extrapolate(seq, order, full_output, minimal=False)


def _extrapolate(seq: Any, order: Any, full_output: bool, *, minimal: bool) -> Any:
    requested = check_order(order)
    xp, terms = as_sequence(seq)
    vectors = terms if terms.ndim == 2 else xp.reshape(terms, (terms.shape[0], 1))
    m, n = vectors.shape
    most = min(m - 2, n)
    if most < 1:
        result = insufficient(terms)
        return result if full_output else result.estimate
    k = most if requested is None else min(requested, most)
    window = vectors[m - (k + 2):, ...]
    steps = window[1:, ...] - window[:-1, ...]  # u_{p-k-1} .. u_{p-1}
    newest_step = steps[-1, ...]
    older = xp.flip(steps[:-1, ...], axis=0)  # row i: u_{p-2-i}
    older_sums = xp.flip(window[:-2, ...], axis=0)  # row i: s_{p-2-i}
    anchor = window[-2, ...]  # s_{p-1}, weighted by u_{p-1}
    columns = older if minimal else older - newest_step
    solver = TriangularLeastSquares(xp, xp.matrix_transpose(columns), newest_step)
    scale = xp.max(norm(xp, steps, axis=-1))
    candidates = [(vectors[-1, ...], all_true(xp, (), vectors))]
    exact = [norm(xp, newest_step) <= solver.tol * scale]
    for j in range(1, k + 1):
        coefficients, defined, residual = solver.solve(j)
        shifts = xp.sum(coefficients[:, None] * (older_sums[:j, ...] - anchor), axis=0)
        if minimal:
            total = 1 + xp.sum(coefficients)
            size = 1 + xp.sum(xp.abs(coefficients))
            defined = defined & (xp.abs(total) > solver.tol * size)
            shifts = shifts / xp.where(defined, total, xp.ones_like(total))
        value = anchor + shifts
        candidates.append((value, defined & xp.all(xp.isfinite(value))))
        exact.append(residual <= solver.tol * scale)
    result = summarize_joint(xp, candidates, terms=vectors, exact=exact, order=k, used=k + 2)
    if terms.ndim == 1:
        result = replace(result, estimate=xp.reshape(result.estimate, ()))
    return result if full_output else result.estimate


class TriangularLeastSquares:
    """``min || rhs + M[:, :j] x ||`` for every ``j``, from one QR of ``M``.

    The columns are nested: the first ``j`` columns of ``M = QR`` are
    ``Q[:, :j] R[:j, :j]``, so each ``j`` is one back substitution. A column is
    numerically dependent on the earlier ones when ``|R_jj| <= tol ||M[:, j]||``;
    ``tol`` is a small multiple of ``eps`` growing with ``sqrt`` of the rows, the
    size of the rounding in a Householder QR.
    """

    def __init__(self, xp: Any, matrix: Any, rhs: Any) -> None:
        self.xp = xp
        self.matrix, self.rhs = matrix, rhs
        self.q, self.r = xp.linalg.qr(matrix)
        q_adjoint = xp.matrix_transpose(xp.conj(self.q) if is_complex(xp, self.q) else self.q)
        self.projected = q_adjoint @ rhs
        eps = float(xp.finfo(real_dtype(xp, matrix)).eps)
        self.tol = eps * max(64.0, 4.0 * math.sqrt(matrix.shape[0]))
        diagonal = xp.abs(xp.linalg.diagonal(self.r))
        column_norms = norm(xp, matrix, axis=0)
        self.independent = diagonal > self.tol * column_norms
        self.diagonal = xp.where(self.independent, xp.linalg.diagonal(self.r),
                                 xp.ones_like(xp.linalg.diagonal(self.r)))

    def solve(self, size: int) -> tuple[Any, Any, Any]:
        """Coefficients for the first ``size`` columns, whether defined, residual norm."""
        xp = self.xp
        solution: list[Any] = []  # x_{size-1}, x_{size-2}, ... (back substitution)
        for i in range(size - 1, -1, -1):
            value = -self.projected[i]
            if solution:
                later = xp.stack(solution[::-1])
                value = value - xp.sum(self.r[i, i + 1:size] * later)
            solution.append(value / self.diagonal[i])
        coefficients = xp.stack(solution[::-1])
        defined = xp.all(self.independent[:size])
        residual = norm(xp, self.rhs + self.matrix[:, :size] @ coefficients)
        return coefficients, defined, residual

r"""Vector Padé approximants with a common scalar denominator, evaluated at z = 1.

The partial sums ``s_j`` are read as ``f_j(1)`` for the vector power series
``f(z) = sum_i a_i z^i`` with ``a_i = s_i - s_{i-1}`` (``a_0 = s_0``). A vector Padé
approximant of type ``[N/k]`` is ``P(z) / Q(z)``: a vector polynomial ``P`` of
degree ``N`` over one real (or complex) scalar polynomial
``Q(z) = 1 + q_1 z + ... + q_k z^k``, the same for every component, such that
``f(z) Q(z) - P(z)`` vanishes through ``z^N`` and, as far as possible, through
``z^{N+k}``. With ``P = [f Q]_{0..N}`` (the truncation of the product),

.. math::

    \frac{P(1)}{Q(1)} = \frac{\sum_{l=0}^k q_l s_{N-l}}{\sum_{l=0}^k q_l},
    \qquad
    \text{Padé conditions:}\quad
    \sum_{l=0}^k q_l a_{N+i-l} = 0, \quad i = 1, \dots, k.

Each condition is a vector equation; for vectors the ``k n`` equations in ``k``
unknowns are solved in the least-squares sense (QR of the block Hankel matrix of
the ``a``'s). This is the common-denominator family of vector Padé approximants
reviewed by Graves-Morris (1994).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ._backend import norm
from ._honest import honest
from ._sequence import all_true, as_sequence, check_order, insufficient, summarize_joint
from .polynomial import TriangularLeastSquares

__all__ = ["pade"]


@honest
def pade(seq: Any, *, order: int | None = None, full_output: bool = False) -> Any:
    """Vector Padé approximant ``[N/k]`` of the series of ``seq``, at ``z = 1``.

    The denominator ``Q`` of degree ``k`` is built from the terms
    ``a_{N-k+1}, ..., a_{N+k}`` (module docstring); ``N + k`` is the index of the
    newest term, so order ``k`` reads the newest ``2k + 1`` partial sums, like
    the Shanks transform of order ``k``. The estimate is
    ``P(1)/Q(1) = sum q_l s_{N-l} / sum q_l``.

    Relations:

    * scalars (``n = 1``): the ``k`` conditions determine ``Q``, and the result
      is the ordinary Padé approximant ``[N/k]`` at 1, i.e. the Shanks
      transform ``e_k(s_{N-k})`` (Wynn's ``epsilon_{2k}``);
    * MPE of order ``k`` (:func:`accel.mpe`) is the same construction with only
      the first condition (``i = 1``) imposed in the least-squares sense: it needs
      ``k + 2`` terms instead of ``2k + 1`` but is exact only when the ``k``
      residue vectors are linearly independent (never for scalars beyond
      ``k = 1``);
    * the vector epsilon algorithm (:func:`accel.shanks` with the Samelson
      inverse) computes Graves-Morris's generalised inverse Padé approximant
      ``[N/2k]``: also a common real scalar denominator, of degree ``2k``, fixed
      by the axioms ``Q | |P|^2`` instead of a least-squares fit, from the same
      ``2k + 1`` terms.

    Exact (to rounding) on vector rational series with ``k`` poles: if
    ``s_j = S + sum_{i=1}^k v_i lambda_i^j`` for the ``2k + 1`` terms read, with
    distinct ``lambda_i != 1`` and any vectors ``v_i`` (dependent, or more poles
    than components), the result is ``S``.

    Parameters
    ----------
    seq : array, shape (m,) or (m, n)
        Partial sums; the leading axis indexes them. Vectors are treated jointly
        (one scalar denominator for all components).
    order : int, optional
        The denominator degree ``k`` (default: the most the terms allow,
        ``(m - 1) // 2``).
    full_output : bool
        Return an :class:`~accel.AccelResult` instead of the estimate.

    Returns
    -------
    estimate : array, shape () or (n,)
        Or an :class:`~accel.AccelResult` with ``full_output=True``.

    Notes
    -----
    Only differences of the terms enter, so the result is exactly equivariant
    under ``s -> alpha s + b``. When the least-squares matrix is numerically
    rank deficient (the series has fewer than ``k`` poles) or ``Q(1) = 0``, that
    order is undefined and the estimate falls back to the highest defined lower
    order: status ``CONVERGED`` when that order satisfies its Padé conditions to
    rounding (the series is rational of lower degree), ``BREAKDOWN`` otherwise.

    References
    ----------
    P. R. Graves-Morris, A review of Padé methods for the acceleration of
    convergence of a sequence of vectors, Appl. Numer. Math. 15 (1994) 153-174.
    A. Sidi, Rational approximations from power series of vector-valued
    meromorphic functions, J. Approx. Theory 77 (1994) 89-111.

    Examples
    --------
    Two poles, in a single component, need order 2 (MPE cannot do this):

    >>> import numpy as np
    >>> from accel import pade
    >>> j = np.arange(5.0)
    >>> s = 3.0 + 2.0 * 0.8 ** j - 1.5 * (-0.6) ** j
    >>> bool(abs(pade(s, order=2) - 3.0) < 1e-13)
    True
    """
    requested = check_order(order)
    xp, terms = as_sequence(seq)
    vectors = terms if terms.ndim == 2 else xp.reshape(terms, (terms.shape[0], 1))
    m = vectors.shape[0]
    most = (m - 1) // 2
    if most < 1:
        result = insufficient(terms)
        return result if full_output else result.estimate
    k = most if requested is None else min(requested, most)
    steps = vectors[1:, ...] - vectors[:-1, ...]
    scale = xp.max(norm(xp, steps[m - 1 - 2 * k:, ...], axis=-1))
    candidates = [(vectors[-1, ...], all_true(xp, (), vectors))]
    exact = None
    for j in range(1, k + 1):
        value, defined, residual, tol = _approximant(xp, vectors[m - 1 - 2 * j:, ...], j)
        if exact is None:  # order 0 is exact when the last step vanishes
            exact = [norm(xp, steps[-1, ...]) <= tol * scale]
        candidates.append((value, defined & xp.all(xp.isfinite(value))))
        exact.append(residual <= tol * scale)
    result = summarize_joint(xp, candidates, terms=vectors, exact=exact, order=k,
                             used=2 * k + 1)
    if terms.ndim == 1:
        result = replace(result, estimate=xp.reshape(result.estimate, ()))
    return result if full_output else result.estimate


def _approximant(xp: Any, sums: Any, k: int) -> tuple[Any, Any, Any, float]:
    """``P(1)/Q(1)`` of type ``[N/k]`` from the ``2k + 1`` partial sums ``s_{N-k}..s_{N+k}``.

    Returns the value, whether it is defined, the residual norm of the Padé
    conditions and the rank tolerance used.
    """
    a = sums[1:, ...] - sums[:-1, ...]  # a[t] = a_{N-k+1+t}, t = 0 .. 2k-1
    # Condition i (1..k), unknown q_l (1..k): coefficient a_{N+i-l} = a[k-1+i-l].
    blocks = [xp.stack([a[k - 1 + i - lag, ...] for lag in range(1, k + 1)], axis=1)
              for i in range(1, k + 1)]
    matrix = xp.concat(blocks, axis=0)
    rhs = xp.concat([a[k - 1 + i, ...] for i in range(1, k + 1)], axis=0)
    solver = TriangularLeastSquares(xp, matrix, rhs)
    q, defined, residual = solver.solve(k)
    denominator = 1 + xp.sum(q)  # Q(1)
    size = 1 + xp.sum(xp.abs(q))
    defined = defined & (xp.abs(denominator) > solver.tol * size)
    centre = sums[k, ...]  # s_N
    older = xp.flip(sums[:k, ...], axis=0)  # row l-1: s_{N-l}
    shift = xp.sum(q[:, None] * (older - centre), axis=0)
    value = centre + shift / xp.where(defined, denominator, xp.ones_like(denominator))
    return value, defined, residual, solver.tol

r"""A one-pass sum of squares for the series' decisions, with its a-priori error bound.

The series reads ``||p_k||`` once per term: the divergence test compares consecutive
norms to ``1 + 100 eps``, the stopping rule and the finiteness proof of the products
read it too. NumPy's ``vector_norm`` of a real vector is ``sqrt(add.reduce(v * v))``:
the squares are written to a temporary, then summed pairwise (two passes over ``n``).
A plain ``dot(v, v)`` reads ``v`` once, but its summation order is the BLAS library's
(a few SIMD accumulators, each a running sum of about ``n / 8`` terms): its only
a-priori bound is ``gamma_n``, far above ``100 eps`` for long vectors.

:func:`sum_of_squares` reads ``v`` once and keeps a small bound: the dot products of
consecutive blocks of :data:`BLOCK` entries (``vecdot`` of the ``(m, BLOCK)`` view, any
order inside a block), summed pairwise by ``add.reduce``, plus the dot product of the
last ``n mod BLOCK`` entries.

Error bound (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
sections 3.1 and 4.2): a sum of non-negative terms in which each term takes part in
at most ``D`` roundings (its product and the additions on its path through the
summation tree) is within ``gamma_D = D u / (1 - D u)`` of the exact sum, relatively,
``u = eps / 2``. Here a square is rounded once, takes part in at most ``BLOCK - 1``
additions inside its block (any order), at most ``depth(m)`` in NumPy's pairwise
sum of the ``m = n // BLOCK`` block sums, and one last addition with the tail:
``D = BLOCK + depth(m) + 1``. NumPy's pairwise sum (``pairwise_sum`` in
``numpy/_core/src/umath/loops_utils.h.src``) adds fewer than 8 terms in one running
sum, up to 128 in eight running sums combined by a tree of depth 3 followed by the
``m mod 8`` left-over terms, and above 128 splits the range at half its length rounded
down to a multiple of 8: :func:`_pairwise_depth` follows that recursion exactly.
The square root adds one rounding and halves the relative error:
``||v||`` is within ``gamma_D / 2 + u`` of the exact norm, which :func:`norm_error`
returns. For ``BLOCK = 64`` that is ``22 eps`` at ``n = 10^5`` and below ``26 eps`` for
``n < 2^31`` (the pairwise sum of the squares, two passes: ``7 eps`` at ``n = 10^5``), so
the two norms of the divergence test move its ``1 + 100 eps`` threshold by at most
``52 eps``; the rest is left for the rounding of ``p_{k+1}`` itself.

Non-finite entries: a square is NaN or ``+inf`` and never cancels (no negative term),
so the sum is non-finite whenever an entry is, as the series' finiteness proof needs.
Overflow and underflow of the squares are those of ``vector_norm`` (the series'
vectors are normalised: entries about 1).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = ["BLOCK", "norm_error", "sum_of_squares"]

BLOCK = 64
# Below this length the pairwise sum of the squares (one small temporary) is as fast.
_BLOCKED_FROM = 4096
_PAIRWISE_LEAF = 128


@functools.lru_cache(maxsize=256)
def _pairwise_depth(m: int) -> int:
    """Most roundings a term takes part in within NumPy's pairwise sum of ``m`` terms."""
    if m < 8:
        return max(m - 1, 0)  # the running sum starts at 0: its first addition is exact
    if m <= _PAIRWISE_LEAF:
        return (m // 8 - 1) + 3 + m % 8
    half = m // 2
    half -= half % 8
    return 1 + max(_pairwise_depth(half), _pairwise_depth(m - half))


def norm_error(n: int, eps: float) -> float:
    """A-priori bound on the relative error of ``sqrt(sum_of_squares(v))``, ``len(v) = n``.

    Examples
    --------
    >>> eps = 2.0 ** -52
    >>> round(norm_error(10**5, eps) / eps, 1), round(norm_error(2**31 - 1, eps) / eps, 1)
    (22.0, 25.8)
    """
    if n < _BLOCKED_FROM:
        depth = 1 + _pairwise_depth(n)
    else:
        depth = BLOCK + _pairwise_depth(n // BLOCK) + 1
    u = eps / 2
    gamma = depth * u / (1 - depth * u)
    return gamma / 2 + u


def sum_of_squares(v: Any) -> float:
    """``sum(v_i^2)`` of a 1-D real NumPy vector, one read pass: see the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> sum_of_squares(np.full(10000, 0.5))
    2500.0
    """
    n = v.shape[0]
    if n < _BLOCKED_FROM:
        return float(np.add.reduce(v * v))
    m = n // BLOCK
    head = v[: m * BLOCK].reshape(m, BLOCK)
    tail = v[m * BLOCK:]
    return float(np.add.reduce(np.vecdot(head, head)) + np.dot(tail, tail))

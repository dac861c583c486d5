"""Aitken's delta-squared process, iterated (Aitken 1926)."""

from __future__ import annotations

from typing import Any

from ._honest import honest
from ._sequence import (
    all_true,
    as_sequence,
    check_order,
    fold_orders,
    insufficient,
    safe_divide,
    summarize,
)

__all__ = ["aitken"]


@honest
def aitken(seq: Any, *, order: int | None = None, full_output: bool = False) -> Any:
    r"""Iterated Aitken delta-squared estimate of the limit of ``seq``.

    One step maps three consecutive terms to

    .. math::

        A(s)_n = s_{n+2} - \frac{(s_{n+2} - s_{n+1})^2}{s_{n+2} - 2 s_{n+1} + s_n},

    exact on ``s_n = S + c lambda^n`` (``lambda != 1``); the step is repeated
    ``order`` times on the transformed sequence, so order ``r`` uses the newest
    ``2 r + 1`` terms. Good on linearly convergent sequences (fixed-point
    iterations, geometric series, alternating series); it does not accelerate
    logarithmic ones (``zeta(2)``) much. Order 1 equals the Shanks transform
    ``e_1`` and Levin's t of order 1.

    Parameters
    ----------
    seq : array, shape (m,) or (m, n)
        The terms; the leading axis indexes them. Vectors are transformed
        componentwise (each column an independent scalar sequence).
    order : int, optional
        Number of delta-squared steps ``r`` (default: the most the terms allow,
        ``(m - 1) // 2``).
    full_output : bool
        Return an :class:`~accel.AccelResult` instead of the estimate.

    Returns
    -------
    estimate : array, shape () or (n,)
        Or an :class:`~accel.AccelResult` with ``full_output=True``.

    Notes
    -----
    The form above (correction of the newest term) is the numerically preferred
    one. A zero second difference makes the step undefined in that component:
    it falls back to the last iterate that is defined (status ``BREAKDOWN``,
    unless all its terms are equal: a constant component has settled).

    References
    ----------
    A. C. Aitken, On Bernoulli's numerical solution of algebraic equations, Proc.
    Roy. Soc. Edinburgh 46 (1926) 289-305.

    Examples
    --------
    The fixed-point iteration ``x <- cos(x)`` converges linearly to 0.739085...:

    >>> import numpy as np
    >>> from accel import aitken
    >>> x = [1.0]
    >>> for _ in range(12):
    ...     x.append(np.cos(x[-1]))
    >>> float(abs(x[-1] - 0.7390851332151607)) > 1e-3  # the iteration itself
    True
    >>> bool(abs(aitken(np.asarray(x)) - 0.7390851332151607) < 1e-10)
    True
    """
    requested = check_order(order)
    xp, terms = as_sequence(seq)
    most = (terms.shape[0] - 1) // 2
    if most < 1:
        result = insufficient(terms)
        return result if full_output else result.estimate
    r = most if requested is None else min(requested, most)
    iterate = terms[terms.shape[0] - (2 * r + 1):, ...]
    valid = all_true(xp, iterate.shape, terms)
    candidates = [(terms[-1, ...], valid[-1, ...])]
    for _ in range(r):
        step = iterate[1:, ...] - iterate[:-1, ...]
        correction, defined = safe_divide(xp, step[1:, ...] ** 2, step[1:, ...] - step[:-1, ...])
        iterate = iterate[2:, ...] - correction
        valid = valid[2:, ...] & valid[1:-1, ...] & valid[:-2, ...] & defined
        candidates.append((iterate[-1, ...], valid[-1, ...]))
    result = summarize(xp, fold_orders(xp, candidates), terms=terms, order=r, used=2 * r + 1)
    return result if full_output else result.estimate

"""Brezinski's theta algorithm (Brezinski 1971; Weniger 1989, section 10)."""

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

__all__ = ["theta"]


@honest
def theta(seq: Any, *, order: int | None = None, full_output: bool = False) -> Any:
    r"""Brezinski's theta algorithm: the estimate ``theta_{2k}`` of the newest terms.

    With ``theta_{-1}^{(n)} = 0`` and ``theta_0^{(n)} = s_n``,

    .. math::

        \theta_{2j+1}^{(n)} &= \theta_{2j-1}^{(n+1)} + 1 / \Delta\theta_{2j}^{(n)}, \\
        \theta_{2j+2}^{(n)} &= \theta_{2j}^{(n+1)} +
            \frac{\Delta\theta_{2j}^{(n+1)}\, \Delta\theta_{2j+1}^{(n+1)}}
                 {\Delta^2 \theta_{2j+1}^{(n)}},

    ``Delta`` acting on ``n``. ``theta_{2k}^{(n)}`` uses ``s_n, ..., s_{n+3k}``,
    so order ``k`` needs ``3k + 1`` terms. ``theta_2`` is Lubkin's W transform.
    It accelerates linear and many logarithmic sequences (where epsilon fails),
    at the price of more terms per order.

    Which sequences it is for (Weniger 1989, section 10; Brezinski &
    Redivo-Zaglia 1991, section 2.9; Sidi 2003, chapter 20): alternating and
    linearly convergent ones (like Shanks), *and* many logarithmic ones
    (``zeta(2)``, ``sum 1/k^(3/2)``, ``(1 + 1/n)^n``), the widest range of the
    methods here: on :mod:`accel.testing` it is the one method that helps on
    every kind. It needs ``3k + 1`` terms for order ``k`` and amplifies rounding
    more than epsilon (its error estimate includes that, see :mod:`accel._honest`).

    Parameters
    ----------
    seq : array, shape (m,) or (m, n)
        The terms; the leading axis indexes them. Vectors are transformed
        componentwise (elementwise inverses: each column an independent scalar
        sequence).
    order : int, optional
        ``k`` of ``theta_{2k}`` (default: the most the terms allow, ``(m - 1) // 3``).
    full_output : bool
        Return an :class:`~accel.AccelResult` instead of the estimate.

    Returns
    -------
    estimate : array, shape () or (n,)
        Or an :class:`~accel.AccelResult` with ``full_output=True``.

    Notes
    -----
    A zero difference in a denominator makes every entry built on it undefined;
    each component falls back to the highest even column whose newest entry is
    defined (status ``BREAKDOWN``; a component whose terms are all equal keeps
    its last term).

    References
    ----------
    C. Brezinski, Acceleration de suites a convergence logarithmique, C. R. Acad.
    Sc. Paris 273 A (1971) 727-730. E. J. Weniger, Comput. Phys. Rep. 10 (1989)
    189-371, section 10.

    Examples
    --------
    >>> import numpy as np
    >>> from accel import theta
    >>> s = np.cumsum([(-1.0) ** k / (2 * k + 1) for k in range(13)])
    >>> bool(abs(4 * theta(s) - np.pi) < 1e-10)
    True
    """
    requested = check_order(order)
    xp, terms = as_sequence(seq)
    most = (terms.shape[0] - 1) // 3
    if most < 1:
        result = insufficient(terms)
        return result if full_output else result.estimate
    k = most if requested is None else min(requested, most)
    even = terms[terms.shape[0] - (3 * k + 1):, ...]
    even_valid = all_true(xp, even.shape, terms)
    odd_prev = xp.zeros_like(even)  # theta_{-1}
    odd_prev_valid = even_valid
    candidates = [(terms[-1, ...], even_valid[-1, ...])]
    for _ in range(k):
        size = even.shape[0]  # entries n = 0 .. size - 1 of theta_{2j}
        even_step = even[1:, ...] - even[:-1, ...]
        inverse, defined = safe_divide(xp, xp.ones_like(even_step), even_step)
        odd = odd_prev[1:size, ...] + inverse  # theta_{2j+1}^{(n)}, n < size - 1
        odd_valid = (odd_prev_valid[1:size, ...] & even_valid[1:, ...] & even_valid[:-1, ...]
                     & defined)
        odd_step = odd[1:, ...] - odd[:-1, ...]
        correction, defined = safe_divide(xp, even_step[1:-1, ...] * odd_step[1:, ...],
                                          odd_step[1:, ...] - odd_step[:-1, ...])
        new_even = even[1:-2, ...] + correction  # theta_{2j+2}^{(n)}, n < size - 3
        new_valid = (even_valid[1:-2, ...] & even_valid[2:-1, ...] & odd_valid[:-2, ...]
                     & odd_valid[1:-1, ...] & odd_valid[2:, ...] & defined)
        odd_prev, odd_prev_valid = odd, odd_valid
        even, even_valid = new_even, new_valid
        candidates.append((even[-1, ...], even_valid[-1, ...]))
    result = summarize(xp, fold_orders(xp, candidates), terms=terms, order=k, used=3 * k + 1)
    return result if full_output else result.estimate

"""Richardson extrapolation in ``1/(n + 1)`` (Richardson 1927; Bender & Orszag 8.1)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import numpy as np

from ._honest import honest
from ._sequence import (
    all_true,
    as_sequence,
    check_first_index,
    check_order,
    constants,
    fold_orders,
    insufficient,
    summarize,
)

__all__ = ["richardson"]


@honest
def richardson(seq: Any, *, order: int | None = None, first_index: int = 0,
               full_output: bool = False) -> Any:
    r"""Richardson extrapolation of ``seq`` to ``n -> infinity``.

    The model is ``s_n = S + c_1 / N + ... + c_k / N^k`` with ``N = n + 1`` (the
    number of terms summed when ``s_n = a_0 + ... + a_n``). Order ``k`` fits this
    polynomial in ``x = 1/N`` through the newest ``k + 1`` terms and evaluates it
    at ``x = 0``; for consecutive ``N_0, ..., N_0 + k`` the Lagrange weights are
    closed-form,

    .. math::

        R_k = \sum_{i=0}^k \frac{(-1)^{k-i} (N_0 + i)^k}{i!\,(k - i)!} s_{N_0 + i - 1}.

    Exact on the model; made for sequences that converge like ``sum P(j)/Q(j)``
    with polynomials ``P, Q`` (``zeta(2)``, ``pi^2/6``), not for alternating or
    geometric ones. The weights are large and alternate: ``sum |w|`` is about
    ``(2 (N_0 + k))^k / k!`` (2e10 for ``N_0 = 13, k = 12``), and it multiplies
    the rounding of the terms themselves; hence the default order ``m // 2 - 1``
    (mpmath's choice), which in float64 beats the full order ``m - 1`` by
    factors of 1e3 to 1e22 on mpmath's examples. The reported error includes
    that amplification (the rounding floor of :mod:`accel._honest`).

    Parameters
    ----------
    seq : array, shape (m,) or (m, n)
        The terms; the leading axis indexes them. The weights do not depend on
        the data, so vectors are treated componentwise and jointly alike.
    order : int, optional
        The order ``k`` (newest ``k + 1`` terms; default ``max(1, m // 2 - 1)``,
        with ``m`` counting every other term for an oscillating sequence). An
        explicit order never switches to every other term.
    first_index : int
        Index ``n`` of ``seq[0]`` in the whole sequence (the nodes depend on it).
    full_output : bool
        Return an :class:`~accel.AccelResult` instead of the estimate.

    Returns
    -------
    estimate : array, shape () or (n,)
        Or an :class:`~accel.AccelResult` with ``full_output=True``.

    Notes
    -----
    ``mpmath.richardson`` uses the same weights with the list index as ``N``
    (its ``seq[0]`` sits at ``N = 0``). Here the nodes follow the partial-sum
    index. As in mpmath, with the default order, when each of the last three
    steps reverses the one before (``Re <d_j, d_{j-1}> < 0``) only every other
    term is used, ending with the
    newest (nodes ``N, N + 2, ...``): the even partial sums of a smooth
    alternating series such as Leibniz's do converge like a polynomial in
    ``1/N``. No breakdown is possible (the transform is linear).

    References
    ----------
    L. F. Richardson, The deferred approach to the limit, Phil. Trans. Roy. Soc.
    A 226 (1927) 299-361. C. M. Bender and S. A. Orszag, Advanced Mathematical
    Methods for Scientists and Engineers (1978), section 8.1.

    Examples
    --------
    >>> import numpy as np
    >>> from accel import richardson
    >>> s = np.cumsum([1.0 / (k + 1) ** 2 for k in range(20)])
    >>> result = richardson(s, full_output=True)    # order 9 of 20 terms
    >>> error = abs(result.estimate - np.pi ** 2 / 6)
    >>> bool(error < 1e-9), bool(error <= result.error), result.order
    (True, True, 9)
    """
    first_index = check_first_index(first_index)
    requested = check_order(order)
    xp, terms = as_sequence(seq)
    m = terms.shape[0]
    if m < 2:
        result = insufficient(terms)
        return result if full_output else result.estimate
    stride = 1
    if requested is None and m >= 4 and _oscillates(xp, terms):
        # Every other term, ending with the newest: the nodes N, N + 2, ... are
        # 2 (N/2, N/2 + 1, ...), and Lagrange weights in 1/N do not see the factor.
        stride = 2
        terms = terms[(m - 1) % 2::2, ...]
        first_index += (m - 1) % 2
        m = terms.shape[0]
    # mpmath's default: about half the terms (its N = len // 2 - 1 on its list).
    default = max(1, m // 2 - 1) if m >= 2 else 0
    k = default if requested is None else min(requested, m - 1)
    newest = terms[-1, ...]
    candidates = [(newest, all_true(xp, newest.shape, terms))]
    for j in range(1, k + 1):
        # N (= n + 1) of the oldest term used, in units of the stride.
        first_node = (first_index + stride * (m - 1 - j) + 1) / stride
        weights = constants(xp, _weights(j, first_node), terms)
        weights = xp.reshape(weights, (j + 1,) + (1,) * (terms.ndim - 1))
        # The weights sum to 1: extrapolate the corrections to the newest term.
        value = newest + xp.sum(weights * (terms[m - 1 - j:, ...] - newest), axis=0)
        candidates.append((value, xp.isfinite(value)))
    result = summarize(xp, fold_orders(xp, candidates), terms=terms, order=k, used=k + 1)
    result = replace(result, terms=stride * k + 1)
    return result if full_output else result.estimate


def _oscillates(xp: Any, terms: Any) -> bool:
    """Whether each of the last three steps reverses the one before (``Re <d_j, d_{j-1}> < 0``).

    A decision (synchronises): the sequence is then extrapolated on every other term.
    """
    steps = [xp.reshape(terms[j, ...] - terms[j - 1, ...], (-1,)) for j in (-3, -2, -1)]
    pairings = [xp.sum(xp.conj(older) * newer) if xp.isdtype(newer.dtype, "complex floating")
                else xp.sum(older * newer) for older, newer in itertools.pairwise(steps)]
    return all(bool(xp.real(p) < 0) if xp.isdtype(p.dtype, "complex floating") else bool(p < 0)
               for p in pairings)


def _weights(k: int, first_node: float) -> np.ndarray:
    """Lagrange weights at ``x = 0`` for the nodes ``1/N``, ``N = first_node .. + k``."""
    i = np.arange(k + 1)
    from scipy.special import gammaln  # lazy: scipy.special is slow to import
    log_size = k * np.log(first_node + i) - gammaln(i + 1) - gammaln(k - i + 1)
    return (-1.0) ** (k - i) * np.exp(log_size)

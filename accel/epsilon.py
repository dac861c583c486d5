r"""Wynn's epsilon algorithm (the Shanks transform) and Sablonnière's modification.

The table, with the sequence ``s_0, s_1, ...`` in column 0:

.. math::

    e_{-1}^{(j)} = 0, \qquad e_0^{(j)} = s_j, \qquad
    e_c^{(j)} = e_{c-2}^{(j+1)} + w_c \, \bigl(e_{c-1}^{(j+1)} - e_{c-1}^{(j)}\bigr)^{-1}

with ``w_c = 1`` (Wynn 1956; ``e_{2l}^{(j)}`` is the Shanks transform of order
``l`` of ``s_j, ..., s_{j+2l}``) or ``w_c = floor(c/2) + 1`` (Sablonnière 1991,
the seed paper's eq. 5: ``e_2`` is then exact on ``s_j = S + a / (j + b)``).
Odd columns are auxiliary. For vectors, ``(.)^{-1}`` is the Samelson inverse
(:func:`accel.inverses.samelson_inverse`) or the elementwise one.

**Breakdown rule.** A difference ``e_{c-1}^{(j+1)} - e_{c-1}^{(j)}`` is *near
zero* when it is within 16 ulps of the larger of the two entries (norms for the
Samelson inverse, per component for the elementwise one); then the entry
``e_c^{(j)}`` is left undefined, and so is every entry computed from it.
The estimate of order ``l`` from the newest terms is the entry
``e_{2l}^{(M-2l)}`` of the newest ascending anti-diagonal (``M`` the index of the
last term); the result is the highest-order *defined* one, per component (per
vector with the Samelson inverse), never NaN or inf. If the requested order was
not reached, the status says why:

* ``CONVERGED`` when the cut on the newest anti-diagonal is the breakdown of a
  converged column: an odd column ``c`` whose difference (of the even column
  ``c - 1``) is near zero, i.e. consecutive estimates of that order agree to
  rounding (``c = 1``: the sequence itself has converged); or an even column
  ``c`` when the newest change of the even column ``c - 2`` is below
  ``sqrt(eps)`` of its size, so that the odd column between holds only
  amplified rounding noise (see :class:`accel._diagonal.CutTracker`). The error estimate then
  includes that newest change;
* ``BREAKDOWN`` otherwise (a near-zero difference of an odd column, a
  non-finite entry, or an undefined entry inherited from an older
  anti-diagonal, e.g. after two equal terms in a sequence that moves on): the
  table is singular there.

The rule is deterministic and needs no perturbation (unlike Wynn's singular
rules or mpmath's ``randomized=True``).

References
----------
P. Wynn, "On a device for computing the e_m(S_n) transformation", MTAC 10 (1956).
P. Wynn, "Acceleration techniques for iterated vector and matrix problems",
Math. Comp. 16 (1962). P. Sablonnière, "Comparison of four algorithms
accelerating the convergence of a subset of logarithmic fixed point sequences",
Numer. Algorithms 1 (1991). Oldewage, Clarke, Hernández-Lobato, TMLR 2024, eq. 5.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

from . import _scalar
from ._backend import real_dtype
from ._diagonal import (
    CutTracker,
    Diagonal,
    all_finite_mask,
    inverse_ratio,
    mask_shape,
    norm_ratio,
    step_size,
    summarize_diagonal,
)
from ._honest import honest
from ._sequence import as_sequence, check_order, insufficient
from .inverses import _guarded_inverse

__all__ = ["sablonniere", "shanks"]

INVERSES = ("samelson", "elementwise")


def wynn_weight(column: int) -> float:
    """Numerator of Wynn's rule: 1 in every column."""
    return 1.0


def sablonniere_weight(column: int) -> float:
    """Numerator of Sablonnière's rule for column ``c``: ``floor(c/2) + 1``."""
    return float(column // 2 + 1)


def check_inverse(inverse: Any, terms: Any) -> bool:
    """Validate ``inverse``; whether the Samelson (joint) inverse applies to ``terms``."""
    if inverse not in INVERSES:
        raise ValueError(f"inverse must be one of {INVERSES}, got {inverse!r}")
    return inverse == "samelson" and terms.ndim == 2


def epsilon_table(xp: Any, terms: Any, *, columns: int, weight: Callable[[int], float],
                  joint: bool, keep_table: bool) -> tuple[list | None, Diagonal]:
    """Columns ``0..columns`` of the (weighted) epsilon table of ``terms``.

    Returns the table as ``(values, valid)`` pairs per column when
    ``keep_table`` (otherwise ``None``; only two columns are held) and the
    newest anti-diagonal.
    """
    m = terms.shape[0]
    shape = (m, 1) if joint else tuple(terms.shape)
    current, current_valid = terms, xp.ones(shape, dtype=xp.bool)
    before = before_valid = None
    table = [(current, current_valid)] if keep_table else None
    entries = [terms[-1, ...]]
    cuts = CutTracker(xp, mask_shape(terms[-1, ...], joint), length=columns + 1,
                      target=columns // 2, real=real_dtype(xp, terms))
    for column in range(1, columns + 1):
        inverted = _guarded_inverse(xp, current[1:, ...], current[:-1, ...], joint=joint,
                                    weight=weight(column))
        value = inverted.inverse
        if not joint and weight(column) != 1.0:  # (the joint inverse comes weighted)
            value = value * weight(column)
        inputs = current_valid[1:, ...] & current_valid[:-1, ...]
        if before is not None:
            # e_{c-2}^{(j+1)} for j = 0..m-c-1: drop the first and the last entry.
            value = value + before[1:-1, ...]
            inputs = inputs & before_valid[1:-1, ...]
        valid = inputs & inverted.ok & all_finite_mask(xp, value, joint)
        value = xp.where(valid, value, xp.asarray(0, dtype=value.dtype))
        cuts.record(column, valid=valid[-1, ...], inputs=inputs[-1, ...],
                    small=inverted.small[-1, ...], near=inverted.near[-1, ...],
                    size=inverted.size[-1, ...])
        entries.append(value[-1, ...])
        if column == 1:
            last_step = step_size(xp, terms[-1, ...], terms[-2, ...])
            if joint or terms.ndim == 1:
                ratio = inverse_ratio(xp, value[-1, ...], value[-2, ...], last_step,
                                      valid[-1, ...] & valid[-2, ...], weight=weight(1))
            else:
                ratio = norm_ratio(xp, last_step, step_size(xp, terms[-2, ...], terms[-3, ...]))
        if keep_table:
            table.append((value, valid))
        before, before_valid, current, current_valid = current, current_valid, value, valid
    return table, cuts.diagonal(entries, last_step, ratio)


def table_with_nan(xp: Any, table: list) -> list:
    """The table for users: column ``c`` has shape ``(m - c, ...)``; NaN marks undefined."""
    return [xp.where(valid, value, xp.asarray(math.nan, dtype=value.dtype))
            for value, valid in table]


def run_epsilon(seq: Any, *, order: Any, weight: Callable[[int], float], joint_allowed: bool,
                inverse: str, full_output: bool, table: bool = False) -> Any:
    """Shared body of :func:`shanks`, :func:`sablonniere` and :func:`accel.rho.rho`."""
    xp, terms = as_sequence(seq)
    order = check_order(order)
    joint = check_inverse(inverse, terms) and joint_allowed
    m = terms.shape[0]
    target = (m - 1) // 2 if order is None else min(order, (m - 1) // 2)
    if target == 0:
        result = insufficient(terms)
    else:
        used = 2 * target + 1
        columns, diagonal = epsilon_table(xp, terms[m - used:, ...], columns=2 * target,
                                          weight=weight, joint=joint,
                                          keep_table=full_output and table)
        result = summarize_diagonal(xp, diagonal, order=target, used=used)
        if full_output and table:
            result = dataclasses.replace(result, table=table_with_nan(xp, columns))
    return result if full_output else result.estimate


@honest(table_scaling=True,
        fast=functools.partial(_scalar.epsilon_fast, weight=wynn_weight))
def shanks(seq: Any, *, order: int | None = None, inverse: str = "samelson",
           full_output: bool = False, table: bool = False) -> Any:
    r"""Shanks transform by Wynn's epsilon algorithm.

    .. math:: e_c^{(j)} = e_{c-2}^{(j+1)} + \bigl(e_{c-1}^{(j+1)} - e_{c-1}^{(j)}\bigr)^{-1},
              \qquad e_{-1}^{(j)} = 0,\ e_0^{(j)} = s_j

    The result is ``e_{2N}^{(m-1-2N)}``, the Shanks transform of order ``N``
    of the newest ``2N + 1`` terms. It is exact when
    ``s_j = S + sum_{i=1}^N c_i lam_i^j`` (``lam_i != 1`` distinct), and, with the
    Samelson inverse, on vector sequences ``s_j - S`` confined to an
    ``N``-dimensional invariant subspace (a linear iteration
    ``s_{j+1} = A s_j + b``). Good on alternating and linearly convergent series
    and sums divergent Stieltjes series (it computes Padé approximants); poor on
    logarithmic ones such as ``sum 1/k^2`` (use :func:`sablonniere` or
    :func:`accel.rho.rho`).

    Parameters
    ----------
    seq : array, shape (m,) or (m, n)
        The terms; the leading axis indexes them. Finite.
    order : int, optional
        ``N``; default the highest the terms allow, ``(m - 1) // 2``. A larger
        ``N`` is clamped to it.
    inverse : {"samelson", "elementwise"}
        For 2-D input: ``"samelson"`` (default) transforms the vectors jointly,
        ``"elementwise"`` transforms each column as an independent scalar
        sequence. Ignored for 1-D input.
    full_output : bool
        Return an :class:`~accel._result.AccelResult` (estimate, error,
        status, order, terms).
    table : bool
        With ``full_output``, also keep the table in the result: the columns
        ``0..2N`` over the terms used, column ``c`` of shape ``(2N + 1 - c, ...)``,
        NaN where the breakdown rule left an entry undefined (odd columns,
        inverses, may overflow at extreme magnitudes).

    Returns
    -------
    array or AccelResult
        The estimate, shape ``()`` or ``(n,)``, in the input's backend and
        floating dtype; never NaN or inf (see the breakdown rule in
        :mod:`accel.epsilon`).

    Raises
    ------
    ValueError
        Bad shape, non-finite terms, ``order < 1`` or an unknown ``inverse``.
    TypeError
        ``seq`` not an array, or ``order`` not an integer.

    References
    ----------
    P. Wynn, MTAC 10 (1956) 91-96; D. Shanks, J. Math. Phys. 34 (1955) 1-42.

    Examples
    --------
    >>> import numpy as np
    >>> from accel.epsilon import shanks
    >>> partial_sums = np.cumsum([(-1.0) ** k / (k + 1) for k in range(11)])
    >>> bool(abs(shanks(partial_sums) - np.log(2)) < 1e-8)
    True
    """
    return run_epsilon(seq, order=order, weight=wynn_weight, joint_allowed=True,
                       inverse=inverse, full_output=full_output, table=table)


@honest(table_scaling=True,
        fast=functools.partial(_scalar.epsilon_fast, weight=sablonniere_weight))
def sablonniere(seq: Any, *, order: int | None = None, inverse: str = "samelson",
                full_output: bool = False, table: bool = False) -> Any:
    r"""Sablonnière-modified epsilon algorithm (seed paper eq. 5).

    .. math:: e_c^{(j)} = e_{c-2}^{(j+1)} + \Bigl(\Bigl\lfloor\frac{c}{2}\Bigr\rfloor + 1\Bigr)
              \bigl(e_{c-1}^{(j+1)} - e_{c-1}^{(j)}\bigr)^{-1}

    with ``c`` the column being computed. The weights make ``e_2`` exact on
    logarithmic sequences ``s_j = S + a / (j + b)``, where plain Wynn leaves
    half the error (``e_2 = S + a / (2 (j + b + 1))``). Meant for logarithmic
    sequences (``sum 1/k^2``, the saddle-free series of ill-conditioned
    matrices); on linear ones it is weaker than :func:`shanks`. The result is
    ``e_{2N}^{(m-1-2N)}``, from the newest ``2N + 1`` terms; its streaming form,
    in the seed paper's memory-lean order, is
    :class:`accel.epsilon_stream.SablonniereAccelerator`.

    Parameters, returns and errors as :func:`shanks`.

    References
    ----------
    P. Sablonnière, Numer. Algorithms 1 (1991) 177-197; Oldewage, Clarke,
    Hernández-Lobato, TMLR 2024, eq. 5 and Algorithm 2.

    Examples
    --------
    >>> import numpy as np
    >>> from accel.epsilon import sablonniere, shanks
    >>> logarithmic = 2.0 + 3.0 / (np.arange(3.0) + 0.5)
    >>> round(float(sablonniere(logarithmic)), 12)
    2.0
    >>> round(float(shanks(logarithmic)), 12)
    3.0
    """
    return run_epsilon(seq, order=order, weight=sablonniere_weight, joint_allowed=True,
                       inverse=inverse, full_output=full_output, table=table)

r"""Wynn's rho algorithm: extrapolation of logarithmic sequences by rational functions of n.

.. math::

    \rho_{-1}^{(j)} = 0, \qquad \rho_0^{(j)} = s_j, \qquad
    \rho_c^{(j)} = \rho_{c-2}^{(j+1)} + \frac{x_{j+c} - x_j}{\rho_{c-1}^{(j+1)} - \rho_{c-1}^{(j)}}

with interpolation points ``x_j = j + const`` (so ``x_{j+c} - x_j = c``: the
result does not depend on where the sequence starts). ``rho_{2l}^{(j)}`` is the
value at ``n = infinity`` of the rational function of degree ``(l, l)`` in ``n``
that interpolates ``s_j, ..., s_{j+2l}`` (Thiele's continued fraction): exact on
``s_n = P_l(n) / Q_l(n)``, e.g. ``S + a / (n + b)`` for ``l = 1``. Good on
logarithmic sequences with integer-power asymptotics (``sum 1/k^2``,
``zeta(2)``); useless on alternating or linearly convergent ones, where the
epsilon algorithm (:func:`accel.epsilon.shanks`) is the right tool.

Which sequences it is for (Brezinski & Redivo-Zaglia 1991, 2.4; Weniger 1989,
section 6; Sidi 2003, chapter 20): **logarithmic** ones whose error has an
expansion in integer powers of ``1/n`` (``zeta(2)``, ``zeta(3)``, Wallis's and
``prod (1 + 1/k^2)`` products, ``(1 + 1/n)^n``); not those with half-integer
powers (``sum 1/k^(3/2)``: use :func:`accel.theta` or Levin's ``u``), and not
alternating or linear ones (on :mod:`accel.testing` it is worse than the last
term there). Its honest status says so: see :mod:`accel._honest`.

It is the weighted epsilon table of :mod:`accel.epsilon` with ``w_c = c``, with
the same breakdown rule, error estimate and status. For vectors it is applied
**componentwise** (each column an independent scalar sequence), the elementwise
inverse.

References
----------
P. Wynn, "On a procrustean technique for the numerical transformation of slowly
convergent sequences and series", Proc. Cambridge Philos. Soc. 52 (1956) 663-671.
C. Brezinski, M. Redivo-Zaglia, *Extrapolation Methods*, North-Holland 1991, 2.4.
E. J. Weniger, Comput. Phys. Rep. 10 (1989) 189-371. A. Sidi, *Practical
Extrapolation Methods*, Cambridge 2003.
"""

from __future__ import annotations

from typing import Any

from ._honest import honest
from .epsilon import run_epsilon

__all__ = ["rho"]


def rho_weight(column: int) -> float:
    """Numerator of the rho rule for column ``c``: ``x_{j+c} - x_j = c``."""
    return float(column)


@honest(table_scaling=True)
def rho(seq: Any, *, order: int | None = None, full_output: bool = False,
        table: bool = False) -> Any:
    r"""Wynn's rho algorithm, componentwise.

    .. math:: \rho_c^{(j)} = \rho_{c-2}^{(j+1)}
              + \frac{c}{\rho_{c-1}^{(j+1)} - \rho_{c-1}^{(j)}}

    The result is ``rho_{2N}^{(m-1-2N)}``, from the newest ``2N + 1`` terms.

    Parameters
    ----------
    seq : array, shape (m,) or (m, n)
        The terms; the leading axis indexes them. Each column of a 2-D array is
        transformed as an independent scalar sequence.
    order : int, optional
        ``N``; default the highest the terms allow, ``(m - 1) // 2``. A larger
        ``N`` is clamped to it.
    full_output : bool
        Return an :class:`~accel._result.AccelResult`.
    table : bool
        With ``full_output``, keep the table in it (columns ``0..2N``, NaN where
        the breakdown rule left an entry undefined).

    Returns
    -------
    array or AccelResult
        The estimate, shape ``()`` or ``(n,)``, in the input's backend and
        floating dtype; never NaN or inf.

    Raises
    ------
    ValueError
        Bad shape, non-finite terms or ``order < 1``.
    TypeError
        ``seq`` not an array, or ``order`` not an integer.

    Examples
    --------
    Exact on a rational function of ``n`` of degree (1, 1):

    >>> import numpy as np
    >>> from accel.rho import rho
    >>> n = np.arange(3.0)
    >>> round(float(rho((2 * n + 5) / (n + 1))), 12)
    2.0
    """
    return run_epsilon(seq, order=order, weight=rho_weight, joint_allowed=False,
                       inverse="elementwise", full_output=full_output, table=table)

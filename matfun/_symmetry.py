r"""Symmetry checks made from products an algorithm computes anyway (internal).

Every function of this library assumes a symmetric (Hermitian) operator.
:func:`matfun.as_operator` checks a dense or SciPy sparse matrix entrywise; a
callable, a ``matvec`` object, a sparse torch tensor, or a matrix given with
``check_symmetric=False`` can only be checked through its products, and without
extra matvecs. Two identities of a symmetric ``H`` serve:

* **Lanczos** (:func:`check_coupling`): ``q_{k-1}^H H q_k = beta_{k-1}``, since
  ``H q_{k-1} = beta_{k-1} q_k + alpha_{k-1} q_{k-1} + beta_{k-2} q_{k-2}`` and the
  fully reorthogonalised basis is orthonormal; the projection ``q_{k-1}^H H q_k`` is
  computed anyway. The plain recurrence of ``memory="low"`` keeps only local
  orthogonality, and the identity's error there grew past the threshold on
  symmetric operators (measured: 66 of 400 near-breakdown cases refused), so it
  compares the two products themselves (:func:`check_coupling` again):
  ``q_{k-1}^H (H q_k) = conj(q_k^H (H q_{k-1}))``, two inner products a step.
* **Squares** (:func:`check_square`, the series and Chebyshev, which apply
  ``H (H v)``): ``v^H H (H v) = (H v)^H (H v) = ||H v||^2``. Checked once per solve,
  on the first square (:meth:`matfun.Operator._check_square`).

Both are necessary conditions only, with a generous threshold: they catch an
operator that is not symmetric at all, never one symmetric to rounding. A bilinear
form of two generic vectors sees about ``1/sqrt(n)`` of an asymmetry ``E`` in no
particular direction, so a random ``E`` is caught from about ``100 sqrt(n eps)
||H||``. Measured in float64 (smallest ``||E|| / ||H||`` refused, five draws, an
indefinite spectrum in ``[1, 10]``): Lanczos, which checks every step, ``1e-5`` at
``n = 40`` and ``2e-5``-``3e-5`` at ``n = 400``; the series, one check,
``3e-5``-``6e-5`` at ``n = 40`` and ``6e-5``-``1e-3`` at ``n = 400``. A nonsymmetric
operator that happens to satisfy the identity for the vectors of this solve passes.
"""

from __future__ import annotations

import math
from typing import Any

from ._backend import inner, is_complex, namespace, norm, real_dtype, to_float

__all__ = ["SLACK", "check_coupling", "check_square"]

# A gap above SLACK * sqrt(eps) times the size of the quantities compared means the
# operator is not symmetric. Generous: a dense matrix that passes as_operator's
# entrywise sqrt(eps) test may, over n entries, differ by more.
SLACK = 100.0

_SUFFIX = "every function of this library assumes a symmetric operator"


def check_coupling(coupling: complex, expected: complex, size: float, eps: float, name: str,
                   k: int, *, against: str = "beta_{k-1}") -> None:
    """``ValueError`` when ``q_{k-1}^H (H q_k) / s`` is not ``expected``.

    ``size`` is ``||T||`` (of ``H / s``). Full memory compares with ``beta_{k-1}``: the
    reorthogonalised basis is orthonormal to ``O(eps)``, and the identity holds to about
    ``eps ||T||``. The low-memory mode compares with ``conj(q_k^H (H q_{k-1}) / s)``
    (``against`` names it): inner products of vectors of norm about 1 (``||q_j|| = 1``
    to rounding in the plain recurrence too) with products of norm at most about
    ``||T||``, whose gap rounding keeps near ``n eps ||T||`` whatever the orthogonality
    of the basis.
    """
    gap = abs(coupling - expected)
    if gap > SLACK * math.sqrt(eps) * size:
        raise ValueError(f"{name} is not symmetric (Hermitian): at Lanczos step {k + 1}, "
                         f"q_{{k-1}}^T H q_k differs from {against} by {gap:.3g} against "
                         f"||T|| ~ {size:.3g} (rounding would leave about {eps * size:.1g}); "
                         f"{_SUFFIX}")


def check_square(v: Any, inner_product: Any, outer_product: Any, name: str) -> None:
    r"""``ValueError`` unless :math:`v^H H (H v) = \|H v\|^2` to within the threshold.

    ``inner_product`` is ``H v`` and ``outer_product`` is ``H (H v)``, both possibly
    divided by the same power of the operator's unit (the test is homogeneous). The
    gap :math:`|v^H H (Hv) - \|Hv\|^2|` is compared with ``SLACK sqrt(eps)`` times
    :math:`\|v\| \|H (H v)\| + \|H v\|^2`. For a symmetric ``H`` rounding leaves a gap
    of about ``eps ||H|| ||v|| ||H v||``; for ``H = S + E`` (``S`` symmetric) it is
    :math:`v^H (E - E^H) H v`: up to ``||E - E^H|| / ||H||`` relative, and about
    ``1/sqrt(n)`` of that for an asymmetry in no particular direction. A non-finite
    quantity decides nothing (the caller's finiteness checks report it).
    """
    xp = namespace(v)
    cross = inner(xp, v, outer_product)
    cross = complex(cross) if is_complex(xp, v) else to_float(cross)
    middle = to_float(norm(xp, inner_product))
    size = to_float(norm(xp, v)) * to_float(norm(xp, outer_product)) + middle * middle
    gap = abs(cross - middle * middle)
    eps = float(xp.finfo(real_dtype(xp, v)).eps)
    if not (math.isfinite(gap) and math.isfinite(size)):
        return
    if gap > SLACK * math.sqrt(eps) * size:
        raise ValueError(f"{name} is not symmetric (Hermitian): for the first vector v, "
                         f"v^T H (H v) differs from ||H v||^2 by {gap:.3g} against "
                         f"||v|| ||H H v|| + ||H v||^2 = {size:.3g}; {_SUFFIX}")

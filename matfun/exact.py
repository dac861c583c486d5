r"""Exact oracles: functions of a symmetric matrix applied to a vector, by eigendecomposition.

For a symmetric (Hermitian) :math:`H = Q \Lambda Q^H` and a scalar function ``f``,

.. math::

    f(H)\, g = Q \, \mathrm{diag}(f(\lambda_1), \dots, f(\lambda_n)) \, Q^H g .

Everything here is dense and costs :math:`O(n^3)`: these are the references the
matvec-only methods of :mod:`matfun` are tested against, and that other projects
can test against (see :mod:`matfun.testing`).

* The operator may be anything :func:`~matfun.as_operator` accepts; a matvec-only
  operator is made dense with ``n`` matvecs (:func:`to_dense`).
* The eigendecomposition runs in the vector's own backend (``xp.linalg.eigh``), in
  double precision whatever the input precision, and the result comes back in the
  floating dtype of ``g`` (float32 in, float32 out; integers promoted). Its relative
  error is about :math:`\kappa \epsilon_{64}` for the inverse-type functions, with
  :math:`\kappa` the condition number of the matrix being inverted.
* :func:`mp_apply_function` and :func:`mp_abs_inv` do the same in mpmath at any
  precision, for matrices too ill-conditioned for float64.
* ``truncated_*`` give the exact value of ``K`` terms of each series of
  :mod:`matfun.series` (the polynomial evaluated on the eigenvalues), so that a
  series can be checked to rounding error rather than to its truncation error.

References
----------
Higham (2008), *Functions of Matrices: Theory and Computation*, SIAM, ch. 1 and 4.5.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ._backend import all_finite, is_complex, to_float
from ._eigen import (
    DAMPING_KINDS,
    check_damping,
    combine,
    decompose,
    eigendecomposition,
    namespace_of,
    to_dense,
)
from ._exact_mp import mp_abs_inv, mp_apply_function
from ._truncations import (
    truncated_binomial_series,
    truncated_inv_sqrt_series,
    truncated_neumann_series,
)
from ._validation import check_real, power_of_two

__all__ = [
    "to_dense",
    "eigendecomposition",
    "apply_function",
    "abs_inv",
    "inv",
    "inv_sqrt_square",
    "fractional_power",
    "truncated_inv_sqrt_series",
    "truncated_neumann_series",
    "truncated_binomial_series",
    "mp_apply_function",
    "mp_abs_inv",
    "DAMPING_KINDS",
]


def apply_function(op: Any, g: Any, f: Callable[[Any], Any]) -> Any:
    r"""``f(H) g = Q diag(f(lambda)) Q^H g`` for any real scalar function ``f``.

    Parameters
    ----------
    op
        The symmetric matrix ``H``: anything :func:`~matfun.as_operator` accepts.
    g : array
        Vector of length ``n`` (any array-API backend).
    f : callable
        Maps the float64 array of eigenvalues (``g``'s backend) to an array of the same
        shape of real values, elementwise: ``lambda w: xp.exp(-w)``.

    Returns
    -------
    array
        ``g``'s backend and floating dtype.

    Raises
    ------
    ValueError
        ``f`` returned NaN/inf (it is undefined at an eigenvalue) or the wrong shape,
        or the result overflows; plus the input errors of :func:`to_dense`.

    Examples
    --------
    >>> import numpy as np
    >>> apply_function(np.diag([1.0, 4.0]), np.ones(2), np.sqrt)
    array([1., 2.])
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    xp, g, eigenvalues, eigenvectors = decompose(op, g)
    values = namespace_of(f(eigenvalues), g)
    if tuple(values.shape) != tuple(eigenvalues.shape):
        raise ValueError(f"f must return one value per eigenvalue, shape "
                         f"{tuple(eigenvalues.shape)}; got {tuple(values.shape)}")
    if is_complex(xp, values):
        raise TypeError("f must return real values")
    if not all_finite(xp, values):
        bad = eigenvalues[~xp.isfinite(values)]
        raise ValueError(f"f is undefined (NaN or inf) at eigenvalue(s) {_show(bad)} of op")
    return combine(xp, eigenvectors, values, g)


def abs_inv(op: Any, g: Any) -> Any:
    r"""The saddle-free Newton direction :math:`|H|^{-1} g = (H^2)^{-1/2} g`.

    Raises ``ValueError`` if ``H`` is singular (a zero eigenvalue).

    Examples
    --------
    >>> import numpy as np
    >>> abs_inv(np.diag([2.0, -4.0]), np.ones(2))
    array([0.5 , 0.25])
    """
    return _inverse(op, g, lambda xp, w: xp.abs(w), "H")


def inv(op: Any, g: Any) -> Any:
    r""":math:`H^{-1} g` for a nonsingular symmetric ``H`` (``ValueError`` if singular).

    Examples
    --------
    >>> import numpy as np
    >>> inv(np.diag([2.0, -4.0]), np.ones(2))
    array([ 0.5 , -0.25])
    """
    return _inverse(op, g, lambda xp, w: w, "H")


def inv_sqrt_square(op: Any, g: Any, *, damping: float = 0.0, damping_kind: str = "abs") -> Any:
    r"""The limit of :func:`matfun.inv_sqrt_series` for each damping kind.

    With :math:`\lambda` = ``damping`` :math:`\ge 0`, on the eigenvalues :math:`l_i` of ``H``:

    * ``"abs"``: :math:`(|H| + \lambda I)^{-1} g`, values :math:`1/(|l_i| + \lambda)`;
    * ``"shift"``: :math:`((H + \lambda I)^2)^{-1/2} g`, values :math:`1/|l_i + \lambda|`;
    * ``"square"``: :math:`(H^2 + \lambda I)^{-1/2} g`, values :math:`1/\sqrt{l_i^2 + \lambda}`.

    With ``damping=0`` all three are :func:`abs_inv`.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.diag([3.0, -2.0])
    >>> inv_sqrt_square(H, np.ones(2), damping=1.0, damping_kind="shift")
    array([0.25, 1.  ])
    >>> inv_sqrt_square(H, np.ones(2), damping=7.0, damping_kind="square")
    array([0.25      , 0.30151134])
    """
    lam = check_damping(damping, damping_kind)
    if damping_kind == "abs":
        return _inverse(op, g, lambda xp, w: xp.abs(w) + lam, "|H| + damping I")
    if damping_kind == "shift":
        return _inverse(op, g, lambda xp, w: xp.abs(w + lam), "H + damping I")
    return _inverse(op, g, functools.partial(_square_damped, lam), "H^2 + damping I")


def _square_damped(lam: float, xp: Any, w: Any) -> Any:
    """``sqrt(w^2 + lam)`` without squaring a large ``w``: scaled by a power of two."""
    # Host scalar: the scale, once.
    largest = max(to_float(xp.max(xp.abs(w))), lam**0.5)
    factor = power_of_two(largest) if largest > 0 else 1.0
    scaled = w / factor
    return xp.sqrt(scaled * scaled + (lam / factor) / factor) * factor


def fractional_power(op: Any, g: Any, exponent: float) -> Any:
    r""":math:`A^{p} g` (``p = exponent``), values :math:`\lambda_i^{p}`.

    An integer ``p`` is defined for any symmetric ``A`` (nonsingular when ``p < 0``).
    A non-integer ``p`` needs ``A`` symmetric positive definite; for ``p > 0``
    eigenvalues down to :math:`-n \epsilon \max|\lambda|` (rounding of a positive
    semi-definite matrix) are taken as 0.

    Examples
    --------
    >>> import numpy as np
    >>> fractional_power(np.diag([4.0, 9.0]), np.ones(2), -0.5)
    array([0.5       , 0.33333333])
    """
    p = check_real(exponent, "exponent")
    xp, g, eigenvalues, eigenvectors = decompose(op, g)
    n = eigenvalues.shape[0]
    # Host scalars: a decision on definiteness.
    smallest = to_float(xp.min(eigenvalues))
    if p.is_integer():
        if p < 0 and to_float(xp.min(xp.abs(eigenvalues))) == 0.0:
            raise ValueError(f"op is singular: no power {p:g}")
        values = eigenvalues ** p
    else:
        rounding = n * float(xp.finfo(eigenvalues.dtype).eps) * to_float(
            xp.max(xp.abs(eigenvalues)))
        if smallest <= 0.0 and (p < 0 or smallest < -rounding):
            raise ValueError(
                f"op must be symmetric positive definite for the non-integer exponent {p:g}; "
                f"its smallest eigenvalue is {smallest:.6g}"
            )
        values = xp.clip(eigenvalues, min=0.0) ** p
    if not all_finite(xp, values):
        raise ValueError(f"exponent = {p:g}: a power of an eigenvalue of op overflows (inf)")
    return combine(xp, eigenvectors, values, g)


def _inverse(op: Any, g: Any, phi: Callable[[Any, Any], Any], what: str) -> Any:
    """``Q diag(1/phi(w)) Q^H g``, refusing a zero (or non-finite) ``phi``."""
    xp, g, eigenvalues, eigenvectors = decompose(op, g)
    denominators = phi(xp, eigenvalues)
    # Host scalar: a decision (singular or not).
    if to_float(xp.min(xp.abs(denominators))) == 0.0:
        raise ValueError(f"op is singular: {what} has a zero eigenvalue, so the inverse "
                         "does not exist")
    if not all_finite(xp, denominators):
        raise ValueError(f"{what} overflows (inf) at an eigenvalue of op")
    return combine(xp, eigenvectors, 1.0 / denominators, g)


# matfun.testing (another module) imports these two private names from here.
_check_damping = check_damping
_combine = combine


def _show(values: Any) -> str:
    return ", ".join(f"{to_float(values[i]):.6g}" for i in range(min(5, values.shape[0])))

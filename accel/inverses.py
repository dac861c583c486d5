"""Inverses of vectors for the epsilon-type algorithms.

Wynn's epsilon algorithm divides by differences of table entries. For vectors
that division needs an inverse of a vector; two are offered:

* the Samelson inverse ``v^(-1) = conj(v) / (v^H v)`` (Wynn 1962), the unique
  vector that is parallel to ``conj(v)`` and has ``v^(-1) . v = 1`` (bilinear
  pairing). For a length-1 vector it is the ordinary reciprocal ``1 / v``. It
  treats the vector as one object: the vector epsilon algorithm built on it is
  exact on vector sequences whose error lies in a ``d``-dimensional invariant
  subspace (McLeod's theorem). The conjugate makes ``v^(-1)`` defined for every
  nonzero complex ``v`` (``v^T v`` can vanish, ``v^H v`` cannot);
* the elementwise inverse ``1 / v``, which treats the components as a batch of
  independent scalar sequences.

Both public functions refuse a non-invertible input. The algorithms themselves
use :func:`_guarded_inverse`, which reports near-zero differences instead of
dividing by them (the breakdown rule of :mod:`accel.epsilon`).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from array_api_compat import device as array_device

from ._backend import as_float_array, is_complex, namespace, real_dtype, vecdot
from ._inplace import add_scaled, conjugate, scale_add, subtract_into

__all__ = ["elementwise_inverse", "samelson_inverse"]

# A difference counts as zero when it is within this many ulps of the larger of
# the two entries it is taken between: below that it is rounding noise, and its
# inverse carries no information. Sixteen ulps is the "agree to rounding"
# threshold the other transforms use (accel._sequence.CONVERGED_ULPS).
_NEAR_ZERO_ULPS = 16.0


def _validate_vector(v: Any, name: str) -> tuple[Any, Any]:
    xp = namespace(v)
    if v.ndim < 1:
        raise ValueError(f"{name} must have at least one axis, got a 0-d array")
    if v.shape[-1] < 1:
        raise ValueError(f"{name} must not be empty, got shape {tuple(v.shape)}")
    v = as_float_array(xp, v, name)
    if not bool(xp.all(xp.isfinite(v))):  # decision: refuse bad input
        raise ValueError(f"{name} must be finite, got NaN or inf")
    return xp, v


def samelson_inverse(v: Any) -> Any:
    r"""Samelson inverse of a vector (over the last axis).

    .. math:: v^{-1} = \frac{\bar v}{v^H v}

    so that :math:`\sum_i v^{-1}_i v_i = 1`. Stacked vectors (shape
    ``(..., n)``) are inverted independently.

    Parameters
    ----------
    v : array, shape (..., n)
        Real or complex floating (integers are promoted), finite.

    Returns
    -------
    array, shape (..., n)
        The inverse, in the backend and floating dtype of ``v``.

    Raises
    ------
    ValueError
        If ``v`` (one of the stacked vectors) is zero, empty, 0-d or not finite.

    References
    ----------
    P. Wynn, "Acceleration techniques for iterated vector and matrix problems",
    Math. Comp. 16 (1962) 301-322.

    Examples
    --------
    >>> import numpy as np
    >>> from accel.inverses import samelson_inverse
    >>> samelson_inverse(np.array([3.0, 4.0]))
    array([0.12, 0.16])
    >>> samelson_inverse(np.array([2j]))
    array([0.-0.5j])
    """
    xp, v = _validate_vector(v, "v")
    size = xp.linalg.vector_norm(v, axis=-1, keepdims=True)
    if bool(xp.any(size == 0)):  # decision: refuse a non-invertible input
        raise ValueError("v must be nonzero: the Samelson inverse of the zero vector is undefined")
    numerator = xp.conj(v) if is_complex(xp, v) else v
    # Dividing by the norm twice avoids the underflow of v^H v for tiny vectors.
    return (numerator / size) / size


def elementwise_inverse(v: Any) -> Any:
    """Elementwise inverse ``1 / v``: each component is its own scalar sequence.

    Parameters
    ----------
    v : array
        Real or complex floating (integers are promoted), finite, no zero entry.

    Returns
    -------
    array
        ``1 / v`` in the backend and floating dtype of ``v``.

    Raises
    ------
    ValueError
        If an entry of ``v`` is zero or not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from accel.inverses import elementwise_inverse
    >>> elementwise_inverse(np.array([2.0, -4.0]))
    array([ 0.5 , -0.25])
    """
    xp = namespace(v)
    v = as_float_array(xp, v, "v")
    if not bool(xp.all(xp.isfinite(v))):  # decision: refuse bad input
        raise ValueError("v must be finite, got NaN or inf")
    if bool(xp.any(v == 0)):  # decision: refuse a non-invertible input
        raise ValueError("v must have no zero entry: its elementwise inverse is undefined")
    return 1.0 / v


def _near_zero_tolerance(xp: Any, x: Any) -> float:
    """Relative size below which a difference of entries of ``x``'s dtype is zero."""
    return _NEAR_ZERO_ULPS * float(xp.finfo(real_dtype(xp, x)).eps)


class _InverseConstants(NamedTuple):
    """Per-dtype constants of :func:`_guarded_inverse`, computed once per table or stream."""

    tolerance: float  # near zero: 16 ulps (see _NEAR_ZERO_ULPS)
    tiny: float  # the smallest normal number of the real dtype
    largest: float  # the largest finite number of the real dtype
    loose: float  # loosely converged: sqrt(eps)
    complex: bool  # conjugate before dividing (Samelson)
    one: Any  # 1 as a 0-d array of the real dtype, on the entries' device


def _inverse_constants(xp: Any, x: Any) -> _InverseConstants:
    """The constants of :func:`_guarded_inverse` for entries of ``x``'s dtype."""
    real = real_dtype(xp, x)
    eps = float(xp.finfo(real).eps)
    one = xp.ones((), dtype=real, device=array_device(x))
    info = xp.finfo(real)
    return _InverseConstants(_NEAR_ZERO_ULPS * eps, float(info.smallest_normal),
                             float(info.max), math.sqrt(eps), is_complex(xp, x), one)


def _row_norm(xp: Any, x: Any, complex_: bool | None = None) -> Any:
    """Euclidean norm over the last axis, kept as a length-1 axis.

    Through ``vecdot``, which allocates no vector-sized temporary (``vector_norm``
    squares into one first): the streaming table counts its vectors.
    ``complex_`` says whether ``x`` is complex when the caller knows it already.
    """
    square = vecdot(xp)(x, x)
    if is_complex(xp, x) if complex_ is None else complex_:
        square = xp.real(square)
    # Indexing with None adds the axis without expand_dims' per-call overhead.
    return xp.sqrt(square)[..., None]


class _Inverted(NamedTuple):
    """Outcome of :func:`_guarded_inverse` (masks: last axis of length 1 when joint)."""

    inverse: Any  # the inverse where ``ok``; a finite placeholder or an overflow elsewhere
    ok: Any  # the inverse is defined: the difference is not near zero and it is finite
    small: Any  # the difference is near zero: within 16 ulps of the entries' size
    near: Any  # the difference is within sqrt(eps) of the entries' size (loosely converged)
    size: Any  # the size of the difference (norm when joint, absolute value otherwise)


class _JointInverse(NamedTuple):
    """Outcome of :func:`_samelson_difference_inverse` (last axis of length 1 but ``inverse``)."""

    inverse: Any  # the Samelson inverse of the difference (a finite placeholder where small)
    small: Any  # the difference is near zero
    size: Any  # the norm of the difference
    scale: Any  # the larger norm of the two entries


def _samelson_difference_inverse(xp: Any, upper: Any, lower: Any, upper_norm: Any,
                                 lower_norm: Any, constants: _InverseConstants,
                                 weight: float = 1.0, base: Any = None, *,
                                 scratch: Any = None,
                                 into_base: bool = False) -> _JointInverse:
    """``weight`` times the Samelson inverse of ``upper - lower``, given the entries' norms.

    With ``base``, its ``inverse`` is ``base`` plus that (the new table entry),
    the scaling and the addition made in one pass (:func:`accel._inplace.scale_add`,
    the same two roundings as scaling, then adding). The streaming table lends
    buffers: ``scratch`` receives the difference, and with ``into_base`` the sum
    is written into ``base`` (which the caller no longer needs) where the
    backend allows; the numbers are the same either way.

    The arithmetic of the joint branch of :func:`_guarded_inverse`, which calls it;
    the streaming table passes norms it computed once per entry. Each row is
    multiplied by the one factor ``(weight / ||d||) / ||d||`` (one pass over
    the vector) where that factor is a normal finite number, and divided by the
    norm twice otherwise (``||d||^2`` would underflow or overflow), then weighted.
    """
    # The difference is a fresh array (or the lent scratch), scaled in place: one
    # entry of the streaming table needs a single vector-sized temporary.
    difference = upper - lower if scratch is None else subtract_into(scratch, upper, lower)
    size = _row_norm(xp, difference, constants.complex)
    scale = xp.maximum(upper_norm, lower_norm)
    small = size <= constants.tolerance * scale
    safe_size = xp.where(small, constants.one, size)
    if constants.complex:
        difference = conjugate(xp, difference)
    # The factor where it cannot overflow (||d|| above 2 sqrt(w / max)), else a stand-in.
    representable = safe_size >= 2.0 * math.sqrt(weight / constants.largest)
    divisor = xp.where(representable, safe_size, constants.one)
    factor = (weight / divisor) / divisor
    fine = representable & (factor >= constants.tiny)
    if bool(xp.all(fine)):  # decision: one pass (the rows' factors are representable)
        factor = xp.astype(factor, difference.dtype) if constants.complex else factor
        if base is not None:
            inverse = add_scaled(base, difference, factor) if into_base else \
                scale_add(difference, factor, base)
            return _JointInverse(inverse, small, size, scale)
        difference *= factor
        return _JointInverse(difference, small, size, scale)
    # Dividing by the norm twice avoids the underflow of v^H v for tiny vectors.
    slow = difference / safe_size
    slow /= safe_size
    if weight != 1.0:
        slow *= weight
    if constants.complex:
        factor = xp.astype(factor, difference.dtype)
    difference *= xp.where(fine, factor, xp.zeros_like(factor))
    inverse = xp.where(fine, difference, slow)
    if base is not None:
        inverse += base
    return _JointInverse(inverse, small, size, scale)


def _guarded_inverse(xp: Any, upper: Any, lower: Any, *, joint: bool,
                     constants: _InverseConstants | None = None,
                     weight: float = 1.0) -> _Inverted:
    """Inverse of ``upper - lower`` with the near-zero test of the epsilon algorithms.

    The difference is *near zero* where its size is at most
    :func:`_near_zero_tolerance` times the larger size of ``upper`` and ``lower``
    (Euclidean norm over the last axis when ``joint``, absolute value otherwise):
    there it is rounding noise, or exactly zero, and the inverse is undefined.

    Parameters
    ----------
    upper, lower : array
        Table entries, stacked along leading axes.
    joint : bool
        Samelson inverse over the last axis (vectors) if true, elementwise
        inverse otherwise.
    constants : _InverseConstants, optional
        :func:`_inverse_constants` of the entries' dtype, when the caller holds them.
    weight : float
        Joint only: the inverse is multiplied by it (in the same pass).
    """
    if constants is None:
        constants = _inverse_constants(xp, upper)
    tolerance, loose = constants.tolerance, constants.loose
    if joint:
        joint_inverse = _samelson_difference_inverse(
            xp, upper, lower, _row_norm(xp, upper, constants.complex),
            _row_norm(xp, lower, constants.complex), constants, weight)
        difference, small, size, scale = joint_inverse
        near = size <= loose * scale
        ok = ~small & xp.all(xp.isfinite(difference), axis=-1, keepdims=True)
        return _Inverted(difference, ok, small, near, size)
    # The scale first, so that at most three vector temporaries live at once.
    scale = xp.maximum(xp.abs(upper), xp.abs(lower))
    difference = upper - lower
    size = xp.abs(difference)
    scale *= tolerance
    small = size <= scale
    scale *= loose / tolerance
    near = size <= scale
    del scale
    difference = xp.where(small, xp.asarray(1, dtype=difference.dtype), difference)
    with np.errstate(over="ignore"):  # an overflowing inverse is refused below (not ok)
        inverse = 1.0 / difference
    del difference
    ok = ~small & xp.isfinite(inverse)
    return _Inverted(inverse, ok, small, near, size)

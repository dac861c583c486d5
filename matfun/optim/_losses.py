r"""Output losses of a network and their derivatives in the outputs, in the array API.

A network's loss is :math:`f = \tfrac1N \sum_n \ell(z_n, t_n)`, ``z`` the ``N x k``
outputs of the last affine layer and ``t`` the targets. Backpropagation and its
R-operator and Taylor-jet forms (:mod:`matfun.optim._mlp`) need only five things from
:math:`\ell`, provided here for two losses:

* ``value(z, t)``: :math:`f` as a 0-d array;
* ``delta(z, t)``: :math:`\partial f / \partial z` (``N x k``, the :math:`1/N` included);
* ``curvature(z, t, r)``: :math:`(\partial^2 f / \partial z^2) r`, row by row -- the
  R-operator of ``delta`` and the middle factor of the Gauss-Newton product
  :math:`J^T (\partial^2 f/\partial z^2) J v`;
* ``line(z, z', z'', z''', t)``: :math:`(f', f'', f''')` in ``t`` along a curve
  ``z(t)`` of outputs given by its derivatives at 0;
* ``delta_jet((z, z', z''), t)``: the derivatives ``(delta, delta', delta'')`` of
  ``delta(z(t), t)`` (``None`` for an identically zero entry).

**Squared error** :math:`\ell = \|z - t\|^2`: ``delta = 2 (z - t) / N``, curvature
:math:`2 r / N`.

**Softmax cross-entropy** :math:`\ell = \mathrm{lse}(z) - t^T z` with ``t`` one-hot
(rows summing to one) and :math:`p = \mathrm{softmax}(z)`: ``delta = (p - t) / N`` and
curvature :math:`(\mathrm{diag}(p) - p p^T) r / N`. Along a curve, :math:`\mathrm{lse}`
is the cumulant generating function of the outputs under :math:`p`, so with
:math:`E`, :math:`\mathrm{Var}`, :math:`\mathrm{Cov}`, :math:`\kappa_3` taken over the
classes with weights :math:`p`:

.. math::

    \tfrac{d}{dt}\mathrm{lse} = E[z'], \quad
    \tfrac{d^2}{dt^2}\mathrm{lse} = \mathrm{Var}[z'] + E[z''], \quad
    \tfrac{d^3}{dt^3}\mathrm{lse} = \kappa_3[z'] + 3\,\mathrm{Cov}[z', z''] + E[z'''],

and :math:`p' = p \odot (z' - E[z'])`,
:math:`p'' = p \odot \big((z' - E[z'])^2 - \mathrm{Var}[z'] + z'' - E[z'']\big)`.

References
----------
Bishop (2006), *Pattern Recognition and Machine Learning*, section 4.3.4 (the softmax
Hessian); Schraudolph (2002), *Fast curvature matrix-vector products for second-order
gradient descent*, Neural Computation 14(7) (Gauss-Newton products).
"""

from __future__ import annotations

from typing import Any

__all__ = ["LOSSES", "loss_head"]


class _SquaredError:
    r""":math:`\tfrac1N \sum_n \|z_n - t_n\|^2`."""

    @staticmethod
    def value(xp: Any, z: Any, t: Any) -> Any:
        residual = z - t
        return xp.sum(residual * residual) / z.shape[0]

    @staticmethod
    def delta(xp: Any, z: Any, t: Any) -> Any:
        return (2.0 / z.shape[0]) * (z - t)

    @staticmethod
    def curvature(xp: Any, z: Any, t: Any, r: Any) -> Any:
        return (2.0 / z.shape[0]) * r

    @staticmethod
    def line(xp: Any, z0: Any, z1: Any, z2: Any, z3: Any, t: Any) -> tuple[Any, Any, Any]:
        scale = 2.0 / z0.shape[0]
        residual = z0 - t
        first = scale * xp.sum(residual * z1)
        second = scale * xp.sum(z1 * z1 + residual * z2)
        third = scale * xp.sum(3.0 * z1 * z2 + residual * z3)
        return first, second, third

    @staticmethod
    def delta_jet(xp: Any, z: tuple, t: Any) -> tuple:
        scale = 2.0 / z[0].shape[0]
        return tuple(None if x is None else scale * x for x in (z[0] - t,) + tuple(z[1:]))


class _SoftmaxCrossEntropy:
    r""":math:`\tfrac1N \sum_n \mathrm{lse}(z_n) - t_n^T z_n`, ``t`` one-hot."""

    @staticmethod
    def _log_normaliser(xp: Any, z: Any) -> Any:
        top = xp.max(z, axis=1, keepdims=True)  # shift: exp never overflows
        return top + xp.log(xp.sum(xp.exp(z - top), axis=1, keepdims=True))

    @classmethod
    def _probabilities(cls, xp: Any, z: Any) -> Any:
        return xp.exp(z - cls._log_normaliser(xp, z))

    @classmethod
    def value(cls, xp: Any, z: Any, t: Any) -> Any:
        return xp.sum(cls._log_normaliser(xp, z)) / z.shape[0] - xp.sum(t * z) / z.shape[0]

    @classmethod
    def delta(cls, xp: Any, z: Any, t: Any) -> Any:
        return (cls._probabilities(xp, z) - t) / z.shape[0]

    @classmethod
    def curvature(cls, xp: Any, z: Any, t: Any, r: Any) -> Any:
        p = cls._probabilities(xp, z)
        return p * (r - xp.sum(p * r, axis=1, keepdims=True)) / z.shape[0]

    @classmethod
    def line(cls, xp: Any, z0: Any, z1: Any, z2: Any, z3: Any, t: Any
             ) -> tuple[Any, Any, Any]:
        p = cls._probabilities(xp, z0)
        centred = z1 - xp.sum(p * z1, axis=1, keepdims=True)
        samples = z0.shape[0]
        first = xp.sum((p - t) * z1) / samples
        second = (xp.sum(p * centred * centred) + xp.sum((p - t) * z2)) / samples
        third = (xp.sum(p * centred * centred * centred) + 3.0 * xp.sum(p * centred * z2)
                 + xp.sum((p - t) * z3)) / samples
        return first, second, third

    @classmethod
    def delta_jet(cls, xp: Any, z: tuple, t: Any) -> tuple:
        z0, z1, z2 = z
        samples = z0.shape[0]
        p = cls._probabilities(xp, z0)
        if z1 is None:  # the outputs do not move along the curve
            return ((p - t) / samples, None, None)
        centred = z1 - xp.sum(p * z1, axis=1, keepdims=True)
        moving = centred * centred - xp.sum(p * centred * centred, axis=1, keepdims=True)
        if z2 is not None:
            moving = moving + z2 - xp.sum(p * z2, axis=1, keepdims=True)
        return ((p - t) / samples, p * centred / samples, p * moving / samples)


_HEADS = {"squared_error": _SquaredError, "softmax_cross_entropy": _SoftmaxCrossEntropy}
LOSSES = tuple(_HEADS)


def loss_head(name: str) -> Any:
    """The loss ``name`` (one of :data:`LOSSES`) as an object with the five functions."""
    return _HEADS[name]

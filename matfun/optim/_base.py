r"""The optimiser protocol of :mod:`matfun.optim`: oracles, optimisers, their errors.

An **oracle** gives access to the objective :math:`f : \mathbb{R}^p \to \mathbb{R}`
through callables on flat parameter vectors of any array-API backend; an
**optimiser** is a pair of functions over explicit state, in the manner of optax:

.. code-block:: text

    state = optimizer.init(params)
    params, state, info = optimizer.update(state, params, oracle)

States are frozen dataclasses of arrays and Python scalars (plain data): they can
be deep-copied or pickled, and a run resumed from a saved state repeats the
uninterrupted run bit for bit. ``update`` never mutates its arguments; when an
oracle returns NaN or inf it raises :class:`NonFiniteError` *before* anything is
computed from the bad value, so the caller's state and parameters stay valid.

References
----------
The optax ``GradientTransformation`` (``init`` / ``update``) design; Oldewage, Clarke,
Hernandez-Lobato (2024), TMLR, Algorithm 1 (the saddle-free Newton oracle calls).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = ["NonFiniteError", "Optimizer", "Oracle", "SingularCurvatureError"]


class NonFiniteError(ArithmeticError):
    """An oracle returned NaN or inf (value, gradient, Hessian-vector product, ...).

    Raised by ``update`` before the state is advanced: the state and parameters
    passed in remain the last valid ones.
    """


class SingularCurvatureError(ArithmeticError):
    """The curvature matrix a step must invert is singular to working precision.

    Raised by ``update`` (e.g. Newton's method at a degenerate point without damping)
    before the state is advanced.
    """


@dataclass(frozen=True)
class Oracle:
    r"""Access to an objective through callables on flat parameter vectors.

    Parameters
    ----------
    value : callable
        ``value(x)`` -> :math:`f(x)`, a 0-d array (or Python float).
    grad : callable
        ``grad(x)`` -> :math:`\nabla f(x)`, a vector shaped like ``x``.
    hvp : callable
        ``hvp(x, v)`` -> :math:`\nabla^2 f(x)\, v` (Hessian-vector product).
    third : callable, optional
        ``third(x, v)`` -> the third directional derivative
        :math:`D^3 f(x)[v, v, v] = \tfrac{d^3}{dt^3} f(x + t v)|_{t=0}`, a 0-d array
        (what grouped Newton uses). A vector result is read as
        :math:`D^3 f(x)[v, v, \cdot\,]` and contracted with ``v``.
    gauss_newton : callable, optional
        ``gauss_newton(x, v)`` -> :math:`G(x) v`, a positive semidefinite curvature
        (e.g. the generalised Gauss-Newton matrix) where the problem has one.

    Examples
    --------
    >>> import numpy as np
    >>> h = np.array([2.0, -1.0])
    >>> oracle = Oracle(value=lambda x: 0.5 * np.sum(h * x * x), grad=lambda x: h * x,
    ...                 hvp=lambda x, v: h * v)
    >>> oracle.hvp(np.ones(2), np.array([1.0, 1.0]))
    array([ 2., -1.])
    """

    value: Callable[[Any], Any]
    grad: Callable[[Any], Any]
    hvp: Callable[[Any, Any], Any]
    third: Callable[[Any, Any], Any] | None = None
    gauss_newton: Callable[[Any, Any], Any] | None = None

    def __post_init__(self) -> None:
        for name in ("value", "grad", "hvp"):
            if not callable(getattr(self, name)):
                raise TypeError(f"Oracle.{name} must be callable, got "
                                f"{type(getattr(self, name)).__name__}")
        for name in ("third", "gauss_newton"):
            member = getattr(self, name)
            if member is not None and not callable(member):
                raise TypeError(f"Oracle.{name} must be callable or None, got "
                                f"{type(member).__name__}")


class Optimizer(NamedTuple):
    """An optimiser: ``init(params) -> state`` and ``update(state, params, oracle)``.

    ``update`` returns ``(new_params, new_state, info)``; ``info`` is a dict of host
    scalars with at least ``loss`` (at the parameters passed in), ``grad_norm`` and
    ``matvecs`` (Hessian-vector products spent by the step).

    Attributes
    ----------
    init, update : callable
    name : str
        What the optimiser is, for logs and plot legends.
    """

    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], tuple[Any, Any, dict]]
    name: str = "optimizer"

"""Symmetric operators from matvec access: normalising user input, algebra, counting.

Anything that applies a symmetric ``n x n`` matrix to a vector is accepted by
:func:`as_operator` -- a 2-D array of any array-API backend, a SciPy
``LinearOperator`` or sparse matrix, an object with a ``matvec`` method, or a plain
callable ``v -> H v`` -- and turned into an :class:`Operator`. Everything
downstream works with that one type.

Every matvec may be a Hessian-vector product, so none is spent behind the user's
back: the operator's dtype is never probed by a trial matvec, composite operators
(``H^2``, ``H + lam I``, ``c H``) share the counter of the operator they are built
from, and :attr:`Operator.matvecs` always counts calls of the user's function.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any

from ._backend import settle
from ._operator_checks import validated_product
from ._operator_counter import Counter as _Counter
from ._operator_deferred import DeferredChecks
from ._operator_forms import (
    check_sparse_symmetric,
    dense_apply,
    is_array,
    is_scipy_sparse,
    is_torch_sparse,
    same_library,
    sparse_apply,
    square_shape,
    vector_length,
)
from ._symmetry import check_square
from ._validation import check_real

__all__ = ["Operator", "as_operator", "square", "shift", "scale"]


class Operator(DeferredChecks):
    """A symmetric linear operator known through its matvec.

    Parameters
    ----------
    apply : callable
        ``v -> H v`` for a 1-D array ``v`` of length ``size``.
    size : int
        The dimension ``n``.
    dtype : optional
        The operator's dtype, when known without applying it (``None`` otherwise).
    name : str
        Used in error messages.
    array : optional
        The dense matrix, when the operator was built from one (used by the
        Frobenius bound and the exact oracles).
    check : bool
        Validate every product (shape, finiteness). One host synchronisation per
        matvec; switch off only for trusted operators on GPUs.

    Attributes
    ----------
    matvecs : int
        Number of calls of the user's matvec so far (shared with derived operators,
        and including the products of every per-call view, see :func:`as_operator`).
        Counted under a lock: exact when threads share the operator.

    Examples
    --------
    >>> import numpy as np
    >>> op = Operator(lambda v: 2 * v, 3, name="twice")
    >>> op.matvec(np.ones(3)), op.matvecs
    (array([2., 2., 2.]), 1)
    """

    def __init__(
        self,
        apply: Callable[[Any], Any],
        size: int,
        *,
        dtype: Any = None,
        name: str = "operator",
        array: Any = None,
        check: bool = True,
    ) -> None:
        if not callable(apply):
            raise TypeError(f"apply must be callable, got {type(apply).__name__}")
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        if not isinstance(name, str):
            raise TypeError(f"name must be a string, got {type(name).__name__}")
        if not isinstance(check, bool):
            raise TypeError(f"check must be True or False, got {check!r}")
        self._setup(apply, int(size), dtype, name, array, check, _Counter(), True, None, None)

    @classmethod
    def _make(cls, apply: Callable[[Any], Any], size: int, *, dtype: Any, name: str,
              array: Any, check: bool, counter: _Counter, counted: bool,
              base: Operator | None = None,
              recipe: Callable[[Operator], Callable[[Any], Any]] | None = None) -> Operator:
        """Build without the public checks: a view or a derived operator (internal)."""
        op = cls.__new__(cls)
        op._setup(apply, size, dtype, name, array, check, counter, counted, base, recipe)
        return op

    def _setup(self, apply, size, dtype, name, array, check, counter, counted, base,
               recipe) -> None:
        self._apply = apply
        self.size = size
        self.dtype = dtype
        self.name = name
        self.array = array
        self.check = check
        self._counter = counter
        self._counted = counted
        # A derived operator (H^2, H + lam I, c H) remembers how it was built from its
        # base, so that a per-call view rebuilds it on a view of the base.
        self._base = base
        self._recipe = recipe
        # A matrix applied by this module (dense ``A @ v``, SciPy sparse ``A @ v``): every
        # entry of ``v`` enters each row with a stored entry in its column, so a NaN/inf
        # in ``v`` reaches ``A v`` (IEEE: 0 * inf and 0 * NaN are NaN) wherever it can
        # change a later product. Set by :func:`as_operator`; see ``_propagates_to``.
        self._propagates = False
        # Whether the symmetry is still to be checked from the first square H (H v)
        # (matfun._symmetry.check_square): cleared by as_operator where it checked the
        # matrix entrywise, and by the first check.
        self._symmetry_pending = True

    @property
    def shape(self) -> tuple[int, int]:
        """``(n, n)``."""
        return (self.size, self.size)

    @property
    def matvecs(self) -> int:
        """Matvecs of the underlying user operator spent so far."""
        return self._counter.count

    def reset_count(self) -> None:
        """Set this operator's matvec counter back to zero (shared with derived ones)."""
        self._counter.reset()

    def matvec(self, v: Any) -> Any:
        """Return ``H v``, validated and cast to the floating dtype of ``v``."""
        shape = getattr(v, "shape", None)
        if shape is None:
            raise TypeError(f"{self.name}: matvec needs an array, got {type(v).__name__}")
        if tuple(shape) != (self.size,):
            raise ValueError(
                f"{self.name}: expected a vector of shape ({self.size},), got {tuple(v.shape)}"
            )
        if not self._counted:
            return self._apply(v)
        self._counter.add()
        # Lazy arrays (Dask): persisted once here, so the finiteness check below and the
        # caller share one evaluation of the user's matvec.
        result = settle(self._apply(v))
        return self._validate(v, result) if self.check else result

    __matmul__ = matvec

    def _validate(self, v: Any, result: Any) -> Any:
        return validated_product(self.name, self.size, v, result)

    def _derived(self, recipe: Callable[[Operator], Callable[[Any], Any]], name: str
                 ) -> Operator:
        """An operator applying ``recipe(self)``, counting on ``self``'s counter."""
        return Operator._make(recipe(self), self.size, dtype=self.dtype, name=name,
                              array=None, check=self.check, counter=self._counter,
                              counted=False, base=self, recipe=recipe)

    def _view(self) -> Operator:
        """The same operator with a fresh counter that also adds to this one's.

        What :func:`as_operator` returns for an :class:`Operator`: a call counts its
        own matvecs (``view.matvecs``) even while other threads use the operator.
        """
        if self._base is not None:
            return self._base._view()._derived(self._recipe, self.name)
        view = Operator._make(self._apply, self.size, dtype=self.dtype, name=self.name,
                              array=self.array, check=self.check,
                              counter=_Counter(parent=self._counter), counted=self._counted)
        view._propagates = self._propagates
        view._symmetry_pending = self._symmetry_pending
        return view

    @property
    def _symmetry_unverified(self) -> bool:
        """Whether the base operator's symmetry is unchecked (a callable, for instance)."""
        return self._root()._symmetry_pending

    def _root(self) -> Operator:
        root = self
        while root._base is not None:
            root = root._base
        return root

    def _check_square(self, v: Any, inner: Any, outer: Any) -> None:
        """Check ``v^H H (H v) = ||H v||^2`` once per operator (a ``ValueError`` if not).

        ``inner = H v`` and ``outer = H (H v)`` of this operator, or of one derived from
        the same base by a shift or a power-of-two scale (both keep symmetry, and the
        test is homogeneous). Only the first call of a solve pays (three reductions,
        one synchronisation); an operator whose matrix :func:`as_operator` checked
        entrywise never does. See :mod:`matfun._symmetry`.
        """
        root = self._root()
        if root._symmetry_pending:
            root._symmetry_pending = False
            check_square(v, inner, outer, root.name)

    def __repr__(self) -> str:
        return f"<Operator {self.name!r} shape={self.shape} matvecs={self.matvecs}>"


def square(op: Operator) -> Operator:
    """``H^2`` as an operator: two matvecs of ``op`` per product, none extra.

    Where ``op``'s symmetry is unchecked (a callable, for instance: see
    :func:`as_operator`), the first product checks ``v^H H (H v) = ||H v||^2``, which
    holds for every ``v`` when ``H`` is symmetric, and raises a ``ValueError`` when the
    two differ by more than ``100 sqrt(eps) (||v|| ||H H v|| + ||H v||^2)``.

    Examples
    --------
    >>> import numpy as np
    >>> H = as_operator(np.diag([1.0, -2.0]))
    >>> square(H).matvec(np.ones(2)), H.matvecs
    (array([1., 4.]), 2)
    """
    _check_operator(op, "op")
    return op._derived(_square_recipe, f"({op.name})^2")


def shift(op: Operator, lam: float) -> Operator:
    """``H + lam I`` as an operator: one matvec of ``op`` per product.

    Examples
    --------
    >>> import numpy as np
    >>> shift(as_operator(np.diag([1.0, -2.0])), 0.5).matvec(np.ones(2))
    array([ 1.5, -1.5])
    """
    _check_operator(op, "op")
    lam = check_real(lam, "lam")
    return op._derived(functools.partial(_shift_recipe, lam), f"{op.name} + {lam:g} I")


def scale(op: Operator, factor: float) -> Operator:
    """``factor * H`` as an operator: one matvec of ``op`` per product.

    Examples
    --------
    >>> import numpy as np
    >>> scale(as_operator(np.diag([1.0, -2.0])), 0.5).matvec(np.ones(2))
    array([ 0.5, -1. ])
    """
    _check_operator(op, "op")
    factor = check_real(factor, "factor")
    return op._derived(functools.partial(_scale_recipe, factor), f"{factor:g} * {op.name}")


def _check_operator(op: Any, name: str) -> None:
    if not isinstance(op, Operator):
        raise TypeError(f"{name} must be an Operator (see as_operator), got "
                        f"{type(op).__name__}")


def _square_recipe(base: Operator) -> Callable[[Any], Any]:
    def apply(v: Any) -> Any:
        inner = base.matvec(v)
        outer = base.matvec(inner)
        base._check_square(v, inner, outer)
        return outer

    return apply


def _shift_recipe(lam: float, base: Operator) -> Callable[[Any], Any]:
    return lambda v: base.matvec(v) + lam * v


def _scale_recipe(factor: float, base: Operator) -> Callable[[Any], Any]:
    return lambda v: factor * base.matvec(v)


def as_operator(
    operator: Any,
    *,
    like: Any = None,
    name: str = "operator",
    check: bool = True,
    check_symmetric: bool = True,
) -> Operator:
    """Normalise ``operator`` into an :class:`Operator`.

    Parameters
    ----------
    operator
        One of: an :class:`Operator` (a per-call view of it is returned: it applies
        the same matvec, counts its own products in ``matvecs``, and adds them to
        the original's ``matvecs`` too, under a lock -- so one operator can be
        shared by threads and each call still sees only its own count); a square 2-D array of any
        array-API library (applied as ``A @ v``); a SciPy sparse matrix or array, or
        a sparse torch tensor;
        an object with a ``matvec`` method (a SciPy ``LinearOperator``, for
        instance -- its ``shape`` and ``dtype`` are read, never probed); a callable
        ``v -> H v``.
    like : array, optional
        The vector the operator will be applied to. Required for a callable or a
        ``matvec`` object without ``shape`` (the size is taken from it); when given,
        its length must match the operator's.
    name : str
        Used in error messages.
    check : bool
        Validate every product (see :class:`Operator`).
    check_symmetric : bool
        For a dense array or a SciPy sparse matrix, check ``A`` is symmetric
        (Hermitian) to within ``sqrt(eps) * max|A|`` -- every function of this library
        assumes it. A callable, a ``matvec`` object, a sparse torch tensor, or a
        matrix given with ``check_symmetric=False`` cannot be checked here without
        extra products; the methods check it from the products they compute anyway
        and raise a ``ValueError`` for an operator that is not symmetric at all
        (Lanczos from every step's coefficients, the series and Chebyshev once, from
        their first ``H (H v)``: see :func:`square`). These are necessary conditions
        on the vectors of the solve, with a threshold of ``100 sqrt(eps)`` relative:
        a small asymmetry, or one invisible from those vectors, passes. The Neumann
        and binomial series of ``H`` itself are not checked: a pair of their products
        gives no test that rounding cannot fool when ``g`` is near an eigenvector of
        a tiny eigenvalue. For a nonsymmetric ``H`` their sums still tend to the
        same functions (``neumann_series`` to ``H^{-1} g``), but their error
        estimates assume symmetry.

    Returns
    -------
    Operator

    Examples
    --------
    >>> import numpy as np
    >>> H = as_operator(np.diag([1.0, -2.0]))
    >>> H.matvec(np.ones(2)), H.matvecs
    (array([ 1., -2.]), 1)
    """
    size = None if like is None else vector_length(like)
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    for flag_name, flag in (("check", check), ("check_symmetric", check_symmetric)):
        if not isinstance(flag, bool):
            raise TypeError(f"{flag_name} must be True or False, got {flag!r}")
    if isinstance(operator, Operator):
        result = operator._view()
    elif is_scipy_sparse(operator):
        result = _from_shaped(operator, lambda v: operator @ v, name, check)
        if check_symmetric:
            check_sparse_symmetric(operator, name)
        result._propagates = True
        result._symmetry_pending = not check_symmetric
    elif hasattr(operator, "matvec"):
        if hasattr(operator, "shape"):
            result = _from_shaped(operator, operator.matvec, name, check)
        elif size is None:
            raise TypeError(f"{name} has a matvec but no shape: pass like=<vector>")
        else:
            result = Operator(
                operator.matvec, size, dtype=getattr(operator, "dtype", None), name=name,
                check=check,
            )
    elif is_torch_sparse(operator):
        result = _from_shaped(operator, sparse_apply(operator), name, check)
    elif is_array(operator):
        if like is not None:
            same_library(operator, like, name)
        result = _from_array(operator, name, check, check_symmetric)
    elif callable(operator):
        if size is None:
            raise TypeError(f"{name} is a callable: pass like=<vector> to give its size")
        result = Operator(operator, size, name=name, check=check)
    else:
        raise TypeError(
            f"{name} must be a square 2-D array, a sparse matrix, an object with "
            f"matvec, or a callable v -> H v; got {type(operator).__name__}"
        )
    if size is not None and result.size != size:
        raise ValueError(
            f"{name} has shape {result.shape} but the vector has length {size}"
        )
    return result


def _from_shaped(operator: Any, apply: Callable, name: str, check: bool) -> Operator:
    size = square_shape(operator, name)
    return Operator(apply, size, dtype=getattr(operator, "dtype", None), name=name, check=check)


def _from_array(array: Any, name: str, check: bool, check_symmetric: bool) -> Operator:
    apply, size, array = dense_apply(array, name, check_symmetric)
    result = Operator(apply, size, dtype=array.dtype, name=name, array=array, check=check)
    result._propagates = True
    result._symmetry_pending = not check_symmetric
    return result

"""Products whose finiteness check the caller owes: one pass over ``n`` fewer per matvec.

Private helper of :mod:`matfun.operators`. :meth:`matfun.Operator.matvec` checks every
product for NaN/inf, a pass over the vector. A caller that computes a reduction of the
product anyway (the series' norm of the next term, Chebyshev's dot product) can prove
the product finite from it, since any NaN/inf entry reaches the reduction. It applies
the operator by :meth:`DeferredChecks._product` (or ``_square_deferred`` for ``H (H v)``)
and, before it acts on a non-finite reduction, calls the returned confirmation: the
same error as :meth:`~matfun.Operator.matvec` then, and the user's matvec never applied
again after a bad product (``tests/matfun/test_deferred_checks.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ._backend import all_finite, namespace, settle
from ._operator_checks import raise_non_finite

__all__ = ["DeferredChecks"]


class DeferredChecks:
    """The deferred-check products of :class:`matfun.Operator` (a mixin).

    Uses the operator's ``_apply``, ``_counter``, ``_counted``, ``check``, ``name``,
    ``matvec``, ``_validate``, ``_check_square`` and ``_symmetry_pending`` (the first
    square checks symmetry, see :mod:`matfun._symmetry`), and ``_propagates`` (a matrix
    this library applies, whose products carry a NaN/inf of the vector into the result
    wherever it matters).

    Examples
    --------
    >>> import numpy as np
    >>> from matfun import as_operator
    >>> H = as_operator(np.diag([1.0, 2.0]))
    >>> product, confirm = H._square_deferred(np.ones(2))
    >>> product, confirm(), H.matvecs
    (array([1., 4.]), None, 2)
    """

    def _product(self, v: Any) -> Any:
        """``H v`` like :meth:`matvec`, its finiteness check owed by the caller (internal).

        For a vector ``v`` known to be finite and of the right shape; every other check
        of :meth:`matvec` runs (a derived operator, whose base checks each product,
        is applied as by :meth:`matvec`). The caller must prove the product finite from a
        reduction it computes anyway (any NaN/inf entry reaches it), and call
        :meth:`_confirm` with ``(v, result)`` before it acts on a non-finite reduction:
        the same error as :meth:`matvec` then, and nothing done with the product first.
        """
        if not self._counted:
            return self.matvec(v)  # a derived operator: its base checks every product
        self._counter.add()
        result = settle(self._apply(v))
        if not self.check or (type(result) is type(v) and result.shape == v.shape
                              and result.dtype == v.dtype):
            return result
        return self._validate(v, result)  # the rare cases: every check, finiteness too

    def _confirm(self, v: Any, result: Any) -> None:
        """Raise :meth:`matvec`'s error if the product ``result = H v`` is not finite."""
        if self._counted and self.check and not all_finite(namespace(result), result):
            raise_non_finite(self.name, v)

    def _square_deferred(self, v: Any) -> tuple[Any, Callable[[], None]]:
        """``(H (H v), confirm)`` with the finiteness checks owed (internal).

        ``v`` must be finite. ``confirm()`` raises the error :meth:`matvec` would have
        raised first. ``H v`` is checked at once (``H`` never applied to a NaN) unless
        the operator is a matrix this library applies (``_propagates``): then a NaN/inf
        in ``H v`` reaches ``H (H v)`` wherever it matters (a symmetric matrix reads
        entry ``j`` of ``H v`` in every row where row ``j``, which made it, has a stored
        entry; an unread entry changes nothing), so the caller's proof that ``H (H v)``
        is finite covers both products, one pass fewer. Its error is then the one for
        the outer product of a finite vector: :meth:`matvec` on ``v`` (finite) and on
        ``H v`` gives "matvec returned NaN or inf" for whichever product failed first,
        since ``H v`` is blamed only when it is itself finite. So ``confirm`` needs
        neither ``H v`` nor an order, and ``H v`` is freed as soon as it is used (the
        caller's next vector takes its cache-warm memory). The first call on an operator
        whose symmetry is unchecked (``_symmetry_pending``) takes the route with ``H v``
        checked and tests ``v^H H (H v) = ||H v||^2`` (:meth:`_check_square`).
        """
        if not self._propagates or self._symmetry_pending:
            inner = self.matvec(v)
            outer = self._product(inner)
            if self._symmetry_pending:  # once, where as_operator did not check
                self._check_square(v, inner, outer)
            return outer, functools.partial(self._confirm, inner, outer)
        outer = self._product(self._product(v))
        return outer, functools.partial(self._confirm, v, outer)

"""The matvec counter an :class:`~matfun.Operator` and its views share.

Private helper of :mod:`matfun.operators`. Every product of the user's matvec adds one
to the counter of the operator that applied it and to each counter it was opened from,
under a lock, so a count is exact when threads share an operator.
"""

from __future__ import annotations

import threading

__all__ = ["Counter"]


class Counter:
    """A thread-safe matvec count that also adds to the count it was opened from.

    A per-call view of an operator (see :func:`matfun.as_operator`) gets its own counter,
    whose ``parent`` is the operator's: the call reads its own matvecs while the
    operator's total still sees every product, however many threads share it.

    Examples
    --------
    >>> total = Counter()
    >>> view = Counter(parent=total)
    >>> view.add(); view.add(2)
    >>> view.count, total.count
    (3, 3)
    """

    __slots__ = ("count", "parent", "_lock")

    def __init__(self, parent: Counter | None = None) -> None:
        self.count = 0
        self.parent = parent
        self._lock = threading.Lock()

    def add(self, k: int = 1) -> None:
        """Add ``k`` to this count and to every count above it."""
        counter: Counter | None = self
        while counter is not None:
            with counter._lock:  # `+=` on an attribute is not atomic across threads
                counter.count += k
            counter = counter.parent

    def reset(self) -> None:
        """Set this count (not its parents') back to zero."""
        with self._lock:
            self.count = 0

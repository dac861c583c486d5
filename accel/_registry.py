"""Streaming accelerators by name: :func:`accelerator` and :func:`methods`.

Wynn's and Sablonnière's epsilon algorithms stream natively (O(N n) memory).
Every other method streams through a window over its batch function: the window
holds the terms that method's ``order`` reads and three more (for the error check
of :mod:`accel._honest`), so the streaming result after any push equals the
batch function on all the terms pushed.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from ._error_checks import PREFIX_RUNS as PREFIX_TERMS
from ._result import Accelerator
from ._sequence import IndexedWindow, check_order
from ._window import Windowed

__all__ = ["accelerator", "methods", "window_size"]

_NATIVE = {
    "shanks": ("epsilon_stream", "ShanksAccelerator"),
    "sablonniere": ("epsilon_stream", "SablonniereAccelerator"),
}

# name -> (module, batch function, terms read by order N, needs the absolute index)
_WINDOWED: dict[str, tuple[str, str, Callable[[int, dict], int], bool]] = {
    "levin": ("levin", "levin", lambda N, options: N + 2 + (
        options.get("variant", "t") in ("v", "t_modified")), True),
    "pade": ("pade", "pade", lambda N, options: 2 * N + 1, False),
    "aitken": ("aitken", "aitken", lambda N, options: 2 * N + 1, False),
    "richardson": ("richardson", "richardson", lambda N, options: N + 1, True),
    "theta": ("theta", "theta", lambda N, options: 3 * N + 1, False),
    "rho": ("rho", "rho", lambda N, options: 2 * N + 1, False),
    "topological_epsilon": ("topological", "topological_epsilon",
                            lambda N, options: 2 * N + 1, False),
    "mpe": ("polynomial", "mpe", lambda N, options: N + 2, False),
    "rre": ("polynomial", "rre", lambda N, options: N + 2, False),
}


_METHODS = ("shanks", "sablonniere", "levin", "pade", "aitken", "richardson", "theta", "rho",
            "topological_epsilon", "mpe", "rre")


def methods() -> tuple[str, ...]:
    """Names that :func:`accelerator` accepts.

    Examples
    --------
    >>> from accel import methods
    >>> methods()[:3]
    ('shanks', 'sablonniere', 'levin')
    """
    return _METHODS


def window_size(method: str, order: int, **options: Any) -> int:
    """Number of newest terms the streaming form of ``method`` keeps at ``order``.

    ``shanks``, ``sablonniere``, ``pade``, ``aitken``, ``rho``,
    ``topological_epsilon``: ``2N + 1``; ``levin``: ``N + 2`` (``N + 3`` for
    ``variant="v"`` and ``"t_modified"``, which read ``a_{n+1}``; one term beyond
    the ``N + 1`` transformed ones forms the first difference); ``richardson``:
    ``N + 1``; ``theta``: ``3N + 1``; ``mpe``, ``rre``: ``N + 2``; plus three
    for every method: the error check of :mod:`accel._honest` repeats the
    transform without the newest one, two and three terms.
    """
    name = _check_method(method)
    order = _check_stream_order(order)
    if name in _NATIVE:
        return 2 * order + 1 + PREFIX_TERMS
    return _WINDOWED[name][2](order, options) + PREFIX_TERMS


def accelerator(method: str, *, order: int = 1, **options: Any) -> Accelerator:
    """A fresh streaming accelerator for ``method`` at ``order``.

    Parameters
    ----------
    method : str
        One of :func:`methods`.
    order : int
        The method's order ``N`` (its batch function's ``order``); the terms it
        keeps are listed in :func:`window_size`.
    **options
        Passed to the method, e.g. ``variant="u"`` for Levin or
        ``inverse="elementwise"`` for the epsilon algorithms.

    Returns
    -------
    Accelerator
        Feed terms with ``push``; ``result()`` gives the estimate, error and
        status for the terms so far (the last term with status
        ``INSUFFICIENT_TERMS`` until the method can transform). Attributes
        ``name``, ``order`` and ``terms`` (terms pushed).

    Raises
    ------
    ValueError
        Unknown ``method`` (the message lists the valid names), ``order < 1``
        or a bad option value.
    TypeError
        ``order`` not an integer, or an option the method does not take.

    Examples
    --------
    >>> import numpy as np
    >>> from accel import accelerator
    >>> acc = accelerator("levin", order=4, variant="t")
    >>> for k in range(8):
    ...     acc.push(np.asarray(sum((-1.0) ** i / (i + 1) for i in range(k + 1))))
    >>> bool(abs(acc.estimate - np.log(2)) < 1e-6), acc.terms, acc.order
    (True, 8, 4)
    """
    name = _check_method(method)
    order = _check_stream_order(order)
    if name in _NATIVE:
        module, attribute = _NATIVE[name]
        cls = getattr(importlib.import_module(f"accel.{module}"), attribute)
        return cls(order, **options)
    module, attribute, terms_read, indexed = _WINDOWED[name]
    transform = getattr(importlib.import_module(f"accel.{module}"), attribute)
    _check_options(name, transform, order, options)
    window_class = IndexedWindow if indexed else Windowed
    stream = window_class(transform, terms_read(order, options) + PREFIX_TERMS, name=name,
                          order=order, **options)
    stream.order = order
    return stream


def _check_method(method: Any) -> str:
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)}; got {method!r}")
    return method


def _check_stream_order(order: Any) -> int:
    if order is None:
        raise TypeError("order must be an integer for a streaming accelerator, got None")
    return check_order(order)


def _check_options(name: str, transform: Callable[..., Any], order: int,
                   options: dict[str, Any]) -> None:
    """Reject unknown options now, not at the first ``result()``."""
    reserved = {"full_output", "first_index"} & set(options)
    if reserved:
        raise TypeError(f"{name}: {', '.join(sorted(reserved))} is set by the accelerator")
    try:
        inspect.signature(transform).bind(None, order=order, **options)
    except TypeError as err:
        raise TypeError(f"{name} does not take these options {sorted(options)}: {err}") from None
    if name == "levin":
        from .levin import REMAINDERS, check_levin_options

        check_levin_options(options.get("variant", "t"), options.get("beta", 1.0))
        if options.get("remainder", "componentwise") not in REMAINDERS:
            raise ValueError(f"remainder must be one of {REMAINDERS}, got "
                             f"{options['remainder']!r}")

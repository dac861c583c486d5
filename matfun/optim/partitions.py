r"""Partitions of the parameter vector for :func:`~matfun.optim.grouped_newton`.

Grouped Newton gives one learning rate to each group of a partition of
``range(p)``; these helpers build the usual ones as tuples of contiguous slices, in
the flat order of the parameters (tensors concatenated, each flattened row-major):

* :func:`trivial` -- one group: Cauchy's steepest descent (seed 001 appendix C);
* :func:`discrete` -- one group per coordinate: Newton's method;
* :func:`per_tensor` -- one group per tensor (seed 001 section 5: each weight
  matrix and each bias vector);
* :func:`per_layer` -- the tensors of a layer together (weights and bias);
* :func:`chunks` -- fixed-size contiguous chunks.

Any partition can be passed as index arrays too; appendix G's "chunks of layers,
split by role" is, for instance, the concatenation of the weight slices of a chunk.

References
----------
Wolinski (2024), *Adapting Newton's method to neural networks through a summary of
higher-order derivatives*, section 4 and appendices C and G.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from .._validation import positive_integer

__all__ = ["chunks", "discrete", "per_layer", "per_tensor", "trivial"]


def trivial(size: int) -> tuple[slice, ...]:
    """One group holding all ``size`` parameters.

    Examples
    --------
    >>> trivial(3)
    (slice(0, 3, None),)
    """
    return (slice(0, positive_integer(size, "size")),)


def discrete(size: int) -> tuple[slice, ...]:
    """``size`` groups of one parameter each.

    Examples
    --------
    >>> discrete(2)
    (slice(0, 1, None), slice(1, 2, None))
    """
    return tuple(slice(i, i + 1) for i in range(positive_integer(size, "size")))


def chunks(size: int, chunk: int) -> tuple[slice, ...]:
    """Contiguous groups of ``chunk`` parameters; the last holds the remainder.

    Examples
    --------
    >>> chunks(5, 2)
    (slice(0, 2, None), slice(2, 4, None), slice(4, 5, None))
    """
    size = positive_integer(size, "size")
    chunk = positive_integer(chunk, "chunk")
    return tuple(slice(start, min(start + chunk, size)) for start in range(0, size, chunk))


def per_tensor(shapes: Sequence[Sequence[int]]) -> tuple[slice, ...]:
    """One group per tensor, the tensors of ``shapes`` concatenated in this order.

    Parameters
    ----------
    shapes : sequence of shapes
        Each a sequence of non-negative integers (``()`` is a scalar, one parameter;
        an integer ``n`` reads as ``(n,)``); every tensor must hold at least one
        parameter.

    Examples
    --------
    A layer ``3 -> 2`` (weight ``(2, 3)``, bias ``(2,)``) then ``2 -> 1``:

    >>> per_tensor([(2, 3), (2,), (1, 2), (1,)])
    (slice(0, 6, None), slice(6, 8, None), slice(8, 10, None), slice(10, 11, None))
    """
    return _contiguous([[shape] for shape in _shape_list(shapes, "shapes")], "shapes")


def per_layer(layers: Sequence[Sequence[Sequence[int]]]) -> tuple[slice, ...]:
    """One group per layer: the consecutive tensors of each layer (weight and bias).

    Parameters
    ----------
    layers : sequence of sequences of shapes
        ``layers[l]`` lists the shapes of layer ``l``'s tensors, in flat order; the
        layers are concatenated in this order. A layer must hold at least one parameter.

    Examples
    --------
    >>> per_layer([[(2, 3), (2,)], [(1, 2), (1,)]])
    (slice(0, 8, None), slice(8, 11, None))
    """
    layers = [_shape_list(layer, f"layers[{index}]")
              for index, layer in enumerate(_shape_list(layers, "layers"))]
    return _contiguous(layers, "layers")


def _contiguous(layers: list, name: str) -> tuple[slice, ...]:
    """Consecutive slices, one per entry of ``layers`` (each a list of shapes)."""
    groups = []
    start = 0
    for index, layer in enumerate(layers):
        label = f"{name}[{index}]"
        size = sum(_size(shape, label if name == "shapes" else f"{label}[{j}]")
                   for j, shape in enumerate(layer))
        if size == 0:
            raise ValueError(f"{label} holds no parameter (an empty group)")
        groups.append(slice(start, start + size))
        start += size
    return tuple(groups)


def _shape_list(value: Any, name: str) -> list:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a sequence of shapes, got {value!r}")
    if len(value) == 0:
        raise ValueError(f"{name} must not be empty")
    return list(value)


def _size(shape: Any, name: str) -> int:
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, str | bytes) or not isinstance(shape, Sequence):
        raise TypeError(f"{name} must be a shape (a sequence of integers), got {shape!r}")
    for extent in shape:
        if isinstance(extent, bool) or not isinstance(extent, numbers.Integral):
            raise TypeError(f"{name} must be a shape of integers, got {shape!r}")
        if extent < 0:
            raise ValueError(f"{name} must be a shape of non-negative integers, got {shape!r}")
    return math.prod(int(extent) for extent in shape)

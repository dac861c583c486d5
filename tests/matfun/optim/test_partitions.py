"""Partition helpers: each partitions range(p), in flat order, and grouped_newton takes it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matfun.optim import grouped_newton, partitions
from matfun.optim.problems import mlp_regression

shapes = st.lists(st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple),
                  min_size=1, max_size=6)


def assert_partition(groups, size):
    """Every index of range(size) once, in increasing order, in contiguous slices."""
    assert all(isinstance(g, slice) and g.step is None for g in groups)
    covered = np.concatenate([np.arange(size)[g] for g in groups])
    np.testing.assert_array_equal(covered, np.arange(size))
    assert all(np.arange(size)[g].size > 0 for g in groups)
    grouped_newton(groups=groups).init(np.zeros(size))  # the optimiser's own check


@settings(max_examples=30)
@given(shapes=shapes)
def test_per_tensor_has_one_slice_per_tensor(shapes):
    groups = partitions.per_tensor(shapes)
    sizes = [math.prod(shape) for shape in shapes]
    assert [g.stop - g.start for g in groups] == sizes
    assert_partition(groups, sum(sizes))


@settings(max_examples=30)
@given(layers=st.lists(shapes, min_size=1, max_size=4))
def test_per_layer_joins_the_tensors_of_a_layer(layers):
    groups = partitions.per_layer(layers)
    sizes = [sum(math.prod(shape) for shape in layer) for layer in layers]
    assert [g.stop - g.start for g in groups] == sizes
    assert_partition(groups, sum(sizes))
    # A layer of one tensor each is per_tensor.
    flat = [shape for layer in layers for shape in layer]
    assert partitions.per_layer([[s] for s in flat]) == partitions.per_tensor(flat)


@settings(max_examples=30)
@given(size=st.integers(1, 40), chunk=st.integers(1, 50))
def test_chunks(size, chunk):
    groups = partitions.chunks(size, chunk)
    assert len(groups) == -(-size // chunk)
    assert all(g.stop - g.start == chunk for g in groups[:-1])
    assert_partition(groups, size)


@pytest.mark.parametrize("size", [1, 2, 7])
def test_trivial_and_discrete(size):
    assert partitions.trivial(size) == (slice(0, size),)
    assert len(partitions.discrete(size)) == size
    assert_partition(partitions.trivial(size), size)
    assert_partition(partitions.discrete(size), size)


def test_per_tensor_matches_the_mlp_problems_own_groups():
    # mlp_regression lays out, per layer, the (out, in) weight then the bias, and
    # groups them one per tensor: the same slices.
    problem = mlp_regression(depth=2, width=4, inputs=3, samples=8)
    widths = [3, 4, 4, 1]
    tensors = [s for a, b in zip(widths, widths[1:], strict=False) for s in ((b, a), (b,))]
    assert partitions.per_tensor(tensors) == tuple(problem.groups)
    layers = partitions.per_layer([[(b, a), (b,)] for a, b in
                                   zip(widths, widths[1:], strict=False)])
    assert [g.stop - g.start for g in layers] == [16, 20, 5]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: partitions.trivial(0), ValueError, "size must be a positive integer"),
        (lambda: partitions.discrete(2.0), ValueError, "size must be a positive integer"),
        (lambda: partitions.chunks(4, 0), ValueError, "chunk must be a positive integer"),
        (lambda: partitions.per_tensor("ab"), TypeError, "shapes must be a sequence"),
        (lambda: partitions.per_tensor([]), ValueError, "shapes must not be empty"),
        (lambda: partitions.per_tensor([(2,), (0, 3)]), ValueError,
         "shapes\\[1\\] holds no parameter"),
        (lambda: partitions.per_tensor([(2, -1)]), ValueError, "non-negative integers"),
        (lambda: partitions.per_tensor([(2, 1.5)]), TypeError, "shape of integers"),
        (lambda: partitions.per_tensor([None]), TypeError, "shapes\\[0\\] must be a shape"),
        (lambda: partitions.per_layer([[(2,)], []]), ValueError, "layers\\[1\\] must not be"),
        (lambda: partitions.per_layer([5]), TypeError, "layers\\[0\\] must be a sequence"),
        (lambda: partitions.per_layer([[(2,)], [(0,), "x"]]), TypeError, "layers\\[1\\]\\[1\\]"),
    ],
    ids=["trivial", "discrete", "chunk", "string", "empty", "empty-tensor", "negative",
         "float-extent", "none", "empty-layer", "layer-int", "layer-shape"],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()

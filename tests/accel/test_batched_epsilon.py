"""accel._batched_epsilon against the streaming table it stands for.

The batched table performs the stream's operations on the same numbers (elementwise
arithmetic on stacked rows, the difference norms by the stream's own dot product of
a fresh vector), so its estimate must equal ``unchecked_result().estimate`` to the
last bit wherever it answers; where the stream takes another route it must answer
``None``. The stream is the reference (itself tested against the batch transforms
of accel.epsilon, tests/accel/test_epsilon_stream.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import accel
from accel._batched_epsilon import supports, unchecked_estimate


def _stream_estimate(method, order, terms):
    stream = accel.accelerator(method, order=order)
    for term in terms:
        stream.push(term)
    return stream.unchecked_result().estimate


def _vector_terms(rng, n, count, dtype, ratio=0.7):
    limit = rng.standard_normal(n)
    rates = rng.uniform(-ratio, ratio, n)
    partial = np.zeros(n)
    terms = []
    for k in range(count):
        partial = partial + rng.standard_normal(n) * 0.1 + rates**k
        terms.append((partial + limit).astype(dtype))
    return terms


@given(seed=st.integers(0, 2**16), n=st.integers(1, 300), order=st.integers(1, 3),
       extra=st.integers(0, 6), method=st.sampled_from(["sablonniere", "shanks"]),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_equals_stream_numpy(seed, n, order, extra, method, dtype):
    rng = np.random.default_rng(seed)
    terms = _vector_terms(rng, n, 2 * order + 1 + extra, dtype)
    estimate = unchecked_estimate(accel.accelerator(method, order=order), terms)
    assert estimate is not None  # generic data: every entry defined
    np.testing.assert_array_equal(estimate, _stream_estimate(method, order, terms))


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_equals_stream_torch(order, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(order)
    for n in (1, 7, 30, 219, 2410):  # odd lengths: rows of a matrix are not aligned
        terms = [torch.from_numpy(t) for t in
                 _vector_terms(rng, n, 2 * order + 5, getattr(np, dtype))]
        for method in ("sablonniere", "shanks"):
            estimate = unchecked_estimate(accel.accelerator(method, order=order), terms)
            assert estimate is not None
            assert torch.equal(estimate, _stream_estimate(method, order, terms))


def test_declines_where_the_stream_takes_another_route():
    stream = accel.accelerator("sablonniere", order=1)
    rng = np.random.default_rng(0)
    # fewer than 2N + 1 terms, scalars, every term equal
    assert unchecked_estimate(stream, _vector_terms(rng, 5, 2, np.float64)) is None
    assert unchecked_estimate(stream, [np.asarray(1.0 / (k + 1)) for k in range(5)]) is None
    assert unchecked_estimate(stream, [np.ones(4)] * 5) is None
    # converged to rounding: the newest differences are near zero, the stream cuts
    # entries (its bookkeeping route): no answer, or the stream's own
    terms = [np.full(6, 1.0) + 1e-17 * k for k in range(5)] + [np.full(6, 1.0)]
    estimate = unchecked_estimate(stream, terms)
    assert estimate is None or np.array_equal(estimate, _stream_estimate("sablonniere", 1,
                                                                         terms))
    # a non-finite term
    bad = _vector_terms(rng, 5, 5, np.float64)
    bad[2] = bad[2] * np.inf
    assert unchecked_estimate(stream, bad) is None


def test_breakdown_declined():
    # Two equal newest differences in one component block the inverse (near zero):
    # the stream cuts that entry; the batched table must not pretend it is defined.
    base = np.array([1.0, 2.0, 3.0])
    terms = [base + 0.5**k * np.array([1.0, 0.0, 0.0]) for k in range(4)]
    terms += [terms[-1].copy(), terms[-1].copy(), terms[-1].copy()]
    assert unchecked_estimate(accel.accelerator("shanks", order=1), terms) is None


def test_supports_only_samelson_epsilon_streams():
    assert supports(accel.accelerator("sablonniere", order=2))
    assert supports(accel.accelerator("shanks", order=1))
    assert not supports(accel.accelerator("shanks", order=1, inverse="elementwise"))
    assert not supports(accel.accelerator("levin", order=2))
    with pytest.raises(TypeError, match="Samelson"):
        unchecked_estimate(accel.accelerator("aitken", order=1), [np.ones(3)] * 3)

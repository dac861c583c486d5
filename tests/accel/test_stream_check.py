"""The streams' checked result: the batch function's AccelResult to the last bit, computed once."""

import numpy as np
import pytest

import accel
from accel.epsilon import sablonniere, shanks
from accel.testing import classic_sequences, sequence_terms

BATCH = {"shanks": shanks, "sablonniere": sablonniere}


def _vector_cases():
    """Vector sequences of the classic set, plus scalar ones stacked into vectors."""
    for sequence in classic_sequences("vector"):
        yield sequence.name, sequence_terms(sequence)
    rng = np.random.default_rng(5)
    for sequence in classic_sequences()[:12]:
        scalars = sequence_terms(sequence)
        if scalars.ndim == 1:
            # three copies with different offsets and one with a different scale:
            # a vector sequence whose error is not one-dimensional
            columns = [scalars, scalars + 1.0, 2.0 * scalars, rng.normal() * scalars]
            yield sequence.name + " (stacked)", np.stack(columns, axis=1)


def _same(streamed, expected):
    np.testing.assert_array_equal(np.asarray(streamed.estimate), np.asarray(expected.estimate))
    assert (streamed.error, streamed.status, streamed.order, streamed.terms) == (
        expected.error, expected.status, expected.order, expected.terms)
    assert streamed.estimate.dtype == expected.estimate.dtype


@pytest.mark.parametrize("method", sorted(BATCH))
@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("inverse", ["samelson", "elementwise"])
def test_checked_result_is_the_batch_result_on_the_classic_set(method, order, inverse):
    # The cheap route of accel._stream_check computes the six transforms of the
    # batch wrapper by other means; every field must still be the batch's, after
    # every push (the batch function is the reference: same operations, same bits).
    for _, terms in _vector_cases():
        stream = accel.accelerator(method, order=order, inverse=inverse)
        for m in range(terms.shape[0]):
            stream.push(terms[m])
            expected = BATCH[method](terms[:m + 1], order=order, inverse=inverse,
                                     full_output=True)
            _same(stream.result(), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.complex128, np.float16])
@pytest.mark.parametrize("side", [-1, 0, 1])
def test_checked_result_other_dtypes_and_magnitudes(dtype, side):
    rng = np.random.default_rng(1)
    steps = rng.normal(size=(12, 5)) * 0.6 ** np.arange(12)[:, None]
    if dtype is np.complex128:
        steps = steps + 1j * rng.normal(size=(12, 5)) * 0.5 ** np.arange(12)[:, None]
    # near the ends of the dtype's range (and a non-power-of-two factor in between)
    scale = 2.0 ** (side * (np.finfo(dtype).maxexp - 6)) if side else 3.0
    terms = (np.cumsum(steps, axis=0) * scale).astype(dtype)
    assert np.all(np.isfinite(terms))
    for method in BATCH:
        stream = accel.accelerator(method, order=2)
        for m in range(terms.shape[0]):
            stream.push(terms[m])
            _same(stream.result(), BATCH[method](terms[:m + 1], order=2, full_output=True))


def test_result_is_computed_once_per_push_and_leaves_the_stream_intact():
    terms = np.cumsum(0.5 ** np.arange(10)[:, None] * np.array([[1.0, -2.0, 0.5]]), axis=0)
    stream = accel.accelerator("sablonniere", order=2)
    for m in range(terms.shape[0]):
        stream.push(terms[m])
        first = stream.result()
        assert stream.result() is first  # cached until the next push
        _same(first, sablonniere(terms[:m + 1], order=2, full_output=True))
    # reading results did not disturb the table: a second stream without reads agrees
    quiet = accel.accelerator("sablonniere", order=2)
    quiet.extend(terms)
    np.testing.assert_array_equal(quiet.raw_result().estimate, stream.raw_result().estimate)
    np.testing.assert_array_equal(terms[-1], np.cumsum(
        0.5 ** np.arange(10)[:, None] * np.array([[1.0, -2.0, 0.5]]), axis=0)[-1])


def test_pushed_terms_are_never_written():
    # The stream recycles its own buffers in place; the caller's terms stay untouched.
    rng = np.random.default_rng(3)
    terms = np.cumsum(rng.normal(size=(14, 50)) * 0.7 ** np.arange(14)[:, None], axis=0)
    copies = terms.copy()
    for method in BATCH:
        stream = accel.accelerator(method, order=3)
        for m in range(terms.shape[0]):
            stream.push(terms[m])
            stream.result()
            stream.raw_result()
    np.testing.assert_array_equal(terms, copies)

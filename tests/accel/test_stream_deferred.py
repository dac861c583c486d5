"""Streaming epsilon tables: built when read (the same table), and the unchecked estimate."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accel.epsilon_stream import SablonniereAccelerator, ShanksAccelerator
from tests.accel.test_epsilon_stream import sequences

CLASSES = [ShanksAccelerator, SablonniereAccelerator]


def _same_raw(late, eager):
    a, b = late.raw_result(), eager.raw_result()
    np.testing.assert_array_equal(np.asarray(a.estimate), np.asarray(b.estimate))
    assert (a.error, a.status, a.order, a.terms) == (b.error, b.status, b.order, b.terms) \
        or (a.error != a.error and b.error != b.error)  # NaN errors compare unequal


@given(sequences(), st.integers(1, 4), st.sampled_from(["samelson", "elementwise"]),
       st.lists(st.booleans(), min_size=12, max_size=12))
def test_table_read_late_equals_table_read_after_every_push(terms, order, inverse, reads):
    # The reference reads the table after every push (each term entered at once); the
    # other reads it only where `reads` says (a few pending terms entered in turn, or,
    # with more than 2N + 1 pending, the newest 2N + 1 entered into an empty table).
    for cls in CLASSES:
        eager, late = cls(order, inverse=inverse), cls(order, inverse=inverse)
        for m in range(len(terms)):
            eager.push(terms[m])
            late.push(terms[m])
            eager.raw_result()
            if reads[m] or m == len(terms) - 1:
                _same_raw(late, eager)
                assert late.live_vectors == eager.live_vectors


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("scale", [2.0 ** -300, 1.0, 2.0 ** 300])
def test_late_read_with_breakdowns_and_any_magnitude(cls, scale):
    # Repeated terms (exact breakdowns: zero differences) and terms far from 1 (the
    # table's power-of-two units), read after 13 pushes without a read in between.
    rng = np.random.default_rng(7)
    steps = rng.normal(size=(13, 4)) * 0.5 ** np.arange(13)[:, None]
    steps[4] = steps[5] = steps[9] = 0.0
    steps[7, :2] = 0.0
    terms = np.cumsum(steps, axis=0) * scale
    for order in (1, 2, 3):
        for inverse in ("samelson", "elementwise"):
            eager, late = cls(order, inverse=inverse), cls(order, inverse=inverse)
            for term in terms:
                eager.push(term)
                eager.raw_result()
                late.push(term)
            _same_raw(late, eager)
            assert late.peak_vectors <= 2 * order + 2


def test_result_alone_builds_no_table():
    # result() reruns the batch transform on the window: the stream's own table is
    # only built when raw_result (or the vector counts) ask for it.
    stream = SablonniereAccelerator(2)
    for k in range(9):
        stream.push(np.array([1.0, 2.0]) * (1.0 + 0.5 ** k))
        stream.result()
    assert stream._table.entries == [] and stream._pending == 9
    assert stream.live_vectors == 5 and stream._pending == 0


@given(sequences(), st.integers(1, 4), st.sampled_from(["samelson", "elementwise"]))
def test_unchecked_result_has_the_checked_estimate(terms, order, inverse):
    # One table of the newest 2N + 1 centred, rescaled terms instead of the checked
    # route's three: the estimate is the checked one to the last bit (the same entries).
    for cls in CLASSES:
        stream = cls(order, inverse=inverse)
        for m in range(len(terms)):
            stream.push(terms[m])
            quick, checked = stream.unchecked_result(), stream.result()
            np.testing.assert_array_equal(quick.estimate, checked.estimate)
            assert quick.estimate.dtype == checked.estimate.dtype
            assert (quick.order, quick.terms) == (checked.order, min(checked.terms,
                                                                      2 * order + 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128, np.float16])
@pytest.mark.parametrize("scale", [2.0 ** -120, 3.0, 2.0 ** 120])
def test_unchecked_result_other_dtypes_and_magnitudes(dtype, scale):
    rng = np.random.default_rng(2)
    steps = rng.normal(size=(11, 5)) * 0.6 ** np.arange(11)[:, None]
    if dtype is np.complex128:
        steps = steps + 1j * rng.normal(size=(11, 5)) * 0.5 ** np.arange(11)[:, None]
    if dtype is np.float16:
        scale = min(scale, 3.0)
    terms = (np.cumsum(steps, axis=0) * scale).astype(dtype)
    terms[6] = terms[5]  # an exact repeat: a breakdown in the table
    for cls in CLASSES:
        stream = cls(2)
        for term in terms:
            stream.push(term)
            np.testing.assert_array_equal(stream.unchecked_result().estimate,
                                          stream.result().estimate)

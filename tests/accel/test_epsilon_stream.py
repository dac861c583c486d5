"""Streaming Wynn / Sablonnière: equal to the batch form, lean memory, mpmath reference."""

import copy
import gc
import math
import tracemalloc

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from accel._result import Accelerator, Status
from accel.epsilon import sablonniere, shanks
from accel.epsilon_stream import SablonniereAccelerator, ShanksAccelerator
from tests._helpers import to_numpy, xp_assert_close
from tests.accel.test_epsilon import running_error_bound

EPS = np.finfo(np.float64).eps
PAIRS = [(ShanksAccelerator, shanks), (SablonniereAccelerator, sablonniere)]


def mp_full_table(terms, order, weight, dps=50):
    """Reference: the whole weighted epsilon table of the newest 2N + 1 terms, in mpmath.

    Column by column, every entry kept, straight from
    e_c^(j) = e_{c-2}^(j+1) + w_c (e_{c-1}^(j+1) - e_{c-1}^(j))^(-1), with the
    Samelson inverse v / (v . v) for vectors. Returns e_{2N}^(0) as floats.
    """
    with mpmath.workdps(dps):
        window = [[mpmath.mpf(float(x)) for x in np.atleast_1d(t)]
                  for t in terms[len(terms) - (2 * order + 1):]]
        table = [[[mpmath.mpf(0)] * len(window[0])] * (len(window) + 1), window]
        for column in range(1, 2 * order + 1):
            previous, before = table[-1], table[-2]
            new = []
            for j in range(len(previous) - 1):
                difference = [a - b for a, b in zip(previous[j + 1], previous[j], strict=True)]
                square = mpmath.fsum(x * x for x in difference)
                new.append([base + weight(column) * x / square
                            for base, x in zip(before[j + 1], difference, strict=True)])
            table.append(new)
        return np.array([float(x) for x in table[-1][0]])


def _stream(cls, terms, **options):
    accelerator = cls(**options)
    for term in terms:
        accelerator.push(term)
    return accelerator


@st.composite
def sequences(draw):
    m = draw(st.integers(1, 12))
    n = draw(st.sampled_from([None, 1, 3]))
    shape = (m,) if n is None else (m, n)
    values = draw(hnp.arrays(np.float64, shape, elements=st.floats(-4, 4, width=64)))
    # a converging part, so that the table is not pure noise, plus the drawn values
    decay = 0.7 ** np.arange(m).reshape((m,) + (1,) * (len(shape) - 1))
    return values * decay + np.cumsum(values * decay, axis=0)


@given(sequences(), st.integers(1, 4), st.sampled_from(["samelson", "elementwise"]))
def test_streaming_equals_batch_after_every_push(terms, order, inverse):
    for cls, batch in PAIRS:
        accelerator = cls(order, inverse=inverse)
        for m in range(len(terms)):
            accelerator.push(terms[m])
            streamed = accelerator.result()
            expected = batch(terms[:m + 1], order=order, inverse=inverse, full_output=True)
            # the same operations on the same entries: equal to the last bit
            np.testing.assert_array_equal(streamed.estimate, expected.estimate)
            assert (streamed.status, streamed.order, streamed.terms) == (
                expected.status, expected.order, expected.terms)
            assert streamed.error == expected.error
            assert accelerator.terms == m + 1


@pytest.mark.parametrize("order", [1, 2, 4])
@pytest.mark.parametrize("inverse", ["samelson", "elementwise"])
def test_vectors_held_never_exceed_2n_plus_2(order, inverse):
    rng = np.random.default_rng(order)
    terms = np.cumsum(rng.normal(size=(20, 6)) * 0.8 ** np.arange(20)[:, None], axis=0)
    accelerator = ShanksAccelerator(order, inverse=inverse)
    for m, term in enumerate(terms):
        accelerator.push(term)
        assert accelerator.live_vectors == min(m + 1, 2 * order + 1)
    assert accelerator.peak_vectors == 2 * order + 2


@pytest.mark.parametrize("cls", [ShanksAccelerator, SablonniereAccelerator])
def test_memory_measured_on_long_vectors(cls):
    # Traced bytes while streaming vectors of 50,000 float64 (400 kB each), order 3.
    # Table held between pushes: one anti-diagonal, 2N + 1 vectors. Peak during a push:
    # 2N + 2 table entries plus the Samelson inverse's single temporary, plus
    # masks and 0-d scalars (far below one vector). The whole table of the last
    # 2N + 1 terms would be (N + 1)(2N + 1) = 28 vectors.
    n, order = 50_000, 3
    vector = 8 * n
    grid = np.linspace(0.0, 1.0, n)
    gc.collect()
    tracemalloc.start()
    try:
        accelerator = cls(order)
        baseline = tracemalloc.get_traced_memory()[0]
        peak = 0
        for m in range(12):
            term = 1.0 + 0.7 ** m + 0.3 ** m * grid
            tracemalloc.reset_peak()
            accelerator.push(term)
            del term
            peak = max(peak, tracemalloc.get_traced_memory()[1] - baseline)
        held = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    # Besides, the stream holds the newest 2N + 4 terms for result()'s checked
    # batch transform; the newest of them is also the table's column 0 entry.
    # And two recycled buffers (NumPy: entries are reused after their last read).
    window, spares = 2 * order + 3, 2
    assert held <= (2 * order + 1 + window + spares) * vector + vector // 4
    # During a push the window also holds the new term before the oldest leaves.
    assert peak <= (2 * order + 4 + window) * vector + vector // 2


@pytest.mark.parametrize("order", [1, 2, 3])
def test_lean_sablonniere_matches_full_table_in_mpmath(order):
    # zeta(2) partial sums, the logarithmic case Sablonnière is for; 15 pushes so
    # that the window slides. The reference runs the same formula in 50 digits
    # on the same float64 terms, so the only difference is our rounding, which
    # the running error bound (zero data error) covers.
    terms = np.cumsum(1.0 / np.arange(1, 16) ** 2)
    accelerator = _stream(SablonniereAccelerator, terms, order=order)
    reference = mp_full_table(terms, order, lambda column: column // 2 + 1)
    window = terms[-(2 * order + 1):]
    bound = running_error_bound(window, np.zeros(len(window)),
                                weight=lambda column: column // 2 + 1)
    assert abs(float(accelerator.estimate) - reference[0]) <= bound
    # and it accelerates: better than the last partial sum by orders of magnitude
    assert abs(float(accelerator.estimate) - math.pi ** 2 / 6) < 1e-3 * (
        math.pi ** 2 / 6 - terms[-1])


@pytest.mark.parametrize("order", [1, 2])
def test_lean_sablonniere_vectors_match_full_table_in_mpmath(order):
    n = np.arange(12.0)[:, None]
    terms = np.array([1.0, -2.0, 0.5]) + np.array([3.0, 1.0, -1.0]) / (n + 0.5) + np.array(
        [0.5, -1.0, 2.0]) / (n + 0.5) ** 2
    accelerator = _stream(SablonniereAccelerator, terms, order=order)
    reference = mp_full_table(terms, order, lambda column: column // 2 + 1)
    window = terms[-(2 * order + 1):]
    bound = running_error_bound(window, np.zeros(len(window)),
                                weight=lambda column: column // 2 + 1)
    assert np.linalg.norm(to_numpy(accelerator.estimate) - reference) <= bound


def test_weights_make_the_stream_differ_from_wynn():
    terms = 2.0 + 3.0 / (np.arange(3.0) + 0.5)
    assert float(_stream(SablonniereAccelerator, terms).estimate) == pytest.approx(2.0, abs=1e-14)
    assert float(_stream(ShanksAccelerator, terms).estimate) == pytest.approx(3.0, abs=1e-14)


def test_backends_agree_on_vector_streams(xp):
    rng = np.random.default_rng(11)
    terms = np.cumsum(rng.normal(size=(9, 5)) * (-0.6) ** np.arange(9)[:, None], axis=0)
    for cls, _ in PAIRS:
        reference = _stream(cls, terms, order=2).estimate
        accelerator = cls(2)
        for m in range(9):
            accelerator.push(xp.asarray(terms[m]))
        xp_assert_close(accelerator.estimate, reference, rtol=1e-12, xp=xp, check_dtype=False)


def test_status_and_result_before_enough_terms():
    accelerator = ShanksAccelerator(2)
    with pytest.raises(ValueError, match="no terms"):
        accelerator.result()
    accelerator.push(np.array(1.0))
    accelerator.push(np.array(1.5))
    result = accelerator.result()
    assert result.status == Status.INSUFFICIENT_TERMS and float(result.estimate) == 1.5
    accelerator.push(np.array(1.75))
    assert accelerator.result().order == 1  # order 2 asked, 3 terms give order 1
    accelerator.push(np.array(2.0))
    accelerator.push(np.array(3.0))
    assert accelerator.result().terms == 5


def test_converged_stream_reports_converged():
    accelerator = _stream(ShanksAccelerator, [np.array(0.5)] * 6, order=2)
    result = accelerator.result()
    assert result.status == Status.CONVERGED and float(result.estimate) == 0.5


def test_protocol_attributes_copy_and_extend():
    accelerator = SablonniereAccelerator(order=2, inverse="elementwise")
    assert isinstance(accelerator, Accelerator)
    assert (accelerator.name, accelerator.order, accelerator.terms) == ("sablonniere", 2, 0)
    terms = np.cumsum(0.5 ** np.arange(6.0))
    accelerator.extend(terms[:3])
    template = copy.deepcopy(accelerator)
    accelerator.extend(terms[3:])
    assert template.terms == 3 and accelerator.terms == 6
    assert float(accelerator.estimate) == float(sablonniere(terms, order=2))
    assert "sablonniere" in repr(accelerator)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"order": 0}, ValueError, "order"),
    ({"order": None}, TypeError, "order"),
    ({"order": 2.0}, TypeError, "order"),
    ({"inverse": "pseudo"}, ValueError, "inverse"),
])
def test_bad_construction(kwargs, error, message):
    with pytest.raises(error, match=message):
        ShanksAccelerator(**kwargs)


def test_bad_terms():
    accelerator = ShanksAccelerator(1)
    with pytest.raises(ValueError, match="scalar"):
        accelerator.push(np.zeros((2, 2)))
    accelerator.push(np.zeros(3))
    with pytest.raises(ValueError, match="match the first term"):
        accelerator.push(np.zeros(4))
    with pytest.raises(ValueError, match="match the first term"):
        accelerator.push(np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError, match="finite"):
        accelerator.push(np.array([0.0, np.nan, 1.0]))
    assert accelerator.terms == 1  # rejected terms leave the state alone


def _cut_sequences():
    """Vector sequences whose anti-diagonals are cut at every column in turn.

    A repeated term makes column 1 undefined (and, later, columns inherit the cut
    from older anti-diagonals); a component that stops moving or an exactly
    geometric sequence makes higher columns singular while lower ones stay
    defined; a converging-to-rounding sequence settles columns. The streaming
    form skips the bookkeeping of entries defined everywhere and builds it at
    the first cut: these walk that switch through every column position.
    """
    rng = np.random.default_rng(11)
    base = np.cumsum(rng.uniform(-1, 1, (14, 4)) * 0.6 ** np.arange(14)[:, None], axis=0)
    for repeat in range(1, 8):
        repeated = base.copy()
        repeated[repeat] = repeated[repeat - 1]
        yield repeated
    frozen = base.copy()
    frozen[:, 0] = 1.0
    yield frozen
    yield np.cumsum(0.5 ** np.arange(14))[:, None] * np.ones((1, 4))
    yield 1.0 + 1e-17 * base
    yield np.round(base, 2)


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("inverse", ["samelson", "elementwise"])
def test_streaming_equals_batch_through_cuts(order, inverse):
    for terms in _cut_sequences():
        for cls, batch in PAIRS:
            accelerator = cls(order, inverse=inverse)
            for m in range(len(terms)):
                accelerator.push(terms[m])
                streamed = accelerator.result()
                expected = batch(terms[:m + 1], order=order, inverse=inverse, full_output=True)
                # the same operations on the same entries: equal to the last bit
                np.testing.assert_array_equal(streamed.estimate, expected.estimate)
                assert (streamed.status, streamed.order, streamed.error) == (
                    expected.status, expected.order, expected.error)

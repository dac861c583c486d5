"""The scalar fast path (accel._scalar) against the general checked path (accel._honest).

Oracle: the general path itself, built here by wrapping the bare transform with
``honest`` without a fast path. The fast path must give the same estimate bit for
bit, the same error, status, order and terms, on random sequences (hypothesis)
and on every scalar sequence of accel.testing at every length; and it must
actually be taken on most of them (or the comparison would test nothing).
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import accel
from accel import _scalar, _scalar_levin
from accel._honest import honest
from accel.epsilon import sablonniere_weight, wynn_weight
from accel.testing import classic_sequences, sequence_terms

GENERAL = {
    "shanks": honest(accel.shanks.__wrapped__, table_scaling=True),
    "sablonniere": honest(accel.sablonniere.__wrapped__, table_scaling=True),
    "levin": honest(accel.levin.__wrapped__, translative=False),
}
FAST = {
    "shanks": lambda seq, **options: _scalar.epsilon_fast(seq, weight=wynn_weight, **options),
    "sablonniere": lambda seq, **options: _scalar.epsilon_fast(seq, weight=sablonniere_weight,
                                                               **options),
    "levin": _scalar_levin.levin_fast,
}
CALLS = [("shanks", {}), ("shanks", {"order": 2}), ("sablonniere", {}),
         ("levin", {}), ("levin", {"variant": "u"}), ("levin", {"variant": "v"}),
         ("levin", {"variant": "t_modified"}), ("levin", {"variant": "u", "beta": 2.5})]
SCALAR_SEQUENCES = [s for s in classic_sequences() if sequence_terms(s, 3).ndim == 1]


def _same(fast, general):
    """Bit-for-bit equal results (estimate, its type, error, status, order, terms)."""
    assert type(fast.estimate) is type(general.estimate)
    assert np.asarray(fast.estimate).tobytes() == np.asarray(general.estimate).tobytes()
    assert fast.error == general.error or (math.isinf(fast.error) and math.isinf(general.error))
    assert fast.status is general.status
    assert (fast.order, fast.terms, fast.table) == (general.order, general.terms, general.table)


def _check(method, options, seq):
    """The public call equals the general path; returns whether the fast path was taken."""
    public = getattr(accel, method)(seq, full_output=True, **options)
    _same(public, GENERAL[method](seq, full_output=True, **options))
    return FAST[method](seq, **options) is not None


@pytest.mark.parametrize(("method", "options"), CALLS)
def test_classic_set_bit_for_bit(method, options):
    taken = total = 0
    for sequence in SCALAR_SEQUENCES:
        terms = sequence_terms(sequence)
        for count in range(3, terms.shape[0] + 1):
            taken += _check(method, options, terms[:count])
            total += 1
    # Most calls take the fast path (it declines near breakdowns and below 6 terms).
    assert taken >= total // 2, (taken, total)


_kinds = st.sampled_from(["geometric", "alternating", "logarithmic", "random"])


@st.composite
def _sequences(draw):
    kind = draw(_kinds)
    m = draw(st.integers(_scalar.MIN_TERMS, 30))
    limit = draw(st.floats(-10, 10))
    ratio = draw(st.floats(0.05, 0.95))
    amplitude = draw(st.floats(0.1, 10))
    k = np.arange(m, dtype=np.float64)
    if kind == "geometric":
        seq = limit + amplitude * ratio ** k
    elif kind == "alternating":
        seq = limit + amplitude * (-ratio) ** k / (k + 1)
    elif kind == "logarithmic":
        seq = limit + amplitude / (k + 1) ** (1 + ratio)
    else:
        seq = np.array(draw(st.lists(st.floats(-1e3, 1e3), min_size=m, max_size=m)))
    power = draw(st.integers(-900, 900))
    return np.ldexp(seq, power)


@given(seq=_sequences(), call=st.sampled_from(CALLS))
def test_random_sequences_bit_for_bit(seq, call):
    method, options = call
    _check(method, options, seq)


@pytest.mark.parametrize("method", ["shanks", "sablonniere", "levin"])
def test_fast_path_taken_and_declined(method):
    s = np.cumsum([(-1.0) ** k / (k + 1) for k in range(20)])
    assert _check(method, {}, s)
    # Declined, and the general path answers: two equal terms (a breakdown), too few
    # terms, float32, vectors, a kept table or a Levin order.
    repeated = s.copy()
    repeated[10] = repeated[9]
    assert not _check(method, {}, repeated)
    assert not _check(method, {}, s[:_scalar.MIN_TERMS - 1])
    long = np.cumsum(0.5 ** np.arange(_scalar.MAX_TERMS + 1.0))
    assert not _check(method, {}, long)
    assert FAST[method](s.astype(np.float32)) is None
    assert FAST[method](np.stack([s, s], axis=1)) is None
    if method == "levin":
        assert not _check(method, {"order": 5}, s)
    else:
        assert FAST[method](s, table=True) is None


@pytest.mark.parametrize("method", ["shanks", "levin"])
def test_bad_input_still_refused(method):
    s = np.cumsum([(-1.0) ** k / (k + 1) for k in range(20)])
    transform = getattr(accel, method)
    bad = s.copy()
    bad[3] = math.nan
    with pytest.raises(ValueError, match="finite"):
        transform(bad)
    with pytest.raises(ValueError):
        transform(s, order=0)
    with pytest.raises(TypeError):
        transform(s, order=1.5)

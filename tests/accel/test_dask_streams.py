"""Streaming accelerators fed Dask vectors: NumPy's estimate, and graphs that do not grow.

The terms are partial sums built lazily, ``s_k = s_{k-1} + r^k v`` with no persist by
the caller, so the graph of ``s_k`` grows with ``k``. A stream settles (persists) each
term it keeps (``accel._backend.settle``), so what it computes from its window starts
from stored chunks: the graph of its estimate after 24 terms is no larger than after
12. On a ``dask.distributed`` cluster (two worker processes) the estimate equals the
one from the same terms as NumPy arrays to rounding, with the same status.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dask.distributed")
da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import accel  # noqa: E402

N = 64
CHUNK = 32


def _terms(count):
    """Partial sums of a vector geometric series, ratios in [-0.8, 0.9] per component."""
    rng = np.random.default_rng(3)
    ratios = np.linspace(-0.8, 0.9, N)
    v = rng.standard_normal(N)
    return [ratios**k * v for k in range(count)]


def _stream(name, increments, lazy):
    stream = accel.accelerator(name)
    total = da.zeros(N, chunks=CHUNK) if lazy else np.zeros(N)
    for increment in increments:
        total = total + (da.from_array(increment, chunks=CHUNK) if lazy else increment)
        stream.push(total)
    return stream


# One of each streaming kind: the epsilon table (shanks), an indexed window (levin),
# windows of a polynomial (mpe, least squares through QR) and a scalar-like (aitken).
NAMES = ["shanks", "levin", "mpe", "aitken"]


def _assert_like_numpy(lazy, eager):
    assert isinstance(lazy.estimate, da.Array)
    assert lazy.status == eager.status
    # The same arithmetic; only chunked reductions round differently (eps per
    # operation over a dozen terms): 1e-12 relative is far above that.
    np.testing.assert_allclose(lazy.estimate.compute(), eager.estimate, rtol=0,
                               atol=1e-12 * np.max(np.abs(eager.estimate)))
    assert lazy.error == pytest.approx(eager.error, rel=1e-9, abs=1e-300)


def test_stream_on_cluster_equals_numpy(dask_client):
    # Every host decision of a stream is a round trip to the cluster (the epsilon
    # table takes one per column per term): one window method here, the others below
    # on the local scheduler (the arithmetic does not depend on the scheduler).
    increments = _terms(10)
    _assert_like_numpy(_stream("mpe", increments, lazy=True).result(),
                       _stream("mpe", increments, lazy=False).result())


@pytest.mark.parametrize("name", NAMES)
def test_stream_equals_numpy(name):
    increments = _terms(12)
    with dask.config.set(scheduler="threads"):
        lazy = _stream(name, increments, lazy=True).result()
        eager = _stream(name, increments, lazy=False).result()
        _assert_like_numpy(lazy, eager)


# One epsilon stream and one window stream in the default run; the other window
# streams (the same `_window` code) in the slow tier.
@pytest.mark.parametrize("name", ["shanks", "levin", *(
    pytest.param(name, marks=pytest.mark.slow) for name in ("mpe", "aitken"))])
def test_stream_graph_does_not_grow(name):
    increments = _terms(24)
    sizes = []
    with dask.config.set(scheduler="threads"):
        stream = accel.accelerator(name)
        total = da.zeros(N, chunks=CHUNK)
        for k, increment in enumerate(increments, start=1):
            total = total + da.from_array(increment, chunks=CHUNK)
            stream.push(total)
            if k in (12, 24):
                sizes.append(len(stream.result().estimate.__dask_graph__()))
    # The caller's chain adds a few tasks per term (24 terms: ~100 more keys); the
    # stream's estimate sees persisted terms only.
    assert sizes[1] <= sizes[0], sizes

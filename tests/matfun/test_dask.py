"""Dask arrays on a ``dask.distributed`` cluster: every method, NumPy's answer, bounded graphs.

One cluster (two worker processes) serves the module. Each method runs twice on the
same problem, once with NumPy arrays and once with Dask arrays chunked across the
workers; the Dask run must take the same number of matvecs (give or take the one term
a rounding-level difference in a stopping decision can flip) and return NumPy's vector
to rounding. The operator is passed as a callable whose matvec is a Dask computation
that records the size of the graph of the vector it receives: with the kept vectors
persisted (``matfun._backend.settle``) that size is bounded by the number of chunks
and a few operations, the same after 30 matvecs as after 10. Without them it grows
with every step (the cost of a run then grows quadratically). The graph sizes do not
depend on the scheduler, so those runs use Dask's local one (each round trip to the
cluster costs milliseconds).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("dask.distributed")
da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import matfun  # noqa: E402

N = 120
CHUNK = 60  # two chunks: one per worker
RTOL = 1e-6

# (method, options): every method of inv_sqrt, and the series through an accelerator.
CASES = [
    ("series", {}),
    ("series", {"accelerate": "levin"}),
    ("lanczos", {}),
    ("lanczos", {"memory": "low"}),
    ("chebyshev", {}),
]
IDS = ["series", "series-levin", "lanczos", "lanczos-low-memory", "chebyshev"]
# Chebyshev with its interval (|lambda|^2 in [1, 1.44]): the matvecs go to the
# recurrence, not the certificate; the accelerated series has a test of its own.
GROWTH_CASES = [case if case[0] != "chebyshev" else ("chebyshev", {"interval": (0.9, 1.5)})
                for case in CASES[:1] + CASES[2:]]


@pytest.fixture(scope="module")
def problem():
    """Symmetric indefinite ``H`` with ``|lambda|`` in [1, 1.2]: every method converges fast."""
    rng = np.random.default_rng(7)
    q, _ = np.linalg.qr(rng.standard_normal((N, N)))
    eigenvalues = np.linspace(1.0, 1.2, N) * np.where(np.arange(N) % 3 == 0, -1.0, 1.0)
    H = (q * eigenvalues) @ q.T
    H = (H + H.T) / 2
    g = rng.standard_normal(N)
    # Oracle, independent of the library: (H^2)^(-1/2) g = Q |Lambda|^-1 Q^T g.
    w, v = np.linalg.eigh(H)
    exact = v @ ((v.T @ g) / np.abs(w))
    return H, g, exact


class GraphRecorder:
    """A matvec ``v -> H v`` on Dask arrays that records the graph size of each ``v``."""

    def __init__(self, H):
        self.H = H
        self.sizes: list[int] = []

    def __call__(self, v):
        self.sizes.append(len(v.__dask_graph__()))
        return self.H @ v


def _numpy_callable(H):
    return lambda v: H @ v


def _assert_like_numpy(x_d, info_d, x, info, exact):
    # The same algorithm; a stopping decision may flip by one term (two matvecs) where
    # the chunked reductions round differently, at a term of relative size ~RTOL^2.
    assert abs(info_d.matvecs - info.matvecs) <= 2, (info_d.matvecs, info.matvecs)
    assert info_d.converged and info.converged
    # Rounding: eps per operation over a few dozen steps of a kappa = 1.2 problem is
    # ~1e-14; 1e-11 relative is far above that and far below any method error.
    np.testing.assert_allclose(x_d, x, rtol=0, atol=1e-11 * np.max(np.abs(x)))
    # And the answer itself, to the tolerance asked (the estimates bound it here).
    np.testing.assert_allclose(x_d, exact, rtol=0, atol=10 * RTOL * np.linalg.norm(exact))


# Each host decision is a round trip to the cluster: the accelerated series (many
# small decisions per check) and the Dask-matrix runs (Chebyshev's interval certified by
# Lanczos matvecs) use the local scheduler below; here Chebyshev gets its interval.
@pytest.mark.parametrize(("method", "options"), GROWTH_CASES, ids=IDS[:1] + IDS[2:])
def test_callable_on_cluster_equals_numpy(dask_client, problem, method, options):
    H, g, exact = problem
    H_d = dask_client.persist(da.from_array(H, chunks=(CHUNK, N)))
    g_d = dask_client.persist(da.from_array(g, chunks=CHUNK))
    matvec = GraphRecorder(H_d)
    x_d, info_d = matfun.inv_sqrt(matvec, g_d, method=method, rtol=RTOL, full_output=True,
                                  **options)
    assert isinstance(x_d, da.Array)
    x, info = matfun.inv_sqrt(_numpy_callable(H), g, method=method, rtol=RTOL,
                              full_output=True, **options)
    assert info_d.matvecs == len(matvec.sizes) > 10
    _assert_like_numpy(x_d.compute(), info_d, x, info, exact)
    # Every vector handed to the matvec starts from persisted chunks: a graph of a few
    # operations on the two chunks (the operator's scaling, the series' H^2), never
    # the history of the run.
    assert max(matvec.sizes) <= 40, matvec.sizes


def test_accelerated_series_equals_numpy(problem):
    H, g, exact = problem
    with dask.config.set(scheduler="threads"):
        g_d = da.from_array(g, chunks=CHUNK).persist()
        matvec = GraphRecorder(da.from_array(H, chunks=(CHUNK, N)).persist())
        x_d, info_d = matfun.inv_sqrt(matvec, g_d, method="series", rtol=RTOL,
                                      accelerate="levin", full_output=True)
        x_d = x_d.compute()
    x, info = matfun.inv_sqrt(_numpy_callable(H), g, method="series", rtol=RTOL,
                              accelerate="levin", full_output=True)
    assert info_d.details.accelerator == info.details.accelerator == "levin"
    _assert_like_numpy(x_d, info_d, x, info, exact)
    assert max(matvec.sizes) <= 40, matvec.sizes


@pytest.mark.parametrize("method", ["lanczos", "chebyshev", "series"])
def test_dask_matrix_equals_numpy(problem, method):
    """A Dask matrix as the operator (Chebyshev: certified by matvecs, Dask has no eigh)."""
    H, g, exact = problem
    with dask.config.set(scheduler="threads"):
        H_d = da.from_array(H, chunks=(CHUNK, N)).persist()
        g_d = da.from_array(g, chunks=CHUNK).persist()
        x_d, info_d = matfun.inv_sqrt(H_d, g_d, method=method, rtol=RTOL, full_output=True)
        x_d = x_d.compute()
    # NumPy certifies a callable's interval by matvecs too: the like-for-like run.
    reference = _numpy_callable(H) if method == "chebyshev" else H
    x, info = matfun.inv_sqrt(reference, g, method=method, rtol=RTOL, full_output=True)
    _assert_like_numpy(x_d, info_d, x, info, exact)


@pytest.mark.parametrize(("method", "options"), GROWTH_CASES, ids=IDS[:1] + IDS[2:])
def test_graph_does_not_grow_with_steps(problem, method, options):
    """Ten matvecs and thirty: the same largest graph (cost linear in the steps)."""
    H, g, _ = problem
    largest, counts = [], []
    with dask.config.set(scheduler="threads"):
        H_d = da.from_array(H, chunks=(CHUNK, N)).persist()
        g_d = da.from_array(g, chunks=CHUNK).persist()
        for budget in (10, 30):
            matvec = GraphRecorder(H_d)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a short run does not converge: expected
                matfun.inv_sqrt(matvec, g_d, method=method, max_matvecs=budget, rtol=1e-14,
                                **options)
            counts.append(len(matvec.sizes))
            largest.append(max(matvec.sizes))
    assert counts[1] >= 2 * counts[0] and counts[1] <= 30, counts
    assert largest[0] == largest[1], largest


def test_series_partial_sums_are_settled(problem):
    """The partial sums streamed to a callback are persisted: one key per chunk."""
    H, g, _ = problem
    sizes = []
    with dask.config.set(scheduler="threads"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        H_d = da.from_array(H, chunks=(CHUNK, N)).persist()
        g_d = da.from_array(g, chunks=CHUNK).persist()
        matfun.inv_sqrt_series(H_d, g_d, terms=30,
                               callback=lambda step: sizes.append(
                                   len(step.value.__dask_graph__())))
    assert len(sizes) >= 30  # more where the scale rule restarted the sum
    # The callback gets the sum in the caller's units: one multiplication (a task per
    # chunk) on top of the persisted chunks, two for s_0 = c_0 pi g of each (re)start.
    assert max(sizes) <= 3 * (N // CHUNK), sizes


def test_definite_chebyshev_graph_does_not_grow(problem):
    """Chebyshev on a certified definite H (the expansion in H): vectors are settled too."""
    H, g, _ = problem
    H_plus = H @ H  # positive definite, |lambda| in [1, 1.44]: the definite expansion applies
    w, v = np.linalg.eigh(H_plus)
    exact = v @ ((v.T @ g) / w)  # (H_+^2)^(-1/2) g = H_+^(-1) g, independent of the library
    with dask.config.set(scheduler="threads"):
        H_d = da.from_array(H_plus, chunks=(CHUNK, N)).persist()
        g_d = da.from_array(g, chunks=CHUNK).persist()
        matvec = GraphRecorder(H_d)
        x_d, info_d = matfun.inv_sqrt(matvec, g_d, method="chebyshev", rtol=RTOL,
                                      full_output=True)
        x_d = x_d.compute()
    assert info_d.details.variable == "H" and info_d.converged
    np.testing.assert_allclose(x_d, exact, rtol=0, atol=10 * RTOL * np.linalg.norm(exact))
    # Every vector handed to the matvec starts from persisted chunks (as in the H^2 form).
    assert max(matvec.sizes) <= 40, matvec.sizes


def test_series_reuses_the_first_product(problem):
    """The series spends the matvecs NumPy spends: A g from the scale probe is reused.

    (Persisting g gives a new Dask array object of the same keys; the probe's product
    must still be recognised.)
    """
    H, g, _ = problem
    with dask.config.set(scheduler="threads"):
        H_d = da.from_array(H, chunks=(CHUNK, N)).persist()
        g_d = da.from_array(g, chunks=CHUNK).persist()
        matvec = GraphRecorder(H_d)
        _, info_d = matfun.inv_sqrt(matvec, g_d, method="series", rtol=RTOL, full_output=True)
    numpy_calls = []
    _, info = matfun.inv_sqrt(lambda v: numpy_calls.append(1) or H @ v, g, method="series",
                              rtol=RTOL, full_output=True)
    assert len(matvec.sizes) == info_d.matvecs
    assert info_d.matvecs == info.matvecs == len(numpy_calls)

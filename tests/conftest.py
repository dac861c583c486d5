"""Shared test configuration: backends, hypothesis profiles, comparison helper."""

from __future__ import annotations

import importlib
import os

# The tests use small matrices: a multithreaded BLAS only adds contention on small
# CI machines (an eigh of 100 x 100 went from 1 ms to 0.3 s with 2 threads under
# load). Set before NumPy is first imported; a user's own setting wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import pytest  # noqa: E402 (after the BLAS thread settings)
from hypothesis import HealthCheck, is_hypothesis_test, settings  # noqa: E402

# `ci`: derandomised and bounded so the default suite stays fast and repeatable;
# selected whenever CI is set (as .ci/run does) and by default. `dev`: more examples.
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=25,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_BACKENDS = ["numpy", "array_api_strict", "torch", "jax"]


def _load_backend(name):
    if name == "numpy":
        import array_api_compat.numpy as xp

        return xp
    module = importlib.import_module(name)
    if name == "torch":
        import array_api_compat.torch as xp

        return xp
    if name == "jax":
        # float64 as on the other backends (JAX defaults to float32); set before the
        # first array is made. jax.numpy is itself an array-API namespace.
        module.config.update("jax_enable_x64", True)
        import jax.numpy as xp

        return xp
    return module


@pytest.fixture(scope="session", params=_BACKENDS)
def xp(request):
    """Array namespace under test: NumPy, array-api-strict, torch and JAX (CPU) when installed."""
    try:
        return _load_backend(request.param)
    except ImportError:
        pytest.skip(f"{request.param} is not installed")


@pytest.fixture(scope="module")
def dask_client():
    """A ``dask.distributed`` client on a local cluster of two worker processes."""
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=None)
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()


# JAX compiles every operation once per new input shape (~30 ms of CPU each), and a
# property test draws a new shape in most examples: on jax the property tests run
# the first few of the ci profile's examples (the same derandomised stream), which
# keeps the jax parametrisation's share of the suite small. NumPy, array-api-strict
# and torch run them all.
_JAX_MAX_EXAMPLES = 5


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    callspec = getattr(pyfuncitem, "callspec", None)
    test = pyfuncitem.obj
    if callspec is None or callspec.params.get("xp") != "jax" or not is_hypothesis_test(test):
        return (yield)
    # Hypothesis reads a test's settings when it is called; the attribute is how
    # @settings attaches them (restored after this one call).
    full = test._hypothesis_internal_use_settings
    test._hypothesis_internal_use_settings = settings(
        full, max_examples=min(full.max_examples, _JAX_MAX_EXAMPLES))
    try:
        return (yield)
    finally:
        test._hypothesis_internal_use_settings = full


# The accelerators' batch tables change shape at every column, and JAX compiles a kernel
# per shape: their JAX runs cost about ten times NumPy's (about 150 s of the suite on
# 2 cores). The default run keeps JAX for all of matfun and for the accelerator streams
# (what the series uses); the batch tables' JAX runs are in the slow tier (`-m slow`).
_JAX_IN_DEFAULT_RUN = {"test_epsilon_stream.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        if (callspec is not None and callspec.params.get("xp") == "jax"
                and item.path.parent.name == "accel"
                and item.path.name not in _JAX_IN_DEFAULT_RUN):
            item.add_marker(pytest.mark.slow)

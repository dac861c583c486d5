"""JAX: how many kernels a solve compiles (each costs ~10-200 ms on its first call).

Every count starts from empty caches (``jax.clear_caches()``) after the one-time
set-up of the namespace, so it does not depend on what other tests compiled. The
bounds are the counts measured when they were written plus a margin of at most two:
an eager operation added on a solve's path (one more kernel on every first call), or
a vector whose committed/uncommitted kind differs from the user's (every kernel twice),
fails them. Before the fused checks a dense ``n = 83`` solve compiled 38 (Lanczos),
38 (Chebyshev) and 28 (series) kernels, at ``n = 1000`` 64, 57 and 41.
"""

import logging

import numpy as np
import pytest

from accel._backend import all_finite, inner, max_abs, norm, placed
from matfun import as_operator, inv_sqrt
from matfun._backend import as_vector, namespace
from matfun._operator_forms import asymmetry

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

N = 83  # a size no other test uses: its kernels are this file's alone


class _Count(logging.Handler):
    def __init__(self):
        super().__init__()
        self.names = []

    def emit(self, record):
        message = record.getMessage()
        if message.startswith("Finished XLA compilation of "):
            self.names.append(message.split()[4])


def compilations(run):
    """``(names of the kernels compiled by run() from empty caches, count of a rerun)``."""
    counter = _Count()
    logger = logging.getLogger("jax")
    logger.addHandler(counter)
    try:
        jax.clear_caches()
        with jax.log_compiles():
            run()
            first = list(counter.names)
            counter.names.clear()
            run()
    finally:
        logger.removeHandler(counter)
    return first, len(counter.names)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(1)
    basis, _ = np.linalg.qr(rng.standard_normal((N, N)))
    eigenvalues = np.geomspace(1.0, 10.0, N) * np.where(np.arange(N) % 3 == 0, -1.0, 1.0)
    H, g = (basis * eigenvalues) @ basis.T, rng.standard_normal(N)
    namespace(jnp.asarray(g))  # one-time set-up (array_api_compat), outside the counts
    return H, g


def test_validation_compiles_one_kernel_per_array(problem):
    # The vector's finiteness, and the dense matrix's finiteness, max|A - A^H| and
    # max|A| (all tiles): one kernel each (before: two, and ~10 per tile shape).
    H, g = (jnp.asarray(a) for a in problem)
    first, again = compilations(lambda: as_operator(H, like=as_vector(g)[1]))
    assert first == ["jit(_all_finite)", "jit(_finite_asymmetry)"]
    assert again == 0


def test_the_validation_kernels_serve_the_solvers_vectors(problem):
    # jnp.asarray makes an uncommitted array, xp.zeros(..., device=) a committed one,
    # and JAX compiles separate kernels for the two. The validated g and H are
    # committed (placed), like every vector the solvers make: the products of H with
    # g and with a solver's vector share one matmul kernel, and their finiteness
    # checks the kernel of g's check.
    H, g = (jnp.asarray(a) for a in problem)

    def run():
        _, vector = as_vector(g)
        op = as_operator(H)
        made = jnp.ones(N, dtype=vector.dtype, device=vector.device)  # as the solvers do
        op.matvec(vector), op.matvec(made)  # matvec checks each product's finiteness

    first, _ = compilations(run)
    assert first.count("jit(_all_finite)") == 1 and first.count("jit(matmul)") == 1, first


@pytest.mark.parametrize(("method", "bound"), [("lanczos", 17), ("chebyshev", 16),
                                               ("series", 16)])
def test_a_whole_solve_compiles_a_bounded_number_of_kernels(problem, method, bound):
    # Measured 15 (Lanczos: one basis capacity), 14 (Chebyshev, its dense certificate
    # of the interval in one kernel), 14 (series); a second solve compiles nothing.
    H, g = (jnp.asarray(a) for a in problem)
    results = []
    first, again = compilations(lambda: results.append(inv_sqrt(H, g, method=method,
                                                                 rtol=1e-6)))
    assert len(first) <= bound, first
    assert again == 0
    exact = np.linalg.solve(_absolute(problem[0]), problem[1])
    for x in results:  # rtol 1e-6 asked; the estimates are not bounds: 1e-4 of slack
        assert np.linalg.norm(np.asarray(x) - exact) <= 1e-4 * np.linalg.norm(exact)


def _absolute(H):
    values, vectors = np.linalg.eigh(H)
    return (vectors * np.abs(values)) @ vectors.T


def test_fused_helpers_agree_with_numpy_to_rounding():
    # Compiled kernels may sum in another order: equal to a few ulps, not bitwise.
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, N)), rng.standard_normal(N)
    z = a[0] + 1j * a[1]
    for x, y in ((a, b), (z, z)):
        xj, yj = jnp.asarray(x), jnp.asarray(y)
        np.testing.assert_allclose(np.asarray(norm(jnp, xj)), np.linalg.norm(x, axis=-1),
                                   rtol=4 * N * np.finfo(float).eps)
        np.testing.assert_allclose(np.asarray(inner(jnp, xj, yj)),
                                   np.sum(np.conj(x) * y, axis=-1),
                                   rtol=0, atol=4 * N * np.finfo(float).eps * np.abs(x).max()
                                   * np.abs(y).max())
        assert float(max_abs(jnp, xj)) == np.abs(x).max()  # a max: exact
    assert all_finite(jnp, jnp.asarray(b))
    assert not all_finite(jnp, jnp.asarray(np.where(np.arange(N) == 5, np.inf, b)))
    assert not all_finite(jnp, jnp.asarray(np.where(np.arange(N) == 5, np.nan, b)))


def test_fused_asymmetry_matches_the_tiled_one():
    # The whole-matrix kernel (JAX) and the tiles (NumPy) take maxima of the same
    # entries: exactly equal. n = 300 gives three tiles per side, the last one ragged.
    rng = np.random.default_rng(3)
    A = rng.standard_normal((300, 300)) + 1j * rng.standard_normal((300, 300))
    A[250, 7] += 5.0  # the worst pair sits in an off-diagonal ragged tile
    assert asymmetry(jnp, jnp.asarray(A)) == asymmetry(np, A)
    hermitian = A + A.conj().T
    assert asymmetry(jnp, jnp.asarray(hermitian))[0] == 0.0 == asymmetry(np, hermitian)[0]


def test_placed_commits_on_jax_and_is_the_identity_elsewhere():
    g = np.arange(3.0)
    assert placed(np, g) is g
    vector = jnp.asarray(g)
    assert not vector.committed
    moved = placed(jnp, vector)
    assert moved.committed and moved.device == vector.device
    np.testing.assert_array_equal(np.asarray(moved), g)

"""Model sequences with known limits for the vector-method tests."""

import numpy as np


def linear_iteration(n, d, count, seed, *, spread=0.15):
    """Iterates of x <- A x + b whose error stays in a d-dimensional invariant subspace.

    Returns ``(iterates (count, n), limit (n,), difference_matrix_condition)``. The
    d eigenvalues are spread in [-0.9, 0.9], at least ``spread`` apart.
    """
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((n, n)))[0][:, :d]
    eigenvalues = np.linspace(-0.9, 0.9, d) if d > 1 else np.asarray([0.6])
    eigenvalues = eigenvalues + rng.uniform(-spread / 3, spread / 3, d)
    limit = rng.standard_normal(n)
    error = basis @ rng.uniform(0.5, 2.0, d)
    projector = basis @ np.diag(eigenvalues) @ basis.T
    iterates = [limit + error]
    for _ in range(count - 1):
        iterates.append(limit + projector @ (iterates[-1] - limit))
    iterates = np.stack(iterates)
    condition = np.linalg.cond(np.diff(iterates, axis=0)[: d + 1].T)
    return iterates, limit, condition

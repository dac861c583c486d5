r"""Wall time of ``matfun.inv_sqrt(method="lanczos")`` against a bare Lanczos (issue 11).

Run from the repository root::

    python benchmarks/bench_lanczos.py            # dense n = 1000..4000, sparse n = 1e5
    python benchmarks/bench_lanczos.py --quick    # seconds
    python benchmarks/bench_lanczos.py --write    # also writes docs/lanczos_benchmark.md

For each operator the library call runs first (its own stopping rule, default
``rtol = 1e-8``); the *bare* Lanczos then runs exactly as many steps: NumPy, the basis
in one preallocated array, classical Gram-Schmidt twice against the whole basis
(the same reorthogonalisation), no validation and no stopping checks, ``f(T_k)`` once
at the end. The ratio is the library's overhead for the same Krylov work; the target
is at most 1.3. Times are CPU seconds of the process (``time.process_time``; run with
one BLAS thread, ``OPENBLAS_NUM_THREADS=1``, this is the wall time of an idle machine),
the best of two interleaved runs: on a shared machine wall-clock ratios swung from 0.5
to 3 between identical runs.

Operators: dense symmetric indefinite matrices with ``|eigenvalues|`` geometric in
``[1, kappa]`` (random signs and eigenvectors), and a sparse indefinite tridiagonal
``n = 1e5`` matrix (:func:`sparse_indefinite`), applied through ``scipy.sparse``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.linalg
import scipy.sparse as sp

import matfun


def dense_indefinite(n: int, kappa: float, seed: int = 0) -> np.ndarray:
    """``P D P`` with ``D = +-geomspace(1, kappa)`` and ``P`` three Householder reflections.

    Dense, with known eigenvalues, in ``O(n^2)`` (a QR of a random matrix costs minutes
    at ``n = 4000`` on a small machine).
    """
    rng = np.random.default_rng(seed)
    matrix = np.diag(rng.choice([-1.0, 1.0], n) * np.geomspace(1.0, kappa, n))
    for _ in range(3):
        u = rng.standard_normal(n)
        u /= np.linalg.norm(u)
        mu = matrix @ u
        matrix += 4 * (u @ mu) * np.outer(u, u) - 2 * np.outer(u, mu) - 2 * np.outer(mu, u)
    return (matrix + matrix.T) / 2


def sparse_indefinite(n: int, kappa: float, seed: int = 0) -> sp.csr_matrix:
    """Diagonal ``+-geomspace(1, kappa)`` (random order and signs) plus a 0.2 coupling.

    Gershgorin keeps every ``|lambda| >= 0.6``.
    """
    rng = np.random.default_rng(seed)
    diagonal = rng.permutation(np.geomspace(1.0, kappa, n)) * rng.choice([-1.0, 1.0], n)
    coupling = 0.2 * np.ones(n - 1)
    return sp.diags([coupling, diagonal, coupling], [-1, 0, 1]).tocsr()


def bare_lanczos(matrix, g: np.ndarray, steps: int) -> np.ndarray:
    """``|H|^{-1} g`` after exactly ``steps`` steps: the same Krylov work, nothing else."""
    n = g.size
    basis = np.empty((steps + 1, n))
    alphas, betas = np.empty(steps), np.empty(steps)
    start_norm = np.linalg.norm(g)
    basis[0] = g / start_norm
    for k in range(steps):
        w = matrix @ basis[k]
        Q = basis[: k + 1]
        first = Q @ w
        w -= first @ Q
        second = Q @ w
        w -= second @ Q
        alphas[k] = first[k] + second[k]
        betas[k] = np.linalg.norm(w)
        basis[k + 1] = w / betas[k]
    theta, vectors = scipy.linalg.eigh_tridiagonal(alphas, betas[:-1])
    return start_norm * ((vectors @ (vectors[0] / np.abs(theta))) @ basis[:steps])


def timed(function) -> tuple[float, object]:
    """CPU seconds of this process (``time.process_time``) and the result."""
    start = time.process_time()
    result = function()
    return time.process_time() - start, result


def measure(label: str, matrix, g: np.ndarray, repeats: int) -> dict:
    library = bare = float("inf")
    steps = None
    for _ in range(repeats):  # interleaved, so that a busy spell hits both
        seconds, (x, info) = timed(
            lambda: matfun.inv_sqrt(matrix, g, method="lanczos", full_output=True))
        library, steps = min(library, seconds), info.matvecs
        seconds, y = timed(lambda: bare_lanczos(matrix, g, steps))
        bare = min(bare, seconds)
    difference = np.linalg.norm(x - y) / np.linalg.norm(y)
    return {"operator": label, "steps": steps, "library_s": library, "bare_s": bare,
            "ratio": library / bare, "converged": info.converged, "difference": difference}


def run(quick: bool) -> list[dict]:
    repeats = 2
    cases = [(300, 100.0)] if quick else [(1000, 100.0), (2000, 30.0), (4000, 10.0)]
    rows = []
    for n, kappa in cases:
        matrix = dense_indefinite(n, kappa)
        g = np.random.default_rng(1).standard_normal(n)
        rows.append(measure(f"dense n={n}, kappa={kappa:g}", matrix, g, repeats))
    n = 10_000 if quick else 100_000
    g = np.random.default_rng(2).standard_normal(n)
    rows.append(measure(f"sparse n={n}, kappa=10", sparse_indefinite(n, 10.0), g, repeats))
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| operator | steps | library (CPU s) | bare (CPU s) | ratio | converged | "
             "library vs bare |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['operator']} | {row['steps']} | {row['library_s']:.3f} | "
                     f"{row['bare_s']:.3f} | {row['ratio']:.2f} | {row['converged']} | "
                     f"{row['difference']:.1e} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--write", action="store_true",
                        help="write docs/lanczos_benchmark.md")
    args = parser.parse_args(argv)
    rows = run(args.quick)
    text = table(rows)
    print(text)
    if args.write:
        machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
                   f"NumPy {np.__version__}, SciPy {scipy.__version__}, Python "
                   f"{sys.version.split()[0]}")
        command = ("OPENBLAS_NUM_THREADS=1 python benchmarks/bench_lanczos.py"
                   + (" --quick" if args.quick else ""))
        Path("docs/lanczos_benchmark.md").write_text(
            "---\norphan: true\n---\n\n# Lanczos overhead against a bare Lanczos\n\n"
            f"`{command}` on {machine}. Same steps for both (the library's own stop); "
            "ratio = library / bare CPU time, best of two interleaved runs. Generated by "
            "the script: do not edit.\n\n" + text + "\n\n"
            "The overhead is the host work of the stopping checks: a tridiagonal "
            "eigenproblem of size k costs O(k^2) (about 5 ms for the Ritz values and 10 ms "
            "with the eigenvectors at k = 600), against 0.3 ms for a bare step at n = 1000; "
            "it fades as n grows.\n")


if __name__ == "__main__":
    main()

r"""Benchmark of the ways to compute the saddle-free direction ``|H|^{-1} g``.

Run from the repository root::

    python benchmarks/bench_inv_sqrt.py            # full size, writes docs/benchmarks.md
    python benchmarks/bench_inv_sqrt.py --quick    # seconds; what the test suite runs

Four tables (issue 4):

1. **Matvecs to relative error 1e-6** against the eigendecomposition oracle, for
   ``n = 400`` symmetric indefinite matrices with ``|eigenvalues|`` geometric in
   ``[1, kappa]`` (random signs and eigenvectors) and for the seed paper's random
   standard-normal ``100 x 100`` Hessian (appendix B.5): the plain series with
   ``V = lambda_max(H^2)``, the same series through every accelerator at orders 1
   and 2, Chebyshev, Lanczos on ``H`` with ``f = 1/|x|`` (its own stopping rule,
   and the first step that reaches the target, found with the oracle), Lanczos on
   ``H^2`` with ``f = y^(-1/2)`` (the bar no accelerator of the series can beat)
   and SciPy's ``funm_multiply_krylov``. ``>N`` marks a run stopped by the budget.
2. **Overhead** of :func:`matfun.inv_sqrt_series` over bare matvecs on a dense
   ``n = 2000`` matrix.
3. **Memory** of the streaming Sablonniere accelerator of order 2 on vectors of
   ``10^6`` elements, in units of one vector.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy
import scipy.sparse.linalg as spla

import accel
import matfun
from matfun._lanczos import LanczosProcess
from matfun.chebyshev import chebyshev_inv_sqrt
from matfun.lanczos import lanczos_apply

TARGET = 1e-6


@dataclass(frozen=True)
class Config:
    """Sizes of one benchmark run."""

    n: int
    kappas: tuple[float, ...]
    paper_n: int
    series_budget: int
    accel_budget: int
    overhead_n: int
    overhead_terms: int
    repeats: int
    memory_n: int
    memory_terms: int


FULL = Config(
    n=400,
    kappas=(10.0, 100.0, 1000.0),
    paper_n=100,
    series_budget=400_000,
    accel_budget=20_000,
    overhead_n=2000,
    overhead_terms=100,
    repeats=7,
    memory_n=1_000_000,
    memory_terms=12,
)
QUICK = Config(
    n=60,
    kappas=(10.0,),
    paper_n=30,
    series_budget=4_000,
    accel_budget=400,
    overhead_n=200,
    overhead_terms=10,
    repeats=3,
    memory_n=10_000,
    memory_terms=8,
)


def indefinite_matrix(n: int, kappa: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``Q diag(lam) Q^T`` with ``|lam|`` geometric in ``[1, kappa]`` and random signs."""
    rng = np.random.default_rng(seed)
    magnitudes = np.geomspace(1.0, kappa, n)
    eigenvalues = magnitudes * rng.choice([-1.0, 1.0], n)
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q = q * np.sign(np.diag(r))
    return (q * eigenvalues) @ q.T, eigenvalues, q


def paper_matrix(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The seed paper's appendix B.5 Hessian: standard-normal entries, symmetrised by mirroring."""
    upper = np.triu(np.random.default_rng(seed).standard_normal((n, n)))
    matrix = upper + np.triu(upper, 1).T
    eigenvalues, q = np.linalg.eigh(matrix)
    return matrix, eigenvalues, q


class Oracle:
    """Relative error of an approximation to ``|H|^{-1} g``."""

    def __init__(self, eigenvalues: np.ndarray, q: np.ndarray, g: np.ndarray) -> None:
        self.exact = q @ ((q.T @ g) / np.abs(eigenvalues))
        self.size = np.linalg.norm(self.exact)

    def error(self, x: np.ndarray) -> float:
        return float(np.linalg.norm(x - self.exact) / self.size)


def series_matvecs(H, g, oracle, scale, budget, method=None, order=1):
    """Matvecs at which the (accelerated) series first reaches TARGET, or None."""
    accelerator = None if method is None else accel.accelerator(method, order=order)
    for partial in matfun.inv_sqrt_partial_sums(H, g, scale=scale, terms=budget // 2):
        estimate = partial.value
        if accelerator is not None:
            accelerator.push(partial.value)
            estimate = accelerator.result().estimate
        if oracle.error(estimate) <= TARGET:
            return partial.matvecs
        if partial.matvecs >= budget:
            return None
    return None


def lanczos_first_hit(H, g, oracle, f_of_ritz, matvecs_per_step, budget):
    """First Lanczos step whose ``||g|| Q f(T) e_1`` reaches TARGET (full reorthogonalisation)."""
    process = LanczosProcess(matfun.as_operator(H, like=g), g)
    while process.steps * matvecs_per_step < budget and process.step():
        alphas, betas = process.tridiagonal()
        ritz, vectors = np.linalg.eigh(np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1))
        coefficients = vectors @ (f_of_ritz(ritz) * vectors[0]) * process.start_norm
        estimate = np.stack(process.basis[: process.steps], axis=1) @ coefficients
        if oracle.error(estimate) <= TARGET:
            return process.steps * matvecs_per_step
    return None


def scipy_krylov(H, g, oracle, restart):
    """SciPy's restarted Krylov ``funm_multiply_krylov`` on ``1/|x|``: (matvecs, error)."""
    count = [0]

    def matvec(v):
        count[0] += 1
        return H @ v

    operator = spla.LinearOperator(H.shape, matvec=matvec, dtype=H.dtype)

    def inv_abs(matrix):
        w, v = np.linalg.eigh((matrix + matrix.conj().T) / 2)
        return (v / np.abs(w)) @ v.conj().T

    x = spla.funm_multiply_krylov(
        inv_abs, operator, g, assume_a="hermitian", rtol=TARGET, restart_every_m=restart
    )
    return count[0], oracle.error(x)


def fmt(matvecs, budget):
    return f">{budget}" if matvecs is None else str(matvecs)


def matvec_table(config: Config) -> list[str]:
    problems = [
        (f"kappa={k:g}, n={config.n}", *indefinite_matrix(config.n, k, seed=1))
        for k in config.kappas
    ]
    problems.append((f"paper B.5, n={config.paper_n}", *paper_matrix(config.paper_n, seed=0)))
    rows = []
    for label, H, eigenvalues, q in problems:
        g = np.random.default_rng(2).standard_normal(H.shape[0])
        oracle = Oracle(eigenvalues, q, g)
        lam_max_sq = float(np.max(eigenvalues**2))
        row = {"problem": label}
        row["series V=lmax^2"] = fmt(
            series_matvecs(H, g, oracle, lam_max_sq * (1 + 1e-12), config.series_budget),
            config.series_budget,
        )
        for method in accel.methods():
            for order in (1, 2):
                hit = series_matvecs(
                    H, g, oracle, lam_max_sq * (1 + 1e-12), config.accel_budget, method, order
                )
                row[f"{method}-{order}"] = fmt(hit, config.accel_budget)
        row.update(fast_methods(H, g, eigenvalues, oracle, config))
        rows.append(row)
        print(f"  {label}: done", file=sys.stderr)
    return markdown(rows)


def fast_methods(H, g, eigenvalues, oracle, config):
    out = {}
    lam = np.abs(eigenvalues)
    interval = (float(lam.min() ** 2), float(lam.max() ** 2))
    x, info = chebyshev_inv_sqrt(H, g, interval=interval, rtol=TARGET, full_output=True)
    theory = math.sqrt(interval[1] / interval[0]) * math.log(2 / TARGET) / 2
    out["chebyshev"] = (
        f"{info.matvecs} (err {oracle.error(x):.1e}, {info.matvecs / (2 * theory):.2f}x theory)"
    )
    x, info = lanczos_apply(H, g, "inv_abs", rtol=TARGET, full_output=True)
    first = lanczos_first_hit(H, g, oracle, lambda t: 1 / np.abs(t), 1, 10 * H.shape[0])
    ratio = "" if first is None else f", {info.matvecs / first:.2f}x first hit"
    out["lanczos 1/abs(x)"] = f"{info.matvecs} (err {oracle.error(x):.1e}{ratio})"
    out["lanczos first hit"] = fmt(first, 10 * H.shape[0])
    H2 = H @ H
    out["lanczos H^2 first hit"] = fmt(
        lanczos_first_hit(H2, g, oracle, lambda t: 1 / np.sqrt(np.abs(t)), 2, 20 * H.shape[0]),
        20 * H.shape[0],
    )
    for restart in (20, 100):
        matvecs, error = scipy_krylov(H, g, oracle, restart)
        out[f"scipy m={restart}"] = f"{matvecs} (err {error:.1e})"
    return out


def markdown(rows: list[dict]) -> list[str]:
    """Transpose: one row per method, one column per problem."""
    problems = [row["problem"] for row in rows]
    methods = [key for key in rows[0] if key != "problem"]
    lines = ["| method | " + " | ".join(problems) + " |", "|---" * (len(problems) + 1) + "|"]
    lines += ["| " + m + " | " + " | ".join(str(row[m]) for row in rows) + " |" for m in methods]
    return lines


def overhead_table(config: Config) -> list[str]:
    """Median over repeats of (series time) / (bare matvec time), interleaved in one process.

    Two series timings: on an operator built once with :func:`matfun.as_operator`
    (the per-term cost: recurrence, norms, the finiteness check of every product),
    and on the raw array (adds the one-off validation of the matrix: finiteness and
    symmetry, each a pass over all n^2 entries).
    """
    rng = np.random.default_rng(3)
    a = rng.standard_normal((config.overhead_n, config.overhead_n))
    H = (a + a.T) / 2
    g = rng.standard_normal(config.overhead_n)
    op = matfun.as_operator(H, like=g)
    scale = 4.0 * config.overhead_n  # above lambda_max^2 / 2 of this Wigner matrix (~2 n)
    matvecs = 2 * config.overhead_terms

    def bare():
        for _ in range(matvecs):
            H @ g  # each product on the same vector: no overflow from chaining

    def timed(fn):
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    prebuilt, raw = [], []
    for _ in range(config.repeats):
        reference = timed(bare)
        prebuilt.append(
            timed(lambda: matfun.inv_sqrt_series(op, g, terms=config.overhead_terms, scale=scale))
            / reference
        )
        raw.append(
            timed(lambda: matfun.inv_sqrt_series(H, g, terms=config.overhead_terms, scale=scale))
            / reference
        )
    lines = [
        "| n | terms | matvecs | input | median ratio series / bare | min | max |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, ratios in (
        ("operator built once", prebuilt),
        ("raw array (validated per call)", raw),
    ):
        lines.append(
            f"| {config.overhead_n} | {config.overhead_terms} | {matvecs} | {label} | "
            f"{statistics.median(ratios):.3f} | {min(ratios):.3f} | {max(ratios):.3f} |"
        )
    return lines


def memory_table(config: Config, order: int = 2) -> list[str]:
    rng = np.random.default_rng(4)
    vector_bytes = config.memory_n * 8
    terms = [rng.standard_normal(config.memory_n) for _ in range(3)]
    accelerator = accel.accelerator("sablonniere", order=order)
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for m in range(config.memory_terms):
        accelerator.push(terms[m % 3] * (1.0 + 0.5**m))
        accelerator.result()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return [
        "| vector length | order N | terms pushed | held after run (vectors) | peak (vectors) "
        "| target 2N+4 |",
        "|---|---|---|---|---|---|",
        f"| {config.memory_n} | {order} | {config.memory_terms} "
        f"| {(current - base) / vector_bytes:.2f} | {(peak - base) / vector_bytes:.2f} "
        f"| {2 * order + 4} |",
    ]


def environment() -> list[str]:
    import array_api_compat

    return [
        f"- machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}, "
        f"array-api-compat {array_api_compat.__version__}",
        f"- date: {time.strftime('%Y-%m-%d')}",
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, seconds")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="markdown file to write (default docs/benchmarks.md; none in --quick)",
    )
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    output = args.output or (
        None if args.quick else Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
    )
    started = time.perf_counter()
    sections = [
        "# Benchmarks",
        "",
        "Written by `python benchmarks/bench_inv_sqrt.py`"
        + (" --quick" if args.quick else "")
        + ".",
        "",
        *environment(),
        "",
    ]
    sections += [
        "## Matvecs to relative error 1e-6 in abs(H)^{-1} g",
        "",
        MATVEC_NOTE,
        "",
        *matvec_table(config),
        "",
    ]
    sections += ["## Overhead of the series over bare matvecs", "", *overhead_table(config), ""]
    sections += ["## Memory of streaming Sablonniere", "", *memory_table(config), ""]
    sections += [f"Total benchmark time: {time.perf_counter() - started:.0f} s.", ""]
    text = "\n".join(sections)
    print(text)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        print(f"written to {output}", file=sys.stderr)
    return 0


MATVEC_NOTE = (
    "Each cell is the number of matvecs (`H v` products) at which the method's output first "
    "has relative error at most 1e-6 against the eigendecomposition oracle; `>N` means the "
    "budget of N matvecs ran out first. Series rows use V = lambda_max(H^2) (1 + 1e-12); "
    "accelerated rows feed every partial sum of that series to the streaming accelerator "
    "`accel.accelerator(method, order=N)` and test its estimate after each term. "
    "Chebyshev and `lanczos 1/abs(x)` stop by their own tolerance rule (tol = 1e-6) and show "
    "the error they reached; `first hit` rows are oracle-stopped Lanczos with full "
    "reorthogonalisation; SciPy rows are `funm_multiply_krylov` with restart length m."
)

if __name__ == "__main__":
    raise SystemExit(main())

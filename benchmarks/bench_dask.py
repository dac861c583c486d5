"""Dask on a ``dask.distributed`` cluster: the cost of a series term and a Lanczos step.

The operator is a sparse symmetric indefinite stencil on ``n`` unknowns chunked across
two worker processes (one chunk each, ``map_overlap`` with a halo of one entry):

    (H v)_i = d_i v_i + 0.1 (v_{i-1} + v_{i+1}),   |d_i| in [1, 2], every third d_i < 0,

so ``|lambda(H)|`` lies in [0.8, 2.2]. It reaches the library as a callable whose
matvec is a Dask computation. For ``n`` in ``--sizes`` the script times
``inv_sqrt_series`` (fixed ``V = 2.2^2``, ``T`` terms) and ``lanczos_apply`` (``T``
steps) for ``T`` in ``--steps``, next to ``T`` bare matvecs (each persisted, as the
methods do), and prints the time per term/step: constant in ``T`` means the cost is
linear in the number of terms. Then, at ``--before-size`` unknowns, the series through
the callable with the kept vectors persisted (now) and without (``settle`` replaced by
the identity in the modules that call it, as before the fix): the graph of each term
then holds every earlier term, and the time grows quadratically.

Prints the tables and writes them into ``docs/dask.md`` (between its
``bench_dask`` markers; ``--output`` names another page).

    python benchmarks/bench_dask.py                  # 10^6: 5/10/20 steps; before/after
    python benchmarks/bench_dask.py --sizes 10000000 --steps 3 6 --before-size 0
    python benchmarks/bench_dask.py --quick          # 10^4: a smoke test

The default run takes about a minute on an idle multi-core machine (several on a
loaded one: every host decision is a round trip to the scheduler).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "dask.md"
START, END = "<!-- bench_dask: start -->", "<!-- bench_dask: end -->"
COUPLING = 0.1
LAMBDA_MAX = 2.0 + 2 * COUPLING
# The modules that settle the vectors the series keeps (the "before" run undoes it).
SETTLING_MODULES = ("matfun._engine", "matfun._driver", "matfun.operators",
                    "matfun._operator_deferred")


def _stencil_block(v, d):
    """``d v + c (v shifted left + right)`` on a block with a halo of one entry."""
    out = d * v
    out[1:] += COUPLING * v[:-1]
    out[:-1] += COUPLING * v[1:]
    return out


def stencil_problem(client, n, seed=0):
    """``(matvec, g)``: the stencil as a Dask callable and a right-hand side, chunked in two."""
    import dask.array as da

    chunks = (n + 1) // 2
    rng = da.random.default_rng(seed)
    magnitude = rng.uniform(1.0, 2.0, size=n, chunks=chunks)
    signs = da.where(da.arange(n, chunks=chunks) % 3 == 0, -1.0, 1.0)
    diagonal = client.persist(magnitude * signs)
    g = client.persist(rng.standard_normal(n, chunks=chunks))

    def matvec(v):
        return da.map_overlap(_stencil_block, v, diagonal, depth=1, boundary=0.0,
                              dtype=v.dtype, meta=np.array((), dtype=v.dtype))

    return matvec, g


def _wait(x):
    from dask.distributed import wait

    wait(x.persist())


def time_series(matvec, g, terms):
    import matfun

    start = time.perf_counter()
    x = matfun.inv_sqrt_series(matvec, g, terms=terms, scale=LAMBDA_MAX**2)
    _wait(x)
    return time.perf_counter() - start


def time_lanczos(matvec, g, steps):
    import matfun

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a fixed number of steps does not converge
        x = matfun.lanczos_apply(matvec, g, "inv_abs", rtol=1e-14, max_matvecs=steps)
    _wait(x)
    return time.perf_counter() - start


def time_matvecs(matvec, g, count):
    """``count`` chained matvecs, each persisted and checked finite (one reduction)."""
    import dask.array as da

    start = time.perf_counter()
    v = g
    for _ in range(count):
        v = (matvec(v) / LAMBDA_MAX).persist()
        bool(da.isfinite(v).all())
    return time.perf_counter() - start


class _NoSettle:
    """Within: ``settle`` is the identity in the series' modules (the code before the fix)."""

    def __enter__(self):
        self.saved = {}
        for name in SETTLING_MODULES:
            module = importlib.import_module(name)
            self.saved[name] = module.settle
            module.settle = lambda x: x
        return self

    def __exit__(self, *exc):
        for name, function in self.saved.items():
            importlib.import_module(name).settle = function


def scaling_table(client, sizes, steps):
    rows = ["| n | T | matvecs: T bare (s) | series: T terms (s) | per term (ms) "
            "| lanczos: T steps (s) | per step (ms) |", "|---|---|---|---|---|---|---|"]
    for n in sizes:
        matvec, g = stencil_problem(client, n)
        time_series(matvec, g, 2)  # warm-up: imports, first graphs
        for count in steps:
            bare = time_matvecs(matvec, g, count)
            series = time_series(matvec, g, count)  # 2T matvecs (H^2)
            lanczos = time_lanczos(matvec, g, count)
            rows.append(f"| {n:.0e} | {count} | {bare:.2f} | {series:.2f} "
                        f"| {1e3 * series / count:.0f} | {lanczos:.2f} "
                        f"| {1e3 * lanczos / count:.0f} |")
            print(rows[-1], flush=True)
        del matvec, g
    return rows


def before_after_table(client, n, steps, before_steps):
    matvec, g = stencil_problem(client, n)
    time_series(matvec, g, 2)
    rows = ["| terms | persisted (now) (s) | not persisted (before) (s) |", "|---|---|---|"]
    for count in steps:
        now = time_series(matvec, g, count)
        before = "--"
        if count in before_steps:
            with _NoSettle():
                before = f"{time_series(matvec, g, count):.2f}"
        rows.append(f"| {count} | {now:.2f} | {before} |")
        print(rows[-1], flush=True)
    return rows


def _write_between_markers(path, text):
    """Replace the marked section of ``path`` (a new file holds the section alone)."""
    page = path.read_text(encoding="utf-8") if path.exists() else ""
    if START in page and END in page:
        head, rest = page.split(START, 1)
        page = head + text + rest.split(END, 1)[1]
    else:
        page = page + ("\n" if page else "") + text + "\n"
    path.write_text(page, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**6])
    parser.add_argument("--steps", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--before-size", type=int, default=10**5, help="0: skip")
    parser.add_argument("--before-steps", type=int, nargs="+", default=[5, 10, 20, 40])
    parser.add_argument("--before-max", type=int, default=10,
                        help="largest term count run without persisting (quadratic)")
    parser.add_argument("--quick", action="store_true", help="n = 10^4: a smoke test")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.steps, args.before_size = [10**4], [3, 6], 10**4
        args.before_steps, args.before_max = [3, 6], 6
    from dask.distributed import Client, LocalCluster

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        print("Time per series term (2 matvecs) and Lanczos step (1 matvec):")
        scaling = scaling_table(client, args.sizes, args.steps)
        before = []
        if args.before_size:
            print(f"\nThe series through a Dask callable at n = {args.before_size:.0e}:")
            before = before_after_table(client, args.before_size, args.before_steps,
                                        [s for s in args.before_steps
                                         if s <= args.before_max])
    lines = [START, "<!-- written by benchmarks/bench_dask.py; do not edit -->", "",
             "Time per series term and Lanczos step (2 worker processes, one chunk each):",
             "", *scaling, ""]
    if before:
        lines += [f"The series through a Dask callable at n = {args.before_size:.0e}, with "
                  "and without the kept vectors persisted:", "", *before, ""]
    text = "\n".join([*lines, END])
    _write_between_markers(args.output, text)
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

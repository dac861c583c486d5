"""Where the accelerated series stops, and how wrong it is there (issue 14).

For every accelerator of :func:`accel.methods` at orders 1-4 (and the plain series),
on dense random indefinite ``n x n`` matrices with ``|eigenvalues|`` geometric in
``[1, kappa]``: the matvecs spent when :func:`matfun.inv_sqrt_series` stops with
``rtol`` (or reaches ``max_matvecs``), whether it reported convergence, and the true
relative error against ``numpy.linalg.eigh``. A row with ``converged = yes`` and an
error above ``10 rtol`` would be a dishonest stop.

Usage::

    python -m benchmarks.bench_accelerated_stop            # n = 400, about a minute
    python -m benchmarks.bench_accelerated_stop --quick    # n = 100, a few seconds

The table is printed and written to ``docs/bench_accelerated_stop_results.md``.
"""

from __future__ import annotations

import argparse
import pathlib
import time
import warnings

import numpy as np

import accel
import matfun

RESULTS = (pathlib.Path(__file__).resolve().parent.parent / "docs"
           / "bench_accelerated_stop_results.md")


def problem(n: int, kappa: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eigenvalues = rng.choice([-1.0, 1.0], n) * np.geomspace(1.0, kappa, n)
    H = (q * eigenvalues) @ q.T
    g = rng.standard_normal(n)
    return (H + H.T) / 2, g, q @ ((q.T @ g) / np.abs(eigenvalues))


def run(H, g, exact, rtol, method, order, max_matvecs):
    options = {} if method is None else {"accelerate": method, "order": order}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", matfun.SeriesConvergenceWarning)
        x, info = matfun.inv_sqrt_series(H, g, rtol=rtol, max_matvecs=max_matvecs,
                                         full_output=True, **options)
    error = np.linalg.norm(x - exact) / np.linalg.norm(exact)
    return info, error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 100, small budget")
    args = parser.parse_args()
    n = 100 if args.quick else 400
    budgets = {10.0: 6000, 100.0: 2000 if args.quick else 12000}
    rows = []
    dishonest = 0
    start = time.perf_counter()
    for kappa, max_matvecs in budgets.items():
        H, g, exact = problem(n, kappa)
        for rtol in (1e-4, 1e-6):
            cases = [(None, 0)] + [(m, o) for m in accel.methods() for o in range(1, 5)]
            for method, order in cases:
                info, error = run(H, g, exact, rtol, method, order, max_matvecs)
                bad = info.converged and error > 10 * rtol
                dishonest += bad
                rows.append((kappa, rtol, "plain" if method is None else f"{method}-{order}",
                             info.matvecs, "yes" if info.converged else "no",
                             "accelerated" if info.accelerated else "partial sum",
                             error, info.error_estimate, "DISHONEST" if bad else ""))
    elapsed = time.perf_counter() - start
    header = ("| kappa | rtol | method | matvecs at stop | converged | returned | true error "
              "| estimate | |\n|---|---|---|---|---|---|---|---|---|")
    lines = [header] + [
        f"| {k:g} | {r:g} | {name} | {mv} | {c} | {ret} | {e:.2e} | {est:.2e} | {flag} |"
        for k, r, name, mv, c, ret, e, est, flag in rows
    ]
    text = "\n".join([
        "---",
        "orphan: true",  # linked from mathematics.md, not in a toctree
        "---",
        "",
        "# Accelerated stop: matvecs and true error (issue 14)",
        "",
        f"Dense n = {n}, |eigenvalues| geometric in [1, kappa], random signs, seed 0; "
        f"`max_matvecs` = {budgets}; `python -m benchmarks.bench_accelerated_stop"
        f"{' --quick' if args.quick else ''}` ({elapsed:.0f} s). A converged row must have "
        "true error <= 10 rtol; dishonest rows: "
        f"{dishonest}.",
        "",
        *lines,
        "",
    ])
    print(text)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()

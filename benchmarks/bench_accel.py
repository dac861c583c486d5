r"""Benchmark of :mod:`accel`: honesty on the classic set, scalar speed, streaming cost.

Run from the repository root::

    python benchmarks/bench_accel.py            # writes docs/bench_accel.md (about a minute)
    python benchmarks/bench_accel.py --quick    # seconds; what the test suite runs
    python benchmarks/bench_accel.py --memory 1000000   # the memory table (section 5)

Tables (issue 10):

1. **Honesty** on :mod:`accel.testing` (31 sequences, every length from 3): runs,
   CONVERGED runs, CONVERGED runs whose true error exceeds 3x the reported one
   above rounding (the rule: 0), and the worst under-report of any status.
2. **Scalar speed**: 20 terms of the alternating harmonic series (1-D float64), the
   checked batch call (``full_output=True``; the fast path of :mod:`accel._scalar`:
   one table for the sequence and its three prefixes, the two perturbed copies
   stacked with it), the general checked path (six transforms, see
   :mod:`accel._honest`; same results bit for bit), the bare transform, and mpmath
   at 15 digits (``mpmath.shanks`` table + last entry, ``mpmath.levin(method="levin",
   variant=...).update_psum``). Goal (issue 10): mpmath / checked >= 10.
3. **Streaming push** of the epsilon algorithms on vectors of ``10^6`` float64, in
   units of one axpy-equivalent (BLAS ``daxpy``, ``y += a x``: three passes, no
   temporary), CPU time (``time.process_time``, one BLAS thread), medians; each
   push and ``result()`` is timed next to an axpy on the same vectors. The floor: a
   new entry of the Samelson table, ``e_c = e_{c-2} + w d / ||d||^2`` with
   ``d = e_{c-1}^{new} - e_{c-1}^{old}``, reads two vectors and writes one to form
   ``d``, reads ``d`` once for its norm, reads two and writes one for ``e_c``:
   seven passes, 7/3 axpy; order ``N`` builds ``2N`` entries per push
   (``28/3 = 9.3`` axpy at ``N = 2``). ``result()`` is the checked transform of
   the newest ``2N + 4`` terms (:mod:`accel._stream_check`).
5. **Streaming memory** (``--memory N``, not in the default run: slow at large
   ``N``): ``tracemalloc`` peaks of every streaming accelerator, in vectors.
4. **Richardson against mpmath** (``mpmath.richardson`` at 15 digits) on mpmath's
   examples: zeta(4), zeta(2), the product ``prod (1 + 1/k^2)`` and Leibniz's pi
   series, at 10, 20 and 40 terms; the default order is mpmath's ``m // 2 - 1``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

# One BLAS thread: the axpy unit and the tables' norms measure memory passes, not threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after the thread setting)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import accel  # noqa: E402  (after the path)
from accel._registry import window_size  # noqa: E402
from accel.testing import classic_table  # noqa: E402


def _time(call, repeats: int) -> float:
    """Best of ``repeats`` timings of ``call()`` in seconds (after one warm-up)."""
    call()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def honesty_table(quick: bool) -> list[str]:
    methods = ("shanks", "levin", "richardson") if quick else accel.methods()
    rows = ["| method | runs | converged | dishonest converged | worst under-report (any status) |",
            "|---|---|---|---|---|"]
    total = dishonest_total = 0
    for method in methods:
        table = [row for _, row in classic_table([method], full_length_only=False)]
        converged = [r for r in table if r.status == "converged"]
        dishonest = [r for r in converged if not r.honest]
        worst = max(r.under_report for r in table)
        total += len(table)
        dishonest_total += len(dishonest)
        rows.append(f"| {method} | {len(table)} | {len(converged)} | {len(dishonest)} | "
                    f"{worst:.3g} |")
    rows.append(f"| all | {total} | | {dishonest_total} | |")
    return rows


def scalar_table(quick: bool) -> list[str]:
    import mpmath

    from accel._honest import honest

    partial = np.cumsum([(-1.0) ** k / (k + 1) for k in range(20)])
    with mpmath.workdps(15):
        terms = [mpmath.mpf(float(x)) for x in partial]
        reference = {
            "shanks": lambda: mpmath.shanks(terms)[-1][-1],
            "levin": lambda: mpmath.levin(method="levin", variant="t").update_psum(terms),
            "levin u": lambda: mpmath.levin(method="levin", variant="u").update_psum(terms),
        }
        repeats = 5 if quick else 30
        theirs = {name: _time(call, repeats) for name, call in reference.items()}
    # The general checked path (no fast path): the same wrapper without it.
    general = {"shanks": honest(accel.shanks.__wrapped__, table_scaling=True),
               "levin": honest(accel.levin.__wrapped__, translative=False)}
    rows = ["| method | checked (us) | general path (us) | bare transform (us) | "
            "mpmath dps=15 (us) | mpmath / checked |", "|---|---|---|---|---|---|"]
    for name, method, options in (("shanks", "shanks", {}), ("levin", "levin", {}),
                                  ("levin u", "levin", {"variant": "u"})):
        transform = getattr(accel, method)
        checked = _time(lambda t=transform, o=options: t(partial, full_output=True, **o),
                        repeats * 20)
        slow = _time(lambda g=general[method], o=options: g(partial, full_output=True, **o),
                     repeats)
        bare = _time(lambda t=transform, o=options: t.__wrapped__(partial, full_output=True, **o),
                     repeats)
        rows.append(f"| {name} | {checked * 1e6:.0f} | {slow * 1e6:.0f} | {bare * 1e6:.0f} | "
                    f"{theirs[name] * 1e6:.0f} | {theirs[name] / checked:.1f} |")
    return rows


def _axpy_unit(x, y):
    """CPU time of one ``y += a x`` (BLAS daxpy: two reads, one write) on ``x, y``."""
    from scipy.linalg.blas import daxpy

    start = time.process_time()
    daxpy(x, y, a=1e-300)  # in place on a contiguous float64 y; y barely changes
    return time.process_time() - start


def streaming_table(quick: bool) -> list[str]:
    n = 50_000 if quick else 1_000_000
    grid = np.linspace(0.0, 1.0, n)
    terms = [1.0 + 0.7 ** m + 0.3 ** m * grid for m in range(20)]
    x, y = terms[0].copy(), terms[1].copy()
    rows = []
    for method in ("sablonniere", "shanks"):
        for order in ((2,) if quick else (1, 2, 3)):
            units, pushes, results = [], [], []
            # Pushes alone (the cost of streaming), then result() after each push of
            # one more stream. Each timing sits next to an axpy, so that both see the
            # same machine load (it is shared); medians of each.
            for check in [False] * (1 if quick else 3) + [True]:
                stream = accel.accelerator(method, order=order)
                for term in terms[:2 * order + 4]:  # fill the table and the window
                    stream.push(term)
                for term in terms[2 * order + 4:]:
                    units.append(_axpy_unit(x, y))
                    start = time.process_time()
                    stream.push(term)
                    _ = stream.live_vectors  # the table is built when read: enter the term
                    elapsed = time.process_time() - start
                    if not check:
                        pushes.append(elapsed)
                        continue
                    start = time.process_time()
                    stream.result()
                    results.append(time.process_time() - start)
            unit = statistics.median(units)
            rows.append((method, order, unit, statistics.median(pushes) / unit,
                         statistics.median(results) / unit))
    unit_ms = statistics.median(row[2] for row in rows) * 1e3
    lines = [f"n = {n} float64; CPU time (`time.process_time`, `OPENBLAS_NUM_THREADS=1`), "
             f"medians over {1 if quick else 3} streams' pushes (10 to 14 each) and one "
             "stream's `result()` after each push; one "
             f"axpy-equivalent (BLAS `daxpy`, `y += a x` on two of the same vectors, timed "
             f"next to each push) = {unit_ms:.2f} ms. Floor: 7 memory passes per new entry "
             "(form the difference: read 2, write 1; its norm: read 1; "
             "`e_c = e_{c-2} + w d / ||d||^2`: read 2, write 1), 2N entries per push, "
             "in axpy units of 3 passes: 14N/3; 8 passes (16N/3) if the entry's own norm, "
             "which the next difference's near-zero test reads, is counted. The code makes "
             "10 passes per entry (the weighted inverse is scaled in place before the add, "
             "+2, because a fused multiply-add would round differently from the batch form; "
             "+1 for the entry's norm; all in buffers the stream recycles, no allocation) "
             "and 1 per push (the term's norm): (20N + 1)/3 axpy, 13.7 at N = 2. "
             "`result()`: the checked transform (accel._stream_check), once per push.", "",
             "| method | order | push (axpy) | floor (axpy) | push / floor | "
             "push / floor with norms | result() (axpy) |", "|---|---|---|---|---|---|---|"]
    for method, order, _, push, result in rows:
        floor, with_norms = 2 * order * 7 / 3, 2 * order * 8 / 3
        lines.append(f"| {method} | {order} | {push:.1f} | {floor:.1f} | "
                     f"{push / floor:.2f} | {push / with_norms:.2f} | {result:.0f} |")
    return lines


def memory_table(n: int, methods: tuple[str, ...]) -> list[str]:
    """Traced memory of every streaming accelerator, in vectors of ``n`` float64."""
    import gc
    import tracemalloc

    vector = 8 * n
    grid = np.linspace(0.0, 1.0, n)
    lines = [f"n = {n} float64 (one vector = {vector / 1e6:.0f} MB); `tracemalloc` "
             "(NumPy reports its buffers to it). Each term is a fresh array whose "
             "only reference after `push` is the stream's (as in an iteration that "
             "makes a new iterate each step). Held: after the last push; peaks: during "
             "a push (the new term included) and during `result()`; window: the terms "
             "the stream keeps (`accel.window_size`).", "",
             "| method | order | window | held | peak push | peak result() |",
             "|---|---|---|---|---|---|"]
    for method in methods:  # warm-up: imports and caches, not counted
        for order in (1, 2):
            warm = accel.accelerator(method, order=order)
            for m in range(window_size(method, order) + 2):
                warm.push(np.full(16, 1.0 + 0.7 ** m))
            warm.result()
    for method in methods:
        for order in (1, 2):
            gc.collect()
            tracemalloc.start()
            try:
                stream = accel.accelerator(method, order=order)
                base = tracemalloc.get_traced_memory()[0]
                push_peak = 0
                for m in range(window_size(method, order) + 2):
                    term = np.multiply(grid, 0.3 ** m)
                    term += 1.0 + 0.7 ** m
                    tracemalloc.reset_peak()
                    stream.push(term)
                    getattr(stream, "live_vectors", None)  # epsilon tables: built when read
                    del term
                    push_peak = max(push_peak, tracemalloc.get_traced_memory()[1] - base)
                held = tracemalloc.get_traced_memory()[0] - base
                tracemalloc.reset_peak()
                result = stream.result()
                result_peak = tracemalloc.get_traced_memory()[1] - base
                del result, stream
            finally:
                tracemalloc.stop()
            lines.append(f"| {method} | {order} | {window_size(method, order)} | "
                         f"{held / vector:.1f} | {push_peak / vector:.1f} | "
                         f"{result_peak / vector:.1f} |")
            print(lines[-1], flush=True)
    return lines


def richardson_table() -> list[str]:
    import mpmath

    with mpmath.workdps(40):
        cases = {
            "zeta(4)": (lambda k: 1.0 / k ** 4, "sum", float(mpmath.zeta(4))),
            "zeta(2)": (lambda k: 1.0 / k ** 2, "sum", float(mpmath.zeta(2))),
            "prod (1 + 1/k^2)": (lambda k: 1.0 + 1.0 / k ** 2, "product",
                                 float(mpmath.sinh(mpmath.pi) / mpmath.pi)),
            "Leibniz 4 sum (-1)^k/(2k+1)": (lambda k: 4.0 * (-1.0) ** (k - 1) / (2 * k - 1),
                                            "sum", float(mpmath.pi)),
        }
    rows = ["| sequence | terms | ours: true error | ours: reported | status | "
            "mpmath: true error | full order m-1: true error |", "|---|---|---|---|---|---|---|"]
    for name, (term, kind, limit) in cases.items():
        for m in (10, 20, 40):
            values = np.array([term(k) for k in range(1, m + 1)])
            seq = np.cumsum(values) if kind == "sum" else np.cumprod(values)
            ours = accel.richardson(seq, full_output=True)
            full = accel.richardson(seq, order=m - 1)
            with mpmath.workdps(15):
                theirs, _ = mpmath.richardson([mpmath.mpf(float(s)) for s in seq])
            rows.append(f"| {name} | {m} | {abs(float(ours.estimate) - limit):.2e} | "
                        f"{ours.error:.2e} | {ours.status.value} | "
                        f"{abs(float(theirs) - limit):.2e} | {abs(float(full) - limit):.2e} |")
    return rows


MEMORY_TITLE = "Streaming memory"


def _section(text: str, title: str, *, exact: bool = False) -> list[str]:
    """The lines of every section whose heading starts with (or is) ``## title``."""
    lines = text.splitlines()
    kept, inside = [], False
    for line in lines:
        if line.startswith("## "):
            inside = line == f"## {title}" if exact else line.startswith(f"## {title}")
        if inside:
            kept.append(line)
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds")
    parser.add_argument("--memory", type=int, metavar="N",
                        help="only the memory table at vectors of N float64 (N = 10**7: "
                             "about two minutes, 4 GB); replaces that section of --output")
    parser.add_argument("--methods", default=",".join(accel.methods()),
                        help="with --memory: comma-separated methods (default all)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "bench_accel.md")
    options = parser.parse_args(argv)
    previous = options.output.read_text() if options.output.exists() else ""
    if options.memory:
        methods = tuple(options.methods.split(","))
        rows = memory_table(options.memory, methods)
        command = f"--memory {options.memory}" + (
            f" --methods {options.methods}" if methods != accel.methods() else "")
        title = f"{MEMORY_TITLE}, n = {options.memory}"
        section = [f"## {title}", "",
                   f"Written by `python benchmarks/bench_accel.py {command}`.",
                   "", *rows, ""]
        old = _section(previous, title, exact=True)
        text = (previous.replace("\n".join(old), "\n".join(section)) if old
                else previous.rstrip("\n") + "\n\n" + "\n".join(section))
        options.output.write_text(text)
        return 0
    sections = [
        ("Honesty on the classic set (accel.testing, float64)", honesty_table(options.quick)),
        ("Scalar speed: 20 terms, alternating harmonic series", scalar_table(options.quick)),
        ("Streaming push on long vectors", streaming_table(options.quick)),
        ("Richardson against mpmath (default orders)", richardson_table()),
    ]
    machine = (f"{platform.machine()}, Python {platform.python_version()}, "
               f"NumPy {np.__version__}")
    # orphan: linked from docs/accelerators.md, not from a toctree.
    lines = ["---", "orphan: true", "---", "", "# accel benchmark", "",
             f"Written by `python benchmarks/bench_accel.py{' --quick' if options.quick else ''}`"
             f" ({machine}). Scalar timings are best-of-several wall times, streaming ones "
             "CPU-time medians, on a shared machine.", ""]
    for title, rows in sections:
        print(f"\n{title}\n" + "\n".join(rows))
        lines += [f"## {title}", "", *rows, ""]
    # The memory table is slow to make: kept from the previous report (see --memory).
    kept = _section(previous, MEMORY_TITLE)
    if kept:
        lines += [*kept, ""] if kept[-1] else kept
    options.output.write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

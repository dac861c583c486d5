r"""Benchmark of :mod:`accel`: honesty on the classic set, scalar speed, streaming cost.

Run from the repository root::

    python benchmarks/bench_accel.py            # writes docs/bench_accel.md (about a minute)
    python benchmarks/bench_accel.py --quick    # seconds; what the test suite runs

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
   units of one axpy-equivalent (``y += x`` in place, the memory traffic of
   ``y += a x``: three passes, no temporary). The floor: a new entry
   of the Samelson table, ``e_c = e_{c-2} + w d / ||d||^2`` with
   ``d = e_{c-1}^{new} - e_{c-1}^{old}``, reads two vectors and writes one to form
   ``d``, reads ``d`` once for its norm, reads two and writes one for ``e_c``:
   seven passes, 7/3 axpy; order ``N`` builds ``2N`` entries per push
   (``28/3 = 9.3`` axpy at ``N = 2``); the least disturbed of several pushes is
   reported. ``result()`` (the checked batch transform of the newest ``2N + 4``
   terms: six tables) is timed apart.
4. **Richardson against mpmath** (``mpmath.richardson`` at 15 digits) on mpmath's
   examples: zeta(4), zeta(2), the product ``prod (1 + 1/k^2)`` and Leibniz's pi
   series, at 10, 20 and 40 terms; the default order is mpmath's ``m // 2 - 1``.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import accel  # noqa: E402  (after the path)
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


def streaming_table(quick: bool) -> list[str]:
    n = 50_000 if quick else 1_000_000
    grid = np.linspace(0.0, 1.0, n)
    terms = [1.0 + 0.7 ** m + 0.3 ** m * grid for m in range(18)]
    x, y = terms[0].copy(), terms[1].copy()

    def axpy() -> float:
        start = time.perf_counter()
        np.add(y, x, out=y)  # the memory traffic of y += a x: two reads, one write
        return time.perf_counter() - start

    # Each push is timed right after one axpy, so that both see the same machine
    # load (it is shared); the least disturbed of each is kept.
    units: list[float] = []
    measured = []
    for method in ("sablonniere", "shanks"):
        for order in ((2,) if quick else (1, 2, 3)):
            timings = []
            for _ in range(1 if quick else 4):
                stream = accel.accelerator(method, order=order)
                for term in terms[:2 * order + 4]:  # fill the table and the window
                    stream.push(term)
                for term in terms[2 * order + 4:]:
                    units.append(axpy())
                    start = time.perf_counter()
                    stream.push(term)
                    timings.append(time.perf_counter() - start)
            units.append(axpy())
            result = _time(stream.result, 1)
            measured.append((method, order, min(timings), result))
    unit = min(units)
    rows = [f"n = {n}; one axpy-equivalent = {unit * 1e3:.2f} ms. Each push is timed next "
            "to an axpy and the least disturbed is kept; on a loaded machine single rows "
            "still vary by 2-3x between runs, and the unit (two vectors) may sit in cache "
            "where the table (2N + 1 vectors) does not. Memory passes of one Samelson entry: "
            "10 (the difference 3, its norm 1, the weighted inverse in one scaling 2, the "
            "add 3, the new entry's norm 1, which is also its finiteness test), plus 2 per "
            "push (the term's norm, the step ratio): (20N + 2) / 3 axpy, 14 at N = 2.", "",
            "| method | order | push (axpy) | floor (axpy) | push / floor | result() (axpy) |",
            "|---|---|---|---|---|---|"]
    for method, order, push, result in measured:
        floor = 2 * order * 7 / 3
        rows.append(f"| {method} | {order} | {push / unit:.1f} | {floor:.1f} | "
                    f"{push / unit / floor:.2f} | {result / unit:.0f} |")
    return rows


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "bench_accel.md")
    options = parser.parse_args(argv)
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
             f" ({machine}). Timings are best-of-several wall times on a shared machine.", ""]
    for title, rows in sections:
        print(f"\n{title}\n" + "\n".join(rows))
        lines += [f"## {title}", "", *rows, ""]
    options.output.write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

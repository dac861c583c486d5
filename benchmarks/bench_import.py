"""Time ``import matfun, accel`` against ``import numpy`` in fresh interpreters.

Prints a table and writes ``docs/bench_import.md``. Each sample is a new process
(so nothing is cached in ``sys.modules``); the median of ``--runs`` samples is kept.

    python benchmarks/bench_import.py [--runs 15]
"""

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

PROBE = """
import time
t0 = time.perf_counter(); import numpy; t1 = time.perf_counter()
import matfun, accel; t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def sample() -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    samples = [sample() for _ in range(runs)]
    numpy_s = statistics.median(s[0] for s in samples)
    ours_s = statistics.median(s[1] for s in samples)
    ratio = statistics.median((s[0] + s[1]) / s[0] for s in samples)
    rows = [
        "| import | median time (ms) |",
        "|---|---|",
        f"| `numpy` | {1e3 * numpy_s:.0f} |",
        f"| `matfun, accel` after numpy | {1e3 * ours_s:.0f} |",
        f"| ratio (numpy + ours) / numpy | {ratio:.2f} |",
    ]
    table = "\n".join(rows)
    print(table)
    page = ("---\norphan: true\n---\n\n# Import time\n\n"
            f"`python benchmarks/bench_import.py --runs {runs}`, median of fresh "
            "interpreters. SciPy's signal, special, fft and linalg submodules, mpmath, "
            "matplotlib and tqdm load on first use (`tests/test_import.py` keeps it so).\n\n"
            + table + "\n")
    Path(__file__).resolve().parents[1].joinpath("docs", "bench_import.md").write_text(page)


if __name__ == "__main__":
    main()

"""The accelerator status fuzz (``benchmarks/fuzz_accel.py --quick``) finds nothing.

Its oracles are independent of :mod:`accel`: closed-form limits, mpmath at 50 digits,
and "no limit" for drifting, growing and oscillating sequences. Zero wrong CONVERGED,
NaN/inf, unclear exceptions and hangs over the 16 seeded quick sequences (every
method, a random order 1..3 per stream, each status-changing option).
"""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz_accel.py"


def test_quick_fuzz_finds_nothing():
    spec = importlib.util.spec_from_file_location("fuzz_accel", SCRIPT)
    fuzz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fuzz)
    counts, notes = fuzz.fuzz(0, 16, quick=True)
    _, total = fuzz.table(counts)
    assert total["cases"] > 250  # every method streamed every sequence (and batch runs)
    assert total["converged"] > 0  # and some CONVERGED claims were judged
    bad = {column: total[column] for column in fuzz.BAD}
    found = [note for rows in notes.values() for note in rows
             if note.split(":")[0] in fuzz.BAD]
    assert not any(bad.values()), (bad, found[:5])

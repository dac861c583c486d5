"""``import matfun, accel`` stays light: the heavy optional modules load on first use.

Deterministic (which modules are loaded), not timed: the time itself is measured by
``benchmarks/bench_import.py``.
"""

import subprocess
import sys

import pytest

HEAVY = ["scipy.signal", "scipy.special", "scipy.fft", "scipy.stats", "scipy.linalg",
         "mpmath", "matplotlib", "tqdm", "hypothesis"]


@pytest.mark.parametrize("module", HEAVY)
def test_import_does_not_load(module):
    code = f"import sys, matfun, accel; print({module!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False", f"import matfun, accel loads {module}"

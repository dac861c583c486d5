"""benchmarks/bench_overhead.py --quick runs in the suite so that the script never rots."""

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_overhead.py"


def test_quick_overhead_benchmark_writes_its_table(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_overhead", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    output = tmp_path / "overhead.md"
    assert module.main(["--quick", "--output", str(output)]) == 0
    text = output.read_text()
    rows = [line.split("|") for line in text.splitlines() if line.startswith("| dense")
            or line.startswith("| sparse")]
    methods = {row[3].strip() for row in rows}
    assert methods == {"series", "series, check=False", "series + sablonniere", "chebyshev"}
    for row in rows:
        matvecs, *times = (float(cell) for cell in row[4:12])  # times and ratios
        assert matvecs > 0 and all(t > 0 for t in times), row
    assert "nan" not in text.lower()

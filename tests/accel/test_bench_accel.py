"""benchmarks/bench_accel.py runs in its quick mode, so that the script never rots."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_accel.py"


def test_quick_benchmark_writes_every_table(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_accel", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    output = tmp_path / "bench_accel.md"
    assert bench.main(["--quick", "--output", str(output)]) == 0
    text = output.read_text()
    for title in ("Honesty on the classic set", "Scalar speed", "Streaming push",
                  "Richardson against mpmath"):
        assert f"## {title}" in text
    # The honesty rule holds on the rows the quick mode computes: 0 dishonest.
    assert "| all |" in text and text.split("| all |")[1].split("|")[2].strip() == "0"


def test_memory_table_is_written(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_accel", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    output = tmp_path / "bench_accel.md"
    output.write_text("# accel benchmark\n")
    assert bench.main(["--memory", "20000", "--output", str(output)]) == 0
    section = bench._section(output.read_text(), bench.MEMORY_TITLE)
    assert section[0] == "## Streaming memory, n = 20000"
    # the header and every method at orders 1 and 2
    assert sum(line.startswith("| ") for line in section) == 1 + 2 * 11
    # the streaming rows hold O(1) vectors: their window, table and spares
    for line in section[section.index("|---|---|---|---|---|---|") + 1:]:
        if line.startswith("| "):
            window, held = (float(cell) for cell in line.split("|")[3:5])
            assert held <= 2 * window + 3

"""The benchmark's quick mode runs in the suite so that the script never rots."""

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_inv_sqrt.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("bench_inv_sqrt", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_quick_benchmark_writes_every_table(tmp_path, capsys):
    output = tmp_path / "benchmarks.md"
    assert load_benchmark().main(["--quick", "--output", str(output)]) == 0
    text = output.read_text()
    for heading in ("Matvecs to relative error 1e-6", "Overhead of the series",
                    "Memory of streaming Sablonniere"):
        assert heading in text
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    for method in ("series V=lmax^2", "sablonniere-2", "chebyshev", "lanczos 1/abs(x)",
                   "lanczos H^2 first hit", "scipy m=20"):
        assert method in rows, method
    assert "nan" not in text.lower()


def test_quick_benchmark_lanczos_needs_fewer_matvecs_than_the_series():
    bench = load_benchmark()
    H, eigenvalues, q = bench.indefinite_matrix(40, 10.0, seed=1)
    g = q[:, 0] + q[:, -1] + 0.1 * q[:, 7]
    oracle = bench.Oracle(eigenvalues, q, g)
    series = bench.series_matvecs(H, g, oracle, float(max(eigenvalues**2)), 20_000)
    lanczos = bench.lanczos_first_hit(H, g, oracle, lambda t: 1 / abs(t), 1, 400)
    # g has three eigencomponents: Lanczos is exact after 3 steps; the series is not.
    assert lanczos == 3
    assert series is not None and series > 10 * lanczos


def test_quick_front_door_fuzz_finds_nothing(capsys):
    # benchmarks/fuzz_front_door.py --quick (~10 s): 86 hostile cases over every public
    # front door; exit status 0 means no wrong "converged", unclear error, NaN/inf or hang.
    path = SCRIPT.parent / "fuzz_front_door.py"
    spec = importlib.util.spec_from_file_location("fuzz_front_door", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    status = module.main(["--quick", "--show", "0"])
    table = capsys.readouterr().out
    assert "| **total** |" in table and "accel (classic)" in table
    assert status == 0, table

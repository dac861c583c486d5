"""Wall and CPU time of the series and Chebyshev against bare loops with the same matvecs.

    python benchmarks/bench_overhead.py            # writes docs/bench_overhead.md (~1-2 min)
    python benchmarks/bench_overhead.py --quick    # small sizes, prints only (seconds)
    python benchmarks/bench_overhead.py --output results.md
    python benchmarks/bench_overhead.py --repeats 7   # more pairs on a busy machine
    python benchmarks/bench_overhead.py --min-time 1  # at least 1 s of pairs per row

One thread (``OPENBLAS_NUM_THREADS=1`` and friends are set before NumPy is imported),
medians of at least 3 runs after a warm-up, library and bare loop interleaved in one
process; a fast row runs more pairs, until its pairs have taken ``--min-time`` seconds
(default 1: a 6 ms call is moved by anything else on the machine, a median of many
pairs much less).
Operators (all with spectrum of ``H`` inside ``[1, 3]``, so the series converges in
about 150 terms):

* dense ``n = 1000, 2000``: ``H = 2 I + W``, ``W`` a symmetric Gaussian matrix scaled to
  spectral radius about 1 (no eigendecomposition needed to build it);
* sparse ``n = 10^5, 10^6``: ``H = I + L / 4`` with ``L`` the 5-point 2-D Laplacian
  (``scipy.sparse`` CSR, 5 nonzeros a row), handed over as the sparse matrix.

Rows:

* ``series``: :func:`matfun.inv_sqrt_series` with its defaults (adaptive ``V``,
  ``rtol = sqrt(eps)``); the bare loop spends the same number of matvecs on
  ``term = term - H (H term) / V; s += c_k term``.
* ``series, check=False``: the same on an operator built with
  ``as_operator(H, check=False)``, whose products are not checked for NaN/inf (the
  default checks the inner product ``H p`` of each term, one read pass over ``n``; the
  outer one is proven finite by the next term's norm, which the series computes anyway).
* ``series + sablonniere``: the same with ``accelerate="sablonniere"`` (order 1); the
  bare loop is the same plain recurrence with that run's matvec count (the accelerator's
  own vector arithmetic is part of the measured overhead).
* ``chebyshev``: :func:`matfun.chebyshev_inv_sqrt` on the exact interval of ``H^2``
  (``interval=(1, 9)``, so no certification matvecs), ``rtol = 1e-8``; the bare loop is
  the three-term recurrence ``T_{j+1} = 2 L T_j - T_{j-1}; x += c_j T_{j+1}`` with ``L`` the
  affine map of ``H^2`` onto ``[-1, 1]`` (two matvecs a step).
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matfun  # noqa: E402
from matfun.coefficients import binomial_coefficients  # noqa: E402

REPEATS = 3
MIN_TIME = 1.0  # seconds of pairs per row, at least
FULL_CASES = (("dense", 1000), ("dense", 2000), ("sparse", 100_000), ("sparse", 1_000_000))
QUICK_CASES = (("dense", 200), ("sparse", 10_000))


def dense_operator(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    w = (a + a.T) / (2.0 * np.sqrt(2.0 * n))  # GOE scaled: spectrum about [-1, 1]
    w[np.diag_indices(n)] += 2.0
    return w


def sparse_operator(n: int):
    m = int(round(np.sqrt(n)))
    n = m * m
    one = scipy.sparse.diags([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1])
    eye = scipy.sparse.identity(m)
    laplacian = scipy.sparse.kron(one, eye) + scipy.sparse.kron(eye, one)  # spectrum [0, 8]
    return (scipy.sparse.identity(n) + laplacian / 4.0).tocsr()


def timed(fn):
    """``(wall, cpu, value)`` of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def bare_series(H, g, matvecs: int, V: float):
    """The plain recurrence with ``matvecs`` products (two a term, one left over if odd)."""
    terms = matvecs // 2
    c = [float(v) for v in binomial_coefficients(0.5, terms + 1)]
    scale = V ** -0.5
    term = g
    s = c[0] * term
    for k in range(1, terms + 1):
        term = term - (H @ (H @ term)) / V
        s += c[k] * term
    if matvecs % 2:
        H @ g
    return scale * s


def bare_chebyshev(H, g, matvecs: int, lo: float, hi: float):
    """The three-term recurrence with ``matvecs // 2`` steps (coefficients are dummies)."""
    steps = matvecs // 2
    center, half = (hi + lo) / 2, (hi - lo) / 2
    a, b = 2.0 / half, -2.0 * center / half
    previous, current = g, (H @ (H @ g) - center * g) / half
    x = 0.5 * g + 0.1 * current
    for _ in range(2, steps + 1):
        following = a * (H @ (H @ current)) + b * current - previous
        x += 0.01 * following
        previous, current = current, following
    return x


def measure(library, bare_for, repeats: int = REPEATS, min_time: float = MIN_TIME):
    """Median wall/CPU of the library call and of its bare loop, after one untimed warm-up each.

    Timed runs alternate in pairs (bare loop first, then the library first, ...), so
    that neither side always runs right after the other has warmed the caches. At
    least ``repeats`` pairs, more while the pairs have taken less than ``min_time``
    seconds (at most 1000).
    """
    _, info = library()  # warm-up (imports, caches) and the matvec count for the bare loop
    bare_for(info)
    lib_wall, lib_cpu, bare_wall, bare_cpu = [], [], [], []
    started, repeat = time.perf_counter(), 0
    while repeat < repeats or (repeat < 1000 and time.perf_counter() - started < min_time):
        if repeat % 2 == 0:
            bare_wall_s, bare_cpu_s, _ = timed(lambda info=info: bare_for(info))
            w, c, (_, info) = timed(library)
        else:
            w, c, (_, info) = timed(library)
            bare_wall_s, bare_cpu_s, _ = timed(lambda info=info: bare_for(info))
        lib_wall.append(w)
        lib_cpu.append(c)
        bare_wall.append(bare_wall_s)
        bare_cpu.append(bare_cpu_s)
        repeat += 1
    med = statistics.median
    best_ratio = min(lib_cpu) / min(bare_cpu)
    return (info, med(lib_wall), med(lib_cpu), med(bare_wall), med(bare_cpu),
            med(lib_wall) / med(bare_wall), med(lib_cpu) / med(bare_cpu), best_ratio, repeat)


def case_rows(kind: str, n: int, repeats: int = REPEATS, min_time: float = MIN_TIME
              ) -> list[str]:
    H = dense_operator(n) if kind == "dense" else sparse_operator(n)
    n = H.shape[0]
    g = np.random.default_rng(1).standard_normal(n)
    op = matfun.as_operator(H, like=g)  # validated once, as a user who reuses it would
    unchecked = matfun.as_operator(H, like=g, check=False)  # products not validated
    rows = []

    def series_bare(info):
        return bare_series(H, g, info.matvecs, info.scale)

    runs = (
        ("series", lambda: matfun.inv_sqrt_series(op, g, full_output=True), series_bare),
        ("series, check=False",
         lambda: matfun.inv_sqrt_series(unchecked, g, full_output=True), series_bare),
        ("series + sablonniere",
         lambda: matfun.inv_sqrt_series(op, g, accelerate="sablonniere", full_output=True),
         series_bare),
        ("chebyshev",
         lambda: matfun.chebyshev_inv_sqrt(op, g, interval=(1.0, 9.0), rtol=1e-8,
                                           full_output=True),
         lambda info: bare_chebyshev(H, g, info.matvecs, 1.0, 9.0)),
    )
    for name, library, bare in runs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info, lw, lc, bw, bc, wall_ratio, cpu_ratio, best, pairs = measure(
                library, bare, repeats, min_time)
        rows.append(
            f"| {kind} | {n} | {name} | {info.matvecs} | {lw:.3g} | {bw:.3g} | "
            f"{wall_ratio:.3f} | {lc:.3g} | {bc:.3g} | {cpu_ratio:.3f} | {best:.3f} | "
            f"{pairs} |")
        print(rows[-1], flush=True)
    return rows


NOTES = [
    "Where the rest of the series' time goes, per term (two matvecs), beyond the bare "
    "loop's four vector operations (the library's four are the same operations): the "
    "norm `||p_k||` the stopping rule and the divergence test read, in one read pass "
    "(`matfun/_norms.py`: dot products of blocks of 64 entries, summed pairwise; within "
    "22 eps of the exact norm at n = 1e5, a bound proven a priori and inside the "
    "divergence test's 100 eps, where a plain dot product's bound is n eps; the former "
    "pairwise sum of squares wrote the squares first: two passes), which also proves "
    "the outer product `H (H p)` finite, so that product needs no check of its own (a "
    "non-finite entry there makes the norm non-finite, and only then are the products "
    "checked, giving the operator's usual error before any further matvec); the inner "
    "product `H p` is covered by the same proof when the operator is a matrix the "
    "library applies (dense or SciPy sparse: a non-finite entry of `H p` reaches "
    "`H (H p)`), as in every row here, and is otherwise checked by one dot product "
    "`v . v` (a single read pass, for n >= 16384; `isfinite` + `all` below); so the "
    "default `check=True` costs these rows no pass over n; a dot product screening the "
    "adaptive rule's bound `||A p|| / ||p|| <= V` (one read pass, its exact norm only "
    "when the screen cannot decide); about 10 microseconds of Python (the operator's "
    "layers and counter, the streamed `PartialSum`, the tail estimate), which is what "
    "shows at n = 1000 dense. The norm of the partial sum is computed only when the "
    "check could change its answer, and products come unscaled (the division by the "
    "operator's power-of-two unit folded into the recurrence's scalar). Every shortcut "
    "gives the same floats as the straightforward code "
    "(`tests/matfun/test_series_fast_paths.py`); the blocked norm gives other floats "
    "for the decisions only (n >= 4096; `tests/matfun/test_norms.py` checks its bound "
    "against an exact sum). An accelerator adds its own vector arithmetic per term "
    "(Sablonniere's epsilon-table row: several passes over n). Chebyshev "
    "(`matfun/_chebyshev_expansion.py`) computes `T_{j+1} = (H (H T_j) + shift T_j) * "
    "(2 / h) - T_{j-1}` with the operator's power-of-two scale and the doubling folded "
    "exactly into `shift` and `h` (four vector operations and the update of x: six, as "
    "the bare loop; the same floats as the textbook recurrence on the divisor "
    "`1 / fl(1 / h)`, `tests/matfun/test_chebyshev_fast_paths.py`); it multiplies by "
    "`fl(2 / h)` where that costs at most an eighth of the rounding estimate (`(hi - lo) "
    "/ (2 lo) <= d + 1`, as on the interval `[1, 9]` here; the added error, about "
    "`eps (hi - lo) / (2 lo)` relative, goes into the estimate) and divides by `h / 2` "
    "otherwise (a division costs about four multiplications per entry on long "
    "vectors), and checks each step's pair of products by one dot product of the "
    "outer one (matrix operators; one per product otherwise); its eager loop makes no "
    "`settle` call (Dask only). What Chebyshev's call does besides its loop (dense n = "
    "1000, interval given, as here): no pass over the matrix (it was checked once, when "
    "`as_operator` built the operator: finiteness and symmetry in one read of the "
    "matrix, about 20 matvecs' worth at n = 1000, paid on every call by a caller who "
    "passes the array itself), no certification, and `plan` is a cache hit (no DCT). "
    "What is left is O(n) and Python: the check of `g` (dtype, finiteness) and the "
    "per-call operator view (about 0.12 ms together), `max|g|` and `||g||` for the "
    "exact power-of-two scaling and the a-priori range check (about 0.06 ms), the "
    "option checks, the interval in units and the info (about 0.1 ms), and after the "
    "loop the norms of the last two Chebyshev vectors (the growth test) and of `x` (the "
    "rounding estimate and `converged`; it also proves the answer's range, so `max|x|` "
    "is read only when it cannot: `matfun/_chebyshev_range.py`). About 0.06 ms when "
    "the code is in cache, but 0.25 to 0.35 ms (4 to 5 percent of the call) right after "
    "the bare loop, whose 50 matvecs stream the 8 MB matrix through the caches: the "
    "interpreter and NumPy code of these steps is fetched again on every call. Inside "
    "the loop, the operator's counted products (`_square_deferred`, two layers a step) "
    "cost about 3 percent and the finiteness test of `H (H T_j)` that must precede the "
    "next matvec about 2 percent. On the sparse stencil (a "
    "matvec costs about twenty vector passes) the series' norm and screen, two read "
    "passes a term that the bare loop does not make, are what keeps its ratio above "
    "1.05; on a shared machine the ratios move by several hundredths between runs "
    "(compare the best CPU ratio).",
]


def _load() -> str:
    """The 1-minute load average, as text ("unknown" where the system reports none)."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, print only")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=REPEATS,
                        help=f"runs of each side per row, at least (default {REPEATS})")
    parser.add_argument("--min-time", type=float, default=MIN_TIME,
                        help=f"seconds of pairs per row, at least (default {MIN_TIME})")
    args = parser.parse_args(argv)
    repeats = args.repeats
    if repeats < 1:
        parser.error("--repeats must be at least 1")
    min_time = args.min_time
    if not min_time >= 0:
        parser.error("--min-time must be a number >= 0")
    row_time = 0.0 if args.quick else min_time  # --quick: the repeats only
    output = args.output
    if output is None and not args.quick:
        output = ROOT / "docs" / "bench_overhead.md"
    started = time.perf_counter()
    load_before = _load()
    header = [
        "| operator | n | method | matvecs | library wall s | bare wall s | wall ratio | "
        "library CPU s | bare CPU s | CPU ratio | best CPU ratio | pairs |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(header), flush=True)
    rows = []
    for kind, n in QUICK_CASES if args.quick else FULL_CASES:
        rows += case_rows(kind, n, repeats, row_time)
    elapsed = time.perf_counter() - started
    load_after = _load()
    text = "\n".join([
        "# Overhead of the series and Chebyshev over their bare matvecs",
        "",
        "Written by `python benchmarks/bench_overhead.py`"
        + (" --quick" if args.quick else "")
        + (f" --repeats {repeats}" if repeats != REPEATS else "")
        + (f" --min-time {min_time:g}" if min_time != MIN_TIME else "") + ".",
        "",
        f"- machine: {platform.machine()}, {platform.system()} {platform.release()}, "
        f"{os.cpu_count()} CPUs (one BLAS thread)",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}",
        f"- date: {time.strftime('%Y-%m-%d %H:%M')}; load average (1 min) "
        f"{load_before} at the start, {load_after} at the end",
        "",
        "Each timing is the median of at least " + str(repeats) + " runs (the last "
        "column: as many as fit in " + f"{row_time:g}" + " s for that row, so fast rows "
        "run many), after one untimed warm-up "
        "run of each, the library call and a bare NumPy loop with the same number of "
        "matvecs interleaved (the bare loop first, then the library first, alternately); "
        "the ratios are of these medians; the best CPU ratio is the fastest library run "
        "over the fastest bare run (the least disturbed of each, when other processes "
        "share the cores). What each row and bare loop "
        "compute is in the script's docstring. The library call includes its validation of "
        "every product (finiteness), the scale estimate, the stopping rule and the rescaling "
        "by powers of two. CPU time is the measure to read on a shared machine (wall time "
        "includes waiting for a core).",
        "",
        *NOTES,
        "",
        *header,
        *rows,
        "",
        f"Total benchmark time: {elapsed:.0f} s.",
        "",
    ])
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        print(f"written to {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

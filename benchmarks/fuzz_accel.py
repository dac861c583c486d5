r"""Adversarial, seeded fuzz of the statuses of every accelerator in :mod:`accel`.

The worst bug of an oracle library is ``CONVERGED`` on a wrong limit. The classic
sequences of :mod:`accel.testing` (fed by ``fuzz_front_door.py``) are the sequences
the methods were tuned on; this fuzz draws others, each with a limit known
independently of :mod:`accel` (a closed form, or mpmath at 50 digits):

* ``geometric``: ``L + sum_i a_i r_i^n``, 1-4 components, ``|r_i|`` up to 0.999,
  negative ratios, nearly equal ratios (relative gap 1e-8..1e-3), complex ratios;
* ``drift``: the same plus ``delta n`` (a ratio exactly 1 with a small amplitude):
  no limit; ``growing`` (``|r| > 1``) and ``oscillating`` (``(-1)^n``) too;
* ``zeta``: partial sums of ``zeta(s)``, ``s`` in (1, 3]; ``tail``:
  ``L + c n^{-a} (1 + d/n)``; ``eta``: ``sum (-1)^k / (k + b)^a``, ``a`` in (0, 2]
  (``sum (-1)^k / sqrt(k)`` among them), limit by Hurwitz zeta at 50 digits;
* ``noisy``: a geometric sequence plus noise of 0.5-16 ulps of each term;
* ``plateau``: constant (or creeping by 1e-13) for a while, then a geometric
  approach to another limit; judged only from the first term after the plateau;
* ``repeated``: every term of a geometric or alternating sequence repeated 2-3 times;
  ``constant``: one value throughout (its limit);
* ``short``: streams of one or two terms;
* every scalar case is drawn in float64 (mostly), float32, float16 or complex128, and
  possibly scaled by ``10^{+-300}`` or ``2^{+-1000}`` (the limit scaled in mpmath);
* ``vector``: 2-6 components converging at different rates (geometric, logarithmic,
  alternating), sometimes one that does not converge (no limit).

Each case is streamed (``accel.accelerator(name, order=N, **options)``, ``push``,
``result()`` after every push) for every method, a random order 1..3 and each
option that changes the status logic (the epsilon inverses on vectors, the four
Levin variants, Levin's scalar remainder on vectors); every case is also given to
each batch function at its default order on the whole sequence (the scalar fast
path of :mod:`accel._scalar`). Counted per method, one count per stream:

``cases``; ``converged`` (some result claimed CONVERGED); ``wrong``: CONVERGED with
``|estimate - limit| > 10 max(error, 16 eps |limit|)``, or CONVERGED on a
sequence with no limit; ``honest``: CONVERGED off the limit by more than
``160 eps |limit|`` but within ``10 error`` (informative: the error says so);
``nonfinite``: a NaN/inf estimate or NaN error; ``unclear``: an exception other
than ``ValueError``/``TypeError`` (those are ``clear``, documented refusals);
``hang``: a stream over 20 s; ``warned`` (informative): a warning (NumPy's
overflow, say) was emitted during the stream. ``wrong``, ``nonfinite``,
``unclear`` and ``hang`` must be 0. (Norms are Euclidean for vectors; ``eps`` is
the data's dtype's.)

Usage (from the repository root)::

    python benchmarks/fuzz_accel.py                 # 80 sequences, about 1 min
    python benchmarks/fuzz_accel.py --quick         # 16 sequences, about 8 s
    python benchmarks/fuzz_accel.py --seed 3 --count 500 --show 5
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import signal
import sys
import time
import warnings
from collections import Counter, defaultdict

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import mpmath  # noqa: E402

import accel  # noqa: E402

MP = mpmath.mp
MP.dps = 50
TIMEOUT_S = 20
COLUMNS = ("cases", "converged", "wrong", "honest", "nonfinite", "clear", "unclear", "hang",
           "warned")
BAD = ("wrong", "nonfinite", "unclear", "hang")
CLEAR_TYPES = (TypeError, ValueError)


class Hang(Exception):
    """Raised by the alarm."""


def _alarm(signum, frame):
    raise Hang()


class Case:
    """Terms (a NumPy array, leading axis the terms), the limit (or None) and a label.

    ``start``: results before this term are not judged (a plateau's constant part).
    """

    def __init__(self, label, terms, limit, *, start=0):
        self.label = label
        self.terms = terms
        self.limit = limit
        self.start = start


# ---------------------------------------------------------------- sequences (mpmath)


def _ratio(rng):
    kind = rng.integers(4)
    if kind == 0:
        return 1 - 10 ** rng.uniform(-3, -0.3)          # slow positive, up to 0.999
    if kind == 1:
        return -(1 - 10 ** rng.uniform(-3, -0.3))       # slow alternating
    return float(rng.uniform(-0.95, 0.95))


def geometric(rng, n_terms, *, complex_=False):
    """``L + sum a_i r_i^n``: terms, limit (mpmath), a label and the step sizes.

    ``steps[n]`` bounds ``|s_{n+1} - s_n|`` (the sum of the components' steps), for
    the visibility of a non-convergent part added later (:func:`visible_from`).
    """
    k = int(rng.integers(1, 5))
    ratios = []
    for _ in range(k):
        if ratios and rng.random() < 0.3:               # nearly equal to an earlier one
            r = ratios[-1] * (1 - 10 ** rng.uniform(-8, -3))
        else:
            r = _ratio(rng)
        if complex_:
            r = mpmath.mpc(r) * mpmath.expj(rng.uniform(-3, 3))
        ratios.append(mpmath.mpmathify(r))
    amps = [mpmath.mpf(rng.standard_normal()) * 10 ** rng.uniform(-3, 1) for _ in ratios]
    if complex_:
        amps = [a * mpmath.expj(rng.uniform(-3, 3)) for a in amps]
    limit = mpmath.mpf(rng.standard_normal()) * 10 ** rng.uniform(-2, 2) * rng.choice([0, 1, 1, 1])
    terms = [limit + sum(a * r ** n for a, r in zip(amps, ratios, strict=True))
             for n in range(n_terms)]
    steps = [sum(abs(a * (r - 1) * r ** n) for a, r in zip(amps, ratios, strict=True))
             for n in range(n_terms)]
    desc = ",".join(f"{complex(r):.4g}" if complex_ else f"{float(r):.6g}" for r in ratios)
    return terms, limit, f"r=[{desc}]", steps


def visible_from(steps, extra, margin=3):
    """First term after which a non-convergent part's steps (``extra[n]``) have exceeded
    the convergent part's (``steps[n]``) for ``margin`` steps: from there on the data
    themselves show that the sequence does not converge (a fair place to judge)."""
    run = 0
    for n, (a, b) in enumerate(zip(steps, extra, strict=True)):
        run = run + 1 if b >= a else 0
        if run >= margin:
            return n + 1
    return len(steps)


def unconverging(rng, n_terms, kind, eps):
    """A geometric sequence plus a part with no limit, resolved in the dtype (its steps
    at least 64 ulps of the terms: finer drift is rounded away, the data then converge).
    Returns terms, a label, and the term from which the lack of a limit is visible."""
    terms, limit, desc, steps = geometric(rng, n_terms)
    size = max(abs(limit), max(abs(t) for t in terms))
    low = math.log10(64 * eps)
    amp = size * 10 ** rng.uniform(low, max(low, -3)) * rng.choice([-1, 1])
    if kind == "drift":                                 # ratio exactly 1: linear drift
        extra_terms = [amp * n for n in range(n_terms)]
        extra = [abs(amp)] * n_terms
        desc += f" + {float(amp):.1e} n"
    elif kind == "growing":                             # |rho| > 1
        rho = mpmath.mpf(rng.uniform(1.001, 1.5) * rng.choice([-1, 1]))
        extra_terms = [amp * rho ** n for n in range(n_terms)]
        extra = [abs(amp * (rho - 1) * rho ** n) for n in range(n_terms)]
        desc += f" + {float(amp):.1e} ({float(rho):.4f})^n"
    else:                                               # bounded oscillation
        extra_terms = [amp * (-1) ** n for n in range(n_terms)]
        extra = [2 * abs(amp)] * n_terms
        desc += f" + {float(amp):.1e} (-1)^n"
    terms = [t + e for t, e in zip(terms, extra_terms, strict=True)]
    if kind == "growing":  # visible once the steps of the sum grow, three in a row
        total = [abs(b - a) for a, b in itertools.pairwise(terms)]
        grows = visible_from(total[:-1], total[1:])
        return terms, desc, n_terms if grows == len(total) - 1 else grows + 1
    return terms, desc, visible_from(steps, extra)


def zeta_sums(rng, n_terms):
    s = mpmath.mpf(rng.uniform(1.05, 3.0))
    terms = []
    total = mpmath.mpf(0)
    for k in range(1, n_terms + 1):
        total += mpmath.mpf(k) ** -s
        terms.append(total)
    return terms, mpmath.zeta(s), f"zeta({float(s):.3f})"


def eta_sums(rng, n_terms):
    a = mpmath.mpf(0.5) if rng.random() < 0.3 else mpmath.mpf(rng.uniform(0.2, 2.0))
    b = mpmath.mpf(1) if rng.random() < 0.5 else mpmath.mpf(rng.uniform(0.5, 4.0))
    terms, total = [], mpmath.mpf(0)
    for k in range(n_terms):
        total += (-1) ** k * (k + b) ** -a
        terms.append(total)
    # sum_k (-1)^k (k + b)^-a = 2^-a [zeta(a, b/2) - zeta(a, (b + 1)/2)]
    limit = 2 ** -a * (mpmath.zeta(a, b / 2) - mpmath.zeta(a, (b + 1) / 2))
    return terms, limit, f"eta(a={float(a):.3f}, b={float(b):.3f})"


def power_tail(rng, n_terms):
    a = mpmath.mpf(rng.uniform(0.3, 3.0))
    c = mpmath.mpf(rng.standard_normal())
    d = mpmath.mpf(rng.uniform(-2, 2))
    limit = mpmath.mpf(rng.standard_normal())
    terms = [limit + c * mpmath.mpf(n + 1) ** -a * (1 + d / (n + 1)) for n in range(n_terms)]
    return terms, limit, f"n^-{float(a):.3f}"


# ---------------------------------------------------------------- cases


def _round(terms, dtype, scale=1):
    """mpmath terms (or lists of them) times ``scale``, rounded once to ``dtype``."""
    def one(x):
        x = x * scale
        return complex(x) if np.dtype(dtype).kind == "c" else float(mpmath.re(x))
    with np.errstate(over="ignore", under="ignore"):
        return np.array([[one(x) for x in t] if isinstance(t, list) else one(t)
                         for t in terms]).astype(dtype)


def _limit(limit, dtype, scale=1):
    if limit is None:
        return None
    wide = np.complex128 if np.dtype(dtype).kind == "c" else np.float64
    return _round([limit], wide, scale)[0]


def scalar_case(rng):
    """One scalar case: family, dtype and scale drawn at random."""
    n_terms = int(rng.integers(8, 41))
    family = str(rng.choice(["geometric", "geometric", "drift", "growing", "oscillating",
                             "zeta", "eta", "tail", "noisy", "plateau", "repeated",
                             "constant", "short", "complex"]))
    dtype = np.dtype(str(rng.choice(["float64"] * 6 + ["float32"] * 2 + ["float16"])))
    eps = float(np.finfo(dtype).eps)
    start = 0
    if family == "complex":
        dtype = np.dtype("complex128")
        terms, limit, desc, _ = geometric(rng, n_terms, complex_=True)
    elif family in ("geometric", "noisy", "short"):
        terms, limit, desc, _ = geometric(rng, n_terms)
    elif family in ("drift", "growing", "oscillating"):
        n_terms += 20
        terms, desc, start = unconverging(rng, n_terms, family, eps)
        limit = None
    elif family == "zeta":
        terms, limit, desc = zeta_sums(rng, n_terms)
    elif family == "eta":
        terms, limit, desc = eta_sums(rng, n_terms)
    elif family == "tail":
        terms, limit, desc = power_tail(rng, n_terms)
    elif family == "plateau":
        start = int(rng.integers(3, 12))
        tail, limit, desc, _ = geometric(rng, n_terms)
        level = tail[0] + mpmath.mpf(rng.standard_normal()) * 10 ** rng.uniform(-6, 0)
        creep = 10 ** rng.uniform(-16, -12) if rng.random() < 0.5 else 0
        terms = [level * (1 + creep * n) for n in range(start)] + tail
        desc = f"plateau {start} creep {creep:.0e} then {desc}"
    elif family == "repeated":
        base, limit, desc = (geometric(rng, n_terms)[:3] if rng.random() < 0.5
                             else eta_sums(rng, n_terms))
        times = int(rng.integers(2, 4))
        terms = [t for t in base for _ in range(times)][:n_terms]
        desc = f"{desc} x{times}"
    else:  # constant
        limit = mpmath.mpf(rng.standard_normal())
        terms, desc = [limit] * n_terms, "constant"
    if family == "short":
        terms = terms[: int(rng.integers(1, 3))]
    scale = 1
    if rng.random() < 0.25 and dtype == np.float64:
        scale = mpmath.mpf(str(rng.choice(["1e300", "1e-300", "1e150", "1e-150"])))
        if rng.random() < 0.5:
            scale = mpmath.mpf(2) ** int(rng.choice([1000, -1000, 900, -900]))
    x = _round(terms, dtype, scale)
    L = _limit(limit, dtype, scale)
    if family == "noisy":
        level = 2 ** rng.uniform(-1, 4)  # eps-level: 0.5-16 ulps of each term
        with np.errstate(under="ignore"):
            noise = level * eps * np.abs(x) * rng.standard_normal(x.shape)
        x = (x + noise.astype(dtype)).astype(dtype)
        desc += f" noise {level:.0f} ulp"
    if family == "plateau":  # judged from the first term the dtype tells from the plateau
        moved = np.nonzero(x[start - 1:] != x[start - 1])[0]
        start = start - 1 + int(moved[0]) if moved.size else len(x)
    if not np.all(np.isfinite(x)):
        return None
    if L is not None and np.dtype(dtype).kind == "f" and not np.isfinite(
            np.asarray(L).astype(dtype)):
        return None
    label = f"{family} {dtype} {desc} m={len(x)}" + (f" scale {float(scale):.0e}"
                                                      if scale != 1 else "")
    return Case(label, x, L, start=start)


def vector_case(rng):
    n_terms = int(rng.integers(10, 36))
    width = int(rng.integers(2, 7))
    dtype = np.dtype(str(rng.choice(["float64"] * 4 + ["float32", "complex128"])))
    eps = float(np.finfo(dtype).eps)
    columns, limits, kinds = [], [], []
    no_limit = rng.random() < 0.3
    start = 0
    if no_limit:
        n_terms += 20
    for j in range(width):
        kind = str(rng.choice(["geometric", "geometric", "zeta", "eta", "tail"]))
        if no_limit and j == width - 1:
            kind = str(rng.choice(["drift", "growing", "oscillating"]))
            terms, _, start = unconverging(rng, n_terms, kind, eps)
            limit = None
        elif kind == "geometric":
            terms, limit, _, _ = geometric(rng, n_terms)
        else:
            terms, limit, _ = {"zeta": zeta_sums, "eta": eta_sums, "tail": power_tail}[kind](
                rng, n_terms)
        columns.append(terms)
        limits.append(limit)
        kinds.append(kind)
    rows = [[columns[j][n] for j in range(width)] for n in range(n_terms)]
    x = _round(rows, dtype)
    L = None if no_limit else np.array([_limit(v, dtype) for v in limits])
    return Case(f"vector {dtype} [{','.join(kinds)}] m={n_terms}", x, L, start=start)


def make_cases(rng, count):
    cases = []
    while len(cases) < count:
        case = vector_case(rng) if rng.random() < 0.2 else scalar_case(rng)
        if case is not None:
            cases.append(case)
    return cases


# ---------------------------------------------------------------- running


def configs(case):
    """``(row name, method, options)`` for every option that changes the status logic."""
    vector = case.terms.ndim == 2
    out = []
    for method in accel.methods():
        if method in ("shanks", "sablonniere"):
            out.append((method, method, {}))
            if vector:
                out.append((f"{method}[elementwise]", method, {"inverse": "elementwise"}))
        elif method == "levin":
            for variant in ("t", "u", "v", "t_modified"):
                out.append((f"levin[{variant}]", method, {"variant": variant}))
            if vector:
                out.append(("levin[scalar]", method, {"remainder": "scalar"}))
        else:
            out.append((method, method, {}))
    return out


def _norm(v):
    """Euclidean norm without overflow (terms near 1e300)."""
    v = np.ravel(np.asarray(v))
    size = float(np.max(np.abs(v))) if v.size else 0.0
    return size * float(np.linalg.norm(v / size)) if size > 0 and math.isfinite(size) else size


def judge(case, result, eps):
    """``None`` (fine), or the outcome of one result: converged / honest / wrong / nonfinite."""
    estimate = np.asarray(result.estimate)
    if not (np.all(np.isfinite(estimate)) and not math.isnan(result.error)):
        return "nonfinite", "NaN/inf"
    if result.status != accel.Status.CONVERGED:
        return None, ""
    if case.limit is None:
        return "wrong", f"CONVERGED (error {result.error:.2e}) on a sequence with no limit"
    limit = np.asarray(case.limit)
    wide = np.complex128 if estimate.dtype.kind == "c" or limit.dtype.kind == "c" else np.float64
    off = _norm(estimate.astype(wide) - limit.astype(wide))
    size = _norm(limit)
    if not off <= 10 * max(result.error, 16 * eps * size):
        return "wrong", f"CONVERGED off by {off:.3e}, error {result.error:.3e}, |L| {size:.3e}"
    if off > 160 * eps * size:
        return "honest", ""
    return "converged", ""


def run_stream(case, method, order, options):
    """The worst outcome over every prefix of the stream, and a note."""
    eps = float(np.finfo(case.terms.dtype).eps)
    acc = accel.accelerator(method, order=order, **options)
    worst, note, seen = None, "", set()
    for m in range(case.terms.shape[0]):
        acc.push(case.terms[m])
        result = acc.result()
        if m < case.start:
            continue
        outcome, text = judge(case, result, eps)
        seen.add(outcome)
        if outcome in ("wrong", "nonfinite") and worst is None:
            worst, note = outcome, f"term {m} {result.status}: {text}"
    return worst, note, seen


def run_batch(case, method, options):
    """The batch function at its default order on the whole sequence (the fast path)."""
    eps = float(np.finfo(case.terms.dtype).eps)
    if case.terms.shape[0] <= case.start:
        return None, "", set()
    result = getattr(accel, method)(case.terms, full_output=True, **options)
    outcome, text = judge(case, result, eps)
    note = f"batch {result.status}: {text}" if outcome in ("wrong", "nonfinite") else ""
    return (outcome if outcome in ("wrong", "nonfinite") else None), note, {outcome}


def fuzz(seed, count, *, quick=False, show=3, out=print):
    rng = np.random.default_rng(seed)
    counts = defaultdict(Counter)
    notes = defaultdict(list)
    cases = make_cases(rng, count)
    signal.signal(signal.SIGALRM, _alarm)
    for index, case in enumerate(cases):
        for row, method, options in configs(case):
            runs = [("stream", int(rng.integers(1, 4)))]
            if not quick or index % 4 == 0:
                runs.append(("batch", None))
            for kind, order in runs:
                name = row if kind == "stream" else f"{row} (batch)"
                counts[name]["cases"] += 1
                signal.alarm(TIMEOUT_S)
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        if kind == "stream":
                            worst, note, seen = run_stream(case, method, order, options)
                        else:
                            worst, note, seen = run_batch(case, method, options)
                    if caught:
                        counts[name]["warned"] += 1
                        notes[name].append(f"warned: case {index} order {order}: {case.label}: "
                                           f"{caught[0].category.__name__}: {caught[0].message}")
                except Hang:
                    worst, note, seen = "hang", "over the time limit", set()
                except CLEAR_TYPES as exc:  # documented refusals (counted, not bad)
                    worst, note, seen = "clear", f"{type(exc).__name__}: {exc}", set()
                except Exception as exc:  # noqa: BLE001 -- the point is to count them
                    worst, note, seen = "unclear", f"{type(exc).__name__}: {exc}", set()
                finally:
                    signal.alarm(0)
                if seen & {"converged", "honest", "wrong"}:
                    counts[name]["converged"] += 1
                if "honest" in seen:
                    counts[name]["honest"] += 1
                if worst is not None:
                    counts[name][worst] += 1
                    notes[name].append(f"{worst}: case {index} order {order}: {case.label}: "
                                       f"{note}")
    return counts, notes


def table(counts):
    names = sorted(counts, key=lambda n: (n.endswith("(batch)"), n))
    width = max(len(n) for n in names) + 2
    lines = ["method".ljust(width) + "".join(f"{c:>10}" for c in COLUMNS)]
    total = Counter()
    for name in names:
        lines.append(name.ljust(width) + "".join(f"{counts[name][c]:>10}" for c in COLUMNS))
        total.update(counts[name])
    lines.append("total".ljust(width) + "".join(f"{total[c]:>10}" for c in COLUMNS))
    return lines, total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=None, help="number of sequences")
    parser.add_argument("--quick", action="store_true", help="16 sequences, a few seconds")
    parser.add_argument("--show", type=int, default=3, help="notes shown per method")
    args = parser.parse_args(argv)
    count = args.count if args.count is not None else (16 if args.quick else 80)
    start = time.time()
    counts, notes = fuzz(args.seed, count, quick=args.quick)
    lines, total = table(counts)
    print(f"fuzz_accel: seed {args.seed}, {count} sequences, {time.time() - start:.0f} s")
    print("\n".join(lines))
    for name in sorted(notes):
        for note in notes[name][: args.show]:
            print(f"  {name}: {note}")
    bad = sum(total[c] for c in BAD)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

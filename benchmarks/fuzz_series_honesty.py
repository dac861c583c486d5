"""Hostile fuzz of the series' stopping rule: is every ``converged`` honest?

Random problems: n in 2..39, kappa = 10^U(0, 8), spectra geometric / two clusters /
near-singular / two-point, random signs; g random, an eigenvector, an eigenvector
plus 10^U(-12, -2) noise, or a tiny (10^U(-10, -3)) component on the slowest
eigenvector; H and g scaled separately by 10^{0, +-50, +-150, +-300} (float32:
the 10th root); rtol in {1e-3, 1e-4, 1e-6, 1e-8, 1e-10} (1e-4 where below 10 eps);
max_matvecs = 3000. The oracle is numpy.linalg.eigh of the problem as the dtype holds
it. A converged result with relative error above 10 rtol + kappa eps is counted
"bad" (must be 0). Not converged, and a SeriesRangeError (answer outside the dtype's
range) or SeriesDivergenceError, are allowed.

Usage (from the repository root)::

    python -m benchmarks.fuzz_series_honesty inv 1000 64          # |H|^{-1} g, float64
    python -m benchmarks.fuzz_series_honesty inv 400 32           # float32
    python -m benchmarks.fuzz_series_honesty neu 400 64           # Neumann series of |H|
    python -m benchmarks.fuzz_series_honesty inv 60 64 mpe        # accelerated, order 1-4
"""

import sys
import warnings

import numpy as np

import matfun


def case(rng):
    """``(H, g, kappa)``: a hostile random problem (float64, ||H|| = 1)."""
    n = int(rng.integers(2, 40))
    kappa = 10 ** rng.uniform(0, 8)
    kind = rng.choice(["geom", "cluster", "nearsing", "two"])
    if kind == "geom":
        magnitudes = np.geomspace(1, kappa, n)
    elif kind == "cluster":
        magnitudes = np.where(rng.random(n) < 0.5, 1.0, kappa) * (1 + 1e-6 * rng.random(n))
    elif kind == "nearsing":
        magnitudes = np.concatenate(([1.0], np.geomspace(kappa * 0.5, kappa, n - 1)))
    else:
        magnitudes = np.where(np.arange(n) == 0, 1.0, kappa)
    eigenvalues = rng.choice([-1.0, 1.0], n) * magnitudes / kappa
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    H = (q * eigenvalues) @ q.T
    H = (H + H.T) / 2
    vector = rng.choice(["rand", "eig", "neareig", "slowtiny"])
    if vector == "rand":
        g = rng.standard_normal(n)
    elif vector == "eig":
        g = q[:, rng.integers(n)].copy()
    elif vector == "neareig":
        g = q[:, rng.integers(n)] + 10 ** rng.uniform(-12, -2) * rng.standard_normal(n)
    else:
        slow = q[:, np.argmin(np.abs(eigenvalues))]
        g = rng.standard_normal(n)
        g = g - slow * (slow @ g) + 10 ** rng.uniform(-10, -3) * slow
    return H, g, kappa


def run(seed, series="inv", dtype=np.float64, accelerate=None, order=1):
    """``(converged, true error, rtol, kappa, terms, estimate)`` or None (allowed errors)."""
    rng = np.random.default_rng(seed)
    H, g, kappa = case(rng)
    c_h = 10.0 ** rng.choice([0, 0, 0, -300, 300, -150, 150, -50])
    c_g = 10.0 ** rng.choice([0, 0, -300, 300, -200])
    eps = np.finfo(dtype).eps
    if dtype == np.float32:
        c_h, c_g = c_h**0.1, c_g**0.1
    # The reference is the problem as the dtype holds it (H and g rounded to dtype).
    H = (c_h * H).astype(dtype).astype(np.float64) / c_h
    H = (H + H.T) / 2
    g = (c_g * g).astype(dtype).astype(np.float64) / c_g
    w, Q = np.linalg.eigh(H)
    rtol = float(rng.choice([1e-3, 1e-4, 1e-6, 1e-8, 1e-10]))
    if rtol < 10 * eps:
        rtol = 1e-4
    exact = Q @ ((Q.T @ g) / np.abs(w))
    options = {"rtol": rtol, "max_matvecs": 3000, "full_output": True}
    if series == "inv":
        operator = (c_h * H).astype(dtype)
        options.update(accelerate=accelerate, order=order)
        call = matfun.inv_sqrt_series
    else:
        positive = (Q * np.abs(w)) @ Q.T
        operator = (c_h * (positive + positive.T) / 2).astype(dtype)
        call = matfun.neumann_series
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", matfun.SeriesConvergenceWarning)
        try:
            x, info = call(operator, (c_g * g).astype(dtype), **options)
        except (matfun.SeriesDivergenceError, matfun.errors.SeriesRangeError):
            return None
    x = np.asarray(x, dtype=np.float64) / (c_g / c_h)
    error = np.linalg.norm(x - exact) / np.linalg.norm(exact)
    return info.converged, error, rtol, kappa, info.terms, info.error_estimate


def main(argv):
    series, cases, bits = argv[0], int(argv[1]), argv[2]
    dtype = np.float32 if bits == "32" else np.float64
    accelerate = argv[3] if len(argv) > 3 else None
    eps = np.finfo(dtype).eps
    converged = bad = 0
    worst = 0.0
    for seed in range(cases):
        result = run(seed, series, dtype, accelerate, 1 + seed % 4)
        if result is None or not result[0]:
            continue
        _, error, rtol, kappa, terms, estimate = result
        converged += 1
        allowed = 10 * rtol + kappa * eps
        worst = max(worst, error / allowed)
        if error > allowed:
            bad += 1
            print("BAD", seed, error, rtol, kappa, terms, estimate)
    print(series, dtype.__name__, accelerate, "cases", cases, "converged", converged,
          "bad", bad, "worst error / allowed", f"{worst:.3g}")


if __name__ == "__main__":
    main(sys.argv[1:])

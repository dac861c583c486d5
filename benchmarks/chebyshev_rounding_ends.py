"""Chebyshev's rounding estimate on spectra at the ends of the interval (honesty check).

For seeds ``START..STOP-1`` and kappa(H) in {1e2, 1e3, 1e4, 3e4}, four problems each:
eigenvalues clustered at both ends, geometric, one fast and the rest slow, and a
cluster with ``g`` mostly on the fast modes; ``rtol`` log-uniform in [1e-12, 1e-5].
Prints the six largest ratios (error beyond the proven truncation bound) / (rounding
estimate) -- at most 1 when the estimate covers the rounding -- and how many results
are converged, and how many of those are wrong by more than 10 rtol + 10 kappa eps::

    python benchmarks/chebyshev_rounding_ends.py 0 6     # 96 problems, about 80 s
"""

import sys

import numpy as np

import matfun


def problems(seed):
    rng = np.random.default_rng(seed)
    for kappa in [1e2, 1e3, 1e4, 3e4]:
        for kind in ["cluster", "geom", "ends", "fastg"]:
            n = int(rng.choice([5, 8, 20, 40]))
            if kind in ("cluster", "fastg"):
                mags = np.where(rng.random(n) < 0.5, 1.0, kappa) * (1 + 1e-6 * rng.random(n))
            elif kind == "geom":
                mags = np.geomspace(1, kappa, n)
            else:
                mags = np.where(np.arange(n) < 1, kappa, 1.0) * (1 + 1e-6 * rng.random(n))
            mags[0], mags[-1] = 1.0, kappa
            lam = rng.choice([-1.0, 1.0], n) * mags / kappa
            q, _ = np.linalg.qr(rng.standard_normal((n, n)))
            H = (q * lam) @ q.T
            H = (H + H.T) / 2
            w, V = np.linalg.eigh(H)
            g = rng.standard_normal(n)
            if kind == "fastg":
                g = V @ (np.where(np.abs(w) > 0.5, 1.0, 10 ** rng.uniform(-8, -2))
                         * rng.standard_normal(n))
            yield kappa, kind, H, g, V @ ((V.T @ g) / np.abs(w)), 10 ** rng.uniform(-12, -5)


def main(start, stop):
    rows, converged, wrong = [], 0, 0
    for seed in range(start, stop):
        for kappa, kind, H, g, exact, rtol in problems(seed):
            x, info = matfun.inv_sqrt(H, g, method="chebyshev", rtol=rtol, full_output=True)
            details = info.details
            error = np.linalg.norm(x - exact) / np.linalg.norm(exact)
            rows.append(((error - details.error_bound) / details.rounding, kappa, kind,
                         details.degree, error, details.rounding))
            converged += info.converged
            wrong += info.converged and error > 10 * rtol + 10 * kappa * 2.2e-16
    print("| (error - bound) / rounding | kappa | spectrum | degree | error | rounding |")
    print("|---|---|---|---|---|---|")
    for ratio, kappa, kind, degree, error, rounding in sorted(rows, reverse=True)[:6]:
        print(f"| {ratio:.3g} | {kappa:.0e} | {kind} | {degree} | {error:.2e} | {rounding:.2e} |")
    print(f"\nconverged {converged} of {len(rows)}, wrong {wrong}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (0, 6))

"""The newcomer's demo: the saddle-free series, accelerated and fast methods on one matrix.

Run ``python -m matfun.demo`` (``--size``, ``--seed``, ``--output`` to change the
problem or where the figure goes). On a random symmetric indefinite matrix it prints
how the binomial series approaches ``|H|^{-1} g`` -- relative error and cosine
similarity against the exact eigendecomposition oracle as the terms grow, with the
matvecs spent -- then what the accelerators and the Krylov/Chebyshev methods reach,
and saves one figure.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a file, never a window: the demo runs headless
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import accel  # noqa: E402
import matfun  # noqa: E402


def random_indefinite(size: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(H, eigenvalues, eigenvectors)``: |eigenvalues| geometric in [1, 10], random signs."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((size, size)))
    eigenvalues = rng.choice([-1.0, 1.0], size) * np.geomspace(1.0, 10.0, size)
    matrix = (q * eigenvalues) @ q.T
    return (matrix + matrix.T) / 2, eigenvalues, q


def _relative_error(x: np.ndarray, exact: np.ndarray) -> float:
    return float(np.linalg.norm(x - exact) / np.linalg.norm(exact))


def _cosine(x: np.ndarray, exact: np.ndarray) -> float:
    return float(x @ exact / (np.linalg.norm(x) * np.linalg.norm(exact)))


def series_curves(matrix, g, exact, terms, accelerators):
    """Relative error after each term of the plain and the accelerated series.

    Returns ``(matvecs, {label: errors}, cosines of the plain series, scale)``.
    """
    scale = float(np.max(np.abs(np.linalg.eigvalsh(matrix)))) ** 2
    streams = {label: accel.accelerator(method, order=order)
               for label, (method, order) in accelerators.items()}
    matvecs, cosines, errors = [], [], {"series": [], **{label: [] for label in streams}}
    for partial in matfun.inv_sqrt_partial_sums(matrix, g, terms=terms, scale=scale):
        value = np.asarray(partial.value)
        matvecs.append(partial.matvecs)
        cosines.append(_cosine(value, exact))
        errors["series"].append(_relative_error(value, exact))
        for label, stream in streams.items():
            stream.push(partial.value)
            errors[label].append(_relative_error(np.asarray(stream.result().estimate), exact))
    return np.array(matvecs), {k: np.array(v) for k, v in errors.items()}, cosines, scale


def fast_methods(matrix, g, exact, tolerances):
    """``{method: [(matvecs, relative error), ...]}`` of Lanczos and Chebyshev over tolerances."""
    points = {}
    for method in ("lanczos", "chebyshev"):
        points[method] = []
        for tol in tolerances:
            x, info = matfun.inv_sqrt(matrix, g, method=method, rtol=tol, full_output=True)
            points[method].append((info.matvecs, _relative_error(np.asarray(x), exact)))
    return points


def first_below(matvecs, errors, target):
    """Matvecs at which ``errors`` first drops to ``target`` (None if never)."""
    hits = np.nonzero(errors <= target)[0]
    return int(matvecs[hits[0]]) if hits.size else None


def save_figure(path, matvecs, errors, points):
    """Relative error against matvecs, log scale, one curve or marker set per method."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, curve in errors.items():
        ax.loglog(matvecs, curve, label=label, lw=2 if label == "series" else 1.2)
    for method, marks in points.items():
        ax.loglog(*zip(*marks, strict=False), "o--", label=f"{method} (tol sweep)")
    ax.set_xlabel("matvecs (H v products)")
    ax.set_ylabel("relative error in |H|^-1 g")
    ax.set_title("Saddle-free direction: series, accelerators, Krylov and Chebyshev")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """Run the demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--terms", type=int, default=1000)
    parser.add_argument("--output", type=Path, default=Path("demo_output"))
    args = parser.parse_args(argv)

    matrix, eigenvalues, vectors = random_indefinite(args.size, args.seed)
    g = np.random.default_rng(args.seed + 1).standard_normal(args.size)
    exact = vectors @ ((vectors.T @ g) / np.abs(eigenvalues))
    print(f"H: {args.size} x {args.size} symmetric, {np.sum(eigenvalues < 0)} negative "
          f"eigenvalues, |eigenvalues| in [1, 10] (kappa = 10)")
    print("target: the saddle-free Newton direction |H|^-1 g = (H^2)^-1/2 g\n")

    accelerators = {"shanks, N=2": ("shanks", 2), "sablonniere, N=2": ("sablonniere", 2),
                    "levin t, N=2": ("levin", 2), "mpe, N=2": ("mpe", 2)}
    matvecs, errors, cosines, scale = series_curves(matrix, g, exact, args.terms, accelerators)
    print(f"binomial series, V = lambda_max(H)^2 = {scale:.4g}; relative error after K terms")
    labels = list(errors)
    print(f"{'terms':>6} {'matvecs':>8} {'cosine':>9} " + " ".join(f"{k:>17}" for k in labels))
    for terms in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000):
        if terms <= args.terms:
            i = terms - 1
            print(f"{terms:>6} {matvecs[i]:>8} {cosines[i]:>9.6f} "
                  + " ".join(f"{errors[k][i]:>17.3e}" for k in labels))

    x, info = matfun.inv_sqrt_series(matrix, g, tol=1e-8, full_output=True)
    print(f"\ninv_sqrt_series(H, g, tol=1e-8) with the safe adaptive V: {info.terms} terms, "
          f"{info.matvecs} matvecs, V = {info.scale:.4g} ({info.restarts} restarts), "
          f"relative error {_relative_error(np.asarray(x), exact):.2e}")

    tolerances = [1e-2, 1e-4, 1e-6, 1e-8, 1e-10]
    points = fast_methods(matrix, g, exact, tolerances)
    print("\nmatvecs to relative error 1e-6 (first term of the series that gets there):")
    for label in labels:
        hit = first_below(matvecs, errors[label], 1e-6)
        print(f"  {label:<18} {f'not within {args.terms} terms' if hit is None else hit}")
    for method, marks in points.items():
        matvec_count, error = marks[tolerances.index(1e-6)]
        print(f"  {method + ' tol=1e-6':<18} {matvec_count} (relative error {error:.1e})")

    figure = args.output / "demo_convergence.png"
    save_figure(figure, matvecs, errors, points)
    print(f"\nfigure: {figure.resolve()}")


if __name__ == "__main__":
    main()

# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Saddle-free Newton on a quadratic saddle (the seed paper's Figure 1)
#
# On the quadratic $f(x) = \tfrac12 x^T H x$ with $H = Q\,\mathrm{diag}(1, -\tfrac12)\,Q^T$
# ($Q$ a rotation by $30°$) the origin is a saddle point. From $x_0 = (1, 0.5)$:
#
# * **gradient descent** $x \leftarrow x - \eta\, g$ ignores curvature;
# * **Newton** $x \leftarrow x - H^{-1} g$ jumps to the stationary point of the quadratic
#   model -- the saddle -- in one step;
# * **exact saddle-free Newton** $x \leftarrow x - \eta\,|H|^{-1} g$ with
#   $|H| = Q |\Lambda| Q^T$ flips the Newton step along the negative-curvature direction:
#   the saddle becomes a repeller;
# * **series saddle-free Newton** (the paper's method) computes $|H|^{-1} g$ from
#   Hessian-vector products by
#   $$
#   |H|^{-1} g = V^{-1/2} \sum_{k<K} \binom{2k}{k} 4^{-k} \left(I - \frac{H^2}{V}\right)^k g ,
#   $$
#   truncated at $K$ terms and optionally accelerated; it approaches the exact step as
#   $K$ grows.
#
# All four are the optimisers of `matfun.optim`, run with `matfun.optim.run` on
# `matfun.optim.problems.quadratic_saddle()`. `SMALL=1` shortens the runs.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import TwoSlopeNorm

import matfun
from matfun import optim
from matfun.optim import problems

SMALL = os.environ.get("SMALL", "0") not in ("", "0")
STEPS = 4 if SMALL else 6
started = time.perf_counter()

problem = problems.quadratic_saddle()
x0 = problem.initial(0)
# The Hessian, recovered from two Hessian-vector products, and its eigendecomposition
# (only for drawing the principal directions and for the oracle below).
H = np.stack([np.asarray(problem.oracle.hvp(x0, e)) for e in np.eye(2)], axis=1)
curvatures, directions = np.linalg.eigh(H)
print("start", np.asarray(x0), "eigenvalues of H", curvatures)

# %% [markdown]
# ## Trajectories on the contour plot
#
# Learning rate $\eta = 0.5$ for gradient descent and the two saddle-free methods, the full
# step for Newton. The series uses $V = 1 \ge \lambda_{\max}(H^2)$ and $K = 10$ terms
# (no acceleration): a visibly truncated approximation of the exact step.

# %%
LEARNING_RATE = 0.5
TERMS = 10
optimizers = {
    "gradient descent": optim.gradient_descent(learning_rate=LEARNING_RATE),
    "Newton": optim.newton(),
    "exact SFN": optim.exact_sfn(learning_rate=LEARNING_RATE),
    f"series SFN, K = {TERMS}": optim.sfn_series(learning_rate=LEARNING_RATE, terms=TERMS,
                                                 accelerate=None, initial_scale=1.0),
}
trajectories = {}
records = {}
for name, optimizer in optimizers.items():
    points = [np.asarray(x0)]

    def remember(step, params, state, info, points=points):
        points.append(np.asarray(params))

    record = optim.run(optimizer, problem, x0, steps=STEPS, progress=False, callback=remember)
    trajectories[name] = np.array(points)
    records[name] = record

everything = np.concatenate(list(trajectories.values()))
span = 1.15 * np.max(np.abs(everything))
grid = np.linspace(-span, span, 201)
X, Y = np.meshgrid(grid, grid)
F = 0.5 * (H[0, 0] * X**2 + 2 * H[0, 1] * X * Y + H[1, 1] * Y**2)

fig, ax = plt.subplots(figsize=(7, 6.5))
levels = np.linspace(F.min(), F.max(), 25)
contours = ax.contourf(X, Y, F, levels=levels, cmap="RdBu_r", alpha=0.6,
                       norm=TwoSlopeNorm(vcenter=0.0))  # white at the saddle's level
fig.colorbar(contours, ax=ax, label="$f(x)$")
for eigenvalue, direction in zip(curvatures, directions.T, strict=True):
    ax.axline((0, 0), direction, color="grey", lw=0.8, ls="--")
    ax.annotate(rf"$\lambda = {eigenvalue:g}$", 0.8 * span * direction, color="grey")
styles = [dict(marker="o"), dict(marker="s"), dict(marker="^", lw=4, ms=9, alpha=0.6),
          dict(marker="D", ls="--", ms=5)]  # the series path lies on the exact one
for (name, points), style in zip(trajectories.items(), styles, strict=True):
    ax.plot(points[:, 0], points[:, 1], label=name, **style)
ax.plot(0, 0, "k*", ms=14, label="saddle")
ax.plot(*np.asarray(x0), "ko", ms=9, mfc="none", label="start")
ax.set_xlabel("parameter 1")
ax.set_ylabel("parameter 2")
ax.set_title(f"{STEPS} steps from $x_0$ on $f = x^T H x / 2$")
ax.set_aspect("equal")
ax.legend(fontsize=8, loc="lower left")
plt.show()

for name, record in records.items():
    print(f"{name:>22}: loss {record.loss[0]:+.3f} -> {record.final_loss:+.3f}, "
          f"distance from the saddle {np.linalg.norm(trajectories[name][-1]):.3f}, "
          f"{sum(record.matvecs)} Hessian-vector products")

# %% [markdown]
# ## The series step approaches the exact saddle-free step
#
# The first step of series SFN for growing $K$, with and without acceleration, against the
# exact $|H|^{-1} g$ from the eigendecomposition: relative error (log scale) and the
# direction's angle. With $V = 1$ the iteration matrix has eigenvalues
# $z_i = 1 - \lambda_i^2$, i.e. $0$ and $0.75$, so the plain series gains a factor $0.75$
# per term. Shanks' transform (Wynn's epsilon) is exact for sequences made of geometric
# components; Sablonnière's weights are designed for logarithmic convergence
# ($s_n - S \sim c/n$) and are not expected to help on this linearly converging one.

# %%
g = np.asarray(problem.oracle.grad(x0))
exact_step = directions @ ((directions.T @ g) / np.abs(curvatures))
max_terms = 30 if SMALL else 60
term_counts = np.arange(1, max_terms + 1)
errors = {}
for label, options in {
    "plain series": {"accelerate": None},
    "Shanks, order 1": {"accelerate": "shanks", "order": 1},
    "Shanks, order 2": {"accelerate": "shanks", "order": 2},
    "Sablonniere, order 1": {"accelerate": "sablonniere", "order": 1},
}.items():
    values = []
    for K in term_counts:
        order = options.get("order", 0)
        if K < 2 * order + 1:
            values.append(np.nan)
            continue
        step = matfun.inv_sqrt_series(H, g, terms=int(K), scale=1.0, **options)
        values.append(np.linalg.norm(np.asarray(step) - exact_step)
                      / np.linalg.norm(exact_step))
    errors[label] = np.array(values)

fig, ax = plt.subplots(figsize=(7, 4))
for label, values in errors.items():
    ax.semilogy(term_counts, np.maximum(values, 1e-17), marker=".", label=label)
ax.semilogy(term_counts, 0.75**term_counts, "k:", label=r"$0.75^K$")
ax.set_xlabel("series terms $K$")
ax.set_ylabel(r"relative error of the step vs $|H|^{-1} g$")
ax.set_title("First step of series SFN")
ax.legend()
ax.grid(True, which="both", alpha=0.3)
plt.show()

# %% [markdown]
# ## Conclusion

# %%
newton_end = trajectories["Newton"][-1]
sfn_end = trajectories["exact SFN"][-1]
series_end = trajectories[f"series SFN, K = {TERMS}"][-1]
print(f"* Newton reaches the saddle in one step and stays: |x| = {np.linalg.norm(newton_end):.1e} "
      f"after {STEPS} steps, loss {records['Newton'].final_loss:+.2e};")
print(f"* exact SFN escapes it: |x| = {np.linalg.norm(sfn_end):.2f}, loss "
      f"{records['exact SFN'].final_loss:+.3f} (the component along the negative curvature "
      f"grows by 1 + eta = {1 + LEARNING_RATE} per step);")
print(f"* series SFN with K = {TERMS} follows it: |x| = {np.linalg.norm(series_end):.2f}, "
      f"distance to the exact-SFN path {np.linalg.norm(series_end - sfn_end):.3f};")
for label, values in errors.items():
    below = np.flatnonzero(values < 1e-6)
    reached = f"reaches 1e-6 at K = {term_counts[below[0]]}" if below.size else "stays above 1e-6"
    print(f"* {label}: first-step error {values[TERMS - 1]:.1e} at K = {TERMS}, {reached};")
print(f"(notebook ran in {time.perf_counter() - started:.1f} s, SMALL = {SMALL})")

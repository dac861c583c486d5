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
# # Grouped Newton: a summary of the Hessian, one learning rate per tensor
#
# Wolinski's method (seed 001) partitions the parameters into $S$ groups -- here the weight
# matrix and the bias vector of each layer of the MLP of `matfun.optim.problems` -- and
# takes a step $w \leftarrow w - \sum_s \eta_s u_s$ along a direction $u$ (the gradient)
# restricted to each group, $u_s$. The second-order Taylor model in the learning rates is
#
# $$
# f\Big(w - \sum_s \eta_s u_s\Big) \approx f(w) - \bar g^T \eta + \tfrac12 \eta^T \bar H \eta,
# \qquad \bar H_{st} = u_s^T H u_t, \qquad \bar g_s = g^T u_s ,
# $$
#
# and the learning rates solve $\bar H \eta = \bar g$, or, with the anisotropic cubic term,
# minimise $-\bar g^T\eta + \tfrac12 \eta^T \bar H \eta + (\lambda/6)\|D\eta\|^3$ with
# $D = \mathrm{diag}(|D^3 f[u_s, u_s, u_s]|^{1/3})$, which has a minimiser even when
# $\bar H$ is indefinite. The $S \times S$ matrix
# $\bar H$ is a *summary* of the Hessian: it costs $S$ Hessian-vector products and shows
# how the layers interact. The seed paper's Figures 1 and 5 show $\bar H$ and its inverse
# at initialisation and later in training; this notebook draws the same for the MLP, and
# the per-group learning rates along training (its Figures 3 and 6).
#
# We compute $\bar H$ here from `oracle.hvp` directly, independently of the optimiser, and
# check it against the learning rates the optimiser reports. `SMALL=1` trains a smaller
# network for fewer steps.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import SymLogNorm

from matfun import optim
from matfun.optim import problems

SMALL = os.environ.get("SMALL", "0") not in ("", "0")
if SMALL:
    problem = problems.mlp_regression(depth=2, width=6, samples=64)
    STEPS = 40
else:
    problem = problems.mlp_regression()
    STEPS = 400
DAMPING = 0.5  # seed 001, section 5.2: a step shorter than the model's optimum
CUBIC = 10.0  # the anisotropic cubic term: without it an indefinite Hbar sends the step uphill
started = time.perf_counter()
labels = []
for layer in range(len(problem.groups) // 2):
    labels += [f"W{layer + 1}", f"b{layer + 1}"]
print(f"{problem.name}: {problem.dimension} parameters in {len(problem.groups)} groups")


def summary(params):
    """(Hbar, gbar) at params, with u = the gradient, from S Hessian-vector products."""
    gradient = np.asarray(problem.oracle.grad(params))
    pieces = []
    for group in problem.groups:
        piece = np.zeros_like(gradient)
        piece[group] = gradient[group]
        pieces.append(piece)
    pieces = np.array(pieces)
    products = np.array([np.asarray(problem.oracle.hvp(params, piece)) for piece in pieces])
    matrix = pieces @ products.T
    return (matrix + matrix.T) / 2, pieces @ gradient


# %% [markdown]
# ## Training, and the summary at two stages
#
# We train with `matfun.optim.grouped_newton(groups=problem.groups, damping=0.5, cubic=10)`
# through its explicit `init` / `update` state, keeping the parameters at the start and at
# the end. Without the cubic term ($\lambda = 0$) an indefinite $\bar H$ makes
# $\bar H \eta = \bar g$ step towards a saddle or a maximum, and this network collapses to
# a constant prediction (loss 1 on standardised targets) -- we show that run too. A step
# whose cubic model has no minimiser raises `UnboundedModelError`; we stop there and
# report it.

# %%
def train(optimizer, steps):
    params = problem.initial(0)
    state = optimizer.init(params)
    infos, stopped = [], None
    for _ in range(steps):
        try:
            params, state, info = optimizer.update(state, params, problem.oracle)
        except ArithmeticError as error:  # the documented numerical failures
            stopped = f"{type(error).__name__} at step {len(infos)}: {error}"
            break
        infos.append(info)
    return params, infos, float(problem.oracle.value(params)), stopped


x0 = problem.initial(0)
final_params, infos, final_loss, stopped = train(
    optim.grouped_newton(groups=problem.groups, damping=DAMPING, cubic=CUBIC), STEPS)
_, plain_infos, plain_loss, plain_stopped = train(
    optim.grouped_newton(groups=problem.groups, damping=DAMPING), STEPS)
losses = [info["loss"] for info in infos] + [final_loss]
plain_losses = [info["loss"] for info in plain_infos] + [plain_loss]
for name, message in (("cubic", stopped), ("no cubic term", plain_stopped)):
    if message:
        print(f"! {name}: {message[:200]}")
done = len(infos)
stages = {"initialisation": x0, f"after {done} steps": final_params}
summaries = {name: summary(np.asarray(params)) for name, params in stages.items()}

# Without the cubic term the optimiser's first learning rates are the solution of
# Hbar eta = gbar (the reported rates; the step multiplies them by DAMPING): an independent
# check of the summary computed above.
H0, g0 = summaries["initialisation"]
reported = np.array(plain_infos[0]["learning_rates"])
mismatch = np.max(np.abs(reported - np.linalg.solve(H0, g0))) / np.max(np.abs(reported))
print(f"first learning rates vs solve(Hbar, gbar): relative difference {mismatch:.1e}")
print(f"loss {losses[0]:.4f} -> {final_loss:.4f} in {done} steps (cubic {CUBIC}); "
      f"{plain_losses[0]:.4f} -> {plain_loss:.4f} without the cubic term")


# %%
def normalised(matrix):
    """M_st / sqrt(|M_ss M_tt|): interactions on one scale whatever the groups' sizes."""
    scale = np.sqrt(np.abs(np.diag(matrix)))
    scale[scale == 0] = 1.0
    return matrix / np.outer(scale, scale)


fig, axes = plt.subplots(2, 2, figsize=(11, 10))
for column, (name, (matrix, _)) in enumerate(summaries.items()):
    inverse = np.linalg.pinv(matrix, hermitian=True)
    for row, (what, shown) in enumerate([(r"$\bar H$", matrix), (r"$\bar H^{-1}$", inverse)]):
        ax = axes[row, column]
        values = normalised(shown)
        # |M_st| can exceed sqrt(|M_ss M_tt|) when M is indefinite: scale to the data.
        limit = max(1.0, float(np.max(np.abs(values))))
        image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_title(f"{what}, {name}")
        fig.colorbar(image, ax=ax, shrink=0.8)
fig.suptitle(r"Summary matrices normalised by their diagonal, $M_{st} / \sqrt{|M_{ss} M_{tt}|}$")
plt.tight_layout()
plt.show()

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
for ax, (name, (matrix, _)) in zip(axes, summaries.items(), strict=True):
    limit = np.max(np.abs(matrix))
    # Entries span decades: a symmetric log scale, linear within 1e-4 of the largest.
    image = ax.imshow(matrix, cmap="RdBu_r",
                      norm=SymLogNorm(linthresh=limit * 1e-4, vmin=-limit, vmax=limit))
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_title(rf"$\bar H$ unnormalised, {name}")
    ticks = [sign * limit * 10.0**-k for sign in (-1, 1) for k in (0, 2, 4)] + [0.0]
    bar = fig.colorbar(image, ax=ax, shrink=0.8, ticks=sorted(ticks))
    bar.ax.set_yticklabels([f"{t:.0e}" if t else "0" for t in sorted(ticks)], fontsize=7)
plt.tight_layout()
plt.show()


def off_diagonal_share(matrix):
    """Frobenius norm of the off-diagonal part of the normalised matrix over its total."""
    m = normalised(matrix)
    return np.linalg.norm(m - np.diag(np.diag(m))) / np.linalg.norm(m)


# %% [markdown]
# ## Per-group learning rates along training
#
# The rates change by orders of magnitude from one step to the next (each is the solution
# of a new $S \times S$ model), so the left panel draws, for each group, the running median
# of $|\eta_s|$ over a window of steps; the colour is the layer (dark: input side), solid
# for the weight matrix, dashed for the bias.

# %%
rates = np.array([info["learning_rates"] for info in infos])
WINDOW = max(1, len(rates) // 20)


def running_median(values, window):
    """Median of each trailing window (shorter at the start)."""
    return np.array([np.median(values[max(0, i + 1 - window): i + 1])
                     for i in range(len(values))])


fig, (ax_rates, ax_loss) = plt.subplots(1, 2, figsize=(13, 4.8))
layers = len(labels) // 2
layer_colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, layers))
for s, label in enumerate(labels):
    ax_rates.semilogy(running_median(np.abs(rates[:, s]), WINDOW),
                      ls="-" if label[0] == "W" else "--", color=layer_colours[s // 2],
                      label=label)
ax_rates.set_xlabel("step")
ax_rates.set_ylabel(rf"$|\eta_s|$, running median over {WINDOW} steps")
ax_rates.set_title("Learning rate of each group (before the damping factor)")
ax_rates.legend(fontsize=7, ncol=4)
ax_rates.grid(True, which="both", alpha=0.3)
ax_loss.semilogy(losses, label=f"grouped Newton, cubic {CUBIC}")
ax_loss.semilogy(plain_losses, "--", label="grouped Newton, no cubic term")
ax_loss.legend(fontsize=8)
ax_loss.set_xlabel("step")
ax_loss.set_ylabel("training loss (MSE)")
ax_loss.set_title("Loss")
ax_loss.grid(True, which="both", alpha=0.3)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Conclusion

# %%
for name, (matrix, _) in summaries.items():
    eigenvalues = np.linalg.eigvalsh(matrix)
    print(f"* {name}: Hbar has eigenvalues from {eigenvalues[0]:.2e} to {eigenvalues[-1]:.2e} "
          f"({np.sum(eigenvalues < 0)} negative); off-diagonal share of the normalised Hbar "
          f"{off_diagonal_share(matrix):.2f}, of its inverse "
          f"{off_diagonal_share(np.linalg.pinv(matrix, hermitian=True)):.2f};")
tail = max(1, len(rates) // 10)
final_rates = np.median(np.abs(rates[-tail:]), axis=0)  # one step's rates are noisy
weights = final_rates[0::2]
biases = final_rates[1::2]
print(f"* median |learning rate| over the last {tail} steps spans "
      f"{final_rates.max() / max(final_rates.min(), 1e-300):.1e}x across groups: "
      f"weights {weights.min():.2e} ({labels[2 * np.argmin(weights)]}) to {weights.max():.2e} "
      f"({labels[2 * np.argmax(weights)]}), biases {biases.min():.2e} to {biases.max():.2e};")
print(f"* training loss {losses[0]:.4f} -> {final_loss:.4f} in {done} steps with the cubic "
      f"term, {plain_losses[0]:.4f} -> {plain_loss:.4f} without it; {len(problem.groups)} HVPs "
      "and as many third derivatives per step;")
print(f"(notebook ran in {time.perf_counter() - started:.1f} s, SMALL = {SMALL})")

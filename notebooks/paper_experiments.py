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
# # The papers' experiments, at laptop scale
#
# **Laptop scale, not a reproduction.** The seed paper (Oldewage, Clarke and
# Hernández-Lobato, TMLR 2024) trains on UCI Energy, Fashion-MNIST, SVHN and CIFAR-10 on
# GPUs with tuned hyperparameters; grouped Newton (Kotyuzhanskiy et al.) trains MLPs and
# CNNs. Here the same *kinds* of experiment run in a couple of minutes on a CPU, on the
# small real data sets that ship inside scikit-learn (`matfun.optim.data`), with
# untuned or lightly tuned settings. The shapes of the comparisons carry over; the
# numbers do not.
#
# 1. **Figure 2 analogue** -- full-batch regression (diabetes, 10 inputs, one hidden
#    layer of 16 tanh units): series SFN (Algorithm 1,
#    $w \leftarrow w - \eta\, V^{-1/2}\, \mathrm{accel}(s_K)$ with
#    $s_K = \sum_{k<K} c_k(\tfrac12)(I - H^2/V)^k g$),
#    exact SFN ($|H|^{-1} g$ by eigendecomposition), Adam, gradient descent and K-FAC
#    (kfac-jax, when installed); median over seeds with a bootstrap band, training loss
#    against steps and against wall time, and the test loss.
# 2. **Figure 4 analogue** -- minibatch classification (digits, 64 pixels, 10 classes,
#    softmax cross-entropy): series SFN with its Hessian-vector products on a separate
#    curvature batch, against Adam, SGD with momentum and K-FAC; test accuracy per epoch.
# 3. **Figure 9 analogue** -- the truncation sweep: the series' number of terms $K$.
# 4. **Grouped Newton, Figure 4 analogue** -- grouped Newton (one learning rate per
#    weight matrix and per bias, from $\bar H \eta = \bar g$ with the cubic
#    regulariser) against Adam on an MLP.
#
# K-FAC is the seed paper's own baseline, run the way it ran it: kfac-jax (Botev and
# Martens) with adaptive learning rate, momentum and Levenberg-Marquardt damping
# (`matfun.optim.kfac`, on the same network, loss, initial weights and batches). It needs
# the optional package kfac-jax; without it its rows are skipped.
#
# `SMALL=1` (what the test suite runs) shrinks everything to a few steps and two seeds.

# %%
import importlib.util
import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np

from matfun import optim
from matfun.optim import data, problems

SMALL = os.environ.get("SMALL", "0") not in ("", "0")
if SMALL:
    SEEDS, STEPS, DENSE_SEEDS, DENSE_STEPS = [0, 1], 8, [0], 3
    SWEEP_TERMS, SWEEP_SEEDS, SWEEP_STEPS = [1, 4, 16], [0], 4
    DIGITS_EPOCHS, DIGITS_SEEDS, DIGITS_BATCH = 1, [0, 1], 256
    GROUPED_STEPS, GROUPED_SEEDS = 8, [0, 1]
    # kfac-jax compiles each program for seconds: one seed, and one program (no burn-in,
    # the damping adapted at every step instead of every fifth), no digits run.
    KFAC_SEEDS, KFAC_DIGITS_SEEDS = [0], []
    KFAC_SETTINGS = {"burnin_steps": 0, "damping_adaptation_interval": 1}
else:  # about three minutes on two busy cores (one of them K-FAC's, mostly compiling)
    SEEDS, STEPS, DENSE_SEEDS, DENSE_STEPS = [0, 1, 2, 3, 4], 100, [0, 1, 2], 20
    SWEEP_TERMS, SWEEP_SEEDS, SWEEP_STEPS = [1, 2, 4, 8, 16, 32], [0, 1, 2], 30
    DIGITS_EPOCHS, DIGITS_SEEDS, DIGITS_BATCH = 3, [0, 1, 2], 64
    GROUPED_STEPS, GROUPED_SEEDS = 100, [0, 1, 2]
    KFAC_SEEDS, KFAC_DIGITS_SEEDS, KFAC_SETTINGS = SEEDS, DIGITS_SEEDS, {}
KFAC = importlib.util.find_spec("kfac_jax") is not None
if KFAC:
    from matfun.optim.kfac import kfac_train
started = time.perf_counter()

diabetes = data.load("diabetes")
regression = problems.mlp_regressor(diabetes.X_train, diabetes.y_train, hidden=(16,))
diabetes_test = (diabetes.X_test, diabetes.y_test)
print(f"diabetes: {diabetes.X_train.shape[0]} training rows, {diabetes.X_test.shape[0]} "
      f"test rows; {regression.name}: {regression.dimension} parameters")


def fit(optimizer, problem, seed, **settings):
    """train(); a documented numerical failure ends the run, keeping what it measured."""
    try:
        return optim.train(optimizer, problem, problem.initial(seed), seed=seed,
                           progress=False, **settings), None
    except ArithmeticError as error:  # series divergence, non-finite oracle, ...
        return error.record, f"{type(error).__name__} at step {len(error.record)}"


def fit_kfac(problem, seed, **settings):
    """kfac_train() (initial damping 1, untuned), the same way as fit()."""
    try:
        return kfac_train(problem, problem.initial(seed), seed=seed, progress=False,
                          **KFAC_SETTINGS, **settings), None
    except ArithmeticError as error:
        return error.record, f"{type(error).__name__} at step {len(error.record)}"


def curves(records, column):
    """seeds x steps + 1 array of the full-batch training loss (or test loss), NaN-padded."""
    rows = []
    for record in records:
        if column == "train":
            rows.append(record.loss[:1] + [m["loss"] for m in record.train_metrics])
        else:
            rows.append([np.nan] + [m["loss"] for m in record.eval_metrics])
    table = np.full((len(rows), max(len(r) for r in rows)), np.nan)
    for i, row in enumerate(rows):
        table[i, :len(row)] = row
    return table


def wall_clock(records, length):
    """Median over seeds of the training seconds at each point of ``curves``."""
    table = np.full((len(records), length), np.nan)
    for i, record in enumerate(records):
        table[i, :len(record) + 1] = [0.0] + record.seconds
    return np.nanmedian(table, axis=0)


def median_band(table, *, resamples=500, seed=0):
    """Median over seeds (rows) and a 90% bootstrap band of that median."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, table.shape[0], size=(resamples, table.shape[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns after a stop
        medians = np.nanmedian(table[picks], axis=1)
        return (np.nanmedian(table, axis=0), np.nanpercentile(medians, 5, axis=0),
                np.nanpercentile(medians, 95, axis=0))


# %% [markdown]
# ## 1. Full-batch regression (Figure 2 analogue)
#
# Each method starts from the same weights for a given seed. Series SFN uses $K = 12$
# terms, Sablonnière acceleration and, in its first form, the library's safe adaptive
# $V$ (`scale="adaptive"`); the second form is the paper's own rule
# $V \leftarrow \max(V, \|H^2 g\|/\|g\|)$ with its UCI Energy hyperparameters, which is
# known to let the series diverge once $V_0 = 100$ stops dominating. Exact SFN forms the
# dense Hessian ($p$ Hessian-vector products per step), so it runs fewer steps and seeds.
# K-FAC preconditions with one Kronecker-factored block per layer,
# $(A_l + \pi\sqrt\lambda I) \otimes (G_l + \sqrt\lambda/\pi\, I)$, and picks its
# learning rate and momentum from the exact Gauss-Newton quadratic model along its two
# directions (2 Gauss-Newton-vector products per step, the "HVPs/step" column); its first
# step includes kfac-jax's compilation.

# %%
figure2_methods = {
    "gradient descent": (optim.gradient_descent(learning_rate=0.3), SEEDS, STEPS),
    "Adam": (optim.adam(learning_rate=1e-2), SEEDS, STEPS),
    "series SFN (safe V)": (optim.sfn_series(learning_rate=0.5, terms=12, momentum=0.5,
                                             scale="adaptive"), SEEDS, STEPS),
    "series SFN (paper V)": (optim.sfn_series(learning_rate=1.79, momentum=0.717,
                                              damping=2.44e-2, terms=18, order=8),
                             SEEDS, STEPS),
    "exact SFN": (optim.exact_sfn(learning_rate=0.5, threshold=1e-2), DENSE_SEEDS,
                  DENSE_STEPS),
}
figure2, stops = {}, {}
for name, (optimizer, seeds, steps) in figure2_methods.items():
    for seed in seeds:
        record, stopped = fit(optimizer, regression, seed, epochs=steps,
                              eval_data=diabetes_test)
        figure2.setdefault(name, []).append(record)
        if stopped:
            stops.setdefault(name, []).append(f"seed {seed}: {stopped}")
    print(f"{name:<22} done ({time.perf_counter() - started:5.1f} s)")
if KFAC:
    for seed in KFAC_SEEDS:
        record, stopped = fit_kfac(regression, seed, epochs=STEPS, eval_data=diabetes_test)
        figure2.setdefault("K-FAC (kfac-jax)", []).append(record)
        if stopped:
            stops.setdefault("K-FAC (kfac-jax)", []).append(f"seed {seed}: {stopped}")
    print(f"{'K-FAC (kfac-jax)':<22} done ({time.perf_counter() - started:5.1f} s)")
else:
    print("K-FAC: kfac-jax not installed")
for name, messages in stops.items():
    print(f"! {name}: {'; '.join(messages)}")

# %%
fig, (by_step, by_time, test_axis) = plt.subplots(1, 3, figsize=(16, 4.5))
for name, records in figure2.items():
    train_loss = curves(records, "train")
    median, low, high = median_band(train_loss)
    steps = np.arange(train_loss.shape[1])
    line = by_step.plot(steps, median, label=name)[0]
    by_step.fill_between(steps, low, high, color=line.get_color(), alpha=0.2)
    by_time.plot(wall_clock(records, len(steps)), median, color=line.get_color(), label=name)
    test_median, test_low, test_high = median_band(curves(records, "test"))
    test_axis.plot(steps, test_median, color=line.get_color(), label=name)
    test_axis.fill_between(steps, test_low, test_high, color=line.get_color(), alpha=0.2)
for axis, label in ((by_step, "step"), (by_time, "wall time (s, median over seeds)"),
                    (test_axis, "step")):
    axis.set_yscale("log")
    axis.set_xlabel(label)
    axis.grid(True, which="both", alpha=0.3)
by_step.set_ylabel("training loss (MSE, standardised targets)")
test_axis.set_ylabel("test loss")
by_step.set_title("diabetes, full batch: median, 90% bootstrap band")
by_time.set_title("against wall time")
test_axis.set_title("held-out test loss")
test_axis.legend(fontsize=8)
plt.tight_layout()
plt.show()


# %%
def summarise(results):
    """name -> median final train loss, test metric, ms per step, HVPs per step, runs."""
    table = {}
    for name, records in results.items():
        finals = [r.train_metrics[-1]["loss"] if r.train_metrics else np.nan for r in records]
        tests = [r.eval_metrics[-1] if r.eval_metrics else {} for r in records]
        per_step = [r.seconds[-1] / len(r) for r in records if len(r)]
        hvps = [sum(r.matvecs) / len(r) for r in records if len(r)]
        table[name] = {
            "train_loss": float(np.nanmedian(finals)),
            "test_loss": float(np.nanmedian([t.get("loss", np.nan) for t in tests])),
            "test_accuracy": float(np.median([t["accuracy"] for t in tests]))
            if all("accuracy" in t for t in tests) else np.nan,
            "ms_per_step": 1e3 * float(np.median(per_step)),
            "hvps_per_step": float(np.median(hvps)),
            "steps": max(len(r) for r in records), "runs": len(records),
        }
    return table


def show(table, *, accuracy=False):
    header = f"{'method':<24}{'runs':>5}{'steps':>6}{'train loss':>12}{'test loss':>11}"
    header += f"{'test acc.':>10}" if accuracy else ""
    print(header + f"{'ms/step':>9}{'HVPs/step':>10}")
    for name, row in table.items():
        line = (f"{name:<24}{row['runs']:>5}{row['steps']:>6}{row['train_loss']:>12.4f}"
                f"{row['test_loss']:>11.4f}")
        line += f"{row['test_accuracy']:>10.3f}" if accuracy else ""
        print(line + f"{row['ms_per_step']:>9.1f}{row['hvps_per_step']:>10.1f}")


figure2_table = summarise(figure2)
show(figure2_table)

# %% [markdown]
# ## 2. Minibatch classification (Figure 4 analogue)
#
# Digits (1348 training images, 449 test images), one hidden layer of 32 tanh units
# (2410 parameters), batches of 64 rows. Series SFN ($K = 8$, safe $V$) takes its
# Hessian-vector products either on the gradient's own batch or on a separate batch of
# 128 rows drawn independently each step (`curvature_batch_size=128`), the two ways the
# seed paper's minibatch experiments can be read.

# %%
digits = data.load("digits")
classifier = problems.mlp_classifier(digits.X_train, digits.y_train, hidden=(32,))
digits_test = (digits.X_test, digits.y_test)
figure4_methods = {
    "SGD + momentum": (optim.gradient_descent(learning_rate=0.1, momentum=0.9), {}),
    "Adam": (optim.adam(learning_rate=1e-2), {}),
    "series SFN, same batch": (optim.sfn_series(learning_rate=0.5, terms=8, momentum=0.5,
                                                scale="adaptive"), {}),
    "series SFN, own batch": (optim.sfn_series(learning_rate=0.5, terms=8, momentum=0.5,
                                               scale="adaptive"),
                              {"curvature_batch_size": 128}),
}
figure4 = {}
for name, (optimizer, extra) in figure4_methods.items():
    for seed in DIGITS_SEEDS:
        record, stopped = fit(optimizer, classifier, seed, epochs=DIGITS_EPOCHS,
                              batch_size=DIGITS_BATCH, eval_data=digits_test, **extra)
        figure4.setdefault(name, []).append(record)
        if stopped:
            print(f"! {name}, seed {seed}: {stopped}")
    print(f"{name:<22} done ({time.perf_counter() - started:5.1f} s)")
if KFAC and KFAC_DIGITS_SEEDS:
    for seed in KFAC_DIGITS_SEEDS:
        record, stopped = fit_kfac(classifier, seed, epochs=DIGITS_EPOCHS,
                                   batch_size=DIGITS_BATCH, eval_data=digits_test)
        figure4.setdefault("K-FAC (kfac-jax)", []).append(record)
        if stopped:
            print(f"! K-FAC (kfac-jax), seed {seed}: {stopped}")
    print(f"{'K-FAC (kfac-jax)':<22} done ({time.perf_counter() - started:5.1f} s)")
else:
    print("K-FAC: kfac-jax not installed" if not KFAC else
          "K-FAC: not run at SMALL size (kfac-jax's compilations take longer than the run)")

fig, (by_time, accuracy_axis) = plt.subplots(1, 2, figsize=(12, 4.5))
for name, records in figure4.items():
    for index, record in enumerate(records):
        by_time.plot(record.seconds, record.loss, alpha=0.6, lw=0.8,
                     color=f"C{list(figure4).index(name)}",
                     label=name if index == 0 else None)
    accuracy = np.array([[m["accuracy"] for m in r.eval_metrics] for r in records])
    epochs = np.arange(1, accuracy.shape[1] + 1)
    accuracy_axis.plot(epochs, np.median(accuracy, axis=0), marker="o", label=name)
by_time.set_yscale("log")
by_time.set_xlabel("wall time (s)")
by_time.set_ylabel("minibatch loss (cross-entropy)")
by_time.set_title("digits: every seed")
accuracy_axis.set_xlabel("epoch")
accuracy_axis.set_ylabel("test accuracy (median over seeds)")
accuracy_axis.legend()
plt.tight_layout()
plt.show()
figure4_table = summarise(figure4)
show(figure4_table, accuracy=True)

# %% [markdown]
# ## 3. Truncation sweep (Figure 9 analogue)
#
# Series SFN on the full-batch regression with $K$ terms (each costs two Hessian-vector
# products), safe $V$, the same learning rate for every $K$: the plain truncated series
# and, where $K \ge 3$ allows it, its Sablonnière-accelerated form. The truncated series
# is $|H|^{-1} g$ with the small eigenvalues' contributions not yet converged: small $K$
# gives a damped, gradient-like step.

# %%
sweep = {}
for accelerate in (None, "sablonniere"):
    for terms in SWEEP_TERMS:
        if accelerate and terms < 3:
            continue  # order-1 acceleration needs three partial sums
        optimizer = optim.sfn_series(learning_rate=0.5, terms=terms, momentum=0.5,
                                     scale="adaptive", accelerate=accelerate)
        key = f"K = {terms}" + (", accelerated" if accelerate else "")
        sweep[key] = [fit(optimizer, regression, seed, epochs=SWEEP_STEPS,
                          eval_data=diabetes_test)[0] for seed in SWEEP_SEEDS]
sweep_table = summarise(sweep)
fig, axis = plt.subplots(figsize=(6, 4))
for suffix, marker in (("", "o"), (", accelerated", "s")):
    ks = [k for k in SWEEP_TERMS if f"K = {k}{suffix}" in sweep_table]
    for column, style in (("train_loss", "-"), ("test_loss", ":")):
        axis.plot(ks, [sweep_table[f"K = {k}{suffix}"][column] for k in ks], style,
                  marker=marker, label=f"{column.replace('_', ' ')}{suffix or ', plain'}")
axis.set_xscale("log", base=2)
axis.set_xlabel("series terms K")
axis.set_ylabel(f"loss after {SWEEP_STEPS} steps (median)")
axis.set_title("truncation sweep, diabetes")
axis.legend()
axis.grid(True, which="both", alpha=0.3)
plt.show()
show(sweep_table)

# %% [markdown]
# ## 4. Grouped Newton against Adam on an MLP
#
# Two hidden layers of 16 tanh units on diabetes (465 parameters, 6 groups: each weight
# matrix and each bias), full batch. Grouped Newton solves the $6 \times 6$ cubic model
# $-\bar g^T \eta + \tfrac12 \eta^T \bar H \eta + \tfrac{\lambda}{6}\|D \eta\|^3$ for one
# learning rate per group, from $6$ Hessian-vector products and $6$ third derivatives
# per step.

# %%
deep = problems.mlp_regressor(diabetes.X_train, diabetes.y_train, hidden=(16, 16))
grouped = {}
for name, optimizer in {
    "Adam": optim.adam(learning_rate=1e-2),
    "grouped Newton": optim.grouped_newton(groups=deep.groups, cubic=1.0, damping=0.5),
}.items():
    for seed in GROUPED_SEEDS:
        record, stopped = fit(optimizer, deep, seed, epochs=GROUPED_STEPS,
                              eval_data=diabetes_test)
        grouped.setdefault(name, []).append(record)
        if stopped:
            print(f"! {name}, seed {seed}: {stopped}")
fig, axis = plt.subplots(figsize=(6, 4))
for name, records in grouped.items():
    median, low, high = median_band(curves(records, "train"))
    steps = np.arange(len(median))
    line = axis.plot(steps, median, label=name)[0]
    axis.fill_between(steps, low, high, color=line.get_color(), alpha=0.2)
axis.set_yscale("log")
axis.set_xlabel("step")
axis.set_ylabel("training loss")
axis.set_title(f"{deep.name}: median, 90% bootstrap band")
axis.legend()
plt.show()
grouped_table = summarise(grouped)
show(grouped_table)

# %% [markdown]
# ## Conclusion
#
# Numbers from the full-size run (`SMALL=0`, 2.5 minutes on a shared two-core CPU, about
# 3 with K-FAC; the losses are deterministic, the times vary with the load); the cell
# below prints the current run's.
#
# * **Full-batch regression: the series wins per step, loses per second and on the test
#   set.** After 100 steps series SFN (safe $V$) reaches a median training loss of 0.275,
#   below Adam (0.387) and gradient descent (0.415); exact SFN gets to 0.133 in 20 steps --
#   the per-step ordering of the paper's Figure 2. But a series step spends about 23
#   Hessian-vector products, 20-40 ms against Adam's 0.5-0.8 ms (40-60x; three full runs
#   on a shared machine), so against wall time the first-order methods are far ahead at
#   this scale (in the time of Adam's 100 steps the series does one to three). On 332
#   rows the stronger optimisers overfit:
#   median test loss 0.637 (series) and 1.07 (exact SFN) against 0.511 (Adam). The paper's
#   own rule for $V$ with its UCI Energy hyperparameters diverged in 1 of 5 seeds
#   (`SeriesDivergenceError` at step 4); the safe adaptive $V$ never did.
# * **K-FAC (kfac-jax, the paper's adaptive setting, initial damping 1, untuned) has the
#   lowest training loss and the worst test loss on the regression.** Median training
#   loss 0.071 after 100 steps -- below exact SFN after 20 (0.133), series SFN (0.275) and
#   Adam (0.387) -- and test loss 1.42 against Adam's 0.511: on 332 rows the fastest
#   optimiser overfits most, as in the paper's Figure 2, where K-FAC has the second-best
#   training loss but not the best test loss. Initial damping 0.1 and 0.01 (seed 0, a side
#   run) gave training losses 0.062 and 0.057 and test losses 1.36 and 1.57: no setting
#   fixes the overfitting. Its step, compiled by XLA, takes 1.1 ms against 20 ms for a
#   NumPy series step, so the wall-clock column compares runtimes as much as methods;
#   the first run of each network also pays kfac-jax's compilation (25-35 s here for the
#   three or four programs of a network: burn-in, step, step with damping update, and
#   the last, smaller batch of an epoch).
# * **Minibatch classification: same batch yes, separate curvature batch no.** With the
#   curvature on the gradient's batch, series SFN matches the first-order methods per
#   epoch (test accuracy 0.958 against 0.960 for SGD with momentum and 0.955 for Adam after
#   3 epochs; the lowest training loss, 0.035) at about 20x their time per step. With an
#   independently drawn curvature batch of 128 rows it loses badly (test accuracy 0.673;
#   the full training loss spikes between epochs). It is not that the curvature batch
#   misses directions: a side run with the curvature on all 1348 training rows (seed 0,
#   2 epochs, not part of this notebook) failed too, at test accuracy 0.72. A possible
#   cause, not verified here: the step divides a 64-row gradient by a curvature averaged
#   over other rows, and digits has pixels that are blank in most images (standardised,
#   their few non-zero values reach 37), so along the weights of such a pixel the ratio
#   overshoots whenever the gradient batch happens to contain one of its rare rows. With
#   gradient and curvature from the same rows the step stays scaled.
# * **K-FAC on digits: the best test numbers, by a small margin.** Test accuracy 0.962 and
#   test loss 0.127 after 3 epochs (series SFN on the same batch: 0.958 and 0.141; SGD
#   with momentum 0.960 and 0.159), training loss 0.038 (series SFN 0.035), with 2
#   Gauss-Newton-vector products per step against the series' 16, at 14 ms per step
#   (this wrapper copies parameters to the host every step). The differences in accuracy
#   are one or two test images out of 449: no ranking.
# * **Truncation: K matters only with acceleration.** Plain truncation barely moves the
#   training loss after 30 steps (0.442 at $K = 1$, 0.422 at $K = 32$): with a fixed
#   learning rate a short series is a damped gradient step. Sablonnière acceleration makes
#   the extra terms count (0.438 at $K = 4$ down to 0.360 at $K = 32$), at a cost linear in
#   $K$; the test loss does not improve with $K$ (0.485-0.515).
# * **Grouped Newton: a tie with Adam at this scale.** After 100 steps on the two-layer
#   network the training losses are equal (0.231 against 0.230; test 0.668 against 0.646),
#   with 6 Hessian-vector products and 6 third derivatives per step at 20-30x Adam's time.

# %%
sfn, adam_row = figure2_table["series SFN (safe V)"], figure2_table["Adam"]
print(f"* regression: series SFN (safe V) train {sfn['train_loss']:.3f} / test "
      f"{sfn['test_loss']:.3f} at {sfn['ms_per_step']:.1f} ms per step; Adam train "
      f"{adam_row['train_loss']:.3f} / test {adam_row['test_loss']:.3f} at "
      f"{adam_row['ms_per_step']:.1f} ms; exact SFN train "
      f"{figure2_table['exact SFN']['train_loss']:.3f} / test "
      f"{figure2_table['exact SFN']['test_loss']:.3f}; the paper's V rule stopped "
      f"{len(stops.get('series SFN (paper V)', []))} of {len(SEEDS)} runs")
adam_time = np.median([r.seconds[-1] for r in figure2["Adam"]])
series_steps = np.median([np.searchsorted(r.seconds, adam_time, side="right")
                          for r in figure2["series SFN (safe V)"]])
print(f"* in Adam's {len(figure2['Adam'][0])} steps' time ({1e3 * adam_time:.0f} ms) series "
      f"SFN completes {series_steps:.0f} steps")
for name, row in figure4_table.items():
    print(f"* digits, {name}: test accuracy {row['test_accuracy']:.3f}, "
          f"{row['ms_per_step']:.1f} ms per step")
best = min(sweep_table, key=lambda key: sweep_table[key]["train_loss"])
print(f"* truncation: lowest training loss with {best} "
      f"({sweep_table[best]['train_loss']:.3f}); plain K = {SWEEP_TERMS[0]}: "
      f"{sweep_table[f'K = {SWEEP_TERMS[0]}']['train_loss']:.3f}, plain K = "
      f"{SWEEP_TERMS[-1]}: {sweep_table[f'K = {SWEEP_TERMS[-1]}']['train_loss']:.3f}")
if "K-FAC (kfac-jax)" in figure2_table:
    kfac_row = figure2_table["K-FAC (kfac-jax)"]
    print(f"* regression: K-FAC train {kfac_row['train_loss']:.3f} / test "
          f"{kfac_row['test_loss']:.3f} at {kfac_row['ms_per_step']:.1f} ms per step "
          f"(median over {kfac_row['runs']} runs, the compilation in the first step)")
else:
    print("* K-FAC: kfac-jax not installed")
print(f"* grouped Newton train {grouped_table['grouped Newton']['train_loss']:.3f} vs Adam "
      f"{grouped_table['Adam']['train_loss']:.3f} after {GROUPED_STEPS} steps")
print(f"(notebook ran in {time.perf_counter() - started:.1f} s, SMALL = {SMALL})")

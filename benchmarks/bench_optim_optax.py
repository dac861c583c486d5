"""Per-step cost of the optax adapters (jitted, CPU): AdamQLR vs optax.adam, SFN series vs its HVPs.

Prints a table and writes ``docs/bench_optim_optax.md``. The model is a tanh MLP's mean
squared error in JAX (float32, JAX's default); every timed function is jitted and
warmed up, each number the median process CPU time over several rounds (the functions
timed in turn within each round).

* AdamQLR: the step of :func:`matfun.optim.optax.adamqlr` (with ``value_and_grad``)
  against :func:`optax.adam`'s step plus what AdamQLR's model needs beyond Adam (one
  Hessian-vector product, ``jax.jvp`` of ``jax.grad``, and one value), timed alone.
  Target: at most 1.2x. Also its *Adam path*: the step less that HVP and value, against
  ``optax.adam``'s step.
* SFN series: one update of :func:`matfun.optim.optax.sfn_series` (``K`` terms,
  ``2(K - 1)`` Hessian-vector products, gradient given) against ``2(K - 1)`` sequential
  products ``jax.jvp(jax.grad(f))`` alone. Target: at most 1.2x.

    python benchmarks/bench_optim_optax.py [--quick] [--output docs/bench_optim_optax.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import optax

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the working tree's matfun, when run as a script

from matfun.optim import optax as mo  # noqa: E402


def mlp_problem(width: int, depth: int, samples: int, inputs: int = 8, seed: int = 0):
    keys = jax.random.split(jax.random.PRNGKey(seed), depth + 3)
    X = jax.random.normal(keys[0], (samples, inputs))
    y = jnp.sin(X @ jax.random.normal(keys[1], (inputs,)))
    sizes = [inputs] + [width] * depth + [1]
    params = [{"w": jax.random.normal(keys[i + 2], (sizes[i], sizes[i + 1]))
               / jnp.sqrt(sizes[i]), "b": jnp.zeros(sizes[i + 1])}
              for i in range(len(sizes) - 1)]

    def loss(params):
        a = X
        for layer in params[:-1]:
            a = jnp.tanh(a @ layer["w"] + layer["b"])
        out = a @ params[-1]["w"] + params[-1]["b"]
        return jnp.mean((out[:, 0] - y) ** 2)

    return params, loss


def race(calls: dict, steps: int, repeats: int) -> dict:
    """CPU seconds per call of each ``fn(*args)`` in ``calls``: the median of ``repeats`` rounds.

    Every round times each function for ``steps`` calls in turn (round robin), so all
    of them meet the same load; process CPU time (all of this process's threads) does
    not count the time the machine gives to other processes, and the median drops the
    rounds that interference (caches, frequency) still reaches.
    """
    for fn, args in calls.values():
        jax.block_until_ready(fn(*args))  # compile and warm up
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, (fn, args) in calls.items():
            start = time.process_time()
            for _ in range(steps):
                out = fn(*args)
            jax.block_until_ready(out)
            times[name].append((time.process_time() - start) / steps)
    return {name: statistics.median(values) for name, values in times.items()}


def step_functions(params, loss, terms, order):
    """The jitted functions timed, with their arguments."""
    adam = optax.adam(1e-3)
    qlr = mo.adamqlr()
    series = mo.sfn_series(learning_rate=0.5, terms=terms, order=order, scale="paper")
    products = 2 * (terms - 1)

    @jax.jit
    def adam_step(params, state):
        grads = jax.grad(loss)(params)
        updates, state = adam.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    @jax.jit
    def qlr_step(params, state):
        value, grads = jax.value_and_grad(loss)(params)
        updates, state = qlr.update(grads, state, params, value=value, grad=grads,
                                    value_fn=loss)
        return optax.apply_updates(params, updates), state

    @jax.jit
    def model_extra(params, direction):  # one HVP and one value: AdamQLR's model
        _, product = jax.jvp(jax.grad(loss), (params,), (direction,))
        return product, loss(optax.apply_updates(params, direction))

    @jax.jit
    def series_step(params, state, grads):
        updates, state = series.update(grads, state, params, value=jnp.zeros(()),
                                       value_fn=loss)
        return optax.apply_updates(params, updates), state

    def normalised(product):
        size = jnp.sqrt(sum(jnp.vdot(p, p) for p in jax.tree_util.tree_leaves(product)))
        return jax.tree_util.tree_map(lambda p: p / (1.0 + size), product)

    @jax.jit
    def hvps(params, vector):
        def body(_, v):
            return normalised(jax.jvp(jax.grad(loss), (params,), (v,))[1])
        return jax.lax.fori_loop(0, products, body, vector)

    @jax.jit
    def linearized_hvps(params, vector):  # the primal pass once, as the series does
        _, hvp = jax.linearize(jax.grad(loss), params)
        return jax.lax.fori_loop(0, products, lambda _, v: normalised(hvp(v)), vector)

    grads = jax.grad(loss)(params)
    direction = jax.tree_util.tree_map(lambda p: 1e-3 * jnp.ones_like(p), params)
    return {
        "adam": (adam_step, (params, adam.init(params))),
        "adamqlr": (qlr_step, (params, qlr.init(params))),
        "extra": (model_extra, (params, direction)),
        "series": (series_step, (params, series.init(params), grads)),
        "hvps": (hvps, (params, grads)),
        "linearized": (linearized_hvps, (params, grads)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small model, few repeats")
    parser.add_argument("--output", default=str(ROOT / "docs" / "bench_optim_optax.md"))
    args = parser.parse_args(argv)
    if args.quick:
        shapes, steps, repeats, terms, order = [(16, 2, 64)], 3, 3, 11, 2
    else:
        shapes, steps, repeats, terms, order = [(32, 2, 256), (128, 2, 512)], 5, 15, 21, 2
    rows = ["| model (width x depth, samples) | parameters | optax.adam step (ms) | "
            "adamqlr step (ms) | its HVP + value alone (ms) | adamqlr / (adam + HVP + value) | "
            "Adam path: adamqlr - (HVP + value), / adam | "
            f"sfn_series step, K = {terms} (ms) | its {2 * (terms - 1)} HVPs alone (ms) | "
            "series / HVPs | the HVPs linearized (ms) | series / linearized HVPs |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    for width, depth, samples in shapes:
        params, loss = mlp_problem(width, depth, samples)
        size = sum(p.size for p in jax.tree_util.tree_leaves(params))
        t = race(step_functions(params, loss, terms, order), steps, repeats)
        t_adam, t_qlr, t_extra = t["adam"], t["adamqlr"], t["extra"]
        t_step, t_hvps, t_lin = t["series"], t["hvps"], t["linearized"]
        rows.append(f"| {width} x {depth}, {samples} | {size} | {1e3 * t_adam:.3f} | "
                    f"{1e3 * t_qlr:.3f} | {1e3 * t_extra:.3f} | "
                    f"{t_qlr / (t_adam + t_extra):.2f} | {(t_qlr - t_extra) / t_adam:.2f} | "
                    f"{1e3 * t_step:.3f} | "
                    f"{1e3 * t_hvps:.3f} | {t_step / t_hvps:.2f} | {1e3 * t_lin:.3f} | "
                    f"{t_step / t_lin:.2f} |")
    table = "\n".join(rows)
    print(table)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    command = "python benchmarks/bench_optim_optax.py" + (" --quick" if args.quick else "")
    page = ("---\norphan: true\n---\n\n# Per-step cost of the optax adapters\n\n"
            f"`{command}` on {jax.devices()[0].platform.upper()} "
            f"(JAX {jax.__version__}, optax {optax.__version__}, float32), every step jitted; "
            f"the median process CPU time over {repeats} rounds of {steps} calls, the "
            "functions timed in turn within each round. The model is a tanh MLP's "
            "mean squared error (8 inputs). AdamQLR's step (with `value_and_grad`) is "
            "compared with what it must do: `optax.adam`'s step (with `jax.grad`) plus its "
            "model's one Hessian-vector product (`jax.jvp(jax.grad(f))`) and one value, "
            "each timed alone; a ratio at most 1 means the Adam path adds nothing to them "
            "(XLA shares the forward passes within one jitted step). The *Adam path* column "
            "is AdamQLR's step less that HVP and value, over `optax.adam`'s step. The series "
            f"step (`sfn_series(terms={terms}, order={order})`, gradient given) is compared "
            f"with its {2 * (terms - 1)} Hessian-vector products "
            "`jax.jvp(jax.grad(f))` run alone in sequence, and with the products of one "
            "`jax.linearize(jax.grad(f))` (what the series uses: the primal pass once per "
            f"step). Load average {load_before:.1f} at the start and {load:.1f} at the end, "
            f"on {os.cpu_count()} cores (a shared machine): CPU time does not count the "
            "time given to other processes, but caches and frequency still vary by "
            "10-20% between runs, more for the smallest model.\n\n" + table + "\n")
    Path(args.output).write_text(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Per-step cost of the matfun.optim.torch classes against the autograd work they need.

Prints a table and writes ``docs/bench_optim_torch.md``. A small MLP (cross-entropy on
random data) on the CPU, one thread; the median of ``--steps`` rounds after warm-up, in
process CPU time, every step and baseline called in turn within a round.

* AdamQLR against ``torch.optim.Adam``: AdamQLR spends, by design, one forward and
  backward pass with ``create_graph=True``, one Hessian-vector product and one more
  forward pass (the reduction ratio) per step, where Adam spends one forward and one
  plain backward pass. So the comparable baseline is that autograd work done by hand
  (``raw``); the ratio to Adam is reported too, and the *Adam path*: AdamQLR's step
  less one HVP and one no-grad forward pass (timed alone), against Adam's step.
* SFNSeries with ``K`` terms spends one forward and backward pass with graph and
  ``2 (K - 1)`` HVPs: compared with those HVPs alone and with HVPs plus gradient, timed
  by hand on the same graph (double backward, ``torch.autograd.grad``), and with the
  gradient and HVPs exactly as the adapter computes them (its oracle: one call of the
  autograd engine per product, without ``torch.autograd.grad``'s argument handling,
  the products concatenated), which leaves the series, the accelerator and the
  adapter's own work as the difference; and with a power iteration by hand (each
  product along the last one over its norm, read on the host), a chain of dependent
  products with little work between them. With ``step(loss_fn=...)`` the HVPs are
  torch.func's forward-over-reverse, which recompute the forward pass for each.

With ``--breakdown`` it also times the parts of an SFNSeries step on the tiny network
(forward passes, gradient, HVPs inside autograd, the products' wrappers, the series'
arithmetic, the accelerator's table, the rest).

    python benchmarks/bench_optim_torch.py [--steps 30] [--quick] [--breakdown]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from matfun.optim.torch import AdamQLR, SFNSeries
from matfun.optim.torch._oracle import ClosureOracle, flatten

TERMS = 10


def mlp(inputs: int, width: int, classes: int, samples: int, seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(inputs, width), torch.nn.Tanh(),
                                torch.nn.Linear(width, classes))
    X = torch.randn(samples, inputs)
    y = torch.randint(0, classes, (samples,))

    def closure():
        return torch.nn.functional.cross_entropy(model(X), y)

    names = [name for name, _ in model.named_parameters()]

    def loss_fn(*tensors):  # the same loss as a pure function, for torch.func
        outputs = torch.func.functional_call(model, dict(zip(names, tensors, strict=True)),
                                             (X,))
        return torch.nn.functional.cross_entropy(outputs, y)

    closure.loss_fn = loss_fn
    return model, closure


def interleaved(actions: dict, rounds: int, warmup: int = 3) -> dict:
    """Median process CPU time of each action, the actions called in turn within a round.

    CPU time of this process (one thread): time the machine gives to others is not
    counted; calling the actions in turn makes each round see the same conditions
    (a shared machine's load, caches, frequency), and the median drops the rounds
    that interference still reaches.
    """
    times = {name: [] for name in actions}
    for round_ in range(warmup + rounds):
        for name, action in actions.items():
            start = time.process_time()
            action()
            elapsed = time.process_time() - start
            if round_ >= warmup:
                times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def graph(model, closure):
    params = list(model.parameters())
    loss = closure()
    grads = torch.autograd.grad(loss, params, create_graph=True)
    return params, loss, grads


def one_hvp(model, closure):
    """One HVP on a graph built once (what AdamQLR spends on its curvature)."""
    params, _, grads = graph(model, closure)
    directions = [torch.randn_like(p) for p in params]
    return lambda: torch.autograd.grad(grads, params, grad_outputs=directions,
                                       retain_graph=True)


def one_value(closure):
    """One forward pass without autograd (AdamQLR's trial point)."""
    def action():
        with torch.no_grad():
            closure()
    return action


def raw_adamqlr(model, closure):
    """What AdamQLR needs from autograd: gradient with graph, one HVP, one forward."""
    def action():
        params, _, grads = graph(model, closure)
        directions = [torch.randn_like(p) for p in params]
        torch.autograd.grad(grads, params, grad_outputs=directions)
        with torch.no_grad():
            closure()
    return action


def raw_hvps(model, closure, count: int, with_gradient: bool):
    """``count`` HVPs on one graph (and the gradient with graph when asked)."""
    params, _, grads = graph(model, closure)
    directions = [torch.randn_like(p) for p in params]

    def action():
        nonlocal params, grads
        if with_gradient:
            params, _, grads = graph(model, closure)
        for _ in range(count):
            torch.autograd.grad(grads, params, grad_outputs=directions, retain_graph=True)
    return action


def chained_hvps(model, closure, count: int):
    """Gradient with graph, then ``count`` HVPs each along the last product, normalised.

    A power iteration by hand (per-parameter tensors, ``torch.autograd.grad``, the norm
    read on the host once per product): little work between products, but each product
    waits for the last, as in the series -- unlike the fixed directions of
    :func:`raw_hvps`.
    """
    params = list(model.parameters())

    def action():
        _, _, grads = graph(model, closure)
        directions = [g.detach() for g in grads]
        for _ in range(count):
            products = torch.autograd.grad(grads, params, grad_outputs=directions,
                                           retain_graph=True)
            size = math.sqrt(sum(float(torch.vdot(h.reshape(-1), h.reshape(-1)))
                                 for h in products)) or 1.0
            directions = [h / size for h in products]
    return action


def oracle_hvps(model, closure, count: int):
    """Gradient with graph, then ``count`` HVPs as the adapter computes them.

    :class:`matfun.optim.torch._oracle.ClosureOracle`: the flat gradient's graph, one
    ``torch.autograd.grad`` per product, the per-parameter products concatenated into a
    flat vector.
    """
    params = list(model.parameters())

    def action():
        origin = flatten(params)
        source = ClosureOracle(params, closure, origin)
        direction = torch.randn_like(origin)
        source.grad(origin)
        for _ in range(count):
            source.hvp(origin, direction)
    return action


def measure(sizes, rounds: int, functional: bool = True) -> list[tuple]:
    """Rows ``(MLP, step, step ms, baseline, baseline ms)``."""
    rows = []
    for inputs, width, classes, samples in sizes:
        label = f"{inputs}-{width}-{classes}, batch {samples}"
        actions = {}
        model, closure = mlp(inputs, width, classes, samples)
        adam = torch.optim.Adam(model.parameters(), lr=1e-3)

        def adam_step(adam=adam, closure=closure):
            adam.zero_grad()
            closure().backward()
            adam.step()

        actions["adam"] = adam_step
        model, closure = mlp(inputs, width, classes, samples)
        qlr = AdamQLR(model.parameters())
        actions["qlr"] = lambda qlr=qlr, closure=closure: qlr.step(closure)
        actions["qlr raw"] = raw_adamqlr(model, closure)
        # The baselines that keep one graph get a model of their own (the steps write
        # their parameters in place, which would make the graph stale).
        model, closure = mlp(inputs, width, classes, samples)
        actions["hvp"] = one_hvp(model, closure)
        actions["value"] = one_value(closure)
        hvps = 2 * (TERMS - 1)
        for accelerate in ("sablonniere", None):
            model, closure = mlp(inputs, width, classes, samples)
            sfn = SFNSeries(model.parameters(), learning_rate=0.1, terms=TERMS,
                            accelerate=accelerate)
            actions[f"sfn {accelerate}"] = lambda sfn=sfn, closure=closure: sfn.step(closure)
        model, closure = mlp(inputs, width, classes, samples)
        actions["hvps"] = raw_hvps(model, closure, hvps, with_gradient=False)
        actions["hvps+grad"] = raw_hvps(model, closure, hvps, with_gradient=True)
        model, closure = mlp(inputs, width, classes, samples)
        actions["oracle hvps"] = oracle_hvps(model, closure, hvps)
        model, closure = mlp(inputs, width, classes, samples)
        actions["chained hvps"] = chained_hvps(model, closure, hvps)
        if functional:
            model, closure = mlp(inputs, width, classes, samples)
            sfn_f = SFNSeries(model.parameters(), learning_rate=0.1, terms=TERMS,
                              accelerate=None)
            actions["sfn func"] = lambda sfn=sfn_f, f=closure.loss_fn: sfn.step(loss_fn=f)
        t = interleaved(actions, rounds)
        rows.append((label, "AdamQLR", t["qlr"],
                     "its autograd work: grad with graph, 1 HVP, 1 forward", t["qlr raw"]))
        rows.append((label, "AdamQLR", t["qlr"], "`torch.optim.Adam` step (not like for like)",
                     t["adam"]))
        rows.append((label, "AdamQLR's Adam path: its step less 1 HVP and 1 forward "
                     f"({1e3 * t['hvp']:.2f} + {1e3 * t['value']:.2f} ms)",
                     t["qlr"] - t["hvp"] - t["value"], "`torch.optim.Adam` step", t["adam"]))
        for accelerate in ("sablonniere", None):
            name = f"SFNSeries K={TERMS}, accelerate={accelerate}"
            rows.append((label, name, t[f"sfn {accelerate}"], f"its {hvps} HVPs", t["hvps"]))
            rows.append((label, name, t[f"sfn {accelerate}"],
                         f"its {hvps} HVPs + grad with graph", t["hvps+grad"]))
            rows.append((label, name, t[f"sfn {accelerate}"],
                         f"grad with graph + its {hvps} HVPs as the adapter computes them "
                         "(flat products)", t["oracle hvps"]))
            rows.append((label, name, t[f"sfn {accelerate}"],
                         f"grad with graph + {hvps} HVPs of a power iteration by hand "
                         "(each along the last product over its norm)", t["chained hvps"]))
        if functional:
            rows.append((label, f"SFNSeries K={TERMS}, accelerate=None, `step(loss_fn=)` "
                         "(torch.func)", t["sfn func"], f"its {hvps} HVPs + grad with graph "
                         "(double backward)", t["hvps+grad"]))
    return rows


class _Clock:
    """Wall time spent inside chosen functions during one step (``--breakdown``)."""

    def __init__(self) -> None:
        self.spent: dict = {}
        self._undo: list = []

    def wrap(self, owner, name: str, key, label=None) -> None:
        """Time ``owner.name`` under ``key`` (or ``label(args, kwargs)``) until restored."""
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                which = label(args, kwargs) if label else key
                self.spent[which] = self.spent.get(which, 0.0) + time.perf_counter() - start

        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo = []


def breakdown(rounds: int) -> list[tuple]:
    """Rows ``(step, part, ms)``: where an SFNSeries step's time goes, tiny network.

    Wall time of the functions involved, each timed from outside (a microsecond or
    so of timing per call is included): the closure's forward passes, the gradient
    with graph and the HVPs inside ``torch.autograd.grad``, the rest of each product
    (the oracle's validation and counting, the adapter's flattening), the accelerator's
    table (``accel._batched_epsilon``), the rest of the fixed-``K`` series
    (``matfun.optim._lean_series``: the entry rescaling, the recurrence, the norms),
    and everything else (the method's checks and update, the adapter's flattening,
    state and copies).
    """
    from matfun.optim import _lean_series, _oracle_calls, _saddle_free_rules

    rows = []
    for accelerate in ("sablonniere", None):
        model, closure = mlp(64, 32, 10, 256)
        sfn = SFNSeries(model.parameters(), learning_rate=0.1, terms=TERMS,
                        accelerate=accelerate)
        clock = _Clock()
        clock.wrap(torch.autograd, "grad", None, label=lambda args, kwargs: (
            "gradient with graph" if kwargs.get("create_graph") else "HVPs in autograd"))
        clock.wrap(_oracle_calls.HVPCounter, "unchecked", "products")
        clock.wrap(_saddle_free_rules, "lean_direction", "series")
        clock.wrap(_lean_series, "unchecked_estimate", "table")

        def closure_timed(closure=closure, clock=clock):
            start = time.perf_counter()
            try:
                return closure()
            finally:
                clock.spent["forward"] = (clock.spent.get("forward", 0.0)
                                          + time.perf_counter() - start)

        samples = []
        try:
            for round_ in range(3 + rounds):
                clock.spent = {}
                start = time.perf_counter()
                sfn.step(closure_timed)
                total = time.perf_counter() - start
                if round_ >= 3:
                    samples.append({**clock.spent, "step": total})
        finally:
            clock.restore()
        parts = {}
        for sample in samples:
            spent = {key: sample.get(key, 0.0) for key in (
                "step", "forward", "gradient with graph", "HVPs in autograd", "products",
                "series", "table")}
            wrappers = spent["products"] - spent["HVPs in autograd"]
            arithmetic = spent["series"] - spent["products"] - spent["table"]
            rest = (spent["step"] - spent["forward"] - spent["gradient with graph"]
                    - spent["series"])
            for part, value in (
                    ("the step", spent["step"]),
                    ("forward passes (closure)", spent["forward"]),
                    ("gradient with graph (`torch.autograd.grad`)",
                     spent["gradient with graph"]),
                    (f"{2 * (TERMS - 1)} HVPs inside `torch.autograd.grad`",
                     spent["HVPs in autograd"]),
                    ("the products' wrappers (validation, oracle, flattening)", wrappers),
                    ("series arithmetic (recurrence, norms, rescaling)", arithmetic),
                    ("accelerator's table", spent["table"]),
                    ("the rest (method's checks and update, adapter)", rest)):
                parts.setdefault(part, []).append(value)
        name = f"SFNSeries K={TERMS}, accelerate={accelerate}"
        rows += [(name, part, statistics.median(values)) for part, values in parts.items()]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed rounds")
    parser.add_argument("--quick", action="store_true", help="one small size, 2 rounds")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the parts of an SFNSeries step on the tiny network")
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parents[1]
                        / "docs" / "bench_optim_torch.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    sizes = [(64, 32, 10, 256)] if args.quick else [(64, 32, 10, 256), (256, 256, 10, 1024)]
    load_before = os.getloadavg()[0]
    rows = measure(sizes, 2 if args.quick else args.steps)
    load_after = os.getloadavg()[0]
    lines = ["| MLP | step | time (ms) | baseline | baseline (ms) | ratio |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {mlp_} | {step} | {1e3 * t:.2f} | {base} | {1e3 * t_base:.2f} | "
              f"{t / t_base:.2f} |" for mlp_, step, t, base, t_base in rows]
    table = "\n".join(lines)
    if args.breakdown:
        parts = ["| step | part | time (ms) |", "|---|---|---|"]
        parts += [f"| {step} | {part} | {1e3 * t:.2f} |"
                  for step, part, t in breakdown(2 if args.quick else args.steps)]
        table += ("\n\nWhere the time of an SFNSeries step goes (64-32-10, batch 256; "
                  "`--breakdown`: wall time inside each part, the median over the rounds, "
                  "timed from outside, so the parts need not add up exactly):\n\n"
                  + "\n".join(parts))
    print(table)
    command = "python benchmarks/bench_optim_torch.py" + (" --quick" if args.quick else
                                                            f" --steps {args.steps}")
    command += " --breakdown" if args.breakdown else ""
    cores = os.cpu_count()
    page = ("---\norphan: true\n---\n\n# Per-step cost of the PyTorch optimisers\n\n"
            f"`{command}`: torch {torch.__version__}, {platform.processor() or 'CPU'}, "
            "`torch.set_num_threads(1)`, float32; process CPU time, the median over the "
            "rounds after 3 warm-up rounds, every step and baseline called in turn within "
            f"a round. Load average {load_before:.1f} at the start, {load_after:.1f} at the "
            f"end, on {cores} cores (a shared machine): CPU time does not count the time "
            "given to other processes, but caches and frequency still vary; ratios within "
            "a size are more stable than the times. AdamQLR's *Adam path* is its step less "
            "what it spends beyond Adam's forward and backward pass: one HVP on a built "
            "graph and one forward pass without autograd, each timed alone (it keeps the "
            "gradient's graph, which Adam does not). See [](optim_torch.md) for what each "
            "ratio compares.\n\n"
            + table + "\n")
    args.output.write_text(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Per-step cost of the matfun.optim.torch classes against the autograd work they need.

Prints a table and writes ``docs/bench_optim_torch.md``. A small MLP (cross-entropy on
random data) on the CPU, one thread; best of ``--steps`` steps after warm-up, in process CPU time.

* AdamQLR against ``torch.optim.Adam``: AdamQLR spends, by design, one forward and
  backward pass with ``create_graph=True``, one Hessian-vector product and one more
  forward pass (the reduction ratio) per step, where Adam spends one forward and one
  plain backward pass. So the comparable baseline is that autograd work done by hand
  (``raw``); the ratio to Adam is reported too.
* SFNSeries with ``K`` terms spends one forward and backward pass with graph and
  ``2 (K - 1)`` HVPs: compared with those HVPs alone and with HVPs plus gradient, timed
  by hand on the same graph (double backward). With ``step(loss_fn=...)`` the HVPs are
  torch.func's forward-over-reverse, which recompute the forward pass for each.

    python benchmarks/bench_optim_torch.py [--steps 30] [--quick]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

from matfun.optim.torch import AdamQLR, SFNSeries

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


def best_time(action, steps: int, warmup: int = 3) -> float:
    warmup = min(warmup, steps)
    for _ in range(warmup):
        action()
    times = []
    for _ in range(steps):
        start = time.process_time()
        action()
        times.append(time.process_time() - start)
    # CPU time of this process (one thread): time the machine gives to others is not
    # counted; the minimum drops what interference (caches, frequency) still adds.
    return min(times)


def graph(model, closure):
    params = list(model.parameters())
    loss = closure()
    grads = torch.autograd.grad(loss, params, create_graph=True)
    return params, loss, grads


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


def measure(sizes, steps: int) -> list[tuple]:
    """Rows ``(MLP, step, step ms, baseline, baseline ms)``."""
    rows = []
    for inputs, width, classes, samples in sizes:
        label = f"{inputs}-{width}-{classes}, batch {samples}"
        model, closure = mlp(inputs, width, classes, samples)
        adam = torch.optim.Adam(model.parameters(), lr=1e-3)

        def adam_step(adam=adam, closure=closure):
            adam.zero_grad()
            closure().backward()
            adam.step()

        t_adam = best_time(adam_step, steps)
        model, closure = mlp(inputs, width, classes, samples)
        qlr = AdamQLR(model.parameters())
        t_qlr = best_time(lambda qlr=qlr, closure=closure: qlr.step(closure), steps)
        t_raw = best_time(raw_adamqlr(model, closure), steps)
        rows.append((label, "AdamQLR", t_qlr,
                     "its autograd work: grad with graph, 1 HVP, 1 forward", t_raw))
        rows.append((label, "AdamQLR", t_qlr, "`torch.optim.Adam` step (not like for like)",
                     t_adam))
        for accelerate in ("sablonniere", None):
            model, closure = mlp(inputs, width, classes, samples)
            sfn = SFNSeries(model.parameters(), learning_rate=0.1, terms=TERMS,
                            accelerate=accelerate)
            t_sfn = best_time(lambda sfn=sfn, closure=closure: sfn.step(closure), steps)
            hvps = sfn.last_info["matvecs"]
            t_hvps = best_time(raw_hvps(model, closure, hvps, with_gradient=False), steps)
            t_both = best_time(raw_hvps(model, closure, hvps, with_gradient=True), steps)
            name = f"SFNSeries K={TERMS}, accelerate={accelerate}"
            rows.append((label, name, t_sfn, f"its {hvps} HVPs", t_hvps))
            rows.append((label, name, t_sfn, f"its {hvps} HVPs + grad with graph", t_both))
        model, closure = mlp(inputs, width, classes, samples)
        sfn = SFNSeries(model.parameters(), learning_rate=0.1, terms=TERMS, accelerate=None)
        t_func = best_time(lambda sfn=sfn, f=closure.loss_fn: sfn.step(loss_fn=f), steps)
        rows.append((label, f"SFNSeries K={TERMS}, accelerate=None, `step(loss_fn=)` "
                     "(torch.func)", t_func, f"its {hvps} HVPs + grad with graph (double "
                     "backward)", t_both))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="one small size, 2 steps")
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parents[1]
                        / "docs" / "bench_optim_torch.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    sizes = [(64, 32, 10, 256)] if args.quick else [(64, 32, 10, 256), (256, 256, 10, 1024)]
    rows = measure(sizes, 2 if args.quick else args.steps)
    lines = ["| MLP | step | time (ms) | baseline | baseline (ms) | ratio |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {mlp_} | {step} | {1e3 * t:.2f} | {base} | {1e3 * t_base:.2f} | "
              f"{t / t_base:.2f} |" for mlp_, step, t, base, t_base in rows]
    table = "\n".join(lines)
    print(table)
    command = "python benchmarks/bench_optim_torch.py" + (" --quick" if args.quick else
                                                            f" --steps {args.steps}")
    page = ("---\norphan: true\n---\n\n# Per-step cost of the PyTorch optimisers\n\n"
            f"`{command}`: torch {torch.__version__}, {platform.processor() or 'CPU'}, "
            "`torch.set_num_threads(1)`, float32; process CPU time (the machine is shared), "
            "best of the steps after 3 warm-up steps. See [](optim_torch.md) for what each "
            "ratio compares.\n\n"
            + table + "\n")
    args.output.write_text(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

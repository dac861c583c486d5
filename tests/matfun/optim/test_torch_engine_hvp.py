"""The torch closure oracle's HVPs by the autograd engine call equal torch.autograd.grad's.

``ClosureOracle.hvp`` calls the engine that ``torch.autograd.grad`` ends with (without
its argument handling, see matfun/optim/torch/_oracle.py); the products must be the
same floats as the public call's, on every route it takes (the engine on the CPU, the
wrapper's helper when torch.autograd logs at DEBUG, the public call for a direction
of another dtype).
"""

from __future__ import annotations

import logging

import pytest

torch = pytest.importorskip("torch")

from matfun.optim.torch import _oracle  # noqa: E402
from matfun.optim.torch._oracle import ClosureOracle, flatten  # noqa: E402


def _model(dtype):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(),
                                torch.nn.Linear(7, 3)).to(dtype)
    X, y = torch.randn(11, 5, dtype=dtype), torch.randint(0, 3, (11,))
    return model, lambda: torch.nn.functional.cross_entropy(model(X), y)


def _public(params, closure, v):
    loss = closure()
    grads = torch.autograd.grad(loss, params, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])
    products = torch.autograd.grad(flat, params, grad_outputs=v, retain_graph=True)
    return torch.cat([h.reshape(-1) for h in products])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("debug", [False, True])
def test_engine_hvp_equals_autograd_grad(dtype, debug):
    model, closure = _model(dtype)
    params = list(model.parameters())
    origin = flatten(params)
    oracle = ClosureOracle(params, closure, origin)
    logger = logging.getLogger("torch.autograd.graph")
    level = logger.level
    if debug:
        logger.setLevel(logging.DEBUG)
    try:
        for seed in range(3):
            generator = torch.Generator().manual_seed(seed)
            v = torch.randn(origin.shape, dtype=dtype, generator=generator)
            assert torch.equal(oracle.hvp(origin, v), _public(params, closure, v))
    finally:
        logger.setLevel(level)
    assert _oracle._DEBUG() is False


def test_direction_of_another_dtype_takes_the_public_call():
    model, closure = _model(torch.float64)
    params = list(model.parameters())
    origin = flatten(params)
    oracle = ClosureOracle(params, closure, origin)
    v = torch.ones(origin.shape, dtype=torch.float32)
    expected = _public(params, closure, v.to(torch.float64))
    assert torch.equal(oracle.hvp(origin, v), expected)

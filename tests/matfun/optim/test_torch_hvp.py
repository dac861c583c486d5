"""The torch closure oracle's HVPs equal the textbook double backward, bit for bit.

``ClosureOracle.hvp`` differentiates the flat gradient kept with its graph (one backward
per product); the products must be the same floats as a double backward through
``torch.autograd.grad`` per parameter, for directions of the parameters' dtype and of
another dtype.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

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
def test_hvp_equals_autograd_grad(dtype):
    model, closure = _model(dtype)
    params = list(model.parameters())
    origin = flatten(params)
    oracle = ClosureOracle(params, closure, origin)
    for seed in range(3):
        generator = torch.Generator().manual_seed(seed)
        v = torch.randn(origin.shape, dtype=dtype, generator=generator)
        assert torch.equal(oracle.hvp(origin, v), _public(params, closure, v))


def test_direction_of_another_dtype():
    model, closure = _model(torch.float64)
    params = list(model.parameters())
    origin = flatten(params)
    oracle = ClosureOracle(params, closure, origin)
    v = torch.ones(origin.shape, dtype=torch.float32)
    expected = _public(params, closure, v.to(torch.float64))
    assert torch.equal(oracle.hvp(origin, v), expected)

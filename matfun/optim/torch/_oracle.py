r"""An :class:`~matfun.optim.Oracle` on the flat parameter vector, from a closure.

The closure re-evaluates the model at the values the parameter tensors hold and
returns the loss, *without* calling ``backward`` (the oracle differentiates it
itself, twice). Derivatives by reverse-mode autograd:

* value and gradient, fused: one forward pass and one backward pass with
  ``create_graph=True`` at the step's starting point, cached for the step;
* Hessian-vector products :math:`H v = \nabla (g^T v)`: one more backward pass
  through that graph each (double backward, Pearlmutter's trick);
* the third directional derivative :math:`D^3 f[u, u, u] = u^T \nabla (u^T H u)`:
  a backward pass with ``create_graph=True`` and one more (triple backward).

``torch.func``'s forward-over-reverse (``jvp`` of ``grad``) needs the loss as a
function of the parameters; a closure only reads the tensors' current values, so
the products go through the graph the closure builds instead. Where the user has
such a function (``step(loss_fn=...)``), :class:`FunctionalOracle` uses ``torch.func``:
forward-over-reverse products and nested ``jvp`` for the third derivative.

Any other point (a trial step's loss, for :math:`\rho`) is evaluated under
``torch.no_grad()``: the parameter tensors are overwritten in place with that point,
and the cached graph is dropped (its saved tensors are stale); a later request at
the starting point would rebuild it, which the wrapped methods never need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    import torch
except ModuleNotFoundError:  # the package imports without torch (docs, doctests)
    torch = None

__all__ = ["ClosureOracle", "FunctionalOracle", "check_parameters", "flatten"]

_NO_BACKWARD = ("closure must return the loss without calling loss.backward(): the "
                "optimiser differentiates the loss itself (again for every Hessian-vector "
                "product), and backward() frees the graph it needs")


def check_parameters(params: list, owner: str) -> None:
    """``TypeError``/``ValueError`` unless ``params`` are dense real floating leaves.

    They must also share one dtype and one device (they are concatenated into one
    flat vector) and require gradients.
    """
    if not params:
        raise ValueError(f"{owner} got an empty parameter list")
    first = params[0]
    for index, p in enumerate(params):
        name = f"{owner}: parameter {index}"
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(p).__name__}")
        if p.layout != torch.strided:
            raise TypeError(f"{name} is a sparse tensor ({p.layout}); only dense "
                            "parameters are supported")
        if not p.is_floating_point():
            raise TypeError(f"{name} has dtype {p.dtype}; parameters must be real floating "
                            "point (the objective is differentiated with respect to them)")
        if not p.requires_grad:
            raise ValueError(f"{name} does not require grad; pass only the trainable "
                             "parameters")
        if p.dtype != first.dtype or p.device != first.device:
            raise TypeError(f"{name} is {p.dtype} on {p.device} but parameter 0 is "
                            f"{first.dtype} on {first.device}: all parameters form one "
                            "flat vector, so they must share dtype and device")


def flatten(tensors: list) -> Any:
    """The concatenation of ``tensors``, each flattened (a new, detached tensor)."""
    return torch.cat([t.detach().reshape(-1) for t in tensors])


class ClosureOracle:
    """Value, gradient, HVP and third derivative of ``closure`` on the flat vector.

    Parameters
    ----------
    params : list of torch.Tensor
        The parameter tensors; ``origin`` is their current values, flattened.
    closure : callable
        ``closure()`` -> the loss (a one-element tensor) at the tensors' values.
    origin : torch.Tensor
        The flat vector the step starts from (value and gradient there are fused).
    """

    def __init__(self, params: list, closure: Callable[[], Any], origin: Any) -> None:
        self.params = params
        self.sizes = [p.numel() for p in params]
        self._flat = [p.dim() == 1 for p in params]  # products shaped like them: flat already
        # Flat views of the parameters, for one multi-tensor copy per load (contiguous
        # parameters; any other layout is copied tensor by tensor).
        with torch.no_grad():
            self._flat_params = ([p.view(-1) for p in params]
                                 if all(p.is_contiguous() for p in params) else None)
        self.closure = closure
        self.origin = origin
        self.at = origin          # the flat vector whose values the tensors hold
        self.point = None         # the flat vector of the cached graph
        self.loss = None          # the loss there (with its graph)
        self.grads = None         # the gradient tensors there (with their graph)
        self.flat_gradient = None  # their concatenation (with its graph)
        self.gradient = None      # the flat gradient there (detached)
        self.origin_loss = None   # the loss at origin, detached (what step() returns)

    # -- evaluation ---------------------------------------------------------------
    def _chunks(self, v: Any) -> list:
        return [c.view(p.shape) for c, p in zip(v.split_with_sizes(self.sizes), self.params,
                                                 strict=True)]

    def load(self, x: Any) -> None:
        """Write the flat vector ``x`` into the parameter tensors (no host sync)."""
        if x is self.at:
            return
        with torch.no_grad():
            if self._flat_params is not None:
                torch._foreach_copy_(self._flat_params, x.split_with_sizes(self.sizes))
            else:
                for p, chunk in zip(self.params, self._chunks(x), strict=True):
                    p.copy_(chunk)
        self.at = x
        self.point = None  # the graph saved the old values: it is stale now

    def _loss(self, with_graph: bool) -> Any:
        try:
            with torch.set_grad_enabled(with_graph):
                loss = self.closure()
        except RuntimeError as error:
            if "does not require grad" in str(error) and not with_graph:
                raise ValueError(_NO_BACKWARD) from error
            raise
        _check_loss(loss, "closure")
        if with_graph and not loss.requires_grad:
            raise ValueError("the loss returned by closure does not require grad: it was "
                             "computed under torch.no_grad(), detached, or does not depend "
                             "on the parameters")
        return loss.reshape(())

    def _differentiate(self, x: Any) -> None:
        """Fused loss and gradient at ``x`` (one forward, one backward with graph)."""
        if self.point is x:
            return
        self.load(x)
        loss = self._loss(with_graph=True)
        try:
            grads = torch.autograd.grad(loss, self.params, create_graph=True,
                                        allow_unused=True)
        except RuntimeError as error:
            if "second time" in str(error):
                raise ValueError(_NO_BACKWARD) from error
            raise
        if any(g is not None and g.layout != torch.strided for g in grads):
            raise TypeError("sparse gradients are not supported (e.g. nn.Embedding("
                            "sparse=True)): Hessian-vector products need dense double "
                            "backward")
        self.grads = [torch.zeros_like(p) if g is None else g
                      for g, p in zip(grads, self.params, strict=True)]
        self.point, self.loss = x, loss
        # The flat gradient *with* its graph: a product is then one backward pass from
        # one output, the flat direction split by the graph's own (C++) cat backward.
        self.flat_gradient = torch.cat([g.reshape(-1) for g in self.grads])
        self.gradient = self.flat_gradient.detach()
        if x is self.origin:
            self.origin_loss = loss.detach()

    def _backward(self, outputs: list, grad_outputs: list, create_graph: bool) -> list:
        """``sum_i grad(outputs_i . grad_outputs_i)`` per parameter (zeros if unused)."""
        pairs = [(o, w) for o, w in zip(outputs, grad_outputs, strict=True)
                 if o.requires_grad]
        if not pairs:  # the outputs are constant in the parameters
            return [torch.zeros_like(p) for p in self.params]
        products = torch.autograd.grad([o for o, _ in pairs], self.params,
                                       grad_outputs=[w for _, w in pairs],
                                       retain_graph=True, create_graph=create_graph,
                                       allow_unused=True)
        return [torch.zeros_like(p) if h is None else h
                for h, p in zip(products, self.params, strict=True)]

    # -- the Oracle's callables ---------------------------------------------------------
    def value(self, x: Any) -> Any:
        """``f(x)``: fused with the gradient at the starting point, else without a graph."""
        if x is self.origin or x is self.point:
            self._differentiate(x)
            return self.loss.detach()
        self.load(x)
        return self._loss(with_graph=False).detach()

    def grad(self, x: Any) -> Any:
        """``grad f(x)`` (cached with the value)."""
        self._differentiate(x)
        return self.gradient

    def hvp(self, x: Any, v: Any) -> Any:
        """``H(x) v`` by double backward through the (flat) gradient's graph."""
        self._differentiate(x)
        if not self.flat_gradient.requires_grad:  # the gradient is constant: H = 0
            return torch.zeros_like(self.gradient)
        products = torch.autograd.grad(self.flat_gradient, self.params, grad_outputs=v,
                                       retain_graph=True, allow_unused=True)
        # A piece shaped like a 1-D parameter (a bias) joins as it is: one operation less.
        return torch.cat([p.new_zeros(p.numel()) if h is None else h if flat else
                          h.reshape(-1)
                          for h, p, flat in zip(products, self.params, self._flat, strict=True)])

    def third(self, x: Any, u: Any) -> Any:
        """``D^3 f(x)[u, u, u]`` (a 0-d tensor) by triple backward."""
        self._differentiate(x)
        directions = self._chunks(u)
        products = self._backward(self.grads, directions, create_graph=True)
        curvature = [(h * d).sum() for h, d in zip(products, directions, strict=True)]
        derivative = self._backward(curvature, [torch.ones_like(c) for c in curvature],
                                    create_graph=False)
        return sum((t * d).sum() for t, d in zip(derivative, directions, strict=True))


class FunctionalOracle(ClosureOracle):
    r"""The same oracle from a pure loss function, differentiated by ``torch.func``.

    ``loss_fn(*tensors)`` -> the loss, a pure function of tensors shaped like the
    parameters (e.g. through ``torch.func.functional_call``). Value and gradient fused
    by ``torch.func.grad_and_value``; Hessian-vector products forward-over-reverse,
    ``jvp(grad(f), (w,), (v,))``; the third directional derivative by nested ``jvp``
    (:math:`\tfrac{d^3}{dt^3} f(w + t u)`, forward mode only). Nothing is written into
    the parameter tensors until :meth:`load` is called with the step's result.
    """

    def __init__(self, params: list, loss_fn: Callable[..., Any], origin: Any) -> None:
        super().__init__(params, loss_fn, origin)
        self.loss_fn = loss_fn

    def _function(self, w: Any) -> Any:
        loss = self.loss_fn(*self._chunks(w))
        _check_loss(loss, "loss_fn")
        return loss.reshape(())

    def _differentiate(self, x: Any) -> None:
        if self.point is x:
            return
        gradient, loss = torch.func.grad_and_value(self._function)(x)
        self.point, self.loss, self.gradient = x, loss.detach(), gradient.detach()
        if x is self.origin:
            self.origin_loss = self.loss

    def value(self, x: Any) -> Any:
        """``f(x)``: fused with the gradient at the starting point, else without a graph."""
        if x is self.origin or x is self.point:
            self._differentiate(x)
            return self.loss
        with torch.no_grad():
            return self._function(x)

    def hvp(self, x: Any, v: Any) -> Any:
        """``H(x) v`` forward-over-reverse: ``jvp(grad(f), (x,), (v,))``."""
        return torch.func.jvp(torch.func.grad(self._function), (x,), (v,))[1].detach()

    def third(self, x: Any, u: Any) -> Any:
        """``D^3 f(x)[u, u, u]`` by three nested ``jvp`` along ``u``."""
        def first(w: Any) -> Any:
            return torch.func.jvp(self._function, (w,), (u,))[1]

        def second(w: Any) -> Any:
            return torch.func.jvp(first, (w,), (u,))[1]

        return torch.func.jvp(second, (x,), (u,))[1].detach()


def _check_loss(loss: Any, source: str) -> None:
    """Refuse a loss from ``source`` ("closure" or "loss_fn") that is not a real scalar tensor."""
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"{source} must return the loss as a torch.Tensor, got "
                        f"{type(loss).__name__}")
    if loss.numel() != 1:
        raise ValueError(f"{source} must return a scalar loss, got shape {tuple(loss.shape)}")
    if not loss.is_floating_point():
        raise TypeError(f"{source} returned a loss of dtype {loss.dtype}; expected a "
                        "real floating scalar")

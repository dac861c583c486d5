r"""PyTorch optimisers: the methods of :mod:`matfun.optim` as ``torch.optim.Optimizer`` classes.

Each class runs the array-API method of the same options and defaults on the
concatenation of its parameter tensors, a flat torch tensor (the methods run on
torch through ``array-api-compat``; nothing is copied to NumPy except what the
method itself decides on the host):

* :class:`SFNSeries` wraps :func:`matfun.optim.sfn_series`;
* :class:`ExactSFN` wraps :func:`matfun.optim.exact_sfn`;
* :class:`AdaptiveSFN` wraps :func:`matfun.optim.adaptive` (of either);
* :class:`GroupedNewton` wraps :func:`matfun.optim.grouped_newton`;
* :class:`AdamQLR` wraps :func:`matfun.optim.adamqlr`.

``step(closure)`` follows ``torch.optim.LBFGS``: the closure re-evaluates the model
and returns the loss, but it must **not** call ``loss.backward()`` -- the optimiser
differentiates the loss itself (with ``create_graph=True``, then once more per
Hessian-vector product), see :mod:`matfun.optim.torch._oracle`. Where the loss is a pure
function of the parameter tensors, ``step(loss_fn=...)`` differentiates it with
``torch.func`` instead (forward-over-reverse products, nested ``jvp``; slower on the
CPU, as each product re-runs the forward pass). ``step`` returns the
loss at the parameters it started from; ``last_info`` holds the method's ``info``
dict (``loss``, ``grad_norm``, ``matvecs``, ...). The gradients' ``.grad`` fields are
not touched.

The whole parameter vector takes one step, so every param group must carry the same
options (``ValueError`` otherwise); changing an option in ``param_groups`` (all
groups alike) between steps takes effect at the next step. For
:class:`GroupedNewton` the groups *are* the method's partition when
``partition="param_group"``; by default each tensor is its own group.

State lives in ``self.state`` (vectors per parameter, shaped like it; scalars such as
the step count, ``V`` or the damping with the first parameter), so ``state_dict()`` /
``load_state_dict()`` resume a run exactly.

This module imports without torch installed (the classes then raise ``ImportError``
when constructed); :mod:`matfun.optim` never imports it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from .._base import Oracle
from ..adamqlr import AdamQLRState
from ..adamqlr import adamqlr as _adamqlr
from ..adaptive import AdaptiveState
from ..adaptive import adaptive as _adaptive
from ..grouped_newton import GroupedNewtonState
from ..grouped_newton import grouped_newton as _grouped_newton
from ..sfn import ExactSFNState, SeriesSFNState
from ..sfn import exact_sfn as _exact_sfn
from ..sfn import sfn_series as _sfn_series
from ._oracle import ClosureOracle, FunctionalOracle, check_parameters, flatten, torch

__all__ = ["AdamQLR", "AdaptiveSFN", "ExactSFN", "GroupedNewton", "SFNSeries"]

_Base = object if torch is None else torch.optim.Optimizer

# Option name -> its param-group key: torch's learning-rate schedulers (StepLR,
# CosineAnnealingLR, ReduceLROnPlateau, ...) read and write ``group["lr"]``.
_GROUP_KEYS = {"learning_rate": "lr"}
_OPTION_NAMES = {key: option for option, key in _GROUP_KEYS.items()}


class _Group(dict):
    """A param group whose missing ``"lr"`` says why (torch's schedulers read the key)."""

    owner = "this optimiser"

    def __missing__(self, key: Any) -> Any:
        if key == "lr":
            raise KeyError(f"'lr': {self.owner} chooses its step lengths itself and has no "
                           "learning rate, so torch's learning-rate schedulers do not apply "
                           "to it (SFNSeries and ExactSFN have one)")
        raise KeyError(key)


class _MatfunOptimizer(_Base):
    """A :mod:`matfun.optim` method on the flat vector of all parameters (internal)."""

    _state_type: type = type(None)
    _vector_fields: tuple = ()  # state fields that are flat vectors (stored per parameter)

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        if torch is None:
            raise ImportError(f"{type(self).__name__} needs PyTorch: "
                              "pip install 'matfun-accel[torch]'")
        # A learning rate lives in the groups as "lr", the key torch's schedulers drive.
        defaults = {_GROUP_KEYS.get(key, key): value for key, value in defaults.items()}
        self._option_names = tuple(defaults)  # torch may add keys of its own to defaults
        super().__init__(params, defaults)
        self._built_options: dict | None = None
        self._saved_vectors: dict = {}  # field -> (flat vector, its per-parameter views)
        self._method = self._current_method()  # validates the options now
        self.last_info: dict | None = None

    def _build(self, **options: Any) -> Any:
        raise NotImplementedError

    def add_param_group(self, param_group: dict) -> None:
        """Add a group (``torch.optim.Optimizer``'s), checking its tensors.

        Only before the first step: the method's state covers the flat vector of all
        parameters, which a new group would lengthen.
        """
        if any("step" in state for state in getattr(self, "state", {}).values()):
            raise ValueError(f"{type(self).__name__}: add_param_group after the first step "
                             "is not supported (the state covers the flat vector of all "
                             "parameters); build a new optimiser")
        super().add_param_group(self._group(param_group))
        check_parameters(self._parameters(), type(self).__name__)

    def _group(self, param_group: Any) -> Any:
        if not isinstance(param_group, dict):
            return param_group  # torch's own TypeError
        group = _Group(param_group)
        group.owner = type(self).__name__
        return group

    def _parameters(self) -> list:
        return [p for group in self.param_groups for p in group["params"]]

    def _options(self) -> dict:
        options = {key: self.param_groups[0][key] for key in self._option_names}
        for index, group in enumerate(self.param_groups[1:], start=1):
            differ = sorted(key for key in self._option_names if group[key] != options[key])
            if differ:
                raise ValueError(f"param_groups[{index}] sets {', '.join(differ)} differently "
                                 f"from param_groups[0]: {type(self).__name__} takes one step "
                                 "over all parameters, with one set of options")
        return {_OPTION_NAMES.get(key, key): value for key, value in options.items()}

    def load_state_dict(self, state_dict: dict) -> None:
        """``torch.optim.Optimizer``'s, also reading groups saved with ``"learning_rate"``."""
        groups = [{_GROUP_KEYS.get(key, key): value for key, value in group.items()}
                  for group in state_dict["param_groups"]]
        super().load_state_dict({**state_dict, "param_groups": groups})
        self.param_groups[:] = [self._group(group) for group in self.param_groups]

    def _current_method(self) -> Any:
        options = self._options()
        if options != self._built_options:
            self._method = self._build(**options)
            self._built_options = options
        return self._method

    def _oracle(self, source: ClosureOracle) -> Oracle:
        return Oracle(value=source.value, grad=source.grad, hvp=source.hvp,
                      third=source.third)

    # -- state: vectors per parameter, scalars with the first parameter -----------------
    def _load_state(self, params: list, flat: Any) -> Any:
        head = self.state[params[0]]
        if "step" not in head:
            return self._method.init(flat)
        fields = {}
        for field in dataclasses.fields(self._state_type):
            if field.name in self._vector_fields:
                pieces = [self.state[p][field.name] for p in params]
                whole, views = self._saved_vectors.get(field.name, (None, ()))
                # The views saved last step, untouched: their flat vector, without a copy.
                unchanged = len(views) == len(pieces) and all(
                    a is b for a, b in zip(views, pieces, strict=True))
                fields[field.name] = whole if unchanged else flatten(pieces)
            else:
                fields[field.name] = head[field.name]
        return self._state_type(**fields)

    def _save_state(self, params: list, state: Any) -> None:
        self._saved_vectors = {}
        for field in dataclasses.fields(state):
            value = getattr(state, field.name)
            if field.name in self._vector_fields:
                views = [chunk.view(p.shape) for p, chunk in zip(
                    params, value.split_with_sizes([p.numel() for p in params]), strict=True)]
                for p, view in zip(params, views, strict=True):
                    self.state[p][field.name] = view
                self._saved_vectors[field.name] = (value, tuple(views))
            else:
                self.state[params[0]][field.name] = value

    def step(self, closure: Callable[[], Any] | None = None, *,  # noqa: D417
             loss_fn: Callable[..., Any] | None = None) -> Any:
        """One step of the method; returns the loss at the starting parameters.

        Parameters
        ----------
        closure : callable
            ``closure()`` re-evaluates the model at the parameters' current values and
            returns the loss, without calling ``backward()``. Called once with autograd
            for the value and gradient (Hessian-vector products by double backward
            through that graph), and once without for every trial point the method
            evaluates.
        loss_fn : callable, optional
            Instead of ``closure``: ``loss_fn(*tensors)`` -> the loss as a *pure function*
            of tensors shaped like the parameters (in the optimiser's order), e.g. through
            ``torch.func.functional_call``. Derivatives by ``torch.func``:
            forward-over-reverse HVPs, nested ``jvp`` for third derivatives.
        """
        if (closure is None) == (loss_fn is None):
            raise TypeError(f"{type(self).__name__}.step needs a closure that re-evaluates "
                            "the model and returns the loss (as for torch.optim.LBFGS), or "
                            "loss_fn=, a function of the parameter tensors; got "
                            + ("neither" if closure is None else "both"))
        function = closure if loss_fn is None else loss_fn
        if not callable(function):
            raise TypeError(f"{'closure' if loss_fn is None else 'loss_fn'} must be callable, "
                            f"got {type(function).__name__}")
        method = self._current_method()
        params = self._parameters()
        origin = flatten(params)
        source = (ClosureOracle(params, closure, origin) if loss_fn is None
                  else FunctionalOracle(params, loss_fn, origin))
        state = self._load_state(params, origin)
        try:
            new_params, new_state, info = method.update(state, origin, self._oracle(source))
        except BaseException:
            source.load(origin)  # a trial point may be in the tensors: put the start back
            raise
        source.load(new_params)
        self._save_state(params, new_state)
        self.last_info = info
        return source.origin_loss


class SFNSeries(_MatfunOptimizer):
    r"""Saddle-free Newton by the series of Hessian-vector products, for ``torch.nn`` models.

    :func:`matfun.optim.sfn_series` on the flat parameter vector: ``K`` binomial-series
    terms of :math:`(H^2)^{-1/2} g` (``2 max(K - 1, 1)`` HVPs, each a backward pass),
    accelerated, ``V`` carried in ``self.state``. Keyword options and defaults are
    :func:`~matfun.optim.sfn_series`'s.

    Parameters
    ----------
    params : iterable of torch.Tensor or dicts
        Parameters or param groups (all groups with the same options).
    learning_rate, terms, order, accelerate, initial_scale, scale, damping, damping_kind, momentum
        As for :func:`matfun.optim.sfn_series`.

    Notes
    -----
    Host synchronisations per step: those of the wrapped method -- the finiteness
    checks of the parameters and the loss, the gradient's norm (which proves it
    finite), the norms that choose ``V`` and test every term for divergence (which
    prove the products finite; one more reduction for the inner product of each
    pair), one decision for the accelerator's table. The adapter adds none.
    """

    _state_type = SeriesSFNState
    _vector_fields = ("update",)

    def __init__(self, params: Iterable[Any], *, learning_rate: float, terms: int,
                 order: int = 1, accelerate: Any = "sablonniere", initial_scale: float = 100.0,
                 scale: str = "paper", damping: float = 0.0, damping_kind: str = "abs",
                 momentum: float = 0.0) -> None:
        super().__init__(params, dict(
            learning_rate=learning_rate, terms=terms, order=order, accelerate=accelerate,
            initial_scale=initial_scale, scale=scale, damping=damping,
            damping_kind=damping_kind, momentum=momentum))

    def _build(self, **options: Any) -> Any:
        return _sfn_series(**options)


class ExactSFN(_MatfunOptimizer):
    r"""Exact saddle-free Newton (dense Hessian, ``p`` HVPs per step): small models only.

    :func:`matfun.optim.exact_sfn` on the flat parameter vector; same keyword options
    and defaults.

    Parameters
    ----------
    params : iterable of torch.Tensor or dicts
    learning_rate, threshold, replacement, momentum
        As for :func:`matfun.optim.exact_sfn`.
    """

    _state_type = ExactSFNState
    _vector_fields = ("update",)

    def __init__(self, params: Iterable[Any], *, learning_rate: float = 1.0,
                 threshold: float = 1e-4, replacement: float | None = None,
                 momentum: float = 0.0) -> None:
        super().__init__(params, dict(learning_rate=learning_rate, threshold=threshold,
                                      replacement=replacement, momentum=momentum))

    def _build(self, **options: Any) -> Any:
        return _exact_sfn(**options)


class AdaptiveSFN(_MatfunOptimizer):
    r"""K-FAC's adaptive learning rate, momentum and damping around an SFN step.

    :func:`matfun.optim.adaptive` on the flat parameter vector: ``base`` is made by
    :func:`matfun.optim.sfn_series` or :func:`matfun.optim.exact_sfn` (its direction
    settings are used); the other keyword options and defaults are
    :func:`~matfun.optim.adaptive`'s. Each step evaluates the closure once more (without
    autograd) at the trial point for the reduction ratio.

    Parameters
    ----------
    params : iterable of torch.Tensor or dicts
    base : matfun.optim.Optimizer
        Kept as the attribute ``base`` (not in ``param_groups``, so that ``state_dict()``
        holds only plain data).
    initial_damping, omega, curvature_ema, min_damping, max_damping
        As for :func:`matfun.optim.adaptive`.
    """

    _state_type = AdaptiveState
    _vector_fields = ("update",)

    def __init__(self, params: Iterable[Any], base: Any, *, initial_damping: float = 1.0,
                 omega: float = 0.95, curvature_ema: float = 0.0, min_damping: float = 1e-8,
                 max_damping: float = 1e8) -> None:
        self.base = base  # not a group option: state_dict() stays plain, picklable data
        super().__init__(params, dict(initial_damping=initial_damping, omega=omega,
                                      curvature_ema=curvature_ema, min_damping=min_damping,
                                      max_damping=max_damping))

    def _build(self, **options: Any) -> Any:
        return _adaptive(self.base, **options)


class GroupedNewton(_MatfunOptimizer):
    r"""Grouped Newton (seed 001): one learning rate per group of parameters.

    :func:`matfun.optim.grouped_newton` on the flat parameter vector, with the
    partition taken from the parameters:

    * ``partition="tensor"`` (default): each parameter tensor is a group (for an
      ``nn.Module``, each weight matrix and each bias vector: seed 001's choice);
    * ``partition="param_group"``: each of the optimiser's ``param_groups`` is a group
      (e.g. one per layer).

    ``damping``, ``cubic`` and ``momentum`` and their defaults are
    :func:`~matfun.optim.grouped_newton`'s. ``S`` HVPs per step and, with ``cubic > 0``,
    ``S`` third derivatives (triple backward). The ``S x S`` solve runs in NumPy on the
    host (the wrapped method's synchronisation).

    Parameters
    ----------
    params : iterable of torch.Tensor or dicts
    partition : {"tensor", "param_group"}
    damping, cubic, momentum
        As for :func:`matfun.optim.grouped_newton`.
    """

    _state_type = GroupedNewtonState
    _vector_fields = ("direction",)

    def __init__(self, params: Iterable[Any], *, partition: str = "tensor",
                 damping: float = 1.0, cubic: float = 0.0, momentum: float = 0.0) -> None:
        if partition not in ("tensor", "param_group"):
            raise ValueError(f"partition must be 'tensor' or 'param_group', got {partition!r}")
        self._partition = partition
        super().__init__(params, dict(damping=damping, cubic=cubic, momentum=momentum))

    def add_param_group(self, param_group: dict) -> None:
        """Add a group; the partition changes with it (the method is rebuilt)."""
        super().add_param_group(param_group)
        self._built_options = None

    def _groups(self) -> list:
        sizes = ([p.numel() for p in self._parameters()] if self._partition == "tensor"
                 else [sum(p.numel() for p in g["params"]) for g in self.param_groups])
        starts = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
        return [slice(a, b) for a, b in zip(starts[:-1], starts[1:], strict=True)]

    def _build(self, **options: Any) -> Any:
        return _grouped_newton(groups=self._groups(), **options)


class AdamQLR(_MatfunOptimizer):
    r"""AdamQLR (seed 003): Adam's direction, the step length of a damped quadratic model.

    :func:`matfun.optim.adamqlr` on the flat parameter vector; same keyword options and
    defaults, except that ``curvature`` can only be ``"hessian"`` (a closure gives no
    Gauss-Newton product). One HVP and one extra closure evaluation (without autograd,
    for the reduction ratio) per step, on top of Adam's forward and backward pass.

    Parameters
    ----------
    params : iterable of torch.Tensor or dicts
    b1, b2, eps, initial_damping, omega, curvature, min_damping, max_damping
        As for :func:`matfun.optim.adamqlr`.
    """

    _state_type = AdamQLRState
    _vector_fields = ("first_moment", "second_moment")

    def __init__(self, params: Iterable[Any], *, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-8, initial_damping: float = 1.0, omega: float = 0.95,
                 curvature: str = "hessian", min_damping: float = 1e-8,
                 max_damping: float = 1e8) -> None:
        super().__init__(params, dict(b1=b1, b2=b2, eps=eps, initial_damping=initial_damping,
                                      omega=omega, curvature=curvature,
                                      min_damping=min_damping, max_damping=max_damping))

    def _build(self, **options: Any) -> Any:
        if options["curvature"] != "hessian":
            raise ValueError(f"curvature must be 'hessian' for AdamQLR on a closure (it "
                             f"supplies no Gauss-Newton product), got {options['curvature']!r}")
        return _adamqlr(**options)

"""What every optax adapter shares: flat views of pytrees, HVPs from ``value_fn``, status codes.

The adapters follow :func:`optax.lbfgs`'s calling convention,
``update(updates, state, params, *, value=None, grad=None, value_fn, **extra_args)``:
``extra_args`` that ``value_fn`` accepts are passed to it (data batches), anything else
is a ``TypeError``. Inside a step the parameters are one flat vector
(:func:`jax.flatten_util.ravel_pytree`), and Hessian-vector products come from
``jax.linearize(jax.grad(f), x)``: forward-over-reverse, the primal computed once per
step and reused by every product.

A jitted step cannot raise on a value, so failures are reported in the state: the
step is then zero, the state's fields are those passed in, and ``state.status`` names
the failure (:data:`STATUS`); :func:`raise_for_status` turns it into the exception the
NumPy form raises.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from ...errors import SeriesDivergenceError, SeriesRangeError
from .._base import NonFiniteError, SingularCurvatureError
from .._cubic import UnboundedModelError
from .._saddle_free_rules import _eigh

__all__ = ["OK", "NONFINITE", "DIVERGED", "SINGULAR", "UNBOUNDED", "RANGE", "DEGENERATE",
           "STATUS", "Inputs", "raise_for_status", "step_inputs", "power_of_two", "norm",
           "keep_on_failure", "eigh", "working_dtype"]

OK, NONFINITE, DIVERGED, SINGULAR, UNBOUNDED, RANGE, DEGENERATE = range(7)

#: Meaning of ``state.status`` (0 is success).
STATUS = {
    OK: "ok",
    NONFINITE: "value_fn, its gradient, a Hessian-vector product or the parameters were NaN "
               "or inf",
    DIVERGED: "the series diverged (its terms grew: V below lambda_max(H^2)/2)",
    SINGULAR: "the saddle-free curvature is singular (a zero absolute eigenvalue that the "
              "threshold does not replace)",
    UNBOUNDED: "grouped Newton's cubic model has no minimiser",
    RANGE: "the step or a scale is outside the dtype's range",
    DEGENERATE: "the Hessian maps the gradient to zero: scale='adaptive' cannot choose V",
}

_EXCEPTIONS = {
    NONFINITE: NonFiniteError,
    DIVERGED: SeriesDivergenceError,
    SINGULAR: SingularCurvatureError,
    UNBOUNDED: UnboundedModelError,
    RANGE: SeriesRangeError,
    DEGENERATE: ValueError,
}


def raise_for_status(state: Any) -> None:
    """Raise the NumPy form's exception if the last step failed (a host synchronisation).

    ``state`` is any state of :mod:`matfun.optim.optax` (or a tuple of states, e.g. of an
    :func:`optax.chain`): every ``status`` field found in it is read.

    Raises
    ------
    matfun.optim.NonFiniteError, matfun.SeriesDivergenceError,
    matfun.optim.SingularCurvatureError, matfun.optim._cubic.UnboundedModelError,
    matfun.SeriesRangeError, ValueError
        As :data:`STATUS` says; nothing when every status is 0.
    """
    for code in _statuses(state):
        code = int(code)
        if code != OK:
            error = _EXCEPTIONS.get(code, RuntimeError)
            message = f"the last step failed (status {code}): {STATUS.get(code, 'unknown')}"
            if error in (SeriesDivergenceError,):
                raise error(message, None)
            raise error(message)


def _statuses(state: Any):
    if hasattr(state, "_fields") and "status" in state._fields:
        yield state.status
    elif isinstance(state, tuple | list):
        for item in state:
            yield from _statuses(item)
    elif isinstance(state, dict):
        for item in state.values():
            yield from _statuses(item)


class Inputs(NamedTuple):
    """One step's inputs on the flat parameter vector (internal)."""

    x: Any  # the parameters, flat
    unravel: Callable[[Any], Any]
    direction: Any  # the flat ``updates`` (what the method preconditions)
    gradient: Any  # the flat ``grad`` (defaults to ``updates``)
    loss: Any  # 0-d, value_fn at params
    objective: Callable[[Any], Any]  # flat x -> value_fn(unravel(x), **fn_kwargs)
    finite: Any  # 0-d bool: loss, gradient, direction and params are finite

    def linearized_hvp(self) -> Callable[[Any], Any]:
        """``v -> H(x) v``: ``jax.linearize`` of the gradient, the primal computed once."""
        _, hvp = jax.linearize(jax.grad(self.objective), self.x)
        return hvp


def step_inputs(updates: Any, state: Any, params: Any, value: Any, grad: Any,
                value_fn: Any, extra_args: dict, state_type: type, name: str) -> Inputs:
    """Check what ``update`` receives (shapes and types only: traceable) and flatten it."""
    if not isinstance(state, state_type):
        raise TypeError(f"state must be the {state_type.__name__} returned by {name}'s "
                        f"init(params), got {type(state).__name__}")
    if value_fn is None or not callable(value_fn):
        raise TypeError(f"{name}.update needs value_fn=, the objective (a callable "
                        f"params -> scalar, as for optax.lbfgs), got {value_fn!r}")
    fn_kwargs = _value_fn_kwargs(value_fn, extra_args, name)
    x, unravel = flatten_params(params, name)
    direction = _flat_like(updates, params, "updates")
    gradient = direction if grad is None else _flat_like(grad, params, "grad")

    def objective(v):
        return value_fn(unravel(v), **fn_kwargs)

    loss = objective(x) if value is None else value
    loss = jnp.asarray(loss)
    if loss.ndim != 0:
        raise ValueError(f"value must be a scalar (the objective at params), got shape "
                         f"{loss.shape}")
    loss = loss.astype(x.dtype)
    finite = (jnp.isfinite(loss) & jnp.all(jnp.isfinite(gradient))
              & jnp.all(jnp.isfinite(direction)) & jnp.all(jnp.isfinite(x)))
    return Inputs(x, unravel, direction, gradient, loss, objective, finite)


def flatten_params(params: Any, name: str) -> tuple[Any, Callable[[Any], Any]]:
    """``ravel_pytree(params)`` after checking the leaves: real floating, not empty."""
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError(f"{name}: params must be a non-empty pytree of arrays")
    for leaf in leaves:
        dtype = jnp.result_type(leaf)
        if not jnp.issubdtype(dtype, jnp.floating):
            raise TypeError(f"{name}: params must hold real floating arrays (the objective "
                            f"is a real function of real parameters), got dtype {dtype}")
    x, unravel = ravel_pytree(params)
    if x.size == 0:
        raise ValueError(f"{name}: params must not be empty")
    return x, unravel


def check_like(tree: Any, params: Any, what: str) -> None:
    """``tree`` has the structure and leaf shapes of ``params`` (else ``ValueError``)."""
    if jax.tree_util.tree_structure(tree) != jax.tree_util.tree_structure(params):
        raise ValueError(f"{what} must have the pytree structure of params: got "
                         f"{jax.tree_util.tree_structure(tree)}, params have "
                         f"{jax.tree_util.tree_structure(params)}")
    for leaf, reference in zip(jax.tree_util.tree_leaves(tree),
                               jax.tree_util.tree_leaves(params), strict=True):
        if jnp.shape(leaf) != jnp.shape(reference):
            raise ValueError(f"{what} has a leaf of shape {jnp.shape(leaf)} where params "
                             f"have {jnp.shape(reference)}: a state of another problem?")


def _flat_like(tree: Any, params: Any, what: str) -> Any:
    check_like(tree, params, what)
    flat, _ = ravel_pytree(tree)
    reference, _ = ravel_pytree(params)
    return flat.astype(reference.dtype)


def _value_fn_kwargs(value_fn: Callable, extra_args: dict, name: str) -> dict:
    """The ``extra_args`` that ``value_fn`` accepts; ``TypeError`` for any other."""
    if not extra_args:
        return {}
    try:
        parameters = inspect.signature(value_fn).parameters
    except (TypeError, ValueError):
        return dict(extra_args)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(extra_args)
    unknown = sorted(set(extra_args) - set(parameters))
    if unknown:
        raise TypeError(f"{name}.update: keyword arguments {unknown} are not accepted by "
                        "value_fn (extra keyword arguments are passed to value_fn)")
    return dict(extra_args)


def power_of_two(v: Any) -> Any:
    """The largest power of two not above ``|v|`` (``v`` finite, nonzero), elementwise."""
    _, exponent = jnp.frexp(v)
    return jnp.ldexp(jnp.ones_like(v), exponent - 1)


def norm(v: Any) -> Any:
    """Euclidean norm as ``sqrt(v . v)`` (the NumPy form's ``vecdot``)."""
    return jnp.sqrt(jnp.vdot(v, v))


def keep_on_failure(failed: Any, old: Any, new: Any) -> Any:
    """``old`` where ``failed`` else ``new``, leaf by leaf (states, updates)."""
    return jax.tree_util.tree_map(lambda a, b: jnp.where(failed, a, b), old, new)


def working_dtype(dtype: Any) -> Any:
    """``dtype``, or float32 for half precision (float16, bfloat16).

    bfloat16 rounds ``0.999`` to ``1``: Adam's bias corrections are computed in
    float32 and rounded back, as :func:`optax.adam` does.
    """
    return jnp.promote_types(dtype, jnp.float32)


def eigh(matrix: Any) -> tuple[Any, Any]:
    """``jnp.linalg.eigh``, a half-precision matrix in float32: the NumPy forms' rule."""
    return _eigh(jnp, matrix)

r"""A problem's MLP in ``jax.numpy``, tagged for kfac-jax (used by :mod:`matfun.optim.kfac`).

The parameterisation is the problem's (:mod:`matfun.optim._mlp`): layer ``l`` computes
:math:`z_l = a_l W_l^T + b_l` from the flat vector holding ``W_l`` row-major
``(out, in)`` then ``b_l``; here each layer is a pytree leaf pair ``{"w": W_l^T, "b":
b_l}``, ``W_l^T`` of shape ``(in, out)``, so that ``a @ w + b`` is a dense layer in
kfac-jax's sense. Every layer is tagged with ``register_dense`` and the loss with
``register_squared_error_loss`` (:math:`\tfrac1N \sum_n \|z_n - t_n\|^2`, weight 1) or
``register_softmax_cross_entropy_loss`` (the mean cross-entropy, one-hot targets).

JAX and kfac-jax are imported when a function here is called, never at import.

kfac-jax 0.0.8 (the newest release) predates JAX 0.9.2, whose
``Primitive.get_bind_params`` returns the parameters alone instead of a pair
``(subfunctions, parameters)``; kfac-jax's evaluation of one traced equation then fails
with ``ValueError: not enough values to unpack``. Where the installed kfac-jax fails so
on a one-line program, that function is replaced by :func:`_evaluate_equation`, which
accepts both forms (as kfac-jax's development version does).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

__all__ = ["JaxMLP", "jax_mlp"]

_INSTALL = ("matfun.optim.kfac needs kfac-jax (and JAX): pip install kfac-jax, or "
            "pip install 'matfun-accel[experiments]'")


def _kfac_jax() -> tuple[Any, Any]:
    """``(jax, kfac_jax)``, imported now; ``ImportError`` naming kfac-jax if missing."""
    try:  # kfac-jax first: without it, JAX's import time is not spent for nothing
        import kfac_jax
    except ImportError as error:
        raise ImportError(_INSTALL) from error
    import jax  # a dependency of kfac-jax
    _accept_new_bind_params(jax)
    return jax, kfac_jax


def _evaluate_equation(equation: Any, values: list) -> list:
    """One traced equation on values, for both forms of ``get_bind_params``."""
    from jax.extend import source_info_util

    params = equation.primitive.get_bind_params(equation.params)
    subfunctions: tuple = ()
    if isinstance(params, tuple):  # JAX before 0.9.2: (subfunctions, params)
        subfunctions, params = params
    with source_info_util.user_context(equation.source_info.traceback):
        output = equation.primitive.bind(*subfunctions, *values, **params)
    return output if isinstance(output, list) else [output]


def _accept_new_bind_params(jax: Any) -> None:
    from kfac_jax._src import tag_graph_matcher as matcher

    if matcher.eval_jaxpr_eqn is _evaluate_equation:
        return
    probe = jax.make_jaxpr(lambda x: x + x)(1.0).eqns[0]  # `add`: no parameters
    try:
        matcher.eval_jaxpr_eqn(probe, [1.0, 1.0])
    except ValueError:  # "not enough values to unpack": the new form, unhandled
        matcher.eval_jaxpr_eqn = _evaluate_equation


class JaxMLP(NamedTuple):
    """A problem's network in ``jax.numpy`` (from :func:`jax_mlp`).

    Attributes
    ----------
    loss : callable
        ``loss(params, (X, T))``: the problem's loss on the rows ``X`` with targets ``T``
        (one-hot for a classifier), ``params`` the pytree of :attr:`to_tree`; the
        layers and the loss carry kfac-jax's registration tags.
    to_tree : callable
        Flat host vector (the problem's layout) -> list of ``{"w": W^T, "b": b}`` of
        JAX arrays, ``W^T`` of shape ``(in, out)``.
    to_flat : callable
        The inverse: pytree -> flat NumPy vector.
    data : tuple
        The problem's training ``(X, T)`` as host NumPy arrays.
    """

    loss: Callable[[Any, tuple], Any]
    to_tree: Callable[[np.ndarray], list]
    to_flat: Callable[[list], np.ndarray]
    data: tuple


def jax_mlp(problem: Any) -> JaxMLP:
    r"""The network and loss of an MLP problem in ``jax.numpy``, tagged for kfac-jax.

    ``loss(to_tree(w), problem_data)`` equals ``problem.oracle.value(w)`` up to rounding
    (the same operations in another order).

    Parameters
    ----------
    problem : DataProblem
        From :func:`~matfun.optim.problems.mlp_regressor` or
        :func:`~matfun.optim.problems.mlp_classifier`.

    Returns
    -------
    JaxMLP

    Raises
    ------
    ImportError
        kfac-jax or JAX is not installed.
    """
    network = getattr(problem, "_network", None)
    if network is None:
        raise TypeError("problem must come from mlp_regressor or mlp_classifier, got "
                        f"{type(problem).__name__}")
    jax, _ = _kfac_jax()
    jnp = jax.numpy
    shapes = network.shapes
    loss = _loss_function(tuple(shapes), network.activation, network.head)

    def to_tree(flat: np.ndarray) -> list:
        flat = np.asarray(flat)
        layers, start = [], 0
        for out, inp in shapes:
            weight = flat[start:start + out * inp].reshape(out, inp)
            layers.append({"w": jnp.asarray(weight.T), "b": jnp.asarray(
                flat[start + out * inp:start + out * inp + out])})
            start += out * inp + out
        return layers

    def to_flat(tree: list) -> np.ndarray:
        return np.concatenate([part for layer in tree for part in (
            np.asarray(layer["w"]).T.reshape(-1), np.asarray(layer["b"]))])

    return JaxMLP(loss, to_tree, to_flat, network.data._host)


@functools.lru_cache(maxsize=16)
def _loss_function(shapes: tuple, activation: str, head: str) -> Callable[[list, tuple], Any]:
    """The tagged loss of a network; cached, so that kfac-jax's compilations are reused."""
    jax, kfac_jax = _kfac_jax()
    jnp = jax.numpy
    last = len(shapes) - 1

    def loss(params: list, batch: tuple) -> Any:
        inputs, targets = batch
        a = inputs
        for index, layer in enumerate(params):
            z = kfac_jax.register_dense(a @ layer["w"] + layer["b"], a, layer["w"],
                                        layer["b"])
            if index < last:
                a = jnp.tanh(z) if activation == "tanh" else jnp.logaddexp(0.0, z)
        rows = z.shape[0]
        if head == "squared_error":
            kfac_jax.register_squared_error_loss(z, targets)  # weight * sum / rows
            return jnp.sum((z - targets) ** 2) / rows
        kfac_jax.register_softmax_cross_entropy_loss(z, targets)
        return jnp.sum(jax.nn.logsumexp(z, axis=1) - jnp.sum(targets * z, axis=1)) / rows

    return loss

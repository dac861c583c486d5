r"""Multilayer perceptrons on a user's data ``(X, y)``, with exact derivatives and minibatches.

:func:`mlp_regressor` (mean squared error) and :func:`mlp_classifier` (mean softmax
cross-entropy) return a :class:`DataProblem`: a :class:`~matfun.optim.problems.Problem`
on the whole data set that also knows its number of ``samples``, makes the same
objective on any subset of rows (:meth:`DataProblem.batch`, for minibatch training by
:func:`matfun.optim.train`) and measures loss and accuracy on other data
(:meth:`DataProblem.metrics`). Derivatives come from :mod:`matfun.optim._mlp`
(backpropagation, Pearlmutter's R-operator, Taylor jets) with the output losses of
:mod:`matfun.optim._losses`; no autodiff library is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import array_api_compat
import numpy as np

from .._backend import namespace
from .._validation import check_choice, check_integer
from . import _mlp
from ._base import Oracle
from ._problem import Problem, _Constants

__all__ = ["DataProblem", "mlp_classifier", "mlp_regressor"]

# Larger networks or data sets exhaust memory before they are useful: refused at once.
_MAX_SIZE = 10**7


class _Network:
    """Layer shapes, activation, output loss and host data of one problem."""

    def __init__(self, X: np.ndarray, targets: np.ndarray, labels: np.ndarray | None,
                 shapes: list[tuple[int, int]], activation: str, head: str) -> None:
        self.shapes, self.activation, self.head = shapes, activation, head
        self.inputs, self.outputs = X.shape[1], targets.shape[1]
        self.labels = labels
        self.data = _Constants(X, targets)

    def oracle(self, rows: np.ndarray | None = None) -> Oracle:
        """The objective on all the data, or on the rows ``rows`` (host integers)."""
        if rows is None:
            data = self.data.like
        else:
            cache: dict[tuple[str, str, str], tuple[Any, Any]] = {}

            def data(w):
                xp = namespace(w)
                device = array_api_compat.device(w)
                key = (xp.__name__, str(w.dtype), str(device))
                if key not in cache:  # the batch is taken where the full data already lives
                    X, T = self.data.like(w)
                    where = xp.asarray(rows, device=device)
                    cache[key] = (xp.take(X, where, axis=0), xp.take(T, where, axis=0))
                return cache[key]

        shapes, activation, head = self.shapes, self.activation, self.head

        def value(w):
            return _mlp.loss(namespace(w), w, *data(w), shapes, activation, head)

        def grad(w):
            return _mlp.gradient(namespace(w), w, *data(w), shapes, activation, head)

        def hvp(w, v):
            return _mlp.hessian_product(namespace(w), w, v, *data(w), shapes, activation, head)

        def third(w, v):
            return _mlp.third_vector(namespace(w), w, v, *data(w), shapes, activation, head)

        def gauss_newton(w, v):
            return _mlp.gauss_newton_product(namespace(w), w, v, *data(w), shapes, activation,
                                             head)

        return Oracle(value=value, grad=grad, hvp=hvp, third=third, gauss_newton=gauss_newton)

    def sampler(self, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        parts = []
        for out, inp in self.shapes:
            parts.append(rng.standard_normal(out * inp) / math.sqrt(inp))
            parts.append(np.zeros(out))
        return np.concatenate(parts)


@dataclass(frozen=True)
class DataProblem(Problem):
    r"""A :class:`~matfun.optim.problems.Problem` on a data set, with minibatches.

    The objective is a mean over the ``samples`` rows of the training data,
    :math:`f(w) = \tfrac1N \sum_n \ell(w; x_n, y_n)`; ``oracle`` is it on all rows.

    Attributes
    ----------
    samples : int
        ``N``, the number of training rows.
    task : {"regression", "classification"}
    """

    samples: int
    task: str
    _network: _Network = field(init=False, repr=False, compare=False)

    def batch(self, indices: Any) -> Problem:
        r"""The same objective on the rows ``indices``: :math:`\tfrac1B \sum_{n \in I} \ell_n`.

        Parameters
        ----------
        indices : 1-D integers
            Row numbers in ``[0, samples)`` (host NumPy or a sequence; repeats allowed).

        Returns
        -------
        Problem
            Same dimension, parameter layout and groups; its oracle takes the rows from
            the data already on the parameters' backend (one ``take`` per backend).
        """
        rows = np.asarray(indices)
        if rows.ndim != 1 or rows.shape[0] == 0:
            raise ValueError(f"indices must be a non-empty 1-D array, got shape {rows.shape}")
        if not np.issubdtype(rows.dtype, np.integer):
            raise TypeError(f"indices must be integers, got dtype {rows.dtype}")
        if rows.min() < 0 or rows.max() >= self.samples:
            raise ValueError(f"indices must lie in [0, {self.samples}), got values from "
                             f"{rows.min()} to {rows.max()}")
        network = self._network
        return Problem(f"{self.name}[{rows.shape[0]} rows]", self.dimension,
                       network.oracle(rows.astype(np.int64)), self.groups, network.sampler)

    def metrics(self, params: Any, X: Any = None, y: Any = None) -> dict[str, float]:
        """Loss (and, for a classifier, accuracy) of ``params`` on ``(X, y)``.

        Parameters
        ----------
        params : array
            Flat parameters; the computation runs on their backend, dtype and device.
        X, y : optional
            Data shaped like the training data (host arrays); both or neither. The
            training data by default.

        Returns
        -------
        dict
            ``loss``: the problem's loss on the data (mean over rows); ``accuracy``
            (classifier only): the fraction of rows whose largest logit is the label.
        """
        network = self._network
        xp = namespace(params)
        if (X is None) != (y is None):
            raise ValueError("give both X and y, or neither (the training data)")
        if X is None:
            inputs, targets = network.data.like(params)
            labels = network.labels
        else:
            if self.task == "regression":
                X, targets = _regression_data(X, y, outputs=network.outputs)
                labels = None
            else:
                X, labels = _classification_data(X, y, classes=network.outputs)
                targets = _one_hot(labels, network.outputs)
            if X.shape[1] != network.inputs:
                raise ValueError(f"X must have {network.inputs} columns like the training "
                                 f"data, got {X.shape[1]}")
            device = array_api_compat.device(params)
            inputs, targets = (xp.asarray(a, dtype=params.dtype, device=device)
                               for a in (X, targets))
        z = _mlp.outputs(xp, params, inputs, network.shapes, network.activation)
        loss = _mlp.loss(xp, params, inputs, targets, network.shapes, network.activation,
                         network.head)
        result = {"loss": float(loss)}
        if labels is not None:
            truth = xp.asarray(labels, device=array_api_compat.device(params))
            hits = xp.astype(xp.argmax(z, axis=1) == truth, params.dtype)
            result["accuracy"] = float(xp.mean(hits))
        return result


def _matrix(X: Any) -> np.ndarray:
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("X must be a real 2-D array (rows are samples)") from None
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be a non-empty 2-D array (samples x features), got shape "
                         f"{X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or inf")
    return X


def _regression_data(X: Any, y: Any, *, outputs: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    X = _matrix(X)
    try:
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("y must be a real array of targets") from None
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have shape ({X.shape[0]},) or ({X.shape[0]}, outputs) to "
                         f"match X, got {y.shape}")
    if outputs is not None and y.shape[1] != outputs:
        raise ValueError(f"y must have {outputs} outputs like the training data, got "
                         f"{y.shape[1]}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or inf")
    return X, y


def _classification_data(X: Any, y: Any, *, classes: int | None
                         ) -> tuple[np.ndarray, np.ndarray]:
    X = _matrix(X)
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.shape[0] != X.shape[0]:
        raise ValueError(f"y must be a 1-D array of {X.shape[0]} class labels to match X, got "
                         f"shape {labels.shape}")
    if labels.dtype == bool or not (np.issubdtype(labels.dtype, np.integer) or (
            np.issubdtype(labels.dtype, np.floating) and np.all(labels == np.round(labels)))):
        raise TypeError(f"y must hold integer class labels 0, 1, ..., got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    top = labels.max() + 1 if classes is None else classes
    if labels.min() < 0 or labels.max() >= top:
        raise ValueError(f"class labels must lie in [0, {top}), got values from {labels.min()} "
                         f"to {labels.max()}")
    return X, labels


def _one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    return (labels[:, None] == np.arange(classes)[None, :]).astype(np.float64)


def _hidden(hidden: Any) -> tuple[int, ...]:
    if isinstance(hidden, str) or not hasattr(hidden, "__iter__"):
        raise TypeError(f"hidden must be a tuple of layer widths, got {hidden!r}")
    widths = tuple(check_integer(width, "hidden widths", minimum=1, maximum=_MAX_SIZE)
                   for width in hidden)
    return widths


def _build(name: str, task: str, X: np.ndarray, targets: np.ndarray,
           labels: np.ndarray | None, hidden: tuple[int, ...], activation: str,
           head: str) -> DataProblem:
    shapes = _mlp.network_shapes(X.shape[1], hidden, targets.shape[1])
    dimension = sum(out * inp + out for out, inp in shapes)
    if dimension > _MAX_SIZE:
        raise ValueError(f"the network has {dimension} parameters, more than {_MAX_SIZE}")
    network = _Network(X, targets, labels, shapes, activation, head)
    layout = "x".join(str(width) for width in hidden) or "linear"
    problem = DataProblem(f"{name}_{layout}_{activation}", dimension, network.oracle(),
                          tuple(_mlp.group_slices(shapes)), network.sampler,
                          samples=X.shape[0], task=task)
    object.__setattr__(problem, "_network", network)
    return problem


def mlp_regressor(X: Any, y: Any, *, hidden: tuple[int, ...] = (16,),
                  activation: str = "tanh") -> DataProblem:
    r"""Mean squared error of a multilayer perceptron on the data ``(X, y)``.

    .. math::

        f(w) = \frac1N \sum_{n=1}^N \| y(x_n; w) - t_n \|^2,

    the network mapping ``X``'s columns through hidden layers of widths ``hidden``
    (``activation``) to one linear output per column of ``y``. Exact derivatives in the
    array API: gradient by backpropagation, ``hvp`` by Pearlmutter's R-operator,
    ``third`` (:math:`D^3 f[v, v, \cdot\,]`) by Taylor jets, ``gauss_newton``
    :math:`J^T \tfrac2N J v`.

    Parameters
    ----------
    X : 2-D array, ``N x inputs``
        Inputs (host data; standardise them first, as :func:`matfun.optim.data.load`
        does).
    y : array, ``(N,)`` or ``(N, outputs)``
        Targets.
    hidden : tuple of int
        Widths of the hidden layers; ``()`` is linear least squares.
    activation : {"tanh", "softplus"}

    Returns
    -------
    DataProblem
        ``groups``: one slice per weight matrix and per bias; ``initial(seed)``: LeCun
        normal weights (:math:`N(0, 1/\mathrm{fan\_in})`), zero biases.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((20, 3))
    >>> problem = mlp_regressor(X, X @ [1.0, -2.0, 0.5], hidden=(4,))
    >>> problem.dimension, problem.samples, len(problem.groups)
    (21, 20, 4)
    >>> w = problem.initial(0)
    >>> bool(problem.batch(np.arange(20)).oracle.value(w) == problem.oracle.value(w))
    True
    """
    activation = check_choice(activation, "activation", _mlp.ACTIVATIONS)
    hidden = _hidden(hidden)
    X, targets = _regression_data(X, y)
    return _build("mlp_regressor", "regression", X, targets, None, hidden, activation,
                  "squared_error")


def mlp_classifier(X: Any, y: Any, *, hidden: tuple[int, ...] = (32,),
                   activation: str = "tanh", classes: int | None = None) -> DataProblem:
    r"""Mean softmax cross-entropy of a multilayer perceptron on the data ``(X, y)``.

    .. math::

        f(w) = \frac1N \sum_{n=1}^N \Big( \log \sum_c e^{z_c(x_n; w)} - z_{y_n}(x_n; w)
        \Big),

    ``z`` the logits, one per class, of a network with hidden layers of widths
    ``hidden``. Exact derivatives in the array API: gradient by backpropagation, ``hvp``
    by Pearlmutter's R-operator, ``third`` (:math:`D^3 f[v, v, \cdot\,]`) by Taylor jets
    (the log-normaliser's derivatives along a line are the cumulants of the logits'
    derivatives under the softmax), ``gauss_newton``
    :math:`\tfrac1N J^T (\mathrm{diag}(p) - p p^T) J v`, positive semidefinite.

    Parameters
    ----------
    X : 2-D array, ``N x inputs``
        Inputs (host data, standardised).
    y : 1-D array of int
        Class labels ``0, ..., classes - 1``.
    hidden : tuple of int
        Widths of the hidden layers; ``()`` is multinomial logistic regression.
    activation : {"tanh", "softplus"}
    classes : int, optional
        Number of classes (``max(y) + 1`` by default; at least 2).

    Returns
    -------
    DataProblem
        Its :meth:`~DataProblem.metrics` also report ``accuracy``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((30, 2))
    >>> problem = mlp_classifier(X, (X[:, 0] > 0).astype(int), hidden=(5,))
    >>> problem.dimension, problem.task
    (27, 'classification')
    >>> round(problem.metrics(0 * problem.initial(0))["loss"], 4)  # log 2: uniform softmax
    0.6931
    """
    activation = check_choice(activation, "activation", _mlp.ACTIVATIONS)
    hidden = _hidden(hidden)
    if classes is not None:
        classes = check_integer(classes, "classes", minimum=2, maximum=_MAX_SIZE)
    X, labels = _classification_data(X, y, classes=classes)
    classes = int(labels.max()) + 1 if classes is None else classes
    if classes < 2:
        raise ValueError("y must hold at least two classes (or give classes >= 2)")
    return _build("mlp_classifier", "classification", X, _one_hot(labels, classes), labels,
                  hidden, activation, "softmax_cross_entropy")

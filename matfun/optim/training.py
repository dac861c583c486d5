r"""Minibatch training on a data set: epochs, batches, a curvature batch, evaluation, resuming.

:func:`train` runs any optimiser of :mod:`matfun.optim` on a
:class:`~matfun.optim.problems.DataProblem` epoch by epoch. Each epoch draws a random
permutation of the training rows and takes consecutive batches of ``batch_size`` rows
from it (the last one smaller when ``batch_size`` does not divide the number of rows);
``batch_size=None`` is full-batch training, one step per epoch. With
``curvature_batch_size`` every step also draws, independently and without replacement,
a second batch for the curvature (the seed paper's section 4.2 uses separate batches for
the gradient and the Hessian-vector products):

.. math::

    \hat f = \tfrac1{|B|} \sum_{n \in B} \ell_n, \quad
    \nabla \hat f \text{ on } B, \qquad
    \hat H v = \tfrac1{|C|} \sum_{n \in C} \nabla^2 \ell_n\, v \text{ on } C,

and likewise the third derivative and the Gauss-Newton product. All draws come from one
``numpy.random.Generator`` seeded by ``seed``, whose state the :class:`TrainRecord`
carries with the parameters, the optimiser state and the position in the epoch: a run
stopped anywhere (by ``callback``, an exception, or fewer ``epochs``) and resumed with
``train(..., resume=record)`` repeats the uninterrupted run bit for bit.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_callable, check_flag, check_integer
from ._base import NonFiniteError, Optimizer, Oracle
from ._oracle_calls import parameters
from .runner import RunStopped, _attach

__all__ = ["TrainRecord", "train"]

_STEP_COLUMNS = ("epoch", "step", "loss", "grad_norm", "matvecs", "seconds")


@dataclass
class TrainRecord:
    r"""What :func:`train` measured, and where to continue from.

    Attributes
    ----------
    name : str
        The optimiser's name.
    seed, batch_size, curvature_batch_size
        The settings of the run (a resumed run must use the same).
    step_epoch, step, loss, grad_norm, matvecs, seconds : list
        Per step: its epoch (from 0), its index in the run (from 0), the *batch* loss and
        gradient norm at the parameters the step started from, the Hessian-vector
        products it spent, and the training time since the start of the run, in
        seconds, at its end (the wall-clock axis; evaluation time excluded).
    info : list of dict
        The optimiser's ``info`` of every step.
    epoch, train_metrics, eval_metrics, epoch_seconds : list
        Per completed epoch: its index, :meth:`~matfun.optim.problems.DataProblem.metrics`
        on the full training data and on ``eval_data`` (``None`` without it), measured at
        its end, and the training time at that point.
    params, state
        Parameters and optimiser state after the last completed step.
    next_epoch, step_in_epoch : int
        The position reached: steps ``0 .. step_in_epoch - 1`` of epoch ``next_epoch``
        are done.
    order : numpy.ndarray or None
        The current epoch's permutation of the rows (``None`` between epochs or in
        full-batch training).
    rng_state : dict
        The state of the run's ``numpy.random.Generator`` after the last draw.
    elapsed : float
        Training seconds so far (the clock a resumed run continues).
    """

    name: str
    seed: int
    batch_size: int | None
    curvature_batch_size: int | None
    step_epoch: list = field(default_factory=list)
    step: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    matvecs: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    info: list = field(default_factory=list, repr=False)
    epoch: list = field(default_factory=list)
    train_metrics: list = field(default_factory=list)
    eval_metrics: list = field(default_factory=list)
    epoch_seconds: list = field(default_factory=list)
    params: Any = field(default=None, repr=False)
    state: Any = field(default=None, repr=False)
    next_epoch: int = 0
    step_in_epoch: int = 0
    order: np.ndarray | None = field(default=None, repr=False)
    rng_state: dict | None = field(default=None, repr=False)
    elapsed: float = 0.0

    def __len__(self) -> int:
        return len(self.step)

    def to_rows(self, kind: str = "step") -> list[dict]:
        """Tidy rows: one dict per step (``kind="step"``) or per epoch (``"epoch"``).

        Step rows have ``epoch, step, loss, grad_norm, matvecs, seconds`` and the
        cumulative ``total_matvecs``; epoch rows ``epoch, seconds`` and the metrics as
        ``train_loss``, ``eval_loss``, ``train_accuracy``, ... Ready for
        ``pandas.DataFrame(record.to_rows())``.
        """
        arrays = self.as_arrays(kind)
        rows = len(next(iter(arrays.values())))
        return [{key: arrays[key][i].item() for key in arrays} for i in range(rows)]

    def as_arrays(self, kind: str = "step") -> dict[str, np.ndarray]:
        """The columns of :meth:`to_rows` as NumPy arrays."""
        if kind == "step":
            arrays = {
                "epoch": np.asarray(self.step_epoch, dtype=np.int64),
                "step": np.asarray(self.step, dtype=np.int64),
                "loss": np.asarray(self.loss, dtype=np.float64),
                "grad_norm": np.asarray(self.grad_norm, dtype=np.float64),
                "matvecs": np.asarray(self.matvecs, dtype=np.int64),
                "seconds": np.asarray(self.seconds, dtype=np.float64),
            }
            arrays["total_matvecs"] = np.cumsum(arrays["matvecs"])
            return arrays
        if kind != "epoch":
            raise ValueError(f"kind must be 'step' or 'epoch', got {kind!r}")
        arrays = {"epoch": np.asarray(self.epoch, dtype=np.int64),
                  "seconds": np.asarray(self.epoch_seconds, dtype=np.float64)}
        for prefix, series in (("train", self.train_metrics), ("eval", self.eval_metrics)):
            keys = series[0].keys() if series and series[0] is not None else ()
            for key in keys:
                arrays[f"{prefix}_{key}"] = np.asarray([m[key] for m in series],
                                                       dtype=np.float64)
        return arrays


def _continued(record: TrainRecord) -> TrainRecord:
    """A copy of ``record`` that a resumed run may extend without touching the original."""
    twin = copy.copy(record)
    for name in ("step_epoch", "step", "loss", "grad_norm", "matvecs", "seconds", "info",
                 "epoch", "train_metrics", "eval_metrics", "epoch_seconds"):
        setattr(twin, name, list(getattr(record, name)))
    twin.rng_state = copy.deepcopy(record.rng_state)
    return twin


def _check_problem(problem: Any) -> None:
    missing = [name for name in ("samples", "batch", "metrics", "oracle")
               if not hasattr(problem, name)]
    if missing:
        raise TypeError("problem must be a DataProblem (from mlp_regressor or mlp_classifier"
                        f", or with samples, batch, metrics and oracle); {type(problem).__name__}"
                        f" lacks {', '.join(missing)}")


def _size(value: Any, name: str, samples: int) -> int | None:
    if value is None:
        return None
    return check_integer(value, name, minimum=1, maximum=samples)


def _finite_metrics(metrics: dict, what: str, record: TrainRecord) -> dict:
    if not all(math.isfinite(number) for number in metrics.values()):
        raise RunStopped(f"{record.name}: the {what} metrics at the end of epoch "
                         f"{record.next_epoch} are not finite: {metrics}", record)
    return metrics


def train(
    optimizer: Optimizer,
    problem: Any,
    params: Any,
    *,
    epochs: int,
    batch_size: int | None = None,
    curvature_batch_size: int | None = None,
    eval_data: tuple[Any, Any] | None = None,
    seed: int = 0,
    progress: bool = True,
    callback: Callable[[int, Any, Any, dict], Any] | None = None,
    resume: TrainRecord | None = None,
) -> TrainRecord:
    r"""Train ``optimizer`` on ``problem`` for ``epochs`` epochs of minibatches.

    Parameters
    ----------
    optimizer : Optimizer
        Any optimiser of :mod:`matfun.optim`.
    problem : DataProblem
        From :func:`~matfun.optim.problems.mlp_regressor` or
        :func:`~matfun.optim.problems.mlp_classifier`.
    params : array or None
        Initial flat parameters (any backend); ignored when resuming (the run continues
        from ``resume.params``).
    epochs : int
        The epoch to stop at, counted from the start of the run (a resumed run trains
        epochs ``resume.next_epoch, ..., epochs - 1``).
    batch_size : int, optional
        Rows per gradient batch, in ``[1, samples]``; ``None``: the full data, one step
        per epoch.
    curvature_batch_size : int, optional
        When given, Hessian-vector products, third derivatives and Gauss-Newton products
        are taken on a second batch of this many rows, drawn independently (without
        replacement) for every step; otherwise on the gradient's batch.
    eval_data : pair (X, y), optional
        Held-out data evaluated by ``problem.metrics`` at the end of every epoch.
    seed : int
        Seed of the run's random draws (permutations and curvature batches).
    progress : bool
        Show a ``tqdm`` progress bar (tqdm is imported only then).
    callback : callable, optional
        ``callback(step, params, state, info)`` after each step; returning ``True``
        stops the run (the record can be resumed).
    resume : TrainRecord, optional
        Continue this run (same ``batch_size``, ``curvature_batch_size``, ``seed`` and
        optimiser); the record passed in is not modified.

    Returns
    -------
    TrainRecord

    Raises
    ------
    RunStopped
        An oracle returned NaN or inf, or the metrics at the end of an epoch are not
        finite; its ``record`` holds the last valid parameters, state and position.
    BaseException
        Any other failure in a step (a numerical error of the optimiser,
        ``KeyboardInterrupt``, ...) is re-raised with the record attached as
        ``record``, ready to resume from.

    Examples
    --------
    >>> import numpy as np
    >>> from matfun.optim import adam
    >>> from matfun.optim.problems import mlp_regressor
    >>> X = np.random.default_rng(0).standard_normal((40, 2))
    >>> problem = mlp_regressor(X, np.sin(X[:, 0]), hidden=(8,))
    >>> record = train(adam(learning_rate=0.05), problem, problem.initial(0), epochs=5,
    ...                batch_size=10, progress=False)
    >>> len(record), record.epoch
    (20, [0, 1, 2, 3, 4])
    >>> bool(record.train_metrics[-1]["loss"] < record.loss[0])
    True
    """
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(f"optimizer must have init and update, got {type(optimizer).__name__}")
    _check_problem(problem)
    samples = problem.samples
    epochs = check_integer(epochs, "epochs")
    batch_size = _size(batch_size, "batch_size", samples)
    curvature_batch_size = _size(curvature_batch_size, "curvature_batch_size", samples)
    seed = check_integer(seed, "seed")
    progress = check_flag(progress, "progress")
    if callback is not None:
        check_callable(callback, "callback")
    name = getattr(optimizer, "name", type(optimizer).__name__)
    if resume is None:
        params = parameters(params)
        if params.shape[0] != problem.dimension:
            raise ValueError(f"params has {params.shape[0]} entries, but problem "
                             f"{problem.name!r} has dimension {problem.dimension}")
        record = TrainRecord(name, seed, batch_size, curvature_batch_size)
        record.params, record.state = params, optimizer.init(params)
        record.rng_state = np.random.default_rng(seed).bit_generator.state
    else:
        if not isinstance(resume, TrainRecord):
            raise TypeError(f"resume must be a TrainRecord, got {type(resume).__name__}")
        settings = (name, seed, batch_size, curvature_batch_size)
        recorded = (resume.name, resume.seed, resume.batch_size, resume.curvature_batch_size)
        if settings != recorded:
            raise ValueError("resume was recorded with (optimizer, seed, batch_size, "
                             f"curvature_batch_size) = {recorded}, not {settings}")
        if resume.params is None or resume.params.shape[0] != problem.dimension:
            raise ValueError(f"resume holds no parameters of problem {problem.name!r} "
                             f"(dimension {problem.dimension})")
        record = _continued(resume)
    if eval_data is not None:
        if not isinstance(eval_data, tuple | list) or len(eval_data) != 2:
            raise TypeError("eval_data must be a pair (X, y)")
        problem.metrics(record.params, *eval_data)  # validates X and y before training
    rng = np.random.default_rng(seed)
    rng.bit_generator.state = record.rng_state
    per_epoch = 1 if batch_size is None else -(-samples // batch_size)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        done = min(epochs, record.next_epoch) * per_epoch + record.step_in_epoch
        bar = tqdm(total=max(epochs * per_epoch, done), initial=done, desc=name, leave=False)
    try:
        _epochs(optimizer, problem, record, rng, epochs, per_epoch, eval_data, callback, bar)
    finally:
        if bar is not None:
            bar.close()
    return record


def _epochs(optimizer, problem, record, rng, epochs, per_epoch, eval_data, callback, bar):
    batch_size, curvature_batch_size = record.batch_size, record.curvature_batch_size
    while record.next_epoch < epochs:
        order = record.order
        while record.step_in_epoch < per_epoch:
            start = time.perf_counter()
            if order is None and batch_size is not None:
                order = rng.permutation(problem.samples)
            if batch_size is None:
                oracle = problem.oracle
            else:
                first = record.step_in_epoch * batch_size
                oracle = problem.batch(order[first:first + batch_size]).oracle
            if curvature_batch_size is not None:
                rows = rng.choice(problem.samples, size=curvature_batch_size, replace=False)
                curvature = problem.batch(rows).oracle
                oracle = Oracle(value=oracle.value, grad=oracle.grad, hvp=curvature.hvp,
                                third=curvature.third, gauss_newton=curvature.gauss_newton)
            where = f"{record.name} stopped at step {len(record)} (epoch {record.next_epoch})"
            try:
                new_params, new_state, info = optimizer.update(record.state, record.params,
                                                               oracle)
            except NonFiniteError as error:
                raise RunStopped(f"{where}: {error}", record) from error
            except BaseException as error:
                _attach(error, record, where)
                raise
            # info holds host scalars, so the step's device work has finished here.
            record.elapsed += time.perf_counter() - start
            if _record_step(record, info, new_params, new_state, order, rng, bar, callback):
                return
        try:
            measured = _finite_metrics(problem.metrics(record.params), "training", record)
            held_out = None if eval_data is None else _finite_metrics(
                problem.metrics(record.params, *eval_data), "evaluation", record)
        except RunStopped:
            raise
        except BaseException as error:
            _attach(error, record, f"{record.name}: measuring epoch {record.next_epoch} failed")
            raise
        record.epoch.append(record.next_epoch)
        record.train_metrics.append(measured)
        record.eval_metrics.append(held_out)
        record.epoch_seconds.append(record.elapsed)
        record.next_epoch += 1
        record.step_in_epoch, record.order = 0, None


def _record_step(record, info, params, state, order, rng, bar, callback) -> bool:
    """Append one finished step to ``record`` (and the bar); True if ``callback`` stops.

    ``record.elapsed`` already includes the step. The position in the epoch (``order``,
    the generator's state) is saved with it, so that a resumed run continues exactly.
    """
    record.step_epoch.append(record.next_epoch)
    record.step.append(len(record.step))
    record.loss.append(float(info["loss"]))
    record.grad_norm.append(float(info["grad_norm"]))
    record.matvecs.append(int(info["matvecs"]))
    record.seconds.append(record.elapsed)
    record.info.append(info)
    record.params, record.state = params, state
    record.step_in_epoch += 1
    record.order, record.rng_state = order, rng.bit_generator.state
    if bar is not None:
        bar.set_postfix(epoch=record.next_epoch, loss=f"{record.loss[-1]:.4g}", refresh=False)
        bar.update(1)
    return callback is not None and callback(record.step[-1], params, state, info) is True

r"""Train any optimiser on any problem and record what happened, step by step.

:func:`run` calls ``optimizer.update`` ``steps`` times with a progress bar and
returns a :class:`Record`: per step the loss :math:`f(w_t)` *before* the step, the
gradient norm :math:`\|\nabla f(w_t)\|`, the Hessian-vector products spent and the
wall time, plus the final parameters, state and loss. The columns are plain lists
(``record.loss``), rows are dicts (:meth:`Record.to_rows`, ready for
``pandas.DataFrame``), and :meth:`Record.as_arrays` gives NumPy arrays to plot.

When an oracle returns NaN or inf, :func:`run` stops with :class:`RunStopped` (a
:class:`~matfun.optim.NonFiniteError`) that carries the record up to the last valid
step: its ``params`` and ``state`` are those before the failing step, so the run can be
inspected or resumed.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._base import NonFiniteError, Optimizer, Oracle
from ._oracle_calls import parameters, value_at

__all__ = ["Record", "RunStopped", "as_oracle", "run"]

_COLUMNS = ("step", "loss", "grad_norm", "matvecs", "seconds")


@dataclass
class Record:
    r"""What :func:`run` measured, one entry per step.

    Attributes
    ----------
    name : str
        The optimiser's name.
    step, loss, grad_norm, matvecs, seconds : list
        Per step ``t = 0, 1, ...``: the step index, :math:`f(w_t)`,
        :math:`\|\nabla f(w_t)\|` (both at the parameters the step started from), the
        Hessian-vector products the step spent and its wall time in seconds.
    info : list of dict
        The optimiser's full ``info`` of every step (learning rates, damping, ...).
    params, state
        The parameters and optimiser state after the last completed step.
    final_loss : float or None
        :math:`f` at ``params`` (one more function value), ``None`` if not measured.
    """

    name: str
    step: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    matvecs: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    info: list = field(default_factory=list)
    params: Any = None
    state: Any = None
    final_loss: float | None = None

    def __len__(self) -> int:
        return len(self.step)

    def append(self, step: int, info: dict, seconds: float) -> None:
        """Add one step's measurements (``info`` as returned by ``update``)."""
        self.step.append(step)
        self.loss.append(float(info["loss"]))
        self.grad_norm.append(float(info["grad_norm"]))
        self.matvecs.append(int(info["matvecs"]))
        self.seconds.append(seconds)
        self.info.append(info)

    def to_rows(self) -> list[dict]:
        """One dict per step: the columns and the cumulative ``total_matvecs``, ``elapsed``.

        Ready for ``pandas.DataFrame(record.to_rows())``.
        """
        arrays = self.as_arrays()
        return [{key: arrays[key][t].item() for key in arrays} for t in range(len(self))]

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The columns as NumPy arrays, with ``total_matvecs`` and ``elapsed`` added."""
        arrays = {
            "step": np.asarray(self.step, dtype=np.int64),
            "loss": np.asarray(self.loss, dtype=np.float64),
            "grad_norm": np.asarray(self.grad_norm, dtype=np.float64),
            "matvecs": np.asarray(self.matvecs, dtype=np.int64),
            "seconds": np.asarray(self.seconds, dtype=np.float64),
        }
        arrays["total_matvecs"] = np.cumsum(arrays["matvecs"])
        arrays["elapsed"] = np.cumsum(arrays["seconds"])
        return arrays


class RunStopped(NonFiniteError):
    """:func:`run` stopped because an oracle returned NaN or inf.

    Attributes
    ----------
    record : Record
        Everything up to the last valid step; ``record.params`` and ``record.state``
        are the inputs of the step that failed, unchanged.
    """

    def __init__(self, message: str, record: Record) -> None:
        super().__init__(message)
        self.record = record


def as_oracle(problem: Any) -> Oracle:
    """An :class:`~matfun.optim.Oracle` from an oracle or a problem object.

    Accepted: an ``Oracle``; an object with an ``oracle`` attribute (an ``Oracle``, or a
    method returning one); an object with ``value``, ``grad`` and ``hvp`` methods (and
    optionally ``third`` and ``gauss_newton``).
    """
    if isinstance(problem, Oracle):
        return problem
    candidate = getattr(problem, "oracle", None)
    if callable(candidate) and not isinstance(candidate, Oracle):
        candidate = candidate()
    if isinstance(candidate, Oracle):
        return candidate
    if all(callable(getattr(problem, name, None)) for name in ("value", "grad", "hvp")):
        return Oracle(value=problem.value, grad=problem.grad, hvp=problem.hvp,
                      third=getattr(problem, "third", None),
                      gauss_newton=getattr(problem, "gauss_newton", None))
    raise TypeError("problem must be an Oracle, have an oracle attribute, or have value, "
                    f"grad and hvp methods; got {type(problem).__name__}")


def run(
    optimizer: Optimizer,
    problem: Any,
    params: Any,
    *,
    steps: int,
    state: Any = None,
    progress: bool = True,
    callback: Callable[[int, Any, Any, dict], Any] | None = None,
) -> Record:
    r"""Run ``steps`` updates of ``optimizer`` on ``problem`` from ``params``.

    Parameters
    ----------
    optimizer : Optimizer
        Any optimiser of :mod:`matfun.optim` (or another with ``init`` / ``update``).
    problem
        An :class:`~matfun.optim.Oracle` or a problem object (see :func:`as_oracle`).
    params : array
        The initial flat parameter vector.
    steps : int
        Number of updates, ``>= 0`` (a Python or NumPy integer).
    state : optional
        Resume from this optimiser state (e.g. ``record.state`` of an earlier run)
        instead of ``optimizer.init(params)``.
    progress : bool
        Show a ``tqdm`` progress bar with the current loss.
    callback : callable, optional
        ``callback(step, params, state, info)`` after each step (with the new
        parameters and state); returning ``True`` stops the run early.

    Returns
    -------
    Record

    Raises
    ------
    ValueError
        ``params`` is not a vector, or its size differs from ``problem.dimension``.
    RunStopped
        When an oracle returns NaN or inf; it carries the record so far.
    BaseException
        Any other exception raised during a step or the final loss -- a numerical
        failure (e.g. :class:`~matfun.SeriesDivergenceError`,
        :class:`~matfun.optim.SingularCurvatureError`), a bad oracle output, or
        ``KeyboardInterrupt`` -- is re-raised unchanged in type, with the
        :class:`Record` of the completed steps attached as its ``record`` attribute
        (``record.params`` and ``record.state`` are those after the last completed
        step, ready to resume from).

    Examples
    --------
    >>> import numpy as np
    >>> from matfun.optim import Oracle, gradient_descent
    >>> oracle = Oracle(value=lambda x: 0.5 * x @ x, grad=lambda x: x,
    ...                 hvp=lambda x, v: v)
    >>> record = run(gradient_descent(learning_rate=0.5), oracle, np.array([4.0]),
    ...              steps=3, progress=False)
    >>> record.loss, record.final_loss
    ([8.0, 2.0, 0.5], 0.125)
    """
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(f"optimizer must have init and update, got {type(optimizer).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    steps = int(steps)
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, got {progress!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    oracle = as_oracle(problem)
    params = parameters(params)
    dimension = getattr(problem, "dimension", None)
    if isinstance(dimension, int) and params.shape[0] != dimension:
        # A problem's oracle may accept other sizes (Rosenbrock does) and silently
        # optimise another function: say so instead.
        raise ValueError(f"params has {params.shape[0]} entries, but problem "
                         f"{getattr(problem, 'name', '')!r} has dimension {dimension}")
    record = Record(name=getattr(optimizer, "name", type(optimizer).__name__))
    record.params = params
    record.state = optimizer.init(params) if state is None else state
    bar = _progress(steps, record.name) if progress else None
    try:
        for t in range(steps):
            start = time.perf_counter()
            try:
                new_params, new_state, info = optimizer.update(record.state, record.params,
                                                               oracle)
            except NonFiniteError as error:
                raise RunStopped(f"{record.name} stopped at step {t} of the run: {error}",
                                 record) from error
            except BaseException as error:
                # Any other failure -- numerical (series divergence, a singular model),
                # a bad input, KeyboardInterrupt -- keeps its type; the record of the
                # completed steps rides along for inspection or resumption.
                _attach(error, record, f"{record.name} stopped at step {t} of the run")
                raise
            # info holds host scalars, so the step's device work has finished here.
            record.append(t, info, time.perf_counter() - start)
            record.params, record.state = new_params, new_state
            if bar is not None:
                bar.set_postfix(loss=f"{record.loss[-1]:.4g}", refresh=False)
                bar.update(1)
            if callback is not None and callback(t, new_params, new_state, info) is True:
                break
        try:
            record.final_loss = value_at(oracle, record.params, len(record))
        except NonFiniteError as error:
            raise RunStopped(f"{record.name}: the final loss is not finite: {error}",
                             record) from error
        except BaseException as error:
            _attach(error, record, f"{record.name}: measuring the final loss failed")
            raise
    finally:
        if bar is not None:
            bar.close()
    return record


def _attach(error: BaseException, record: Record, where: str) -> None:
    """Put ``record`` on ``error`` as ``error.record``, with a note saying so."""
    try:
        error.record = record
    except AttributeError:  # an exception type with __slots__: the note still says where
        error.add_note(f"{where}; the record so far could not be attached")
        return
    error.add_note(f"{where}; the record of the {len(record)} completed steps is in the "
                   "exception's .record")


def _progress(steps: int, name: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=steps, desc=name, leave=False)

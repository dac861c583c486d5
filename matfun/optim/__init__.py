"""Operator-based optimisers: saddle-free Newton by series, its adaptive form, and more.

Every optimiser sees the objective only through an :class:`Oracle` (value, gradient,
Hessian-vector product, and a third directional derivative where needed), works on
flat parameter vectors of any array-API backend, and keeps explicit state
(``init`` / ``update`` in the manner of optax) so that runs can be checkpointed and
resumed exactly. :func:`run` trains any of them with a progress bar and returns a
tidy :class:`Record`; :func:`train` trains on a data set in epochs of minibatches
(:mod:`matfun.optim.data` loads small real data sets, the problems of
:mod:`matfun.optim.problems` take them) and returns a resumable :class:`TrainRecord`.
"""

from . import data, partitions, problems
from ._base import NonFiniteError, Optimizer, Oracle, SingularCurvatureError
from .adamqlr import adamqlr
from .adaptive import adaptive
from .baselines import adam, gradient_descent, newton
from .grouped_newton import grouped_newton
from .lbfgs import lbfgs
from .runner import Record, RunStopped, run
from .schedules import ReduceOnPlateau
from .sfn import exact_sfn, sfn_series
from .training import TrainRecord, train

__all__ = [
    "NonFiniteError",
    "Optimizer",
    "Oracle",
    "Record",
    "ReduceOnPlateau",
    "RunStopped",
    "SingularCurvatureError",
    "TrainRecord",
    "adam",
    "adamqlr",
    "adaptive",
    "data",
    "exact_sfn",
    "gradient_descent",
    "grouped_newton",
    "lbfgs",
    "newton",
    "partitions",
    "problems",
    "run",
    "sfn_series",
    "train",
]


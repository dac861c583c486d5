r"""K-FAC through kfac-jax on the MLP problems: the seed paper's K-FAC baseline.

The seed paper (Oldewage, Clarke and Hernández-Lobato, TMLR 2024, section 4) compares
series SFN with K-FAC as implemented by kfac-jax (Botev and Martens), with adaptive
learning rate, momentum and damping and a tuned initial damping. :func:`kfac_train`
trains an :func:`~matfun.optim.problems.mlp_regressor` or
:func:`~matfun.optim.problems.mlp_classifier` problem with ``kfac_jax.Optimizer`` and
returns the :class:`~matfun.optim.TrainRecord` that :func:`matfun.optim.train` returns,
so the two sit in one table.

The network is rewritten in ``jax.numpy`` with the problem's parameterisation
(:func:`jax_mlp`): layer ``l`` computes :math:`z_l = a_l W_l^T + b_l` from the same flat
vector (``W_l`` row-major ``(out, in)``, then ``b_l``), so a run starts from the same
weights and minimises the same loss,
:math:`\tfrac1N \sum_n \|z_n - t_n\|^2` (registered with
``register_squared_error_loss``, weight 1) or the mean softmax cross-entropy
(``register_softmax_cross_entropy_loss``). Every affine layer is registered as a dense
layer (``register_dense``), so each gets one Kronecker-factored block
:math:`(A_l + \pi\sqrt\lambda I) \otimes (G_l + \sqrt\lambda/\pi\, I)` of the
curvature (Martens and Grosse 2015, sections 3-6). The update is

.. math::

    \delta_t = -\alpha_t\, \hat F^{-1} \nabla f + \mu_t\, \delta_{t-1},

with :math:`\alpha_t, \mu_t` either fixed or chosen each step by minimising the exact
quadratic model (Gauss-Newton or Fisher) over the two directions, and the damping
:math:`\lambda` either fixed or adapted by the Levenberg-Marquardt rule every
``damping_adaptation_interval`` steps.

Importing this module needs nothing beyond NumPy; :func:`kfac_train` and
:func:`jax_mlp` import JAX and kfac-jax when called (``ImportError`` naming the package
otherwise). It is never imported by ``import matfun.optim``.

kfac-jax 0.0.8 (the newest release) predates JAX 0.9.2, whose
``Primitive.get_bind_params`` returns the parameters alone instead of a pair; where the
installed kfac-jax fails on that (checked on a one-line program), its one function that
evaluates a traced equation is replaced by one accepting both forms (what kfac-jax's
development version does).

References
----------
Martens and Grosse (2015), *Optimizing neural networks with Kronecker-factored
approximate curvature*, ICML. Botev and Martens (2022), *KFAC-JAX*,
http://github.com/google-deepmind/kfac-jax.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import (
    check_callable,
    check_choice,
    check_flag,
    check_integer,
    check_positive,
    check_real,
)
from ._kfac_network import JaxMLP, _kfac_jax, _loss_function, jax_mlp
from .runner import RunStopped, _attach
from .training import TrainRecord, _check_problem, _finite_metrics, _record_step, _size

__all__ = ["ESTIMATION_MODES", "JaxMLP", "jax_mlp", "kfac_train"]

#: ``estimation_mode`` values of kfac-jax that suit a dense network (its default first).
ESTIMATION_MODES = ("ggn_curvature_prop", "ggn_exact", "fisher_gradients", "fisher_exact",
                    "fisher_curvature_prop", "fisher_empirical")

@functools.lru_cache(maxsize=16)
def _optimizer(network: tuple, settings: tuple) -> Any:
    """One ``kfac_jax.Optimizer`` per network and settings: its compiled steps are reused.

    ``settings["learning_rate"]`` and ``["momentum"]`` say whether they are adaptive;
    ``["damping"]`` is the initial damping, ``None`` when it is fixed.
    """
    jax, kfac_jax = _kfac_jax()
    options = dict(settings)
    adaptive_rate, adaptive_momentum = options.pop("learning_rate"), options.pop("momentum")
    adapt_damping, damping = options.pop("adapt_damping"), options.pop("damping")
    return kfac_jax.Optimizer(
        value_and_grad_func=jax.value_and_grad(_loss_function(*network)),
        l2_reg=0.0,
        use_adaptive_learning_rate=adaptive_rate,
        use_adaptive_momentum=adaptive_momentum,
        use_adaptive_damping=adapt_damping,
        initial_damping=damping if adapt_damping else None,
        num_burnin_steps=options.pop("burnin_steps"),
        use_automatic_registration=False,  # every layer is registered in the loss
        include_norms_in_stats=True,
        multi_device=False,
        **options,
    )


def kfac_train(
    problem: Any,
    params: Any,
    *,
    epochs: int,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    momentum: float | None = None,
    damping: float = 1.0,
    adapt_damping: bool = True,
    damping_adaptation_interval: int = 5,
    curvature_ema: float = 0.95,
    inverse_update_period: int = 5,
    burnin_steps: int = 10,
    estimation_mode: str = "ggn_curvature_prop",
    eval_data: tuple[Any, Any] | None = None,
    seed: int = 0,
    progress: bool = True,
    callback: Callable[[int, Any, Any, dict], Any] | None = None,
) -> TrainRecord:
    r"""Train an MLP problem with K-FAC (``kfac_jax.Optimizer``), epoch by epoch.

    The epochs and batches are those of :func:`matfun.optim.train` with the same
    ``seed`` and ``batch_size`` (a permutation of the rows per epoch from
    ``numpy.random.default_rng(seed)``, consecutive batches of it; ``None``: the full
    data, one step per epoch), so the two see the same batches. Before the first step,
    ``burnin_steps`` curvature estimates are accumulated without moving the
    parameters, on batches from a separate generator (``default_rng([seed, 1])``).

    Parameters
    ----------
    problem : DataProblem
        From :func:`~matfun.optim.problems.mlp_regressor` or
        :func:`~matfun.optim.problems.mlp_classifier`.
    params : array
        Initial flat parameters (host NumPy, e.g. ``problem.initial(seed)``); float64
        runs JAX in 64-bit mode (``jax.enable_x64``) for the run, float32 in 32-bit.
    epochs, batch_size, eval_data, seed, progress, callback
        As in :func:`matfun.optim.train` (``callback(step, params, state, info)`` with
        flat NumPy ``params`` and the kfac-jax state).
    learning_rate, momentum : float or None
        Fixed :math:`\alpha`, :math:`\mu`; ``None`` (default): chosen each step from the
        exact quadratic model, the K-FAC paper's rule, which the seed paper used.
    damping : float
        :math:`\lambda`: the initial damping when ``adapt_damping``, else fixed.
    adapt_damping : bool
        Levenberg-Marquardt adaptation of :math:`\lambda` every
        ``damping_adaptation_interval`` steps (kfac-jax's defaults: factor
        :math:`0.9^{\text{interval}}`, thresholds 0.25 and 0.75).
    curvature_ema, inverse_update_period, estimation_mode
        Passed to ``kfac_jax.Optimizer``: the decay of the curvature's moving average,
        the steps between inversions of the Kronecker factors, and how the factors are
        estimated (:data:`ESTIMATION_MODES`; ``"ggn_exact"`` is deterministic).

    Returns
    -------
    TrainRecord
        Per step the batch loss and gradient norm at the parameters the step started
        from; ``matvecs`` counts the exact curvature-vector products of the quadratic
        model (one per adaptive coefficient: 0, 1 or 2), not the estimator's passes;
        ``seconds`` includes the compilation and burn-in on the first step of a new
        network or setting. ``info`` has kfac-jax's ``learning_rate``, ``momentum``,
        ``damping``, ``rho``. ``params`` is a flat NumPy vector, ``state`` kfac-jax's.
        A record cannot be resumed by :func:`matfun.optim.train`.

    Raises
    ------
    ImportError
        kfac-jax is not installed.
    RunStopped
        A batch loss or the end-of-epoch metrics are NaN or inf; the record holds the
        last valid parameters.

    Examples
    --------
    Needs kfac-jax, so the doctests skip it; ``docs/training.md`` has a run on real data
    that the documentation tests execute where kfac-jax is installed.

    >>> import numpy as np
    >>> from matfun.optim.problems import mlp_regressor
    >>> X = np.random.default_rng(0).standard_normal((64, 3))
    >>> problem = mlp_regressor(X, np.sin(X[:, 0]), hidden=(8,))
    >>> record = kfac_train(problem, problem.initial(0), epochs=10,
    ...                     progress=False)  # doctest: +SKIP
    >>> bool(record.train_metrics[-1]["loss"] < record.loss[0])  # doctest: +SKIP
    True
    """
    _check_problem(problem)
    if getattr(problem, "_network", None) is None:
        raise TypeError("problem must come from mlp_regressor or mlp_classifier")
    epochs = check_integer(epochs, "epochs")
    batch_size = _size(batch_size, "batch_size", problem.samples)
    settings = {
        "learning_rate": None if learning_rate is None else check_positive(
            learning_rate, "learning_rate"),
        "momentum": None if momentum is None else _unit(momentum, "momentum"),
        "damping": check_positive(damping, "damping"),
        "adapt_damping": check_flag(adapt_damping, "adapt_damping"),
        "damping_adaptation_interval": check_integer(
            damping_adaptation_interval, "damping_adaptation_interval", minimum=1),
        "curvature_ema": _unit(curvature_ema, "curvature_ema"),
        "inverse_update_period": check_integer(inverse_update_period,
                                               "inverse_update_period", minimum=1),
        "burnin_steps": check_integer(burnin_steps, "burnin_steps"),
        "estimation_mode": check_choice(estimation_mode, "estimation_mode",
                                        ESTIMATION_MODES),
    }
    seed = check_integer(seed, "seed")
    progress = check_flag(progress, "progress")
    if callback is not None:
        check_callable(callback, "callback")
    params = np.asarray(params)
    if params.ndim != 1 or params.shape[0] != problem.dimension:
        raise ValueError(f"params must be a vector of {problem.dimension} entries for "
                         f"problem {problem.name!r}, got shape {params.shape}")
    if params.dtype not in (np.float32, np.float64):
        raise TypeError(f"params must be float32 or float64, got {params.dtype}")
    if eval_data is not None:
        if not isinstance(eval_data, tuple | list) or len(eval_data) != 2:
            raise TypeError("eval_data must be a pair (X, y)")
        problem.metrics(params, *eval_data)  # validates X and y before training
    jax, _ = _kfac_jax()
    with jax.enable_x64(params.dtype == np.float64), warnings.catch_warnings():
        # kfac-jax donates the batch to its burn-in; the CPU backend cannot reuse it.
        warnings.filterwarnings("ignore", "Some donated buffers were not usable")
        return _run(jax, problem, params, epochs, batch_size, settings, eval_data, seed,
                    progress, callback)


def _unit(value: Any, name: str) -> float:
    number = check_real(value, name)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {value!r}")
    return number


def _run(jax, problem, params, epochs, batch_size, settings, eval_data, seed, progress,
         callback):
    model = jax_mlp(problem)
    network = problem._network
    # Fixed learning rate, momentum and damping are arguments of the compiled step, not
    # part of it: runs that differ only in their values share one compilation.
    compiled = dict(settings, learning_rate=settings["learning_rate"] is None,
                    momentum=settings["momentum"] is None,
                    damping=settings["damping"] if settings["adapt_damping"] else None)
    optimizer = _optimizer((tuple(network.shapes), network.activation, network.head),
                           tuple(sorted(compiled.items())))
    X, T = (a.astype(params.dtype) for a in model.data)
    name = "K-FAC (kfac-jax)"
    record = TrainRecord(name, seed, batch_size, None)
    record.params = params
    rng = np.random.default_rng(seed)
    record.rng_state = rng.bit_generator.state
    key = jax.random.key(seed)
    matvecs = (settings["learning_rate"] is None) + (settings["momentum"] is None)
    fixed = {name: settings[name] for name in ("learning_rate", "momentum")
             if settings[name] is not None}
    if not settings["adapt_damping"]:
        fixed["damping"] = settings["damping"]

    def batch(rows):  # fresh device arrays: kfac-jax may donate what it is given
        whole = rows is None
        return (jax.numpy.asarray(X if whole else X[rows]),
                jax.numpy.asarray(T if whole else T[rows]))

    tree = model.to_tree(params)
    key, init_key = jax.random.split(key)
    state = optimizer.init(tree, init_key, batch(None if batch_size is None else
                                                  np.arange(batch_size)))
    record.state = state
    per_epoch = 1 if batch_size is None else -(-problem.samples // batch_size)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs * per_epoch, desc=name, leave=False)
    try:
        while record.next_epoch < epochs:
            order = None if batch_size is None else rng.permutation(problem.samples)
            while record.step_in_epoch < per_epoch:
                start = time.perf_counter()
                rows = None if order is None else order[
                    record.step_in_epoch * batch_size:(record.step_in_epoch + 1) * batch_size]
                key, step_key = jax.random.split(key)
                where = f"{name} stopped at step {len(record)} (epoch {record.next_epoch})"
                try:
                    if len(record) == 0 and settings["burnin_steps"] > 0:
                        burnin = np.random.default_rng([seed, 1])
                        feed = [batch(None if batch_size is None else burnin.choice(
                            problem.samples, size=batch_size, replace=False))
                            for _ in range(settings["burnin_steps"])] + [batch(rows)]
                        tree, state, stats = optimizer.step(tree, state, step_key,
                                                            data_iterator=iter(feed), **fixed)
                    else:
                        tree, state, stats = optimizer.step(tree, state, step_key,
                                                            batch=batch(rows), **fixed)
                    # Host values: the record needs them (one synchronisation per step).
                    info = {k: float(v) for k, v in stats.items() if np.ndim(v) == 0
                            and k in ("loss", "grad_norm", "learning_rate", "momentum",
                                      "damping", "rho", "new_loss", "quad_model_change")}
                    new_params = model.to_flat(tree).astype(params.dtype)
                except BaseException as error:
                    _attach(error, record, where)
                    raise
                if not (math.isfinite(info["loss"]) and math.isfinite(info["grad_norm"])):
                    raise RunStopped(f"{where}: the batch loss or gradient is not finite "
                                     f"({info['loss']}, {info['grad_norm']})", record)
                info["matvecs"] = matvecs
                record.elapsed += time.perf_counter() - start
                if _record_step(record, info, new_params, state, order, rng, bar, callback):
                    return record
            record.epoch.append(record.next_epoch)
            record.train_metrics.append(_finite_metrics(problem.metrics(record.params),
                                                        "training", record))
            record.eval_metrics.append(None if eval_data is None else _finite_metrics(
                problem.metrics(record.params, *eval_data), "evaluation", record))
            record.epoch_seconds.append(record.elapsed)
            record.next_epoch += 1
            record.step_in_epoch, record.order = 0, None
    finally:
        if bar is not None:
            bar.close()
    return record

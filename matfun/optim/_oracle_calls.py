"""Validated, counted calls of an :class:`~matfun.optim.Oracle`, and hyper-parameter checks.

Every optimiser of seed papers 001-003 calls the oracle through these helpers, so
that a non-finite value, gradient or Hessian-vector product raises
:class:`~matfun.optim.NonFiniteError` naming the callable and the step *before*
anything is updated, and so that every HVP is counted.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

from .._backend import all_finite, as_float_array, matrix_transpose, namespace, norm, to_float
from .._validation import check_real
from ._base import NonFiniteError

__all__ = [
    "HVPCounter",
    "check_fraction",
    "check_learning_rate",
    "check_nonnegative",
    "check_positive",
    "dense_hessian",
    "directional",
    "gradient_and_loss",
    "parameters",
    "step_inputs",
    "value_at",
]


def parameters(params: Any) -> Any:
    """Validate a flat parameter vector; integers are promoted to the default float.

    Real, 1-D, non-empty and finite (one host synchronisation): the objectives are
    real functions of real parameters, and NaN parameters are the caller's, not an
    oracle's, fault.
    """
    if not _is_array(params):
        raise TypeError(f"params must be an array, got {type(params).__name__}")
    xp = namespace(params)
    if params.ndim != 1:
        raise ValueError(f"params must be a 1-D vector, got shape {tuple(params.shape)}")
    if params.shape[0] == 0:
        raise ValueError("params must not be empty")
    params = as_float_array(xp, params, "params")
    if xp.isdtype(params.dtype, "complex floating"):
        raise TypeError(f"params must be real (the objective is a real function of real "
                        f"parameters), got dtype {params.dtype}")
    if not all_finite(xp, params):
        raise ValueError("params contains NaN or inf (the parameters passed in, before any "
                         "oracle call)")
    return params


def step_inputs(state: Any, params: Any, oracle: Any, state_type: type, optimizer: str
                ) -> Any:
    """Validate what ``update(state, params, oracle)`` receives; return ``params``.

    ``state`` must be a ``state_type`` (what ``optimizer``'s ``init`` returns) whose
    vectors match ``params``; ``oracle`` must have callable ``value``, ``grad`` and
    ``hvp``.
    """
    params = parameters(params)
    if not isinstance(state, state_type):
        raise TypeError(f"state must be the {state_type.__name__} returned by "
                        f"{optimizer}'s init(params), got {type(state).__name__}")
    step = getattr(state, "step", 0)
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ValueError(f"state.step must be a non-negative integer, got {step!r}")
    for field in dataclasses.fields(state):
        value = getattr(state, field.name)
        if _is_array(value) and value.ndim == 1 and tuple(value.shape) != tuple(params.shape):
            raise ValueError(f"state.{field.name} has shape {tuple(value.shape)} but params "
                             f"has shape {tuple(params.shape)}: a state of another problem?")
    missing = [name for name in ("value", "grad", "hvp")
               if not callable(getattr(oracle, name, None))]
    if missing:
        raise TypeError(f"oracle must have callable value, grad and hvp (an Oracle); "
                        f"{type(oracle).__name__} lacks {', '.join(missing)}")
    return params


def _is_array(x: Any) -> bool:
    if x is None or isinstance(x, bool | int | float | complex | str | bytes):
        return False
    try:
        namespace(x)
    except TypeError:
        return False
    return True


def _finite(xp: Any, x: Any, what: str, step: int) -> Any:
    # One host synchronisation per call: the protocol demands the check before use.
    if not all_finite(xp, x):
        raise NonFiniteError(f"{what} returned NaN or inf at step {step}")
    return x


def _vector(xp: Any, x: Any, params: Any, what: str) -> Any:
    if type(x) is not type(params) and not _is_array(x):
        raise TypeError(f"{what} returned {type(x).__name__}; expected an array of the "
                        "parameters' library")
    try:
        # Same array type: same library, no need to ask array-api-compat (which costs
        # more than a small HVP on some backends, and this runs for every product).
        if type(x) is not type(params):
            namespace(params, x)
    except TypeError:
        raise TypeError(f"{what} returned {type(x).__name__}; expected an array of the "
                        "parameters' library") from None
    if tuple(x.shape) != tuple(params.shape):
        raise ValueError(f"{what} returned shape {tuple(x.shape)}, expected "
                         f"{tuple(params.shape)}")
    if x.dtype == params.dtype:
        return x
    if xp.isdtype(x.dtype, "complex floating"):
        raise TypeError(f"{what} returned complex values (dtype {x.dtype}) for real "
                        "parameters; the derivatives of a real objective are real")
    if not xp.isdtype(x.dtype, ("real floating", "integral")):
        raise TypeError(f"{what} returned dtype {x.dtype}; expected real numbers")
    return xp.astype(x, params.dtype)


def value_at(oracle: Any, params: Any, step: int) -> float:
    """``f(params)`` as a float (it is logged and compared: a host scalar is needed)."""
    xp = namespace(params)
    raw = oracle.value(params)
    if raw is None or isinstance(raw, bool | str | bytes):
        raise TypeError(f"oracle.value returned {raw!r}; expected a real scalar")
    try:
        value = xp.asarray(raw)
    except (TypeError, ValueError):
        raise TypeError(f"oracle.value returned {type(raw).__name__}; expected a real "
                        "scalar") from None
    if value.ndim != 0:
        raise ValueError(f"oracle.value returned shape {tuple(value.shape)}, expected a "
                         "scalar")
    if not xp.isdtype(value.dtype, ("real floating", "integral")):
        raise TypeError(f"oracle.value returned dtype {value.dtype}; expected a real scalar")
    number = to_float(value)  # one synchronisation: the float is the finiteness test
    if not math.isfinite(number):
        raise NonFiniteError(f"oracle.value returned NaN or inf at step {step}")
    return number


def gradient_and_loss(oracle: Any, params: Any, step: int) -> tuple[float, Any, float]:
    """``(f(params), grad f(params), ||grad||)``, validated."""
    xp = namespace(params)
    loss = value_at(oracle, params, step)
    gradient = _vector(xp, oracle.grad(params), params, "oracle.grad")
    # A NaN/inf entry makes the norm NaN/inf: a finite norm proves the gradient finite
    # (one reduction for both); a non-finite one (or an overflow) sends us to the entries.
    grad_norm = to_float(norm(xp, gradient))
    if not math.isfinite(grad_norm):
        _finite(xp, gradient, "oracle.grad", step)
    return loss, gradient, grad_norm


class HVPCounter:
    """``v -> H(params) v`` with validation and a count of the products spent.

    Parameters
    ----------
    oracle, params, step
        The product is ``oracle.hvp(params, v)``; ``step`` names the step in errors.
    curvature : {"hvp", "gauss_newton"}
        Which oracle callable supplies the product.
    """

    def __init__(self, oracle: Any, params: Any, step: int, curvature: str = "hvp") -> None:
        self._apply = getattr(oracle, curvature)
        if self._apply is None:
            raise ValueError(f"the oracle has no {curvature} callable")
        self._xp = namespace(params)
        self._params = params
        self._step = step
        self._what = f"oracle.{curvature}"
        self.matvecs = 0

    def __call__(self, v: Any) -> Any:
        self.matvecs += 1
        product = _vector(self._xp, self._apply(self._params, v), self._params, self._what)
        return _finite(self._xp, product, self._what, self._step)

    def unchecked(self, v: Any) -> Any:
        """The product, counted and validated like a call, its finiteness check owed.

        The caller must prove the product finite from a reduction it computes anyway,
        or call :meth:`check` on it, before anything it returns depends on it.
        """
        self.matvecs += 1
        return _vector(self._xp, self._apply(self._params, v), self._params, self._what)

    def check(self, product: Any) -> None:
        """The error of a call (:class:`NonFiniteError`) if ``product`` is not finite."""
        _finite(self._xp, product, self._what, self._step)


def dense_hessian(hvp: HVPCounter, params: Any) -> Any:
    """The symmetrised ``p x p`` Hessian from ``p`` products with the unit vectors."""
    xp = namespace(params)
    size = params.shape[0]
    identity = xp.eye(size, dtype=params.dtype, device=params.device)
    rows = xp.stack([hvp(identity[i, :]) for i in range(size)], axis=0)
    # Row i is (H e_i)^T; averaging with the transpose removes the asymmetry of
    # rounding (and of an oracle that is only approximately symmetric).
    return 0.5 * (rows + matrix_transpose(xp, rows))


def directional(oracle: Any, params: Any, u: Any, step: int) -> float:
    """``D^3 f(params)[u, u, u]`` from ``oracle.third``, validated.

    ``oracle.third(params, u)`` returns that scalar (the protocol of
    :class:`~matfun.optim.Oracle`); a vector result is read as ``D^3 f[u, u, .]`` and
    contracted with ``u``.
    """
    if oracle.third is None:
        raise ValueError("the oracle has no third callable (D^3 f[u, u, u]); it is needed "
                         "for the cubic regularisation")
    xp = namespace(params)
    raw = oracle.third(params, u)
    if raw is None or isinstance(raw, bool | str | bytes):
        raise TypeError(f"oracle.third returned {raw!r}; expected a real scalar")
    result = xp.asarray(raw)
    if result.ndim != 0:
        result = _vector(xp, result, params, "oracle.third")
    _finite(xp, result, "oracle.third", step)
    return to_float(result if result.ndim == 0 else xp.sum(result * u))


def check_positive(value: Any, name: str) -> float:
    """A positive finite float, or ``ValueError`` naming the argument."""
    number = check_real(value, name)
    if not number > 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return number


def check_learning_rate(value: Any) -> float:
    """A positive finite learning rate."""
    return check_positive(value, "learning_rate")


def check_nonnegative(value: Any, name: str) -> float:
    """A non-negative finite float, or ``ValueError`` naming the argument."""
    number = check_real(value, name)
    if not number >= 0:
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return number


def check_fraction(value: Any, name: str, *, open_low: bool = False) -> float:
    """A float in ``[0, 1)`` (``(0, 1)`` with ``open_low``)."""
    number = check_real(value, name)
    low_ok = number > 0 if open_low else number >= 0
    if not (low_ok and number < 1):
        interval = "(0, 1)" if open_low else "[0, 1)"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return number



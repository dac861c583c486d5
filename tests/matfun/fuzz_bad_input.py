"""Count how the public functions answer bad input (a script, not part of the suite).

Every argument of every public function of ``matfun``, ``matfun.exact``,
``matfun.spectrum`` and ``matfun.optim`` (with its problems and each optimiser's
``init`` / ``update``) is replaced, one at a time, by each value of a list of bad (or
borderline) values of its kind, the others staying good. Each call is classified:

* ``clear``: ``TypeError`` / ``ValueError`` (or one of the library's own errors) whose
  message names the argument;
* ``unclear``: any other exception, or a message that does not name the argument;
* ``wrong``: a definitely bad value (None, a string, a bool for a number, NaN, inf, a
  list, a complex scalar, a malformed array...) accepted without error;
* ``silent_inf``: a result holding NaN or inf;
* ``hang``: no answer within the time limit; ``memory``: a ``MemoryError`` under the
  address-space limit;
* ``accepted``: a borderline value (0, -1, 2.5, 1e308, zeros...) answered with a finite
  result (not counted as a failure).

Run from the repository root::

    python -m tests.matfun.fuzz_bad_input            # the counts
    python -m tests.matfun.fuzz_bad_input --verbose  # and every non-clear case
"""

from __future__ import annotations

import math
import resource
import signal
import sys
import warnings
from collections import Counter

import array_api_strict as strict
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import matfun
import matfun.exact as exact
import matfun.optim as optim
import matfun.optim.problems as problems
import matfun.spectrum as spectrum

TIME_LIMIT_S = 5
MEMORY_LIMIT = 4 * 2**30

N = 3
H = np.array([[2.0, 1.0, 0.0], [1.0, -3.0, 0.5], [0.0, 0.5, 1.0]])
G = np.array([1.0, -2.0, 0.5])


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout


BAD = True  # definitely bad: must be refused
EDGE = False  # borderline: refused or answered finitely, both honest

OPERATORS = [
    ("non-square", np.ones((3, 4)), BAD), ("1-D", np.ones(3), BAD),
    ("3-D", np.ones((3, 3, 3)), BAD), ("empty", np.zeros((0, 0)), BAD),
    ("NaN", np.where(np.eye(3) > 0, np.nan, H), BAD), ("inf", H * np.inf, BAD),
    ("non-symmetric", np.triu(H + 1), BAD),
    ("complex non-Hermitian", H + 1j * np.eye(3), BAD),
    ("string", "H", BAD), ("None", None, BAD), ("float", 3.0, BAD),
    ("wrong size", np.eye(4), BAD), ("string dtype", np.full((3, 3), "a"), BAD),
    ("object dtype", np.full((3, 3), None, dtype=object), BAD),
    ("other library", strict.asarray(H), BAD),
    ("matvec NaN", lambda v: v * np.nan, BAD),
    ("matvec wrong shape", lambda v: np.ones(4), BAD),
    ("matvec None", lambda v: None, BAD), ("matvec list", lambda v: [1.0, 2.0, 3.0], BAD),
    ("LinearOperator non-square", spla.LinearOperator((3, 4), matvec=lambda v: v[:3],
                                                       dtype=np.float64), BAD),
    ("sparse non-square", sp.csr_array(np.ones((3, 4))), BAD),
    ("bool matrix", np.eye(3, dtype=bool), EDGE), ("zero matrix", np.zeros((3, 3)), EDGE),
    ("1e300 H", 1e300 * H, EDGE), ("1e-300 H", 1e-300 * H, EDGE),
    ("Hermitian", np.array([[2, 1j, 0], [-1j, 3, 0], [0, 0, 1]]), EDGE),
]
VECTORS = [
    ("None", None, BAD), ("list", [1.0, 2.0, 3.0], BAD), ("column", np.ones((3, 1)), BAD),
    ("empty", np.ones(0), BAD), ("NaN", np.array([1.0, np.nan, 0.0]), BAD),
    ("inf", np.array([np.inf, 0.0, 0.0]), BAD), ("string dtype", np.full(3, "a"), BAD),
    ("0-D", np.float64(1.0), BAD), ("wrong length", np.ones(4), BAD),
    ("other library", strict.ones(3), BAD), ("string", "g", BAD),
    ("complex", G + 1j, EDGE), ("zeros", np.zeros(3), EDGE), ("1e300", 1e300 * G, EDGE),
    ("1e-300", 1e-300 * G, EDGE), ("float32", G.astype(np.float32), EDGE),
    ("int", np.array([1, 2, 3]), EDGE), ("bool", np.ones(3, dtype=bool), EDGE),
]
INTEGERS = [
    ("None", None, EDGE),  # the default of many optional integers
    ("string", "3", BAD), ("True", True, BAD), ("False", False, BAD),
    ("2.5", 2.5, BAD), ("NaN", math.nan, BAD), ("inf", math.inf, BAD), ("list", [3], BAD),
    ("complex", 3j, BAD), ("-1", -1, EDGE), ("0", 0, EDGE), ("10**30", 10**30, EDGE),
    ("np.int64", np.int64(3), EDGE), ("3.0", 3.0, EDGE),
]
REALS = [
    ("None", None, BAD), ("string", "1", BAD), ("True", True, BAD), ("NaN", math.nan, BAD),
    ("inf", math.inf, BAD), ("-inf", -math.inf, BAD), ("list", [1.0], BAD),
    ("complex", 1j, BAD), ("array", np.ones(2), BAD), ("-1", -1.0, EDGE), ("0", 0.0, EDGE),
    ("1e308", 1e308, EDGE), ("1e-308", 1e-308, EDGE), ("np.float32", np.float32(0.5), EDGE),
]
CHOICES = [("unknown", "nope", BAD), ("None", None, BAD), ("int", 3, BAD),
           ("True", True, BAD), ("empty", "", BAD)]
CALLABLES = [("None", None, BAD), ("int", 3, BAD), ("string", "f", BAD),
             ("returns NaN", lambda *a: np.full(N, np.nan), BAD),
             ("returns None", lambda *a: None, BAD),
             ("returns string", lambda *a: "x", BAD)]
FUNCTIONS = [("None", None, BAD), ("int", 3, BAD), ("string", "f", BAD)]
FLAGS = [("string", "yes", BAD), ("None", None, BAD), ("int 2", 2, BAD)]
# The mpmath oracles read any array-like on the host (documented): lists and arrays of
# other libraries are valid there.
HOST_OK = {"list", "other library"}
HOST_OPERATORS = [(label, value, definitely and label not in HOST_OK)
                  for label, value, definitely in OPERATORS
                  if not (callable(value) or label.startswith(("LinearOperator", "sparse")))]
HOST_VECTORS = [(label, value, definitely and label not in HOST_OK)
                for label, value, definitely in VECTORS]
# A template vector (spectrum.random_start's like) fixes only backend and dtype: any
# length and any library are valid there.
TEMPLATE_OK = {"wrong length", "other library"}
TEMPLATE_VECTORS = [(label, value, definitely and label not in TEMPLATE_OK)
                    for label, value, definitely in VECTORS]
KINDS = {"op": OPERATORS, "g": VECTORS, "host_op": HOST_OPERATORS, "host_g": HOST_VECTORS,
         "template_g": TEMPLATE_VECTORS,
         "function": FUNCTIONS, "int": INTEGERS, "real": REALS, "choice": CHOICES,
         "callable": CALLABLES, "flag": FLAGS}


def _oracle():
    h = np.array([2.0, -1.0, 0.5])
    return optim.Oracle(value=lambda x: 0.5 * np.sum(h * x * x), grad=lambda x: h * x,
                        hvp=lambda x, v: h * v, third=lambda x, v: 0.0)


def _spec(name, function, *arguments, **keywords):
    """``arguments`` and ``keywords``: (good value, kind) pairs, kind None = not mutated."""
    return name, function, arguments, keywords


def _series_specs():
    op, g = (H, "op"), (G, "g")
    return [
        _spec("inv_sqrt_series", matfun.inv_sqrt_series, op, g, terms=(5, "int"),
              scale=(20.0, "real"), damping=(0.0, "real"), damping_kind=("abs", "choice"),
              max_matvecs=(100, "int"), order=(1, "int"), full_output=(False, "flag")),
        _spec("neumann_series", matfun.neumann_series, (np.diag([1.0, 2.0, 3.0]), "op"), g,
              terms=(5, "int"), scale=(4.0, "real")),
        _spec("binomial_series", matfun.binomial_series, (np.diag([1.0, 2.0, 3.0]), "op"), g,
              (-0.5, "real"), terms=(5, "int"), scale=(4.0, "real")),
        _spec("inv_sqrt_partial_sums",
              lambda *a, **k: list(matfun.inv_sqrt_partial_sums(*a, **k)), op, g,
              terms=(3, "int"), scale=(20.0, "real"), damping=(0.0, "real"),
              damping_kind=("abs", "choice")),
        _spec("inv_sqrt", matfun.inv_sqrt, op, g, method=("lanczos", "choice"),
              max_matvecs=(200, "int"), damping=(0.0, "real"), damping_kind=("abs", "choice")),
        _spec("lanczos_apply", matfun.lanczos_apply, op, g,
              (lambda w: 1 / np.abs(w), "callable"), max_matvecs=(200, "int")),
        _spec("chebyshev_inv_sqrt", matfun.chebyshev_inv_sqrt, op, g, damping=(0.0, "real"),
              degree=(20, "int"), max_matvecs=(200, "int")),
        _spec("binomial_coefficients", matfun.binomial_coefficients, (0.5, "real"),
              (5, "int"), positive=(False, "flag")),
        _spec("abs_damped_coefficients", matfun.abs_damped_coefficients, (0.5, "real"),
              (5, "int")),
        _spec("as_operator", lambda op, like: as_applied(op, like), op, g),
        _spec("spectral_radius", spectrum.spectral_radius, op, like=g,
              method=("lanczos", "choice"), steps=(5, "int"), seed=(0, "int"),
              safety=(1.01, "real")),
        _spec("certified_interval", spectrum.certified_interval, op, like=g,
              method=("auto", "choice"), failure_probability=(1e-6, "real"),
              max_matvecs=(50, "int"), slack=(2.0, "real"), seed=(0, "int")),
        _spec("random_start", spectrum.random_start, (G, "template_g"), (3, "int"),
              (0, "int")),
    ]


def as_applied(op, like):
    """as_operator and one product: the operator's own checks run on use."""
    operator = matfun.as_operator(op, like=like, name="op")
    return operator.matvec(like)


def _exact_specs():
    op, g = (H, "op"), (G, "g")
    return [
        _spec("exact.to_dense", exact.to_dense, op, like=g),
        _spec("exact.eigendecomposition", exact.eigendecomposition, op, like=g),
        _spec("exact.apply_function", exact.apply_function, op, g,
              (lambda w: w * w, "callable")),
        _spec("exact.abs_inv", exact.abs_inv, op, g),
        _spec("exact.inv", exact.inv, op, g),
        _spec("exact.inv_sqrt_square", exact.inv_sqrt_square, op, g, damping=(0.5, "real"),
              damping_kind=("square", "choice")),
        _spec("exact.fractional_power", exact.fractional_power,
              (np.diag([1.0, 2.0, 3.0]), "op"), g, (0.5, "real")),
        _spec("exact.truncated_inv_sqrt_series", exact.truncated_inv_sqrt_series, op, g,
              terms=(5, "int"), scale=(20.0, "real"), damping=(0.5, "real"),
              damping_kind=("abs", "choice")),
        _spec("exact.truncated_neumann_series", exact.truncated_neumann_series, op, g,
              terms=(5, "int"), scale=(20.0, "real")),
        _spec("exact.truncated_binomial_series", exact.truncated_binomial_series, op, g,
              (0.5, "real"), terms=(5, "int"), scale=(20.0, "real")),
        _spec("exact.mp_apply_function", exact.mp_apply_function, (H, "host_op"),
              (G, "host_g"), (lambda x: x * x, "callable"), dps=(30, "int"),
              output=("float64", "choice")),
        _spec("exact.mp_abs_inv", exact.mp_abs_inv, (H, "host_op"), (G, "host_g"),
              dps=(30, "int"), output=("float64", "choice")),
    ]


OPTIMIZERS = {
    "gradient_descent": (optim.gradient_descent,
                         {"learning_rate": (0.1, "real"), "momentum": (0.0, "real")}),
    "adam": (optim.adam, {"learning_rate": (0.1, "real"), "b1": (0.9, "real"),
                          "b2": (0.999, "real"), "eps": (1e-8, "real")}),
    "newton": (optim.newton, {"learning_rate": (1.0, "real"), "damping": (1.0, "real")}),
    "exact_sfn": (optim.exact_sfn, {"learning_rate": (1.0, "real"),
                                    "threshold": (1e-4, "real"),
                                    "momentum": (0.0, "real")}),
    "sfn_series": (optim.sfn_series, {"learning_rate": (0.5, "real"), "terms": (4, "int"),
                                      "order": (1, "int"), "initial_scale": (10.0, "real"),
                                      "scale": ("paper", "choice"),
                                      "damping": (0.0, "real"),
                                      "damping_kind": ("abs", "choice"),
                                      "momentum": (0.0, "real")}),
    "adamqlr": (optim.adamqlr, {"b1": (0.9, "real"), "b2": (0.999, "real"),
                                "eps": (1e-8, "real"), "initial_damping": (1.0, "real"),
                                "omega": (0.95, "real"), "curvature": ("hessian", "choice"),
                                "min_damping": (1e-8, "real"),
                                "max_damping": (1e8, "real")}),
    "grouped_newton": (optim.grouped_newton, {"damping": (1.0, "real"),
                                              "cubic": (0.0, "real"),
                                              "momentum": (0.0, "real")}),
}


def _optim_specs():
    specs = []
    for name, (factory, options) in OPTIMIZERS.items():
        fixed = {"groups": [[0], [1, 2]]} if name == "grouped_newton" else {}
        specs.append(_spec(f"optim.{name}", lambda f=factory, x=fixed, **k: f(**x, **k),
                           **options))
        good = {**fixed, **{key: value for key, (value, _) in options.items()}}

        def step(params, oracle, f=factory, x=good):
            optimizer = f(**x)
            return optimizer.update(optimizer.init(np.ones(N)), params, oracle)[0]

        specs.append(_spec(f"optim.{name}.update", step, (np.ones(N), "g"),
                           (_oracle(), "oracle")))
    specs += [
        _spec("optim.adaptive", lambda **k: optim.adaptive(optim.exact_sfn(), **k),
              initial_damping=(1.0, "real"), omega=(0.95, "real"),
              curvature_ema=(0.0, "real"), min_damping=(1e-8, "real"),
              max_damping=(1e8, "real")),
        _spec("optim.run", lambda optimizer, problem, params, **k:
              optim.run(optimizer, problem, params, progress=False, **k).params,
              (optim.gradient_descent(learning_rate=0.1), "optimizer"),
              (_oracle(), "oracle"), (np.ones(N), "g"), steps=(2, "int")),
        _spec("optim.Oracle", lambda **k: optim.Oracle(**k),
              value=(lambda x: 0.0, "function"), grad=(lambda x: x, "function"),
              hvp=(lambda x, v: v, "function")),
        _spec("problems.rosenbrock", problems.rosenbrock, (2, "int")),
        _spec("problems.mlp_regression", problems.mlp_regression, depth=(2, "int"),
              width=(3, "int"), inputs=(2, "int"), samples=(8, "int"), seed=(0, "int"),
              activation=("tanh", "choice")),
        _spec("problems.quadratic_saddle", problems.quadratic_saddle,
              angle=(0.5, "real")),
    ]
    return specs


ORACLES = [("None", None, BAD), ("string", "f", BAD), ("object", object(), BAD),
           ("grad None", optim.Oracle(value=lambda x: 0.0, grad=lambda x: None,
                                      hvp=lambda x, v: v), BAD),
           ("grad complex", optim.Oracle(value=lambda x: 0.0, grad=lambda x: x + 1j,
                                         hvp=lambda x, v: v), BAD),
           ("value string", optim.Oracle(value=lambda x: "a", grad=lambda x: x,
                                         hvp=lambda x, v: v), BAD)]
OPTIMIZER_VALUES = [("None", None, BAD), ("string", "adam", BAD), ("object", object(), BAD)]
KINDS.update(oracle=ORACLES, optimizer=OPTIMIZER_VALUES)


def _is_library_error(error):
    """TypeError, ValueError, or an exception class of matfun/accel (not a builtin one)."""
    if type(error) in (TypeError, ValueError):
        return True
    return type(error).__module__.startswith(("matfun", "accel"))


def _finite(result):
    if isinstance(result, tuple | list):
        return all(_finite(r) for r in result)
    if isinstance(result, float):
        return math.isfinite(result)
    try:
        array = np.asarray(result)
    except Exception:
        return True
    if array.dtype.kind in "fc":
        return bool(np.all(np.isfinite(array)))
    return True


def _names(argument):
    if argument in ("op", "operator"):
        return ("op", "operator", "matrix", "matvec", "Hermitian", "symmetric")
    if argument in ("g", "like"):
        return ("g", "like", "vector", "params")
    if argument == "oracle":
        return ("oracle", "problem")
    return (argument,)


def _abs_inv(op, g):
    w, q = np.linalg.eigh(np.asarray(op, dtype=complex if np.iscomplexobj(op) else float))
    return q @ ((q.conj().T @ g) / np.abs(w))


# For a borderline operator or vector that a function answers, the answer is checked
# against numpy's eigh where the function computes a known f(H) g with its other
# (good) arguments: not Chebyshev, whose good arguments fix a degree.
REFERENCES = {
    "inv_sqrt": _abs_inv, "lanczos_apply": _abs_inv,
    "exact.abs_inv": _abs_inv, "exact.mp_abs_inv": _abs_inv,
    "exact.inv": lambda op, g: np.linalg.solve(np.asarray(op), g),
    "as_operator": lambda op, g: np.asarray(op) @ g,
}


def _wrong_value(name, args, result):
    reference = REFERENCES.get(name)
    if reference is None or len(args) < 2 or not isinstance(args[0], np.ndarray):
        return False
    op, g = args[0], args[1]
    if not isinstance(g, np.ndarray) or op.ndim != 2 or g.ndim != 1:
        return False
    with np.errstate(all="ignore"):
        expected = reference(op.astype(np.complex128 if np.iscomplexobj(op) else np.float64),
                             g.astype(np.complex128 if np.iscomplexobj(g) else np.float64))
    got = np.asarray(result)
    if not np.all(np.isfinite(expected)) or got.shape != expected.shape:
        return False
    # float32 input: about 1e-4 relative is what 24 bits give at kappa ~ 10; float64: the
    # default rtol 1e-8 of the solvers, with the 10x allowance of the contract.
    rtol = 1e-3 if getattr(g, "dtype", None) == np.float32 else 1e-6
    return np.linalg.norm(got - expected) > rtol * np.linalg.norm(expected)


def classify(function, args, kwargs, argument, definitely_bad, name=""):
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = function(*args, **kwargs)
    except _Timeout:
        return "hang", "timeout"
    except MemoryError:
        return "memory", "MemoryError"
    except Exception as error:
        if not _is_library_error(error):
            return "unclear", f"{type(error).__name__}: {str(error)[:150]}"
        message = str(error)
        # A borderline value refused by one of the library's errors is honest, whatever
        # it names (an overflow, a divergence, a singular matrix).
        if not definitely_bad or any(name in message for name in _names(argument)):
            return "clear", f"{type(error).__name__}: {message[:150]}"
        return "unclear", f"{type(error).__name__} not naming {argument}: {message[:150]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if not _finite(result):
        return "silent_inf", "returned NaN/inf"
    if definitely_bad:
        return "wrong", "accepted"
    if argument in ("op", "g") and _wrong_value(name, args, result):
        return "wrong", "a wrong value (against numpy's eigh)"
    return "accepted", "finite"


def cases():
    specs = _series_specs() + _exact_specs() + _optim_specs()
    for name, function, arguments, keywords in specs:
        good_args = [value for value, _ in arguments]
        good_kwargs = {key: value for key, (value, _) in keywords.items()}
        slots = [(i, kind) for i, (_, kind) in enumerate(arguments)]
        slots += [(key, kind) for key, (_, kind) in keywords.items()]
        for slot, kind in slots:
            if kind is None:
                continue
            argument = slot if isinstance(slot, str) else _positional_name(function, slot, kind)
            for label, bad, definitely in KINDS[kind]:
                args, kwargs = list(good_args), dict(good_kwargs)
                if isinstance(slot, str):
                    kwargs[slot] = bad
                else:
                    args[slot] = bad
                yield name, argument, label, function, args, kwargs, definitely


def _positional_name(function, index, kind):
    if kind in ("op", "g", "host_op", "host_g", "oracle", "optimizer"):
        return {"op": "op", "g": "g", "host_op": "op", "host_g": "g", "oracle": "oracle",
                "optimizer": "optimizer"}[kind]
    import inspect

    try:
        return list(inspect.signature(function).parameters)[index]
    except (TypeError, ValueError, IndexError):
        return f"arg{index}"


def main(verbose):
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    signal.signal(signal.SIGALRM, _alarm)
    counts, per_function = Counter(), Counter()
    for name, argument, label, function, args, kwargs, definitely in cases():
        outcome, detail = classify(function, args, kwargs, argument, definitely, name)
        counts[outcome] += 1
        if outcome not in ("clear", "accepted"):
            per_function[name] += 1
            if verbose:
                print(f"{outcome:10s} {name}({argument}={label}): {detail}")
    total = sum(counts.values())
    print(f"cases tried: {total}")
    for outcome in ("clear", "accepted", "unclear", "wrong", "silent_inf", "hang", "memory"):
        print(f"  {outcome:10s} {counts[outcome]}")
    if per_function:
        print("non-clear by function:", dict(per_function.most_common()))


if __name__ == "__main__":
    main("--verbose" in sys.argv)

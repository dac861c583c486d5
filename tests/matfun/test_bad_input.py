"""One table of bad inputs over every public function: a clear error naming the argument.

Each row is ``(function, bad argument, exception type, regex)``: the call with that
one argument bad (the others good) must raise that type with a message matching the
regex, which names the argument. Rows for the operator and vector arguments are
generated for every function that takes them; scalar rows are listed per function.
For functions whose tolerances are being renamed (series, inv_sqrt, lanczos_apply,
chebyshev_inv_sqrt, spectrum) no ``tol`` is passed and only operator, vector and
non-tolerance arguments appear. Rows that fail in code owned elsewhere are listed in
``KNOWN_FAILURES`` (strict xfail, with the reason), never dropped.

A wider count (every argument times a list of bad and borderline values) is the
script ``python -m tests.matfun.fuzz_bad_input``.
"""

from __future__ import annotations

import math

import array_api_strict as strict
import numpy as np
import pytest

import matfun
import matfun.exact as exact
import matfun.optim as optim
import matfun.optim.problems as problems
import matfun.spectrum as spectrum

H = np.array([[2.0, 1.0, 0.0], [1.0, -3.0, 0.5], [0.0, 0.5, 1.0]])
G = np.array([1.0, -2.0, 0.5])


def _oracle(**changes):
    h = np.array([2.0, -1.0, 0.5])
    parts = dict(value=lambda x: 0.5 * np.sum(h * x * x), grad=lambda x: h * x,
                 hvp=lambda x, v: h * v, third=lambda x, v: 0.0)
    parts.update(changes)
    return optim.Oracle(**parts)


# ------------------------------------------------------------ operator and vector rows

# Functions of (op, g): how each is called with an operator and a vector, no tolerance.
OP_G_FUNCTIONS = {
    "inv_sqrt_series": lambda op, g: matfun.inv_sqrt_series(op, g, terms=3, scale=20.0),
    "neumann_series": lambda op, g: matfun.neumann_series(op, g, terms=3, scale=20.0),
    "binomial_series": lambda op, g: matfun.binomial_series(op, g, -0.5, terms=3,
                                                            scale=20.0),
    "inv_sqrt_partial_sums": lambda op, g: list(matfun.inv_sqrt_partial_sums(
        op, g, terms=3, scale=20.0)),
    "inv_sqrt": lambda op, g: matfun.inv_sqrt(op, g),
    "lanczos_apply": lambda op, g: matfun.lanczos_apply(op, g, lambda w: 1 / np.abs(w)),
    "chebyshev_inv_sqrt": lambda op, g: matfun.chebyshev_inv_sqrt(op, g),
    "as_operator": lambda op, g: matfun.as_operator(op, like=g, name="op").matvec(g),
    "exact.to_dense": lambda op, g: exact.to_dense(op, like=g),
    "exact.eigendecomposition": lambda op, g: exact.eigendecomposition(op, like=g),
    "exact.apply_function": lambda op, g: exact.apply_function(op, g, lambda w: w),
    "exact.abs_inv": exact.abs_inv,
    "exact.inv": exact.inv,
    "exact.inv_sqrt_square": lambda op, g: exact.inv_sqrt_square(op, g, damping=0.5),
    "exact.fractional_power": lambda op, g: exact.fractional_power(op, g, 3.0),
    "exact.truncated_inv_sqrt_series": lambda op, g: exact.truncated_inv_sqrt_series(
        op, g, terms=3, scale=20.0),
    "exact.truncated_neumann_series": lambda op, g: exact.truncated_neumann_series(
        op, g, terms=3, scale=20.0),
    "exact.truncated_binomial_series": lambda op, g: exact.truncated_binomial_series(
        op, g, 0.5, terms=3, scale=20.0),
    "spectrum.spectral_radius": lambda op, g: spectrum.spectral_radius(op, like=g),
    "spectrum.certified_interval": lambda op, g: spectrum.certified_interval(op, like=g),
}
# The vector is called `like` by these.
VECTOR_NAME = {"as_operator": "like", "exact.to_dense": "like", "exact.eigendecomposition": "like",
               "spectrum.spectral_radius": "like", "spectrum.certified_interval": "like"}

BAD_OPERATORS = [
    ("non-square", np.ones((3, 4)), ValueError, r"op must be square, got shape \(3, 4\)"),
    ("1-D", np.ones(3), ValueError, r"op must be a 2-D array"),
    ("3-D", np.ones((3, 3, 3)), ValueError, r"op must be a 2-D array"),
    ("empty", np.zeros((0, 0)), ValueError, r"op must not be empty"),
    ("NaN", np.where(np.eye(3) > 0, np.nan, H), ValueError, r"op contains NaN or inf"),
    ("inf", np.where(np.eye(3) > 0, np.inf, H), ValueError, r"op contains NaN or inf"),
    ("non-symmetric", np.triu(H + 1), ValueError, r"op must be symmetric"),
    ("complex non-Hermitian", H + 1j * np.eye(3), ValueError,
     r"op must be symmetric \(Hermitian\)"),
    ("string", "H", TypeError, r"op must be a square 2-D array.*got str"),
    ("None", None, TypeError, r"op must be a square 2-D array.*got NoneType"),
    ("wrong size", np.eye(4), ValueError, r"op has shape \(4, 4\) but the vector has length 3"),
    ("string dtype", np.full((3, 3), "a"), TypeError, r"op must be a numeric array"),
    ("other library", strict.asarray(H), TypeError,
     r"op is a array_api_strict.* but the vector is a numpy"),
    ("matvec NaN", lambda v: v * np.nan, ValueError, r"op: matvec returned NaN or inf"),
    ("matvec wrong shape", lambda v: np.ones(4), ValueError,
     r"op: matvec returned shape \(4,\)"),
    ("matvec None", lambda v: None, TypeError, r"op: matvec returned NoneType"),
]

BAD_VECTORS = [
    ("None", None, TypeError, r"{g} must be an array, got NoneType"),
    ("list", [1.0, 2.0, 3.0], TypeError, r"{g} must be an array, got list"),
    ("column", np.ones((3, 1)), ValueError, r"{g} must be a 1-D vector"),
    ("0-D", np.float64(1.0), ValueError, r"{g} must be a 1-D vector"),
    ("empty", np.ones(0), ValueError, r"{g} must not be empty"),
    ("NaN", np.array([1.0, np.nan, 0.0]), ValueError, r"{g} contains NaN or inf"),
    ("inf", np.array([np.inf, 0.0, 0.0]), ValueError, r"{g} contains NaN or inf"),
    ("string dtype", np.full(3, "a"), TypeError, r"{g} must be numeric"),
    ("wrong length", np.ones(4), ValueError, r"op has shape \(3, 3\) but the vector has length 4"),
    ("other library", strict.ones(3), TypeError,
     r"op is a numpy.* but the vector is a array_api_strict"),
]
if np.finfo(np.longdouble).eps < np.finfo(np.float64).eps:  # x86: 80-bit extended
    # It was accepted and computed in float64: Lanczos said converged at rtol = 1e-17
    # with an error of 1.9e-15 (mpmath oracle), the series 9e-17; Chebyshev stopped
    # with NumPy's "array type float128 is unsupported in linalg".
    BAD_VECTORS += [(f"extended {np.dtype(kind).name}", np.ones(3, kind), TypeError,
                     r"{g} has dtype \w+, NumPy's extended precision, which is not supported")
                    for kind in (np.longdouble, np.clongdouble)]


def _operator_rows():
    for name, call in OP_G_FUNCTIONS.items():
        for label, bad, error, regex in BAD_OPERATORS:
            yield pytest.param(lambda call=call, bad=bad: call(bad, G), error, regex,
                               id=f"{name}(op={label})")
        g_name = VECTOR_NAME.get(name, "g")
        for label, bad, error, regex in BAD_VECTORS:
            if name == "as_operator" and label in ("NaN", "inf"):
                # as_operator reads only the length of `like`; the product names it.
                regex = r"op: the vector it was applied to contains NaN or inf"
            if name == "as_operator" and label == "None":
                regex = r"op: matvec needs an array, got NoneType"  # like=None: not given
            yield pytest.param(lambda call=call, bad=bad: call(H, bad), error,
                               regex.format(g=g_name), id=f"{name}({g_name}={label})")


# ----------------------------------------------------------------------- scalar rows


def _row(name, call, error, regex):
    return pytest.param(call, error, regex, id=name)


def _scalar_rows():
    rows = [
        # matfun.operators (as_operator, Operator, square/shift/scale)
        _row("as_operator(name=3)", lambda: matfun.as_operator(H, name=3), TypeError,
             r"name must be a string"),
        _row("as_operator(check='yes')", lambda: matfun.as_operator(H, check="yes"),
             TypeError, r"check must be True or False"),
        _row("as_operator(like=2-D)", lambda: matfun.as_operator(H, like=np.ones((3, 1))),
             ValueError, r"like must be a 1-D vector"),
        _row("as_operator(like=strings)", lambda: matfun.as_operator(H, like=np.full(3, "a")),
             TypeError, r"like must be numeric, got dtype <U1"),
        _row("as_operator(callable, no like)", lambda: matfun.as_operator(lambda v: v),
             TypeError, r"operator is a callable: pass like="),
        _row("Operator(apply=3)", lambda: matfun.Operator(3, 2), TypeError,
             r"apply must be callable"),
        _row("Operator(size=0)", lambda: matfun.Operator(lambda v: v, 0), ValueError,
             r"size must be a positive integer"),
        _row("Operator(size=True)", lambda: matfun.Operator(lambda v: v, True), ValueError,
             r"size must be a positive integer"),
        _row("Operator(size='2')", lambda: matfun.Operator(lambda v: v, "2"), ValueError,
             r"size must be a positive integer"),
        _row("Operator.matvec(None)", lambda: matfun.Operator(lambda v: v, 2).matvec(None),
             TypeError, r"operator: matvec needs an array, got NoneType"),
        _row("shift(lam='1')",
             lambda: matfun.operators.shift(matfun.as_operator(H), "1"), TypeError,
             r"lam must be a real number"),
        _row("scale(factor=nan)",
             lambda: matfun.operators.scale(matfun.as_operator(H), math.nan), ValueError,
             r"factor must be finite"),
        _row("square(op=array)", lambda: matfun.operators.square(H), TypeError,
             r"op must be an Operator"),
        # matfun.exact
        _row("exact.inv_sqrt_square(damping=-1)",
             lambda: exact.inv_sqrt_square(H, G, damping=-1.0), ValueError,
             r"damping must be non-negative"),
        _row("exact.inv_sqrt_square(damping='1')",
             lambda: exact.inv_sqrt_square(H, G, damping="1"), TypeError,
             r"damping must be a real number"),
        _row("exact.inv_sqrt_square(damping=True)",
             lambda: exact.inv_sqrt_square(H, G, damping=True), TypeError,
             r"damping must be a real number"),
        _row("exact.inv_sqrt_square(damping=nan)",
             lambda: exact.inv_sqrt_square(H, G, damping=math.nan), ValueError,
             r"damping must be finite"),
        _row("exact.inv_sqrt_square(damping_kind='x')",
             lambda: exact.inv_sqrt_square(H, G, damping_kind="x"), ValueError,
             r"damping_kind must be one of"),
        _row("exact.inv_sqrt_square(damping_kind=None)",
             lambda: exact.inv_sqrt_square(H, G, damping_kind=None), ValueError,
             r"damping_kind must be one of"),
        _row("exact.fractional_power(exponent='a')",
             lambda: exact.fractional_power(H, G, "a"), TypeError,
             r"exponent must be a real number"),
        _row("exact.fractional_power(exponent=nan)",
             lambda: exact.fractional_power(H, G, math.nan), ValueError,
             r"exponent must be finite"),
        _row("exact.fractional_power(exponent=1e308)",
             lambda: exact.fractional_power(H, G, 1e308), ValueError,
             r"exponent = 1e\+308: a power of an eigenvalue of op overflows"),
        _row("exact.apply_function(f=None)", lambda: exact.apply_function(H, G, None),
             TypeError, r"f must be callable"),
        _row("exact.apply_function(f -> wrong shape)",
             lambda: exact.apply_function(H, G, lambda w: w[:2]), ValueError,
             r"f must return one value per eigenvalue"),
        _row("exact.apply_function(f -> NaN)",
             lambda: exact.apply_function(H, G, lambda w: w * np.nan), ValueError,
             r"f is undefined \(NaN or inf\) at eigenvalue"),
        _row("exact.apply_function(f -> string)",
             lambda: exact.apply_function(H, G, lambda w: "x"), TypeError,
             r"f must return numbers"),
        _row("exact.apply_function(f -> complex)",
             lambda: exact.apply_function(H, G, lambda w: w + 1j), TypeError,
             r"f must return real values"),
        _row("exact.abs_inv(singular op)", lambda: exact.abs_inv(np.zeros((3, 3)), G),
             ValueError, r"op is singular"),
        _row("exact.truncated_inv_sqrt_series(terms=0)",
             lambda: exact.truncated_inv_sqrt_series(H, G, terms=0, scale=20.0), ValueError,
             r"terms must be a positive integer"),
        _row("exact.truncated_inv_sqrt_series(terms=True)",
             lambda: exact.truncated_inv_sqrt_series(H, G, terms=True, scale=20.0),
             ValueError, r"terms must be a positive integer"),
        _row("exact.truncated_inv_sqrt_series(terms=2.0)",
             lambda: exact.truncated_inv_sqrt_series(H, G, terms=2.0, scale=20.0),
             ValueError, r"terms must be a positive integer"),
        _row("exact.truncated_inv_sqrt_series(terms=10**30)",
             lambda: exact.truncated_inv_sqrt_series(H, G, terms=10**30, scale=20.0),
             ValueError, r"terms must be at most"),
        _row("exact.truncated_inv_sqrt_series(scale=0)",
             lambda: exact.truncated_inv_sqrt_series(H, G, terms=3, scale=0.0), ValueError,
             r"scale must be positive"),
        _row("exact.truncated_inv_sqrt_series(scale='1')",
             lambda: exact.truncated_inv_sqrt_series(H, G, terms=3, scale="1"), TypeError,
             r"scale must be a real number"),
        _row("exact.truncated_inv_sqrt_series(damping=-1)",
             lambda: exact.truncated_inv_sqrt_series(H, G, terms=3, scale=20.0, damping=-1.0),
             ValueError, r"damping must be non-negative"),
        _row("exact.truncated_neumann_series(scale=inf)",
             lambda: exact.truncated_neumann_series(H, G, terms=3, scale=math.inf),
             ValueError, r"scale must be finite"),
        _row("exact.truncated_binomial_series(exponent=1e308)",
             lambda: exact.truncated_binomial_series(H, G, 1e308, terms=3, scale=20.0),
             ValueError, r"scale \*\* exponent"),
        _row("exact.truncated_binomial_series(exponent=None)",
             lambda: exact.truncated_binomial_series(H, G, None, terms=3, scale=20.0),
             TypeError, r"exponent must be a real number"),
        _row("exact.mp_abs_inv(dps=10)", lambda: exact.mp_abs_inv(H, G, dps=10), ValueError,
             r"dps must be an integer in \[15, "),
        _row("exact.mp_abs_inv(dps=True)", lambda: exact.mp_abs_inv(H, G, dps=True),
             TypeError, r"dps must be an integer"),
        _row("exact.mp_abs_inv(dps=10**30)", lambda: exact.mp_abs_inv(H, G, dps=10**30),
             ValueError, r"dps must be an integer in"),
        _row("exact.mp_abs_inv(output='x')", lambda: exact.mp_abs_inv(H, G, output="x"),
             ValueError, r"output must be one of"),
        _row("exact.mp_abs_inv(matrix=NaN)",
             lambda: exact.mp_abs_inv(H * np.nan, G), ValueError, r"matrix contains NaN"),
        _row("exact.mp_abs_inv(g=inf)",
             lambda: exact.mp_abs_inv(H, G * np.inf), ValueError, r"g contains NaN or inf"),
        _row("exact.mp_abs_inv(matrix=non-square)",
             lambda: exact.mp_abs_inv(np.ones((3, 4)), G), ValueError,
             r"matrix must be a non-empty square"),
        _row("exact.mp_abs_inv(g=wrong length)",
             lambda: exact.mp_abs_inv(H, np.ones(4)), ValueError,
             r"g must be a vector of length 3 \(matrix is 3 x 3\)"),
        _row("exact.mp_abs_inv(matrix=non-symmetric)",
             lambda: exact.mp_abs_inv(np.triu(H + 1), G), ValueError,
             r"matrix must be symmetric"),
        _row("exact.mp_abs_inv(matrix=strings)",
             lambda: exact.mp_abs_inv(np.full((3, 3), "a"), G), TypeError,
             r"matrix must be numeric"),
        _row("exact.mp_apply_function(f=None)",
             lambda: exact.mp_apply_function(H, G, None), TypeError, r"f must be a callable"),
        _row("exact.mp_apply_function(f at 15 digits)",
             lambda: exact.mp_apply_function(H, G, lambda x: float(x)), TypeError,
             r"f returned a float \(about 16 digits\)"),
        _row("exact.mp_apply_function(f -> string)",
             lambda: exact.mp_apply_function(H, G, lambda x: "a"), TypeError,
             r"f must return a number"),
        # matfun.optim: run
        _row("optim.run(steps=-1)", lambda: optim.run(
            optim.gradient_descent(learning_rate=0.1), _oracle(), G, steps=-1,
            progress=False), ValueError, r"steps must be a non-negative integer"),
        _row("optim.run(steps=True)", lambda: optim.run(
            optim.gradient_descent(learning_rate=0.1), _oracle(), G, steps=True,
            progress=False), ValueError, r"steps must be a non-negative integer"),
        _row("optim.run(steps=2.0)", lambda: optim.run(
            optim.gradient_descent(learning_rate=0.1), _oracle(), G, steps=2.0,
            progress=False), ValueError, r"steps must be a non-negative integer"),
        _row("optim.run(optimizer=None)", lambda: optim.run(None, _oracle(), G, steps=1),
             TypeError, r"optimizer must have init and update"),
        _row("optim.run(problem=None)", lambda: optim.run(
            optim.gradient_descent(learning_rate=0.1), None, G, steps=1), TypeError,
             r"problem must be an Oracle"),
        _row("optim.run(callback=3)", lambda: optim.run(
            optim.gradient_descent(learning_rate=0.1), _oracle(), G, steps=1, callback=3),
             TypeError, r"callback must be callable"),
        _row("optim.run(progress='yes')", lambda: optim.run(
            optim.gradient_descent(learning_rate=0.1), _oracle(), G, steps=1,
            progress="yes"), TypeError, r"progress must be True or False"),
        _row("optim.Oracle(value=None)",
             lambda: optim.Oracle(value=None, grad=lambda x: x, hvp=lambda x, v: v),
             TypeError, r"Oracle.value must be callable"),
        _row("optim.Oracle(third=3)",
             lambda: optim.Oracle(value=lambda x: 0.0, grad=lambda x: x,
                                  hvp=lambda x, v: v, third=3),
             TypeError, r"Oracle.third must be callable or None"),
        # matfun.optim: optimiser constructors
        _row("gradient_descent(learning_rate=0)",
             lambda: optim.gradient_descent(learning_rate=0.0), ValueError,
             r"learning_rate must be a positive"),
        _row("gradient_descent(learning_rate='1')",
             lambda: optim.gradient_descent(learning_rate="1"), TypeError,
             r"learning_rate must be a real number"),
        _row("gradient_descent(momentum=1)",
             lambda: optim.gradient_descent(learning_rate=0.1, momentum=1.0), ValueError,
             r"momentum must lie in"),
        _row("adam(b1=1)", lambda: optim.adam(b1=1.0), ValueError, r"b1 must lie in"),
        _row("adam(eps=nan)", lambda: optim.adam(eps=math.nan), ValueError,
             r"eps must be finite"),
        _row("newton(damping=-1)", lambda: optim.newton(damping=-1.0), ValueError,
             r"damping must be a non-negative"),
        _row("exact_sfn(threshold=None)", lambda: optim.exact_sfn(threshold=None), TypeError,
             r"threshold must be a real number"),
        _row("sfn_series(terms=0)", lambda: optim.sfn_series(learning_rate=0.5, terms=0),
             ValueError, r"terms must be a positive integer"),
        _row("sfn_series(damping_kind='x')",
             lambda: optim.sfn_series(learning_rate=0.5, terms=3, damping_kind="x"),
             ValueError, r"damping_kind must be one of"),
        _row("adamqlr(curvature='x')", lambda: optim.adamqlr(curvature="x"), ValueError,
             r"curvature must be one of"),
        _row("adamqlr(omega=2)", lambda: optim.adamqlr(omega=2.0), ValueError,
             r"omega must lie in"),
        _row("adaptive(base=None)", lambda: optim.adaptive(None), TypeError, r"base"),
        _row("grouped_newton(groups=None)", lambda: optim.grouped_newton(groups=None),
             ValueError, r"groups must be a non-empty sequence"),
        _row("grouped_newton(cubic=-1)",
             lambda: optim.grouped_newton(groups=[[0]], cubic=-1.0), ValueError,
             r"cubic must be a non-negative"),
        # matfun.optim.problems
        _row("rosenbrock(dimension=1)", lambda: problems.rosenbrock(1), ValueError,
             r"dimension must be an integer in \[2, "),
        _row("rosenbrock(dimension=True)", lambda: problems.rosenbrock(True), TypeError,
             r"dimension must be an integer, got True"),
        _row("rosenbrock(dimension=10**30)", lambda: problems.rosenbrock(10**30), ValueError,
             r"dimension must be an integer in"),
        _row("mlp_regression(samples=10**30)",
             lambda: problems.mlp_regression(samples=10**30), ValueError,
             r"samples must be an integer in"),
        _row("mlp_regression(activation=3)", lambda: problems.mlp_regression(activation=3),
             ValueError, r"activation must be one of"),
        _row("quadratic_saddle(angle='a')", lambda: problems.quadratic_saddle(angle="a"),
             TypeError, r"angle must be a real number"),
        _row("quadratic_saddle(curvatures=(1, 0))",
             lambda: problems.quadratic_saddle(curvatures=(1.0, 0.0)), ValueError,
             r"curvatures must be two non-zero"),
        # functions owned elsewhere: non-tolerance arguments only
        _row("inv_sqrt_series(damping=-1)",
             lambda: matfun.inv_sqrt_series(H, G, terms=3, damping=-1.0), ValueError,
             r"damping"),
        _row("inv_sqrt_series(damping='1')",
             lambda: matfun.inv_sqrt_series(H, G, terms=3, damping="1"), TypeError,
             r"damping must be a real number"),
        _row("inv_sqrt_series(damping=True)",
             lambda: matfun.inv_sqrt_series(H, G, terms=3, damping=True), TypeError,
             r"damping must be a real number"),
        _row("inv_sqrt_series(damping_kind='x')",
             lambda: matfun.inv_sqrt_series(H, G, terms=3, damping_kind="x"), ValueError,
             r"damping_kind"),
        _row("inv_sqrt_series(terms=True)",
             lambda: matfun.inv_sqrt_series(H, G, terms=True), (TypeError, ValueError),
             r"terms must be"),
        _row("inv_sqrt_series(max_matvecs=0)",
             lambda: matfun.inv_sqrt_series(H, G, terms=3, max_matvecs=0), ValueError,
             r"max_matvecs"),
        _row("inv_sqrt_series(full_output='yes')",
             lambda: matfun.inv_sqrt_series(H, G, terms=3, full_output="yes"), TypeError,
             r"full_output must be True or False"),
        _row("inv_sqrt_partial_sums(damping='1')",
             lambda: list(matfun.inv_sqrt_partial_sums(H, G, terms=3, damping="1")),
             TypeError, r"damping must be a real number"),
        _row("inv_sqrt(method='x')", lambda: matfun.inv_sqrt(H, G, method="x"), ValueError,
             r"method"),
        _row("inv_sqrt(damping=-1)", lambda: matfun.inv_sqrt(H, G, damping=-1.0), ValueError,
             r"damping"),
        _row("lanczos_apply(f=None)", lambda: matfun.lanczos_apply(H, G, None), TypeError,
             r"\bf\b"),
        _row("chebyshev_inv_sqrt(damping=-1)",
             lambda: matfun.chebyshev_inv_sqrt(H, G, damping=-1.0), ValueError, r"damping"),
        _row("chebyshev_inv_sqrt(degree=True)",
             lambda: matfun.chebyshev_inv_sqrt(H, G, degree=True), (TypeError, ValueError),
             r"degree must be"),
        _row("binomial_coefficients(n=True)", lambda: matfun.binomial_coefficients(0.5, True),
             (TypeError, ValueError), r"\bn must be"),
        _row("binomial_coefficients(alpha=nan)",
             lambda: matfun.binomial_coefficients(math.nan, 3), ValueError, r"alpha"),
        _row("binomial_coefficients(positive='yes')",
             lambda: matfun.binomial_coefficients(0.5, 3, positive="yes"), TypeError,
             r"positive must be True or False"),
        _row("abs_damped_coefficients(delta=-1)",
             lambda: matfun.abs_damped_coefficients(-1.0, 3), ValueError, r"delta"),
        _row("spectral_radius(steps=True)",
             lambda: spectrum.spectral_radius(H, like=G, steps=True), (TypeError, ValueError),
             r"steps must be"),
        _row("spectral_radius(method='x')",
             lambda: spectrum.spectral_radius(H, like=G, method="x"), ValueError, r"method"),
        _row("spectral_radius(safety=0.5)",
             lambda: spectrum.spectral_radius(H, like=G, safety=0.5), ValueError, r"safety"),
        _row("spectral_radius(safety='2')",
             lambda: spectrum.spectral_radius(H, like=G, safety="2"), TypeError,
             r"safety must be a real number"),
        _row("spectral_radius(seed='a')",
             lambda: spectrum.spectral_radius(H, like=G, seed="a"), TypeError,
             r"seed must be an integer"),
        _row("certified_interval(seed=True)",
             lambda: spectrum.certified_interval(H, like=G, seed=True), TypeError,
             r"seed must be an integer"),
        _row("certified_interval(slack=inf)",
             lambda: spectrum.certified_interval(H, like=G, slack=math.inf), ValueError,
             r"slack must be finite"),
        _row("binomial_series(exponent=1e308)",
             lambda: matfun.binomial_series(np.diag([1.0, 2.0, 3.0]), G, 1e308, terms=3,
                                            scale=4.0), matfun.errors.SeriesRangeError,
             r"overflows float64"),
        _row("binomial_coefficients(alpha=1e308)",
             lambda: matfun.binomial_coefficients(1e308, 3), ValueError, r"alpha"),
        _row("random_start(like=NaN)",
             lambda: spectrum.random_start(np.array([np.nan]), 3, 0), ValueError, r"like"),
        _row("random_start(size=True)", lambda: spectrum.random_start(G, True, 0), TypeError,
             r"size must be an integer"),
        _row("random_start(seed=None)", lambda: spectrum.random_start(G, 3, None), TypeError,
             r"seed must be an integer"),
    ]
    return rows


# Rows failing in code owned by other modules (reported; strict: an xfail that starts
# passing fails, so the list shrinks as they are fixed).
KNOWN_FAILURES = {
}


def _rows():
    for row in [*_operator_rows(), *_scalar_rows()]:
        (identifier,) = [row.id]
        reason = KNOWN_FAILURES.get(identifier)
        if reason is not None:
            yield pytest.param(*row.values, id=identifier,
                               marks=pytest.mark.xfail(strict=True, reason=reason))
        else:
            yield row


ROWS = list(_rows())


@pytest.mark.parametrize(("call", "error", "regex"), ROWS)
def test_bad_input_raises_a_clear_error(call, error, regex):
    with pytest.raises(error, match=regex):
        call()


def test_known_failures_are_rows():
    ids = {row.id for row in ROWS}
    assert set(KNOWN_FAILURES) <= ids

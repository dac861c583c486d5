r"""Test problems with exact derivatives, in the array API.

Each constructor returns a :class:`Problem`: a name, the dimension, an
:class:`~matfun.optim.Oracle` (value, gradient, Hessian-vector product, third
directional derivative :math:`D^3 f[v, v, \cdot\,]`, and a Gauss-Newton product where
the problem has one), a default partition of the parameters for
:func:`~matfun.optim.grouped_newton`, and :meth:`Problem.initial` for a reproducible
starting point in any backend and dtype.

* :func:`quadratic_saddle` -- the locally quadratic saddle of the seed paper's
  Figure 1;
* :func:`rosenbrock` -- the extended Rosenbrock valley;
* :func:`six_hump_camel` -- two dimensions, six minima, several saddles;
* :func:`mlp_regression` -- a tanh multilayer perceptron on a synthetic data set
  shaped like UCI Energy, with backpropagation, Pearlmutter's R-operator and Taylor
  jets (:mod:`matfun.optim._mlp`);
* :func:`mlp_regressor`, :func:`mlp_classifier` -- a multilayer perceptron on the
  user's data ``(X, y)`` (mean squared error, softmax cross-entropy), returned as a
  :class:`DataProblem` with minibatches and metrics for :func:`matfun.optim.train`.

The oracles take their backend, dtype and device from the parameters they are
given; constant data are moved there once and cached.
"""

from __future__ import annotations

import math

import numpy as np

from .._backend import namespace
from .._validation import check_integer, check_real
from . import _mlp
from ._base import Oracle
from ._data_problems import DataProblem, mlp_classifier, mlp_regressor
from ._problem import Problem, _Constants

# Test problems larger than this (parameters, samples, layers) exhaust memory before
# they are useful: refused at once.
_MAX_SIZE = 10**7

__all__ = ["DataProblem", "Problem", "mlp_classifier", "mlp_regression", "mlp_regressor",
           "quadratic_saddle", "rosenbrock", "six_hump_camel"]


def _coordinates(size: int) -> tuple[slice, ...]:
    return tuple(slice(i, i + 1) for i in range(size))


# ------------------------------------------------------------------ quadratic saddle


def quadratic_saddle(*, curvatures: tuple[float, float] = (1.0, -0.5),
                     angle: float = math.pi / 6) -> Problem:
    r"""The locally quadratic saddle of the seed paper's Figure 1.

    .. math::

        f(x) = \tfrac12 x^T H x, \qquad H = Q\,\mathrm{diag}(\lambda_1, \lambda_2)\,Q^T,

    ``Q`` the rotation by ``angle`` (principal directions not aligned with the axes).
    With one positive and one negative curvature the origin is a saddle: Newton jumps
    to it in one step, exact saddle-free Newton (:math:`|H|^{-1} g`) moves away from it
    along the negative-curvature direction. The third derivative is zero.

    Parameters
    ----------
    curvatures : pair of float
        :math:`(\lambda_1, \lambda_2)`, non-zero (a saddle needs opposite signs).
    angle : float
        Rotation of the principal directions, in radians.

    Notes
    -----
    ``initial(0)`` is ``(1, 0.5)``; other seeds draw a point uniformly on the circle of
    radius 1.

    Examples
    --------
    >>> problem = quadratic_saddle()
    >>> x = problem.initial()
    >>> float(problem.oracle.value(0 * x))
    0.0
    """
    try:
        if isinstance(curvatures, str):
            raise TypeError
        values = tuple(check_real(c, "curvatures") for c in curvatures)
    except TypeError:
        raise TypeError(f"curvatures must be two real numbers, got {curvatures!r}") from None
    if len(values) != 2 or not all(c != 0 for c in values):
        raise ValueError(f"curvatures must be two non-zero finite numbers, got {curvatures!r}")
    angle = check_real(angle, "angle")
    rotation = np.array([[math.cos(angle), -math.sin(angle)],
                         [math.sin(angle), math.cos(angle)]])
    constants = _Constants(rotation @ np.diag(values) @ rotation.T)

    def value(x):
        (H,) = constants.like(x)
        return 0.5 * (x @ (H @ x))

    def grad(x):
        (H,) = constants.like(x)
        return H @ x

    def hvp(x, v):
        (H,) = constants.like(x)
        return H @ v

    def third(x, v):
        return 0.0 * v  # f is quadratic

    def sampler(seed):
        if seed == 0:
            return np.array([1.0, 0.5])
        phase = np.random.default_rng(seed).uniform(0.0, 2 * math.pi)
        return np.array([math.cos(phase), math.sin(phase)])

    oracle = Oracle(value=value, grad=grad, hvp=hvp, third=third)
    return Problem("quadratic_saddle", 2, oracle, _coordinates(2), sampler)


# ------------------------------------------------------------------------ Rosenbrock


def rosenbrock(dimension: int = 2) -> Problem:
    r"""The extended Rosenbrock function, minimum 0 at :math:`(1, \ldots, 1)`.

    .. math::

        f(x) = \sum_{i=1}^{n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2 .

    With :math:`q_i = x_{i+1} - x_i^2` and :math:`\dot q_i = v_{i+1} - 2 x_i v_i`, the
    third derivative :math:`D^3 f[v, v, \cdot\,]` has entries
    :math:`800 v_i (x_i v_i - \dot q_i)` at ``i`` and :math:`-400 v_i^2` at ``i + 1``
    (summed over the terms), so :math:`D^3 f[v, v, v] = -1200 \sum v_i^2 \dot q_i`.

    Parameters
    ----------
    dimension : int
        ``n >= 2``.

    Notes
    -----
    ``initial(0)`` is the classical start :math:`(-1.2, 1, -1.2, 1, \ldots)`; other
    seeds add :math:`N(0, 0.1^2)` noise to it.

    References
    ----------
    Rosenbrock (1960), *An automatic method for finding the greatest or least value
    of a function*, The Computer Journal 3(3).

    Examples
    --------
    >>> problem = rosenbrock(3)
    >>> x = problem.initial()
    >>> float(problem.oracle.value(x * 0 + 1))
    0.0
    """
    dimension = check_integer(dimension, "dimension", minimum=2, maximum=_MAX_SIZE)

    def value(x):
        head, tail = x[:-1], x[1:]
        return namespace(x).sum(100.0 * (tail - head * head) ** 2 + (1.0 - head) ** 2)

    def grad(x):
        xp = namespace(x)
        head, tail = x[:-1], x[1:]
        q = tail - head * head
        return _pad(xp, -400.0 * head * q - 2.0 * (1.0 - head), 200.0 * q)

    def hvp(x, v):
        xp = namespace(x)
        head, tail, u, w = x[:-1], x[1:], v[:-1], v[1:]
        q, dq = tail - head * head, w - 2.0 * head * u
        return _pad(xp, -400.0 * (u * q + head * dq) + 2.0 * u, 200.0 * dq)

    def third(x, v):
        xp = namespace(x)
        head, u, w = x[:-1], v[:-1], v[1:]
        dq = w - 2.0 * head * u
        return _pad(xp, 800.0 * u * (head * u - dq), -400.0 * u * u)

    def sampler(seed):
        start = np.tile([-1.2, 1.0], dimension)[:dimension]
        if seed == 0:
            return start
        return start + 0.1 * np.random.default_rng(seed).standard_normal(dimension)

    oracle = Oracle(value=value, grad=grad, hvp=hvp, third=third)
    return Problem(f"rosenbrock{dimension}", dimension, oracle, _coordinates(dimension),
                   sampler)


def _pad(xp, at_head, at_tail):
    """``at_head`` placed on entries ``0..n-2`` plus ``at_tail`` on ``1..n-1``."""
    zero = xp.zeros((1,), dtype=at_head.dtype, device=at_head.device)
    return xp.concat([at_head, zero]) + xp.concat([zero, at_tail])


# -------------------------------------------------------------------- six-hump camel


def six_hump_camel() -> Problem:
    r"""The six-hump camel function: six local minima, saddles between them.

    .. math::

        f(x, y) = \big(4 - 2.1 x^2 + \tfrac{x^4}{3}\big) x^2 + x y + (4 y^2 - 4) y^2 .

    Its global minima :math:`f \approx -1.0316` lie at
    :math:`\pm(0.0898, -0.7126)`; its only mixed second derivative is
    :math:`f_{xy} = 1` and its third derivatives are diagonal
    (:math:`f_{xxx} = 40 x^3 - 50.4 x`, :math:`f_{yyy} = 96 y`).

    Notes
    -----
    ``initial(0)`` is ``(-1.5, 0.5)``; other seeds draw uniformly from
    :math:`[-2, 2] \times [-1, 1]`, the usual search box.

    References
    ----------
    Dixon and Szego (1978), *Towards Global Optimisation 2*, North-Holland.

    Examples
    --------
    >>> problem = six_hump_camel()
    >>> import numpy as np
    >>> round(float(problem.oracle.value(np.array([0.0898, -0.7126]))), 4)
    -1.0316
    """

    def value(x):
        a, b = x[0], x[1]
        a2, b2 = a * a, b * b
        return (4.0 - 2.1 * a2 + a2 * a2 / 3.0) * a2 + a * b + (4.0 * b2 - 4.0) * b2

    def grad(x):
        xp = namespace(x)
        a, b = x[0], x[1]
        return xp.stack([8.0 * a - 8.4 * a**3 + 2.0 * a**5 + b, a - 8.0 * b + 16.0 * b**3])

    def hvp(x, v):
        xp = namespace(x)
        a, b = x[0], x[1]
        haa = 8.0 - 25.2 * a * a + 10.0 * a**4
        hbb = -8.0 + 48.0 * b * b
        return xp.stack([haa * v[0] + v[1], v[0] + hbb * v[1]])

    def third(x, v):
        xp = namespace(x)
        a, b = x[0], x[1]
        return xp.stack([(40.0 * a**3 - 50.4 * a) * v[0] ** 2, 96.0 * b * v[1] ** 2])

    def sampler(seed):
        if seed == 0:
            return np.array([-1.5, 0.5])
        rng = np.random.default_rng(seed)
        return np.array([rng.uniform(-2.0, 2.0), rng.uniform(-1.0, 1.0)])

    oracle = Oracle(value=value, grad=grad, hvp=hvp, third=third)
    return Problem("six_hump_camel", 2, oracle, _coordinates(2), sampler)


# ------------------------------------------------------------------------------- MLP


def mlp_regression(*, depth: int = 7, width: int = 12, inputs: int = 8, samples: int = 256,
                   seed: int = 0, activation: str = "tanh") -> Problem:
    r"""Mean squared error of a multilayer perceptron on a synthetic regression set.

    The network maps ``inputs`` features through ``depth`` hidden layers of ``width``
    units (``activation``) to one linear output; with the defaults (7 x 12, 8 inputs)
    it is the seed paper's UCI Energy model, 1057 parameters. The loss is

    .. math::

        f(w) = \frac1N \sum_{n=1}^N (y(x_n; w) - t_n)^2,

    on ``samples`` points from :func:`matfun.optim._mlp.synthetic_regression`
    (``seed``; correlated standardised inputs, a smooth nonlinear teacher with 5%
    noise, standardised targets -- the shape of UCI Energy, 8 inputs and 1 output).

    Derivatives are exact, in the array API, with no autodiff library: the gradient
    by backpropagation, ``hvp`` by Pearlmutter's R-operator, ``third``
    (:math:`D^3 f[v, v, \cdot\,]`) by second-order Taylor jets of backpropagation and
    ``gauss_newton`` (:math:`J^T \tfrac2N J v`) by a forward R pass and one backward
    pass. The flat layout is, per layer, the weight matrix ``(out, in)`` row-major then
    the bias; ``groups`` has one slice per weight matrix and one per bias.

    Parameters
    ----------
    depth, width, inputs, samples : int
        Network and data sizes (``depth >= 0``, the others ``>= 1``; ``samples >= 2``).
    seed : int
        Seed of the data set (``initial(seed)`` seeds the weights separately).
    activation : {"tanh", "softplus"}

    Notes
    -----
    ``initial(seed)`` draws weights from :math:`N(0, 1/\mathrm{fan\_in})` and zero
    biases (LeCun initialisation, suited to tanh).

    References
    ----------
    Pearlmutter (1994), *Fast exact multiplication by the Hessian*, Neural
    Computation 6(1). Tsanas and Xifara (2012), *Accurate quantitative estimation of
    energy performance of residential buildings*, Energy and Buildings 49 (the
    UCI Energy data set whose shape is mimicked).

    Examples
    --------
    >>> problem = mlp_regression(depth=2, width=4, samples=32)
    >>> problem.dimension, len(problem.groups)
    (61, 6)
    >>> w = problem.initial(0)
    >>> bool(problem.oracle.value(w) > 0)
    True
    """
    depth, width, inputs, samples = (
        check_integer(number, name, minimum=low, maximum=_MAX_SIZE)
        for name, number, low in (("depth", depth, 0), ("width", width, 1),
                                  ("inputs", inputs, 1), ("samples", samples, 2)))
    seed = check_integer(seed, "seed")
    if not isinstance(activation, str) or activation not in _mlp.ACTIVATIONS:
        raise ValueError(f"activation must be one of {_mlp.ACTIVATIONS}, got {activation!r}")
    shapes = _mlp.layer_shapes(inputs, width, depth)
    constants = _Constants(*_mlp.synthetic_regression(samples, inputs, seed))

    def value(w):
        return _mlp.loss(namespace(w), w, *constants.like(w), shapes, activation)

    def grad(w):
        return _mlp.gradient(namespace(w), w, *constants.like(w), shapes, activation)

    def hvp(w, v):
        return _mlp.hessian_product(namespace(w), w, v, *constants.like(w), shapes, activation)

    def third(w, v):
        return _mlp.third_vector(namespace(w), w, v, *constants.like(w), shapes, activation)

    def gauss_newton(w, v):
        return _mlp.gauss_newton_product(namespace(w), w, v, *constants.like(w), shapes,
                                         activation)

    def sampler(init_seed):
        rng = np.random.default_rng(init_seed)
        parts = []
        for out, inp in shapes:
            parts.append(rng.standard_normal(out * inp) / math.sqrt(inp))
            parts.append(np.zeros(out))
        return np.concatenate(parts)

    dimension = sum(out * inp + out for out, inp in shapes)
    oracle = Oracle(value=value, grad=grad, hvp=hvp, third=third, gauss_newton=gauss_newton)
    name = f"mlp_{depth}x{width}_{activation}"
    return Problem(name, dimension, oracle, tuple(_mlp.group_slices(shapes)), sampler)

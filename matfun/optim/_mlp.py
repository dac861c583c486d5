r"""Exact derivatives of a multilayer perceptron's loss, in the array API.

The network has ``L`` affine layers; the parameters are one flat vector holding, layer
after layer, the weight matrix ``W_l`` (shape ``(out, in)``, row-major) and then the
bias ``b_l``. With ``a_0 = X`` (the ``N x inputs`` data):

.. math::

    z_l = a_l W_l^T + b_l, \qquad a_{l+1} = \phi(z_l) \ (l < L - 1), \qquad
    y = z_{L-1}, \qquad f = \frac1N \sum_n (y_n - t_n)^2 .

* gradient: backpropagation, :math:`\delta_{L-1} = \tfrac2N (y - t)`,
  :math:`\delta_{l-1} = (\delta_l W_l) \odot \phi'(z_{l-1})`,
  :math:`\partial f/\partial W_l = \delta_l^T a_l`, :math:`\partial f/\partial b_l =
  \sum_n \delta_l`;
* Hessian-vector product: Pearlmutter's R-operator :math:`R\{\cdot\} =
  \tfrac{d}{dt}(\cdot)(w + t v)|_{t=0}`, applied to the forward pass and then to the
  backward pass above (product rule on every line);
* Gauss-Newton product :math:`J^T \tfrac2N J v`: the forward R pass gives
  :math:`Jv = R\{y\}`, then one ordinary backward pass from :math:`\tfrac2N R\{y\}`;
* third directional derivative :math:`D^3 f[u, u, u] = \tfrac{d^3}{dt^3} f(w + t u)`:
  third-order Taylor jets pushed forward through the layers (Faa di Bruno for
  :math:`\phi`), then :math:`\tfrac2N\sum (3 y' y'' + (y - t) y''')`.

Every function takes ``head=`` (default ``"squared_error"``, the formulas above); with
``head="softmax_cross_entropy"`` the output loss is the mean softmax cross-entropy
against one-hot targets and only the output-layer formulas change
(:mod:`matfun.optim._losses` has them).

No autodiff library is used; every line is an ``xp.`` operation, so the same code runs
on every array-API backend.

References
----------
Pearlmutter (1994), *Fast exact multiplication by the Hessian*, Neural Computation
6(1), 147-160.
Griewank and Walther (2008), *Evaluating Derivatives*, 2nd ed., chapter 13 (Taylor
propagation).
"""

from __future__ import annotations

import numpy as np

from ._losses import loss_head

__all__ = [
    "ACTIVATIONS",
    "gauss_newton_product",
    "gradient",
    "hessian_product",
    "layer_shapes",
    "loss",
    "network_shapes",
    "outputs",
    "synthetic_regression",
    "third_vector",
    "line_derivatives",
    "group_slices",
]

ACTIVATIONS = ("tanh", "softplus")


def layer_shapes(inputs: int, width: int, depth: int) -> list[tuple[int, int]]:
    """``(out, in)`` of every affine layer: ``depth`` hidden layers and one output."""
    sizes = [inputs] + [width] * depth + [1]
    return [(sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1)]


def network_shapes(inputs: int, hidden: tuple[int, ...], outputs: int
                   ) -> list[tuple[int, int]]:
    """``(out, in)`` of every affine layer: hidden layers of the given widths, then output."""
    sizes = [inputs, *hidden, outputs]
    return [(sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1)]


def group_slices(shapes: list[tuple[int, int]]) -> list[slice]:
    """One slice per weight matrix and one per bias, in the flat layout."""
    groups, start = [], 0
    for out, inp in shapes:
        groups.append(slice(start, start + out * inp))
        groups.append(slice(start + out * inp, start + out * inp + out))
        start += out * inp + out
    return groups


def _unflatten(xp, flat, shapes):
    layers, start = [], 0
    for out, inp in shapes:
        W = xp.reshape(flat[start:start + out * inp], (out, inp))
        b = flat[start + out * inp:start + out * inp + out]
        layers.append((W, b))
        start += out * inp + out
    return layers


def _flatten(xp, pieces):
    return xp.concat([part for dW, db in pieces for part in (xp.reshape(dW, (-1,)), db)])


def _activation(xp, name, z, order):
    """``[phi(z), phi'(z), ..., phi^(order)(z)]``."""
    if name == "tanh":
        t = xp.tanh(z)
        s = 1.0 - t * t  # tanh' = sech^2
        out = [t, s, -2.0 * t * s, -2.0 * s * (1.0 - 3.0 * t * t)]
    else:  # softplus = log(1 + e^z); its derivative is the logistic sigma
        sigma = 1.0 / (1.0 + xp.exp(-z))  # exp overflow gives sigma = 0, never NaN
        d2 = sigma * (1.0 - sigma)
        out = [xp.logaddexp(xp.zeros_like(z), z), sigma, d2, d2 * (1.0 - 2.0 * sigma)]
    return out[:order + 1]


def _forward(xp, layers, X, activation):
    """Pre-activations ``z_l`` and inputs ``a_l`` of every layer."""
    a, zs, acts = X, [], []
    for index, (W, b) in enumerate(layers):
        acts.append(a)
        z = a @ W.T + b
        zs.append(z)
        if index < len(layers) - 1:
            a = _activation(xp, activation, z, 0)[0]
    return zs, acts


def _backward(xp, layers, zs, acts, delta, activation):
    """``[(df/dW_l, df/db_l)]`` from the output sensitivity ``delta``; also every delta."""
    pieces, deltas = [None] * len(layers), [None] * len(layers)
    for index in range(len(layers) - 1, -1, -1):
        deltas[index] = delta
        pieces[index] = (delta.T @ acts[index], xp.sum(delta, axis=0))
        if index > 0:
            slope = _activation(xp, activation, zs[index - 1], 1)[1]
            delta = (delta @ layers[index][0]) * slope
    return pieces, deltas


def loss(xp, flat, X, T, shapes, activation, head="squared_error"):
    """The loss ``f(w)`` as a 0-d array (mean squared error by default).

    ``head`` names the output loss (:data:`matfun.optim._losses.LOSSES`); the same
    keyword selects it in every function below.
    """
    zs, _ = _forward(xp, _unflatten(xp, flat, shapes), X, activation)
    return loss_head(head).value(xp, zs[-1], T)


def outputs(xp, flat, X, shapes, activation):
    """The network's outputs ``z_{L-1}`` (``N x out``): predictions or logits."""
    zs, _ = _forward(xp, _unflatten(xp, flat, shapes), X, activation)
    return zs[-1]


def gradient(xp, flat, X, T, shapes, activation, head="squared_error"):
    """``grad f(w)`` by backpropagation."""
    layers = _unflatten(xp, flat, shapes)
    zs, acts = _forward(xp, layers, X, activation)
    delta = loss_head(head).delta(xp, zs[-1], T)
    pieces, _ = _backward(xp, layers, zs, acts, delta, activation)
    return _flatten(xp, pieces)


def _forward_r(xp, layers, directions, zs, acts, activation):
    """R-operator on the forward pass: ``R{z_l}`` and ``R{a_l}`` (``R{a_0} = 0``)."""
    r_acts, r_zs, r_a = [], [], None
    for index, ((W, _), (V, c)) in enumerate(zip(layers, directions, strict=True)):
        r_acts.append(r_a)
        r_z = acts[index] @ V.T + c
        if r_a is not None:
            r_z = r_z + r_a @ W.T
        r_zs.append(r_z)
        if index < len(layers) - 1:
            r_a = _activation(xp, activation, zs[index], 1)[1] * r_z
    return r_zs, r_acts


def hessian_product(xp, flat, vector, X, T, shapes, activation, head="squared_error"):
    """``H(w) v`` by Pearlmutter's R-operator (forward R pass, then backward R pass)."""
    layers = _unflatten(xp, flat, shapes)
    directions = _unflatten(xp, vector, shapes)
    output = loss_head(head)
    zs, acts = _forward(xp, layers, X, activation)
    _, deltas = _backward(xp, layers, zs, acts, output.delta(xp, zs[-1], T), activation)
    r_zs, r_acts = _forward_r(xp, layers, directions, zs, acts, activation)
    pieces = [None] * len(layers)
    r_delta = output.curvature(xp, zs[-1], T, r_zs[-1])  # R{df/dz}, e.g. 2 R{y} / N
    for index in range(len(layers) - 1, -1, -1):
        delta = deltas[index]
        r_weight = r_delta.T @ acts[index]
        if r_acts[index] is not None:
            r_weight = r_weight + delta.T @ r_acts[index]
        pieces[index] = (r_weight, xp.sum(r_delta, axis=0))
        if index > 0:
            W, V = layers[index][0], directions[index][0]
            _, slope, curve = _activation(xp, activation, zs[index - 1], 2)
            r_delta = ((r_delta @ W + delta @ V) * slope
                       + (delta @ W) * curve * r_zs[index - 1])
    return _flatten(xp, pieces)


def gauss_newton_product(xp, flat, vector, X, T, shapes, activation, head="squared_error"):
    """``J^T L J v``, ``L`` the loss's Hessian in the outputs (``2/N`` for squared error)."""
    layers = _unflatten(xp, flat, shapes)
    zs, acts = _forward(xp, layers, X, activation)
    r_zs, _ = _forward_r(xp, layers, _unflatten(xp, vector, shapes), zs, acts, activation)
    middle = loss_head(head).curvature(xp, zs[-1], T, r_zs[-1])
    pieces, _ = _backward(xp, layers, zs, acts, middle, activation)
    return _flatten(xp, pieces)


def line_derivatives(xp, flat, direction, X, T, shapes, activation, head="squared_error"):
    r"""``(f', f'', f''')`` of ``t -> f(w + t u)`` at 0, by third-order Taylor jets.

    Each layer carries ``(z, z', z'', z''')`` (derivatives in ``t``); the affine map
    with ``W + t V`` gives ``z^{(k)} = a^{(k)} W^T + k a^{(k-1)} V^T`` (plus ``c`` at
    ``k = 1``), and :math:`\phi` follows Faa di Bruno:
    ``a' = phi' z'``, ``a'' = phi'' z'^2 + phi' z''``,
    ``a''' = phi''' z'^3 + 3 phi'' z' z'' + phi' z'''``.
    """
    layers = _unflatten(xp, flat, shapes)
    directions = _unflatten(xp, direction, shapes)
    a0, a1, a2, a3 = X, None, None, None
    for index, ((W, b), (V, c)) in enumerate(zip(layers, directions, strict=True)):
        z0 = a0 @ W.T + b
        z1 = a0 @ V.T + c
        if a1 is None:  # the data does not move: a', a'', a''' vanish at the input
            z2 = z3 = xp.zeros_like(z0)
        else:
            z1 = z1 + a1 @ W.T
            z2 = a2 @ W.T + 2.0 * (a1 @ V.T)
            z3 = a3 @ W.T + 3.0 * (a2 @ V.T)
        if index == len(layers) - 1:
            break
        p0, p1, p2, p3 = _activation(xp, activation, z0, 3)
        a0 = p0
        a1 = p1 * z1
        a2 = p2 * z1 * z1 + p1 * z2
        a3 = p3 * z1 * z1 * z1 + 3.0 * p2 * z1 * z2 + p1 * z3
    return loss_head(head).line(xp, z0, z1, z2, z3, T)


def _jet(op, a, b):
    """Second-order Taylor jet of ``op(a(t), b(t))`` for a bilinear ``op``.

    Jets are ``(x, x', x'')`` with ``None`` for an identically zero entry.
    """
    def term(*pairs):
        parts = [weight * op(x, y) for weight, x, y in pairs if x is not None and y is not None]
        if not parts:
            return None
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total

    return (op(a[0], b[0]), term((1.0, a[1], b[0]), (1.0, a[0], b[1])),
            term((1.0, a[2], b[0]), (2.0, a[1], b[1]), (1.0, a[0], b[2])))


def _plus(a, b):
    return tuple(x if y is None else y if x is None else x + y for x, y in zip(a, b, strict=True))


def _matmul(x, y):
    return x @ y


def _multiply(x, y):
    return x * y


def _transposed_matmul(x, y):
    return x.T @ y


def _zero_if_none(xp, x, shape, like):
    return xp.zeros(shape, dtype=like.dtype, device=like.device) if x is None else x


def _composed(xp, activation, z, shift):
    """Jets of ``phi^(shift)(z(t))`` for ``shift`` = 0 (the value) or 1 (the slope)."""
    p = _activation(xp, activation, z[0], shift + 2)[shift:]
    first = p[1] * z[1]
    second = p[2] * z[1] * z[1] if z[2] is None else p[2] * z[1] * z[1] + p[1] * z[2]
    return (p[0], first, second)


def third_vector(xp, flat, direction, X, T, shapes, activation, head="squared_error"):
    r"""``D^3 f(w)[u, u, .]`` by second-order Taylor jets of backpropagation.

    :math:`\tfrac{d^2}{dt^2} \nabla f(w + t u)|_{t=0}`: every quantity of the
    gradient computation is carried as ``(x, x', x'')`` (Leibniz rule for products,
    Faa di Bruno for :math:`\phi` and :math:`\phi'`); the second entry of the result
    is :math:`H u` as a by-product, the third the vector wanted.
    """
    layers = _unflatten(xp, flat, shapes)
    directions = _unflatten(xp, direction, shapes)
    a = (X, None, None)
    zs, acts, weights = [], [], []
    for index, ((W, b), (V, c)) in enumerate(zip(layers, directions, strict=True)):
        weight = (W, V, None)
        weights.append(weight)
        acts.append(a)
        z = _plus(_jet(_matmul, a, (W.T, V.T, None)), (b, c, None))
        zs.append(z)
        if index < len(layers) - 1:
            a = _composed(xp, activation, z, 0)
    delta = loss_head(head).delta_jet(xp, zs[-1], T)
    pieces = [None] * len(layers)
    for index in range(len(layers) - 1, -1, -1):
        out, inp = shapes[index]
        weight_part = _jet(_transposed_matmul, delta, acts[index])[2]
        # None only for a network without hidden layer (f is then quadratic in w).
        pieces[index] = (_zero_if_none(xp, weight_part, (out, inp), X),
                         _zero_if_none(xp, delta[2], (X.shape[0], out), X))
        pieces[index] = (pieces[index][0], xp.sum(pieces[index][1], axis=0))
        if index > 0:
            back = _jet(_matmul, delta, weights[index])
            delta = _jet(_multiply, back, _composed(xp, activation, zs[index - 1], 1))
    return _flatten(xp, pieces)


def synthetic_regression(samples: int, inputs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    r"""A deterministic regression data set shaped like UCI Energy (host NumPy arrays).

    Inputs: the rows of ``G M``, standardised column by column, with ``G`` standard
    normal ``(samples, inputs)`` and ``M = I + 0.5 E / sqrt(inputs)``, ``E`` standard
    normal (correlated features, as the building-geometry features of UCI Energy are).
    Target: a smooth nonlinear teacher plus 5% noise,

    .. math::

        t = \sin(x^T p) + \tfrac12 (x^T q)^2 + 0.3\, x_1 x_2 + 0.05\,\epsilon,

    ``p, q`` random with norm 1, then standardised to mean 0 and variance 1. All draws
    come from ``numpy.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    mixing = np.eye(inputs) + 0.5 * rng.standard_normal((inputs, inputs)) / np.sqrt(inputs)
    X = rng.standard_normal((samples, inputs)) @ mixing
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    p, q = rng.standard_normal((2, inputs))
    p, q = p / np.linalg.norm(p), q / np.linalg.norm(q)
    target = np.sin(X @ p) + 0.5 * (X @ q) ** 2 + 0.05 * rng.standard_normal(samples)
    if inputs >= 2:
        target = target + 0.3 * X[:, 0] * X[:, 1]
    target = (target - target.mean()) / target.std()
    return X, target[:, None]

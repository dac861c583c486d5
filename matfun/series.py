r"""The named series: saddle-free inverse square root, Neumann, general binomial.

All three are power series in :math:`Z = I - A/V` run by :mod:`matfun._engine`:

=====================  ============================  =================  ===============
function               result                        ``A``              coefficients
=====================  ============================  =================  ===============
``inv_sqrt_series``    :math:`(H^2)^{-1/2} g`        :math:`H^2`        :math:`c_k(1/2)`
``neumann_series``     :math:`H^{-1} g`              :math:`H`          1
``binomial_series``    :math:`A^{p} g`               :math:`A`          :math:`c_k(-p)`
=====================  ============================  =================  ===============

References
----------
Oldewage, Clarke, Hernandez-Lobato (2024), *Series of Hessian-vector products for
tractable saddle-free Newton optimisation of neural networks*, TMLR, section 3,
eq. (3)-(4) and appendix D.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ._backend import as_vector, namespace, to_float
from ._driver import check_stopping, run_series
from ._engine import PartialSum, SeriesInfo, SeriesSpec, iterate_partial_sums
from ._validation import positive_integer
from .coefficients import abs_damped_coefficients, binomial_coefficients
from .operators import Operator, as_operator, shift, square
from .scaling import resolve_scale

__all__ = [
    "inv_sqrt_series",
    "inv_sqrt_partial_sums",
    "neumann_series",
    "binomial_series",
    "DAMPING_KINDS",
]

DAMPING_KINDS = ("abs", "shift", "square")

_SQUARE_HINT = (
    "Use scale='adaptive' (safe), a Lanczos estimate (scale='lanczos'), or a fixed V above "
    "lambda_max(H)^2 / 2."
)
_SPD_HINT = (
    "The operator must be symmetric positive definite with V > lambda_max / 2; use "
    "scale='adaptive' or scale='lanczos', or check the operator's definiteness."
)


def inv_sqrt_series(
    op: Any,
    g: Any,
    *,
    terms: int | None = None,
    tol: float | None = None,
    max_terms: int = 100_000,
    max_matvecs: int | None = None,
    scale: float | str = "adaptive",
    initial_scale: float = 100.0,
    damping: float = 0.0,
    damping_kind: str = "abs",
    accelerate: Any = None,
    order: int = 1,
    callback: Callable[[PartialSum], None] | None = None,
    full_output: bool = False,
) -> Any:
    r"""The saddle-free Newton direction :math:`|H|^{-1} g = (H^2)^{-1/2} g` by the binomial series.

    .. math::

        (H^2)^{-1/2} g = V^{-1/2} \sum_{k \ge 0} c_k(\tfrac12) (I - H^2/V)^k g, \qquad
        c_k(\tfrac12) = \binom{2k}{k} 4^{-k},

    summed as :math:`a_0 = V^{-1/2} g`,
    :math:`a_k = \frac{2k-1}{2k} (a_{k-1} - H (H a_{k-1}) / V)`: two matvecs per
    term. It converges geometrically iff :math:`V > \lambda_{\max}(H^2)/2`, and then
    every truncation is positive definite; the number of terms grows like
    :math:`\kappa(H)^2`. Divergence (the terms grow) raises
    :class:`~matfun.SeriesDivergenceError`.

    Damping (``damping = lam > 0``), three kinds:

    * ``"abs"`` (default): :math:`(|H| + \lambda I)^{-1} g`, every absolute
      eigenvalue raised by ``lam``: the series of :math:`1/(\sqrt{1 - z} + \delta)`,
      :math:`\delta = \lambda/\sqrt V`, with coefficients from
      :func:`~matfun.abs_damped_coefficients` (what the paper's code ran);
    * ``"shift"``: :math:`((H + \lambda I)^2)^{-1/2} g`, the paper's text (moves
      negative eigenvalues towards zero);
    * ``"square"``: :math:`(H^2 + \lambda I)^{-1/2} g`, eigenvalues
      :math:`\sqrt{l_i^2 + \lambda}` (the paper code's "quasi-damped"); ``V`` then
      bounds :math:`H^2 + \lambda I`.

    Parameters
    ----------
    op
        The symmetric matrix ``H``: anything :func:`~matfun.as_operator` accepts.
    g : array
        Right-hand side, shape ``(n,)``, any array-API backend.
    terms : int, optional
        Sum exactly this many terms (unless ``tol`` is met first).
    tol : float, optional
        Stop when the estimated relative error of the partial sum is below
        ``tol``: the last term over the partial sum times the geometric tail
        factor ``q / (1 - q)``, ``q`` the decay rate of the terms over the last
        10 (or, when accelerating, the accelerator's error estimate over the
        norm of its estimate). Default ``sqrt(eps)`` when ``terms`` is not given.
    max_terms : int
        Upper limit on terms with ``tol``; reaching it warns
        (:class:`~matfun.SeriesConvergenceWarning`).
    max_matvecs : int, optional
        Budget of matvecs for the whole call, scale estimates and adaptive
        restarts included; the sum stops before a term that could exceed it
        (and warns like ``max_terms`` when ``tol`` is not met).
    scale : float or {"adaptive", "paper", "lanczos", "power", "frobenius"}
        The scale ``V`` (see :mod:`matfun.scaling`); ``"adaptive"`` is safe.
    initial_scale : float
        ``V_0`` of the paper's rule ``V = max(V_0, ||H^2 g|| / ||g||)``.
    damping : float
        ``lam >= 0``.
    damping_kind : {"abs", "shift", "square"}
    accelerate : str or accel.Accelerator, optional
        Accelerate the partial sums with this :mod:`accel` method (by name, or an
        accelerator object used as a template); the seed paper's Algorithm 1 uses the
        Sablonniere-modified epsilon algorithm.
    order : int
        Order of the accelerator (``N``: epsilon types use the last ``2N + 1``
        partial sums).
    callback : callable, optional
        Called with each :class:`~matfun.PartialSum`.
    full_output : bool
        Also return a :class:`~matfun.SeriesInfo`.

    Returns
    -------
    x : array
        Same backend, shape and floating dtype as ``g``.
    info : SeriesInfo
        Only with ``full_output=True``.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.diag([2.0, -1.0, 0.5])
    >>> inv_sqrt_series(H, np.ones(3), tol=1e-12)
    array([0.5, 1. , 2. ])
    """
    _check_options(terms, tol, max_terms, order, callback)
    if max_matvecs is not None:
        max_matvecs = positive_integer(max_matvecs, "max_matvecs")
    spec, g, rule, before = _inv_sqrt_setup(op, g, scale, initial_scale, damping,
                                            damping_kind)
    if _is_zero(g):
        return _zero_result(g, rule, full_output)
    x, info = run_series(spec, g, rule, terms=terms, tol=tol, max_terms=max_terms,
                         accelerate=accelerate, order=_check_order(order), callback=callback,
                         matvecs_before=before, max_matvecs=max_matvecs)
    return (x, info) if full_output else x


def inv_sqrt_partial_sums(
    op: Any,
    g: Any,
    *,
    terms: int,
    scale: float | str = "adaptive",
    initial_scale: float = 100.0,
    damping: float = 0.0,
    damping_kind: str = "abs",
) -> Iterator[PartialSum]:
    """Stream the partial sums of :func:`inv_sqrt_series` (at most ``terms`` of them).

    Each item is a :class:`~matfun.PartialSum`; with ``scale="adaptive"`` a restart
    is flagged by ``restarted=True`` (the partial sums before it belong to a series
    with a smaller ``V``). Nothing is stored: feed them to an accelerator or a plot.

    The arguments are checked, and the scale estimated, when this function is
    called; the series itself runs as the iterator is consumed.

    Examples
    --------
    >>> import numpy as np
    >>> sums = inv_sqrt_partial_sums(np.diag([1.0, -1.0]), np.ones(2), terms=3, scale=2.0)
    >>> [(s.index, round(float(s.value[0]), 6)) for s in sums]  # 2^-1/2 (1 + z/2 + 3z^2/8), z = 1/2
    [(0, 0.707107), (1, 0.883883), (2, 0.950175)]
    """
    limit = positive_integer(terms, "terms")
    spec, g, rule, _ = _inv_sqrt_setup(op, g, scale, initial_scale, damping, damping_kind)
    if _is_zero(g):
        raise ValueError("g must be non-zero to stream partial sums")
    return iterate_partial_sums(spec, g, rule, max_terms=limit)


def neumann_series(
    op: Any,
    g: Any,
    *,
    terms: int | None = None,
    tol: float | None = None,
    max_terms: int = 100_000,
    scale: float | str = "adaptive",
    accelerate: Any = None,
    order: int = 1,
    callback: Callable[[PartialSum], None] | None = None,
    full_output: bool = False,
) -> Any:
    r"""The inverse :math:`H^{-1} g` of a symmetric positive definite ``H`` by the Neumann series.

    .. math::

        H^{-1} g = V^{-1} \sum_{k \ge 0} (I - H/V)^k g,

    one matvec per term, converging iff every eigenvalue lies in :math:`(0, 2V)`.
    An indefinite ``H`` makes the terms grow, which raises
    :class:`~matfun.SeriesDivergenceError`. Options as in :func:`inv_sqrt_series`.

    Examples
    --------
    >>> import numpy as np
    >>> neumann_series(np.diag([1.0, 2.0]), np.ones(2), tol=1e-13)
    array([1. , 0.5])
    """
    _check_options(terms, tol, max_terms, order, callback)
    H, g = _operator_and_vector(op, g)
    before = H.matvecs
    spec = SeriesSpec("neumann_series", H, lambda V, n: binomial_coefficients(1.0, n),
                      lambda V: 1.0 / V, _SPD_HINT)
    return _run_spd(spec, H, g, 1.0, scale, terms, tol, max_terms, accelerate, order,
                    callback, full_output, before)


def binomial_series(
    op: Any,
    g: Any,
    exponent: float,
    *,
    terms: int | None = None,
    tol: float | None = None,
    max_terms: int = 100_000,
    scale: float | str = "adaptive",
    accelerate: Any = None,
    order: int = 1,
    callback: Callable[[PartialSum], None] | None = None,
    full_output: bool = False,
) -> Any:
    r"""A real power :math:`A^{p} g` of a symmetric positive definite ``A`` (``p = exponent``).

    .. math::

        A^{p} g = V^{p} (I - Z)^{p} g = V^{p} \sum_{k \ge 0} c_k(-p) Z^k g,
        \qquad Z = I - A/V,

    with :math:`c_k` of :func:`~matfun.binomial_coefficients`. Negative ``p`` gives
    :math:`A^{-\alpha}` (``p = -1/2``: the inverse square root, ``p = -1``: Neumann),
    positive ``p`` the fractional powers, for which a positive semi-definite ``A``
    suffices. Converges for eigenvalues in :math:`(0, 2V)`; one matvec per term.
    Options as in :func:`inv_sqrt_series`.

    Examples
    --------
    >>> import numpy as np
    >>> binomial_series(np.diag([4.0, 9.0]), np.ones(2), -0.5, tol=1e-13)
    array([0.5       , 0.33333333])
    """
    _check_options(terms, tol, max_terms, order, callback)
    if isinstance(exponent, bool | str | bytes):
        raise TypeError(f"exponent must be a real number, got {exponent!r}")
    try:
        exponent = float(exponent)
    except (TypeError, ValueError):
        raise TypeError(f"exponent must be a real number, got {exponent!r}") from None
    if exponent != exponent or exponent in (float("inf"), float("-inf")):
        raise ValueError(f"exponent must be finite, got {exponent}")
    H, g = _operator_and_vector(op, g)
    before = H.matvecs
    spec = SeriesSpec(
        "binomial_series", H,
        lambda V, n: binomial_coefficients(exponent, n, positive=True),
        lambda V: V**exponent, _SPD_HINT,
    )
    return _run_spd(spec, H, g, 1.0, scale, terms, tol, max_terms, accelerate, order,
                    callback, full_output, before)


def _run_spd(spec, H, g, power, scale, terms, tol, max_terms, accelerate, order, callback,
             full_output, before):
    rule = resolve_scale(
        scale, initial_scale=1.0,
        estimate_radius=lambda method: _radius(H, g, method) ** power,
        frobenius_bound=lambda: _frobenius(H) ** power,
    )
    if _is_zero(g):
        return _zero_result(g, rule, full_output)
    x, info = run_series(spec, g, rule, terms=terms, tol=tol, max_terms=max_terms,
                         accelerate=accelerate, order=_check_order(order), callback=callback,
                         matvecs_before=before)
    return (x, info) if full_output else x


def _check_options(terms, tol, max_terms, order, callback) -> None:
    """Validate the options before any matvec is spent (a scale estimate spends some)."""
    check_stopping(terms, tol, max_terms, 1.0)
    _check_order(order)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")


def _inv_sqrt_setup(op, g, scale, initial_scale, damping, damping_kind):
    H, g = _operator_and_vector(op, g)
    lam = _check_damping(damping, damping_kind)
    before = H.matvecs
    base = shift(H, lam) if damping_kind == "shift" and lam else H
    extra = lam if damping_kind == "square" else 0.0
    A = shift(square(base), extra) if extra else square(base)
    coefficients: Callable = lambda V, n: binomial_coefficients(0.5, n)  # noqa: E731
    if damping_kind == "abs" and lam:
        coefficients = lambda V, n: abs_damped_coefficients(lam / V**0.5, n)  # noqa: E731
    spec = SeriesSpec("inv_sqrt_series", A, coefficients, lambda V: V**-0.5, _SQUARE_HINT,
                      positive=True)
    rule = resolve_scale(
        scale, initial_scale=initial_scale,
        estimate_radius=lambda method: _radius(base, g, method) ** 2 + extra,
        frobenius_bound=lambda: _frobenius(H, lam if base is not H else 0.0) ** 2 + extra,
    )
    return spec, g, rule, before


def _operator_and_vector(op: Any, g: Any) -> tuple[Operator, Any]:
    _, g = as_vector(g, "g")
    return as_operator(op, like=g, name="op"), g


def _check_damping(damping: float, kind: str) -> float:
    if kind not in DAMPING_KINDS:
        raise ValueError(f"damping_kind must be one of {DAMPING_KINDS}, got {kind!r}")
    try:
        lam = float(damping)
    except (TypeError, ValueError):
        raise TypeError(f"damping must be a real number, got {damping!r}") from None
    if not (lam >= 0 and lam != float("inf")):
        raise ValueError(f"damping must be a non-negative finite number, got {damping}")
    return lam


def _check_order(order: int) -> int:
    return positive_integer(order, "order")


def _radius(op: Operator, g: Any, method: str) -> float:
    from .spectrum import spectral_radius

    return spectral_radius(op, like=g, method=method).upper


def _frobenius(op: Operator, shift_by: float = 0.0) -> float:
    if op.array is None:
        raise TypeError("scale='frobenius' needs a dense matrix operator; got a matvec-only "
                        "operator (use scale='adaptive' or 'lanczos')")
    xp = namespace(op.array)
    matrix = op.array
    if shift_by:
        matrix = matrix + shift_by * xp.eye(op.size, dtype=matrix.dtype)
    return to_float(xp.linalg.matrix_norm(matrix, ord="fro"))


def _is_zero(g: Any) -> bool:
    xp = namespace(g)
    return not bool(xp.any(g != 0))  # decision: exact zero (a norm could underflow)


def _zero_result(g: Any, rule: Any, full_output: bool) -> Any:
    """``f(A) 0 = 0``: no term, no matvec. ``info.scale`` is 0 when no V was chosen."""
    x = 0.0 * g
    if not full_output:
        return x
    info = SeriesInfo(terms=0, matvecs=0, scale=rule.initial or 0.0, scale_strategy=rule.name,
                      restarts=0, stopped_by="exact", converged=True, diverged=False,
                      relative_change=0.0, error_estimate=0.0)
    return x, info

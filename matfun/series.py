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

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from ._driver import run_series
from ._engine import PartialSum, iterate_partial_sums
from ._series_setup import (
    DAMPING_KINDS,
    check_damping,
    check_options,
    is_zero,
    operator_and_vector,
    setup_inv_sqrt,
    setup_spd,
    zero_result,
)
from ._validation import check_flag, check_real, positive_integer
from .coefficients import binomial_coefficients

__all__ = [
    "inv_sqrt_series",
    "inv_sqrt_partial_sums",
    "neumann_series",
    "binomial_series",
    "DAMPING_KINDS",
]

_SPD_HINT = (
    "The operator must be symmetric positive definite with V > lambda_max / 2; use "
    "scale='adaptive' or scale='lanczos', or check the operator's definiteness."
)


def inv_sqrt_series(
    op: Any,
    g: Any,
    *,
    terms: int | None = None,
    rtol: float | None = None,
    atol: float = 0.0,
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

    Any finite nonzero magnitude of ``H`` and ``g`` works: both are divided by
    powers of two at entry (exact; ``|cH|^{-1} (d g) = (d/|c|) |H|^{-1} g``), the
    series runs on data of size about 1, and the result, ``info.scale`` and the
    callback's partial sums are reported in the caller's units
    (:class:`~matfun.errors.SeriesRangeError` only if the answer itself overflows).

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
        Sum exactly this many terms (unless a tolerance is given and met first).
    rtol, atol : float, optional
        Stop when the estimated error of the returned vector is at most
        ``atol + rtol * ||x||`` (SciPy's convention). Default: ``rtol = sqrt(eps)``
        of ``g``'s dtype and ``atol = 0`` when ``terms`` is not given; no tolerance
        when only ``terms`` is. ``rtol`` below ``10 eps`` is refused (``ValueError``).
        The estimate (``info.error_estimate``, relative) is
        :math:`E_K = \|a_K\| \hat q / (1 - \hat q) + \epsilon \sqrt{K+1} \sum_k \|a_k\|`,
        :math:`\hat q = \gamma_K \hat\rho_K`, with :math:`\hat\rho_K` the largest ratio
        :math:`\|p_k\| / \|p_{k-1}\|` of the coefficient-free terms
        :math:`p_k = (I - A/V)^k g` so far and :math:`\gamma_K \ge 1` bounding the
        coefficients' growth. **Guarantee**: it bounds the error of the partial sum
        once the slowest eigen-component present in ``g`` dominates :math:`p_K` (the
        ratios of a moment sequence increase to the slowest rate). A component
        hidden below faster ones cannot be seen by any matvec-only rule, so the
        series also waits until :math:`\|p_K\| \le \sqrt\epsilon\,\tau\|g\|`
        (:math:`\tau` the tolerance relative to :math:`\|s_K\|`): a component still
        hidden then changes the answer by at most
        :math:`\sqrt\epsilon\,\tau\,\kappa(H)\|x\|` -- within the tolerance for
        :math:`\kappa(H) < 1/\sqrt\epsilon` (float64: 6.7e7), below the
        conditioning floor :math:`\kappa\epsilon` beyond. The price: the returned
        error is often far below ``rtol``. It never fires before 20 terms. With
        ``accelerate`` the accelerated vector counts as converged only when its
        distance to the partial sum plus :math:`E_K` meets the tolerance (triangle
        inequality; the accelerator's own error estimate is never trusted), else the
        partial sum is returned if it meets it. See :mod:`matfun._driver`.
    max_terms : int
        Upper limit on terms with a tolerance; reaching it warns
        (:class:`~matfun.SeriesConvergenceWarning`).
    max_matvecs : int, optional
        Budget of matvecs for the whole call, scale estimates and adaptive
        restarts included; the sum stops before a term that could exceed it
        (and warns like ``max_terms`` when the tolerance is not met).
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
    >>> inv_sqrt_series(H, np.ones(3), rtol=1e-12)
    array([0.5, 1. , 2. ])
    """
    H, g = operator_and_vector(op, g)
    full_output = check_flag(full_output, "full_output")
    stopping, order, max_matvecs = check_options(g, terms, rtol, atol, max_terms, order,
                                                 callback, max_matvecs, scale, initial_scale)
    lam = check_damping(damping, damping_kind)
    if is_zero(g):
        return zero_result(g, scale if isinstance(scale, str) else "fixed", full_output)
    before = H.matvecs
    setup = setup_inv_sqrt(H, g, scale, initial_scale, lam, damping_kind)
    return _run(setup, stopping, accelerate, order, callback, before, max_matvecs,
                full_output)


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
    H, g = operator_and_vector(op, g)
    terms = positive_integer(terms, "terms")
    check_options(g, terms, None, 0.0, 1, 1, None, None, scale, initial_scale)
    lam = check_damping(damping, damping_kind)
    if is_zero(g):
        raise ValueError("g must be non-zero to stream partial sums")
    setup = setup_inv_sqrt(H, g, scale, initial_scale, lam, damping_kind)
    return _in_user_units(setup, iterate_partial_sums(setup.spec, setup.g, setup.rule,
                                                      max_terms=terms))


def neumann_series(
    op: Any,
    g: Any,
    *,
    terms: int | None = None,
    rtol: float | None = None,
    atol: float = 0.0,
    max_terms: int = 100_000,
    max_matvecs: int | None = None,
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
    >>> neumann_series(np.diag([1.0, 2.0]), np.ones(2), rtol=1e-13)
    array([1. , 0.5])
    """
    H, g = operator_and_vector(op, g)
    full_output = check_flag(full_output, "full_output")
    stopping, order, max_matvecs = check_options(g, terms, rtol, atol, max_terms, order,
                                                 callback, max_matvecs, scale, 1.0)
    if is_zero(g):
        return zero_result(g, scale if isinstance(scale, str) else "fixed", full_output)
    before = H.matvecs
    setup = setup_spd(H, g, scale, -1.0, "neumann_series",
                      lambda V, n: binomial_coefficients(1.0, n), lambda V: 1.0 / V, _SPD_HINT)
    return _run(setup, stopping, accelerate, order, callback, before, max_matvecs,
                full_output)


def binomial_series(
    op: Any,
    g: Any,
    exponent: float,
    *,
    terms: int | None = None,
    rtol: float | None = None,
    atol: float = 0.0,
    max_terms: int = 100_000,
    max_matvecs: int | None = None,
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
    >>> binomial_series(np.diag([4.0, 9.0]), np.ones(2), -0.5, rtol=1e-13)
    array([0.5       , 0.33333333])
    """
    H, g = operator_and_vector(op, g)
    full_output = check_flag(full_output, "full_output")
    stopping, order, max_matvecs = check_options(g, terms, rtol, atol, max_terms, order,
                                                 callback, max_matvecs, scale, 1.0)
    if isinstance(exponent, bool | str | bytes):
        raise TypeError(f"exponent must be a real number, got {exponent!r}")
    exponent = check_real(exponent, "exponent")
    if is_zero(g):
        return zero_result(g, scale if isinstance(scale, str) else "fixed", full_output)
    before = H.matvecs
    setup = setup_spd(
        H, g, scale, exponent, "binomial_series",
        lambda V, n: binomial_coefficients(exponent, n, positive=True),
        lambda V: V**exponent, _SPD_HINT,
    )
    return _run(setup, stopping, accelerate, order, callback, before, max_matvecs,
                full_output)


def _run(setup, stopping, accelerate, order, callback, before, max_matvecs, full_output):
    x, info = run_series(setup.spec, setup.g, setup.rule, stopping, accelerate=accelerate,
                         order=order, callback=callback, matvecs_before=before,
                         max_matvecs=max_matvecs, output_unit=setup.output_unit,
                         scale_unit=setup.scale_unit, operator_unit=setup.operator_unit)
    return (x, info) if full_output else x


def _in_user_units(setup, sums: Iterator[PartialSum]) -> Iterator[PartialSum]:
    """The partial sums in the caller's units (the series runs on normalised data)."""
    for step in sums:
        yield dataclasses.replace(step, value=step.value * setup.output_unit,
                                  term_norm=step.term_norm * setup.output_unit,
                                  scale=step.scale * setup.scale_unit)

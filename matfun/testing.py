r"""Test your own implementation against the exact oracles: strategies and an assertion.

Hypothesis strategies for symmetric matrices with a prescribed spectrum (size,
condition number, number of negative eigenvalues, geometric / uniform / clustered
magnitudes) and for right-hand sides, and :func:`assert_matches_oracle`, which
compares any implementation's ``f(H) g`` with the eigendecomposition oracle of
:mod:`matfun.exact` using a tolerance derived from the conditioning:

.. math::

    \frac{\|x - x_\star\|}{\|x_\star\|} \le \mathrm{rtol}
    = \mathrm{safety} \cdot \sqrt{n} \cdot \kappa \cdot \epsilon ,

the forward error of a backward-stable method (Higham 2002, section 7.1), with
:math:`\sqrt n` for the accumulation of rounding errors (probabilistically, Higham &
Mary 2019), :math:`\kappa` the condition number of the matrix being inverted and
:math:`\epsilon` the unit roundoff of ``g`` (``actual`` must be at least as precise, unless
``check_dtype=False``: then that of the less precise of the two).

Hypothesis is a test-time dependency: ``pip install 'matfun-accel[oracle]'`` brings
it (and nothing else).

Beyond the matrix strategies: :func:`problems` draws a matrix and its right-hand side
together (``g`` near an eigenvector, extreme scales, complex Hermitian, float32);
:func:`coefficient_oracle`, :func:`assert_coefficients_match` and
:func:`assert_truncated_series_matches` check a series implementation piece by piece,
to rounding error. Failure messages describe the spectrum (``n``, the range of
:math:`|\lambda|`, :math:`\kappa`, the number of negative eigenvalues), never print
the matrix, and say when the error would pass with ``condition=kappa**2`` -- the
condition number of a method that squares ``H``. The walk-through in the
documentation, *Testing your implementation*, applies all of it to SciPy's
``funm_multiply_krylov``.

Example: a third-party saddle-free direction through SciPy's polar decomposition
(:math:`H = U |H|`), checked on matrices with condition numbers up to 10^4:

>>> import scipy.linalg
>>> from hypothesis import given, settings, strategies as st
>>> from matfun.testing import assert_matches_oracle, symmetric_matrices, vectors
>>> def polar_abs_inv(H, g):
...     _, absolute = scipy.linalg.polar(H)
...     return scipy.linalg.solve(absolute, g, assume_a="pos")
>>> @settings(max_examples=20, deadline=None)
... @given(problem=symmetric_matrices(size=st.integers(2, 8), condition=st.floats(1, 1e4)),
...        data=st.data())
... def test_polar_abs_inv(problem, data):
...     g = data.draw(vectors(problem.matrix.shape[0]))
...     assert_matches_oracle(polar_abs_inv(problem.matrix, g), problem.matrix, g)
>>> test_polar_abs_inv()

An iterative method that stops at a tolerance passes its own ``rtol`` instead
(``assert_matches_oracle(x, H, g, rtol=1e-8)``); a matvec-only operator (a callable,
a SciPy ``LinearOperator``) can be passed as ``op``, densified with ``n`` matvecs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

try:
    import hypothesis  # noqa: F401  (the strategies need it: say so clearly)
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "matfun.testing needs hypothesis: pip install 'matfun-accel[oracle]'"
    ) from err

from ._backend import as_vector, namespace
from ._exact_mp import _to_host
from ._strategies import (
    DISTRIBUTIONS,
    SymmetricProblem,
    matrix_with_spectrum,
    spectra,
    symmetric_matrices,
    vectors,
)
from ._testing_problems import (
    RHS_KINDS,
    HermitianProblem,
    problems,
    safe_norm,
    spectrum_summary,
)
from ._testing_series import (
    SERIES,
    assert_coefficients_match,
    assert_truncated_series_matches,
    coefficient_oracle,
)
from .exact import (
    _check_damping,
    _combine,
    eigendecomposition,
    truncated_binomial_series,
    truncated_inv_sqrt_series,
    truncated_neumann_series,
)

__all__ = [
    "DISTRIBUTIONS",
    "RHS_KINDS",
    "SERIES",
    "HermitianProblem",
    "SymmetricProblem",
    "spectra",
    "symmetric_matrices",
    "vectors",
    "matrix_with_spectrum",
    "problems",
    "spectrum_summary",
    "assert_matches_oracle",
    "coefficient_oracle",
    "assert_coefficients_match",
    "truncated_inv_sqrt_series",
    "truncated_neumann_series",
    "truncated_binomial_series",
    "assert_truncated_series_matches",
]

_FUNCTIONS = ("abs_inv", "inv", "inv_sqrt_square")


def assert_matches_oracle(
    actual: Any,
    op: Any,
    g: Any,
    function: str | Callable[[Any], Any] = "abs_inv",
    *,
    rtol: float | None = None,
    atol: float = 0.0,
    safety: float = 10.0,
    condition: float | None = None,
    damping: float = 0.0,
    damping_kind: str = "abs",
    check_namespace: bool = True,
    check_dtype: bool = True,
    err_msg: str = "",
) -> float:
    r"""Assert that ``actual`` is ``f(H) g`` to a tolerance derived from the conditioning.

    Passes when :math:`\|x - x_\star\| \le \mathrm{atol} + \mathrm{rtol}\,\|x_\star\|`
    with :math:`x_\star` from :mod:`matfun.exact` (float64 eigendecomposition) and,
    unless given, :math:`\mathrm{rtol} = \mathrm{safety}\,\sqrt n\,\kappa\,\epsilon`
    (see the module docstring).

    Parameters
    ----------
    actual : array
        The implementation's result, shape ``(n,)``.
    op
        The symmetric matrix ``H`` (anything :func:`~matfun.as_operator` accepts).
    g : array
        The right-hand side the implementation was given.
    function : {"abs_inv", "inv", "inv_sqrt_square"} or callable
        The oracle: :math:`|H|^{-1}`, :math:`H^{-1}`, the damped
        :func:`~matfun.exact.inv_sqrt_square`, or ``f`` mapping the eigenvalue array
        to its values (as in :func:`~matfun.exact.apply_function`).
    rtol : float, optional
        Overrides the derived tolerance (for iterative methods stopped at a tolerance).
    atol : float
        Absolute allowance on :math:`\|x - x_\star\|` (needed only when
        :math:`x_\star = 0`).
    safety : float
        The constant of the derived tolerance.
    condition : float, optional
        :math:`\kappa`. Default: for the named functions, the condition number of the
        matrix being inverted, :math:`\max f(\lambda) / \min f(\lambda)`; for a
        callable, that of ``H``, :math:`\max|\lambda| / \min|\lambda|` (right for
        inverse-type functions; pass it, or ``rtol``, for others).
    damping, damping_kind
        For ``"inv_sqrt_square"``.
    check_namespace : bool
        Also require ``actual`` to come from the same array library as ``g``.
    check_dtype : bool
        Also require ``actual`` to be at least as precise as ``g`` (float64 data give
        a float64 or complex128 answer): an implementation that silently computes in
        float32 fails here instead of being judged at float32's roundoff. ``False``
        judges a less precise ``actual`` at its own ``eps``.
    err_msg : str
        Appended to the failure message.

    Returns
    -------
    float
        The relative error (for reporting).

    Raises
    ------
    AssertionError
        The error exceeds the tolerance, or ``actual`` has the wrong shape, library,
        or contains NaN/inf.
    ValueError
        Bad arguments, or a derived tolerance of 1 or more (the problem is too
        ill-conditioned for the dtype to say anything: pass ``rtol``).

    Examples
    --------
    >>> import numpy as np
    >>> H = np.diag([2.0, -4.0])
    >>> assert_matches_oracle(np.array([0.5, 0.25]), H, np.ones(2)) < 1e-15
    True
    """
    xp, g = as_vector(g, "g")
    eigenvalues, eigenvectors = eigendecomposition(op, like=g)
    values, kappa, name = _oracle_values(xp, eigenvalues, function, damping, damping_kind)
    if condition is not None:
        kappa = float(condition)
    expected = _to_host(_combine(xp, eigenvectors, values, xp.astype(g, eigenvectors.dtype)),
                        "expected")
    if check_namespace:
        try:
            namespace(actual, g)
        except TypeError:
            raise AssertionError(f"actual is a {type(actual).__module__}.{type(actual).__name__}"
                                 f" but g is a {type(g).__module__}.{type(g).__name__}") from None
    result = _to_host(actual, "actual")
    n = expected.shape[0]
    if result.shape != (n,):
        raise AssertionError(f"actual has shape {result.shape}, expected ({n},)")
    if not np.all(np.isfinite(result)):
        raise AssertionError(f"actual contains NaN or inf {err_msg}")
    g_dtype = _to_host(g, "g").dtype
    if check_dtype and _eps(result.dtype) > _eps(g_dtype):
        raise AssertionError(f"actual is {result.dtype} but g is {g_dtype}: the answer lost "
                             "precision (check_dtype=False judges it at its own eps)")
    eps = max(_eps(result.dtype), _eps(g_dtype))
    derived = rtol is None
    if derived:
        rtol = safety * math.sqrt(n) * kappa * eps
        if not rtol < 1:
            raise ValueError(
                f"the derived tolerance safety * sqrt(n) * kappa * eps = {rtol:.3g} is not "
                f"below 1 (kappa = {kappa:.3g}, eps = {eps:.3g}): the problem is too "
                "ill-conditioned for this precision; pass rtol explicitly"
            )
    wide = np.promote_types(result.dtype, expected.dtype)
    error = safe_norm(result.astype(wide) - expected.astype(wide))
    size = safe_norm(expected)
    relative = error / size if size > 0 else (0.0 if error == 0 else math.inf)
    if error > atol + rtol * size:
        how = (f"rtol = safety * sqrt(n) * kappa * eps with safety = {safety:g}"
               if derived else "rtol given")
        raise AssertionError(
            f"{name}: relative error {relative:.3g} > rtol {rtol:.3g} (kappa = {kappa:.3g}, "
            f"eps = {eps:.3g}; {how}; atol = {atol:g}); spectrum: "
            f"{spectrum_summary(_to_host(eigenvalues, 'eigenvalues'), dtype=result.dtype)}"
            f"{_squared_hint(relative, safety * math.sqrt(n) * eps, kappa, derived)} "
            f"{err_msg}".rstrip()
        )
    return relative


def _squared_hint(relative, unit, kappa, derived):
    r"""The hint for an error that a method working on ``H^2`` would make, or ''.

    A method that squares ``H`` (a series or a Krylov method in ``H^2``, a normal
    equation) solves a problem of condition :math:`\kappa^2`: its forward error is
    of order :math:`\kappa^2 \epsilon`. An error above the :math:`\kappa` bound but
    within the :math:`\kappa^2` one is that pattern.
    """
    if derived and kappa > 1 and relative <= unit * kappa * kappa:
        return (f". The error is within the bound for kappa**2 = {kappa * kappa:.3g} "
                f"({unit * kappa * kappa:.3g}): a method that squares H (a series or a Krylov "
                "space in H^2) has that condition number -- if yours does, pass "
                "condition=kappa**2")
    return ""


def _oracle_values(xp, eigenvalues, function, damping, damping_kind):
    """Values of the oracle's function on the eigenvalues, the condition number, a name."""
    lam = _check_damping(damping, damping_kind)
    if lam and function != "inv_sqrt_square":
        raise ValueError(f"damping applies to function='inv_sqrt_square' only, not {function!r}")
    if callable(function):
        values = function(eigenvalues)
        if tuple(values.shape) != tuple(eigenvalues.shape) or not bool(
                xp.all(xp.isfinite(values))):
            raise ValueError("function must return one finite value per eigenvalue")
        magnitudes = xp.abs(eigenvalues)
        return values, _ratio(xp, magnitudes), getattr(function, "__name__", "f")
    if function not in _FUNCTIONS:
        raise ValueError(f"function must be one of {_FUNCTIONS} or a callable, got {function!r}")
    if function == "inv":
        denominators = eigenvalues
    elif function == "abs_inv" or damping_kind == "abs":
        denominators = xp.abs(eigenvalues) + lam
    elif damping_kind == "shift":
        denominators = xp.abs(eigenvalues + lam)
    else:
        denominators = xp.sqrt(eigenvalues * eigenvalues + lam)
    magnitudes = xp.abs(denominators)
    if float(xp.min(magnitudes)) == 0.0:  # a decision: the oracle does not exist
        raise ValueError(f"op is singular: the oracle {function} does not exist")
    return 1.0 / denominators, _ratio(xp, magnitudes), function


def _ratio(xp, magnitudes):
    smallest = float(xp.min(magnitudes))
    return math.inf if smallest == 0 else float(xp.max(magnitudes)) / smallest


def _eps(dtype):
    return float(np.finfo(dtype).eps) if dtype.kind in "fc" else float(np.finfo(np.float64).eps)

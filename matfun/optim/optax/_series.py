r"""The saddle-free series and the epsilon accelerators in ``jax.numpy``, traceable.

The same computation as :func:`matfun.inv_sqrt_series` with a fixed number of terms
``K`` (the engine of :mod:`matfun._engine`, the entry rescaling of
:mod:`matfun._series_setup`) and as :func:`accel.sablonniere` / :func:`accel.shanks`
of the newest ``2N + 1`` partial sums (Samelson inverse, the breakdown rule of
:mod:`accel.epsilon`: an entry whose difference is within 16 ulps of its entries is
undefined, and the estimate falls back to the highest defined order):

.. math::

    a_0 = V^{-1/2} g, \quad p_k = (I - A/V) p_{k-1}, \quad s_k = s_{k-1} + V^{-1/2} c_k p_k,
    \qquad A = H^2 \ (\text{or its damped forms}).

Every host decision of the NumPy form is a ``jnp.where`` or a ``lax.while_loop``
condition here; the divergence that the NumPy form raises is returned as a status.
The coefficients of the ``abs`` damping (:func:`matfun.abs_damped_coefficients`,
which depend on the traced ``V``) come from the host through one
:func:`jax.pure_callback` per series (``K`` numbers).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ...coefficients import abs_damped_coefficients, binomial_coefficients
from ._common import DEGENERATE, DIVERGED, NONFINITE, OK, RANGE, norm, power_of_two

__all__ = ["SeriesResult", "epsilon_estimate", "saddle_free_series", "scale_by_power_of_two"]

_MAX_RESTARTS = 60  # as matfun._engine
_NEAR_ZERO_ULPS = 16.0  # as accel.inverses


class SeriesResult(NamedTuple):
    direction: Any  # (H^2)^{-1/2} g (damped), in the caller's units; 0 on failure
    scale: Any  # V in the caller's units (0: none chosen, zero gradient)
    matvecs: Any  # Hessian-vector products spent
    terms: Any  # partial sums of the returned series
    restarts: Any
    status: Any


def _weights(method: str | None, order: int) -> list[float]:
    if method == "shanks":
        return [1.0] * (2 * order + 1)
    return [float(column // 2 + 1) for column in range(2 * order + 1)]


def epsilon_estimate(terms: Any, *, weights: list[float]) -> Any:
    """The (weighted) epsilon algorithm's estimate from the ``2N + 1`` rows of ``terms``.

    As :func:`accel.sablonniere` (weights ``floor(c/2) + 1``) or :func:`accel.shanks`
    (weights 1): centred on the newest term and divided by a power of two, the table
    built column by column, the estimate the highest even column defined on the newest
    anti-diagonal, mapped back; the newest term if that is not finite.
    """
    dtype = terms.dtype
    finfo = jnp.finfo(dtype)
    columns = terms.shape[0] - 1
    center = terms[-1]
    centred = terms - center
    size = jnp.max(jnp.abs(centred))
    constant = size == 0
    _, exponent = jnp.frexp(jnp.where(constant, jnp.ones_like(size), size))
    current = scale_by_power_of_two(centred, -exponent)
    current_valid = jnp.ones(terms.shape[0], dtype=bool)
    before = before_valid = None
    entries, entries_valid = [current[-1]], [jnp.asarray(True)]
    tolerance = _NEAR_ZERO_ULPS * float(finfo.eps)
    for column in range(1, columns + 1):
        weight = weights[column]
        upper, lower = current[1:], current[:-1]
        difference = upper - lower
        size_d = jnp.sqrt(jnp.sum(difference * difference, axis=-1))
        scale = jnp.maximum(jnp.sqrt(jnp.sum(upper * upper, axis=-1)),
                            jnp.sqrt(jnp.sum(lower * lower, axis=-1)))
        small = size_d <= tolerance * scale
        safe = jnp.where(small, jnp.ones_like(size_d), size_d)
        representable = safe >= 2.0 * np.sqrt(weight / float(finfo.max))
        divisor = jnp.where(representable, safe, jnp.ones_like(safe))
        factor = (weight / divisor) / divisor
        fine = representable & (factor >= float(finfo.smallest_normal))
        slow = (difference / safe[:, None]) / safe[:, None] * weight
        value = jnp.where(fine[:, None], difference * factor[:, None], slow)
        inputs = current_valid[1:] & current_valid[:-1]
        if before is not None:
            value = value + before[1:-1]
            inputs = inputs & before_valid[1:-1]
        valid = inputs & ~small & jnp.all(jnp.isfinite(value), axis=-1)
        value = jnp.where(valid[:, None], value, jnp.zeros_like(value))
        entries.append(value[-1])
        entries_valid.append(valid[-1])
        before, before_valid, current, current_valid = current, current_valid, value, valid
    estimate = entries[0]
    for level in range(1, columns // 2 + 1):
        estimate = jnp.where(entries_valid[2 * level], entries[2 * level], estimate)
    mapped = center + scale_by_power_of_two(estimate, exponent)
    mapped = jnp.where(jnp.all(jnp.isfinite(mapped)), mapped, center)
    return jnp.where(constant, center, mapped)


def scale_by_power_of_two(x: Any, exponent: Any) -> Any:
    """``x * 2**exponent`` (traced ``exponent``) as two multiplications by powers of two.

    As :func:`accel._honest.scale_by_power_of_two`: exact (each factor is
    representable, so no factor overflows the dtype), with the roundings of the NumPy
    form where the result is subnormal; two multiplications cost a fraction of
    ``jnp.ldexp`` on a vector.
    """
    one = jnp.ones((), x.dtype)
    first = exponent // 2
    return (x * jnp.ldexp(one, first)) * jnp.ldexp(one, exponent - first)


class _Carry(NamedTuple):
    k: Any
    p: Any
    p_norm: Any
    partial: Any
    window: Any
    scale: Any
    coefficients: Any
    restarts: Any
    matvecs: Any
    status: Any
    stop: Any
    exact: Any


def saddle_free_series(hvp: Any, g: Any, *, initial_scale: Any, damping: Any, terms: int,
                       order: int, accelerate: str | None, adaptive: bool,
                       damping_kind: str, damped: bool) -> SeriesResult:
    """``K`` terms of the (damped) saddle-free series of ``hvp`` applied to ``g``.

    ``initial_scale`` is ``V_0`` of the paper's rule (caller's units, traced);
    ``damped`` says whether ``damping`` can be non-zero (a static fact: the ``abs``
    coefficients then come from the host).
    """
    dtype = g.dtype
    zero_gradient = ~jnp.any(g != 0)

    def zero(_):
        return SeriesResult(jnp.zeros_like(g), jnp.zeros((), dtype), jnp.asarray(0),
                            jnp.asarray(0), jnp.asarray(0), jnp.asarray(OK))

    def run(_):
        return _series(hvp, g, jnp.asarray(initial_scale, dtype), jnp.asarray(damping, dtype),
                       terms, order, accelerate, adaptive, damping_kind, damped)

    return jax.lax.cond(zero_gradient, zero, run, None)


def _series(hvp, g, initial_scale, lam, terms, order, accelerate, adaptive, kind, damped):
    dtype = g.dtype
    finfo = jnp.finfo(dtype)
    one = jnp.ones((), dtype)
    # Entry rescaling by powers of two (matfun._units): g / d, H / c.
    d = power_of_two(jnp.max(jnp.abs(g)))
    _, d_exp = jnp.frexp(d)
    g_n = g / d
    probe = hvp(g_n)
    largest = jnp.max(jnp.abs(probe))
    inner = power_of_two(jnp.where(largest == 0, one, largest))
    ratio = norm(probe / inner) / norm(g_n)
    exponent = jnp.frexp(ratio)[1] + jnp.frexp(inner)[1] - 1
    low, high = int(finfo.minexp) - int(finfo.nmant), int(finfo.maxexp) - 1
    c = jnp.where(largest == 0, one, jnp.ldexp(one, jnp.clip(exponent, low, high)))
    if damped:
        size = jnp.sqrt(lam) if kind == "square" else lam
        c = jnp.where(lam > 0, jnp.maximum(c, power_of_two(jnp.where(lam > 0, size, one))), c)
    e_c = jnp.frexp(c)[1] - 1
    lam_n = jnp.ldexp(lam, -2 * e_c) if kind == "square" else lam / c
    extra = lam_n if kind == "square" else jnp.zeros((), dtype)

    def base(v, product=None):
        product = (hvp(v) if product is None else product) / c
        return product + lam_n * v if kind == "shift" else product

    def square(v, first=None):
        result = base(base(v, first))
        return result + extra * v if kind == "square" else result

    def coefficients(scale):
        if kind == "abs" and damped:
            delta = lam_n / jnp.sqrt(scale)
            return jax.pure_callback(
                lambda value: abs_damped_coefficients(float(value), terms).astype(dtype),
                jax.ShapeDtypeStruct((terms,), dtype), delta, vmap_method="sequential")
        return jnp.asarray(binomial_coefficients(0.5, terms), dtype)

    initial = jnp.ldexp(initial_scale, -2 * e_c)
    g_product = square(g_n, probe)  # A g: two products, the probe's reused
    g_norm = norm(g_n)
    quotient = norm(g_product) / g_norm
    scale = quotient if adaptive else jnp.maximum(initial, quotient)
    status = jnp.where(jnp.isfinite(initial) & (initial > 0) | adaptive, OK, RANGE)
    status = jnp.where(jnp.all(jnp.isfinite(g_product)) & jnp.isfinite(quotient), status,
                       NONFINITE)
    if adaptive:
        status = jnp.where((status == OK) & ~(scale > 0), DEGENERATE, status)
    coefficients0 = coefficients(jnp.where(scale > 0, scale, one))
    prefactor = jax.lax.rsqrt(jnp.where(scale > 0, scale, one))
    width = 2 * order + 1 if accelerate is not None else 1
    partial = (prefactor * coefficients0[0]) * g_n
    window = jnp.zeros((width,) + g.shape, dtype).at[0].set(partial)
    growth = 1.0 + 100 * float(finfo.eps)
    carry = _Carry(jnp.asarray(0), g_n, g_norm, partial, window, scale, coefficients0,
                   jnp.asarray(0), jnp.asarray(2), status, status != OK, jnp.asarray(False))

    def cond(carry):
        return ~carry.stop & (carry.k + 1 < terms)

    def body(carry, first=False):
        if first:  # the first term's A g: the product that chose V
            cached, product, matvecs = jnp.asarray(True), g_product, carry.matvecs
        elif adaptive:
            cached = carry.k == 0  # A g, reused after every restart
            product = jax.lax.cond(cached, lambda p: g_product, lambda p: square(p), carry.p)
            matvecs = carry.matvecs + jnp.where(cached, 0, 2)
        else:  # no restarts: k = 0 only at the first term, taken before the loop
            cached, product, matvecs = jnp.asarray(False), square(carry.p), carry.matvecs + 2
        finite = jnp.all(jnp.isfinite(product))
        p_next = carry.p - product / carry.scale
        p_next_norm = norm(p_next)
        grew = p_next_norm > growth * carry.p_norm
        if adaptive:
            # The library's rule: restart with the term's Rayleigh-type bound when it
            # exceeds V (checked before the growth, as in matfun._engine), else with 2V
            # when the terms grew.
            rayleigh = norm(product) / carry.p_norm
            raised = ~cached & (rayleigh > carry.scale)
            restart = raised | grew
            failed = restart & (carry.restarts >= _MAX_RESTARTS)
            candidate = jnp.where(raised, rayleigh, 2.0 * carry.scale)
        else:  # the paper's rule: V is fixed for the solve; growth is divergence
            restart = jnp.asarray(False)
            failed = grew
            candidate = carry.scale
        status = jnp.where(~finite, NONFINITE, jnp.where(failed, DIVERGED, OK))
        k_next = carry.k + 1
        if not adaptive:  # V and the coefficients are fixed: no restart to select
            prefactor = jax.lax.rsqrt(carry.scale)
            new_scale, new_coefficients = carry.scale, carry.coefficients
            k, p, p_norm = k_next, p_next, p_next_norm
            partial = carry.partial + (prefactor * new_coefficients[
                jnp.minimum(k_next, terms - 1)]) * p_next
            go_on = jnp.asarray(True)
        else:
            new_scale = jnp.where(restart & (status == OK), candidate, carry.scale)
            new_coefficients = jax.lax.cond(restart & (status == OK), coefficients,
                                            lambda s: carry.coefficients, new_scale)
            prefactor = jax.lax.rsqrt(new_scale)
            continued = carry.partial + (prefactor * new_coefficients[
                jnp.minimum(k_next, terms - 1)]) * p_next
            restarted = (prefactor * new_coefficients[0]) * g_n
            go_on = ~restart
            k = jnp.where(go_on, k_next, 0)
            p = jnp.where(go_on, p_next, g_n)
            p_norm = jnp.where(go_on, p_next_norm, g_norm)
            partial = jnp.where(go_on, continued, restarted)
        window = carry.window.at[k % width].set(partial)
        # An exactly zero term ends the sum (matfun._engine); before the last term the
        # partial sum is then exact and is not accelerated (matfun._driver).
        exact = go_on & (p_next_norm == 0) & (k_next + 1 < terms)
        return _Carry(k, p, p_norm, partial, window, new_scale, new_coefficients,
                      carry.restarts + jnp.where(restart, 1, 0), matvecs, status,
                      (status != OK) | exact, exact)

    # The first term outside the loop (a conditional in every iteration costs more
    # than the arithmetic on a small model); with restarts it stays inside.
    if not adaptive:
        carry = jax.lax.cond(cond(carry), lambda c: body(c, first=True), lambda c: c, carry)
    carry = jax.lax.while_loop(cond, body, carry)
    estimate = carry.partial
    if accelerate is not None:
        ordered = jnp.roll(carry.window, -((carry.k + 1) % width), axis=0)
        accelerated = epsilon_estimate(ordered, weights=_weights(accelerate, order))
        estimate = jnp.where(carry.exact, carry.partial, accelerated)
    direction = scale_by_power_of_two(estimate, d_exp - 1 - e_c)
    largest = jnp.max(jnp.abs(direction))
    in_range = jnp.isfinite(largest) & ~((largest < finfo.smallest_normal)
                                         & jnp.any(estimate != 0))
    status = jnp.where((carry.status == OK) & ~in_range, RANGE, carry.status)
    direction = jnp.where(status == OK, direction, jnp.zeros_like(direction))
    scale_user = jnp.ldexp(carry.scale, 2 * e_c)
    return SeriesResult(direction, scale_user, carry.matvecs, carry.k + 1, carry.restarts,
                        status)

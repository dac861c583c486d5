"""The series multiply by ``fl(-1/V)`` where the answer cannot notice, and divide elsewhere.

``p - fl(A p * r)`` is exactly the recurrence on ``V' = 1/|r|``, ``|V'/V - 1| <= u``,
so the sums are those of ``f(A V/V') g``: within ``s u ||x||`` of the answer, ``s`` the
function's sensitivity ``|d ln f / d ln lambda|`` (1/2 for ``A^(-1/2)``, 1 for
``A^(-1)``), below the tail estimate's rounding floor ``eps ||s_K||``. Functions with
``s > 1`` (``binomial_series`` with ``|p| > 1``) divide. Oracles: closed forms on a
diagonal operator, and the division itself (``sensitivity`` forced to infinity).
"""

import dataclasses
import math

import numpy as np
import pytest

import matfun
from matfun import _driver

EPS = float(np.finfo(np.float64).eps)


def diagonal(n, lo, hi, seed, signed=True):
    rng = np.random.default_rng(seed)
    lam = np.geomspace(lo, hi, n) * (rng.choice([-1.0, 1.0], n) if signed else 1.0)
    return lam, rng.standard_normal(n)


def run(call, divide):
    """``call()`` with the engine's spec seen by a spy (and its division forced)."""
    seen = []
    original = _driver.iterate_partial_sums

    def spy(spec, *args, **kwargs):
        seen.append(spec.sensitivity)
        if divide:
            spec = dataclasses.replace(spec, sensitivity=math.inf)
        return original(spec, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_driver, "iterate_partial_sums", spy)
        result = call()
    return result, seen


CASES = {
    # name: (call on (lam, g), closed form, sensitivity)
    "inv_sqrt": (lambda lam, g: matfun.inv_sqrt_series(lambda v: lam * v, g, rtol=1e-12,
                                                        full_output=True),
                 lambda lam, g: g / np.abs(lam), 0.5),
    "neumann": (lambda lam, g: matfun.neumann_series(lambda v: lam * v, g, rtol=1e-12,
                                                     full_output=True),
                lambda lam, g: g / lam, 1.0),
    "binomial 1/3": (lambda lam, g: matfun.binomial_series(lambda v: lam * v, g, 1 / 3,
                                                           rtol=1e-12, full_output=True),
                     lambda lam, g: g * np.cbrt(lam), 1 / 3),
    "binomial 2.5": (lambda lam, g: matfun.binomial_series(lambda v: lam * v, g, 2.5,
                                                           terms=60, scale=4.0,
                                                           full_output=True),
                     None, 2.5),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("n", [50, 5000])
def test_multiplied_where_tame_and_within_the_estimate(name, n):
    call, closed, sensitivity = CASES[name]
    lam, g = diagonal(n, 0.2, 2.0, seed=n, signed=name == "inv_sqrt")
    (x, info), seen = run(lambda: call(lam, g), divide=False)
    (y, other), _ = run(lambda: call(lam, g), divide=True)
    assert set(seen) == {sensitivity}
    if sensitivity > 1:  # divided either way: the same floats
        assert np.array_equal(x, y) and info == other
        return
    assert info.converged and other.converged
    exact = closed(lam, g)
    scale = np.linalg.norm(exact)
    # each result within its own estimate of the closed form (eps for the final scaling)
    assert np.linalg.norm(x - exact) <= (info.error_estimate + 4 * EPS) * scale
    assert np.linalg.norm(y - exact) <= (other.error_estimate + 4 * EPS) * scale
    # and the two recurrences within the estimates of one another
    assert np.linalg.norm(x - y) <= (info.error_estimate + other.error_estimate) * scale


def test_the_floats_move_by_rounding_only():
    # Fixed terms and scale: the multiplied sum differs from the divided one by the
    # change V -> V' (relative u in each z^k, k u over K terms) and reordered roundings:
    # a few K eps relative, never more.
    lam, g = diagonal(200, 0.5, 2.0, seed=4)
    terms = 80

    def call():
        return matfun.inv_sqrt_series(lambda v: lam * v, g, terms=terms, scale=5.0,
                                      full_output=True)

    (x, _), _ = run(call, divide=False)
    (y, _), _ = run(call, divide=True)
    assert not np.array_equal(x, y)  # the path is really another one
    assert np.linalg.norm(x - y) <= 4 * terms * EPS * np.linalg.norm(y)

"""Regression tests for what ``benchmarks/fuzz_accel.py`` found: CONVERGED without a limit.

Oracles: closed forms (the sequences below are built from their limits), and the
definition of a limit -- a sequence that drifts or oscillates forever has none, so
CONVERGED there is wrong whatever the estimate.
"""

import warnings

import numpy as np
import pytest

import accel
from accel import Status

METHODS = accel.methods()


def _statuses(method, terms, order):
    acc = accel.accelerator(method, order=order)
    out = []
    for term in terms:
        acc.push(term)
        out.append(acc.result())
    return out


@pytest.mark.parametrize("method", METHODS)
def test_three_equal_first_terms_are_not_convergence(method):
    # s_n = L + 0.5^floor(n/3): each term repeated three times. The first three terms
    # agree, the limit L = 1 is 1.0 away. Before: CONVERGED on 2.0 by every method.
    terms = 1.0 + 0.5 ** (np.arange(24) // 3)
    batch = getattr(accel, method)(terms[:3], full_output=True)
    assert batch.status is not Status.CONVERGED
    for result in _statuses(method, terms, 1):
        if result.status is Status.CONVERGED:
            assert abs(float(result.estimate) - 1.0) <= 10 * max(result.error, 16e-16)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "levin"])
def test_equal_terms_converge_once_the_four_runs_exist(method):
    # The constant sequence is still CONVERGED, with the terms the general rule needs:
    # those the transform reads and three more (the prefix runs). (Levin is not
    # translative: its remainder a_0 = s_0 makes a constant sequence a transform.)
    acc = accel.accelerator(method, order=1)
    for _ in range(acc.window if hasattr(acc, "window") else 6):
        acc.push(np.asarray(0.75))
    result = acc.result()
    assert result.status is Status.CONVERGED and float(result.estimate) == 0.75


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("kind", ["oscillating", "drift"])
def test_no_convergence_without_a_limit(method, order, kind):
    # s_n = 0.3 + 0.8 * 0.2^n + c(-1)^n (bounded oscillation) or + delta n (linear
    # drift): no limit. Once 0.2^n has died out the steps are equal up to rounding;
    # "the last step no larger than every earlier one" then held by chance, and
    # Shanks/Pade/theta/... summed the oscillation to 0.3 as CONVERGED.
    n = np.arange(60)
    extra = 1e-4 * (-1.0) ** n if kind == "oscillating" else 1e-7 * n
    terms = 0.3 + 0.8 * 0.2 ** n + extra
    for m, result in enumerate(_statuses(method, terms, order)):
        assert result.status is not Status.CONVERGED, (m, result)


@pytest.mark.parametrize("ratio", [0.1755, 0.3])
@pytest.mark.parametrize("delta", [-9.4e-10, 1e-9, -3e-9])
@pytest.mark.parametrize("method, options, order", [
    ("theta", {}, 1), ("levin", {"variant": "v"}, 2), ("levin", {"variant": "v"}, 3)])
def test_no_convergence_on_a_drift(ratio, delta, method, options, order):
    # s_n = 0.5 + 0.6 r^n + delta n: no limit. Judged once 0.6 r^n < 1e-16 (below an
    # ulp of 0.5 at the newest term): the newest steps are delta to rounding, while
    # the window still reaches back to where r^n moved the steps. Before: theta and
    # Levin v CONVERGED there (the window's oldest step larger than its newest; a
    # prefix run broken down on equal steps landing on the main estimate).
    n = np.arange(45)
    terms = 0.5 + 0.6 * ratio ** n + delta * n
    acc = accel.accelerator(method, order=order, **options)
    for m in range(45):
        acc.push(terms[m])
        result = acc.result()
        if 0.6 * ratio ** m < 1e-16:
            assert result.status is not Status.CONVERGED, (m, result)


@pytest.mark.parametrize("method", METHODS)
def test_repeated_float32_terms_settling_on_a_value_warn_nothing(method):
    # fuzz_accel seed 5, case 72: each term of L + a r^n (r = -0.021) twice, float32,
    # constant from term 8 on. The epsilon table's inverses of differences a few ulps
    # wide overflowed float32: refused as before, but NumPy warned "overflow encountered".
    n = np.arange(30)
    terms = (15.2129335 + 0.0975 * (-0.0213624) ** (n // 2)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = getattr(accel, method)(terms, full_output=True)
        _statuses(method, terms, 2)
    assert abs(float(result.estimate) - float(terms[-1])) <= 10 * max(result.error, 2e-6)

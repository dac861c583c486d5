"""Topological epsilon algorithm (TEA1): exactness, scalar case, equivariance, breakdown."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accel._result import Status
from accel.epsilon import shanks
from accel.topological import topological_epsilon
from tests._helpers import to_numpy, xp_assert_close
from tests.accel.test_epsilon import linear_iterations, running_error_bound

EPS = np.finfo(np.float64).eps


def tea_error_bound(terms, data_error):
    """First-order running rounding-error bound of TEA1's last entry (y = s_1 - s_0).

    As :func:`tests.accel.test_epsilon.running_error_bound`, with the TEA rules:
    an odd entry adds ``y / p`` with ``p = <y, D>``, an even entry adds
    ``D_even / p`` with ``p = <D_odd, D_even>``; a quotient ``u / p`` with errors
    ``du``, ``dp`` is off by ``du / |p| + ||u|| dp / p^2``, and a pairing of
    ``a`` and ``b`` is off by ``da ||b|| + ||a|| db + n eps ||a|| ||b||``.
    """
    terms = np.asarray(terms, dtype=np.float64)
    n = terms.shape[1]

    def norm(x):
        return np.linalg.norm(x, axis=-1)

    dual = terms[1] - terms[0]
    dual_error = data_error[1] + data_error[0] + EPS * max(norm(terms[1]), norm(terms[0]))
    dual_norm = np.linalg.norm(dual)
    before, before_error = np.zeros_like(terms), np.zeros(len(terms))
    current, error = terms, np.asarray(data_error, dtype=np.float64)
    column = 1
    while len(current) > 1:
        difference = current[1:] - current[:-1]
        difference_error = error[1:] + error[:-1] + EPS * np.maximum(norm(current[1:]),
                                                                     norm(current[:-1]))
        if column % 2:
            numerator, numerator_norm, numerator_error = dual[None, :], dual_norm, dual_error
            pairing = difference @ dual
            pairing_error = (difference_error * dual_norm + norm(difference) * dual_error
                             + n * EPS * norm(difference) * dual_norm)
        else:
            numerator = before[1:-1] - before[:-2]
            numerator_norm = norm(numerator)
            numerator_error = before_error[1:-1] + before_error[:-2] + EPS * np.maximum(
                norm(before[1:-1]), norm(before[:-2]))
            pairing = np.sum(difference * numerator, axis=1)
            pairing_error = (difference_error * numerator_norm + norm(difference)
                             * numerator_error + n * EPS * norm(difference) * numerator_norm)
        increment = numerator / pairing[:, None]
        increment_error = (numerator_error / np.abs(pairing)
                           + numerator_norm * pairing_error / pairing ** 2)
        new = before[1:len(current)] + increment if column > 1 else increment
        new_error = (before_error[1:len(current)] if column > 1 else 0.0) + increment_error
        new_error = new_error + 2 * EPS * norm(new)
        before, before_error, current, error = current, error, new, new_error
        column += 1
    return error[0]


@given(linear_iterations())
def test_tea_is_exact_on_linear_iterations(xp, case):
    iterates, fixed_point, data_error = case
    d = (iterates.shape[0] - 1) // 2
    result = topological_epsilon(xp.asarray(iterates), full_output=True)
    assert result.order == d and result.terms == 2 * d + 1
    error = np.linalg.norm(to_numpy(result.estimate) - fixed_point)
    assert error <= tea_error_bound(iterates, data_error)


@given(st.lists(st.floats(-10, 10), min_size=3, max_size=9), st.integers(-4, 4))
def test_scaling_by_a_power_of_two_is_bitwise(values, power):
    rng = np.random.default_rng(len(values))
    terms = np.stack([np.array(values), rng.normal(size=len(values))], axis=1)
    for sign in (1.0, -1.0):
        scaled = topological_epsilon(sign * 2.0 ** power * terms, full_output=True)
        plain = topological_epsilon(terms, full_output=True)
        np.testing.assert_array_equal(scaled.estimate, sign * 2.0 ** power * plain.estimate)
        assert scaled.status == plain.status


@given(linear_iterations(), st.floats(0.25, 4.0), st.floats(-3.0, 3.0))
def test_translation_and_scaling_equivariance(case, scale, shift):
    iterates, fixed_point, data_error = case
    moved = scale * iterates + shift
    moved_error = scale * data_error + EPS * np.linalg.norm(moved, axis=1)
    # both sides are exact (d-dimensional error subspace), within their bounds
    bound = (tea_error_bound(moved, moved_error) + scale * tea_error_bound(iterates, data_error)
             + 2 * EPS * np.linalg.norm(scale * fixed_point + shift))
    difference = topological_epsilon(moved) - (scale * topological_epsilon(iterates) + shift)
    assert np.linalg.norm(difference) <= bound


@given(st.lists(st.floats(0.2, 0.9), min_size=1, max_size=3, unique=True),
       st.floats(-2.0, 2.0))
def test_scalar_case_is_wynn_epsilon(ratios, limit):
    k = len(ratios)
    modes = np.array(ratios) ** np.arange(2 * k + 1)[:, None]
    terms = limit + modes.sum(axis=1)
    # for n = 1, y = s_1 - s_0 cancels: the same transform, rounded differently
    data_error = (k + 3) * EPS * (abs(limit) + modes.sum(axis=1))
    bound = running_error_bound(terms, data_error) + tea_error_bound(terms[:, None], data_error)
    assert abs(float(topological_epsilon(terms)) - float(shanks(terms))) <= bound
    assert topological_epsilon(terms).shape == ()


def test_tea_differs_from_vector_epsilon_off_the_exact_case():
    # 4 error modes, order 2: neither is exact, and the two vector transforms
    # (dual vector pairings vs the Samelson inverse) give different vectors
    rng = np.random.default_rng(5)
    A = np.diag([0.9, 0.5, -0.7, 0.3]) + 0.05 * rng.normal(size=(4, 4))
    b = rng.normal(size=4)
    iterates = [np.zeros(4)]
    for _ in range(4):
        iterates.append(A @ iterates[-1] + b)
    iterates = np.stack(iterates)
    tea, vector = topological_epsilon(iterates), shanks(iterates)
    assert np.linalg.norm(tea - vector) > 1e-3 * np.linalg.norm(vector)


def test_backends_agree(xp):
    rng = np.random.default_rng(9)
    terms = np.cumsum(rng.normal(size=(7, 3)) * 0.6 ** np.arange(7)[:, None], axis=0)
    reference = topological_epsilon(terms)
    xp_assert_close(topological_epsilon(xp.asarray(terms)), reference, rtol=1e-12, xp=xp,
                    check_dtype=False)


def test_full_output_table():
    terms = np.cumsum(0.5 ** np.arange(5.0))[:, None] * np.array([1.0, -2.0])
    result = topological_epsilon(terms, full_output=True, table=True)
    assert [column.shape for column in result.table] == [(5, 2), (4, 2), (3, 2), (2, 2),
                                                         (1, 2)]


def test_breakdown_and_convergence():
    constant = topological_epsilon(np.ones((6, 3)), full_output=True)
    assert constant.status == Status.CONVERGED
    np.testing.assert_array_equal(constant.estimate, np.ones(3))
    # s_1 = s_0 makes y = 0 while the sequence moves on: every pairing vanishes
    stuck = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.5], [1.5, 0.7], [1.7, 0.8]])
    result = topological_epsilon(stuck, full_output=True)
    assert result.status == Status.BREAKDOWN
    np.testing.assert_array_equal(result.estimate, stuck[-1])
    assert np.all(np.isfinite(result.estimate))


def test_insufficient_terms_and_bad_input():
    assert topological_epsilon(np.ones((2, 3)), full_output=True).status == (
        Status.INSUFFICIENT_TERMS)
    with pytest.raises(ValueError, match="order"):
        topological_epsilon(np.ones((5, 3)), order=-1)
    with pytest.raises(ValueError, match="shape"):
        topological_epsilon(np.ones((5, 3, 1)))

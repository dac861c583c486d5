"""Grouped Newton's practical options (seed 001 appendix F) against hand-computed steps.

Refresh period, moving average and positive part of the learning rates, the plateau
schedule of the damping, and which oracle callable feeds which piece of the summary.
The references are Cauchy's and Newton's steps on quadratics, written out in NumPy.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle

import numpy as np
import pytest

from matfun.optim import Oracle, ReduceOnPlateau, grouped_newton
from tests._helpers import to_numpy, xp_assert_close


def quadratic(xp, matrix, hvp_matrix=None):
    A = xp.asarray(matrix, dtype=xp.float64)
    B = A if hvp_matrix is None else xp.asarray(hvp_matrix, dtype=xp.float64)
    return Oracle(value=lambda x: 0.5 * (x @ (A @ x)), grad=lambda x: A @ x,
                  hvp=lambda x, v: B @ v)


def cauchy_rate(A, x):
    g = A @ x
    return (g @ g) / (g @ A @ g)


def steps(xp, opt, oracle, x0, count):
    params = xp.asarray(x0, dtype=xp.float64)
    state, infos = opt.init(params), []
    for _ in range(count):
        params, state, info = opt.update(state, params, oracle)
        infos.append(info)
    return params, state, infos


def test_refresh_every_reuses_the_rates_without_hvps(xp):
    # Trivial partition on diag(1, 4): a fresh rate is Cauchy's g^T g / g^T A g, which
    # changes with g; refresh_every=3 computes it at steps 0 and 3 and reuses it between.
    A, x = np.diag([1.0, 4.0]), np.array([1.0, 1.0])
    params, _, infos = steps(xp, grouped_newton(groups=[slice(0, 2)], refresh_every=3),
                             quadratic(xp, A), x, 5)
    for t in range(5):
        if t % 3 == 0:
            rate = cauchy_rate(A, x)
        x = x - rate * (A @ x)
    # Five steps of 2-vectors, condition 4: a few units of rounding.
    xp_assert_close(params, x, rtol=1e-14, atol=0, xp=xp)
    assert [info["matvecs"] for info in infos] == [1, 0, 0, 1, 0]
    assert [info["refreshed"] for info in infos] == [True, False, False, True, False]
    assert infos[1]["fresh_rates"] is None and infos[1]["model"] == "reused"
    assert infos[1]["learning_rates"] == infos[0]["learning_rates"]
    # Not a constant-rate method in disguise: the refreshed rate differs.
    assert infos[3]["learning_rates"] != infos[0]["learning_rates"]


def test_rate_momentum_averages_the_fresh_rates(xp):
    # bar eta_0 = eta_0, bar eta_1 = b eta_0 + (1 - b) eta_1, with eta_k Cauchy's rate
    # at the refreshes (steps 0 and 2) and the average used at steps 2 and 3.
    A, x, b = np.diag([1.0, 4.0]), np.array([1.0, 1.0]), 0.75
    opt = grouped_newton(groups=[slice(0, 2)], refresh_every=2, rate_momentum=b)
    params, _, infos = steps(xp, opt, quadratic(xp, A), x, 4)
    fresh, rate = [], None
    for t in range(4):
        if t % 2 == 0:
            fresh.append(cauchy_rate(A, x))
            rate = fresh[0] if rate is None else b * rate + (1 - b) * fresh[-1]
        x = x - rate * (A @ x)
    xp_assert_close(params, x, rtol=1e-14, atol=0, xp=xp)
    np.testing.assert_allclose(infos[2]["fresh_rates"], [fresh[1]], rtol=1e-14)
    np.testing.assert_allclose(infos[3]["learning_rates"], [b * fresh[0] + (1 - b) * fresh[1]],
                               rtol=1e-14)


def test_positive_part_removes_the_step_towards_the_saddle(xp):
    # diag(2, -1), one group per coordinate: the model's minimiser is Newton's
    # eta = (1/2, -1), which lands on the saddle at 0. The positive part keeps eta_2 = 0:
    # coordinate 2 (negative curvature) is not moved uphill. Exact binary arithmetic.
    A, x0 = np.diag([2.0, -1.0]), np.array([1.0, 0.5])
    plain, _, info = steps(xp, grouped_newton(groups=[[0], [1]]), quadratic(xp, A), x0, 1)
    assert info[0]["learning_rates"] == (0.5, -1.0)
    xp_assert_close(plain, np.zeros(2), rtol=0, atol=0, xp=xp)
    clipped, _, info = steps(xp, grouped_newton(groups=[[0], [1]], positive_part=True),
                             quadratic(xp, A), x0, 1)
    assert info[0]["learning_rates"] == (0.5, 0.0)
    assert info[0]["fresh_rates"] == (0.5, -1.0)  # the model's answer, reported as is
    xp_assert_close(clipped, np.array([0.0, 0.5]), rtol=0, atol=0, xp=xp)


def test_positive_part_is_taken_before_the_average(xp):
    # Fresh rates (1/2, -1) at step 0, then at step 1 (x = (0, 0.5), g = (0, -0.5)):
    # group 1 has a zero direction (fresh rate 0), group 2 again -1 -> clipped to 0.
    # Averages with b = 0.5: (1/2, 0) then (1/4, 0).
    opt = grouped_newton(groups=[[0], [1]], positive_part=True, rate_momentum=0.5)
    _, _, infos = steps(xp, opt, quadratic(xp, np.diag([2.0, -1.0])), np.array([1.0, 0.5]),
                        2)
    assert [info["learning_rates"] for info in infos] == [(0.5, 0.0), (0.25, 0.0)]


def test_summary_uses_hvp_for_curvature_and_grad_for_the_slope(xp):
    # grad from diag(1, 2), hvp from diag(4, 1) -- the "separate batch" of appendix F.
    # Trivial partition at x = (1, 1): g = (1, 2), eta = g^T g / g^T B g = 5 / 8 (hvp's
    # matrix B); with the two swapped it would be 5 / 9. Exact in binary.
    oracle = quadratic(xp, np.diag([1.0, 2.0]), hvp_matrix=np.diag([4.0, 1.0]))
    params, _, infos = steps(xp, grouped_newton(groups=[slice(0, 2)]), oracle,
                             np.array([1.0, 1.0]), 1)
    assert infos[0]["learning_rates"] == (0.625,)
    assert infos[0]["loss"] == 1.5  # the value callable's f(x) = (1 + 2) / 2
    xp_assert_close(params, np.array([1.0 - 0.625, 1.0 - 1.25]), rtol=0, atol=0, xp=xp)


def test_third_derivatives_come_from_the_oracles_third(xp):
    # third(x, u) = 6 sum(u^3) (f = sum x^3 on the curvature batch); with u = g = (1, 2)
    # on groups {0}, {1}: d = (6, 48), exactly.
    A = xp.asarray(np.diag([1.0, 2.0]), dtype=xp.float64)
    oracle = Oracle(value=lambda x: 0.5 * (x @ (A @ x)), grad=lambda x: A @ x,
                    hvp=lambda x, v: A @ v, third=lambda x, u: 6 * xp.sum(u**3))
    _, _, infos = steps(xp, grouped_newton(groups=[[0], [1]], cubic=1.0), oracle,
                        np.array([1.0, 1.0]), 1)
    assert infos[0]["third"] == (6.0, 48.0)


def test_plateau_schedule_reduces_the_damping_to_its_floor(xp):
    # A constant loss never improves after the first observation: with patience 2 the
    # damping halves at steps 3 and 6 and stops at the floor 0.2 at step 9.
    A = xp.asarray(np.eye(2), dtype=xp.float64)
    oracle = Oracle(value=lambda x: 1.0 + 0.0 * x[0], grad=lambda x: A @ x,
                    hvp=lambda x, v: A @ v)
    rule = ReduceOnPlateau(patience=2, factor=0.5, min_damping=0.2)
    _, _, infos = steps(xp, grouped_newton(groups=[slice(0, 2)], schedule=rule), oracle,
                        np.array([1.0, 2.0]), 12)
    assert [info["damping"] for info in infos] == [1.0] * 3 + [0.5] * 3 + [0.25] * 3 + [0.2] * 3


def test_plateau_schedule_monitors_the_mean_loss_of_each_period(xp):
    # Scripted losses 5, 3, 5, 4, 4: the periods of refresh_every=2 end at steps 0, 2, 4
    # with mean losses 5, (3 + 5) / 2 = 4 (an improvement; the loss at step 2 alone, 5,
    # would not be), and (4 + 4) / 2 = 4 (none): patience 0 reduces at step 4.
    losses = iter([5.0, 3.0, 5.0, 4.0, 4.0, 4.0])
    A = xp.asarray(np.eye(2), dtype=xp.float64)
    oracle = Oracle(value=lambda x: next(losses) + 0.0 * x[0], grad=lambda x: A @ x,
                    hvp=lambda x, v: A @ v)
    rule = ReduceOnPlateau(patience=0, factor=0.5)
    opt = grouped_newton(groups=[slice(0, 2)], refresh_every=2, schedule=rule, damping=0.8)
    _, state, infos = steps(xp, opt, oracle, np.array([1.0, 2.0]), 6)
    assert [info["damping"] for info in infos] == [0.8, 0.8, 0.8, 0.8, 0.4, 0.4]
    assert state.best_loss == 4.0 and state.bad_periods == 0
    assert (state.loss_sum, state.loss_count) == (4.0, 1)


def test_reduce_on_plateau_rule_by_hand():
    rule = ReduceOnPlateau(patience=1, factor=0.1, threshold=0.1, min_damping=1e-3)
    # Relative threshold on |best|: from -10, improving means going below -11.
    assert rule.observe(-10.5, 0.5, -10.0, 0) == (0.5, -10.0, 1)
    assert rule.observe(-11.5, 0.5, -10.0, 1) == (0.5, -11.5, 0)
    assert rule.observe(-10.5, 0.5, -10.0, 1) == (0.05, -10.0, 0)
    assert rule.observe(7.0, 0.005, 1.0, 1) == (1e-3, 1.0, 0)  # the floor


def test_resume_with_every_option_is_bit_identical(xp):
    # A non-quadratic objective so that rates, damping and averages all move.
    matrix = xp.asarray([[2.0, 0.3, 0.0], [0.3, -0.5, 0.2], [0.0, 0.2, 1.0]],
                        dtype=xp.float64)
    oracle = Oracle(value=lambda x: 0.5 * (x @ (matrix @ x)) + 0.25 * xp.sum(x**4),
                    grad=lambda x: matrix @ x + x**3,
                    hvp=lambda x, v: matrix @ v + 3 * x**2 * v,
                    third=lambda x, v: 6 * xp.sum(x * v**3))

    def make():
        return grouped_newton(groups=[[0, 1], [2]], cubic=1.0, momentum=0.5, damping=0.9,
                              refresh_every=2, rate_momentum=0.5, positive_part=True,
                              schedule=ReduceOnPlateau(patience=0, factor=0.5, threshold=0.5))

    x0 = xp.asarray([0.5, -0.4, 0.8], dtype=xp.float64)
    opt, params = make(), x0
    state = opt.init(params)
    straight = []
    for _ in range(9):
        params, state, info = opt.update(state, params, oracle)
        straight.append((to_numpy(params).copy(), info["damping"]))
    assert straight[-1][1] < 0.9  # the schedule acted
    params, state = x0, opt.init(x0)
    for _ in range(5):  # stop in the middle of a refresh period
        params, state, _ = opt.update(state, params, oracle)
    for save in (copy.deepcopy, lambda s: pickle.loads(pickle.dumps(s))):
        resumed, resumed_state = save(params), save(state)
        again = make()
        for t in range(5, 9):
            resumed, resumed_state, info = again.update(resumed_state, resumed, oracle)
            np.testing.assert_array_equal(to_numpy(resumed), straight[t][0])
            assert info["damping"] == straight[t][1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.damping = 1.0


def test_defaults_are_the_plain_method(xp):
    # Every option at its default: the same floats as the method without them.
    oracle = quadratic(xp, np.array([[3.0, 1.0], [1.0, 2.0]]))
    plain = steps(xp, grouped_newton(groups=[[0], [1]], damping=0.5), oracle,
                  np.array([1.0, -2.0]), 3)[0]
    explicit = steps(xp, grouped_newton(groups=[[0], [1]], damping=0.5, refresh_every=1,
                                        rate_momentum=0.0, positive_part=False,
                                        schedule=None), oracle, np.array([1.0, -2.0]), 3)[0]
    np.testing.assert_array_equal(to_numpy(plain), to_numpy(explicit))


def test_without_a_schedule_the_damping_is_the_optimisers(xp):
    # A state saved under damping=0.25 and resumed by an optimiser with damping=0.5
    # takes the new factor: without a schedule the damping is configuration, not state.
    # Newton's rates on diag(2, 4) move x by damping * x: 0.75 x, then 0.5 of that.
    oracle = quadratic(xp, np.diag([2.0, 4.0]))
    params = xp.asarray([1.0, -2.0], dtype=xp.float64)
    first = grouped_newton(groups=[[0], [1]], damping=0.25)
    params, state, _ = first.update(first.init(params), params, oracle)
    assert state.damping is None
    params, _, info = grouped_newton(groups=[[0], [1]], damping=0.5).update(state, params,
                                                                            oracle)
    assert info["damping"] == 0.5
    xp_assert_close(params, np.array([0.375, -0.75]), rtol=0, atol=0, xp=xp)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"refresh_every": 0}, ValueError, "refresh_every must be an integer >= 1"),
        ({"refresh_every": 2.0}, TypeError, "refresh_every must be an integer"),
        ({"rate_momentum": 1.0}, ValueError, "rate_momentum must lie in"),
        ({"positive_part": "yes"}, TypeError, "positive_part"),
        ({"schedule": 0.5}, TypeError, "schedule must be a ReduceOnPlateau"),
        ({"schedule": ReduceOnPlateau(min_damping=0.9), "damping": 0.5}, ValueError,
         "min_damping .* must not exceed damping"),
    ],
    ids=["period0", "period-float", "rate-momentum", "flag", "schedule", "floor"],
)
def test_bad_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        grouped_newton(groups=[[0]], **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patience": -1}, "patience"),
        ({"factor": 1.0}, "factor must lie in \\(0, 1\\)"),
        ({"factor": 0.0}, "factor must lie in \\(0, 1\\)"),
        ({"threshold": -0.1}, "threshold"),
        ({"min_damping": 0.0}, "min_damping must be a positive"),
        ({"min_damping": 2.0}, "min_damping must lie in"),
    ],
)
def test_bad_schedule(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ReduceOnPlateau(**kwargs)


def test_state_of_another_partition_is_refused(xp):
    params = xp.asarray([1.0, 2.0], dtype=xp.float64)
    oracle = quadratic(xp, np.eye(2))
    one = grouped_newton(groups=[slice(0, 2)])
    _, state, _ = one.update(one.init(params), params, oracle)
    with pytest.raises(ValueError, match="state.rates has 1 entries for 2 groups"):
        grouped_newton(groups=[[0], [1]]).update(state, params, oracle)

"""sfn_series reads the accelerator's unchecked estimate: the same step as the checked result."""

import copy

import numpy as np
import pytest

import accel
from matfun import inv_sqrt_series
from matfun.optim import Oracle, sfn_series


def _oracle(h):
    return Oracle(value=lambda x: 0.5 * x @ (h @ x), grad=lambda x: h @ x,
                  hvp=lambda x, v: h @ v)


def _indefinite(seed, n=12):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eigenvalues = rng.uniform(0.2, 3.0, n) * rng.choice([-1.0, 1.0], n)
    return (q * eigenvalues) @ q.T, rng.standard_normal(n)


@pytest.mark.parametrize("method, order", [("sablonniere", 1), ("sablonniere", 2),
                                           ("shanks", 2)])
@pytest.mark.parametrize("scale", ["paper", "adaptive"])
def test_step_equals_the_series_with_the_checked_accelerator(method, order, scale):
    # The reference: the series with the accelerator's checked result() (the route the
    # optimiser took before), the same operator and V; the step is -rate times it.
    for seed in range(3):
        h, x = _indefinite(seed)
        opt = sfn_series(learning_rate=0.5, terms=11, order=order, accelerate=method,
                         initial_scale=20.0, scale=scale)
        state = opt.init(x)
        new_x, new_state, info = opt.update(state, x, _oracle(h))
        direction, series_info = inv_sqrt_series(
            lambda v, h=h: h @ v, h @ x, terms=11, scale=scale, initial_scale=20.0,
            accelerate=method, order=order, full_output=True)
        np.testing.assert_array_equal(new_x, x - 0.5 * direction)
        assert new_state.scale == series_info.scale
        assert info["matvecs"] == series_info.matvecs


def test_an_accelerator_object_is_used_as_given():
    # A caller's Accelerator (a template the series copies) keeps its checked result().
    h, x = _indefinite(5)
    template = accel.accelerator("sablonniere", order=1)
    opt = sfn_series(learning_rate=1.0, terms=9, accelerate=template, initial_scale=20.0)
    new_x, _, _ = opt.update(opt.init(x), x, _oracle(h))
    direction = inv_sqrt_series(lambda v: h @ v, h @ x, terms=9, scale="paper",
                                initial_scale=20.0,
                                accelerate=copy.deepcopy(template))
    np.testing.assert_array_equal(new_x, x - direction)
    assert template.terms == 0  # the caller's template is never pushed

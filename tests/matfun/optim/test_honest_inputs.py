"""Item 11 of issue 9: every optimiser says clearly what is wrong with its inputs."""

import numpy as np
import pytest

from matfun.optim import (
    Oracle,
    adam,
    adamqlr,
    adaptive,
    exact_sfn,
    gradient_descent,
    grouped_newton,
    newton,
    run,
    sfn_series,
)

H = np.array([2.0, -1.0, 0.5])


def _oracle(**changes):
    parts = dict(value=lambda x: 0.5 * np.sum(H * x * x), grad=lambda x: H * x,
                 hvp=lambda x, v: H * v, third=lambda x, v: 0.0)
    parts.update(changes)
    return Oracle(**parts)


OPTIMIZERS = {
    "gradient_descent": lambda: gradient_descent(learning_rate=0.1),
    "adam": lambda: adam(),
    "newton": lambda: newton(damping=1.0),
    "exact_sfn": lambda: exact_sfn(),
    "sfn_series": lambda: sfn_series(learning_rate=0.5, terms=4),
    "adaptive": lambda: adaptive(exact_sfn()),
    "adamqlr": lambda: adamqlr(),
    "grouped_newton": lambda: grouped_newton(groups=[[0], [1, 2]]),
}


@pytest.fixture(params=sorted(OPTIMIZERS), scope="module")
def optimizer(request):
    return OPTIMIZERS[request.param]()


def test_none_state_is_named(optimizer):
    with pytest.raises(TypeError, match=r"state must be the \w+ returned by .*got NoneType"):
        optimizer.update(None, np.ones(3), _oracle())


def test_foreign_state_is_named(optimizer):
    other = adam() if optimizer.name != "adam" else gradient_descent(learning_rate=0.1)
    with pytest.raises(TypeError, match="state must be the"):
        optimizer.update(other.init(np.ones(3)), np.ones(3), _oracle())


def test_state_of_another_size_is_named(optimizer):
    import dataclasses

    state = optimizer.init(np.ones(3))
    vector = next(field.name for field in dataclasses.fields(state)
                  if getattr(getattr(state, field.name), "shape", None) == (3,))
    state = dataclasses.replace(state, **{vector: np.ones(4)})
    with pytest.raises(ValueError, match=r"state\.\w+ has shape \(4,\) but params"):
        optimizer.update(state, np.ones(3), _oracle())


def test_grad_returning_none_is_named(optimizer):
    with pytest.raises(TypeError, match="oracle.grad returned NoneType"):
        optimizer.update(optimizer.init(np.ones(3)), np.ones(3), _oracle(grad=lambda x: None))


def test_value_returning_none_is_named(optimizer):
    with pytest.raises(TypeError, match="oracle.value returned None"):
        optimizer.update(optimizer.init(np.ones(3)), np.ones(3),
                         _oracle(value=lambda x: None))


def test_complex_gradient_is_refused_not_truncated(optimizer):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning either: a clear error instead
        with pytest.raises(TypeError, match="oracle.grad returned complex values"):
            optimizer.update(optimizer.init(np.ones(3)), np.ones(3),
                             _oracle(grad=lambda x: H * x + 1j))


def test_complex_params_are_refused(optimizer):
    with pytest.raises(TypeError, match="params must be real"):
        optimizer.init(np.ones(3) + 0j)


def test_nan_params_are_blamed_on_the_params(optimizer):
    state = optimizer.init(np.ones(3))
    with pytest.raises(ValueError, match="params contains NaN or inf"):
        optimizer.update(state, np.array([1.0, np.nan, 0.0]), _oracle())
    with pytest.raises(ValueError, match="params contains NaN or inf"):
        optimizer.init(np.array([np.inf, 0.0, 0.0]))


def test_oracle_of_the_wrong_kind_is_named(optimizer):
    with pytest.raises(TypeError, match="oracle must have callable value, grad and hvp"):
        optimizer.update(optimizer.init(np.ones(3)), np.ones(3), object())


def test_run_accepts_numpy_integers():
    record = run(gradient_descent(learning_rate=0.5), _oracle(), np.ones(3),
                 steps=np.int64(3), progress=False)
    assert len(record) == 3


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError, ValueError])
def test_run_keeps_the_completed_steps_on_any_exception(error):
    calls = []

    def grad(x):
        calls.append(1)
        if len(calls) == 3:  # during the third step
            raise error("stop")
        return H * x

    with pytest.raises(error) as caught:
        run(gradient_descent(learning_rate=0.5), _oracle(grad=grad), np.ones(3), steps=10,
            progress=False)
    record = caught.value.record
    assert len(record) == 2 and record.step == [0, 1]
    # The params after the two completed steps: w <- w - 0.5 H w, twice.
    np.testing.assert_allclose(record.params, (1 - 0.5 * H) ** 2, rtol=1e-15)
    assert any("2 completed steps" in note for note in caught.value.__notes__)
    # The run resumes from the record.
    resumed = run(gradient_descent(learning_rate=0.5), _oracle(), record.params, steps=1,
                  state=record.state, progress=False)
    assert resumed.step == [0]

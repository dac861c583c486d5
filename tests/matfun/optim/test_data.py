"""matfun.optim.data: the bundled scikit-learn data sets, split and standardised.

The oracle is scikit-learn's own loader, read here directly, and the documented recipe
(permutation of ``default_rng(seed)``, the first ``round(f N)`` rows for testing,
training statistics for both parts) written out in the test.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

datasets = pytest.importorskip("sklearn.datasets")

from matfun.optim import data  # noqa: E402

RAW = {"diabetes": datasets.load_diabetes, "digits": datasets.load_digits,
       "breast_cancer": datasets.load_breast_cancer}


@pytest.mark.parametrize("name", sorted(RAW))
def test_split_and_standardisation_follow_the_documented_recipe(name):
    X, y = RAW[name](return_X_y=True)
    result = data.load(name, test_fraction=0.3, seed=4)
    order = np.random.default_rng(4).permutation(len(y))
    held_out = round(0.3 * len(y))
    train, test = order[held_out:], order[:held_out]
    mean, scale = X[train].mean(axis=0), X[train].std(axis=0)
    scale[scale == 0] = 1.0
    # Same arithmetic in the same order: equal to rounding (a few ulps).
    np.testing.assert_allclose(result.X_train, (X[train] - mean) / scale, rtol=1e-14,
                               atol=1e-14)
    np.testing.assert_allclose(result.X_test, (X[test] - mean) / scale, rtol=1e-14, atol=1e-14)
    assert result.X_train.dtype == result.X_test.dtype == np.float64
    assert result.name == name and result.task == data.DATASETS[name]
    if result.task == "regression":
        assert result.classes == 0
        np.testing.assert_allclose(result.y_train * result.target_scale + result.target_mean,
                                   y[train], rtol=1e-14)
        np.testing.assert_allclose(result.y_test * result.target_scale + result.target_mean,
                                   y[test], rtol=1e-14)
        assert abs(result.y_train.mean()) < 1e-12 and result.y_train.std() == pytest.approx(1.0)
    else:
        assert result.y_train.dtype == np.int64
        np.testing.assert_array_equal(result.y_train, y[train])
        np.testing.assert_array_equal(result.y_test, y[test])
        assert result.classes == len(np.unique(y))
    # Training columns are standardised; the test columns are not exactly (no leakage).
    varying = X[train].std(axis=0) > 0
    np.testing.assert_allclose(result.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(result.X_train.std(axis=0)[varying], 1.0, rtol=1e-12)


def test_split_is_deterministic_by_seed_and_default_quarter():
    a, b, c = data.load("diabetes"), data.load("diabetes"), data.load("diabetes", seed=1)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)
    assert a.X_test.shape == (round(0.25 * 442), 10)
    assert a.X_train.shape[0] + a.X_test.shape[0] == 442


def test_data_set_trains_an_mlp():
    # The loaders feed the problem constructors directly.
    from matfun.optim.problems import mlp_classifier

    cancer = data.load("breast_cancer")
    problem = mlp_classifier(cancer.X_train, cancer.y_train, hidden=(4,))
    assert problem.samples == cancer.X_train.shape[0]
    metrics = problem.metrics(problem.initial(0), cancer.X_test, cancer.y_test)
    assert set(metrics) == {"loss", "accuracy"}


def test_bad_input_and_missing_scikit_learn(monkeypatch):
    with pytest.raises(ValueError, match="name must be one of"):
        data.load("iris")
    with pytest.raises(ValueError, match="test_fraction"):
        data.load("digits", test_fraction=1.0)
    with pytest.raises(TypeError, match="seed"):
        data.load("digits", seed=1.5)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn -> ImportError
    with pytest.raises(ImportError, match=r"experiments"):
        data.load("digits")


def test_importing_matfun_optim_does_not_import_scikit_learn():
    import subprocess

    code = "import sys, matfun.optim; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"

r"""Small real data sets shipped inside scikit-learn, split and standardised (no downloads).

:func:`load` returns a :class:`Dataset` ready for :func:`matfun.optim.problems.mlp_regressor`
or :func:`~matfun.optim.problems.mlp_classifier`:

============== ============== ======= ======== =========================================
name           task           samples features target
============== ============== ======= ======== =========================================
diabetes       regression     442     10       disease progression after one year
digits         classification 1797    64       handwritten digit 0-9 (8 x 8 pixels)
breast_cancer  classification 569     30       malignant (0) or benign (1)
============== ============== ======= ======== =========================================

The split is a random permutation drawn by ``numpy.random.default_rng(seed)`` (the same
rows for the same seed on every machine); each input column is standardised by the
*training* rows' mean and standard deviation (a constant column, as some digits pixels
are, is only centred), and regression targets likewise, so that losses are in units of
the training targets' variance: a constant predictor at the training mean has a training
mean squared error of exactly 1. The test rows are transformed with the training
statistics: no information flows from the test set into the training data.

scikit-learn is needed (the ``experiments`` extra: ``pip install 'matfun-accel[experiments]'``);
it is imported only when :func:`load` is called.

References
----------
Efron, Hastie, Johnstone and Tibshirani (2004), *Least angle regression*, Annals of
Statistics 32(2) (diabetes); Alpaydin and Kaynak (1998), UCI *Optical Recognition of
Handwritten Digits* (digits); Street, Wolberg and Mangasarian (1993), *Nuclear feature
extraction for breast tumor diagnosis* (breast cancer Wisconsin, diagnostic).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_choice, check_integer, check_real

__all__ = ["DATASETS", "Dataset", "load"]

#: The data sets :func:`load` knows, with their task.
DATASETS = {"diabetes": "regression", "digits": "classification",
            "breast_cancer": "classification"}


@dataclass(frozen=True)
class Dataset:
    """A train/test split of a data set, standardised by the training statistics.

    Attributes
    ----------
    name : str
    task : {"regression", "classification"}
    X_train, X_test : numpy.ndarray of float64, ``(rows, features)``
        Standardised inputs.
    y_train, y_test : numpy.ndarray
        Regression: float64 targets, standardised. Classification: int64 labels
        ``0, ..., classes - 1``.
    classes : int
        Number of classes; 0 for regression.
    target_mean, target_scale : float
        Regression: the training targets' mean and standard deviation, so that
        ``y * target_scale + target_mean`` is in the original units (0 and 1 for
        classification).
    """

    name: str
    task: str
    X_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    X_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    classes: int
    target_mean: float = 0.0
    target_scale: float = 1.0


def _fetch(name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn import datasets
    except ImportError as error:
        raise ImportError("matfun.optim.data.load needs scikit-learn for its bundled data "
                          "sets: pip install 'matfun-accel[experiments]'") from error
    loader = {"diabetes": datasets.load_diabetes, "digits": datasets.load_digits,
              "breast_cancer": datasets.load_breast_cancer}[name]
    X, y = loader(return_X_y=True)  # read from files inside the package: no network
    return np.asarray(X, dtype=np.float64), np.asarray(y)


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray, np.ndarray]:
    mean = train.mean(axis=0)
    scale = train.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)  # a constant column is only centred
    return (train - mean) / scale, (test - mean) / scale, mean, scale


def load(name: str, *, test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """Load a data set bundled with scikit-learn, split and standardised.

    Parameters
    ----------
    name : {"diabetes", "digits", "breast_cancer"}
    test_fraction : float
        Share of the rows held out for testing, in ``(0, 1)``; the test set gets
        ``round(test_fraction * rows)`` rows, at least one, and the training set at
        least two.
    seed : int
        Seed of the random permutation that makes the split.

    Returns
    -------
    Dataset

    Raises
    ------
    ImportError
        scikit-learn is not installed (the ``experiments`` extra).

    Examples
    --------
    >>> from matfun.optim import data
    >>> diabetes = data.load("diabetes")
    >>> diabetes.X_train.shape, diabetes.X_test.shape, diabetes.task
    ((332, 10), (110, 10), 'regression')
    >>> round(float(diabetes.y_train.std()), 12), data.load("digits").classes
    (1.0, 10)
    """
    name = check_choice(name, "name", tuple(DATASETS))
    test_fraction = check_real(test_fraction, "test_fraction")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    seed = check_integer(seed, "seed")
    X, y = _fetch(name)
    rows = X.shape[0]
    held_out = min(max(1, round(test_fraction * rows)), rows - 2)
    order = np.random.default_rng(seed).permutation(rows)
    train, test = order[held_out:], order[:held_out]
    X_train, X_test, _, _ = _standardise(X[train], X[test])
    task = DATASETS[name]
    if task == "regression":
        y = y.astype(np.float64)
        y_train, y_test, mean, scale = _standardise(y[train], y[test])
        return Dataset(name, task, X_train, y_train, X_test, y_test, classes=0,
                       target_mean=float(mean), target_scale=float(scale))
    labels = y.astype(np.int64)
    classes = int(labels.max()) + 1
    return Dataset(name, task, X_train, labels[train], X_test, labels[test], classes=classes)

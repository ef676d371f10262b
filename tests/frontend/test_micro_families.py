"""Every family that fits a microcontroller, under TensorFlow Lite Micro's own interpreter.

One or two models per family the ``micro`` profile serves (linear, preprocessing, trees, kernel
machines, naive Bayes, MLP, neighbours, clustering, outliers, XGBoost, LightGBM, CatBoost), fitted
on real data, emitted for the profile at batch 1 and at a fixed batch of 8 and run by the
``tflite-micro`` package: labels (class indices mapped through the metadata's table) identical to
scikit-learn's, floats within LiteRT's tolerance (1e-5 of scale), tree leaves identical to
``apply`` for every strategy. The whole parity suite runs there too:
``SKLIR_TEST_BACKENDS=micro,micro8 pytest tests/frontend``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pytest
from conftest import dataset, standardised
from parity import artefact, assert_parity
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.ensemble import (
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    IsolationForest,
    RandomForestClassifier,
)
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB, MultinomialNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, PolynomialFeatures, PowerTransformer, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

import sklir
from sklir.passes.lower_trees import STRATEGIES
from sklir.runtimes import run

MICRO = ["micro", "micro8"]


def _iris() -> tuple[np.ndarray, np.ndarray]:
    X, y = dataset("iris")
    return X, np.array(["setosa", "versicolor", "virginica"])[y]


def _digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = dataset("digits")
    return X[:400], y[:400]


# name -> (the model, its data); each fitted once
MODELS: dict[str, Callable[[], tuple[Any, np.ndarray]]] = {
    "linear-logistic": lambda: (make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(*_iris()),
                                _iris()[0]),
    "linear-ridge": lambda: (Ridge().fit(*dataset("diabetes")), dataset("diabetes")[0]),
    "preprocessing": lambda: (make_pipeline(MinMaxScaler(), PowerTransformer(), PolynomialFeatures(2), PCA(6),
                                            Ridge()).fit(*dataset("diabetes")), dataset("diabetes")[0]),
    "tree": lambda: (DecisionTreeClassifier(max_depth=6, random_state=0).fit(*_iris()), _iris()[0]),
    "forest": lambda: (RandomForestClassifier(20, max_depth=6, random_state=0).fit(*dataset("wine")),
                       dataset("wine")[0]),
    "boosting": lambda: (GradientBoostingRegressor(n_estimators=40, max_depth=3, random_state=0)
                         .fit(*dataset("diabetes")), dataset("diabetes")[0]),
    "hist-boosting": lambda: (HistGradientBoostingClassifier(max_iter=20, random_state=0)
                              .fit(*dataset("breast_cancer")), dataset("breast_cancer")[0]),
    "svc-rbf": lambda: (SVC(probability=True, random_state=0).fit(*standardised("wine")), standardised("wine")[0]),
    "kernel-ridge-poly": lambda: (KernelRidge(kernel="poly", degree=3, alpha=1.0).fit(*standardised("diabetes")),
                                  standardised("diabetes")[0]),
    "gaussian-nb": lambda: (GaussianNB().fit(*_iris()), _iris()[0]),
    "multinomial-nb": lambda: (MultinomialNB().fit(*_digits()), _digits()[0]),
    "mlp-classifier": lambda: (make_pipeline(StandardScaler(),
                                             MLPClassifier((32, 16), max_iter=400, random_state=0)).fit(*_digits()),
                               _digits()[0]),
    "mlp-regressor": lambda: (MLPRegressor(hidden_layer_sizes=(16,), max_iter=800, random_state=0)
                              .fit(*standardised("diabetes")), standardised("diabetes")[0]),
    "knn-classifier": lambda: (KNeighborsClassifier(5).fit(*_iris()), _iris()[0]),
    "knn-regressor": lambda: (KNeighborsRegressor(4, weights="distance").fit(*standardised("diabetes")),
                              standardised("diabetes")[0]),
    "kmeans": lambda: (KMeans(4, n_init=3, random_state=0).fit(dataset("wine")[0]), dataset("wine")[0]),
    "isolation-forest": lambda: (IsolationForest(n_estimators=20, random_state=0).fit(dataset("breast_cancer")[0]),
                                 dataset("breast_cancer")[0]),
    **{f"library-{name}": make for name, make in (
        ("xgboost", lambda: _library("xgboost", "XGBClassifier", n_estimators=20, max_depth=4)),
        ("lightgbm", lambda: _library("lightgbm", "LGBMRegressor", n_estimators=30, verbose=-1)),
        ("catboost", lambda: _library("catboost", "CatBoostClassifier", iterations=30, depth=4, verbose=0,
                                      allow_writing_files=False)))},
}


def _library(package: str, name: str, **params: Any) -> tuple[Any, np.ndarray]:
    """A gradient-boosting library's model (skipped where the library is not installed): a
    classifier on breast_cancer, a regressor on diabetes."""
    cls = getattr(pytest.importorskip(package), name)
    X, y = dataset("breast_cancer" if name.endswith("Classifier") else "diabetes")
    return cls(**params).fit(X, y), X


@cache
def fitted(name: str) -> tuple[Any, np.ndarray]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLP convergence: the fitted weights are what is compared
        return MODELS[name]()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_family_runs_under_tflite_micro(name: str) -> None:
    estimator, X = fitted(name)
    assert_parity(estimator, X, backends=MICRO)


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_forest_leaves_equal_apply_under_tflite_micro(strategy: str) -> None:
    estimator, X = fitted("forest")
    module = sklir.lower(estimator, internals=("leaves",))
    X32 = X.astype(np.float32)
    for backend in MICRO:
        got = run(artefact(module, backend, strategy), "micro", X32)["leaves"]
        np.testing.assert_array_equal(got, estimator.apply(X32), err_msg=f"{strategy} {backend}")

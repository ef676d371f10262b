"""Parity of BaggingClassifier and BaggingRegressor over trees (one fused ensemble) and over other
supported estimators (each base on its own columns), with feature subsets, bootstrap features and
bases that saw only some classes. Tolerances are the harness defaults (tests/parity.py); the
leaves of tree bagging are checked with the other tree models in test_trees.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import dataset, standardised
from parity import assert_parity
from sklearn.ensemble import BaggingClassifier, BaggingRegressor
from sklearn.linear_model import LogisticRegression, Perceptron, Ridge
from sklearn.tree import DecisionTreeRegressor

from sklir.ir.dialects.ml import TreeEnsemble

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# name -> (estimator factory, dataset)
CASES: dict[str, tuple[Callable[[], Any], str]] = {
    "trees-subsets": (lambda: BaggingClassifier(n_estimators=10, max_features=0.6, random_state=0), "wine"),
    "trees-few-samples": (lambda: BaggingClassifier(n_estimators=8, max_samples=0.15, random_state=1), "iris"),
    "logistic-bootstrap-features": (lambda: BaggingClassifier(LogisticRegression(max_iter=3000), n_estimators=5,
                                                              max_features=0.7, bootstrap_features=True,
                                                              random_state=0), "wine"),
    "perceptron-votes": (lambda: BaggingClassifier(Perceptron(), n_estimators=5, random_state=0), "iris"),
    "regressor-trees": (lambda: BaggingRegressor(DecisionTreeRegressor(max_depth=6), n_estimators=10,
                                                 max_features=0.5, random_state=0), "diabetes"),
    "regressor-ridge": (lambda: BaggingRegressor(Ridge(), n_estimators=6, max_features=0.5, random_state=0),
                        "diabetes"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bagging_parity(case: str) -> None:
    make, data = CASES[case]
    X, y = standardised(data) if data == "wine" else dataset(data)
    estimator = make().fit(X, y)
    module = assert_parity(estimator, X)
    fused = sum(isinstance(n.op, TreeEnsemble) for n in module.nodes)
    assert fused == (1 if "trees" in case else 0)

"""Parity of BaggingClassifier and BaggingRegressor over trees (one fused ensemble) and over other
supported estimators (each base on its own columns), with feature subsets, bootstrap features and
bases that saw only some classes. Tolerances are the harness defaults (tests/parity.py); the
leaves of tree bagging are checked with the other tree models in test_trees.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from conftest import dataset, standardised
from parity import artefact, assert_parity, runtime
from sklearn.ensemble import BaggingClassifier, BaggingRegressor
from sklearn.linear_model import LogisticRegression, Perceptron, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

import sklir
from sklir.check import compare_outputs, format_table, passed
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.runtimes import run

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# name -> (estimator factory, dataset)
CASES: dict[str, tuple[Callable[[], Any], str]] = {
    "trees-subsets": (lambda: BaggingClassifier(n_estimators=10, max_features=0.6, random_state=0), "wine"),
    "trees-few-samples": (lambda: BaggingClassifier(n_estimators=8, max_samples=0.15, random_state=1), "iris"),
    "logistic-bootstrap-features": (lambda: BaggingClassifier(LogisticRegression(max_iter=3000), n_estimators=5,
                                                              max_features=0.7, bootstrap_features=True,
                                                              random_state=0), "wine"),
    "perceptron-votes": (lambda: BaggingClassifier(Perceptron(), n_estimators=5, random_state=0), "iris"),
    # bases fitted on 5 rows: some saw two classes of three (their columns are filled in), and
    # their decisions cannot be added, so the model has no decision output
    "pipeline-missed-classes": (lambda: BaggingClassifier(make_pipeline(StandardScaler(), LogisticRegression()),
                                                          n_estimators=6, max_samples=5, random_state=0), "iris"),
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
    if case == "pipeline-missed-classes":
        _assert_missed_classes(estimator, X)
        return
    module = assert_parity(estimator, X)
    fused = sum(isinstance(n.op, TreeEnsemble) for n in module.nodes)
    assert fused == (1 if "trees" in case else 0)


def _assert_missed_classes(estimator: Any, X: Any) -> None:
    """Labels and probabilities as scikit-learn's; no decision, which scikit-learn cannot compute."""
    assert any(len(e.classes_) < 3 for e in estimator.estimators_), "every base saw every class: reseed"
    with pytest.raises(ValueError):  # scikit-learn cannot add the bases' decisions either
        estimator.decision_function(X)
    X32 = np.asarray(X, dtype=np.float32)
    want = {"label": estimator.predict(X32.astype(np.float64)),
            "probabilities": estimator.predict_proba(X32.astype(np.float64))}
    module = sklir.lower(estimator)
    assert list(module.outputs) == ["label", "probabilities"]
    for backend in ("tflite", "onnx"):
        rows = compare_outputs(run(artefact(module, backend), runtime(backend), X32), want, 1e-5)
        assert passed(rows), format_table(rows, 1e-5)

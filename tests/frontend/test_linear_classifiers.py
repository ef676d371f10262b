"""Parity of every linear classifier with scikit-learn: labels, decisions and probabilities.

Data: breast_cancer (binary), iris, wine and digits (multiclass). Only iris is used raw. wine and
breast_cancer are standardised because their raw features span four orders of magnitude, and
digits because SGD learns weights in the hundreds on its raw 0-16 pixels: either way a float32
decision is a sum of large terms that cancel, off by ~1e-4 where float64 is exact, which moves
probabilities near 0.5 by more than 1e-5. The standardised data is rounded to float32 like every
test input. Tolerances are the harness defaults (interpreter 1e-9,
float32 artefacts 1e-5 of the output's scale, labels identical); see tests/parity.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pytest
from conftest import dataset, standardised
from parity import assert_parity
from sklearn import linear_model as lm
from sklearn.svm import LinearSVC

from sklir.frontend.families.linear_classifiers import EXPIT_ZERO_BELOW

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SGD_LOSSES = ["hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron", "squared_error", "huber",
              "epsilon_insensitive", "squared_epsilon_insensitive"]

# name -> factory
ESTIMATORS: dict[str, Callable[[], Any]] = {
    "LogisticRegression": lambda: lm.LogisticRegression(max_iter=5000),
    "LogisticRegressionCV": lambda: lm.LogisticRegressionCV(cv=3, max_iter=2000),
    "RidgeClassifier": lm.RidgeClassifier,
    "RidgeClassifierCV": lm.RidgeClassifierCV,
    "Perceptron": lambda: lm.Perceptron(random_state=0),
    "PassiveAggressiveClassifier": lambda: lm.PassiveAggressiveClassifier(random_state=0),
    "LinearSVC": lambda: LinearSVC(max_iter=20000, random_state=0),
    "LinearSVC(crammer_singer)": lambda: LinearSVC(multi_class="crammer_singer", max_iter=20000, random_state=0),
    # alpha 1e-2 rather than 1e-4: the default lets SGD learn decisions in the thousands on these datasets,
    # which float32 carries only to ~4e-4, while the probability of a modified-Huber row depends on them linearly
    **{f"SGDClassifier({loss})": (lambda loss=loss: lm.SGDClassifier(loss=loss, alpha=1e-2, max_iter=2000,
                                                                     random_state=0))
       for loss in SGD_LOSSES},
}
# the problems every estimator is tested on; digits is kept to the cheaper estimators
PROBLEMS = ["breast_cancer", "iris", "wine"]
DIGITS = ["LogisticRegression", "RidgeClassifier", "SGDClassifier(log_loss)", "SGDClassifier(modified_huber)",
          "LinearSVC"]
STANDARDISED = {"wine", "breast_cancer", "digits"}

# label dtype -> how the dataset's integer y becomes labels of that dtype
LABELS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "int": lambda y: y.astype(np.int64),
    "int32": lambda y: y.astype(np.int32),
    "float": lambda y: y.astype(np.float64) * 2.0 - 1.0,
    "bool": lambda y: y.astype(bool),
    "str": lambda y: np.array([f"class_{v}" for v in y]),
    "object": lambda y: np.array([f"c{v}" for v in y], dtype=object),
}
LABEL_ESTIMATORS = ["LogisticRegression", "RidgeClassifier", "SGDClassifier(modified_huber)", "LinearSVC"]
NO_INTERCEPT = ["LogisticRegression", "RidgeClassifier", "SGDClassifier(log_loss)", "LinearSVC", "Perceptron"]


def data(problem: str) -> tuple[np.ndarray, np.ndarray]:
    """``problem``'s X (standardised where its raw scale is wide), float32-exact, and y."""
    return standardised(problem) if problem in STANDARDISED else dataset(problem)


@cache
def fitted(name: str, problem: str, labels: str = "int", **params: Any) -> Any:
    """``ESTIMATORS[name]`` with ``params``, fitted once on ``problem`` with ``labels``-typed y."""
    X, y = data(problem)
    return ESTIMATORS[name]().set_params(**params).fit(X, LABELS[labels](y))


CASES = [(name, problem) for name in ESTIMATORS for problem in PROBLEMS] + [(name, "digits") for name in DIGITS]


@pytest.mark.parametrize(("name", "problem"), CASES)
def test_parity(name: str, problem: str) -> None:
    assert_parity(fitted(name, problem), data(problem)[0])


# bool labels have two classes, so only the binary problem takes them
LABEL_CASES = [(name, labels, problem) for name in LABEL_ESTIMATORS for labels in LABELS
               for problem in ("breast_cancer", "iris") if labels != "bool" or problem == "breast_cancer"]


@pytest.mark.parametrize(("name", "labels", "problem"), LABEL_CASES)
def test_label_dtypes(name: str, labels: str, problem: str) -> None:
    assert_parity(fitted(name, problem, labels), data(problem)[0])


@pytest.mark.parametrize("problem", ["breast_cancer", "wine"])
@pytest.mark.parametrize("name", NO_INTERCEPT)
def test_parity_without_intercept(name: str, problem: str) -> None:
    assert_parity(fitted(name, problem, fit_intercept=False), data(problem)[0])


def test_ridge_classifier_multilabel() -> None:
    X, y = data("wine")
    Y = np.column_stack([y == 0, y == 2, X[:, 0] > 0]).astype(np.int64)
    est = lm.RidgeClassifier().fit(X, Y)
    assert_parity(est, X)


def _shifted(est: Any, X: np.ndarray, threshold: float, margin: float) -> tuple[Any, np.ndarray]:
    """A copy of ``est`` whose intercepts are lowered so that half the rows of ``X`` have every decision
    below ``threshold``, with the rows that have a decision within ``margin`` of it dropped (float32
    rounding decides those)."""
    shifted = copy.deepcopy(est)
    scores = est.decision_function(X)
    shift = threshold - np.median(scores.max(axis=1))
    shifted.intercept_ = est.intercept_ + shift
    keep = np.all(np.abs(scores + shift - threshold) > margin, axis=1)
    return shifted, X[keep]


@pytest.mark.parametrize(("loss", "threshold"), [
    # expit(s) is exactly 0 in float64 below EXPIT_ZERO_BELOW; the rows above it sit where float32's
    # expit would underflow, so this also checks the log-space normalisation
    ("log_loss", EXPIT_ZERO_BELOW),
    # clip(s, -1, 1) + 1 is 0 for s <= -1
    ("modified_huber", -1.0),
])
def test_sgd_all_zero_rows_are_uniform(loss: str, threshold: float) -> None:
    X = data("wine")[0]
    est, X_kept = _shifted(fitted(f"SGDClassifier({loss})", "wine"), X, threshold, margin=1e-2)
    proba = est.predict_proba(X_kept)
    uniform = np.all(proba == 1.0 / 3.0, axis=1)
    assert 0 < uniform.sum() < len(X_kept), "the test must mix uniform and ordinary rows"
    assert_parity(est, X_kept)

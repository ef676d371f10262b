"""Parity of MLPClassifier and MLPRegressor (issue 7): every activation, binary, multiclass,
multilabel and string-labelled classifiers, single and multi-target regressors, the poisson loss.

Labels identical, probabilities and predictions within 1e-5 of their scale (the harness's
default) under the interpreter, LiteRT and onnxruntime, on standardised real data.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import dataset, standardised
from parity import assert_parity
from sklearn.neural_network import MLPClassifier, MLPRegressor

ACTIVATIONS = ["relu", "tanh", "logistic", "identity"]
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("name", ["iris", "breast_cancer", "digits"])
def test_classifier(name: str, activation: str) -> None:
    X, y = standardised(name)
    model = MLPClassifier((16, 8), activation=activation, max_iter=300, random_state=0)
    assert_parity(model.fit(X, y), X)


def test_multilabel_and_string_labels() -> None:
    X, y = standardised("iris")
    indicator = np.stack([y == 0, y == 1], axis=1).astype(int)
    assert_parity(MLPClassifier((8,), max_iter=500, random_state=0).fit(X, indicator), X)
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    assert_parity(MLPClassifier((8,), max_iter=500, random_state=0).fit(X, names), X)


@pytest.mark.parametrize("kwargs", [{"activation": "relu"}, {"activation": "tanh"}, {"loss": "poisson"}],
                         ids=["relu", "tanh", "poisson"])
def test_regressor(kwargs: dict[str, str]) -> None:
    X, y = standardised("diabetes")
    assert_parity(MLPRegressor(hidden_layer_sizes=(20,), max_iter=500, random_state=0, **kwargs).fit(X, y), X)


def test_multi_target_regressor() -> None:
    X, Y = dataset("linnerud")
    assert_parity(MLPRegressor(hidden_layer_sizes=(8,), max_iter=500, random_state=0).fit(X, Y), X)

"""Parity of LinearDiscriminantAnalysis and QuadraticDiscriminantAnalysis (issue 7).

Labels identical, decisions and probabilities within 1e-5 of their scale (the harness's default)
under the interpreter, LiteRT and onnxruntime, on iris, wine, breast cancer (two classes) and
digits; LDA's transform inside a pipeline for the solvers that have one; string labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import dataset
from parity import assert_parity
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import sklir
from sklir.errors import UnsupportedEstimatorError

DATASETS = ["iris", "wine", "breast_cancer", "digits"]
MODELS = {
    "lda-svd": lambda: LinearDiscriminantAnalysis(),
    "lda-eigen-shrunk": lambda: LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto"),
    "lda-lsqr": lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage=0.1),
    "lda-priors": lambda: LinearDiscriminantAnalysis(priors=None, tol=1e-6),
    "qda": lambda: QuadraticDiscriminantAnalysis(reg_param=0.01),
}


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("name", DATASETS)
def test_classifier_parity(name: str, model: str) -> None:
    X, y = dataset(name)
    assert_parity(MODELS[model]().fit(X, y), X)


def test_qda_unregularised_with_string_labels() -> None:
    X, y = dataset("iris")
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    assert_parity(QuadraticDiscriminantAnalysis().fit(X, names), X)


@pytest.mark.parametrize("lda", [LinearDiscriminantAnalysis(n_components=2),
                                 LinearDiscriminantAnalysis(solver="eigen", n_components=1)],
                         ids=["svd", "eigen"])
def test_transform_in_a_pipeline(lda: Any) -> None:
    X, y = dataset("wine")
    assert_parity(make_pipeline(lda, LogisticRegression(max_iter=500)).fit(X, y), X)


def test_lsqr_has_no_transform_and_is_refused_as_a_step() -> None:
    # scikit-learn cannot fit such a pipeline; one assembled from fitted steps is refused by name
    from sklearn.pipeline import Pipeline

    X, y = dataset("wine")
    lda = LinearDiscriminantAnalysis(solver="lsqr").fit(X, y)
    model = Pipeline([("lda", lda), ("logistic", LogisticRegression().fit(X[:, :2], y))])
    with pytest.raises(UnsupportedEstimatorError, match="solver='lsqr' is not supported"):
        sklir.lower(model)

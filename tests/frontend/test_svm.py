"""Parity of the SVMs (issue 7): SVC, NuSVC, SVR, NuSVR, OneClassSVM and SGDOneClassSVM.

Every kernel (linear, poly, rbf, sigmoid) on standardised real data; labels identical and
values within 1e-5 of their scale (the harness's default) under the interpreter, LiteRT and
onnxruntime, including libsvm's probabilities (Platt scaling and pairwise coupling: the coupling
stops each row where libsvm does, so two-class probabilities keep libsvm's distance of up to
0.0025 from the sigmoid, and match to 1e-5); precomputed and callable kernels refused by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import standardised
from parity import assert_parity
from sklearn.linear_model import SGDOneClassSVM
from sklearn.svm import SVC, SVR, NuSVC, NuSVR, OneClassSVM

import sklir
from sklir.errors import UnsupportedEstimatorError

REGRESSORS = {
    "svr-rbf": lambda: SVR(C=10.0),
    "svr-linear": lambda: SVR(kernel="linear"),
    "svr-poly": lambda: SVR(kernel="poly", degree=2, coef0=1.0),
    "svr-sigmoid": lambda: SVR(kernel="sigmoid", gamma=0.01),
    "nusvr-rbf": lambda: NuSVR(C=10.0, nu=0.3),
    "nusvr-auto-gamma": lambda: NuSVR(gamma="auto"),
}
DETECTORS = {
    "rbf": lambda: OneClassSVM(nu=0.1),
    "linear": lambda: OneClassSVM(kernel="linear", nu=0.2),
    "poly": lambda: OneClassSVM(kernel="poly", degree=3, gamma=0.01),
    "sigmoid": lambda: OneClassSVM(kernel="sigmoid", gamma=0.001, nu=0.3),
    "sgd": lambda: SGDOneClassSVM(nu=0.2, random_state=0),
    "sgd-averaged": lambda: SGDOneClassSVM(nu=0.1, average=True, random_state=0),
}


CLASSIFIERS = {
    "rbf": lambda: SVC(),
    "linear": lambda: SVC(kernel="linear", C=0.5),
    "poly": lambda: SVC(kernel="poly", degree=2, coef0=1.0),
    "sigmoid": lambda: SVC(kernel="sigmoid", gamma=0.05),
    "ovo": lambda: SVC(decision_function_shape="ovo", C=3.0),
    "break-ties": lambda: SVC(break_ties=True),
    "nusvc": lambda: NuSVC(nu=0.2),
    "nusvc-poly-ovo": lambda: NuSVC(kernel="poly", degree=3, decision_function_shape="ovo"),
    "probability": lambda: SVC(probability=True, random_state=0),
    "nusvc-probability": lambda: NuSVC(nu=0.3, probability=True, random_state=0),
}


@pytest.mark.parametrize("name", ["iris", "breast_cancer"])
@pytest.mark.parametrize("model", sorted(CLASSIFIERS))
def test_classifier_parity(model: str, name: str) -> None:
    """Three classes (votes, ovr and ovo shapes, coupling) and two (one decision column)."""
    X, y = standardised(name)
    assert_parity(CLASSIFIERS[model]().fit(X, y), X)


def test_ten_classes_with_string_labels() -> None:
    X, y = standardised("digits")
    names = np.array([f"digit {d}" for d in range(10)], dtype=object)[y]
    assert_parity(SVC(probability=True, random_state=0).fit(X, names), X)
    assert_parity(SVC(kernel="poly", degree=2, decision_function_shape="ovo").fit(X, names), X)


def test_break_ties_with_ovo_is_refused() -> None:
    X, y = standardised("iris")
    with pytest.raises(UnsupportedEstimatorError, match="SVC: break_ties=True is not supported"):
        sklir.lower(SVC(break_ties=True, decision_function_shape="ovo").fit(X, y))


@pytest.mark.parametrize("model", sorted(REGRESSORS))
def test_regressor_parity(model: str) -> None:
    X, y = standardised("diabetes")
    assert_parity(REGRESSORS[model]().fit(X, y), X)


@pytest.mark.parametrize("model", sorted(DETECTORS))
def test_one_class_parity(model: str) -> None:
    X, _ = standardised("breast_cancer")
    assert_parity(DETECTORS[model]().fit(X), X)


@pytest.mark.parametrize("kernel", ["precomputed", "callable"])
def test_kernels_without_vectors_are_refused_by_name(kernel: str) -> None:
    X, y = standardised("diabetes")
    chosen: Any = (lambda a, b: a @ b.T) if kernel == "callable" else kernel
    data = X @ X.T if kernel == "precomputed" else X
    for model in (SVR(kernel=chosen).fit(data, y), SVC(kernel=chosen).fit(data, y > 140)):
        with pytest.raises(UnsupportedEstimatorError, match=f"{type(model).__name__}: kernel=.* is not supported"):
            sklir.lower(model)
        method = model.decision_function if isinstance(model, SVC) else model.predict
        assert np.isfinite(method(data[:2])).all()

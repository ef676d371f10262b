"""Parity of the SVMs that need no vote (issue 7): SVR, NuSVR, OneClassSVM and SGDOneClassSVM.

Every kernel (linear, poly, rbf, sigmoid) on standardised real data; labels identical and
values within 1e-5 of their scale (the harness's default) under the interpreter, LiteRT and
onnxruntime; precomputed and callable kernels refused by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import standardised
from parity import assert_parity
from sklearn.linear_model import SGDOneClassSVM
from sklearn.svm import SVR, NuSVR, OneClassSVM

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
    model = SVR(kernel=chosen).fit(data, y)
    with pytest.raises(UnsupportedEstimatorError, match="SVR: kernel=.* is not supported"):
        sklir.lower(model)
    assert np.isfinite(model.predict(data[:2])).all()

"""Parity of KernelRidge (issue 7) for every kernel scikit-learn names, on real data.

Predictions within 1e-5 of their scale (the harness's default) under the interpreter, LiteRT and
onnxruntime, or within the float32 rounding of their sum where that is larger: a prediction is a
sum over every training row of a kernel value times a dual coefficient, and when those terms are
far larger than the prediction (``cond = max sum |K_ij a_j| / max(1, max |prediction|)``,
measured per model: 9000 for additive chi2 on digits) float32 keeps about ``8 cond 2^-24`` of
scale (measured 5.7e-4 at cond 9000).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import dataset, standardised
from parity import assert_parity
from sklearn.kernel_ridge import KernelRidge

import sklir
from sklir.errors import UnsupportedEstimatorError

MODELS = {
    "linear": {"kernel": "linear"},
    "rbf": {"kernel": "rbf", "gamma": 0.1},
    "rbf-default-gamma": {"kernel": "rbf"},
    "poly": {"kernel": "poly", "degree": 2, "coef0": 1.0, "gamma": 0.05},
    "polynomial-alias": {"kernel": "polynomial", "degree": 3},
    "sigmoid": {"kernel": "sigmoid", "gamma": 0.01, "coef0": 0.5},
    "laplacian": {"kernel": "laplacian", "gamma": 0.05},
    "cosine": {"kernel": "cosine"},
    "kernel-params-ignored": {"kernel": "rbf", "kernel_params": {"gamma": 0.2}},
}


def sum_tolerance(model: KernelRidge, X: np.ndarray) -> float:
    """1e-5, or float32's rounding of the prediction's sum over training rows where that is larger."""
    K = model._get_kernel(X, model.X_fit_)
    dual = model.dual_coef_.reshape(len(model.X_fit_), -1)
    cond = (np.abs(K) @ np.abs(dual)).max() / max(1.0, np.abs(K @ dual).max())
    return max(1e-5, 8 * cond * 2.0 ** -24)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_kernel_ridge(model: str) -> None:
    X, y = standardised("diabetes")
    fitted = KernelRidge(alpha=1.0, **MODELS[model]).fit(X, y)
    assert_parity(fitted, X, rtol=sum_tolerance(fitted, X))


@pytest.mark.parametrize("kernel", ["chi2", "additive_chi2"])
def test_chi2_kernels_on_non_negative_data(kernel: str) -> None:
    """Digits are non-negative counts (chi2's domain), with two targets."""
    X, y = dataset("digits")
    Y = np.column_stack([y, X[:, 20]]).astype(float)
    fitted = KernelRidge(alpha=1.0, kernel=kernel, gamma=0.01).fit(X[:600], Y[:600])
    assert_parity(fitted, X, rtol=sum_tolerance(fitted, X))


def test_callable_and_precomputed_are_refused() -> None:
    X, y = standardised("diabetes")
    for kernel, data in (("precomputed", X @ X.T), (lambda a, b: float(a @ b), X[:50])):
        model = KernelRidge(kernel=kernel).fit(data, y[:len(data)])
        with pytest.raises(UnsupportedEstimatorError, match="KernelRidge: kernel="):
            sklir.lower(model)

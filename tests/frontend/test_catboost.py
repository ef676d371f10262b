"""Parity of CatBoost's classifier and regressor on numeric features, decisions identical to CatBoost's.

Each model is fitted on a real scikit-learn dataset (NaNs knocked out under each missing-value
treatment) and checked through the harness: labels identical, probabilities and predictions
within 1e-5 of their scale under LiteRT and onnxruntime. Beyond the contract, the leaf every
tree reaches must equal CatBoost's own ``calc_leaf_indexes`` for every lowering strategy on both
backends.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest
from conftest import dataset, knock_out
from parity import assert_leaves, assert_parity
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklir
from sklir.errors import UnsupportedEstimatorError
from sklir.ir.core import Module
from sklir.passes.lower_trees import STRATEGIES

cb = pytest.importorskip("catboost")

BACKENDS = ("tflite", "onnx")


def _quiet(**params: Any) -> dict[str, Any]:
    return {"verbose": 0, "random_seed": 0, "thread_count": 1, "allow_writing_files": False, **params}


@cache
def fitted(name: str) -> tuple[Any, np.ndarray]:
    """(fitted model, its test inputs), once per session."""
    X_bc, y_bc = dataset("breast_cancer")
    X_wine, y_wine = dataset("wine")
    X_iris, y_iris = dataset("iris")
    X_dia, y_dia = dataset("diabetes")
    X_lin, y_lin = dataset("linnerud")
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y_iris]
    makers: dict[str, tuple[Any, np.ndarray, Any]] = {
        "CatBoostClassifier": (cb.CatBoostClassifier(**_quiet(iterations=40, depth=4)), X_bc, y_bc),
        "CatBoostClassifier-nan-min": (cb.CatBoostClassifier(**_quiet(iterations=25, nan_mode="Min")),
                                       knock_out(X_bc, 0), y_bc),
        "CatBoostClassifier-nan-max": (cb.CatBoostClassifier(**_quiet(iterations=25, nan_mode="Max")),
                                       knock_out(X_bc, 3), y_bc),
        "CatBoostClassifier-multiclass": (cb.CatBoostClassifier(**_quiet(iterations=20, depth=3)), X_wine, y_wine),
        "CatBoostClassifier-strings": (cb.CatBoostClassifier(**_quiet(iterations=15, depth=3)), X_iris, names),
        "CatBoostClassifier-crossentropy": (
            cb.CatBoostClassifier(**_quiet(iterations=15, loss_function="CrossEntropy")), X_bc, y_bc),
        "CatBoostRegressor": (cb.CatBoostRegressor(**_quiet(iterations=50, depth=6)), X_dia, y_dia),
        "CatBoostRegressor-nan": (cb.CatBoostRegressor(**_quiet(iterations=30)), knock_out(X_dia, 1), y_dia),
        "CatBoostRegressor-poisson": (cb.CatBoostRegressor(**_quiet(iterations=30, loss_function="Poisson")), X_dia,
                                      np.round(y_dia / 25.0)),
        "CatBoostRegressor-tweedie": (cb.CatBoostRegressor(**_quiet(iterations=30,
                                                                    loss_function="Tweedie:variance_power=1.5")),
                                      X_dia, y_dia),
        "CatBoostRegressor-mae": (cb.CatBoostRegressor(**_quiet(iterations=20, loss_function="MAE")), X_dia, y_dia),
        "CatBoostRegressor-multi": (cb.CatBoostRegressor(**_quiet(iterations=20, depth=3, loss_function="MultiRMSE")),
                                    X_lin, y_lin),
    }
    if name == "CatBoostClassifier-early-stopped":
        model = cb.CatBoostClassifier(**_quiet(iterations=500, learning_rate=0.3, early_stopping_rounds=5))
        model.fit(X_bc[::2], y_bc[::2], eval_set=(X_bc[1::2], y_bc[1::2]))
        assert model.tree_count_ < 500
        return model, X_bc
    if name == "CatBoostClassifier-threshold":  # predict takes class 1 above 0.8, not 0.5
        model = cb.CatBoostClassifier(**_quiet(iterations=20, depth=3)).fit(X_bc, y_bc)
        model.set_probability_threshold(0.8)
        return model, X_bc
    if name == "Pipeline-CatBoostRegressor":
        return make_pipeline(StandardScaler(), cb.CatBoostRegressor(**_quiet(iterations=20))).fit(X_dia, y_dia), X_dia
    estimator, X, y = makers[name]
    return estimator.fit(X, y), X


NAMES = ["CatBoostClassifier", "CatBoostClassifier-nan-min", "CatBoostClassifier-nan-max",
         "CatBoostClassifier-multiclass", "CatBoostClassifier-strings", "CatBoostClassifier-crossentropy",
         "CatBoostClassifier-early-stopped", "CatBoostClassifier-threshold", "CatBoostRegressor",
         "CatBoostRegressor-nan", "CatBoostRegressor-poisson", "CatBoostRegressor-tweedie", "CatBoostRegressor-mae",
         "CatBoostRegressor-multi", "Pipeline-CatBoostRegressor"]


@pytest.mark.parametrize("name", NAMES)
def test_contract_parity(name: str) -> None:
    estimator, X = fitted(name)
    assert_parity(estimator, X)


@cache
def _leaf_module(name: str) -> Module:
    return sklir.lower(fitted(name)[0], internals=("leaves",))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@pytest.mark.parametrize("name", [n for n in NAMES if not n.startswith("Pipeline")])
def test_leaves_equal_calc_leaf_indexes(name: str, strategy: str, backend: str) -> None:
    estimator, X = fitted(name)
    module = _leaf_module(name)
    X32 = np.asarray(X, dtype=np.float32)
    want = np.asarray(estimator.calc_leaf_indexes(cb.Pool(X32.astype(np.float64))))
    assert_leaves(module, X32, want, strategy, backend)


def test_categorical_features_and_other_tree_shapes_are_refused_by_name() -> None:
    X, y = dataset("iris")
    codes = np.column_stack([X, (y * 7) % 3]).astype(object)
    codes[:, 4] = codes[:, 4].astype(int).astype(str)
    categorical = cb.CatBoostClassifier(**_quiet(iterations=3, cat_features=[4])).fit(codes, y)
    with pytest.raises(UnsupportedEstimatorError, match="cat_features=\\[4\\] is not supported"):
        sklir.lower(categorical)
    uncertain = cb.CatBoostRegressor(**_quiet(iterations=3, loss_function="RMSEWithUncertainty")).fit(X, y)
    with pytest.raises(UnsupportedEstimatorError, match="loss_function='RMSEWithUncertainty' is not supported"):
        sklir.lower(uncertain)
    depthwise = cb.CatBoostClassifier(**_quiet(iterations=3, grow_policy="Depthwise")).fit(X, y)
    with pytest.raises(UnsupportedEstimatorError, match="grow_policy='Depthwise' is not supported"):
        sklir.lower(depthwise)

"""Parity of LightGBM's scikit-learn wrappers, decisions identical to LightGBM's.

Each model is fitted on a real scikit-learn dataset (NaNs knocked out, zeros and categories where
the model routes them) and checked through the harness: labels identical, probabilities, scores
and predictions within 1e-5 of their scale under LiteRT and onnxruntime. Beyond the contract,
the leaf every tree reaches must equal LightGBM's own ``predict(pred_leaf=True)`` for every
lowering strategy on both backends.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest
from conftest import dataset, knock_out
from parity import artefact, assert_leaves, assert_parity, runtime
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklir
from sklir.errors import UnsupportedEstimatorError
from sklir.ir.core import Module
from sklir.passes.lower_trees import STRATEGIES
from sklir.runtimes import run

lgb = pytest.importorskip("lightgbm")

BACKENDS = ("tflite", "onnx")
# digits' centre pixels (intensities 0..16) as categorical features
PIXELS = [27, 28, 35, 36]


def _quiet(**params: Any) -> dict[str, Any]:
    return {"verbose": -1, "random_state": 0, **params}


@cache
def fitted(name: str) -> tuple[Any, np.ndarray]:
    """(fitted model, its test inputs), once per session."""
    X_bc, y_bc = dataset("breast_cancer")
    X_wine, y_wine = dataset("wine")
    X_iris, y_iris = dataset("iris")
    X_dia, y_dia = dataset("diabetes")
    X_digits, y_digits = dataset("digits")
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y_iris]
    nan_bc, nan_dia = knock_out(X_bc, 0), knock_out(X_dia, 1)
    makers: dict[str, tuple[Any, np.ndarray, Any]] = {
        "LGBMClassifier": (lgb.LGBMClassifier(**_quiet(n_estimators=30)), X_bc, y_bc),
        "LGBMClassifier-nan": (lgb.LGBMClassifier(**_quiet(n_estimators=25)), nan_bc, y_bc),
        "LGBMClassifier-multiclass": (lgb.LGBMClassifier(**_quiet(n_estimators=15, num_leaves=8)), X_wine, y_wine),
        "LGBMClassifier-strings": (lgb.LGBMClassifier(**_quiet(n_estimators=10, min_child_samples=5)), X_iris, names),
        "LGBMClassifier-ova": (lgb.LGBMClassifier(**_quiet(n_estimators=10, objective="multiclassova")), X_wine,
                               y_wine),
        "LGBMClassifier-two-multiclass": (lgb.LGBMClassifier(**_quiet(n_estimators=5, objective="multiclass",
                                                                      num_class=2)), X_bc, y_bc),
        "LGBMClassifier-sigmoid": (lgb.LGBMClassifier(**_quiet(n_estimators=10, sigmoid=2.5)), X_bc, y_bc),
        "LGBMClassifier-zero": (lgb.LGBMClassifier(**_quiet(n_estimators=10, zero_as_missing=True, num_leaves=15)),
                                knock_out(X_digits, 2), y_digits),
        "LGBMClassifier-rf": (lgb.LGBMClassifier(**_quiet(n_estimators=15, boosting_type="rf", bagging_fraction=0.6,
                                                          bagging_freq=1, feature_fraction=0.7)), X_bc, y_bc),
        "LGBMClassifier-dart": (lgb.LGBMClassifier(**_quiet(n_estimators=20, boosting_type="dart")), X_bc, y_bc),
        "LGBMRegressor": (lgb.LGBMRegressor(**_quiet(n_estimators=40)), X_dia, y_dia),
        "LGBMRegressor-nan": (lgb.LGBMRegressor(**_quiet(n_estimators=30)), nan_dia, y_dia),
        "LGBMRegressor-poisson": (lgb.LGBMRegressor(**_quiet(n_estimators=30, objective="poisson")), X_dia, y_dia),
        "LGBMRegressor-gamma": (lgb.LGBMRegressor(**_quiet(n_estimators=30, objective="gamma")), X_dia, y_dia),
        "LGBMRegressor-tweedie": (lgb.LGBMRegressor(**_quiet(n_estimators=30, objective="tweedie")), X_dia, y_dia),
        "LGBMRegressor-sqrt": (lgb.LGBMRegressor(**_quiet(n_estimators=20, reg_sqrt=True)), X_dia, y_dia),
        "LGBMRegressor-l1": (lgb.LGBMRegressor(**_quiet(n_estimators=20, objective="l1")), X_dia, y_dia),
        "LGBMRegressor-huber": (lgb.LGBMRegressor(**_quiet(n_estimators=20, objective="huber")), X_dia, y_dia),
        "LGBMRegressor-quantile": (lgb.LGBMRegressor(**_quiet(n_estimators=20, objective="quantile", alpha=0.8)),
                                   X_dia, y_dia),
    }
    if name == "LGBMClassifier-categorical":
        model = lgb.LGBMClassifier(**_quiet(n_estimators=12, num_leaves=8, cat_smooth=1, min_data_per_group=5))
        return model.fit(X_digits, y_digits, categorical_feature=PIXELS), X_digits
    if name == "LGBMClassifier-early-stopped":
        model = lgb.LGBMClassifier(**_quiet(n_estimators=400, learning_rate=0.3))
        model.fit(X_bc[::2], y_bc[::2], eval_set=[(X_bc[1::2], y_bc[1::2])],
                  callbacks=[lgb.early_stopping(5, verbose=False)])
        assert 0 < model.best_iteration_ < 400
        return model, X_bc
    if name == "LGBMRanker":
        qid = np.arange(len(X_dia)) // 20
        relevance = np.digitize(y_dia, np.quantile(y_dia, [0.2, 0.4, 0.6, 0.8]))
        return lgb.LGBMRanker(**_quiet(n_estimators=20)).fit(X_dia, relevance, group=np.bincount(qid)), X_dia
    if name == "Pipeline-LGBMRegressor":
        return make_pipeline(StandardScaler(), lgb.LGBMRegressor(**_quiet(n_estimators=20))).fit(X_dia, y_dia), X_dia
    estimator, X, y = makers[name]
    return estimator.fit(X, y), X


NAMES = ["LGBMClassifier", "LGBMClassifier-nan", "LGBMClassifier-multiclass", "LGBMClassifier-strings",
         "LGBMClassifier-ova", "LGBMClassifier-two-multiclass", "LGBMClassifier-sigmoid", "LGBMClassifier-zero",
         "LGBMClassifier-rf", "LGBMClassifier-dart", "LGBMClassifier-categorical", "LGBMClassifier-early-stopped",
         "LGBMRegressor", "LGBMRegressor-nan", "LGBMRegressor-poisson", "LGBMRegressor-gamma",
         "LGBMRegressor-tweedie", "LGBMRegressor-sqrt", "LGBMRegressor-l1", "LGBMRegressor-huber",
         "LGBMRegressor-quantile", "LGBMRanker", "Pipeline-LGBMRegressor"]


@pytest.mark.parametrize("name", NAMES)
def test_contract_parity(name: str) -> None:
    estimator, X = fitted(name)
    assert_parity(estimator, X)


@cache
def _leaf_module(name: str) -> Module:
    return sklir.lower(fitted(name)[0], internals=("leaves",))


def _pred_leaf(estimator: Any, X: np.ndarray) -> np.ndarray:
    """Each tree's leaf index as LightGBM finds it, over the trees ``predict`` uses."""
    return np.asarray(estimator.predict(X, pred_leaf=True)).reshape(len(X), -1)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@pytest.mark.parametrize("name", [n for n in NAMES if not n.startswith("Pipeline")])
def test_leaves_equal_pred_leaf(name: str, strategy: str, backend: str) -> None:
    estimator, X = fitted(name)
    module = _leaf_module(name)
    X32 = np.asarray(X, dtype=np.float32)
    want = _pred_leaf(estimator, X32.astype(np.float64))
    assert_leaves(module, X32, want, strategy, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_odd_values_go_as_lightgbm_sends_them(backend: str) -> None:
    # categories unseen, negative, fractional (truncated, -0.5 to 0), huge and missing; zeros,
    # values within 1e-35 of zero and NaN where zero is missing
    for name, columns, odd in (("LGBMClassifier-categorical", PIXELS, [17.0, -1.0, 2.5, 4e9, np.nan, 3.0, -0.5, 1.7]),
                               ("LGBMClassifier-zero", list(range(20, 28)), [0.0, 1e-36, -1e-36, np.nan, 2e-35, 5.0])):
        estimator, X = fitted(name)
        rows = X[:64].copy()
        rows[:, columns] = np.resize(np.array(odd), (64, len(columns)))
        got = run(artefact(_leaf_module(name), backend), runtime(backend), rows.astype(np.float32))
        np.testing.assert_array_equal(got["leaves"], _pred_leaf(estimator, rows.astype(np.float32).astype(np.float64)))
        np.testing.assert_array_equal(got["label"], estimator.predict(rows.astype(np.float32).astype(np.float64)))


def test_linear_trees_and_custom_objectives_are_refused_by_name() -> None:
    X, y = dataset("diabetes")
    linear = lgb.LGBMRegressor(**_quiet(n_estimators=3, linear_tree=True)).fit(X, y)
    with pytest.raises(UnsupportedEstimatorError, match="linear_tree=True is not supported"):
        sklir.lower(linear)

    def squared(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return y_pred - y_true, np.ones_like(y_true)

    custom = lgb.LGBMRegressor(**_quiet(n_estimators=3, objective=squared)).fit(X, y)
    with pytest.raises(UnsupportedEstimatorError, match="objective='custom' is not supported"):
        sklir.lower(custom)


@pytest.mark.parametrize("objective", ["binary", "multiclass", "regression"])
def test_bare_booster_gives_what_predict_gives(objective: str) -> None:
    X, y = dataset("wine") if objective == "multiclass" else dataset("breast_cancer")
    params = {"objective": objective, "verbose": -1, **({"num_class": 3} if objective == "multiclass" else {})}
    booster = lgb.train(params, lgb.Dataset(knock_out(X, 2), label=y), num_boost_round=15)
    assert isinstance(booster, lgb.Booster)
    rows = knock_out(X, 3)
    assert_parity(booster, rows)
    leaves = sklir.interpret(sklir.lower(booster, internals=("leaves",)), rows.astype(np.float32))["leaves"]
    np.testing.assert_array_equal(leaves, booster.predict(rows.astype(np.float32), pred_leaf=True))

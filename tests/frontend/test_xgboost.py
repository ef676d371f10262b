"""Parity of XGBoost's scikit-learn wrappers, decisions identical to XGBoost's.

Each model is fitted on a real scikit-learn dataset (NaNs knocked out where the model routes
them) and checked through the harness: labels identical, probabilities and predictions within
1e-5 of their scale under LiteRT and onnxruntime. Beyond the contract, the leaf every tree
reaches must equal XGBoost's own ``apply`` (``pred_leaf=True``) for every lowering strategy on
both backends.
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

xgb = pytest.importorskip("xgboost")

BACKENDS = ("tflite", "onnx")


def _ranking() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """diabetes as a ranking task: queries of 20 rows, relevance the target's quintile."""
    X, y = dataset("diabetes")
    qid = np.arange(len(X)) // 20
    return X, np.digitize(y, np.quantile(y, [0.2, 0.4, 0.6, 0.8])), qid


@cache
def fitted(name: str) -> tuple[Any, np.ndarray]:
    """(fitted model, its test inputs), once per session."""
    X_bc, y_bc = dataset("breast_cancer")
    X_wine, y_wine = dataset("wine")
    X_iris, y_iris = dataset("iris")
    X_dia, y_dia = dataset("diabetes")
    nan_bc, nan_dia = knock_out(X_bc, 0), knock_out(X_dia, 1)
    counts = np.round(y_dia / 25.0)  # a count target for the poisson objective
    makers: dict[str, tuple[Any, np.ndarray, Any]] = {
        "XGBClassifier": (xgb.XGBClassifier(n_estimators=30, max_depth=4), X_bc, y_bc),
        "XGBClassifier-nan": (xgb.XGBClassifier(n_estimators=25, max_depth=5), nan_bc, y_bc),
        "XGBClassifier-multiclass": (xgb.XGBClassifier(n_estimators=15, max_depth=3), X_wine, y_wine),
        "XGBClassifier-softmax": (xgb.XGBClassifier(n_estimators=10, objective="multi:softmax"), X_iris, y_iris),
        # two classes fitted with a multiclass objective: two margin columns, softmaxed
        "XGBClassifier-two-softmax": (xgb.XGBClassifier(n_estimators=5, objective="multi:softmax", num_class=2), X_bc,
                                      y_bc),
        "XGBClassifier-logitraw": (xgb.XGBClassifier(n_estimators=10, objective="binary:logitraw"), X_bc, y_bc),
        "XGBClassifier-dart": (xgb.XGBClassifier(n_estimators=15, booster="dart", rate_drop=0.3, random_state=0),
                               X_bc, y_bc),
        "XGBClassifier-missing": (xgb.XGBClassifier(n_estimators=15, missing=0.0), X_bc, y_bc),
        "XGBRFClassifier": (xgb.XGBRFClassifier(n_estimators=20, max_depth=5, random_state=0), X_iris, y_iris),
        "XGBRegressor": (xgb.XGBRegressor(n_estimators=40, max_depth=4), X_dia, y_dia),
        "XGBRegressor-nan": (xgb.XGBRegressor(n_estimators=30, max_depth=6), nan_dia, y_dia),
        "XGBRegressor-poisson": (xgb.XGBRegressor(n_estimators=30, objective="count:poisson"), X_dia, counts),
        "XGBRegressor-gamma": (xgb.XGBRegressor(n_estimators=30, objective="reg:gamma"), X_dia, y_dia),
        "XGBRegressor-tweedie": (xgb.XGBRegressor(n_estimators=30, objective="reg:tweedie"), X_dia, y_dia),
        "XGBRegressor-logistic": (xgb.XGBRegressor(n_estimators=20, objective="reg:logistic"), X_dia,
                                  (y_dia - y_dia.min()) / np.ptp(y_dia)),
        "XGBRegressor-absoluteerror": (xgb.XGBRegressor(n_estimators=20, objective="reg:absoluteerror"), X_dia, y_dia),
        "XGBRegressor-quantiles": (xgb.XGBRegressor(n_estimators=20, objective="reg:quantileerror",
                                                    quantile_alpha=np.array([0.1, 0.5, 0.9])), X_dia, y_dia),
        "XGBRFRegressor": (xgb.XGBRFRegressor(n_estimators=25, max_depth=6, random_state=0), nan_dia, y_dia),
    }
    if name == "XGBRanker":
        X, relevance, qid = _ranking()
        return xgb.XGBRanker(n_estimators=20, max_depth=4).fit(X, relevance, qid=qid), X
    if name == "XGBClassifier-early-stopped":
        model = xgb.XGBClassifier(n_estimators=300, early_stopping_rounds=5, max_depth=3)
        model.fit(X_bc[::2], y_bc[::2], eval_set=[(X_bc[1::2], y_bc[1::2])], verbose=False)
        assert model.best_iteration < 299
        return model, X_bc
    if name == "XGBClassifier-categorical":
        # digits' centre pixels (intensities 0..16) as categorical features
        X, y = dataset("digits")
        types = ["c" if j in (27, 28, 35, 36) else "q" for j in range(64)]
        model = xgb.XGBClassifier(n_estimators=12, max_depth=3, enable_categorical=True, feature_types=types,
                                  max_cat_to_onehot=1, tree_method="hist")
        return model.fit(X, y), X
    if name == "Pipeline-XGBClassifier":
        return make_pipeline(StandardScaler(), xgb.XGBClassifier(n_estimators=20)).fit(X_bc, y_bc), X_bc
    estimator, X, y = makers[name]
    return estimator.fit(X, y), X


NAMES = ["XGBClassifier", "XGBClassifier-nan", "XGBClassifier-multiclass", "XGBClassifier-softmax",
         "XGBClassifier-two-softmax", "XGBClassifier-logitraw", "XGBClassifier-dart", "XGBClassifier-missing",
         "XGBClassifier-early-stopped", "XGBClassifier-categorical", "XGBRFClassifier", "XGBRegressor",
         "XGBRegressor-nan", "XGBRegressor-poisson", "XGBRegressor-gamma", "XGBRegressor-tweedie",
         "XGBRegressor-logistic", "XGBRegressor-absoluteerror", "XGBRegressor-quantiles", "XGBRFRegressor",
         "XGBRanker", "Pipeline-XGBClassifier"]


@pytest.mark.parametrize("name", NAMES)
def test_contract_parity(name: str) -> None:
    estimator, X = fitted(name)
    assert_parity(estimator, X)


@cache
def _leaf_module(name: str) -> Module:
    return sklir.lower(fitted(name)[0], internals=("leaves",))


def _pred_leaf(estimator: Any, X: np.ndarray) -> np.ndarray:
    """Each tree's leaf as XGBoost numbers it, over the trees ``predict`` uses."""
    model = estimator[-1] if hasattr(estimator, "steps") else estimator
    rows = estimator[:-1].transform(X) if hasattr(estimator, "steps") else X
    return np.asarray(model.apply(rows.astype(np.float32))).reshape(len(X), -1)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@pytest.mark.parametrize("name", [n for n in NAMES if n != "Pipeline-XGBClassifier"])
def test_leaves_equal_pred_leaf(name: str, strategy: str, backend: str) -> None:
    estimator, X = fitted(name)
    module = _leaf_module(name)
    X32 = np.asarray(X, dtype=np.float32)
    want = _pred_leaf(estimator, X)
    assert_leaves(module, X32, want, strategy, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_thresholds_compare_strictly(backend: str) -> None:
    # XGBoost sends x == split_condition right and the float32 just below it left
    estimator, X = fitted("XGBRegressor")
    tree = estimator.get_booster().trees_to_dataframe()
    splits = tree[tree["Feature"] != "Leaf"]
    rows = np.repeat(X[:1], 2 * len(splits), axis=0).astype(np.float32)
    for i, (feature, condition) in enumerate(zip(splits["Feature"], splits["Split"], strict=True)):
        column = int(str(feature).lstrip("f"))
        rows[2 * i, column] = np.float32(condition)
        rows[2 * i + 1, column] = np.nextafter(np.float32(condition), np.float32(-np.inf))
    got = run(artefact(_leaf_module("XGBRegressor"), backend), runtime(backend), rows)
    np.testing.assert_array_equal(got["leaves"], _pred_leaf(estimator, rows.astype(np.float64)))
    np.testing.assert_allclose(got["prediction"], estimator.predict(rows), rtol=1e-5, atol=1e-5 * np.abs(
        estimator.predict(rows)).max())


@pytest.mark.parametrize("backend", BACKENDS)
def test_odd_categories_go_as_xgboost_sends_them(backend: str) -> None:
    # unseen, negative, fractional, huge and missing category values
    estimator, X = fitted("XGBClassifier-categorical")
    odd = X[:60].copy()
    odd[:, [27, 28, 35, 36]] = np.resize(np.array([17.0, -1.0, 2.5, 4e7, np.nan, 3.0, -0.5, 16.9]), (60, 4))
    got = run(artefact(_leaf_module("XGBClassifier-categorical"), backend), runtime(backend), odd.astype(np.float32))
    np.testing.assert_array_equal(got["leaves"], _pred_leaf(estimator, odd))
    np.testing.assert_array_equal(got["label"], estimator.predict(odd))


def test_unsupported_objectives_and_boosters_are_refused_by_name() -> None:
    X, y = dataset("breast_cancer")
    hinge = xgb.XGBClassifier(n_estimators=3, objective="binary:hinge").fit(X, y)
    with pytest.raises(UnsupportedEstimatorError, match="objective='binary:hinge' is not supported"):
        sklir.lower(hinge)
    linear = xgb.XGBRegressor(n_estimators=3, booster="gblinear").fit(X, y)
    with pytest.raises(UnsupportedEstimatorError, match="booster='gblinear' is not supported"):
        sklir.lower(linear)
    # vector leaves (one tree for every target): their values are not in split_conditions
    vectors = xgb.XGBRegressor(n_estimators=3, multi_strategy="multi_output_tree").fit(X, np.c_[y, -y])
    with pytest.raises(UnsupportedEstimatorError, match="multi_strategy='multi_output_tree' is not supported"):
        sklir.lower(vectors)


@cache
def _bare(objective: str) -> tuple[Any, np.ndarray]:
    """A Booster trained by ``xgb.train`` (no scikit-learn wrapper), and its inputs."""
    X, y = dataset("wine") if objective.startswith("multi") else dataset("breast_cancer")
    params = {"objective": objective, "max_depth": 3, **({"num_class": 3} if objective.startswith("multi") else {})}
    return xgb.train(params, xgb.DMatrix(knock_out(X, 2), label=y), num_boost_round=15), knock_out(X, 3)


@pytest.mark.parametrize("objective", ["binary:logistic", "multi:softprob", "multi:softmax", "reg:squarederror"])
def test_bare_booster_gives_what_inplace_predict_gives(objective: str) -> None:
    booster, X = _bare(objective)
    assert isinstance(booster, xgb.Booster)
    assert_parity(booster, X)
    leaves = sklir.interpret(sklir.lower(booster, internals=("leaves",)), X.astype(np.float32))["leaves"]
    np.testing.assert_array_equal(leaves, booster.predict(xgb.DMatrix(X.astype(np.float32)), pred_leaf=True))

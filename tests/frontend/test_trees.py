"""Parity of decision trees and forests, decisions identical to scikit-learn.

Every estimator is fitted on a real scikit-learn dataset and checked through the harness
(``assert_parity``: labels identical, probabilities and predictions within 1e-5 of their scale,
under LiteRT and onnxruntime). Beyond the contract, the leaf every tree reaches must equal
``estimator.apply(X)`` exactly, for every lowering strategy on both backends: the decisions
themselves, not merely close predictions.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest
from conftest import dataset, knock_out
from parity import artefact, assert_parity, runtime
from sklearn.decomposition import PCA
from sklearn.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    BaggingClassifier,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    IsolationForest,
    RandomForestClassifier,
    RandomForestRegressor,
    RandomTreesEmbedding,
)
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeClassifier, ExtraTreeRegressor

import sklir
from sklir.errors import UnsupportedEstimatorError
from sklir.ir.core import Module
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.passes.lower_trees import STRATEGIES
from sklir.runtimes import run

BACKENDS = ("tflite", "onnx")


def _iris_names() -> tuple[np.ndarray, np.ndarray]:
    X, y = dataset("iris")
    return X, np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]


# digits' pixel columns taken as categorical features: intensities 0..16, split on as sets
PIXELS = [19, 20, 27, 28, 35, 36, 43, 44]


def _missing_in(X: np.ndarray, column: int) -> np.ndarray:
    """``X`` with one row in ten of ``column`` missing."""
    X = X.copy()
    X[::10, column] = np.nan
    return X


@cache
def fitted(name: str) -> tuple[Any, np.ndarray]:
    """(fitted estimator, its test inputs), once per session."""
    X_bc, y_bc = dataset("breast_cancer")
    X_wine, y_wine = dataset("wine")
    X_iris, y_names = _iris_names()
    X_dia, y_dia = dataset("diabetes")
    X_lin, y_lin = dataset("linnerud")
    X_digits, y_digits = dataset("digits")
    nan_bc = knock_out(X_bc, 0)
    makers: dict[str, tuple[Any, np.ndarray, Any]] = {
        "DecisionTreeClassifier": (DecisionTreeClassifier(random_state=0), X_wine, y_wine),
        "DecisionTreeClassifier-strings": (DecisionTreeClassifier(max_depth=3, random_state=0), X_iris, y_names),
        "ExtraTreeClassifier": (ExtraTreeClassifier(random_state=0), X_bc, y_bc),
        "RandomForestClassifier": (RandomForestClassifier(25, max_depth=6, random_state=0), X_wine, y_wine),
        "RandomForestClassifier-nan": (RandomForestClassifier(15, max_depth=5, random_state=0), nan_bc, y_bc),
        "ExtraTreesClassifier-bool": (ExtraTreesClassifier(15, max_depth=4, random_state=0), X_bc, y_bc == 1),
        "DecisionTreeRegressor": (DecisionTreeRegressor(max_depth=8, random_state=0), X_dia, y_dia),
        "DecisionTreeRegressor-nan": (DecisionTreeRegressor(max_depth=5, random_state=0), knock_out(X_dia, 1), y_dia),
        "ExtraTreeRegressor": (ExtraTreeRegressor(max_depth=6, random_state=0), X_dia, y_dia),
        "RandomForestRegressor": (RandomForestRegressor(20, max_depth=5, random_state=0), X_dia, y_dia),
        "ExtraTreesRegressor-multi": (ExtraTreesRegressor(10, max_depth=4, random_state=0), X_lin, y_lin),
        "GradientBoostingClassifier": (GradientBoostingClassifier(n_estimators=30, random_state=0), X_bc, y_bc),
        "GradientBoostingClassifier-exponential": (
            GradientBoostingClassifier(loss="exponential", n_estimators=20, max_depth=2, random_state=0), X_bc, y_bc),
        "GradientBoostingClassifier-multiclass": (
            GradientBoostingClassifier(n_estimators=15, max_depth=2, random_state=0), X_iris, y_names),
        "GradientBoostingRegressor": (GradientBoostingRegressor(n_estimators=40, random_state=0), X_dia, y_dia),
        "GradientBoostingRegressor-zero": (
            GradientBoostingRegressor(init="zero", n_estimators=20, max_depth=4, random_state=0), X_dia, y_dia),
    }
    makers.update({
        "IsolationForest": (IsolationForest(n_estimators=40, random_state=0), X_bc, None),
        "IsolationForest-features": (IsolationForest(n_estimators=25, max_features=0.5, random_state=0), X_wine, None),
        "IsolationForest-nan": (IsolationForest(n_estimators=20, random_state=0), nan_bc, None),
        "AdaBoostClassifier": (AdaBoostClassifier(n_estimators=30, random_state=0), X_bc, y_bc),
        "AdaBoostClassifier-multiclass": (
            AdaBoostClassifier(DecisionTreeClassifier(max_depth=2), n_estimators=15, random_state=0), X_iris, y_names),
        "HistGradientBoostingClassifier": (HistGradientBoostingClassifier(max_iter=40, random_state=0), X_bc, y_bc),
        "HistGradientBoostingClassifier-nan": (HistGradientBoostingClassifier(max_iter=25, random_state=0), nan_bc,
                                               y_bc),
        "HistGradientBoostingClassifier-multiclass": (
            HistGradientBoostingClassifier(max_iter=15, random_state=0), X_iris, y_names),
        "HistGradientBoostingClassifier-early-stopped": (
            HistGradientBoostingClassifier(early_stopping=True, max_iter=300, random_state=0), X_bc, y_bc),
        "HistGradientBoostingRegressor": (HistGradientBoostingRegressor(max_iter=40, random_state=0), X_dia, y_dia),
        "RandomTreesEmbedding": (RandomTreesEmbedding(n_estimators=10, max_depth=4, random_state=0), X_wine, None),
        "RandomTreesEmbedding-dense": (RandomTreesEmbedding(n_estimators=5, sparse_output=False, random_state=0),
                                       X_bc, None),
        "AdaBoostRegressor": (AdaBoostRegressor(n_estimators=30, random_state=0), X_dia, y_dia),
        "AdaBoostRegressor-square": (AdaBoostRegressor(n_estimators=15, loss="square", random_state=0), X_dia, y_dia),
        "BaggingClassifier": (BaggingClassifier(n_estimators=8, max_features=0.5, random_state=0), X_wine, y_wine),
        "HistGradientBoostingRegressor-poisson": (
            HistGradientBoostingRegressor(loss="poisson", max_iter=30, random_state=0), X_dia, y_dia),
        # diabetes' sex column as a category (two values, some missing); digits' pixels (0..16) as categories
        "HistGradientBoostingRegressor-categorical": (
            HistGradientBoostingRegressor(max_iter=30, categorical_features=[1], random_state=0),
            _missing_in(X_dia, 1), y_dia),
        "HistGradientBoostingClassifier-categorical": (
            HistGradientBoostingClassifier(max_iter=8, categorical_features=PIXELS, random_state=0),
            X_digits, y_digits),
    })
    estimator, X, y = makers[name]
    return estimator.fit(X, y), X


NAMES = ["DecisionTreeClassifier", "DecisionTreeClassifier-strings", "ExtraTreeClassifier", "RandomForestClassifier",
         "RandomForestClassifier-nan", "ExtraTreesClassifier-bool", "DecisionTreeRegressor",
         "DecisionTreeRegressor-nan", "ExtraTreeRegressor", "RandomForestRegressor", "ExtraTreesRegressor-multi",
         "GradientBoostingClassifier", "GradientBoostingClassifier-exponential",
         "GradientBoostingClassifier-multiclass", "GradientBoostingRegressor", "GradientBoostingRegressor-zero",
         "IsolationForest", "IsolationForest-features", "IsolationForest-nan", "AdaBoostClassifier",
         "AdaBoostClassifier-multiclass", "HistGradientBoostingClassifier", "HistGradientBoostingClassifier-nan",
         "HistGradientBoostingClassifier-multiclass", "HistGradientBoostingClassifier-early-stopped",
         "HistGradientBoostingRegressor", "HistGradientBoostingRegressor-poisson",
         "HistGradientBoostingRegressor-categorical", "HistGradientBoostingClassifier-categorical", "BaggingClassifier",
         "RandomTreesEmbedding", "RandomTreesEmbedding-dense", "AdaBoostRegressor", "AdaBoostRegressor-square"]


@pytest.mark.parametrize("name", NAMES)
def test_contract_parity(name: str) -> None:
    estimator, X = fitted(name)
    module = assert_parity(estimator, X)
    assert any(isinstance(node.op, TreeEnsemble) for node in module.nodes)


@cache
def _leaf_module(name: str) -> Module:
    """The model lowered with the ``leaves`` internal exported beside its contract."""
    return sklir.lower(fitted(name)[0], internals=("leaves",))


def _apply(estimator: Any, X: np.ndarray) -> np.ndarray:
    """Each tree's leaf for each row, as scikit-learn finds it (per tree where the model has no
    ``apply``: bagging's trees read their own feature subsets)."""
    if hasattr(estimator, "_predictors"):  # it compares float64 values, no cast
        return _hist_apply(estimator, X)
    X32 = X.astype(np.float32)
    if hasattr(estimator, "apply"):
        return estimator.apply(X32).reshape(len(X), -1)
    features = getattr(estimator, "estimators_features_", [None] * len(estimator.estimators_))
    return np.stack([tree.apply(X32 if cols is None else X32[:, cols])
                     for tree, cols in zip(estimator.estimators_, features, strict=True)], axis=1)


def _hist_apply(estimator: Any, X: np.ndarray) -> np.ndarray:
    """HistGradientBoosting's leaves (it has no ``apply``): each predictor's node table walked as
    its documented rule says, on the columns its preprocessor makes (categories as codes, first):
    ``float64(x) <= num_threshold``, NaN where ``missing_go_to_left``, a code in the node's bitset
    left, another known code right and anything else the missing way.
    :func:`test_hist_apply_is_scikit_learns_own_sum` proves this oracle against ``_raw_predict``."""
    X = X.astype(np.float64)
    if estimator._preprocessor is not None:
        X = estimator._preprocessor.transform(X)
    known, column_of = estimator._bin_mapper.make_known_categories_bitsets()
    rows = np.arange(len(X))
    found = []

    def in_bitset(bitsets: np.ndarray, codes: np.ndarray, which: np.ndarray) -> np.ndarray:
        return ((bitsets[which, codes // 32] >> (codes % 32)) & 1).astype(bool)

    for predictor in (p for iteration in estimator._predictors for p in iteration):
        nodes = predictor.nodes
        node = np.zeros(len(X), dtype=np.int64)
        while not np.all(nodes["is_leaf"][node]):
            value = X[rows, nodes["feature_idx"][node]]
            missing_left = nodes["missing_go_to_left"][node] != 0
            with np.errstate(invalid="ignore"):
                left = np.where(np.isnan(value), missing_left, value <= nodes["num_threshold"][node])
                code = np.where(np.isnan(value) | (value < 0), 0, value).astype(np.int64)
                categorical = nodes["is_categorical"][node] != 0
                if categorical.any():
                    in_left = in_bitset(predictor.raw_left_cat_bitsets, code, nodes["bitset_idx"][node])
                    is_known = in_bitset(known, code, column_of[nodes["feature_idx"][node]])
                    usable = ~np.isnan(value) & (value >= 0) & is_known
                    left = np.where(categorical, np.where(usable & ~in_left, False, np.where(in_left & usable, True,
                                                                                              missing_left)), left)
            child = np.where(left, nodes["left"][node], nodes["right"][node]).astype(np.int64)
            node = np.where(nodes["is_leaf"][node] != 0, node, child)
        found.append(node)
    return np.stack(found, axis=1)


@pytest.mark.parametrize("name", ["HistGradientBoostingClassifier-nan", "HistGradientBoostingClassifier-multiclass",
                                  "HistGradientBoostingClassifier-categorical",
                                  "HistGradientBoostingRegressor-categorical"])
def test_hist_apply_is_scikit_learns_own_sum(name: str) -> None:
    estimator, X = fitted(name)
    leaves = _hist_apply(estimator, X.astype(np.float32))
    predictors = [p for iteration in estimator._predictors for p in iteration]
    k = estimator.n_trees_per_iteration_
    raw = np.tile(estimator._baseline_prediction, (len(X), 1)).astype(np.float64)
    for j, predictor in enumerate(predictors):
        raw[:, j % k] += predictor.nodes["value"][leaves[:, j]]
    np.testing.assert_allclose(raw, estimator._raw_predict(X.astype(np.float32)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_unknown_and_odd_categories_go_as_scikit_learn_sends_them(strategy: str, backend: str) -> None:
    # values the encoder never saw, negatives and fractions: scikit-learn treats each as missing
    estimator, X = fitted("HistGradientBoostingClassifier-categorical")
    odd = X[:60].copy()
    odd[:, PIXELS] = np.resize(np.array([17.0, -1.0, 2.5, 40.0, np.nan, 3.0]), (60, len(PIXELS)))
    got = run(artefact(sklir.lower(estimator), backend, strategy), runtime(backend), odd.astype(np.float32))
    np.testing.assert_array_equal(got["label"], estimator.predict(odd))
    np.testing.assert_allclose(got["probabilities"], estimator.predict_proba(odd), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_categories_float32_cannot_hold_are_unknown_to_float32_inputs(backend: str) -> None:
    # categories 0.1 and 0.3 have no float32: a float32 input never equals them, so scikit-learn
    # sends it the missing-value way; 0.5 and 2.0 are exact and are found as usual
    X, y = dataset("wine")
    kinds = np.array([0.1, 0.3, 0.5, 2.0])[y % 4]
    model = HistGradientBoostingClassifier(max_iter=10, categorical_features=[13], random_state=0)
    model.fit(np.column_stack([X, kinds]), y)
    X32 = np.column_stack([X, kinds]).astype(np.float32)
    got = run(artefact(sklir.lower(model), backend), runtime(backend), X32)
    np.testing.assert_array_equal(got["label"], model.predict(X32.astype(np.float64)))
    np.testing.assert_allclose(got["probabilities"], model.predict_proba(X32.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_string_categories_are_refused_by_name() -> None:
    pd = pytest.importorskip("pandas")
    X, y = dataset("iris")
    frame = pd.DataFrame(X, columns=list("abcd")).assign(kind=np.array(["p", "q", "r"])[y])
    model = HistGradientBoostingClassifier(max_iter=3, categorical_features=["kind"], random_state=0).fit(frame, y)
    with pytest.raises(UnsupportedEstimatorError, match="categorical_features.*numeric categories"):
        sklir.lower(model)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@pytest.mark.parametrize("name", NAMES)
def test_leaves_equal_apply(name: str, strategy: str, backend: str) -> None:
    estimator, X = fitted(name)
    module = _leaf_module(name)
    X32 = np.asarray(X, dtype=np.float32)
    got = run(artefact(module, backend, strategy), runtime(backend), X32)["leaves"]
    np.testing.assert_array_equal(got, _apply(estimator, X))
    # the interpreter's reference traversal agrees too
    np.testing.assert_array_equal(sklir.interpret(module, X32)["leaves"], _apply(estimator, X))


def _near_thresholds(model: Any, X: np.ndarray) -> np.ndarray:
    """Rows of ``X``'s medians with one column at, or 1-3 float32 steps around, the raw value the
    scaler maps onto a threshold: where a float32 scaler would flip decisions."""
    scaler, trees = model[0], model[-1]
    tables = [(p.nodes["feature_idx"], p.nodes["num_threshold"], p.nodes["is_leaf"] == 0)
              for it in trees._predictors for p in it] if hasattr(trees, "_predictors") else \
        [(e.tree_.feature, e.tree_.threshold, e.tree_.children_left != -1) for e in trees.estimators_]
    base, rows = np.median(X, axis=0), []
    for features, thresholds, internal in tables:
        for f, t in zip(features[internal], thresholds[internal], strict=True):
            centre = np.float32(t * scaler.scale_[f] + scaler.mean_[f])
            for v in (centre, *(np.nextafter(centre, np.float32(d * np.inf)) for d in (-1, 1))):
                row = base.copy()
                row[f] = v
                rows.append(row)
    return np.array(rows).astype(np.float32).astype(np.float64)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("trees", ["RandomForestClassifier", "HistGradientBoostingClassifier"])
def test_a_scaler_before_trees_keeps_every_decision(trees: str, backend: str) -> None:
    # fold-thresholds moves the scaler into the thresholds: decisions are scikit-learn's even for
    # inputs the scaler maps within float32 rounding of a threshold
    X, y = dataset("breast_cancer")
    last = RandomForestClassifier(20, max_depth=6, random_state=0) if trees == "RandomForestClassifier" else \
        HistGradientBoostingClassifier(max_iter=30, random_state=0)
    model = make_pipeline(StandardScaler(), last).fit(X, y)
    near = _near_thresholds(model, X)
    got = run(artefact(sklir.lower(model, internals=("leaves",)), backend), backend, near.astype(np.float32))
    np.testing.assert_array_equal(got["leaves"], _apply(model[-1], model[0].transform(near)))
    np.testing.assert_array_equal(got["label"], model.predict(near))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_step_mixing_columns_before_trees_differs_only_at_thresholds(backend: str) -> None:
    # PCA runs in float32 in the artefact: a value within float32 rounding of a threshold can go
    # the other way (HistGradientBoosting's bin edges are often training values themselves, so
    # training rows do, and a label can change); every row reaching another leaf must have such a
    # value (the README gives the counts)
    X, y = dataset("breast_cancer")
    model = make_pipeline(StandardScaler(), PCA(5, random_state=0),
                          HistGradientBoostingClassifier(max_iter=30, random_state=0)).fit(X, y)
    got = run(artefact(sklir.lower(model, internals=("leaves",)), backend), backend, X.astype(np.float32))
    z = model[:-1].transform(X)
    differs = np.any(got["leaves"] != _apply(model[-1], z), axis=1)
    assert differs.any(), "no decision differs: the test no longer shows the limit"
    nodes = [(p.nodes["feature_idx"][i], p.nodes["num_threshold"][i]) for it in model[-1]._predictors for p in it
             for i in np.flatnonzero(p.nodes["is_leaf"] == 0)]
    features, thresholds = np.array([f for f, _ in nodes]), np.array([t for _, t in nodes])
    distance = np.abs(z[differs][:, features] - thresholds) / np.maximum(1.0, np.abs(thresholds))
    assert np.all(distance.min(axis=1) <= 1e-6)


def test_a_scaler_before_trees_is_folded_away() -> None:
    X, y = dataset("wine")
    model = make_pipeline(StandardScaler(), RandomForestClassifier(5, max_depth=3, random_state=0)).fit(X, y)
    module = sklir.lower(model)
    (node,) = [n for n in module.nodes if isinstance(n.op, TreeEnsemble)]
    assert node.operands[0] is module.inputs[0]
    assert_parity(model, X)


@pytest.mark.parametrize("backend", BACKENDS)
def test_multi_output_classifiers_give_a_label_column_per_output(backend: str) -> None:
    # iris' species with a second target of strings: label [N, 2] as predict gives it, the
    # per-output probability matrices side by side
    X, names = _iris_names()
    Y = np.stack([names, np.where(X[:, 2] > 4.0, "long", "short")], axis=1)
    for model in (DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, Y),
                  RandomForestClassifier(10, max_depth=4, random_state=0).fit(X, Y)):
        got = run(artefact(sklir.lower(model), backend), runtime(backend), X.astype(np.float32))
        np.testing.assert_array_equal(got["label"], model.predict(X))
        np.testing.assert_allclose(got["probabilities"], np.hstack(model.predict_proba(X)), rtol=1e-5, atol=1e-6)


def test_multi_output_classifier_contract_parity() -> None:
    X, y = dataset("wine")
    Y = np.stack([y, (X[:, 0] > 13.0).astype(int), (X[:, 12] > 700).astype(int)], axis=1)
    assert_parity(ExtraTreesClassifier(12, max_depth=5, random_state=0).fit(X, Y), X)


def test_internals_are_exported_only_when_asked_for() -> None:
    from sklir.errors import SklirError

    estimator, _ = fitted("GradientBoostingClassifier")
    assert set(sklir.lower(estimator).outputs) == {"label", "probabilities", "decision"}
    assert set(sklir.lower(estimator, internals=("leaves",)).outputs) == {"label", "probabilities", "decision",
                                                                          "leaves"}
    with pytest.raises(SklirError, match="unknown internal output 'leaf' \\(known: leaves\\)"):
        sklir.lower(estimator, internals=("leaf",))
    with pytest.raises(SklirError, match="LinearRegression has no internal output 'leaves' \\(it has: none\\)"):
        sklir.lower(LinearRegression().fit(*dataset("diabetes")), internals=("leaves",))
    with pytest.raises(SklirError, match="internals are chosen when an estimator is lowered"):
        sklir.lower(sklir.lower(estimator), internals=("leaves",))


def test_a_pipeline_passes_its_last_steps_internals_on() -> None:
    X, y = dataset("wine")
    model = make_pipeline(StandardScaler(), DecisionTreeClassifier(max_depth=3, random_state=0)).fit(X, y)
    got = sklir.interpret(sklir.lower(model, internals=("leaves",)), X.astype(np.float32))
    np.testing.assert_array_equal(got["leaves"][:, 0], model[-1].apply(model[0].transform(X).astype(np.float32)))


def test_the_frontend_casts_to_float32_before_the_ensemble() -> None:
    estimator, _ = fitted("RandomForestRegressor")
    module = sklir.lower(estimator, optimize=False)
    producers = module.producers()
    (node,) = [n for n in module.nodes if isinstance(n.op, TreeEnsemble)]
    cast = producers[node.operands[0]]
    assert cast.op.name == "cast" and node.operands[0].type.dtype.value == "f32"


@pytest.mark.parametrize("loss", ["absolute_error", "huber", "quantile"])
def test_gradient_boosting_regressor_losses(loss: str) -> None:
    X, y = dataset("diabetes")
    assert_parity(GradientBoostingRegressor(loss=loss, n_estimators=25, max_depth=3, random_state=0).fit(X, y), X)


def test_gradient_boosting_with_a_fitted_init_estimator_is_refused() -> None:
    X, y = dataset("diabetes")
    model = GradientBoostingRegressor(init=LinearRegression(), n_estimators=5).fit(X, y)
    with pytest.raises(UnsupportedEstimatorError, match="GradientBoostingRegressor: init=LinearRegression"):
        sklir.lower(model)


def test_a_large_forest_round_trips_its_text() -> None:
    # 100 unlimited-depth trees (about 36,000 nodes, 300,000 numbers): the node tables print as
    # hex bytes, so text and module agree bit for bit (tests never assert wall-clock times)
    from sklearn.datasets import make_classification

    from sklir.ir.printer import print_module

    X, y = make_classification(3000, 20, random_state=0)
    forest = RandomForestClassifier(100, random_state=0, n_jobs=2).fit(X, y)
    module = sklir.lower(forest)
    text = print_module(module)
    assert " 0x" in text
    assert print_module(sklir.parse(text)) == text


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_adaboost_over_another_base_estimator_is_refused() -> None:
    from sklearn.linear_model import LogisticRegression

    X, y = dataset("breast_cancer")
    model = AdaBoostClassifier(LogisticRegression(max_iter=50), n_estimators=3, random_state=0).fit(X, y)
    with pytest.raises(UnsupportedEstimatorError, match="AdaBoostClassifier: estimator=LogisticRegression"):
        sklir.lower(model)


@pytest.mark.parametrize("target", ["onnx", "tflite"])
def test_a_model_too_large_for_the_format_is_refused_before_converting(monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
                                                                       target: str) -> None:
    # the real limit is 2 GiB (flatbuffers, protobuf); a forest checked against a tiny one here
    import dataclasses

    import sklir.backends
    from sklir.backends import TARGETS
    from sklir.errors import SklirError

    def no_lowering(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the size is checked before the module is prepared")

    estimator, _ = fitted("RandomForestClassifier")
    module = sklir.lower(estimator)
    # before lowering an ensemble counts its thresholds and distinct leaf values at float32 width:
    # a lower bound of what any strategy stores
    (op,) = [n.op for n in module.nodes if isinstance(n.op, TreeEnsemble)]
    least = sklir.backends.constant_bytes(module, "f32")
    outputs = op.values.shape[1]
    distinct = len(np.unique(op.values.array[~op.internal], axis=0))
    assert least >= op.least_bytes(4) == 4 * (int(op.internal.sum()) + distinct * outputs)
    for strategy in STRATEGIES:
        if strategy != "gemm":  # gemm refuses this forest
            assert sklir.backends.constant_bytes(sklir.backends.prepare(module, target, strategy)) >= least
    # a limit just below that bound: refused before any lowering, nothing written
    monkeypatch.setitem(TARGETS, target, dataclasses.replace(TARGETS[target], max_bytes=least - 1,
                                                             module="no.such.backend.module"))
    monkeypatch.setattr(sklir.backends, "prepare", no_lowering)
    with pytest.raises(SklirError, match=f"too large for {target}: its constants take .* MiB"):
        sklir.emit(module, target, tmp_path / f"forest.{target}")
    assert list(tmp_path.iterdir()) == []


@cache
def _clean_fit_nan_rows() -> tuple[Any, np.ndarray, dict[str, Module]]:
    X, y = dataset("diabetes")
    model = DecisionTreeRegressor(max_depth=1, random_state=0).fit(X, y)  # fitted without NaN
    internal = model.tree_.children_left != -1
    assert not np.any(model.tree_.missing_go_to_left[internal]), "some node sends NaN left: pick another model"
    return model, knock_out(X, 5, fraction=0.3), {}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_nan_goes_right_where_every_node_sends_it_right(strategy: str, backend: str) -> None:
    # a model fitted without NaN sends NaN to the child with more samples; here, every node's right
    model, X, _ = _clean_fit_nan_rows()
    module = sklir.lower(model, internals=("leaves",))
    got = run(artefact(module, backend, strategy), runtime(backend), X.astype(np.float32))
    np.testing.assert_array_equal(got["leaves"], _apply(model, X))
    np.testing.assert_allclose(got["prediction"], model.predict(X), rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_infinite_inputs_meet_missing_value_splits_as_scikit_learn(strategy: str, backend: str) -> None:
    # HistGradientBoosting accepts +inf and splits "missing or not" with threshold +inf
    estimator, X = fitted("HistGradientBoostingClassifier-nan")
    module = sklir.lower(estimator)
    (op,) = [n.op for n in module.nodes if isinstance(n.op, TreeEnsemble)]
    assert np.any(np.isposinf(op.threshold.array)), "no +inf threshold to test"
    X_inf = np.where(np.isnan(X), np.inf, X)[:100]
    got = run(artefact(module, backend, strategy), runtime(backend), X_inf.astype(np.float32))
    np.testing.assert_array_equal(got["label"], estimator.predict(X_inf))
    np.testing.assert_allclose(got["decision"], estimator.decision_function(X_inf), rtol=1e-5, atol=1e-5)


def test_adaboost_regressor_exact_weight_ties_pick_the_lower_median() -> None:
    from sklir.passes.pipelines import precision_pipeline

    X, y = dataset("diabetes")
    model = AdaBoostRegressor(n_estimators=2, random_state=0).fit(X, y)
    model.estimator_weights_ = np.array([0.7, 0.7])  # half the total is exactly the first weight
    f32 = precision_pipeline("f32").run(sklir.lower(model)).module
    np.testing.assert_allclose(sklir.interpret(f32, X.astype(np.float32), "native")["prediction"],
                               model.predict(X), rtol=1e-6)

"""Parity of the neighbour models (issue 7): k-nearest and radius classifiers and regressors, the
neighbours-graph transformers and LocalOutlierFactor (novelty), on real data.

Labels identical and values within 1e-5 of their scale (the harness's default) under the
interpreter, LiteRT and onnxruntime, for every metric, both weightings, several outputs and
string labels. The search is brute force with equal distances lower training index first, which
is scikit-learn's brute order; its k-d and ball trees break ties their own way, so with those the
test allows a different label only on rows whose k-th and (k+1)-th distances tie, and counts them.

Queries include the training rows themselves (distance 0): with distance weights those rows
weigh the exact matches alone. scikit-learn finds an exact 0 there on iris and digits (small or
whole numbers); on breast cancer its float64 expansion leaves about 1e-8, which its weights turn
into a near-exact vote, so those models are checked on held-out rows only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import dataset, standardised
from parity import BACKENDS, artefact, assert_parity, runtime
from sklearn.neighbors import (
    KNeighborsClassifier,
    KNeighborsRegressor,
    KNeighborsTransformer,
    LocalOutlierFactor,
    RadiusNeighborsClassifier,
    RadiusNeighborsRegressor,
    RadiusNeighborsTransformer,
)

import sklir
from sklir.errors import UnsupportedEstimatorError
from sklir.runtimes import run

METRICS = {
    "euclidean": {}, "manhattan": {"metric": "manhattan"}, "chebyshev": {"metric": "chebyshev"},
    "cosine": {"metric": "cosine"}, "sqeuclidean": {"metric": "sqeuclidean"}, "minkowski-3": {"p": 3},
    "l1-alias": {"metric": "l1"}, "minkowski-1.5": {"metric": "minkowski", "p": 1.5},
}


def _halves(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardised data, the even rows to fit on, and every row to query (half unseen)."""
    X, y = standardised(name)
    return X, X[::2], y[::2]


@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("metric", sorted(METRICS))
def test_k_neighbors_classifier(metric: str, weights: str) -> None:
    X, X_fit, y_fit = _halves("iris")
    model = KNeighborsClassifier(5, weights=weights, algorithm="brute", **METRICS[metric]).fit(X_fit, y_fit)
    assert_parity(model, X)


@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "cosine", "minkowski-3"])
def test_k_neighbors_regressor(metric: str, weights: str) -> None:
    X, X_fit, _ = _halves("wine")
    model = KNeighborsRegressor(4, weights=weights, algorithm="brute", **METRICS[metric])
    assert_parity(model.fit(X_fit[:, 1:], X_fit[:, 0]), X[:, 1:])


def test_exact_matches_weigh_alone_on_digits() -> None:
    """Digits are whole numbers: every training row is an exact 0 in float32 too."""
    X, y = dataset("digits")
    assert_parity(KNeighborsClassifier(5, weights="distance").fit(X[::2], y[::2]), X)
    assert_parity(KNeighborsRegressor(3, weights="distance").fit(X[::2], y[::2].astype(float)), X)


def test_held_out_rows_of_breast_cancer() -> None:
    X, y = standardised("breast_cancer")
    assert_parity(KNeighborsClassifier(7, weights="distance").fit(X[::2], y[::2]), X[1::2])
    assert_parity(KNeighborsRegressor(7, weights="distance").fit(X[::2], X[::2, :3]), X[1::2])


def test_several_outputs_and_string_labels() -> None:
    X, y = standardised("wine")
    names = np.array(["barolo", "grignolino", "barbera"], dtype=object)[y]
    assert_parity(KNeighborsClassifier(5).fit(X[::2], names[::2]), X)
    assert_parity(KNeighborsClassifier(6, weights="distance").fit(X[::2], np.column_stack([y, X[:, 0] > 0])[::2]), X)
    Y = np.column_stack([names, np.where(X[:, 1] > 0, "high", "low")])[::2]
    assert_parity(KNeighborsClassifier(4).fit(X[::2], Y), X)
    assert_parity(KNeighborsRegressor(5).fit(X[::2], X[::2, :2]), X)


def _boundary_ties(model: Any, X: np.ndarray, k: int) -> np.ndarray:
    """Rows whose k-th and (k+1)-th nearest training distances are equal (within 1e-6)."""
    distances, _ = model.kneighbors(X, n_neighbors=k + 1)
    return np.isclose(distances[:, k - 1], distances[:, k], rtol=0, atol=1e-6)


@pytest.mark.parametrize("algorithm", ["kd_tree", "ball_tree"])
def test_tree_searches_differ_only_on_ties(algorithm: str) -> None:
    """Chebyshev distances on iris tie often: the trees may keep another tied training point."""
    X, X_fit, y_fit = _halves("iris")
    model = KNeighborsClassifier(5, metric="chebyshev", algorithm=algorithm).fit(X_fit, y_fit)
    ties = _boundary_ties(model, X.astype(np.float32).astype(np.float64), 5)
    want = model.predict(X)
    module = sklir.lower(model)
    for backend in BACKENDS:
        got = sklir.interpret(module, X)["label"] if backend == "interpreter" else \
            run(artefact(module, backend), runtime(backend), X.astype(np.float32))["label"]
        differ = got != want
        assert not (differ & ~ties).any(), f"{backend}: labels differ on rows without a tie"
        assert differ.sum() <= 5, f"{backend}: {differ.sum()} tied rows differ (of {ties.sum()} tied)"


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_radius_neighbors(weights: str) -> None:
    X, X_fit, y_fit = _halves("iris")
    for outlier_label in ("most_frequent", 7, None):
        radius = 1.0 if outlier_label is not None else 2.5  # every row has a neighbour within 2.5
        model = RadiusNeighborsClassifier(radius, weights=weights, outlier_label=outlier_label).fit(X_fit, y_fit)
        assert_parity(model, X)
    regressor = RadiusNeighborsRegressor(1.0, weights=weights, metric="manhattan")
    assert_parity(regressor.fit(X_fit[:, 1:], X_fit[:, 0]), X[:, 1:])


def test_radius_outliers_and_string_labels() -> None:
    X, X_fit, y_fit = _halves("wine")
    names = np.array(["barolo", "grignolino", "barbera"], dtype=object)
    far = np.vstack([X, X[:5] + 10.0])  # five rows with no neighbour: outlier_label (and NaN)
    for outlier_label in ("barolo", "unknown"):
        model = RadiusNeighborsClassifier(3.5, outlier_label=outlier_label).fit(X_fit, names[y_fit])
        assert_parity(model, far)
    regressor = RadiusNeighborsRegressor(3.5).fit(X_fit, X_fit[:, :2])
    assert np.isnan(regressor.predict(far[-5:])).all()
    assert_parity(regressor, far)


@pytest.mark.parametrize("mode", ["distance", "connectivity"])
def test_neighbors_transformers(mode: str) -> None:
    X, X_fit, _ = _halves("iris")
    assert_parity(KNeighborsTransformer(mode=mode, n_neighbors=4, algorithm="brute").fit(X_fit), X)
    assert_parity(KNeighborsTransformer(mode=mode, n_neighbors=3, metric="manhattan", algorithm="brute").fit(X_fit), X)
    assert_parity(RadiusNeighborsTransformer(mode=mode, radius=1.2).fit(X_fit), X)


@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_local_outlier_factor(name: str) -> None:
    """Data without duplicate rows: a duplicate's local density is 1e10 (scikit-learn's 1e-10
    guard on a zero reach distance), whose ratios float32 cannot follow to 1e-5."""
    X, X_fit, _ = _halves(name)
    assert_parity(LocalOutlierFactor(n_neighbors=10, novelty=True, algorithm="brute").fit(X_fit), X)


def test_refusals_name_the_parameter() -> None:
    X, X_fit, y_fit = _halves("iris")
    cases: list[tuple[Any, str]] = [
        (KNeighborsClassifier(metric="haversine", algorithm="brute").fit(X_fit[:, :2], y_fit), "metric='haversine'"),
        (KNeighborsClassifier(weights=lambda d: d).fit(X_fit, y_fit), "weights=<function"),
        (KNeighborsRegressor(metric="minkowski", metric_params={"w": np.ones(4)}).fit(X_fit, y_fit), "metric_params="),
        (LocalOutlierFactor().fit(X_fit), "novelty=False"),
    ]
    for model, message in cases:
        with pytest.raises(UnsupportedEstimatorError, match=f"{type(model).__name__}: {message}"):
            sklir.lower(model)

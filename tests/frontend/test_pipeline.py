"""Pipeline parity: chains of preprocessing ending in a linear model, passthrough steps, nesting.

Tolerances: harness defaults, except where a test says otherwise beside the call.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import dataset, digits_pipeline, knock_out
from parity import assert_parity
from sklearn.decomposition import PCA
from sklearn.feature_selection import SelectKBest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, PolynomialFeatures, StandardScaler

import sklir
from sklir.errors import UnsupportedEstimatorError
from sklir.frontend.registry import lower


def test_scaler_pca_logistic_on_digits() -> None:
    X, _ = dataset("digits")
    assert_parity(digits_pipeline(), X)


def test_imputer_scaler_ridge_on_diabetes_with_nan() -> None:
    X, y = dataset("diabetes")
    holey = knock_out(X, seed=0)
    pipe = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler(), Ridge(alpha=0.5))
    assert_parity(pipe.fit(holey, y), knock_out(X, seed=1))


def test_polynomial_scaler_linear_regression_on_diabetes() -> None:
    X, y = dataset("diabetes")
    pipe = make_pipeline(PolynomialFeatures(degree=2), StandardScaler(), LinearRegression()).fit(X, y)
    assert_parity(pipe, X)


def test_selection_then_classifier_on_breast_cancer() -> None:
    X, y = dataset("breast_cancer")
    pipe = make_pipeline(MinMaxScaler(), SelectKBest(k=10), LogisticRegression(max_iter=5000)).fit(X, y)
    assert_parity(pipe, X)


def test_nested_pipeline_with_passthrough_steps() -> None:
    X, y = dataset("wine")
    inner = Pipeline([("scale", StandardScaler()), ("skip", "passthrough"), ("pca", PCA(n_components=6))])
    pipe = Pipeline([("log", FunctionTransformer(np.log1p)), ("none", None), ("features", inner),
                     ("clf", LogisticRegression(max_iter=5000))]).fit(X, y)
    assert_parity(pipe, X)


def test_pipeline_ending_in_passthrough_is_a_transformer() -> None:
    X, _ = dataset("iris")
    pipe = Pipeline([("scale", StandardScaler()), ("end", "passthrough")]).fit(X)
    module = assert_parity(pipe, X)
    assert set(module.outputs) == {"transform"}


def test_transformer_only_pipeline() -> None:
    X, _ = dataset("digits")
    pipe = make_pipeline(StandardScaler(), PCA(n_components=10, whiten=True)).fit(X)
    assert_parity(pipe, X)


def test_default_passes_fold_scaler_pca_logistic_into_one_matmul() -> None:
    # the acceptance shape: the frontend writes PCA's projection and the classifier's
    # weights as two matmuls, and the default passes fold the scaler and PCA into one
    unoptimised = [node.op.name for node in lower(digits_pipeline()).nodes]
    assert unoptimised.count("matmul") == 2
    optimised = [node.op.name for node in sklir.lower(digits_pipeline()).nodes]
    assert optimised.count("matmul") == 1


def test_classifier_as_intermediate_step_is_refused_naming_the_step() -> None:
    X, y = dataset("iris")
    pipe = Pipeline([("clf", LogisticRegression(max_iter=1000)), ("scale", StandardScaler())])
    pipe.steps[0][1].fit(X, y)
    pipe.steps[1][1].fit(np.zeros((3, 3)) + np.arange(3))
    with pytest.raises(UnsupportedEstimatorError, match="Pipeline step 'clf'.*LogisticRegression.*no transform"):
        lower(pipe)


def test_source_metadata_describes_the_pipeline() -> None:
    X, y = dataset("iris")
    inner = Pipeline([("scale", StandardScaler()), ("skip", "passthrough")])
    pipe = Pipeline([("prep", inner), ("pca", PCA(2)), ("clf", LogisticRegression())]).fit(X, y)
    module = sklir.lower(pipe)
    assert module.attributes["source"] == "Pipeline(Pipeline(StandardScaler, passthrough), PCA, LogisticRegression)"

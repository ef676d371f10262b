"""Feature selection parity: every selector is a column gather of get_support(indices=True).

RFE and RFECV are checked both as predictors (selection then their estimator_) and as the
selecting step inside a pipeline. Tolerances: harness defaults.
"""

from __future__ import annotations

from functools import cache

import pytest
from conftest import dataset, standardised
from parity import assert_parity
from sklearn.feature_selection import (
    RFE,
    RFECV,
    GenericUnivariateSelect,
    SelectFdr,
    SelectFpr,
    SelectFromModel,
    SelectFwe,
    SelectKBest,
    SelectPercentile,
    SequentialFeatureSelector,
    VarianceThreshold,
    f_classif,
    mutual_info_classif,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklir.errors import UnsupportedEstimatorError
from sklir.frontend.registry import lower

SELECTORS = {
    "variance": lambda: VarianceThreshold(threshold=1.0),
    "kbest": lambda: SelectKBest(f_classif, k=7),
    "kbest-mutual-info": lambda: SelectKBest(lambda X, y: mutual_info_classif(X, y, random_state=0), k=5),
    "percentile": lambda: SelectPercentile(percentile=25),
    "fpr": lambda: SelectFpr(alpha=1e-20),
    "fdr": lambda: SelectFdr(alpha=1e-30),
    "fwe": lambda: SelectFwe(alpha=1e-25),
    "generic-k": lambda: GenericUnivariateSelect(mode="k_best", param=4),
    "generic-fdr": lambda: GenericUnivariateSelect(mode="fdr", param=1e-10),
    "from-model": lambda: SelectFromModel(LogisticRegression(max_iter=5000), max_features=6),
    "sequential": lambda: SequentialFeatureSelector(Ridge(), n_features_to_select=3, cv=3),
}


@pytest.mark.parametrize("case", list(SELECTORS))
def test_selector_parity(case: str) -> None:
    X, y = dataset("breast_cancer")
    if case in ("from-model", "sequential"):
        X, y = standardised("breast_cancer")
    est = SELECTORS[case]().fit(X, y)
    kept = est.get_support(indices=True)
    assert 0 < kept.size < X.shape[1], "the case must drop some features and keep some"
    assert_parity(est, X)


def test_variance_threshold_on_digits_drops_constant_pixels() -> None:
    X, _ = dataset("digits")
    est = VarianceThreshold().fit(X)
    assert est.get_support().sum() < 64
    assert_parity(est, X)


def test_selector_keeping_every_column_is_the_identity() -> None:
    X, y = dataset("iris")
    module = assert_parity(SelectKBest(k="all").fit(X, y), X)
    assert not any(node.op.name == "gather" for node in module.nodes)


def test_selector_keeping_nothing_is_refused() -> None:
    X, y = dataset("iris")
    est = SelectFpr(alpha=1e-300).fit(X, y)
    assert est.get_support().sum() == 0
    with pytest.raises(UnsupportedEstimatorError, match="SelectFpr selects no features"):
        lower(est)


@cache
def fitted_rfe(kind: str) -> object:
    X, y = standardised("breast_cancer")
    return {
        "rfe-logistic": lambda: RFE(LogisticRegression(max_iter=5000), n_features_to_select=8, step=3),
        "rfecv-logistic": lambda: RFECV(LogisticRegression(max_iter=5000), step=4, cv=3),
        "rfe-ridge": lambda: RFE(Ridge(), n_features_to_select=5),
    }[kind]().fit(X, y)


@pytest.mark.parametrize("kind", ["rfe-logistic", "rfecv-logistic", "rfe-ridge"])
def test_rfe_predicts_through_its_estimator(kind: str) -> None:
    X, _ = standardised("breast_cancer")
    assert_parity(fitted_rfe(kind), X)


def test_rfe_inside_a_pipeline_only_selects() -> None:
    # the pipeline ends in a scaler, so it is a transformer: RFE contributes its columns only
    X, y = standardised("breast_cancer")
    pipe = Pipeline([("rfe", RFE(LogisticRegression(max_iter=5000), n_features_to_select=6)),
                     ("scale", StandardScaler())]).fit(X, y)
    assert_parity(pipe, X)


def test_rfe_regressor_on_diabetes() -> None:
    X, y = dataset("diabetes")
    assert_parity(RFE(LinearRegression(), n_features_to_select=4).fit(X, y), X)

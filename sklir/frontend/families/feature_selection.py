"""Feature selection: every selector keeps ``X[:, get_support(indices=True)]``.

The selection is a ``gather`` of constant column indices on axis 1, the form the fold-affine pass
recognises. RFE and RFECV also predict through their ``estimator_``: ending a pipeline (or alone)
they lower as selection followed by that estimator; inside a pipeline they only select.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import is_classifier, is_regressor
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
)

from sklir.errors import UnsupportedEstimatorError
from sklir.frontend.affine import select_columns
from sklir.frontend.registry import lower_into, lowers, transforms_as
from sklir.ir.builder import Builder
from sklir.ir.core import Value

SELECTORS = (VarianceThreshold, SelectKBest, SelectPercentile, SelectFpr, SelectFdr, SelectFwe,
             GenericUnivariateSelect, SelectFromModel, SequentialFeatureSelector)


@transforms_as(RFE, RFECV)
def selected_columns(est: Any, b: Builder, x: Value) -> Value:
    """The columns a fitted selector keeps; refuses a selector that keeps none."""
    support = est.get_support(indices=True)
    if support.size == 0:
        # scikit-learn returns an (n, 0) array here; no runtime takes a zero-width tensor
        raise UnsupportedEstimatorError(f"{type(est).__name__} selects no features: nothing to lower")
    return select_columns(b, x, support)


@lowers(*SELECTORS)
def lower_selector(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """A selector's ``transform``: its kept columns."""
    return {"transform": selected_columns(est, b, x)}


@lowers(RFE, RFECV)
def lower_rfe(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """RFE/RFECV: ``estimator_`` applied to the kept columns when it predicts, else the columns."""
    kept = selected_columns(est, b, x)
    if is_classifier(est) or is_regressor(est):
        return lower_into(est.estimator_, b, kept)
    return {"transform": kept}

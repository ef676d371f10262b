"""SimpleImputer parity on real data with about 10% of entries knocked out as NaN (fixed seed).

Every strategy is crossed with keep_empty_features and add_indicator. The fitted data has one
all-NaN column (dropped unless kept) and one column without NaN (no indicator for it), and the
checked data has NaN in that column too. Tolerances: harness defaults.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from conftest import dataset, knock_out, standardised
from parity import assert_parity
from sklearn.impute import KNNImputer, SimpleImputer

from sklir.errors import UnsupportedEstimatorError
from sklir.frontend.registry import lower

ALL_NAN, NO_NAN = 2, 5

pytestmark = pytest.mark.filterwarnings("ignore:Skipping features without any observed values")


@cache
def holey(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, check rows) of a dataset with NaN; fit rows have an all-NaN and a NaN-free column."""
    X, _ = dataset(name)
    fit_rows = knock_out(X[::2], seed=0)
    fit_rows[:, ALL_NAN] = np.nan
    fit_rows[:, NO_NAN] = X[::2, NO_NAN]
    return fit_rows, knock_out(X, seed=1)


STRATEGIES = ["mean", "median", "most_frequent", "constant"]


@pytest.mark.parametrize("add_indicator", [False, True])
@pytest.mark.parametrize("keep_empty", [False, True])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_imputer_parity(strategy: str, keep_empty: bool, add_indicator: bool) -> None:
    fit_rows, check_rows = holey("diabetes")
    est = SimpleImputer(strategy=strategy, keep_empty_features=keep_empty, add_indicator=add_indicator,
                        fill_value=-3.5 if strategy == "constant" else None).fit(fit_rows)
    width = est.transform(check_rows).shape[1]
    expected_width = 10 - (not keep_empty) + (9 if add_indicator else 0)
    assert width == expected_width
    assert_parity(est, check_rows)


def test_imputer_without_missing_columns_at_fit() -> None:
    # nothing missing at fit: no column dropped, no indicator; NaN at transform still filled
    X, _ = dataset("breast_cancer")
    est = SimpleImputer(strategy="median", add_indicator=True).fit(X)
    assert_parity(est, knock_out(X, seed=2))


def first_quartile(column: np.ndarray) -> float:
    """A custom imputation statistic (NaN for a column with no values)."""
    return float(np.percentile(column, 25)) if column.size else np.nan


def test_imputer_callable_strategy() -> None:
    # a callable ends in the same fitted statistics_ as the named strategies; NaN for the empty
    # column drops it like the named strategies do
    fit_rows, check_rows = holey("breast_cancer")
    est = SimpleImputer(strategy=first_quartile).fit(fit_rows)
    assert np.isnan(est.statistics_[ALL_NAN])
    assert_parity(est, check_rows)


def test_imputer_fitted_on_float32() -> None:
    # statistics_ are applied in the fitted data's dtype
    fit_rows, check_rows = holey("wine")
    est = SimpleImputer(strategy="mean").fit(fit_rows.astype(np.float32))
    assert_parity(est, check_rows)


def test_imputer_refuses_other_missing_values() -> None:
    X, _ = dataset("iris")
    est = SimpleImputer(missing_values=-1.0).fit(X)
    with pytest.raises(UnsupportedEstimatorError, match="SimpleImputer: missing_values=-1.0"):
        lower(est)


def _with_holes(name: str, fraction: float, seed: int) -> np.ndarray:
    X, _ = standardised(name)
    X = X.copy()
    X[np.random.default_rng(seed).random(X.shape) < fraction] = np.nan
    return X


@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_knn_imputer(name: str, weights: str) -> None:
    """Holes in the training rows and the queries; queries include the training rows themselves
    (distance 0: exact matches weigh alone)."""
    X = _with_holes(name, 0.1, 0)
    model = KNNImputer(n_neighbors=4, weights=weights).fit(X[::2])
    assert_parity(model, X)


def test_knn_imputer_edge_cases() -> None:
    X = _with_holes("wine", 0.2, 1)
    X[:, 3] = np.nan  # a feature never seen: dropped, or kept as 0
    lonely = X[:4].copy()
    lonely[:, :] = np.nan
    lonely[:, 0] = 100.0  # shares only feature 0 with the training rows, far from all of them
    queries = np.vstack([X, lonely])
    for model in (KNNImputer(n_neighbors=3).fit(X[::2]),
                  KNNImputer(n_neighbors=500, keep_empty_features=True, add_indicator=True).fit(X[::2])):
        assert_parity(model, queries)
    everything_missing = np.full((2, X.shape[1]), np.nan)  # no shared coordinate: the training means
    assert_parity(KNNImputer().fit(X[::2]), np.vstack([X[:5], everything_missing]))

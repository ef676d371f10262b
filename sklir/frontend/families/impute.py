"""Imputers for ``missing_values=np.nan``: SimpleImputer and KNNImputer.

SimpleImputer replaces NaN by the fitted ``statistics_``. Every strategy (mean, median,
most_frequent, constant, a callable) ends in the same fitted ``statistics_``, so one lowering
serves them all. NaN is replaced with ``select(isnan(x), fill, x)`` before any arithmetic sees
it: some runtimes mishandle NaN in exp and reductions.

KNNImputer (issue 7) keeps its training rows as a constant: ``nan_euclidean`` distances to them,
then per feature a ``top_k`` over the training rows that have it (equal distances lower index
first, where scikit-learn's ``argpartition`` leaves the order unspecified), and the (distance
weighted) mean of their values; see :func:`lower_knn_imputer`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.impute import KNNImputer, MissingIndicator, SimpleImputer

from sklir.frontend.affine import select_columns
from sklir.frontend.families.neighbours import inverse_distance_weights
from sklir.frontend.frame import Frame, Input, StringColumn, join, numeric, strings_lost
from sklir.frontend.frame import column as frame_column
from sklir.frontend.outputs import same_for_every_row
from sklir.frontend.registry import PRECHECKS, lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.dialects.linalg import TopK
from sklir.ir.types import DType
from sklir.runtimes import MISSING_STRING, is_missing


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and is_missing(value)


def fill_values(est: SimpleImputer) -> np.ndarray:
    """``statistics_`` as scikit-learn applies them: in the dtype of the fitted data, then f64."""
    fill_dtype = getattr(est, "_fill_dtype", np.float64)
    return np.asarray(est.statistics_).astype(fill_dtype).astype(np.float64)


def kept_features(est: SimpleImputer, stats: np.ndarray) -> np.ndarray:
    """Indices of the features the output keeps: all, or those seen with a value at fit."""
    if est.keep_empty_features:
        return np.arange(stats.size)
    return np.flatnonzero(~np.isnan(stats))


def missing_indicator(b: Builder, x: Value, features: np.ndarray) -> Value:
    """``float(isnan(x[:, features]))``: the indicator columns SimpleImputer appends."""
    return b.call("cast", b.call("isnan", select_columns(b, x, features)), to=DType.f64)


def _imputer_strings(est: SimpleImputer) -> np.ndarray:
    """Where the input holds strings: the columns whose fitted statistic is a string."""
    return np.array([isinstance(v, str) for v in np.asarray(est.statistics_, dtype=object)], dtype=bool)


@lowers(SimpleImputer, frames=_imputer_strings)
def lower_simple_imputer(est: SimpleImputer, b: Builder, x: Input) -> dict[str, Input]:
    """Drop all-missing features (unless kept), fill NaN, then append the indicator if asked."""
    if isinstance(x, Frame) and x.has_strings:
        return {"transform": _impute_frame(est, b, x)}
    x = numeric(b, x, "SimpleImputer")
    strings = np.flatnonzero(_imputer_strings(est))
    if strings.size:
        raise strings_lost("SimpleImputer", int(strings[0]))
    if not _is_nan(est.missing_values):
        raise refuse(est, "missing_values", est.missing_values, "np.nan (None or a string for string columns)")
    stats = fill_values(est)
    keep = kept_features(est, stats)
    columns = select_columns(b, x, keep)
    filled = b.call("select", b.call("isnan", columns), b.const(stats[keep]), columns)
    indicator_features = est.indicator_.features_ if est.add_indicator else np.empty(0, dtype=np.int64)
    if indicator_features.size == 0:
        return {"transform": filled}
    return {"transform": b.call("concat", filled, missing_indicator(b, x, indicator_features), axis=1)}


def _impute_frame(est: SimpleImputer, b: Builder, x: Frame) -> Input:
    """SimpleImputer on a DataFrame with string columns: a string column's missing value (the empty
    string for NaN or None, else the ``missing_values`` string) is read as its statistic, an alias
    the encoder after it applies (no backend selects strings); numbers are filled as above."""
    missing = est.missing_values
    if not (_is_nan(missing) or missing is None or isinstance(missing, str)):
        raise refuse(est, "missing_values", missing, "np.nan, None or a string on string columns")
    marker = missing if isinstance(missing, str) else MISSING_STRING
    stats = np.asarray(est.statistics_, dtype=object)
    empty = [is_missing(v) for v in stats]
    keep = range(len(stats)) if est.keep_empty_features else [j for j in range(len(stats)) if not empty[j]]
    parts: list[Input] = []
    for j in keep:
        col = frame_column(b, x, j)
        if isinstance(col, StringColumn):
            parts.append(Frame((col.aliased(marker, str(stats[j])),)))
        else:
            fill = b.const(np.array([float(stats[j])]))
            parts.append(b.call("select", b.call("isnan", col), fill, col))
    if est.add_indicator:
        for j in est.indicator_.features_:
            col = frame_column(b, x, int(j))
            hit = (b.call("compare", col.value, b.const(np.array(marker, dtype=object), DType.str), predicate="eq")
                   if isinstance(col, StringColumn) else b.call("isnan", col))
            parts.append(b.call("cast", hit, to=DType.f64))
    return join(b, parts)


def nan_euclidean(b: Builder, x: Value, training: np.ndarray) -> tuple[Value, Value]:
    """scikit-learn's ``nan_euclidean_distances`` from every row of ``x`` to every training row,
    ``[N, M]``: the squared differences over the coordinates both have, scaled by ``F / count``,
    then the square root; and where they share no coordinate (the distance is NaN there).
    Computed from the differences (``[N, M, F]``), not scikit-learn's expansion, so close rows
    keep their digits in float32."""
    width = training.shape[1]
    missing = b.call("isnan", x)
    zero = b.const(0.0)
    filled = b.call("select", missing, zero, x)
    present = b.call("cast", b.call("logical_not", missing), to=DType.f64)
    train_present = (~np.isnan(training)).astype(np.float64)
    both = b.call("mul", b.call("expand_dims", present, axis=1), b.const(train_present))
    diff = b.call("sub", b.call("expand_dims", filled, axis=1), b.const(np.nan_to_num(training, nan=0.0)))
    squares = b.call("reduce", b.call("mul", b.call("square", diff), both), kind="sum", axis=2, keepdims=False)
    count = b.call("matmul", present, b.const(train_present.T))
    none = b.call("compare", count, zero, predicate="eq")
    scaled = b.call("div", b.call("mul", squares, b.const(float(width))), b.call("maximum", count, b.const(1.0)))
    return b.call("sqrt", scaled), none


def _knn_column(est: KNNImputer, b: Builder, x: Value, distances: Value, unknown: Value, column: int) -> Value:
    """Column ``column`` of ``x`` with each NaN replaced by the (weighted) mean of that feature over
    the nearest training rows that have it; a row sharing no coordinate with any of them gets the
    feature's training mean, as ``KNNImputer`` does."""
    training = np.asarray(est._fit_X, np.float64)
    donors = ~np.isnan(training[:, column])
    # rows that cannot give this feature, or share no coordinate with x, rank last and weigh 0: at
    # float32's largest value (TFLite stores no infinite constant), which no distance reaches
    last = b.const(float(np.finfo(np.float32).max))
    key = b.call("select", b.call("logical_or", unknown, b.const(~donors.reshape(1, -1))), last, distances)
    k = min(est.n_neighbors, int(donors.sum()))
    nearest, index = b.apply(TopK(k=k, largest=False), key)
    usable = b.call("compare", nearest, last, predicate="lt")
    weights = inverse_distance_weights(b, nearest, usable) if est.weights == "distance" else \
        b.call("cast", usable, to=DType.f64)
    values = b.call("gather", b.const(np.nan_to_num(training[:, column], nan=0.0)), index, axis=0)
    total = b.call("reduce", weights, kind="sum", axis=1, keepdims=False)
    weighted = b.call("reduce", b.call("mul", weights, values), kind="sum", axis=1, keepdims=False)
    none = b.call("compare", total, b.const(0.0), predicate="eq")
    mean = float(training[donors, column].mean())
    value = b.call("select", none, b.const(mean), b.call("div", weighted, b.call("select", none, b.const(1.0), total)))
    original = b.call("squeeze", select_columns(b, x, np.array([column])), axis=1)
    return b.call("select", b.call("isnan", original), value, original)


def _check_knn(est: KNNImputer) -> None:
    if not _is_nan(est.missing_values):
        raise refuse(est, "missing_values", est.missing_values, "np.nan")
    if est.metric != "nan_euclidean":
        raise refuse(est, "metric", est.metric, ["nan_euclidean"])
    if not isinstance(est.weights, str) or est.weights not in ("uniform", "distance"):
        raise refuse(est, "weights", est.weights, ["uniform", "distance"])


PRECHECKS[KNNImputer] = _check_knn


@lowers(KNNImputer)
def lower_knn_imputer(est: KNNImputer, b: Builder, x: Value) -> dict[str, Value]:
    """Every feature seen with a value at fit imputed from the nearest training rows; features
    never seen dropped (or kept as 0 with ``keep_empty_features``); then the indicator if asked."""
    _check_knn(est)
    training = np.asarray(est._fit_X, np.float64)
    distances, unknown = nan_euclidean(b, x, training)
    valid = np.asarray(est._valid_mask, bool)
    columns = []
    for column in range(training.shape[1]):
        if valid[column]:
            columns.append(_knn_column(est, b, x, distances, unknown, column))
        elif est.keep_empty_features:
            columns.append(same_for_every_row(b, x, 0.0))
    filled = b.call("concat", *(b.call("expand_dims", c, axis=1) for c in columns), axis=1)
    indicator_features = est.indicator_.features_ if est.add_indicator else np.empty(0, dtype=np.int64)
    if indicator_features.size == 0:
        return {"transform": filled}
    return {"transform": b.call("concat", filled, missing_indicator(b, x, indicator_features), axis=1)}


@lowers(MissingIndicator)
def lower_missing_indicator(est: MissingIndicator, b: Builder, x: Value) -> dict[str, Value]:
    """``isnan`` of the features it reports (those with a missing value at fit, or all), as bools."""
    if not _is_nan(est.missing_values):
        raise refuse(est, "missing_values", est.missing_values, "np.nan")
    return {"transform": b.call("isnan", select_columns(b, x, np.asarray(est.features_, np.int64)))}

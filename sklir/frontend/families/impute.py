"""SimpleImputer with ``missing_values=np.nan``: replace NaN by the fitted ``statistics_``.

Every strategy (mean, median, most_frequent, constant, a callable) ends in the same fitted
``statistics_``, so one lowering serves them all. NaN is replaced with ``select(isnan(x), fill, x)``
before any arithmetic sees it: some runtimes mishandle NaN in exp and reductions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.impute import SimpleImputer

from sklir.frontend.affine import select_columns
from sklir.frontend.registry import lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.types import DType


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and bool(np.isnan(value))


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


@lowers(SimpleImputer)
def lower_simple_imputer(est: SimpleImputer, b: Builder, x: Value) -> dict[str, Value]:
    """Drop all-missing features (unless kept), fill NaN, then append the indicator if asked."""
    if not _is_nan(est.missing_values):
        raise refuse(est, "missing_values", est.missing_values, "np.nan")
    stats = fill_values(est)
    keep = kept_features(est, stats)
    columns = select_columns(b, x, keep)
    filled = b.call("select", b.call("isnan", columns), b.const(stats[keep]), columns)
    indicator_features = est.indicator_.features_ if est.add_indicator else np.empty(0, dtype=np.int64)
    if indicator_features.size == 0:
        return {"transform": filled}
    return {"transform": b.call("concat", filled, missing_indicator(b, x, indicator_features), axis=1)}

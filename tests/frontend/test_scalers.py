"""Parity of the column scalers, Normalizer and Binarizer on real data.

Models are fitted on every other row and checked on all rows scaled by 1.2, so held-out values
leave the fitted range and the clip options are exercised. Tolerances: the parity harness's
defaults (1e-9 for the interpreter, 1e-5 of the output's scale for the float32 artefacts).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import dataset
from parity import assert_parity
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Binarizer, MaxAbsScaler, MinMaxScaler, Normalizer, RobustScaler, StandardScaler

import sklir

CASES = {
    "standard": (StandardScaler, {}),
    "standard-no-mean": (StandardScaler, {"with_mean": False}),
    "standard-no-std": (StandardScaler, {"with_std": False}),
    "minmax": (MinMaxScaler, {}),
    "minmax-range-clip": (MinMaxScaler, {"feature_range": (-2, 3), "clip": True}),
    "maxabs": (MaxAbsScaler, {}),
    "maxabs-clip": (MaxAbsScaler, {"clip": True}),
    "robust": (RobustScaler, {}),
    "robust-no-center-unit-var": (RobustScaler, {"with_centering": False, "unit_variance": True}),
    "robust-no-scaling": (RobustScaler, {"with_scaling": False, "quantile_range": (10.0, 90.0)}),
    "normalizer-l1": (Normalizer, {"norm": "l1"}),
    "normalizer-l2": (Normalizer, {"norm": "l2"}),
    "normalizer-max": (Normalizer, {"norm": "max"}),
}

DATASETS = ["wine", "diabetes"]


def held_out(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(rows to fit on, rows to check on) of a dataset; the check rows exceed the fitted range."""
    X, _ = dataset(name)
    return X[::2], X * 1.2


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("case", list(CASES))
def test_scaler_parity(case: str, data: str) -> None:
    cls, params = CASES[case]
    fit_rows, check_rows = held_out(data)
    assert_parity(cls(**params).fit(fit_rows), check_rows)


@pytest.mark.parametrize("data", DATASETS)
def test_minmax_clip_bounds_reached(data: str) -> None:
    # the clip must actually bite on the check rows at both ends, or the parity case proves nothing about it
    cls, params = CASES["minmax-range-clip"]
    fit_rows, check_rows = held_out(data)
    out = cls(**params).fit(fit_rows).transform(check_rows)
    assert (out.min(), out.max()) == params["feature_range"]


@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
def test_normalizer_zero_rows_stay_zero(norm: str) -> None:
    # digits has no all-zero rows; blank a few to exercise the norm-of-zero rule
    X, _ = dataset("digits")
    X = X[:200].copy()
    X[::17] = 0.0
    assert_parity(Normalizer(norm=norm).fit(X), X)


@pytest.mark.parametrize("threshold", [0.0, 7.5, 8.0])
def test_binarizer_parity(threshold: float) -> None:
    # digits holds integers 0..16, so threshold 8.0 hits many values exactly: x == threshold gives 0
    X, _ = dataset("digits")
    assert np.any(X == 8.0)
    assert_parity(Binarizer(threshold=threshold).fit(X), X)


@pytest.mark.parametrize("threshold", [0.1, 0.2, 3.4])
def test_binarizer_threshold_not_representable_in_f32(threshold: float) -> None:
    # iris holds float32(0.1) > 0.1: a threshold rounded to nearest would flip those to 0 in float32
    X, _ = dataset("iris")
    assert np.any((X > threshold) & (X.astype(np.float32) == np.float32(threshold)))
    assert_parity(Binarizer(threshold=threshold).fit(X), X)


def test_binarizer_after_a_scaler_keeps_the_exact_threshold() -> None:
    # scaled values are not float32 numbers, so the f64 threshold stays as scikit-learn has it
    X, _ = dataset("iris")
    pipe = make_pipeline(MaxAbsScaler(), Binarizer(threshold=0.3)).fit(X)
    module = sklir.lower(pipe, optimize=False)
    thresholds = [n.op.value.array for n in module.nodes if n.op.name == "constant" and n.op.value.array.ndim == 0]
    assert [float(t) for t in thresholds] == [0.3]
    assert_parity(pipe, X)

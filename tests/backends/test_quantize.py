"""``--quantize float16|int8``: matrix-product weights stored narrower, everything else exact;
with representative rows (``--data``), int8 products computing in int8 (TFLite Micro too).

Each bound below is the parity measured on the model (digits, all 1797 rows) with a margin, and
the reason it is looser than 1e-5: the weights themselves are rounded (float16: 11 significant
bits, relative error 2^-11; int8: 1/254 of each output channel's largest weight, and LiteRT's
hybrid kernel quantises each input row to int8 too). Trees are quantised only where a weight is
an integer matrix, which float16 holds exactly: their leaves stay identical to ``apply``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest
from conftest import dataset
from parity import artefact

import sklir
from sklir.backends.profiles import QUANTIZE_MODES, profile_named
from sklir.backends.tflite_quantize import MODES, activation_parameters
from sklir.errors import SklirError
from sklir.runtimes import run
from sklir.runtimes.litert import operator_names, read_metadata, run_tflite

# (model, mode) -> (least label agreement, largest |probability error|, largest size ratio)
BOUNDS = {
    ("mlp", "float16"): (0.999, 2e-3, 0.65),   # measured: 1.0, 4.6e-4, 0.59
    ("mlp", "int8"): (0.99, 0.06, 0.45),       # measured: 1.0, 0.022, 0.41
    # a 64 x 10 weight matrix is a small part of the file (metadata, label file): 0.83 of the size
    ("logistic", "float16"): (0.999, 2e-3, 0.9),  # measured: 1.0, 7.9e-4, 0.83
    # the hybrid kernel rounds each scaled input row to int8: 2 of 1797 near-tie rows change
    # label, and one's probabilities move by 0.31
    ("logistic", "int8"): (0.995, 0.4, 0.8),      # measured: 0.9989, 0.31, 0.73
}


# int8 products calibrated on every 9th digits row (200 rows), measured on all 1797: (profile) ->
# (least label agreement, largest |probability error|, largest size ratio to the float32 file);
# looser than 1e-5 because weights (1/254 of each channel's largest) and activations (1/255 of
# each calibrated range) are rounded
PRODUCT_BOUNDS = {
    ("mlp", "default"): (0.999, 0.05, 0.6),       # measured: 1.0, 0.022, 0.52
    ("mlp", "micro"): (0.999, 0.05, 0.6),         # measured: 1.0, 0.022, 0.50
    # as the hybrid kernel above: near-tie rows of the linear model move
    ("logistic", "default"): (0.995, 0.4, 0.9),   # measured: 0.9994, 0.33, 0.84
    ("logistic", "micro"): (0.995, 0.4, 0.9),     # measured: 0.9994, 0.33, 0.78
}
RUNTIMES = {"default": "tflite", "micro": "micro"}


@cache
def fitted(name: str) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = dataset("digits")
    model = {"mlp": MLPClassifier((64, 32), max_iter=300, random_state=0),
             "logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))}[name]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence: the fitted weights are what is compared
        return model.fit(X, y)


@pytest.mark.parametrize(("name", "mode"), sorted(BOUNDS))
def test_quantized_weights_shrink_the_file_within_the_stated_bounds(name: str, mode: str) -> None:
    model = fitted(name)
    X = dataset("digits")[0].astype(np.float32)
    full = artefact(sklir.lower(model), "tflite")  # the float32 file, converted once per session
    data = sklir.emit(model, "tflite", profile=profile_named("default", quantize=mode))
    agreement, error, ratio = BOUNDS[(name, mode)]
    out = run_tflite(data, X)
    assert np.mean(out["label"] == model.predict(X)) >= agreement
    assert np.abs(out["probabilities"] - model.predict_proba(X)).max() <= error
    assert len(data) <= ratio * len(full), (len(data), len(full))
    assert ("DEQUANTIZE" in operator_names(data)) == (mode == "float16")
    assert b'"quantize": "' + mode.encode() + b'"' in read_metadata(data)["sklir"]


@pytest.mark.parametrize(("name", "profile"), sorted(PRODUCT_BOUNDS))
def test_int8_products_calibrated_on_rows_within_the_stated_bounds(name: str, profile: str) -> None:
    model = fitted(name)
    X = dataset("digits")[0].astype(np.float32)
    full = artefact(sklir.lower(model), "tflite")
    data = sklir.emit(model, "tflite", profile=profile_named(profile, quantize="int8", representative=X[::9]))
    agreement, error, ratio = PRODUCT_BOUNDS[(name, profile)]
    out = run(data, RUNTIMES[profile], X)
    assert np.mean(out["label"] == model.predict(X)) >= agreement
    assert np.abs(out["probabilities"] - model.predict_proba(X)).max() <= error
    assert len(data) <= ratio * len(full), (len(data), len(full))
    assert {"QUANTIZE", "FULLY_CONNECTED", "DEQUANTIZE"} <= set(operator_names(data))
    assert b'"int8_products_calibrated_on": 200' in read_metadata(data)["sklir"]


@pytest.mark.parametrize("strategy", ["perfect", "traversal"])
def test_forest_leaf_values_in_float16_and_thresholds_exact(strategy: str) -> None:
    from sklearn.ensemble import RandomForestClassifier

    X, y = dataset("digits")
    forest = RandomForestClassifier(20, max_depth=6, random_state=0).fit(X, y)
    module = sklir.lower(forest, internals=("leaves",))
    X32 = X.astype(np.float32)
    full = run_tflite(sklir.emit(module, "tflite", tree_strategy=strategy), X32)
    data = sklir.emit(module, "tflite", tree_strategy=strategy, profile=profile_named("default", quantize="float16"))
    narrow = run_tflite(data, X32)
    # the leaf values (gathered into the sum) are stored as float16 and widened; the thresholds
    # (compared with) are not: every leaf is the one apply() gives
    assert "DEQUANTIZE" in operator_names(data)
    np.testing.assert_array_equal(narrow["leaves"], forest.apply(X32))
    # a mean of leaf fractions each rounded to float16 (relative error 2^-11)
    np.testing.assert_allclose(narrow["probabilities"], full["probabilities"], rtol=0, atol=2.0 ** -11)


def test_micro_int8_keeps_what_would_be_float16_as_float32() -> None:
    # TFLite Micro cannot widen float16 constants: a forest's leaf values stay float32 there
    from sklearn.ensemble import RandomForestClassifier

    X, y = dataset("digits")
    forest = RandomForestClassifier(5, max_depth=4, random_state=0).fit(X, y)
    X32 = X.astype(np.float32)
    data = sklir.emit(sklir.lower(forest, internals=("leaves",)), "tflite",
                      profile=profile_named("micro", quantize="int8", representative=X32[::9]))
    assert "DEQUANTIZE" not in operator_names(data)
    np.testing.assert_array_equal(run(data, "micro", X32[:50])["leaves"], forest.apply(X32[:50]))


def test_activation_parameters_cover_the_range_and_hold_zero_exactly() -> None:
    for low, high in [(-1.0, 3.0), (2.0, 5.0), (-4.0, -1.0), (0.0, 0.0), (-1e-3, 7e4)]:
        scale, zero = activation_parameters(low, high)
        assert -128 <= zero <= 127 and scale > 0
        # 0 is the zero point itself; the range's ends are within half a step of int8's ends
        assert (-128 - zero) * scale <= min(low, 0.0) + scale / 2
        assert (127 - zero) * scale >= max(high, 0.0) - scale / 2
    assert activation_parameters(2.0, 5.0)[1] == -128  # a range above 0 starts at 0


@pytest.mark.parametrize("mode", [*MODES, "int8 products"])
@pytest.mark.parametrize("strategy", ["gemm", "perfect", "traversal"])
def test_tree_decisions_stay_identical(mode: str, strategy: str) -> None:
    from sklearn.tree import DecisionTreeClassifier

    X, y = dataset("digits")
    tree = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)
    module = sklir.lower(tree, internals=("leaves",))
    X32 = X.astype(np.float32)
    profile = profile_named("default", quantize="int8", representative=X32) if mode == "int8 products" \
        else profile_named("default", quantize=mode)
    data = sklir.emit(module, "tflite", tree_strategy=strategy, profile=profile)
    np.testing.assert_array_equal(run_tflite(data, X32)["leaves"][:, 0], tree.apply(X32))


def test_refusals() -> None:
    assert set(QUANTIZE_MODES) == set(MODES)
    with pytest.raises(SklirError, match="unknown quantisation 'int4'"):
        profile_named("default", quantize="int4")
    with pytest.raises(SklirError, match="micro profile takes float16 weights only as int8 products calibrated"):
        profile_named("micro", quantize="float16")
    rows = np.zeros((3, 64), np.float32)
    with pytest.raises(SklirError, match="representative rows calibrate int8 products, not float16 weights"):
        profile_named("default", quantize="float16", representative=rows)
    with pytest.raises(SklirError, match="representative rows calibrate int8 products: give them with int8"):
        profile_named("default", representative=rows)
    with pytest.raises(SklirError, match="quantised weights are written into .tflite files only, not onnx"):
        sklir.emit(fitted("logistic"), "onnx", profile=profile_named("default", quantize="int8"))

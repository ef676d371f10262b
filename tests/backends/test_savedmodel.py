"""The SavedModel target: same ``serving_default`` signature and the same answers as the ``.tflite``.

A SavedModel is slower to write and load than a ``.tflite`` is to convert, so this runs a handful
of op cases with different dtypes and domains plus one real model, each saved and loaded once per
session. Floats agree with LiteRT within ``1e-6`` of the output's scale (the same tolerance as
test_tflite.py: both run float32 kernels that may sum in different orders); the rest exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import dataset
from op_cases import CASES, OpCase
from test_tflite import assert_same, iris_pipeline, tflite

import sklir
from sklir.backends.tflite import call_savedmodel, emit_savedmodel, tf
from sklir.ir import Module
from sklir.runtimes.litert import run_tflite

CHOSEN = ["matmul", "softmax", "take_along_axis", "select", "label_lookup_str", "label_lookup_i64",
          "label_lookup_bool", "cast_bool", "sign_i64"]
SAVED_CASES = [case for case in CASES if case.name in CHOSEN]


@pytest.fixture(scope="session")
def saved_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for every SavedModel this session writes."""
    return tmp_path_factory.mktemp("savedmodels")


_LOADED: dict[str, object] = {}


def loaded(module: Module, root: Path) -> object:
    """``tf.saved_model.load`` of the module's SavedModel, written and loaded once per session."""
    if module.name not in _LOADED:
        directory = root / module.name
        emit_savedmodel(module, directory)
        _LOADED[module.name] = tf.saved_model.load(str(directory))
    return _LOADED[module.name]


def test_chosen_cases_exist() -> None:
    assert len(SAVED_CASES) == len(CHOSEN)


@pytest.mark.parametrize("case", SAVED_CASES, ids=lambda c: c.name)
def test_signature_matches_the_tflite_one(case: OpCase, saved_root: Path) -> None:
    signature = loaded(case.module, saved_root).signatures["serving_default"]  # type: ignore[attr-defined]
    _, inputs = signature.structured_input_signature
    assert list(inputs) == ["x"]
    assert inputs["x"].shape.as_list() == [None, 4] and inputs["x"].dtype == tf.float32
    assert sorted(signature.structured_outputs) == sorted(case.module.outputs)


@pytest.mark.parametrize("case", SAVED_CASES, ids=lambda c: c.name)
def test_answers_match_litert_and_the_interpreter(case: OpCase, saved_root: Path) -> None:
    model = loaded(case.module, saved_root)
    for batch in (1, 33):
        X = case.X(batch, seed=batch)
        got = call_savedmodel(model, X)
        assert_same(got, run_tflite(tflite(case), X), f"{case.name}[{batch}] vs LiteRT")
        assert_same(got, sklir.interpret(case.module, X, precision="native"), f"{case.name}[{batch}] vs interpreter")


def test_real_model_through_emit_writes_metadata_and_matches(saved_root: Path) -> None:
    estimator, module = iris_pipeline()
    directory = sklir.emit(module, "savedmodel", saved_root / "iris")
    assert isinstance(directory, Path) and (directory / "saved_model.pb").is_file()
    recorded = json.loads((directory / "assets.extra" / "sklir.json").read_text(encoding="utf-8"))
    assert recorded["classes"] == ["setosa", "versicolor", "virginica"]
    assert recorded["source"] == "Pipeline(StandardScaler, LogisticRegression)"
    X = dataset("iris")[0].astype(np.float32)
    got = call_savedmodel(tf.saved_model.load(str(directory)), X)
    assert (got["label"] == estimator.predict(X)).all()  # type: ignore[attr-defined]
    # rtol 1e-5 of the scale, the parity harness's contract for f32 artefacts against scikit-learn
    want = estimator.predict_proba(X)  # type: ignore[attr-defined]
    np.testing.assert_allclose(got["probabilities"], want, rtol=0, atol=1e-5)

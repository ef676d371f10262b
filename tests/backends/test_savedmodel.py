"""The SavedModel target: same ``serving_default`` signature and the same answers as the ``.tflite``.

A SavedModel is slower to write and load than a ``.tflite`` is to convert, so this runs a handful
of op cases with different dtypes and domains plus one real model, each written once per session
and run through ``sklir.runtimes.run`` (which loads a directory once). Floats agree with LiteRT
within ``1e-6`` of the output's scale (the same tolerance as test_tflite.py: both run float32
kernels that may sum in different orders); the rest exactly (``backend_checks``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from backend_checks import assert_backend_matches, emitted, iris_pipeline
from conftest import dataset
from op_cases import CASES, OpCase

import sklir
from sklir.backends.tflite import emit_savedmodel, tf
from sklir.check import compare_outputs, expected_outputs, format_table, passed
from sklir.ir import Module
from sklir.runtimes import run
from sklir.runtimes.litert import run_tflite

RTOL = 1e-6
CHOSEN = ["matmul", "softmax", "take_along_axis", "select", "label_lookup_str", "label_lookup_i64",
          "label_lookup_bool", "cast_bool", "sign_i64"]
SAVED_CASES = [case for case in CASES if case.name in CHOSEN]


@pytest.fixture(scope="session")
def saved_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for every SavedModel this session writes."""
    return tmp_path_factory.mktemp("savedmodels")


@pytest.fixture(scope="session")
def saved(saved_root: Path) -> Callable[[Module], Path]:
    """The module's SavedModel directory, written at most once per session."""
    written: dict[str, Path] = {}

    def write(module: Module) -> Path:
        if module.name not in written:
            directory = saved_root / module.name
            # the emitter itself, like backend_checks.emitted: the module exactly as given
            emit_savedmodel(module, directory)
            written[module.name] = directory
        return written[module.name]

    return write


def test_chosen_cases_exist() -> None:
    assert len(SAVED_CASES) == len(CHOSEN)


@pytest.mark.parametrize("case", SAVED_CASES, ids=lambda c: c.name)
def test_signature_matches_the_tflite_one(case: OpCase, saved: Callable[[Module], Path]) -> None:
    # the signature's specs are only visible on the loaded object, not through sklir.runtimes.run
    signature = tf.saved_model.load(str(saved(case.module))).signatures["serving_default"]
    _, inputs = signature.structured_input_signature
    assert list(inputs) == ["x"]
    assert inputs["x"].shape.as_list() == [None, 4] and inputs["x"].dtype == tf.float32
    assert sorted(signature.structured_outputs) == sorted(case.module.outputs)


@pytest.mark.parametrize("case", SAVED_CASES, ids=lambda c: c.name)
def test_answers_match_litert_and_the_interpreter(case: OpCase, saved: Callable[[Module], Path]) -> None:
    directory = saved(case.module)
    for batch in (1, 33):
        X = case.X(batch, seed=batch)
        got = run(directory, "savedmodel", X)
        assert_backend_matches(got, run_tflite(emitted(case.module, "tflite"), X), RTOL,
                               f"{case.name}[{batch}] vs LiteRT")
        assert_backend_matches(got, sklir.interpret(case.module, X, precision="native"), RTOL,
                               f"{case.name}[{batch}] vs interpreter")


def test_real_model_through_emit_writes_metadata_and_matches(saved_root: Path) -> None:
    estimator, module = iris_pipeline()
    directory = sklir.emit(module, "savedmodel", saved_root / "iris")
    assert isinstance(directory, Path) and (directory / "saved_model.pb").is_file()
    recorded = json.loads((directory / "assets.extra" / "sklir.json").read_text(encoding="utf-8"))
    assert recorded["classes"] == ["setosa", "versicolor", "virginica"]
    assert recorded["source"] == "Pipeline(StandardScaler, LogisticRegression)"
    X = dataset("iris")[0]
    got = run(directory, "savedmodel", X)
    # rtol 1e-5 of the scale, the parity harness's contract for f32 artefacts against scikit-learn;
    # every output of the contract, decision included
    rows = compare_outputs(got, expected_outputs(estimator, X), 1e-5)
    assert passed(rows), format_table(rows, 1e-5)
    assert {row.name for row in rows} == {"label", "probabilities", "decision"}

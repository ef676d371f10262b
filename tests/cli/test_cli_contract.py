"""sklir.check's comparison rules and the ``supported`` table, without any runtime."""

from __future__ import annotations

import numpy as np
import pytest
from cli_support import run_cli
from conftest import dataset
from sklearn.linear_model import LinearRegression, LogisticRegression, SGDClassifier
from sklearn.preprocessing import StandardScaler

from sklir.check import compare_output, compare_outputs, contract_outputs, expected_outputs, passed


def test_contract_per_estimator_kind() -> None:
    assert contract_outputs(LogisticRegression) == {"label": "predict", "probabilities": "predict_proba",
                                                    "decision": "decision_function"}
    assert list(contract_outputs(SGDClassifier(loss="hinge"))) == ["label", "decision"]  # no predict_proba
    assert list(contract_outputs(LinearRegression())) == ["prediction"]
    assert list(contract_outputs(StandardScaler())) == ["transform"]


def test_expected_outputs_follow_scikit_learn() -> None:
    X, y = dataset("iris")
    model = LogisticRegression(max_iter=1000).fit(X, y)
    out = expected_outputs(model, X)
    np.testing.assert_array_equal(out["label"], model.predict(X))
    np.testing.assert_array_equal(out["probabilities"], model.predict_proba(X))


def test_float_error_is_relative_to_the_output_scale() -> None:
    want = np.array([[1000.0, -2000.0]])
    row = compare_output("prediction", want + 0.01, want, rtol=1e-5)
    assert row.max_abs == pytest.approx(0.01)
    assert row.max_rel == pytest.approx(0.01 / 2000)
    assert row.ok
    assert not compare_output("prediction", want + 0.1, want, rtol=1e-5).ok


def test_nan_must_match_nan() -> None:
    want = np.array([np.nan, 1.0])
    assert compare_output("transform", np.array([np.nan, 1.0]), want, 1e-5).ok
    assert not compare_output("transform", np.array([0.0, 1.0]), want, 1e-5).ok


def test_labels_must_be_identical() -> None:
    want = np.array(["a", "b", "c", "d"], dtype=object)
    row = compare_output("label", np.array(["a", "b", "c", "x"], dtype=object), want, 1e-5)
    assert (row.ok, row.agreement) == (False, 0.75)


def test_missing_extra_and_misshapen_outputs_fail() -> None:
    want = {"label": np.zeros(3, dtype=np.int64), "probabilities": np.zeros((3, 2))}
    rows = compare_outputs({"label": np.zeros(3, dtype=np.int64), "extra": np.zeros(3)}, want)
    assert [(r.name, r.ok) for r in rows] == [("label", True), ("probabilities", False), ("extra", False)]
    assert not passed(rows)
    assert not compare_output("probabilities", np.zeros((2, 3)), np.zeros((3, 2)), 1e-5).ok


def test_supported_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "supported")
    assert code == 0
    lines = out.splitlines()
    section = lines.index("sklearn.linear_model")
    entries = {line.split()[0]: line for line in lines[section + 1:] if line.startswith("  ")}
    assert entries["LinearRegression"].split()[1:] == ["prediction"]
    assert "label, probabilities, decision" in entries["LogisticRegression"]
    assert "StandardScaler" in out and "Pipeline" in out

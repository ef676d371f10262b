"""``sklir check``: the parity table, exit 0 on a faithful artefact and 1 on a wrong one.

Artefacts are emitted once per session. The default tolerance is the harness's (labels identical,
floats within 1e-5 of the output's scale).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_support import assert_one_line_error, model_artefacts, run_cli


@pytest.fixture(scope="session")
def artefacts() -> Path:
    """The session's model directory with ``<model>.<target>`` artefacts beside the models."""
    return model_artefacts()


def _table_rows(out: str) -> dict[str, list[str]]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("output "))
    rows = {}
    for line in lines[start + 1:]:
        if line.startswith("parity "):
            break
        cells = line.split()
        rows[cells[0]] = cells
    return rows


@pytest.mark.parametrize("target", ["tflite", "onnx"])
def test_good_artefact_passes_on_generated_data(capsys: pytest.CaptureFixture[str], artefacts: Path,
                                                target: str) -> None:
    code, out, err = run_cli(capsys, "check", artefacts / "digits.joblib", artefacts / f"digits.{target}")
    assert (code, err) == (0, "")
    assert "256 generated rows" in out
    rows = _table_rows(out)
    assert set(rows) == {"label", "probabilities", "decision"}
    assert "100.00%" in rows["label"]
    assert rows["probabilities"][1:3] == ["[256,", "10]"]
    assert out.rstrip().splitlines()[-1].startswith("parity OK")


def test_good_artefact_passes_on_npy_data(capsys: pytest.CaptureFixture[str], artefacts: Path) -> None:
    code, out, _ = run_cli(capsys, "check", artefacts / "digits.joblib", artefacts / "digits.tflite",
                           "--data", artefacts / "digits.npy")
    assert code == 0
    assert "1797 rows from" in out


def test_csv_with_a_header(capsys: pytest.CaptureFixture[str], artefacts: Path, tmp_path: Path) -> None:
    X = np.load(artefacts / "digits.npy")[:100]
    csv = tmp_path / "digits.csv"
    np.savetxt(csv, X, delimiter=",", header=",".join(f"pixel{i}" for i in range(64)), comments="")
    code, out, _ = run_cli(capsys, "check", artefacts / "digits.joblib", artefacts / "digits.onnx", "--data", csv)
    assert code == 0
    assert "100 rows from" in out


def test_string_labels(capsys: pytest.CaptureFixture[str], artefacts: Path) -> None:
    code, out, _ = run_cli(capsys, "check", artefacts / "iris_names.joblib", artefacts / "iris_names.tflite")
    assert code == 0
    assert "100.00%" in _table_rows(out)["label"]


def test_regressor(capsys: pytest.CaptureFixture[str], artefacts: Path) -> None:
    code, out, _ = run_cli(capsys, "check", artefacts / "diabetes.joblib", artefacts / "diabetes.onnx")
    assert code == 0
    assert list(_table_rows(out)) == ["prediction"]


@pytest.mark.parametrize("target", ["tflite", "onnx"])
def test_artefact_of_another_model_fails(capsys: pytest.CaptureFixture[str], artefacts: Path, target: str) -> None:
    code, out, _ = run_cli(capsys, "check", artefacts / "digits.joblib", artefacts / f"digits_other.{target}",
                           "--data", artefacts / "digits.npy")
    assert code == 1
    rows = _table_rows(out)
    assert rows["probabilities"][-1] == "FAIL"
    assert out.rstrip().splitlines()[-1].startswith("parity FAILED")


def test_rtol_option(capsys: pytest.CaptureFixture[str], artefacts: Path) -> None:
    # a float32 artefact cannot match float64 decisions to 1e-12 of their scale
    code, out, _ = run_cli(capsys, "check", artefacts / "digits.joblib", artefacts / "digits.onnx", "--rtol", "1e-12")
    assert code == 1
    assert "1e-12" in out


def test_ir_model_is_checked_against_the_interpreter(capsys: pytest.CaptureFixture[str], artefacts: Path) -> None:
    code, out, _ = run_cli(capsys, "check", artefacts / "digits.sklir", artefacts / "digits.tflite")
    assert code == 0
    assert "vs the IR interpreter" in out


@pytest.mark.parametrize("target", ["tflite", "onnx"])
def test_artefact_of_another_width_is_a_one_line_error(capsys: pytest.CaptureFixture[str], artefacts: Path,
                                                       target: str) -> None:
    code, out, err = run_cli(capsys, "check", artefacts / "digits.joblib", artefacts / f"diabetes.{target}")
    assert code == 1 and out == ""
    assert_one_line_error(err, f"diabetes.{target}", "takes 10 features per row, the data is 256x64")


@pytest.mark.parametrize(("target", "fragment"), [("tflite", "not a .tflite model"),
                                                  ("onnx", "onnxruntime cannot load")])
def test_corrupt_artefact_is_a_one_line_error(capsys: pytest.CaptureFixture[str], artefacts: Path, tmp_path: Path,
                                              target: str, fragment: str) -> None:
    corrupt = tmp_path / f"corrupt.{target}"
    corrupt.write_bytes(np.random.default_rng(1).bytes(300))
    code, _, err = run_cli(capsys, "check", artefacts / "digits.joblib", corrupt)
    assert code == 1
    assert_one_line_error(err, fragment)


def test_directory_that_is_not_a_savedmodel_is_a_one_line_error(capsys: pytest.CaptureFixture[str],
                                                                 artefacts: Path, tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "check", artefacts / "digits.joblib", tmp_path)
    assert code == 1 and out == ""
    assert_one_line_error(err, "cannot run this artefact", "SavedModel directories")

"""Bad input: one ``sklir: error:`` line on stderr, exit status 1, and no output file left behind.

Each case builds its input in a fresh directory and lowers to ``.tflite`` there, so an artefact
(or a temporary beside it) would show up in the directory listing.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import pytest
from cli_support import assert_one_line_error, listing, model_dir, run_cli
from conftest import dataset
from sklearn.linear_model import LinearRegression
from sklearn.neighbors import KNeighborsClassifier


def _knn(directory: Path, models: Path) -> Path:
    X, y = dataset("iris")
    path = directory / "knn.joblib"
    joblib.dump(KNeighborsClassifier().fit(X, y), path)
    return path


def _unfitted(directory: Path, models: Path) -> Path:
    path = directory / "unfitted.joblib"
    joblib.dump(LinearRegression(), path)
    return path


def _random_bytes(directory: Path, models: Path) -> Path:
    path = directory / "noise.joblib"
    path.write_bytes(np.random.default_rng(0).bytes(2000))
    return path


def _pickled_dict(directory: Path, models: Path) -> Path:
    path = directory / "dict.pkl"
    path.write_bytes(pickle.dumps({"coef": [1.0, 2.0]}))
    return path


def _empty_file(directory: Path, models: Path) -> Path:
    path = directory / "empty.joblib"
    path.write_bytes(b"")
    return path


def _missing(directory: Path, models: Path) -> Path:
    return directory / "nowhere.joblib"


def _unknown_suffix(directory: Path, models: Path) -> Path:
    path = directory / "model.h5"
    path.write_bytes(b"\x89HDF")
    return path


def _not_a_skops_zip(directory: Path, models: Path) -> Path:
    path = directory / "model.skops"
    path.write_bytes(b"PK not really a zip")
    return path


def _untrusted_skops(directory: Path, models: Path) -> Path:
    path = directory / "untrusted.skops"
    path.write_bytes((models / "untrusted.skops").read_bytes())
    return path


def _elided_ir(directory: Path, models: Path) -> Path:
    import sklir

    path = directory / "elided.sklir"
    path.write_text(sklir.print_module(sklir.parse((models / "digits.sklir").read_text()), elide_constants=True))
    return path


def _malformed_ir(directory: Path, models: Path) -> Path:
    lines = (models / "digits.sklir").read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if "matmul(" in line)
    lines[row] = lines[row].replace(", %", " %", 1)  # drop the comma between matmul's operands
    path = directory / "malformed.sklir"
    path.write_text("\n".join(lines) + "\n")
    return path


def _malformed_ir_position(models: Path) -> str:
    lines = (models / "digits.sklir").read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if "matmul(" in line)
    column = lines[row].replace(", %", " %", 1).index(" %", lines[row].index("matmul(")) + 2
    return f"malformed.sklir:{row + 1}:{column}:"


def _binary_ir(directory: Path, models: Path) -> Path:
    path = directory / "binary.sklir"
    path.write_bytes(b"\xff\xfe\x00garbage")
    return path


# name -> (make the model file, fragments the error line must contain)
CASES: dict[str, tuple[Callable[[Path, Path], Path], tuple[str, ...]]] = {
    "unsupported-estimator": (_knn, ("KNeighborsClassifier", "Supported:", "LinearRegression")),
    "unfitted-estimator": (_unfitted, ("LinearRegression is not fitted",)),
    "random-bytes": (_random_bytes, ("noise.joblib", "not a loadable")),
    "pickled-dict": (_pickled_dict, ("dict.pkl", "builtins.dict", "not a scikit-learn estimator")),
    "empty-file": (_empty_file, ("empty.joblib", "not a loadable")),
    "missing-file": (_missing, ("nowhere.joblib", "no such file")),
    "unknown-suffix": (_unknown_suffix, ("model.h5", ".joblib", ".skops", ".sklir")),
    "corrupt-skops": (_not_a_skops_zip, ("model.skops", "not a skops file")),
    "untrusted-skops": (_untrusted_skops, ("untrusted", "fractions.Fraction", "--trust fractions.Fraction")),
    "elided-ir": (_elided_ir, ("elided.sklir:", "elided", "cannot be parsed")),
    "malformed-ir": (_malformed_ir, ("expected",)),
    "binary-ir": (_binary_ir, ("binary.sklir", "not IR text")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_model_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str) -> None:
    make, fragments = CASES[case]
    model = make(tmp_path, model_dir())
    before = listing(tmp_path)
    out_path = tmp_path / "artefact.tflite"
    code, out, err = run_cli(capsys, "lower", model, "--emit", "tflite", "-o", out_path)
    assert code == 1 and out == ""
    line = assert_one_line_error(err, *fragments)
    if case == "malformed-ir":
        assert _malformed_ir_position(model_dir()) in line  # FILE:LINE:COLUMN of the missing comma
    assert not out_path.exists()
    assert listing(tmp_path) == before


@pytest.mark.parametrize("target", ["tflite", "onnx", "savedmodel", "ir"])
def test_output_directory_does_not_exist(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                         target: str) -> None:
    out_path = tmp_path / "missing" / "artefact"
    code, _, err = run_cli(capsys, "lower", model_dir() / "digits.joblib", "--emit", target, "-o", out_path)
    assert code == 1
    assert_one_line_error(err, "cannot write", "does not exist")
    assert listing(tmp_path) == set()


def test_output_under_a_regular_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(capsys, "lower", model_dir() / "digits.joblib", "--emit", "onnx", "-o", blocker / "x.onnx")
    assert code == 1
    assert_one_line_error(err, "cannot write")
    assert listing(tmp_path) == {"file"}


@pytest.mark.parametrize("target", ["onnx", "ir"])
def test_output_is_an_existing_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path, target: str) -> None:
    (tmp_path / "taken").mkdir()
    code, _, err = run_cli(capsys, "lower", model_dir() / "digits.joblib", "--emit", target, "-o", tmp_path / "taken")
    assert code == 1
    assert_one_line_error(err, "cannot write", "is a directory")
    assert listing(tmp_path) == {"taken"} and listing(tmp_path / "taken") == set()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write into read-only directories")
@pytest.mark.parametrize("target", ["tflite", "savedmodel"])
def test_read_only_output_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                    target: str) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, _, err = run_cli(capsys, "lower", model_dir() / "digits.joblib", "--emit", target,
                               "-o", locked / "artefact")
        assert code == 1
        assert_one_line_error(err, "cannot write", "not writable")
        assert listing(locked) == set()
    finally:
        locked.chmod(0o755)


def test_refuses_to_overwrite_the_model(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    model = tmp_path / "digits.sklir"
    text = (model_dir() / "digits.sklir").read_text()
    model.write_text(text)
    code, _, err = run_cli(capsys, "lower", model, "--emit", "ir", "-o", model)
    assert code == 1
    assert_one_line_error(err, "overwrite")
    assert model.read_text() == text


def test_check_data_of_the_wrong_width(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "check", model_dir() / "digits.joblib", tmp_path / "unused.tflite",
                             "--data", model_dir() / "digits_narrow.npy")
    assert code == 1 and out == ""
    assert_one_line_error(err, "digits_narrow.npy", "expects 64 features, got 10")


@pytest.mark.parametrize(("name", "content", "fragment"), [
    ("words.csv", "a,b\nc,d\n", "not a numeric CSV"),
    ("data.txt", "1,2\n", "must be a .npy or .csv"),
    ("broken.npy", "not numpy", "not a .npy"),
])
def test_check_bad_data_file(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                             name: str, content: str, fragment: str) -> None:
    data = tmp_path / name
    data.write_text(content)
    code, _, err = run_cli(capsys, "check", model_dir() / "digits.joblib", tmp_path / "unused.tflite", "--data", data)
    assert code == 1
    assert_one_line_error(err, name, fragment)


@pytest.mark.parametrize(("artefact", "fragment"), [("missing.tflite", "no such file"),
                                                    ("model.pb", "cannot run this artefact")])
def test_check_bad_artefact_path(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                 artefact: str, fragment: str) -> None:
    code, _, err = run_cli(capsys, "check", model_dir() / "digits.joblib", tmp_path / artefact)
    assert code == 1
    assert_one_line_error(err, artefact, fragment)

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
from conftest import dataset, deny_writing_to
from sklearn.decomposition import NMF
from sklearn.linear_model import LinearRegression

# (fresh directory, the session's model directory) -> the model file to lower
Builder = Callable[[Path, Path], Path]


def _nmf(directory: Path, models: Path) -> Path:
    X, _ = dataset("iris")
    path = directory / "nmf.joblib"
    joblib.dump(NMF(2, max_iter=500, random_state=0).fit(X), path)
    return path


def _unfitted(directory: Path, models: Path) -> Path:
    path = directory / "unfitted.joblib"
    joblib.dump(LinearRegression(), path)
    return path


def _raw(name: str, content: bytes) -> Builder:
    """Write ``content`` to ``name``: the one writer for inputs that are nothing but their bytes."""
    def write(directory: Path, models: Path) -> Path:
        path = directory / name
        path.write_bytes(content)
        return path
    return write


def _missing(directory: Path, models: Path) -> Path:
    return directory / "nowhere.joblib"


def _untrusted_skops(directory: Path, models: Path) -> Path:
    path = directory / "untrusted.skops"
    path.write_bytes((models / "untrusted.skops").read_bytes())
    return path


def _elided_ir(directory: Path, models: Path) -> Path:
    import sklir

    path = directory / "elided.sklir"
    path.write_text(sklir.print_module(sklir.parse((models / "digits.sklir").read_text()), elide_constants=True))
    return path


# name -> (make the model file, fragments the error line must contain)
CASES: dict[str, tuple[Builder, tuple[str, ...]]] = {
    "unsupported-estimator": (_nmf, ("sklir does not lower sklearn.decomposition.NMF",
                                     "non-negative least squares problem per row")),
    "unfitted-estimator": (_unfitted, ("LinearRegression is not fitted",)),
    "random-bytes": (_raw("noise.joblib", np.random.default_rng(0).bytes(2000)), ("noise.joblib", "not a loadable")),
    "pickled-dict": (_raw("dict.pkl", pickle.dumps({"coef": [1.0, 2.0]})),
                     ("dict.pkl", "builtins.dict", "not a scikit-learn estimator")),
    "empty-file": (_raw("empty.joblib", b""), ("empty.joblib", "not a loadable")),
    "missing-file": (_missing, ("nowhere.joblib", "no such file")),
    "unknown-suffix": (_raw("model.pt", b"PK\x03\x04"), ("model.pt", ".joblib", ".skops", ".sklir", ".keras")),
    "corrupt-skops": (_raw("model.skops", b"PK not really a zip"), ("model.skops", "not a skops file")),
    "untrusted-skops": (_untrusted_skops, ("untrusted", "fractions.Fraction", "--trust fractions.Fraction")),
    "elided-ir": (_elided_ir, ("elided.sklir:", "elided", "cannot be parsed")),
    "binary-ir": (_raw("binary.sklir", b"\xff\xfe\x00garbage"), ("binary.sklir", "not IR text")),
}


def _assert_lower_refuses(capsys: pytest.CaptureFixture[str], directory: Path, model: Path,
                          *fragments: str) -> None:
    """Lowering ``model`` to a .tflite in ``directory`` fails with one error line and writes nothing."""
    before = listing(directory)
    out_path = directory / "artefact.tflite"
    code, out, err = run_cli(capsys, "lower", model, "--emit", "tflite", "-o", out_path)
    assert code == 1 and out == ""
    assert_one_line_error(err, *fragments)
    assert listing(directory) == before


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_model_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str) -> None:
    make, fragments = CASES[case]
    _assert_lower_refuses(capsys, tmp_path, make(tmp_path, model_dir()), *fragments)


def _malformed_ir(directory: Path, models: Path) -> tuple[Path, str]:
    """digits' IR without the comma between matmul's operands, written to ``directory``; and the
    ``FILE:LINE:COLUMN:`` the error must point at (where the comma is missing)."""
    lines = (models / "digits.sklir").read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if "matmul(" in line)
    lines[row] = lines[row].replace(", %", " %", 1)
    column = lines[row].index(" %", lines[row].index("matmul(")) + 2
    path = directory / "malformed.sklir"
    path.write_text("\n".join(lines) + "\n")
    return path, f"{path.name}:{row + 1}:{column}:"


def test_malformed_ir_names_file_line_and_column(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    model, position = _malformed_ir(tmp_path, model_dir())
    _assert_lower_refuses(capsys, tmp_path, model, "expected", position)


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


@pytest.mark.parametrize("target", ["tflite", "savedmodel"])
def test_output_directory_the_os_says_is_not_writable(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    # the test above cannot run as root (chmod does not stop root), so here os.access refuses
    # instead: the CLI's refusal is checked whoever runs the suite
    locked = tmp_path / "locked"
    locked.mkdir()
    deny_writing_to(monkeypatch, locked)
    code, _, err = run_cli(capsys, "lower", model_dir() / "digits.joblib", "--emit", target, "-o", locked / "artefact")
    assert code == 1
    assert_one_line_error(err, "cannot write", "not writable")
    assert listing(locked) == set()


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
    ("words.csv", "a,b\nc,d\n", "line 2, column 1: 'c' is not a number"),
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

"""The gradient-boosting libraries' own model files on the command line: XGBoost's ``.json`` and
``.ubj``, LightGBM's ``.txt`` and CatBoost's ``.cbm`` lower and check like a pickled model, and a
file that is none of these is one error line with nothing written."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from cli_support import assert_one_line_error, listing, run_cli
from conftest import dataset

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")
cb = pytest.importorskip("catboost")


@cache
def _models() -> dict[str, object]:
    X, y = dataset("breast_cancer")
    return {
        "xgboost": xgb.XGBClassifier(n_estimators=10, max_depth=3).fit(X, y),
        "lightgbm": lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(X, y),
        "catboost": cb.CatBoostClassifier(iterations=10, depth=3, verbose=0, allow_writing_files=False).fit(X, y),
    }


def _save(name: str, directory: Path) -> Path:
    model = _models()[name.split(".")[0]]
    path = directory / f"model.{name.split('.')[1]}"
    if name.startswith("lightgbm"):
        model.booster_.save_model(path)  # type: ignore[attr-defined]
    else:
        model.save_model(path)  # type: ignore[attr-defined]
    return path


@pytest.mark.parametrize("name", ["xgboost.json", "xgboost.ubj", "lightgbm.txt", "catboost.cbm"])
def test_a_library_model_file_lowers_and_checks(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                name: str) -> None:
    model = _save(name, tmp_path)
    X, _ = dataset("breast_cancer")
    np.save(tmp_path / "X.npy", X.astype(np.float32))
    out = tmp_path / "model.tflite"
    code, stdout, err = run_cli(capsys, "lower", model, "--emit", "tflite", "-o", out)
    assert code == 0, err
    code, stdout, err = run_cli(capsys, "check", model, out, "--data", tmp_path / "X.npy")
    assert code == 0, err
    assert "parity OK" in stdout


# file name -> (its bytes, fragments the error line must contain)
BAD: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "noise.ubj": (np.random.default_rng(0).bytes(300), ("noise.ubj", "not an XGBoost model file",
                                                        "Invalid model format")),
    "other.json": (b'{"a": 1}', ("other.json", "not an XGBoost model file")),
    "notes.txt": (b"some notes\n", ("notes.txt", "not a LightGBM model file", "does not start with 'tree'")),
    "cut.txt": (b"tree\nversion=v4\nnum_class=1\n", ("cut.txt", "not a LightGBM model file", "label index")),
    "noise.cbm": (b"xx" * 100, ("noise.cbm", "not a CatBoost model file", "Incorrect model file descriptor")),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_library_model_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              name: str) -> None:
    data, fragments = BAD[name]
    (tmp_path / name).write_bytes(data)
    before = listing(tmp_path)
    code, out, err = run_cli(capsys, "lower", tmp_path / name, "--emit", "onnx", "-o", tmp_path / "model.onnx")
    assert code == 1 and out == ""
    assert_one_line_error(err, *fragments)
    assert listing(tmp_path) == before

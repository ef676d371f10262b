"""The README's promise over a table of bad inputs: one ``sklir: error:`` line, a non-zero exit, no
traceback, no file left behind and nothing deleted or changed.

Each case runs in a fresh sandbox holding the user's files (models, data, a notes file, an
existing artefact); the whole sandbox is compared before and after, byte for byte. Usage errors
(argparse) exit 2 with the subcommand's usage; everything else exits 1 with exactly one line.
A few cases run again in a real process to show that nothing but that line reaches stderr.
"""

from __future__ import annotations

import pickle
import shutil
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import pytest
from cli_support import model_artefacts, model_dir, run_cli, run_subprocess
from conftest import dataset

import sklir.cli
from sklir import errors

# sandbox -> the command line to run in it
Case = Callable[[Path], list[str | Path]]


def _sandbox(root: Path) -> Path:
    """The user's directory: models, data, an artefact sklir wrote and files sklir must never touch."""
    box = root / "box"
    box.mkdir()
    artefacts = model_artefacts()
    for name in ("digits.joblib", "diabetes.joblib", "diabetes.onnx", "digits.sklir", "untrusted.skops"):
        shutil.copy(artefacts / name, box / name)
    (box / "notes.txt").write_text("the user's notes")
    (box / "photos").mkdir()
    (box / "photos" / "cat.jpg").write_bytes(b"\xff\xd8 a cat")
    return box


def _contents(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*")) if not p.is_symlink()}


def _write(name: str, content: bytes | str, then: Callable[[Path], list[str | Path]]) -> Case:
    def case(box: Path) -> list[str | Path]:
        data = content.encode() if isinstance(content, str) else content
        (box / name).write_bytes(data)
        return then(box / name)
    return case


def _npy(name: str, edit: Callable[[np.ndarray], None]) -> Case:
    def case(box: Path) -> list[str | Path]:
        X = dataset("diabetes")[0][:20].copy()
        edit(X)
        np.save(box / name, X)
        return ["check", box / "diabetes.joblib", box / "diabetes.onnx", "--data", box / name]
    return case


def _joblib(name: str, make: Callable[[], object], *argv: str) -> Case:
    def case(box: Path) -> list[str | Path]:
        joblib.dump(make(), box / name)
        return ["lower", box / name, *argv] if argv else ["lower", box / name, "--emit", "onnx"]
    return case


def _unfitted_step() -> object:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression())


def _tampered() -> object:
    model = joblib.load(model_dir() / "diabetes.joblib")
    model.coef_ = np.ones(7)  # the data has 10 features
    return model


def _symlink_loop(box: Path) -> list[str | Path]:
    (box / "a.joblib").symlink_to(box / "b.joblib")
    (box / "b.joblib").symlink_to(box / "a.joblib")
    return ["lower", box / "a.joblib", "--emit", "onnx", "-o", box / "out.onnx"]


def _artefact_loop(box: Path) -> list[str | Path]:
    (box / "a.onnx").symlink_to(box / "b.onnx")
    (box / "b.onnx").symlink_to(box / "a.onnx")
    return ["check", box / "diabetes.joblib", box / "a.onnx"]


def _dangling(box: Path) -> list[str | Path]:
    (box / "gone.joblib").symlink_to(box / "nowhere.joblib")
    return ["lower", box / "gone.joblib", "--emit", "onnx"]


def _skops_module_gone(box: Path) -> list[str | Path]:
    # a type the user trusts, whose module this Python no longer has
    import skops.io as sio

    (box / "mymodels.py").write_text("from sklearn.linear_model import Ridge\n\nclass MyRidge(Ridge):\n    pass\n")
    sys.path.insert(0, str(box))
    try:
        import mymodels  # type: ignore[import-not-found]

        sio.dump(mymodels.MyRidge().fit(*dataset("diabetes")), box / "mine.skops")
    finally:
        sys.path.remove(str(box))
        sys.modules.pop("mymodels", None)
    (box / "mymodels.py").unlink()
    shutil.rmtree(box / "__pycache__", ignore_errors=True)
    return ["lower", box / "mine.skops", "--trust", "mymodels.MyRidge", "--emit", "onnx"]


def _skops_schema(schema: str) -> Case:
    def case(box: Path) -> list[str | Path]:
        with zipfile.ZipFile(box / "odd.skops", "w") as z:
            z.writestr("schema.json", schema)
        return ["lower", box / "odd.skops", "--emit", "onnx"]
    return case


def _corrupt_savedmodel(box: Path) -> list[str | Path]:
    (box / "sm").mkdir()
    (box / "sm" / "saved_model.pb").write_bytes(b"not a protobuf \xff\xff")
    return ["check", box / "diabetes.joblib", box / "sm"]


def _lower(model: str, *argv: str | Path) -> Case:
    return lambda box: ["lower", box / model, *argv]


# name -> (the command line, fragments its one error line must contain)
CASES: dict[str, tuple[Case, tuple[str, ...]]] = {
    # data check refuses (scikit-learn's own refusal used to escape as a traceback)
    "data-nan": (_npy("nan.npy", lambda X: X.__setitem__((3, 2), np.nan)),
                 ("nan.npy", "LinearRegression refuses this data", "row 4, column 3: nan", "NaN")),
    "data-inf": (_npy("inf.npy", lambda X: X.__setitem__((0, 0), np.inf)), ("inf.npy", "row 1, column 1: inf")),
    "data-beyond-f32": (_npy("big.npy", lambda X: X.__setitem__((1, 4), 1e39)),
                        ("big.npy", "row 2, column 5", "beyond float32's range")),
    # a CSV counts lines as an editor does: the header and a comment come before the bad value
    "csv-nan-by-line": (_write("n.csv", "# comment\n" + ",".join(f"f{i}" for i in range(10)) + "\n"
                               + ",".join(["0.01"] * 10) + "\n" + ",".join(["0.01"] * 9 + ["nan"]) + "\n",
                               lambda p: ["check", p.parent / "diabetes.joblib", p.parent / "diabetes.onnx",
                                          "--data", p]),
                        ("n.csv", "line 4, column 10: nan")),
    "csv-beyond-f32-by-line": (_write("b.csv", "a,b,c,d,e,f,g,h,i,j\n" + ",".join(["1"] * 9 + ["1e39"]) + "\n",
                                      lambda p: ["check", p.parent / "diabetes.joblib", p.parent / "diabetes.onnx",
                                                 "--data", p]),
                               ("b.csv", "line 2, column 10", "beyond float32's range")),
    "csv-header-only": (_write("h.csv", "a,b,c\n", lambda p: ["check", p.parent / "diabetes.joblib",
                                                               p.parent / "diabetes.onnx", "--data", p]),
                        ("h.csv", "has no rows of data")),
    "csv-empty": (_write("e.csv", "", lambda p: ["check", p.parent / "diabetes.joblib", p.parent / "diabetes.onnx",
                                                  "--data", p]), ("e.csv", "has no rows", "it is empty")),
    "csv-ragged": (_write("r.csv", "1,2\n3\n", lambda p: ["check", p.parent / "diabetes.joblib",
                                                           p.parent / "diabetes.onnx", "--data", p]),
                   ("r.csv", "line 2 has 1 columns")),
    # model files
    "symlink-loop": (_symlink_loop, ("a.joblib", "symbolic link loop")),
    "dangling-symlink": (_dangling, ("gone.joblib", "symbolic link to a missing file")),
    "artefact-symlink-loop": (_artefact_loop, ("a.onnx", "symbolic link loop")),
    "skops-module-gone": (_skops_module_gone, ("mine.skops", "No module named 'mymodels'", "installed")),
    "skops-bad-schema": (_skops_schema('{"__class__": "Ridge"}'), ("odd.skops", "not a skops file")),
    "skops-not-json": (_skops_schema("{not json"), ("odd.skops", "not a skops file")),
    "pickled-list": (_write("list.pkl", pickle.dumps([1, 2]), lambda p: ["lower", p, "--emit", "onnx"]),
                     ("list.pkl", "builtins.list", "not a scikit-learn estimator")),
    # estimators
    "unfitted-step": (_joblib("unfitted.joblib", _unfitted_step),
                      ("Pipeline is not fitted", "its step StandardScaler is not fitted")),
    "tampered": (_joblib("tampered.joblib", _tampered), ("LinearRegression:", "matmul", "(10 vs 7)")),
    # passes: refused when parsed, whatever the model
    "pass-value-linear": (_lower("diabetes.joblib", "--emit", "onnx", "--passes", "constant-fold{max_elements=abc}"),
                          ("option max_elements takes an int, got 'abc'",)),
    "pass-value-ir": (_lower("digits.sklir", "--emit", "ir", "--passes", "constant-fold{max_elements=1.5}"),
                      ("takes an int, got '1.5'",)),
    "pass-negative": (_lower("diabetes.joblib", "--emit", "ir", "--passes", "constant-fold{max_elements=-1}"),
                      ("max_elements must be >= 0",)),
    "pass-unclosed": (_lower("diabetes.joblib", "--emit", "ir", "--passes", "constant-fold{max_elements=1"),
                      ("must end with '}'",)),
    # artefacts and output paths
    "corrupt-savedmodel": (_corrupt_savedmodel, ("sm", "TensorFlow cannot load this SavedModel")),
    "demo-out-is-a-file": (lambda box: ["demo", "--out", box / "notes.txt"], ("notes.txt", "a file is in the way")),
    "savedmodel-over-model-dir": (lambda box: ["lower", box / "diabetes.joblib", "--emit", "savedmodel", "-o", box],
                                  ("is inside it",)),
    "savedmodel-over-photos": (_lower("diabetes.joblib", "--emit", "savedmodel", "-o", "PHOTOS"),
                               ("refusing to replace", "not an artefact sklir wrote")),
    "onnx-over-notes": (lambda box: ["lower", box / "diabetes.joblib", "--emit", "onnx", "-o", box / "notes.txt"],
                        ("refusing to replace", "notes.txt")),
    "ir-over-model": (lambda box: ["lower", box / "digits.sklir", "--emit", "ir", "-o", box / "digits.sklir"],
                      ("refusing to overwrite the model file",)),
    "name-too-long": (lambda box: ["lower", box / "diabetes.joblib", "-o", box / ("m" * 300 + ".onnx")],
                      ("over the file system's limit",)),
    "check-width": (lambda box: ["check", box / "digits.joblib", box / "diabetes.onnx"],
                    ("takes 10 features per row", "was lowered from LinearRegression")),
    "untrusted-skops": (_lower("untrusted.skops", "--emit", "onnx"), ("refusing untrusted type(s)",)),
    "force-file-for-directory": (lambda box: ["lower", box / "diabetes.joblib", "--emit", "savedmodel", "-o",
                                              box / "notes.txt", "--force"], ("a file is in the way",)),
    "force-directory-for-file": (lambda box: ["lower", box / "diabetes.joblib", "--emit", "onnx", "-o",
                                              box / "photos", "--force"], ("photos", "is a directory")),
    "hand-written-ir": (_write("mine.sklir", "module @m(%x: f32[N,10]) {\n  return transform = %x\n}\n",
                               lambda p: ["lower", p.parent / "diabetes.joblib", "-o", p]),
                        ("refusing to replace", "mine.sklir")),
}


def _resolve(argv: list[str | Path], box: Path) -> list[str]:
    return [str(box / "photos") if a == "PHOTOS" else str(a) for a in argv]


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_keeps_the_promise(capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str) -> None:
    make, fragments = CASES[case]
    box = _sandbox(tmp_path)
    argv = _resolve(make(box), box)
    before = _contents(tmp_path)
    code, out, err = run_cli(capsys, *argv)  # a traceback would raise out of main() here
    assert code == 1, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sklir: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert _contents(tmp_path) == before  # nothing left behind, nothing deleted or changed


# usage errors: argparse's exit 2, the subcommand's usage, the problem on the last line
USAGE: dict[str, list[str]] = {
    "typo": ["lower", "M.joblib", "--emmit", "onnx"],
    "contradiction": ["lower", "M.joblib", "--emit", "onnx", "-o", "x.tflite"],
    "no-target": ["lower", "M.joblib"],
    "bad-rtol": ["check", "M.joblib", "a.onnx", "--rtol", "-3"],
    "no-command": [],
}


@pytest.mark.parametrize("case", sorted(USAGE))
def test_usage_errors_keep_the_promise(capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str) -> None:
    box = _sandbox(tmp_path)
    before = _contents(tmp_path)
    with pytest.raises(SystemExit) as info:
        run_cli(capsys, *USAGE[case])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: sklir") and "Traceback" not in err
    assert ": error: " in err.strip().splitlines()[-1]
    assert _contents(tmp_path) == before and box.exists()


def _error_classes(cls: type[errors.SklirError]) -> list[type[errors.SklirError]]:
    return [cls] + [c for sub in cls.__subclasses__() for c in _error_classes(sub)]


@pytest.mark.parametrize("error", _error_classes(errors.SklirError), ids=lambda c: c.__name__)
def test_main_prints_any_sklir_error_as_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                                 error: type[errors.SklirError]) -> None:
    # whatever raises it, an error sklir means for its user leaves main() as one line and exit 1,
    # a multi-line message (backend errors) folded
    def boom(args: object) -> int:
        raise error("first line\n  second line")

    monkeypatch.setattr(sklir.cli, "_supported", boom)
    code, out, err = run_cli(capsys, "supported")
    assert (code, out, err) == (1, "", "sklir: error: first line second line\n")


@pytest.mark.parametrize("case", ["data-nan", "skops-bad-schema", "savedmodel-over-photos", "symlink-loop"])
def test_a_real_process_prints_only_the_line(tmp_path: Path, case: str) -> None:
    make, fragments = CASES[case]
    box = _sandbox(tmp_path)
    argv = _resolve(make(box), box)
    before = _contents(tmp_path)
    result = run_subprocess(*argv)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sklir: error: ") and fragments[0] in lines[0], result.stderr
    assert _contents(tmp_path) == before

"""Nothing lost: sklir replaces only what it wrote, under concurrent writers too, at any legal name length.

An output path that already holds something is replaced only when that something is an artefact
sklir wrote (recognised by its metadata), or with ``--force``; a path that contains the model is
never written. Directory writes are exercised through :mod:`sklir.io` with cheap ``fill`` functions
(the mechanism every directory target uses), and once through the CLI for the SavedModel case
that used to delete the user's directory.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import assert_one_line_error, listing, model_artefacts, model_dir, run_cli, run_subprocess

from sklir.backends import sklir_artefact
from sklir.errors import SklirError
from sklir.io import write_atomic, write_directory_atomic


def _user_directory(path: Path) -> dict[str, bytes]:
    """A directory of a user's files (the model among them); returns its contents to compare later."""
    path.mkdir()
    shutil.copy(model_dir() / "diabetes.joblib", path / "model.joblib")
    (path / "notes.txt").write_text("my notes")
    return _contents(path)


def _contents(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_savedmodel_into_the_models_own_directory_is_refused(capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    # the reported case: `lower d/model.joblib --emit savedmodel -o d` deleted d, model included
    d = tmp_path / "d"
    before = _user_directory(d)
    code, out, err = run_cli(capsys, "lower", d / "model.joblib", "--emit", "savedmodel", "-o", d)
    assert code == 1 and out == ""
    assert_one_line_error(err, "refusing to write", "model.joblib", "is inside it")
    assert _contents(d) == before and listing(tmp_path) == {"d"}


def test_force_never_covers_the_model(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    d = tmp_path / "d"
    before = _user_directory(d)
    code, _, err = run_cli(capsys, "lower", d / "model.joblib", "--emit", "savedmodel", "-o", d, "--force")
    assert code == 1
    assert_one_line_error(err, "is inside it")
    assert _contents(d) == before


def test_savedmodel_over_a_directory_sklir_did_not_write_is_refused(capsys: pytest.CaptureFixture[str],
                                                                    tmp_path: Path) -> None:
    d = tmp_path / "photos"
    d.mkdir()
    (d / "cat.jpg").write_bytes(b"\xff\xd8 a cat")
    code, _, err = run_cli(capsys, "lower", model_dir() / "diabetes.joblib", "--emit", "savedmodel", "-o", d)
    assert code == 1
    assert_one_line_error(err, "refusing to replace", "not an artefact sklir wrote", "--force")
    assert _contents(d) == {"cat.jpg": b"\xff\xd8 a cat"} and listing(tmp_path) == {"photos"}


@pytest.mark.parametrize("target", ["onnx", "tflite", "ir"])
def test_a_file_sklir_did_not_write_is_kept(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                            target: str) -> None:
    out_path = tmp_path / f"mine.{ {'ir': 'sklir'}.get(target, target) }"
    out_path.write_bytes(b"the user's own file")
    code, _, err = run_cli(capsys, "lower", model_dir() / "diabetes.joblib", "--emit", target, "-o", out_path)
    assert code == 1
    assert_one_line_error(err, "refusing to replace", out_path.name)
    assert out_path.read_bytes() == b"the user's own file" and listing(tmp_path) == {out_path.name}


def test_force_replaces_a_file_sklir_did_not_write(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_path = tmp_path / "mine.onnx"
    out_path.write_bytes(b"the user's own file")
    code, out, _ = run_cli(capsys, "lower", model_dir() / "diabetes.joblib", "-o", out_path, "--force")
    assert code == 0 and "wrote" in out
    assert sklir_artefact("onnx")(out_path)


@pytest.mark.parametrize("target", ["onnx", "tflite"])
def test_an_artefact_sklir_wrote_is_replaced(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                             target: str) -> None:
    # another model's artefact at the path: sklir wrote it, so it is replaced without --force
    out_path = tmp_path / f"model.{target}"
    shutil.copy(model_artefacts() / f"digits.{target}", out_path)
    code, _, err = run_cli(capsys, "lower", model_dir() / "diabetes.joblib", "-o", out_path)
    assert code == 0, err
    assert out_path.read_bytes() != (model_artefacts() / f"digits.{target}").read_bytes()
    assert listing(tmp_path) == {out_path.name}


def test_ir_text_sklir_printed_is_replaced(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_path = tmp_path / "model.sklir"
    shutil.copy(model_dir() / "digits.sklir", out_path)
    code, _, _ = run_cli(capsys, "lower", model_dir() / "diabetes.joblib", "-o", out_path)
    assert code == 0
    assert "@LinearRegression" in out_path.read_text()


# ---- the directory mechanism (sklir.io), as every directory target uses it ----

def _owned(path: Path) -> bool:
    return sklir_artefact("savedmodel")(path)


def _fill(tag: str) -> Callable[[Path], None]:
    def fill(directory: Path) -> None:
        (directory / "assets.extra").mkdir()
        for i in range(20):
            (directory / f"part{i}").write_text(tag)
        _seal(directory)
    return fill


def _seal(directory: Path) -> None:
    from sklir.backends import seal_directory
    from sklir.ir import Builder

    b, x = Builder.new("m", 2)
    b.output("transform", x)
    seal_directory(directory, b.module)


def test_an_existing_sklir_directory_is_replaced_whole(tmp_path: Path) -> None:
    out_path = tmp_path / "model"
    write_directory_atomic(out_path, _fill("first"), _owned)
    write_directory_atomic(out_path, _fill("second"), _owned)
    assert {(out_path / f"part{i}").read_text() for i in range(20)} == {"second"}
    assert listing(tmp_path) == {"model"}


def test_an_empty_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    write_directory_atomic(tmp_path / "model", _fill("x"), _owned)
    assert (tmp_path / "model" / "part0").read_text() == "x"


def test_force_replaces_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "theirs").write_text("x")
    with pytest.raises(SklirError, match="not an artefact sklir wrote"):
        write_directory_atomic(tmp_path / "model", _fill("x"), _owned)
    write_directory_atomic(tmp_path / "model", _fill("x"), _owned, force=True)
    assert not (tmp_path / "model" / "theirs").exists()
    assert listing(tmp_path) == {"model"}


def _writer(args: tuple[str, str, int]) -> str:
    out_path, tag, rounds = args
    try:
        for _ in range(rounds):
            write_directory_atomic(Path(out_path), _fill(tag), _owned)
        return "ok"
    except Exception as e:  # the test reports any escape, whatever it is
        return f"{type(e).__name__}: {e}"


def test_concurrent_directory_writers_each_finish_whole(tmp_path: Path) -> None:
    out_path = tmp_path / "model"
    context = multiprocessing.get_context("fork")
    with context.Pool(4) as pool:
        results = pool.map(_writer, [(str(out_path), f"w{i}", 15) for i in range(4)])
    assert results == ["ok"] * 4
    tags = {(out_path / f"part{i}").read_text() for i in range(20)}
    assert len(tags) == 1  # one writer's whole directory, not a mixture
    assert listing(tmp_path) == {"model"}  # no temporary or set-aside directory left


def _file_writer(args: tuple[str, str, int]) -> str:
    out_path, tag, rounds = args
    try:
        for _ in range(rounds):
            write_atomic(Path(out_path), tag * 10000, lambda p: True)
        return "ok"
    except Exception as e:
        return f"{type(e).__name__}: {e}"


def test_concurrent_file_writers_each_finish_whole(tmp_path: Path) -> None:
    out_path = tmp_path / "model.onnx"
    with multiprocessing.get_context("fork").Pool(4) as pool:
        results = pool.map(_file_writer, [(str(out_path), str(i), 30) for i in range(4)])
    assert results == ["ok"] * 4
    assert len(set(out_path.read_text())) == 1
    assert listing(tmp_path) == {"model.onnx"}


def test_concurrent_cli_lowers_to_one_path(tmp_path: Path) -> None:
    out_path = tmp_path / "model.onnx"
    script = ("import sys, concurrent.futures as f, subprocess\n"
              "cmd = [sys.executable, '-m', 'sklir', 'lower', sys.argv[1], '-o', sys.argv[2], '-q']\n"
              "with f.ThreadPoolExecutor(3) as pool:\n"
              "    runs = list(pool.map(lambda _: subprocess.run(cmd, capture_output=True, text=True), range(3)))\n"
              "print([r.returncode for r in runs], [r.stderr for r in runs])\n")
    result = run_subprocess(model_dir() / "diabetes.joblib", out_path, script=script)
    assert result.stdout.strip() == "[0, 0, 0] ['', '', '']", result.stdout + result.stderr
    assert sklir_artefact("onnx")(out_path)
    assert listing(tmp_path) == {"model.onnx"}


# ---- names near the limit ----

def test_a_name_of_250_characters_is_writable(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_path = tmp_path / ("m" * 245 + ".onnx")
    code, _, err = run_cli(capsys, "lower", model_dir() / "diabetes.joblib", "-o", out_path)
    assert code == 0, err
    assert listing(tmp_path) == {out_path.name}


def test_a_name_of_255_characters_is_writable_as_a_directory(tmp_path: Path) -> None:
    out_path = tmp_path / ("d" * 255)
    write_directory_atomic(out_path, _fill("x"), _owned)
    assert listing(tmp_path) == {out_path.name}


def test_a_name_over_the_limit_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    out_path = tmp_path / ("m" * limit + ".onnx")
    code, _, err = run_cli(capsys, "lower", model_dir() / "diabetes.joblib", "-o", out_path)
    assert code == 1
    assert_one_line_error(err, "cannot write", f"over the file system's limit of {limit}")
    assert listing(tmp_path) == set()


def _savedmodel_fill(directory: Path) -> None:
    # what emit_savedmodel leaves: some files, then the metadata sealing them
    (directory / "saved_model.pb").write_bytes(b"graph")
    (directory / "variables").mkdir()
    (directory / "variables" / "data").write_bytes(b"weights")
    _seal(directory)


@pytest.mark.parametrize("edit", ["add", "change", "remove"])
def test_a_savedmodel_the_user_changed_is_no_longer_sklirs(tmp_path: Path, edit: str) -> None:
    out_path = tmp_path / "model"
    write_directory_atomic(out_path, _savedmodel_fill, _owned)
    assert _owned(out_path)
    if edit == "add":
        (out_path / "assets").mkdir(exist_ok=True)
        (out_path / "assets" / "NOTES.txt").write_text("mine")
    elif edit == "change":
        (out_path / "variables" / "data").write_bytes(b"retrained weights")
    else:
        (out_path / "variables" / "data").unlink()
    before = _contents(out_path)
    with pytest.raises(SklirError, match="not an artefact sklir wrote"):
        write_directory_atomic(out_path, _savedmodel_fill, _owned)
    assert _contents(out_path) == before


def test_a_real_savedmodel_is_sealed_and_replaced(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_path = tmp_path / "model"
    for _ in range(2):
        code, _, err = run_cli(capsys, "lower", model_dir() / "diabetes.joblib", "--emit", "savedmodel", "-o", out_path)
        assert code == 0, err
    assert sklir_artefact("savedmodel")(out_path)
    (out_path / "NOTES.txt").write_text("mine")
    code, _, err = run_cli(capsys, "lower", model_dir() / "diabetes.joblib", "--emit", "savedmodel", "-o", out_path)
    assert code == 1
    assert_one_line_error(err, "refusing to replace")
    assert (out_path / "NOTES.txt").read_text() == "mine"

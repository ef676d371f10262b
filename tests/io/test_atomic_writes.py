"""Artefacts are written whole or not at all, with the mode any new file would get."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from conftest import deny_writing_to

from sklir.errors import SklirError
from sklir.io import check_writable, write_atomic, write_directory_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_gets_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out = write_atomic(tmp_path / "model.tflite", b"data")
    finally:
        os.umask(old)
    assert out.read_bytes() == b"data"
    assert _mode(out) == 0o644


def test_directory_gets_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out = write_directory_atomic(tmp_path / "saved", lambda d: (d / "f").write_text("x"))
    finally:
        os.umask(old)
    assert (out / "f").read_text() == "x"
    assert _mode(out) == 0o755


def test_failure_leaves_nothing_behind(tmp_path: Path) -> None:
    def fail(d: Path) -> None:
        (d / "half").write_text("x")
        raise RuntimeError("conversion failed")

    with pytest.raises(RuntimeError):
        write_directory_atomic(tmp_path / "saved", fail)
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(SklirError, match="does not exist"):
        write_atomic(tmp_path / "nope" / "model.onnx", b"x")
    assert list(tmp_path.iterdir()) == []


def test_check_writable_refuses_a_directory_it_may_not_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deny_writing_to(monkeypatch, tmp_path)
    message = f"cannot write {tmp_path / 'model.onnx'}: directory {tmp_path} is not writable"
    with pytest.raises(SklirError, match=re.escape(message)):
        check_writable(tmp_path / "model.onnx")
    # the writers ask first, so they refuse before leaving anything behind
    with pytest.raises(SklirError, match="not writable"):
        write_atomic(tmp_path / "model.onnx", b"x")
    with pytest.raises(SklirError, match="not writable"):
        write_directory_atomic(tmp_path / "saved", lambda d: (d / "f").write_text("x"))
    assert list(tmp_path.iterdir()) == []


def test_check_writable_accepts_a_writable_directory(tmp_path: Path) -> None:
    assert check_writable(tmp_path / "model.onnx") == tmp_path / "model.onnx"

"""The CLI as users run it: a fresh ``python -m sklir`` per test.

These check what only a new process shows: which modules get imported, and that nothing from
TensorFlow's or LiteRT's native logging reaches stderr.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import REPO, assert_one_line_error, model_dir, run_subprocess

IMPORTED_TF = (
    "import sys\n"
    "from sklir.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "assert code == 0, code\n"
    "print('TF-MODULES', sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tf_keras', 'keras')))\n"
)


@pytest.mark.parametrize("target", ["ir", "onnx"])
def test_ir_and_onnx_never_import_tensorflow(tmp_path: Path, target: str) -> None:
    out = tmp_path / f"out.{target}"
    proc = subprocess.run([sys.executable, "-c", IMPORTED_TF, "lower", str(model_dir() / "digits.joblib"),
                           "--emit", target, "-o", str(out)], capture_output=True, text=True, cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "TF-MODULES []" in proc.stdout
    assert out.exists()


def test_lower_tflite_keeps_stderr_clean(tmp_path: Path) -> None:
    out = tmp_path / "digits.tflite"
    proc = run_subprocess("lower", model_dir() / "digits.joblib", "--emit", "tflite", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    check = run_subprocess("check", model_dir() / "digits.joblib", out)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stderr == ""
    assert "parity OK" in check.stdout


def test_bad_input_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    noise = tmp_path / "noise.pkl"
    noise.write_bytes(b"\x80\x04garbage")
    proc = run_subprocess("lower", noise, "--emit", "tflite", "-o", tmp_path / "x.tflite")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert_one_line_error(proc.stderr, "noise.pkl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noise.pkl"]


def test_usage_error_exits_2() -> None:
    proc = run_subprocess("lower", model_dir() / "digits.joblib")
    assert proc.returncode == 2
    assert "--emit" in proc.stderr


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    proc = run_subprocess("demo", "--out", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    assert "parity OK" in proc.stdout
    assert "1 matmul" in proc.stdout  # the default passes folded scaler and PCA into the classifier
    assert {p.name for p in tmp_path.iterdir()} == {"digits_pipeline.joblib", "digits_pipeline.tflite"}

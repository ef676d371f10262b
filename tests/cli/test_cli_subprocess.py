"""The CLI as users run it: a fresh ``python -m sklir`` per test.

These check what only a new process shows: which modules get imported, and that nothing from
TensorFlow's or LiteRT's native logging reaches stderr. The demo is the one run through TensorFlow
and LiteRT: it lowers to ``.tflite`` and checks parity, as ``lower`` then ``check`` would.
"""

from __future__ import annotations

from pathlib import Path

from cli_support import assert_one_line_error, listing, model_dir, run_subprocess

# lowers argv[1] to every target in argv[3:] inside argv[2], then names the TensorFlow modules loaded
IMPORTED_TF = (
    "import sys\n"
    "from sklir.cli import main\n"
    "model, out, targets = sys.argv[1], sys.argv[2], sys.argv[3:]\n"
    "for target in targets:\n"
    "    code = main(['lower', model, '--emit', target, '-o', f'{out}/out.{target}'])\n"
    "    assert code == 0, (target, code)\n"
    "print('TF-MODULES', sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tf_keras', 'keras')))\n"
)


def test_ir_and_onnx_never_import_tensorflow(tmp_path: Path) -> None:
    proc = run_subprocess(model_dir() / "digits.joblib", tmp_path, "ir", "onnx", script=IMPORTED_TF)
    assert proc.returncode == 0, proc.stderr
    assert "TF-MODULES []" in proc.stdout
    assert listing(tmp_path) == {"out.ir", "out.onnx"}


def test_bad_input_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    noise = tmp_path / "noise.pkl"
    noise.write_bytes(b"\x80\x04garbage")
    proc = run_subprocess("lower", noise, "--emit", "tflite", "-o", tmp_path / "x.tflite")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert_one_line_error(proc.stderr, "noise.pkl")
    assert listing(tmp_path) == {"noise.pkl"}


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    proc = run_subprocess("demo", "--out", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    assert "parity OK" in proc.stdout
    assert "1 matmul" in proc.stdout  # the default passes folded scaler and PCA into the classifier
    assert listing(tmp_path) == {"digits_pipeline.joblib", "digits_pipeline.tflite"}

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


API_IMPORTS = (
    "import sys\n"
    "import sklir\n"
    "from sklearn.datasets import load_iris\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.pipeline import make_pipeline\n"
    "from sklearn.preprocessing import StandardScaler\n"
    "X, y = load_iris(return_X_y=True)\n"
    "model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)\n"
    "module = sklir.lower(model)\n"
    "sklir.lower([model.steps[0][1], model.steps[1][1]])\n"
    "sklir.emit(module, 'onnx')\n"
    "sklir.supported()\n"
    "print('HEAVY', sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'tf_keras', 'keras', 'scikeras',\n"
    "                                                            'xgboost', 'lightgbm', 'catboost'}))\n"
)


def test_the_python_api_never_imports_keras_for_scikit_learn_models() -> None:
    """Lowering (a model and a chain of scikit-learn steps), emitting ONNX and listing what is
    supported import neither Keras nor TensorFlow, nor a gradient-boosting library: only a model
    of theirs brings them in."""
    proc = run_subprocess(script=API_IMPORTS)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout

"""``sklir lower``: every model format to every target, and the pipeline options.

Artefacts written by the CLI are run under their real runtimes and compared with scikit-learn
with the harness tolerance (labels identical, floats within 1e-5 of the output's scale).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import joblib
import numpy as np
import pytest
from cli_support import assert_one_line_error, listing, model_dir, run_cli
from conftest import dataset

import sklir
from sklir.check import check_artefact, passed
from sklir.passes.pipelines import default_pipeline

FORMATS = ["joblib", "skops", "sklir"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_emit_ir_prints_the_optimised_module(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, err = run_cli(capsys, "lower", model_dir() / f"digits.{fmt}", "--emit", "ir")
    assert (code, err) == (0, "")
    # what the library lowers, whatever the format it is loaded from (the folding itself is the
    # frontend pipeline tests' business)
    assert out == sklir.print_module(sklir.lower(joblib.load(model_dir() / "digits.joblib")))


def test_emit_ir_to_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_path = tmp_path / "digits.sklir"
    code, out, _ = run_cli(capsys, "lower", model_dir() / "digits.joblib", "--emit", "ir", "-o", out_path)
    assert code == 0 and str(out_path) in out
    assert sklir.parse(out_path.read_text()).outputs.keys() == {"label", "probabilities", "decision"}


def test_no_optimize_keeps_the_frontend_ir(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "lower", model_dir() / "digits.joblib", "--emit", "ir", "--no-optimize")
    assert code == 0
    names = [n.op.name for n in sklir.parse(out).nodes]
    assert names.count("matmul") == 2  # PCA's projection and the classifier's weights, unfolded
    assert "sub" in names and "div" in names  # StandardScaler as the frontend wrote it


def test_passes_option_runs_the_given_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "lower", model_dir() / "digits.joblib", "--emit", "ir", "--passes", "dce",
                             "--print-after-all")
    assert code == 0
    assert [line for line in err.splitlines() if line.startswith("# ----- after")] == ["# ----- after dce -----"]
    assert [n.op.name for n in sklir.parse(out).nodes].count("matmul") == 2


def test_passes_default_is_the_default_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    _, default, _ = run_cli(capsys, "lower", model_dir() / "digits.joblib", "--emit", "ir")
    code, named, _ = run_cli(capsys, "lower", model_dir() / "digits.joblib", "--emit", "ir", "--passes", "default")
    assert code == 0 and named == default


def test_unknown_pass_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "lower", model_dir() / "digits.joblib", "--emit", "ir", "--passes", "no-such-pass")
    assert code == 1 and out == ""
    assert_one_line_error(err, "unknown pass 'no-such-pass'")


def test_print_after_all_prints_every_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "lower", model_dir() / "digits.joblib", "--emit", "ir", "--print-after-all",
                             "--elide-constants")
    assert code == 0
    headers = [line for line in err.splitlines() if line.startswith("# ----- after ")]
    # every pass of the default pipeline, in order, once per round; the first round folds and the
    # last changes nothing, so there are at least two
    manager = default_pipeline()
    names = [f"# ----- after {p.name} -----" for p in manager.passes]
    rounds = len(headers) // len(names)
    assert 2 <= rounds <= manager.max_rounds
    assert headers == names * rounds
    assert "<elided>" in err and "<elided>" in out
    assert out.startswith("# constants elided")


def test_precision_f32_prints_what_a_backend_receives(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "lower", model_dir() / "digits.joblib", "--emit", "ir", "--precision", "f32")
    assert code == 0
    module = sklir.parse(out)
    assert all(v.type.dtype.value != "f64" for n in module.nodes for v in n.results)


@pytest.mark.parametrize(("argv", "fragment"), [
    (["--emit", "ir", "--passes", "dce", "--no-optimize"], "--passes and --no-optimize cannot be combined"),
    (["--emit", "onnx", "--precision", "f32"], "--precision applies to --emit ir only"),
    (["--emit", "onnx", "--elide-constants"], "--elide-constants applies to"),
    (["--emit", "pdf"], "invalid choice: 'pdf'"),
    ([], "give --emit {tflite,onnx,savedmodel,c,ir}: no output file's suffix names one"),
    (["-o", "out.bin"], "the suffix of -o out.bin names none"),
    (["--emit", "onnx", "-o", "out.tflite"], "--emit onnx contradicts -o out.tflite, whose suffix names tflite"),
    (["--emmit", "onnx"], "unrecognized option --emmit (did you mean --emit?)"),
])
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str) -> None:
    with pytest.raises(SystemExit) as info:
        run_cli(capsys, "lower", model_dir() / "digits.joblib", *argv)
    assert info.value.code == 2
    # the last stderr line says what is wrong with the command line
    assert fragment in capsys.readouterr().err.splitlines()[-1]


def _assert_artefact_parity(model_path: Path, artefact: Path) -> None:
    X = dataset("digits")[0]
    rows = check_artefact(joblib.load(model_path), artefact, X)
    assert passed(rows), rows


# one conversion per target; every format loads to the same module (test_emit_ir_prints_the_optimised_module),
# so each target takes a format other than joblib, which the parity check below loads anyway
@pytest.mark.parametrize(("fmt", "target"), [("skops", "tflite"), ("sklir", "onnx")])
def test_emit_artefact_beside_the_model(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                        fmt: str, target: str) -> None:
    model = tmp_path / f"pipeline.{fmt}"
    shutil.copy(model_dir() / f"digits.{fmt}", model)
    code, out, err = run_cli(capsys, "lower", model, "--emit", target)
    assert (code, err) == (0, "")
    artefact = tmp_path / f"pipeline.{target}"  # the default output: the model's name, the target's suffix
    assert f"wrote {artefact}" in out
    _assert_artefact_parity(model_dir() / "digits.joblib", artefact)
    assert listing(tmp_path) == {model.name, artefact.name}  # no temporaries left


def test_emit_savedmodel_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    model = tmp_path / "regressor.joblib"
    shutil.copy(model_dir() / "diabetes.joblib", model)
    code, _, err = run_cli(capsys, "lower", model, "--emit", "savedmodel")
    assert (code, err) == (0, "")
    saved = tmp_path / "regressor"
    assert (saved / "saved_model.pb").is_file()
    # check runs the directory under TensorFlow and compares with scikit-learn (rtol 1e-5 of scale)
    data = tmp_path / "diabetes.npy"
    np.save(data, dataset("diabetes")[0])
    code, out, err = run_cli(capsys, "check", model, saved, "--data", data)
    assert (code, err) == (0, "")
    assert "parity OK" in out


def test_trusted_skops_type_loads(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "lower", model_dir() / "untrusted.skops", "--emit", "ir",
                           "--trust", "fractions.Fraction")
    assert code == 0
    assert sklir.parse(out).outputs.keys() == {"prediction"}

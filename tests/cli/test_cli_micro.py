"""``sklir lower --profile micro`` and ``--emit c``: the report a firmware developer reads, a C
header that compiles (``cc -c -Wall -Werror``, and as C++) for a forest and an MLP, ``check`` on
both kinds of artefact under TensorFlow Lite Micro, and every bad input as one line."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import joblib
import numpy as np
import pytest
from cli_support import assert_one_line_error, run_cli
from conftest import dataset
from sklearn.ensemble import RandomForestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

COMPILERS = [c for c in ("cc", "c++") if shutil.which(c)]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with a forest and an MLP on iris (string labels), and the data as CSV."""
    directory = tmp_path_factory.mktemp("micro")
    X, y = dataset("iris")
    names = np.array(["setosa", "versi\"color", "virginica ü /* not a comment */"])[y]
    joblib.dump(RandomForestClassifier(n_estimators=8, max_depth=5, random_state=0).fit(X, names),
                directory / "forest.joblib")
    joblib.dump(make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=300, random_state=0)).fit(X, names),
                directory / "mlp.joblib")
    np.savetxt(directory / "iris.csv", X, delimiter=",")
    return directory


def test_micro_tflite_reports_flash_arena_ops_and_registrations(models: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    out_path = models / "forest_micro.tflite"
    code, out, err = run_cli(capsys, "lower", models / "forest.joblib", "--profile", "micro", "-o", out_path)
    assert (code, err) == (0, ""), err
    lines = out.splitlines()
    assert lines[0].startswith(f"wrote {out_path}")
    assert lines[1].startswith("micro profile, batch 1: model ") and "tensor arena" in lines[1]
    assert f"model {out_path.stat().st_size} bytes" in lines[1]
    assert lines[2].startswith("ops (") and "GATHER" in lines[2]
    assert "tflite::MicroMutableOpResolver<" in lines[3] and "resolver.AddGather();" in lines[3]
    code, out, err = run_cli(capsys, "check", models / "forest.joblib", out_path, "--data", models / "iris.csv")
    assert code == 0 and "parity OK" in out, out + err


@pytest.mark.skipif(not COMPILERS, reason="no C compiler on this machine")
@pytest.mark.parametrize("name", ["forest", "mlp"])
def test_c_header_compiles_and_checks(name: str, models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header = models / f"{name}-model.h"
    code, out, err = run_cli(capsys, "lower", models / f"{name}.joblib", "--emit", "c", "--batch", "2",
                             "-o", header)
    assert (code, err) == (0, ""), err
    assert "micro profile, batch 2" in out
    text = header.read_text()
    assert f"#define {name.upper()}_MODEL_BATCH 2" in text
    assert f"#define {name.upper()}_MODEL_OUTPUT_LABEL_INDEX 0" in text
    assert '"virginica \\303\\274 /* not a comment */"' in text
    prefix = f"{name}_model"
    use = (f'#include "{header.name}"\n'
           f"int first_byte(void) {{ return {prefix}_model[0] + {prefix.upper()}_MODEL_LEN + "
           f"{prefix.upper()}_ARENA_BYTES + (int){prefix}_label_labels[0][0]; }}\n")
    for compiler in COMPILERS:
        source = models / f"use_{name}.{'c' if compiler == 'cc' else 'cc'}"
        source.write_text(use.replace("(void)", "()") if compiler == "c++" else use)
        result = subprocess.run([compiler, "-c", "-Wall", "-Werror", source.name, "-o", f"{source.name}.o"],
                                cwd=models, capture_output=True, text=True)
        assert result.returncode == 0, f"{compiler}: {result.stderr}"
    code, out, err = run_cli(capsys, "check", models / f"{name}.joblib", header, "--data", models / "iris.csv")
    assert code == 0 and "parity OK" in out, out + err


def test_rewriting_a_header_sklir_wrote_but_not_another(models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header = models / "again.h"
    for _ in range(2):  # the second run replaces the header the first wrote
        code, _, err = run_cli(capsys, "lower", models / "mlp.joblib", "-q", "-o", header)
        assert (code, err) == (0, ""), err
    mine = models / "mine.h"
    mine.write_text("#define MINE 1\n")
    code, out, err = run_cli(capsys, "lower", models / "mlp.joblib", "-o", mine)
    assert code == 1
    assert_one_line_error(err, "not an artefact sklir wrote")
    assert mine.read_text() == "#define MINE 1\n"


def test_a_profile_for_another_target_is_one_line(models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = models / "never.onnx"
    code, _, err = run_cli(capsys, "lower", models / "mlp.joblib", "--profile", "micro", "-o", out)
    assert code == 1
    assert_one_line_error(err, "the micro profile is for tflite, c artefacts, not onnx")
    assert not out.exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["--batch", "0", "--emit", "tflite"], "the batch must be a positive whole number of rows, got '0'"),
    (["--batch", "two", "--emit", "tflite"], "the batch must be a positive whole number of rows, got 'two'"),
    (["--profile", "micro", "--emit", "ir"], "--profile, --batch and --quantize apply to artefacts, not to --emit ir"),
    (["--profile", "tiny", "--emit", "tflite"], "invalid choice: 'tiny'"),
])
def test_bad_profile_options_are_usage_errors(argv: list[str], message: str, models: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = models / "never.tflite"
    with pytest.raises(SystemExit) as exit:
        run_cli(capsys, "lower", models / "mlp.joblib", *argv, "-o", "-" if "ir" in argv else out)
    assert exit.value.code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_quantized_artefact_is_checked_honestly(models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_path = models / "mlp_f16.tflite"
    code, _, err = run_cli(capsys, "lower", models / "mlp.joblib", "--quantize", "float16", "-q", "-o", out_path)
    assert (code, err) == (0, ""), err
    code, out, _ = run_cli(capsys, "check", models / "mlp.joblib", out_path, "--data", models / "iris.csv",
                           "--rtol", "1e-2")
    assert code == 0, out
    assert "label          [150]" in out and "100.00%" in out
    assert "note: this artefact stores its matrix weights as float16" in out
    code, _, err = run_cli(capsys, "lower", models / "mlp.joblib", "--quantize", "int8", "--profile", "micro",
                           "-o", models / "never.tflite")
    assert code == 1
    assert_one_line_error(err, "micro profile takes int8 weights only as int8 products calibrated on "
                               "representative rows (give --data)")
    assert not (models / "never.tflite").exists()


def test_int8_products_calibrated_on_data_run_under_tflite_micro(models: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    out_path = models / "mlp_int8.h"
    code, out, err = run_cli(capsys, "lower", models / "mlp.joblib", "--profile", "micro", "--quantize", "int8",
                             "--data", models / "iris.csv", "-o", out_path)
    assert code == 0, err
    assert "ops (5): QUANTIZE, FULLY_CONNECTED, DEQUANTIZE," in out
    assert "resolver.AddQuantize(); resolver.AddFullyConnected(); resolver.AddDequantize();" in out
    code, out, _ = run_cli(capsys, "check", models / "mlp.joblib", out_path, "--data", models / "iris.csv",
                           "--rtol", "0.1")
    # iris through a 16-unit MLP in int8: one near-tie row of 150 changes label (check says so and
    # fails: labels must be identical), probabilities within 0.013 (ok at --rtol 0.1)
    assert code == 1, out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(("label", "prob"))}
    assert lines["label"][-2] == "99.33%" and lines["probabilities"][-1] == "ok"
    assert "its products computing in int8 at activation ranges calibrated on 150 rows" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--data", "iris.csv"], "--data gives the rows int8 products are calibrated on: it goes with --quantize int8"),
    (["--quantize", "float16", "--data", "iris.csv"], "it goes with --quantize int8"),
])
def test_data_without_int8_is_a_usage_error(argv: list[str], message: str, models: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = models / "never.tflite"
    with pytest.raises(SystemExit) as exit:
        run_cli(capsys, "lower", models / "mlp.joblib", *[str(models / a) if a.endswith(".csv") else a for a in argv],
                "-o", out)
    assert exit.value.code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(("rows", "message"), [
    ("narrow.csv", "the model expects 4 features, got 2"),
    ("missing.csv", "missing.csv"),
])
def test_bad_calibration_data_is_one_line(rows: str, message: str, models: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    np.savetxt(models / "narrow.csv", np.ones((3, 2)), delimiter=",")
    out = models / "never.tflite"
    code, _, err = run_cli(capsys, "lower", models / "mlp.joblib", "--quantize", "int8", "--data", models / rows,
                           "-o", out)
    assert code == 1
    assert_one_line_error(err, message)
    assert not out.exists()


def test_check_refuses_a_header_sklir_did_not_write(models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = models / "other.h"
    other.write_text("#define OTHER 1\n")
    code, _, err = run_cli(capsys, "check", models / "mlp.joblib", other, "--data", models / "iris.csv")
    assert code == 1
    assert_one_line_error(err, "not a C header sklir wrote")

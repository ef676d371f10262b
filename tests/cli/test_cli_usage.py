"""The command line as a new user meets it: --version, flags that do not swallow arguments, mistyped
options named with a suggestion, each subcommand's own usage, the target from the output's suffix,
standard output as a target, progress only on a terminal, and check's messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
from cli_support import REPO, assert_one_line_error, listing, model_artefacts, model_dir, run_cli, run_subprocess
from conftest import dataset

import sklir
from sklir.backends import sklir_artefact


def _usage_error(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> str:
    """Run a command line that must be refused as a usage error (exit 2); return its stderr."""
    with pytest.raises(SystemExit) as info:
        run_cli(capsys, *argv)
    assert info.value.code == 2
    return capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run_cli(capsys, "--version")
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"sklir {sklir.__version__}"


def test_trust_does_not_swallow_the_model_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "lower", "--trust", "numpy.dtype", model_dir() / "diabetes.joblib",
                             "--emit", "ir")
    assert code == 0, err
    assert out.startswith("module @LinearRegression")


def test_trust_repeats(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "lower", model_dir() / "untrusted.skops", "--trust", "numpy.dtype",
                             "--trust", "fractions.Fraction", "--emit", "ir")
    assert code == 0, err


@pytest.mark.parametrize(("argv", "usage", "message"), [
    (["lower", "M.joblib", "--emmit", "onnx"], "usage: sklir lower", "option --emmit (did you mean --emit?)"),
    (["check", "M.joblib", "a.onnx", "--dta", "x.npy"], "usage: sklir check", "(did you mean --data?)"),
    (["lower", "M.joblib", "--emit", "onnx", "extra"], "usage: sklir lower", "unexpected argument 'extra'"),
    (["check", "M.joblib"], "usage: sklir check", "required: ARTEFACT"),
    (["demo", "--outt", "d"], "usage: sklir demo", "did you mean --out?"),
])
def test_misuse_prints_the_subcommands_usage(capsys: pytest.CaptureFixture[str], argv: list[str], usage: str,
                                             message: str) -> None:
    err = _usage_error(capsys, *argv)
    assert err.startswith(usage), err
    assert message in err.strip().splitlines()[-1]


@pytest.mark.parametrize("value", ["abc", "-1", "nan"])
def test_option_values_are_named_by_their_flag(capsys: pytest.CaptureFixture[str], value: str) -> None:
    err = _usage_error(capsys, "check", "M.joblib", "a.onnx", "--rtol", value)
    last = err.strip().splitlines()[-1]
    assert f"argument --rtol: must be a non-negative number, got '{value}'" in last
    assert "_rtol" not in err


@pytest.mark.parametrize(("suffix", "target"), [(".onnx", "onnx"), (".tflite", "tflite"), (".sklir", "ir")])
def test_the_target_follows_from_the_output_suffix(capsys: pytest.CaptureFixture[str], tmp_path: Path, suffix: str,
                                                   target: str) -> None:
    out_path = tmp_path / f"model{suffix}"
    code, out, err = run_cli(capsys, "lower", model_dir() / "diabetes.joblib", "-o", out_path)
    assert code == 0, err
    if target == "ir":
        assert out_path.read_text().startswith("module @LinearRegression")
    else:
        assert sklir_artefact(target)(out_path) and f"({target};" in out


def test_quiet_prints_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "lower", model_dir() / "diabetes.joblib", "-o", tmp_path / "m.onnx", "-q")
    assert (code, out, err) == (0, "", "")


def test_ir_to_standard_output_with_a_dash(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "lower", model_dir() / "diabetes.joblib", "--emit", "ir", "-o", "-")
    assert code == 0 and out.startswith("module @LinearRegression")


def test_onnx_bytes_to_standard_output(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "sklir", "lower", model_dir() / "diabetes.joblib",
                             "--emit", "onnx", "-o", "-"], capture_output=True, cwd=REPO, check=False)
    assert result.returncode == 0 and result.stderr == b""
    (tmp_path / "piped.onnx").write_bytes(result.stdout)
    assert sklir_artefact("onnx")(tmp_path / "piped.onnx")


def test_binary_to_a_terminal_is_refused(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, _, err = run_cli(capsys, "lower", model_dir() / "diabetes.joblib", "--emit", "tflite", "-o", "-")
    assert code == 1
    assert_one_line_error(err, "refusing to write a binary .tflite file to the terminal")


def test_savedmodel_to_standard_output_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "lower", model_dir() / "diabetes.joblib", "--emit", "savedmodel", "-o", "-")
    assert code == 1
    assert_one_line_error(err, "savedmodel artefact is a directory")


def test_a_closed_pipe_is_one_line() -> None:
    # `sklir lower ... --emit ir | head -1`: the reader is gone when sklir writes (here it leaves
    # at once, before sklir has even imported scikit-learn, so the write always meets a closed pipe)
    proc = subprocess.Popen([sys.executable, "-m", "sklir", "lower", model_dir() / "diabetes.joblib", "--emit", "ir"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert_one_line_error(err, "standard output was closed")


def test_progress_on_a_terminal_only(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:
    model = model_dir() / "diabetes.joblib"
    # piped (the test's captured stderr is no terminal): quiet
    code, _, err = run_cli(capsys, "lower", model, "-o", tmp_path / "a.onnx")
    assert code == 0 and err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = run_cli(capsys, "lower", model, "-o", tmp_path / "b.onnx")
    assert code == 0
    assert err.splitlines() == [f"sklir: loading {model}", "sklir: lowering", "sklir: converting to ONNX"]
    code, _, err = run_cli(capsys, "lower", model, "-o", tmp_path / "c.onnx", "-q")
    assert code == 0 and err == ""


def test_check_names_a_different_source_model(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # a Ridge artefact checked against the LinearRegression of the same width: the numbers differ,
    # and a warning says why before anyone reads them
    from sklearn.linear_model import Ridge

    sklir.emit(Ridge(alpha=10).fit(*dataset("diabetes")), "onnx", tmp_path / "ridge.onnx")
    code, out, err = run_cli(capsys, "check", model_dir() / "diabetes.joblib", tmp_path / "ridge.onnx")
    assert code == 1 and "parity FAILED" in out
    assert err.strip() == (f"sklir: warning: {tmp_path / 'ridge.onnx'} was lowered from Ridge, "
                           "but the model given is LinearRegression")


def test_check_of_the_same_source_says_nothing_more(capsys: pytest.CaptureFixture[str]) -> None:
    artefacts = model_artefacts()
    code, _, err = run_cli(capsys, "check", artefacts / "diabetes.joblib", artefacts / "diabetes.onnx")
    assert code == 0 and err == ""


def test_regressor_table_speaks_of_floats_only(capsys: pytest.CaptureFixture[str]) -> None:
    artefacts = model_artefacts()
    code, out, _ = run_cli(capsys, "check", artefacts / "diabetes.joblib", artefacts / "diabetes.onnx")
    assert code == 0
    assert out.splitlines()[-1] == "parity OK (floats: max|got - want| <= 1e-05 * max(1, max|want|))"


def test_classifier_table_speaks_of_both(capsys: pytest.CaptureFixture[str]) -> None:
    artefacts = model_artefacts()
    code, out, _ = run_cli(capsys, "check", artefacts / "iris_names.joblib", artefacts / "iris_names.onnx")
    assert code == 0
    assert out.splitlines()[-1].endswith("; labels: identical)")


def test_outputs_are_listed_in_contract_order(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run_cli(capsys, "lower", model_dir() / "iris_names.joblib", "-o", tmp_path / "m.onnx")
    assert code == 0 and "outputs: label, probabilities, decision)" in out
    code, out, _ = run_cli(capsys, "check", model_dir() / "iris_names.joblib", tmp_path / "m.onnx")
    assert [line.split()[0] for line in out.splitlines()[2:5]] == ["label", "probabilities", "decision"]


def test_feature_name_warnings_stay_off_the_terminal(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas", reason="a model fitted on a DataFrame needs pandas")
    from sklearn.linear_model import Ridge

    X, y = dataset("diabetes")
    model = Ridge().fit(pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]), y)
    joblib.dump(model, tmp_path / "named.joblib")
    np.save(tmp_path / "rows.npy", X[:50])
    code, _, err = run_cli(capsys, "lower", tmp_path / "named.joblib", "-o", tmp_path / "named.onnx")
    assert code == 0 and err == ""
    code, out, err = run_cli(capsys, "check", tmp_path / "named.joblib", tmp_path / "named.onnx",
                             "--data", tmp_path / "rows.npy")
    assert code == 0 and err == "", err


def test_a_version_mismatch_is_one_warning_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a model pickled by another scikit-learn release: scikit-learn's multi-line warning becomes one line
    import sklearn.base

    model = joblib.load(model_dir() / "diabetes.joblib")
    monkeypatch.setattr(sklearn.base, "__version__", "0.24.2")  # what __getstate__ records
    joblib.dump(model, tmp_path / "old.joblib")
    result = run_subprocess("lower", tmp_path / "old.joblib", "--emit", "ir")
    assert result.returncode == 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sklir: warning: Trying to unpickle estimator LinearRegression from version 0.24.2")
    assert listing(tmp_path) == {"old.joblib"}


def test_check_names_another_fit_of_the_same_class(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    X, y = dataset("diabetes")
    sklir.emit(LinearRegression().fit(X[:200], y[:200]), "onnx", tmp_path / "other.onnx")
    code, _, err = run_cli(capsys, "check", model_dir() / "diabetes.joblib", tmp_path / "other.onnx")
    assert code == 1
    assert err.strip() == (f"sklir: warning: {tmp_path / 'other.onnx'} was lowered from another fitted "
                           "LinearRegression than the model given (their fingerprints differ)")

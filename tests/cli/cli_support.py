"""Shared helpers for the CLI tests: model files written once per session, and ways to run the CLI.

In-process runs call :func:`sklir.cli.main` and read what it printed through ``capsys``; the
few subprocess runs check what only a fresh interpreter shows (imported modules, native stderr).
"""

from __future__ import annotations

import atexit
import fractions
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import joblib
import numpy as np
import pytest
from conftest import dataset, digits_pipeline
from parity import artefact
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklir.cli import main

REPO = Path(__file__).resolve().parents[2]


def fit_models() -> dict[str, object]:
    """The fitted models the CLI tests lower and check, on real bundled datasets."""
    X_digits, y_digits = dataset("digits")
    X_diabetes, y_diabetes = dataset("diabetes")
    X_iris, y_iris = dataset("iris")
    names = np.array(["setosa", "versicolor", "virginica"])[y_iris]
    return {
        # the frontend tests' own digits pipeline, so its artefacts are converted once per session
        "digits": digits_pipeline(),
        # same width as "digits", different weights: the "tampered artefact" for check
        "digits_other": make_pipeline(StandardScaler(), PCA(8, random_state=0), LogisticRegression(max_iter=3000))
        .fit(X_digits, y_digits),
        "diabetes": LinearRegression().fit(X_diabetes, y_diabetes),
        "iris_names": LogisticRegression(max_iter=1000).fit(X_iris, names),
    }


@functools.cache
def model_dir() -> Path:
    """A directory (removed at exit) holding every test model as .joblib, digits as .skops and .sklir too."""
    import skops.io as sio

    import sklir

    directory = Path(tempfile.mkdtemp(prefix="sklir-cli-models-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    models = fit_models()
    for name, model in models.items():
        joblib.dump(model, directory / f"{name}.joblib")
    sio.dump(models["digits"], directory / "digits.skops")
    with_fraction = models["diabetes"]  # its .joblib is already written without the attribute
    with_fraction.provenance_ = fractions.Fraction(1, 3)  # a type skops does not trust by default
    sio.dump(with_fraction, directory / "untrusted.skops")
    (directory / "digits.sklir").write_text(sklir.print_module(sklir.lower(models["digits"])))
    np.save(directory / "digits.npy", dataset("digits")[0])
    np.save(directory / "digits_narrow.npy", dataset("digits")[0][:, :10])
    return directory


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    """Run ``sklir.cli.main(argv)`` in this process; return (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_subprocess(*argv: str | Path, script: str | None = None,
                   timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sklir argv`` (or ``python -c script argv``) in a fresh interpreter from the repository root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}  # the CLI must quiet TF itself
    entry = ["-m", "sklir"] if script is None else ["-c", script]
    return subprocess.run([sys.executable, *entry, *map(str, argv)], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=timeout, check=False)


def assert_one_line_error(err: str, *fragments: str) -> str:
    """``err`` is exactly one ``sklir: error:`` line containing every fragment; return the line."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    (line,) = lines
    assert line.startswith("sklir: error: "), line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    return line


def listing(directory: Path) -> set[str]:
    """File names in ``directory`` (hidden temporaries included), to prove nothing was left behind."""
    return {p.name for p in directory.iterdir()}


@functools.cache
def model_artefacts() -> Path:
    """:func:`model_dir`, with ``<model>.<target>`` beside each model the check tests use.

    The bytes come from the parity harness's session cache, so a model the frontend tests already
    converted (digits is their pipeline too) is not converted again.
    """
    import sklir

    for name in ("digits", "digits_other", "iris_names", "diabetes"):
        module = sklir.lower(joblib.load(model_dir() / f"{name}.joblib"))
        for target in ("tflite", "onnx"):
            (model_dir() / f"{name}.{target}").write_bytes(artefact(module, target))
    return model_dir()

"""The README's end-to-end demo: fit, save, lower to ``.tflite``, run under LiteRT, check parity.

It goes through the same functions as ``python -m sklir lower`` and ``check``: the model is loaded
back from the joblib file it was saved to, so what is demonstrated is what a user runs.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import sklir
from sklir.errors import SklirError
from sklir.io import write_atomic

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# the demo's held-out split and model, fixed so that every run prints the same story
TEST_SIZE = 0.2
SEED = 0
PCA_COMPONENTS = 30


def fit_pipeline() -> tuple[Pipeline, np.ndarray, np.ndarray]:
    """StandardScaler -> PCA -> LogisticRegression fitted on digits; returns (model, X_test, y_test)."""
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=TEST_SIZE, random_state=SEED, stratify=y)
    model = make_pipeline(StandardScaler(), PCA(PCA_COMPONENTS, random_state=SEED), LogisticRegression(max_iter=2000))
    model.fit(X_train, y_train)
    return model, X_test, y_test


def run_demo(out: str | Path | None = None) -> int:
    """Run the demo, keeping its files in ``out`` (a temporary directory when None); 1 if parity fails."""
    with contextlib.ExitStack() as stack:
        directory = Path(out) if out is not None else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise SklirError(f"--out {out}: a file is in the way (the demo needs a directory)") from None
        except OSError as e:
            raise SklirError(f"--out {out}: cannot create the directory ({e.strerror})") from None
        status = _demo(directory)
    return status


def _pickled(model: object) -> bytes:
    import io

    import joblib

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def _demo(directory: Path) -> int:
    from sklir.backends import emit, sklir_artefact
    from sklir.check import DEFAULT_RTOL, check_artefact, format_table, passed
    from sklir.ir.printer import print_module
    from sklir.loading import load_model

    model, X_test, y_test = fit_pipeline()
    print("sklir demo: StandardScaler -> PCA -> LogisticRegression on scikit-learn's digits")
    print(f"  fitted    test accuracy {np.mean(model.predict(X_test) == y_test):.3f} on {len(y_test)} held-out rows")
    saved = directory / "digits_pipeline.joblib"
    # the model file is replaced only where an earlier demo left it (its .tflite beside it)
    write_atomic(saved, _pickled(model), lambda p: sklir_artefact("tflite")(p.with_suffix(".tflite")))
    print(f"  saved     {saved}")

    start = time.perf_counter()
    loaded = load_model(saved)
    module = sklir.lower(loaded)
    artefact = emit(module, "tflite", saved.with_suffix(".tflite"))
    seconds = time.perf_counter() - start
    size = artefact.stat().st_size / 1024
    print(f"  lowered   {artefact} ({size:.1f} kB) in {seconds:.1f} s (mostly TensorFlow's start-up)")
    matmuls = sum(node.op.name == "matmul" for node in module.nodes)
    print(f"\nIR after the default passes: {len(module.nodes)} ops, {matmuls} matmul "
          "(scaler and PCA folded into the classifier; large constants elided):\n")
    print(print_module(module, elide_constants=True).rstrip("\n"))

    rows = check_artefact(loaded, artefact, X_test, DEFAULT_RTOL)
    print(f"\n{artefact.name} under LiteRT vs scikit-learn on the {len(X_test)} held-out rows:\n")
    print(format_table(rows, DEFAULT_RTOL))
    by_name = {r.name: r for r in rows}
    if "label" in by_name and "probabilities" in by_name:
        label, proba = by_name["label"], by_name["probabilities"]
        agree = round((label.agreement or 0.0) * len(X_test))
        print(f"\nlabels: {agree}/{len(X_test)} identical to scikit-learn's; "
              f"max probability error {proba.max_abs:.2g}")
    return 0 if passed(rows) else 1

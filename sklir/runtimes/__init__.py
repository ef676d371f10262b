"""Runs emitted artefacts under their real runtimes: LiteRT for .tflite, onnxruntime for .onnx,
TensorFlow for a SavedModel directory.

Each runner takes the artefact (bytes or a path) and a float32 batch ``X`` and returns the
outputs by name, strings decoded to ``str`` in object arrays, so results compare directly with
scikit-learn's.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sklir.errors import SklirError

# artefact kind -> (module, function)
RUNNERS: dict[str, tuple[str, str]] = {
    "tflite": ("sklir.runtimes.litert", "run_tflite"),
    "onnx": ("sklir.runtimes.onnxrt", "run_onnx"),
    # TensorFlow itself runs a SavedModel; its runner lives with the only module importing TF
    "savedmodel": ("sklir.backends.tflite", "run_savedmodel"),
}


def check_width(width: int | None, X: np.ndarray) -> None:
    """Raise a clear error when a batch does not have the artefact's input width (runtimes fail deep inside)."""
    if X.ndim != 2 or (width is not None and X.shape[1] != width):
        shape = "x".join(map(str, X.shape))
        raise SklirError(f"the artefact takes {width} features per row, the data is {shape}")


def runner(kind: str) -> Callable[[bytes | Path, np.ndarray], dict[str, np.ndarray]]:
    """The run function for an artefact kind (imported on first use)."""
    if kind not in RUNNERS:
        raise SklirError(f"no runtime for artefact kind '{kind}' (known: {', '.join(RUNNERS)})")
    module, function = RUNNERS[kind]
    return getattr(importlib.import_module(module), function)


def run(artefact: bytes | str | Path, kind: str, X: np.ndarray) -> dict[str, np.ndarray]:
    """Run ``artefact`` of ``kind`` on ``X`` and return its named outputs."""
    data = Path(artefact) if isinstance(artefact, str) else artefact
    return runner(kind)(data, np.ascontiguousarray(X, dtype=np.float32))

"""Runs a ``.onnx`` artefact under onnxruntime (CPU, one intra-op thread).

Sessions are cached by the SHA-256 of the model bytes, so running the same artefact again (a
parity test on several batches, a benchmark loop) does not rebuild the session. Imports neither
``onnx`` nor TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from sklir.errors import SklirError
from sklir.runtimes import (
    Batch,
    ContentCache,
    artefact_bytes,
    as_input,
    check_width,
    decode_strings,
    in_fixed_batches,
    named_batch,
)

# onnxruntime's element type strings -> numpy, for feeding the input in the dtype it declares
_INPUT_DTYPES: dict[str, np.dtype] = {
    "tensor(float)": np.dtype(np.float32),
    "tensor(double)": np.dtype(np.float64),
    "tensor(int32)": np.dtype(np.int32),
    "tensor(int64)": np.dtype(np.int64),
    "tensor(string)": np.dtype(object),
}


class PreparedOnnx:
    """An onnxruntime session ready to call; :meth:`raw` is the lowest-overhead call for benchmarks."""

    def __init__(self, data: bytes) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types for a bad model
            raise SklirError(f"onnxruntime cannot load the model: {str(e).strip().splitlines()[0]}") from e
        # name -> (dtype, width or None), in the model's order
        self.inputs: dict[str, tuple[np.dtype, int | None]] = {}
        for inp in self.session.get_inputs():
            if inp.type not in _INPUT_DTYPES:
                raise SklirError(f"onnx model input {inp.name} has unsupported type {inp.type}")
            self.inputs[inp.name] = (_INPUT_DTYPES[inp.type], inp.shape[-1] if isinstance(inp.shape[-1], int) else None)
        # the first input's, for benchmarks of single-input models
        self.input_name: str = next(iter(self.inputs))
        self.input_dtype, self.width = self.inputs[self.input_name]
        self.output_names: tuple[str, ...] = tuple(o.name for o in self.session.get_outputs())
        # the rows every call takes, for an artefact emitted with a fixed batch
        first = self.session.get_inputs()[0].shape[0]
        self.batch: int | None = first if isinstance(first, int) else None

    def raw(self, X: np.ndarray) -> list[np.ndarray]:
        """The outputs in :attr:`output_names` order; ``X`` must already have :attr:`input_dtype`."""
        return self.session.run(None, {self.input_name: X})

    def __call__(self, X: Batch) -> dict[str, np.ndarray]:
        """The outputs by name (``X`` an array for a single input, else input name -> array);
        strings as object arrays of ``str``."""
        several = len(self.inputs) > 1
        feed = {}
        for name, arr in named_batch(X, list(self.inputs)).items():
            dtype, width = self.inputs[name]
            check_width(width, arr, name if several else None)
            feed[name] = as_input(arr, dtype, name)
        if self.batch is not None:
            return in_fixed_batches(self._run, self.batch, feed)
        return self._run(feed)

    def _run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = self.session.run(None, feed)
        return {name: decode_strings(np.asarray(out)) for name, out in zip(self.output_names, outputs, strict=True)}


# one session per artefact content
_SESSIONS: ContentCache[PreparedOnnx] = ContentCache()


def prepare_onnx(artefact: bytes | Path) -> PreparedOnnx:
    """The (cached) prepared session for an artefact given as bytes or a path."""
    data = artefact_bytes(artefact)
    return _SESSIONS.get(data, lambda: PreparedOnnx(data))


def run_onnx(artefact: bytes | Path, X: Batch) -> dict[str, np.ndarray]:
    """Run the ONNX artefact on the batch ``X``; return every output by name."""
    return prepare_onnx(artefact)(X)

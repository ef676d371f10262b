"""Runs ``.tflite`` artefacts under LiteRT (``ai_edge_litert``), the runtime phones and servers use.

Never imports TensorFlow. Interpreters are cached per artefact (keyed by a hash of its bytes) so
that tests and benchmarks that run one artefact many times build it once. Every run goes through
the ``serving_default`` signature, so outputs are found by name, not by tensor position.

    outputs = run_tflite(data, X)                 # dict name -> array, strings decoded to str
    model = load(data); model.resize(X.shape)     # benchmarks: resize once ...
    outputs = model(X)                            # ... then set, invoke, get per call
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import types
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from sklir.errors import SklirError
from sklir.runtimes import check_width

SIGNATURE = "serving_default"
# interpreters kept alive at once; an artefact falls out when this many newer ones were used since
_CACHE_SIZE = 64
_CACHE: OrderedDict[tuple[str, int], LiteRTModel] = OrderedDict()


@contextlib.contextmanager
def silenced_native_output() -> Iterator[None]:
    """Send file descriptors 1 and 2 to /dev/null for the duration.

    TensorFlow's converter and LiteRT write from C++ straight to the descriptors (MLIR error dumps,
    "Created TensorFlow Lite XNNPACK delegate"), which Python-level redirection cannot catch.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def _schema() -> types.ModuleType:
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def operator_names(data: bytes) -> list[str]:
    """The operator codes a ``.tflite`` file uses: builtin names, or ``CUSTOM:<code>`` (Flex ops included)."""
    schema = _schema()
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.Model.GetRootAs(data, 0)
    out = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        # codes above 127 live only in BuiltinCode; older files only fill the deprecated byte
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            out.append("CUSTOM:" + (code.CustomCode() or b"").decode())
        else:
            out.append(names.get(builtin, f"UNKNOWN:{builtin}"))
    return out


def read_metadata(data: bytes) -> dict[str, bytes]:
    """The flatbuffer's metadata entries, name -> raw bytes (sklir's own entry is ``"sklir"``)."""
    model = _schema().Model.GetRootAs(data, 0)
    entries = {}
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        entries[entry.Name().decode()] = model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    return entries


def _decode_strings(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind not in "OS":
        return arr
    flat = [v.decode() if isinstance(v, bytes) else str(v) for v in arr.ravel().tolist()]
    return np.array(flat, dtype=object).reshape(arr.shape)


class LiteRTModel:
    """One interpreter on one artefact, called through its ``serving_default`` signature.

    Calling it with a batch of a new shape resizes and reallocates; calls with the same shape only
    set the input, invoke and read the outputs, which is what a benchmark wants to time.
    """

    def __init__(self, data: bytes, num_threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.data = data
        try:
            with silenced_native_output():
                self.interpreter = Interpreter(model_content=data, num_threads=num_threads)
        except ValueError as e:  # LiteRT's error for bytes that are not a TFLite flatbuffer
            raise SklirError(f"not a .tflite model ({str(e).strip().splitlines()[0]})") from None
        signatures = self.interpreter.get_signature_list()
        if SIGNATURE not in signatures:
            raise SklirError(f"the .tflite file has no '{SIGNATURE}' signature (found: {', '.join(signatures)})")
        runner = self.interpreter.get_signature_runner(SIGNATURE)
        inputs = runner.get_input_details()
        outputs = runner.get_output_details()
        # a live runner pins the interpreter's buffers and makes resize_tensor_input fail
        del runner
        if len(inputs) != 1:
            raise SklirError(f"expected one input in '{SIGNATURE}', found {', '.join(inputs)}")
        ((self.input_name, detail),) = inputs.items()
        self.input_index: int = detail["index"]
        self.input_dtype = np.dtype(detail["dtype"])
        self.width = int(detail["shape_signature"][-1])
        self.outputs: dict[str, int] = {name: d["index"] for name, d in outputs.items()}
        self._shape: tuple[int, ...] | None = None

    def resize(self, shape: tuple[int, ...]) -> None:
        """Size the input for batches of ``shape`` and allocate the tensors."""
        shape = tuple(int(d) for d in shape)
        self.interpreter.resize_tensor_input(self.input_index, list(shape))
        # allocation (re)creates the XNNPACK delegate, which announces itself on stderr
        with silenced_native_output():
            self.interpreter.allocate_tensors()
        self._shape = shape

    def __call__(self, X: np.ndarray, decode: bool = True) -> dict[str, np.ndarray]:
        """Run on ``X``; strings come back as ``str`` in object arrays unless ``decode`` is False."""
        if X.shape != self._shape:
            check_width(self.width, X)
            self.resize(X.shape)
        it = self.interpreter
        it.set_tensor(self.input_index, np.ascontiguousarray(X, dtype=self.input_dtype))
        it.invoke()
        if not decode:
            return {name: it.get_tensor(i) for name, i in self.outputs.items()}
        return {name: _decode_strings(it.get_tensor(i)) for name, i in self.outputs.items()}


def _read(artefact: bytes | str | Path) -> bytes:
    if isinstance(artefact, (bytes, bytearray, memoryview)):
        return bytes(artefact)
    try:
        return Path(artefact).read_bytes()
    except OSError as err:
        raise SklirError(f"cannot read {artefact}: {err.strerror}") from None


def load(artefact: bytes | str | Path, num_threads: int = 1) -> LiteRTModel:
    """The (cached) model for ``artefact``: one interpreter per distinct file content and thread count."""
    data = _read(artefact)
    key = (hashlib.sha256(data).hexdigest(), num_threads)
    model = _CACHE.get(key)
    if model is None:
        model = _CACHE[key] = LiteRTModel(data, num_threads)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    return model


def prepared(artefact: bytes | str | Path, batch: int, num_threads: int = 1) -> LiteRTModel:
    """A fresh model already sized for ``batch`` rows, for benchmarks that time only set/invoke/get."""
    model = LiteRTModel(_read(artefact), num_threads)
    model.resize((batch, model.width))
    return model


def run_tflite(artefact: bytes | str | Path, X: np.ndarray) -> dict[str, np.ndarray]:
    """Run a ``.tflite`` artefact (bytes or path) on the batch ``X``; outputs by signature name."""
    return load(artefact)(np.asarray(X))

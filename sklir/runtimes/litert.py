"""Runs ``.tflite`` artefacts under LiteRT (``ai_edge_litert``), the runtime phones and servers use.

Never imports TensorFlow. Interpreters are cached per artefact (keyed by a hash of its bytes) so
that tests and benchmarks that run one artefact many times build it once. Every run goes through
the ``serving_default`` signature, so outputs are found by name, not by tensor position.

    outputs = run_tflite(data, X)                 # dict name -> array, strings decoded to str
    model = load(data); model.resize(X.shape)     # benchmarks: resize once ...
    outputs = model(X)                            # ... then set, invoke, get per call
"""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import numpy as np

from sklir.errors import SklirError
from sklir.io import silenced_native_output
from sklir.runtimes import (
    METADATA_NAME,
    SIGNATURE,
    Batch,
    ContentCache,
    artefact_bytes,
    as_input,
    check_width,
    decode_strings,
    in_fixed_batches,
    label_values,
    named_batch,
)

# one interpreter per artefact content and thread count
_MODELS: ContentCache[LiteRTModel] = ContentCache()


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


def operators(data: bytes) -> list[str]:
    """Every operator of a ``.tflite`` file's main graph, in order, by its code's name (a model
    with two FULLY_CONNECTED ops lists it twice, where :func:`operator_names` lists codes once)."""
    schema = _schema()
    codes = operator_names(data)
    graph = schema.Model.GetRootAs(data, 0).Subgraphs(0)
    return [codes[graph.Operators(i).OpcodeIndex()] for i in range(graph.OperatorsLength())]


def operator_outputs(data: bytes) -> list[tuple[str, list[str]]]:
    """Every operator of the main graph with the names of its output tensors (which carry the
    name scopes they were traced under)."""
    schema = _schema()
    codes = operator_names(data)
    graph = schema.Model.GetRootAs(data, 0).Subgraphs(0)
    out = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        names = [(graph.Tensors(op.Outputs(j)).Name() or b"").decode() for j in range(op.OutputsLength())]
        out.append((codes[op.OpcodeIndex()], names))
    return out


def dynamic_tensors(data: bytes) -> list[str]:
    """The names of the main graph's tensors whose shape has a dimension left unknown (-1)."""
    graph = _schema().Model.GetRootAs(data, 0).Subgraphs(0)
    found = []
    for i in range(graph.TensorsLength()):
        t = graph.Tensors(i)
        signature = t.ShapeSignatureAsNumpy() if t.ShapeSignatureLength() else None
        if signature is not None and (signature < 0).any():
            found.append((t.Name() or b"").decode())
    return found


def sklir_metadata_json(artefact: bytes | Path) -> str | None:
    """sklir's metadata JSON in a ``.tflite`` file (or its bytes), or None (no such entry, not a .tflite)."""
    data = artefact_bytes(artefact)
    if len(data) < 8 or data[4:8] != b"TFL3":
        return None
    try:
        payload = read_metadata(data).get(METADATA_NAME)
        return None if payload is None else payload.decode("utf-8")
    except Exception:  # flatbuffers raises assorted errors on bytes that only look like a model
        return None


def sklir_metadata(data: bytes) -> dict[str, Any] | None:
    """sklir's metadata of a ``.tflite`` as a dict (the label tables its runners read), or None."""
    text = sklir_metadata_json(data)
    return json.loads(text) if text else None


def read_metadata(data: bytes) -> dict[str, bytes]:
    """The flatbuffer's metadata entries, name -> raw bytes (sklir's own entry is ``"sklir"``)."""
    model = _schema().Model.GetRootAs(data, 0)
    entries = {}
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        entries[entry.Name().decode()] = model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    return entries


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
        # name -> (tensor index, dtype, width), in the graph's order (the signature lists names sorted)
        position = {d["index"]: i for i, d in enumerate(self.interpreter.get_input_details())}
        self.inputs: dict[str, tuple[int, np.dtype, int]] = {
            name: (d["index"], np.dtype(d["dtype"]), int(d["shape_signature"][-1]))
            for name, d in sorted(inputs.items(), key=lambda item: position.get(item[1]["index"], 0))}
        # the first input's, for benchmarks of single-input models
        self.input_name = next(iter(self.inputs))
        self.input_index, self.input_dtype, self.width = self.inputs[self.input_name]
        self.outputs: dict[str, int] = {name: d["index"] for name, d in outputs.items()}
        self._shapes: dict[str, tuple[int, ...]] | None = None
        # the rows every call takes when the artefact fixes its batch (the micro profile), which
        # is then run that many rows at a time; class indices it outputs become labels again
        first = int(inputs[self.input_name]["shape_signature"][0])
        self.batch: int | None = first if first > 0 else None
        self.metadata = sklir_metadata(data)

    def resize(self, shape: tuple[int, ...] | dict[str, tuple[int, ...]]) -> None:
        """Size the inputs for batches of ``shape`` (the single input's, or one per input name) and
        allocate the tensors."""
        shapes = shape if isinstance(shape, dict) else {self.input_name: shape}
        shapes = {name: tuple(int(d) for d in s) for name, s in shapes.items()}
        for name, s in shapes.items():
            self.interpreter.resize_tensor_input(self.inputs[name][0], list(s))
        # allocation (re)creates the XNNPACK delegate, which announces itself on stderr
        with silenced_native_output():
            self.interpreter.allocate_tensors()
        self._shapes = shapes

    def __call__(self, X: Batch, decode: bool = True) -> dict[str, np.ndarray]:
        """Run on ``X`` (an array for a single input, else input name -> array); strings (and
        labels an artefact outputs as class indices) come back as ``str`` in object arrays unless
        ``decode`` is False."""
        batch = X if isinstance(X, np.ndarray) and len(self.inputs) == 1 else named_batch(X, list(self.inputs))
        if isinstance(batch, np.ndarray):
            batch = {self.input_name: batch}
        if self.batch is not None:
            for name, arr in batch.items():
                check_width(self.inputs[name][2], arr, name if len(self.inputs) > 1 else None)
            outputs = in_fixed_batches(lambda part: self._call(part, False), self.batch, batch)
            if not decode:
                return outputs
            return label_values({k: decode_strings(v) for k, v in outputs.items()}, self.metadata)
        return self._call(batch, decode)

    def _call(self, batch: dict[str, np.ndarray], decode: bool) -> dict[str, np.ndarray]:
        shapes = {name: arr.shape for name, arr in batch.items()}
        if shapes != self._shapes:
            for name, arr in batch.items():
                check_width(self.inputs[name][2], arr, name if len(self.inputs) > 1 else None)
            self.resize(shapes)
        it = self.interpreter
        for name, arr in batch.items():
            index, dtype, _ = self.inputs[name]
            it.set_tensor(index, as_input(arr, dtype, name))
        it.invoke()
        if not decode:
            return {name: it.get_tensor(i) for name, i in self.outputs.items()}
        return {name: decode_strings(it.get_tensor(i)) for name, i in self.outputs.items()}


def load(artefact: bytes | str | Path, num_threads: int = 1) -> LiteRTModel:
    """The (cached) model for ``artefact``: one interpreter per distinct file content and thread count."""
    data = artefact_bytes(artefact)
    return _MODELS.get(data, lambda: LiteRTModel(data, num_threads), num_threads)


def prepared(artefact: bytes | str | Path, batch: int, num_threads: int = 1) -> LiteRTModel:
    """A fresh model already sized for ``batch`` rows, for benchmarks that time only set/invoke/get."""
    model = LiteRTModel(artefact_bytes(artefact), num_threads)
    model.resize((batch, model.width))
    return model


def run_tflite(artefact: bytes | str | Path, X: Batch) -> dict[str, np.ndarray]:
    """Run a ``.tflite`` artefact (bytes or path) on the batch ``X``; outputs by signature name."""
    return load(artefact)(X)


def tensor_ranges(data: bytes, X: Batch, names: list[str], tensors: list[int]) -> dict[int, tuple[float, float]]:
    """The least and greatest value each of ``tensors`` (indices in the main graph of the
    flatbuffer ``data``, whose inputs are ``names`` in graph order) takes over the rows of ``X``:
    what calibrating int8 activations needs. Runs on LiteRT's reference kernels, which keep every
    intermediate tensor; a fixed-batch model runs its batch at a time."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    with silenced_native_output():
        it = Interpreter(model_content=data, experimental_preserve_all_tensors=True,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    details = it.get_input_details()
    batch = named_batch(X, names)
    for name, d in zip(names, details, strict=True):
        check_width(int(d["shape_signature"][-1]), batch[name], name if len(names) > 1 else None)
    lows = {index: np.inf for index in tensors}
    highs = {index: -np.inf for index in tensors}

    def call(part: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        for name, d in zip(names, details, strict=True):
            if list(d["shape"]) != list(part[name].shape):
                it.resize_tensor_input(d["index"], list(part[name].shape))
        it.allocate_tensors()
        for name, d in zip(names, details, strict=True):
            it.set_tensor(d["index"], as_input(part[name], np.dtype(d["dtype"]), name))
        it.invoke()
        for index in tensors:
            values = it.get_tensor(index)
            finite = values[np.isfinite(values)]
            if finite.size:
                lows[index] = min(lows[index], float(finite.min()))
                highs[index] = max(highs[index], float(finite.max()))
        return {}

    fixed = int(details[0]["shape_signature"][0])
    if fixed > 0:
        in_fixed_batches(call, fixed, batch)
    else:
        call(batch)
    return {index: (lows[index], highs[index]) if np.isfinite(lows[index]) else (0.0, 0.0) for index in tensors}

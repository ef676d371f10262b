"""Weight quantisation of a ``.tflite`` flatbuffer, bytes in and bytes out, without TensorFlow.

The converter's own quantisation stores every float constant narrower, tree thresholds and
comparison bounds included, which changes decisions. sklir chooses instead: only the *weights*
of matrix products (the constant right operand of FULLY_CONNECTED and BATCH_MATMUL: linear
models, MLPs, kernel machines' support vectors, expanded distances) and *value tables* (float
tables GATHER reads whose rows no comparison and no cast reads: a tree's leaf values) are stored
narrower; every other constant (thresholds, bounds, node tables, biases, scales) stays float32,
so a quantised tree makes exactly scikit-learn's decisions.

- ``float16``: the weights and value tables stored as float16 and widened once by a DEQUANTIZE op
  at the start of the graph; the model computes in float32.
- ``int8``: FULLY_CONNECTED weights stored as int8, symmetric per output channel (``scale =
  max|w| / 127``, zero point 0), run by LiteRT's hybrid kernel (float inputs, int8 weights);
  BATCH_MATMUL weights, value tables and integer matrices (a tree's GEMM path matrix, vote
  matrices, whose products feed comparisons), as float16, which holds the integers exactly.

Weights below :data:`MIN_ELEMENTS` entries stay float32: their bytes do not matter.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from sklir.backends.profiles import QUANTIZE_MODES
from sklir.backends.tflite_artefact import _pack, _unpack, appended_files, builtin_code
from sklir.errors import BackendError

# the weight operand of each op whose constant weights are quantised
WEIGHT_SLOTS: dict[int, int] = {
    schema.BuiltinOperator.FULLY_CONNECTED: 1,
    schema.BuiltinOperator.BATCH_MATMUL: 1,
}
# a table GATHER reads (operand 0) is a value table unless one of these reads its rows: a bound
# compared with (a tree's thresholds) or numbers cast to integers (node tables kept as floats)
GATHERED_SLOT = (schema.BuiltinOperator.GATHER, 0)
BOUND_READERS = frozenset({
    schema.BuiltinOperator.LESS, schema.BuiltinOperator.LESS_EQUAL, schema.BuiltinOperator.GREATER,
    schema.BuiltinOperator.GREATER_EQUAL, schema.BuiltinOperator.EQUAL, schema.BuiltinOperator.NOT_EQUAL,
    schema.BuiltinOperator.CAST,
})
# smaller weights stay float32
MIN_ELEMENTS = 64
# the largest integer every smaller one of which float16 holds exactly
FLOAT16_EXACT_INTEGERS = 2048
# DEQUANTIZE of a float16 tensor is version 3 of the op; the integer products' ops at the versions
# TensorFlow's converter gives them (QUANTIZE float to int8, FULLY_CONNECTED on int8, DEQUANTIZE
# of int8)
DEQUANTIZE_FLOAT16_VERSION = 3
QUANTIZE_VERSION = 1
FULLY_CONNECTED_INT8_VERSION = 4
DEQUANTIZE_INT8_VERSION = 2

MODES = QUANTIZE_MODES


def _constant(model: object, tensor: object) -> np.ndarray | None:
    buffer = model.buffers[tensor.buffer]  # type: ignore[attr-defined]
    if tensor.type != schema.TensorType.FLOAT32 or buffer.data is None or not len(buffer.data):  # type: ignore[attr-defined]
        return None
    return np.frombuffer(bytes(buffer.data), dtype="<f4").reshape(tensor.shape)  # type: ignore[attr-defined]


def _weights(model: object) -> dict[int, tuple[int, np.ndarray]]:
    """Tensor index -> (the builtin reading it, its values): the constant float32 tensors of at
    least MIN_ELEMENTS entries every use of which is a weight slot, or the table of a GATHER whose
    rows no comparison or cast reads (a value table)."""
    graph = model.subgraphs[0]  # type: ignore[attr-defined]
    codes = [builtin_code(c) for c in model.operatorCodes]  # type: ignore[attr-defined]
    uses: dict[int, list[tuple[int, int]]] = {}
    for op in graph.operators or []:
        for slot, index in enumerate(op.inputs if op.inputs is not None else []):
            uses.setdefault(int(index), []).append((codes[op.opcodeIndex], slot))
    bound_tables = {int(op.inputs[0]) for op in graph.operators or [] if (codes[op.opcodeIndex], 0) == GATHERED_SLOT
                    and any(code in BOUND_READERS for code, _ in uses.get(int(op.outputs[0]), []))}
    for index in graph.outputs if graph.outputs is not None else []:
        uses.setdefault(int(index), []).append((-1, -1))
    # a buffer two tensors share (the converter dedupes equal constants) is left alone: narrowing
    # it for one would change the other
    owners: dict[int, int] = {}
    for sub in model.subgraphs:  # type: ignore[attr-defined]
        for tensor in sub.tensors or []:
            owners[tensor.buffer] = owners.get(tensor.buffer, 0) + 1
    found = {}
    for index, slots in uses.items():
        if index < 0 or index in bound_tables or \
                not all(WEIGHT_SLOTS.get(code) == slot or (code, slot) == GATHERED_SLOT for code, slot in slots):
            continue
        if owners[graph.tensors[index].buffer] > 1:
            continue
        values = _constant(model, graph.tensors[index])
        if values is not None and values.size >= MIN_ELEMENTS:
            found[index] = (slots[0][0], values)
    return found


def _small_integers(values: np.ndarray) -> bool:
    """Whether every weight is an integer float16 holds exactly: a selection or vote matrix (a
    tree's GEMM path matrix, one-vs-one votes), whose products feed comparisons. It is stored as
    float16, exactly; int8 would also quantise the input of its product (the hybrid kernel does)
    and so move values across thresholds."""
    return bool(np.all(values == np.round(values)) and np.abs(values).max() <= FLOAT16_EXACT_INTEGERS)


def _code_index(model: object, builtin: int, version: int) -> int:
    codes = model.operatorCodes  # type: ignore[attr-defined]
    for i, code in enumerate(codes):
        if builtin_code(code) == builtin:
            code.version = max(code.version, version)
            return i
    code = schema.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), version
    codes.append(code)
    return len(codes) - 1


def _as_float16(model: object, index: int, values: np.ndarray, widen: list[object]) -> None:
    """Store tensor ``index`` as float16 in a new tensor, and widen it back with a DEQUANTIZE."""
    graph = model.subgraphs[0]  # type: ignore[attr-defined]
    tensor = graph.tensors[index]
    narrow = schema.TensorT()
    narrow.shape, narrow.type = list(tensor.shape), schema.TensorType.FLOAT16
    narrow.name = (tensor.name or b"") + b"_f16"
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(values.astype("<f2").tobytes(), dtype=np.uint8)
    model.buffers.append(buffer)  # type: ignore[attr-defined]
    narrow.buffer = len(model.buffers) - 1  # type: ignore[attr-defined]
    graph.tensors.append(narrow)
    model.buffers[tensor.buffer].data = None  # type: ignore[attr-defined]
    op = schema.OperatorT()
    op.opcodeIndex = _code_index(model, schema.BuiltinOperator.DEQUANTIZE, DEQUANTIZE_FLOAT16_VERSION)
    op.inputs, op.outputs = [len(graph.tensors) - 1], [index]
    op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.DequantizeOptions, schema.DequantizeOptionsT()
    widen.append(op)


def _as_int8(model: object, index: int, values: np.ndarray) -> np.ndarray:
    """Store FULLY_CONNECTED weights ``[out, in]`` as int8, symmetric per output channel; their scales."""
    tensor = model.subgraphs[0].tensors[index]  # type: ignore[attr-defined]
    scale = np.abs(values).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    quantised = np.clip(np.round(values / scale[:, None]), -127, 127).astype(np.int8)
    model.buffers[tensor.buffer].data = np.frombuffer(quantised.tobytes(), dtype=np.uint8)  # type: ignore[attr-defined]
    tensor.type = schema.TensorType.INT8
    params = schema.QuantizationParametersT()
    params.scale, params.zeroPoint, params.quantizedDimension = scale.astype(np.float32).tolist(), [0] * len(scale), 0
    tensor.quantization = params
    return scale.astype(np.float32)


def _int8_weight(mode: str, builtin: int, values: np.ndarray) -> bool:
    """Whether ``mode`` stores a weight read by ``builtin`` as int8 (else as float16)."""
    return mode == "int8" and builtin == schema.BuiltinOperator.FULLY_CONNECTED and values.ndim == 2 \
        and not _small_integers(values)


def _new_tensor(model: object, like: object, dtype: int, suffix: bytes, data: np.ndarray | None = None,
                quantization: object = None) -> int:
    """Append a tensor shaped like ``like`` (with its own buffer, holding ``data`` if given)."""
    graph = model.subgraphs[0]  # type: ignore[attr-defined]
    tensor = schema.TensorT()
    tensor.shape, tensor.type = list(like.shape), dtype  # type: ignore[attr-defined]
    tensor.shapeSignature = like.shapeSignature  # type: ignore[attr-defined]
    tensor.name = (like.name or b"") + suffix  # type: ignore[attr-defined]
    tensor.quantization = quantization
    buffer = schema.BufferT()
    if data is not None:
        buffer.data = np.frombuffer(data.tobytes(), dtype=np.uint8)
        tensor.shape = list(data.shape)
    model.buffers.append(buffer)  # type: ignore[attr-defined]
    tensor.buffer = len(model.buffers) - 1  # type: ignore[attr-defined]
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def _quantization(scale: np.ndarray, zero: np.ndarray) -> object:
    params = schema.QuantizationParametersT()
    params.scale, params.zeroPoint, params.quantizedDimension = scale.tolist(), zero.tolist(), 0
    return params


def activation_parameters(low: float, high: float) -> tuple[float, int]:
    """Asymmetric int8 (scale, zero point) covering ``[low, high]`` with 0 represented exactly."""
    low, high = min(low, 0.0), max(high, 0.0)
    scale = (high - low) / 255.0 or 1.0
    return float(np.float32(scale)), int(np.clip(np.round(-128 - low / scale), -128, 127))


def _operator(model: object, builtin: int, version: int, inputs: list[int], outputs: list[int],
              options_type: int, options: object) -> object:
    op = schema.OperatorT()
    op.opcodeIndex = _code_index(model, builtin, version)
    op.inputs, op.outputs = inputs, outputs
    op.builtinOptionsType, op.builtinOptions = options_type, options
    return op


def _integer_product(model: object, op: object, ranges: dict[int, tuple[float, float]],
                     quantized: dict[int, int], before: list[object]) -> object:
    """Make the FULLY_CONNECTED ``op`` (its int8 weights already stored) compute in int8: its input
    quantised (one QUANTIZE per float tensor, kept in ``quantized``), its bias as int32 at the
    product's scale, its output int8 and widened back by the DEQUANTIZE returned."""
    graph = model.subgraphs[0]  # type: ignore[attr-defined]
    inputs = [int(i) for i in op.inputs]  # type: ignore[attr-defined]
    source, target = inputs[0], int(op.outputs[0])  # type: ignore[attr-defined]
    in_scale, in_zero = activation_parameters(*ranges[source])
    if source not in quantized:
        quantized[source] = _new_tensor(model, graph.tensors[source], schema.TensorType.INT8, b"_int8", None,
                                        _quantization(np.array([in_scale], np.float32), np.array([in_zero])))
        before.append(_operator(model, schema.BuiltinOperator.QUANTIZE, QUANTIZE_VERSION, [source],
                                [quantized[source]], schema.BuiltinOptions.QuantizeOptions, schema.QuantizeOptionsT()))
    weight_scale = np.asarray(graph.tensors[inputs[1]].quantization.scale, np.float32)
    inputs[0] = quantized[source]
    if len(inputs) > 2 and inputs[2] >= 0:
        bias = _constant(model, graph.tensors[inputs[2]])
        assert bias is not None, "a FULLY_CONNECTED bias is a float32 constant"
        scale = (np.float64(in_scale) * weight_scale).astype(np.float32)
        integers = np.round(bias / scale).astype(np.int32)
        inputs[2] = _new_tensor(model, graph.tensors[inputs[2]], schema.TensorType.INT32, b"_int32", integers,
                                _quantization(scale, np.zeros(len(scale), np.int64)))
    out_scale, out_zero = activation_parameters(*ranges[target])
    narrow = _new_tensor(model, graph.tensors[target], schema.TensorType.INT8, b"_int8", None,
                         _quantization(np.array([out_scale], np.float32), np.array([out_zero])))
    op.inputs, op.outputs = inputs, [narrow]  # type: ignore[attr-defined]
    _code_index(model, schema.BuiltinOperator.FULLY_CONNECTED, FULLY_CONNECTED_INT8_VERSION)
    return _operator(model, schema.BuiltinOperator.DEQUANTIZE, DEQUANTIZE_INT8_VERSION, [narrow], [target],
                     schema.BuiltinOptions.DequantizeOptions, schema.DequantizeOptionsT())


Calibrate = Callable[[bytes, list[int]], dict[int, tuple[float, float]]]


def quantize_weights(data: bytes, mode: str, calibrate: Calibrate | None = None, float16: bool = True) -> bytes:
    """``data`` with its matrix-product weights stored as ``mode`` (``float16`` or ``int8``); what
    would be float16 stays float32 unless ``float16`` (the runtime widens float16 constants).

    With ``calibrate`` (``(data, tensor indices) -> each tensor's least and greatest value`` on
    representative rows) and ``int8``, the products whose weights are int8 also take int8 inputs
    and give int8 outputs at the calibrated scales: integer kernels, the kind TFLite Micro has."""
    if mode not in MODES:
        raise BackendError(f"unknown quantisation '{mode}' (known: {', '.join(MODES)})")
    model = _unpack(data)
    weights = _weights(model)
    if not weights:
        return data
    graph = model.subgraphs[0]
    integer = [op for op in graph.operators or [] if calibrate is not None and len(op.inputs) > 1
               and int(op.inputs[1]) in weights and _int8_weight(mode, *weights[int(op.inputs[1])])]
    ranges = calibrate(data, sorted({int(i) for op in integer for i in (op.inputs[0], op.outputs[0])})) \
        if calibrate is not None and integer else {}
    widen: list[object] = []
    for index, (builtin, values) in weights.items():
        if _int8_weight(mode, builtin, values):
            _as_int8(model, index, values)
        elif float16:
            _as_float16(model, index, values, widen)
    operators: list[object] = []
    quantized: dict[int, int] = {}
    for op in graph.operators or []:
        if any(op is chosen for chosen in integer):
            before: list[object] = []
            after = _integer_product(model, op, ranges, quantized, before)
            operators += [*before, op, after]
        else:
            operators.append(op)
    graph.operators = [*widen, *operators]
    return _pack(model, appended_files(data), len(data))

"""ONNX backend: an IR module to a serialized ``ModelProto`` in the standard ``ai.onnx`` domain.

The only module of sklir that imports ``onnx``. Every op has an emitter in :data:`EMITTERS` (op
class -> function) that appends ONNX nodes to a :class:`Graph` and returns the name of the
op's result. The emitted model:

- uses opset 17 of ``ai.onnx`` only (no ``ai.onnx.ml``) and the lowest IR version that opset
  allows, so it loads in older and mobile onnxruntime builds and in ONNX-to-TF converters; a
  model that compares strings (string categories of a DataFrame column) uses opset 19, the first
  whose ``Equal`` takes strings (:func:`opset_for`);
- keeps the module's input and output names, with the batch dimension as ``dim_param "N"``;
- carries ``module.attributes`` as JSON under the metadata key ``"sklir"``.

Precision: f64 values are emitted natively as ONNX ``double`` (onnxruntime has double kernels
for every op used here), so the backend never raises on f64; the precision pass decides what
the model computes in. Ordering strings is refused: it has no ONNX op at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from sklir import __version__
from sklir.backends import Descriptions, descriptions, metadata_json
from sklir.backends.profiles import DEFAULT, Profile
from sklir.errors import BackendError
from sklir.ir.core import Module, Node, Op, Value
from sklir.ir.dialects import arith, linalg, tensor
from sklir.ir.dialects._checks import normalize_axis
from sklir.ir.types import Batch, DType, TensorType
from sklir.runtimes import METADATA_NAME, artefact_bytes

OPSET = 17
# the opset of a model that compares strings: Equal takes strings from opset 19 on
STRING_OPSET = 19


def opset_for(module: Module) -> int:
    """:data:`STRING_OPSET` when ``module`` compares strings, else :data:`OPSET`."""
    strings = any(isinstance(node.op, arith.Compare) and node.operands[0].type.dtype is DType.str
                  for node in module.nodes)
    return STRING_OPSET if strings else OPSET


def ir_version(opset: int) -> int:
    """The lowest ONNX IR version that carries ``opset``."""
    return int(helper.find_min_ir_version_for([helper.make_opsetid("", opset)]))


IR_VERSION = ir_version(OPSET)

ELEMENT_TYPES: dict[DType, int] = {
    DType.f32: TensorProto.FLOAT,
    DType.f64: TensorProto.DOUBLE,
    DType.i8: TensorProto.INT8,
    DType.i16: TensorProto.INT16,
    DType.i32: TensorProto.INT32,
    DType.i64: TensorProto.INT64,
    DType.bool: TensorProto.BOOL,
    DType.str: TensorProto.STRING,
}


@dataclass
class _PendingNode:
    op_type: str
    inputs: list[str]
    outputs: list[str]
    attributes: dict[str, Any]


@dataclass
class Graph:
    """The ONNX graph under construction: nodes, initializers and the names already handed out."""

    used: set[str] = field(default_factory=set)
    opset: int = OPSET
    nodes: list[_PendingNode] = field(default_factory=list)
    initializers: list[TensorProto] = field(default_factory=list)
    _constants: dict[tuple[Any, ...], str] = field(default_factory=dict)

    def fresh(self, hint: str = "t") -> str:
        """A tensor name not used anywhere in the graph yet."""
        i = len(self.used)
        while f"{hint}{i}" in self.used:
            i += 1
        name = f"{hint}{i}"
        self.used.add(name)
        return name

    def const(self, array: Any, dtype: DType) -> str:
        """An initializer holding ``array`` as ``dtype``; equal constants share one initializer."""
        arr = np.asarray(array, dtype=dtype.numpy)
        if dtype is DType.str:
            # JSON keeps string boundaries (a separator character could occur inside a label)
            payload: bytes = json.dumps([str(s) for s in arr.ravel()]).encode()
        else:
            payload = np.ascontiguousarray(arr).tobytes()
        key = (dtype, arr.shape, payload)
        if key not in self._constants:
            name = self.fresh("c")
            self.initializers.append(numpy_helper.from_array(arr, name))
            self._constants[key] = name
        return self._constants[key]

    def op(self, op_type: str, *inputs: str, **attributes: Any) -> str:
        """Append a single-output node; return its output name (an input ``""`` is an omitted optional one)."""
        (out,) = self.multi(op_type, 1, *inputs, **attributes)
        return out

    def multi(self, op_type: str, results: int, *inputs: str, **attributes: Any) -> tuple[str, ...]:
        """Append a node with ``results`` outputs (TopK's values and indices); return their names."""
        outs = tuple(self.fresh() for _ in range(results))
        self.nodes.append(_PendingNode(op_type, list(inputs), list(outs), attributes))
        return outs

    def cast(self, name: str, to: DType) -> str:
        """``name`` converted to ``to``."""
        return self.op("Cast", name, to=ELEMENT_TYPES[to])

    def bind_outputs(self, outputs: dict[str, str]) -> None:
        """Give each graph output its module name: rename the producing node's result where that
        is unambiguous, otherwise add an ``Identity`` (an input, a constant, or a value output twice)."""
        produced = {out for node in self.nodes for out in node.outputs}
        renames: dict[str, str] = {}
        for out_name, source in outputs.items():
            if source in produced and source not in renames:
                renames[source] = out_name
            else:
                self.nodes.append(_PendingNode("Identity", [source], [out_name], {}))
        for node in self.nodes:
            node.inputs = [renames.get(n, n) for n in node.inputs]
            node.outputs = [renames.get(n, n) for n in node.outputs]

    def node_protos(self) -> list[onnx.NodeProto]:
        """The nodes as ONNX protos, named in program order."""
        return [helper.make_node(n.op_type, n.inputs, n.outputs, name=f"{n.op_type}_{i}", **n.attributes)
                for i, n in enumerate(self.nodes)]


# An emitter appends the nodes computing one IR node and returns the name of its result, or the
# names of its results in order for an op with several (top_k).
Emitter = Callable[[Graph, Node, list[str]], str | tuple[str, ...]]


def _dtype(node: Node, i: int = 0) -> DType:
    return node.operands[i].type.dtype


def _fail(node: Node, reason: str) -> BackendError:
    return BackendError(f"onnx backend: {node.op.name}: {reason}")


# ---- elementwise unary ---------------------------------------------------------------------

# IR unary op -> the ONNX op with the same numpy semantics
UNARY_ONNX: dict[str, str] = {
    "neg": "Neg", "abs": "Abs", "sign": "Sign", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
    "reciprocal": "Reciprocal", "floor": "Floor", "ceil": "Ceil",
    # ONNX Round is half-to-even, like numpy
    "round": "Round",
    "tanh": "Tanh", "relu": "Relu", "sin": "Sin", "cos": "Cos",
    "isnan": "IsNaN", "logical_not": "Not",
}


def _expm1(g: Graph, x: str, dtype: DType) -> str:
    # exp(x) - 1 loses every digit for small |x|; Kahan's (u - 1) * (x / log(u)) with u = exp(x)
    # keeps full relative precision (x / log(u) ~ 1, so nothing overflows before u does).
    # u == 1 (tiny x), u - 1 == -1 (x -> -inf) and u == +inf (inf/inf) are the exact limits.
    one, minus_one = g.const(1, dtype), g.const(-1, dtype)
    u = g.op("Exp", x)
    um1 = g.op("Sub", u, one)
    ratio = g.op("Mul", um1, g.op("Div", x, g.op("Log", u)))
    at_inf = g.op("Where", g.op("IsInf", u, detect_negative=0), u, ratio)
    saturated = g.op("Where", g.op("Equal", um1, minus_one), minus_one, at_inf)
    return g.op("Where", g.op("Equal", u, one), x, saturated)


def _log1p(g: Graph, x: str, dtype: DType) -> str:
    # log(1 + x) loses the low digits of x; Goldberg's log(u) * x / (u - 1) with u = 1 + x
    # restores them. u == 1 (tiny x) and u == +inf are the exact limits (u == -inf stays NaN).
    one = g.const(1, dtype)
    u = g.op("Add", x, one)
    ratio = g.op("Mul", g.op("Log", u), g.op("Div", x, g.op("Sub", u, one)))
    at_inf = g.op("Where", g.op("IsInf", u, detect_negative=0), u, ratio)
    return g.op("Where", g.op("Equal", u, one), x, at_inf)


def _sigmoid(g: Graph, x: str, dtype: DType) -> str:
    # onnxruntime's Sigmoid kernel is an approximation with ~1e-7 absolute but poor relative
    # error in the tails (2e-4 at x = -10, 0 at x = -80); 1 / (1 + exp(-x)) is accurate to a few
    # ulp everywhere, and gives 0 only where the true value is below the smallest normal float
    one = g.const(1, dtype)
    return g.op("Reciprocal", g.op("Add", one, g.op("Exp", g.op("Neg", x))))


def _rsqrt(g: Graph, x: str, dtype: DType) -> str:
    return g.op("Reciprocal", g.op("Sqrt", x))


def _square(g: Graph, x: str, dtype: DType) -> str:
    return g.op("Mul", x, x)


# erf in double, which onnxruntime's Erf kernel lacks: Maclaurin's series below ERF_SERIES_BELOW
# (ERF_SERIES_TERMS terms reach double precision at 2) and Laplace's continued fraction for
# erfc beyond (ERF_FRACTION_DEPTH levels reach it from 2 up); 6e-16 relative against scipy
ERF_SERIES_BELOW = 2.0
ERF_SERIES_TERMS = 34
ERF_FRACTION_DEPTH = 40


def _erf(g: Graph, x: str, dtype: DType) -> str:
    if dtype is not DType.f64:
        return g.op("Erf", x)
    import math

    square = g.op("Mul", x, x)
    series = g.const(0.0, dtype)
    for n in reversed(range(ERF_SERIES_TERMS)):
        c = 2 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1))
        series = g.op("Add", g.op("Mul", series, square), g.const(c, dtype))
    series = g.op("Mul", series, x)
    magnitude = g.op("Abs", x)
    fraction = magnitude
    for k in reversed(range(1, ERF_FRACTION_DEPTH + 1)):
        fraction = g.op("Add", magnitude, g.op("Div", g.const(k / 2, dtype), fraction))
    erfc = g.op("Div", g.op("Exp", g.op("Neg", square)), g.op("Mul", fraction, g.const(math.sqrt(math.pi), dtype)))
    tail = g.op("Mul", g.op("Sub", g.const(1.0, dtype), erfc), g.op("Sign", x))
    return g.op("Where", g.op("Less", magnitude, g.const(ERF_SERIES_BELOW, dtype)), series, tail)


# IR unary op without a single-op ONNX equivalent -> (graph, input, dtype) -> result
UNARY_COMPOSITE: dict[str, Callable[[Graph, str, DType], str]] = {
    "expm1": _expm1, "log1p": _log1p, "sigmoid": _sigmoid, "rsqrt": _rsqrt, "square": _square, "erf": _erf,
}


def _unary(name: str) -> Emitter:
    if name in UNARY_ONNX:
        op_type = UNARY_ONNX[name]
        return lambda g, node, args: g.op(op_type, args[0])
    composite = UNARY_COMPOSITE[name]
    return lambda g, node, args: composite(g, args[0], _dtype(node))


# ---- elementwise binary --------------------------------------------------------------------

# IR binary op -> the ONNX op with the same numpy semantics (both propagate NaN in max/min)
BINARY_ONNX: dict[str, str] = {
    "add": "Add", "sub": "Sub", "mul": "Mul", "maximum": "Max", "minimum": "Min",
    "pow": "Pow", "logical_and": "And", "logical_or": "Or",
}


def _div(g: Graph, node: Node, args: list[str]) -> str:
    a, b = args
    if not _dtype(node).is_index:
        return g.op("Div", a, b)
    # the IR divides integers like numpy's floor_divide; ONNX Div truncates toward zero, but
    # a - mod(a, b) (Mod with fmod=0 takes the divisor's sign) is an exact multiple of b
    return g.op("Div", g.op("Sub", a, g.op("Mod", a, b, fmod=0)), b)


# IR binary op whose semantics need more than one ONNX op, or depend on the dtype
BINARY_SPECIAL: dict[str, Emitter] = {"div": _div}


def _binary(name: str) -> Emitter:
    if name in BINARY_ONNX:
        op_type = BINARY_ONNX[name]
        return lambda g, node, args: g.op(op_type, *args)
    return BINARY_SPECIAL[name]


# ---- compare, select, clip, cast -----------------------------------------------------------

# predicate -> (ONNX op, negate the result)
COMPARE_ONNX: dict[str, tuple[str, bool]] = {
    "lt": ("Less", False), "le": ("LessOrEqual", False), "gt": ("Greater", False),
    "ge": ("GreaterOrEqual", False), "eq": ("Equal", False),
    # not(equal) is exactly numpy's != (true when either side is NaN); le/ge use their own ops
    # because not(gt) would be true for NaN
    "ne": ("Equal", True),
}


def _compare(g: Graph, node: Node, args: list[str]) -> str:
    dtype = _dtype(node)
    if dtype is DType.str:
        if node.op.predicate not in ("eq", "ne"):  # type: ignore[attr-defined]
            raise _fail(node, "ONNX has no op that orders strings")
        if g.opset < STRING_OPSET:
            raise _fail(node, f"comparing strings needs ai.onnx opset {STRING_OPSET} (Equal)")
    if dtype is DType.bool:
        # ONNX orders numbers only; False < True as 0 < 1
        args = [g.cast(a, DType.i32) for a in args]
    op_type, negate = COMPARE_ONNX[node.op.predicate]  # type: ignore[attr-defined]
    out = g.op(op_type, *args)
    return g.op("Not", out) if negate else out


def _clip(g: Graph, node: Node, args: list[str]) -> str:
    dtype = _dtype(node)
    # an infinite bound is an omitted optional input
    bounds = [g.const(v, dtype) if np.isfinite(v) else "" for v in (node.op.min, node.op.max)]  # type: ignore[attr-defined]
    return g.op("Clip", args[0], *bounds)


def _cast(g: Graph, node: Node, args: list[str]) -> str:
    to: DType = node.op.to  # type: ignore[attr-defined]
    return args[0] if to is _dtype(node) else g.cast(args[0], to)


# ---- tensor plumbing -----------------------------------------------------------------------

def _axes(g: Graph, axis: int) -> str:
    return g.const([axis], DType.i64)


def _constant(g: Graph, node: Node, args: list[str]) -> str:
    value = node.op.value  # type: ignore[attr-defined]
    return g.const(value.array, value.dtype)


def _take_along_axis(g: Graph, node: Node, args: list[str]) -> str:
    x, idx = args
    x_type, idx_type = (v.type for v in node.operands)
    axis = normalize_axis("take_along_axis", node.op.axis, x_type.rank)  # type: ignore[attr-defined]
    if any(i != axis and idx_type.shape[i] == 1 and x_type.shape[i] != 1 for i in range(x_type.rank)):
        # numpy broadcasts size-1 index dimensions; GatherElements wants them spelled out
        shape = g.op("Concat", g.op("Shape", x, end=axis), g.op("Shape", idx, start=axis, end=axis + 1),
                     g.op("Shape", x, start=axis + 1), axis=0)
        idx = g.op("Expand", idx, shape)
    return g.op("GatherElements", x, idx, axis=axis)


def _label_lookup(g: Graph, node: Node, args: list[str]) -> str:
    classes = node.op.classes  # type: ignore[attr-defined]
    return g.op("Gather", g.const(classes.array, classes.dtype), args[0], axis=0)


# ---- linear algebra and reductions ---------------------------------------------------------

# reduce kind -> (ONNX op, the opset from which its axes are an input rather than an attribute,
#                 numpy propagates NaN where onnxruntime's kernel skips it)
REDUCE_ONNX: dict[str, tuple[str, int, bool]] = {
    "sum": ("ReduceSum", 13, False),
    "mean": ("ReduceMean", 18, False),
    "max": ("ReduceMax", 18, True),
    "min": ("ReduceMin", 18, True),
}


def _reduce(g: Graph, node: Node, args: list[str]) -> str:
    op: linalg.Reduce = node.op  # type: ignore[assignment]
    (x,) = args
    op_type, axes_input_since, nan_guard = REDUCE_ONNX[op.kind]
    keepdims = int(op.keepdims)
    if g.opset >= axes_input_since:
        out = g.op(op_type, x, _axes(g, op.axis), keepdims=keepdims)
    else:
        out = g.op(op_type, x, axes=[op.axis], keepdims=keepdims)
    dtype = _dtype(node)
    if nan_guard and dtype.is_float:
        # sum(where(isnan(x), nan, 0)) is NaN if any element is, else exactly 0
        zero_or_nan = g.op("Where", g.op("IsNaN", x), g.const(np.nan, dtype), g.const(0, dtype))
        out = g.op("Add", out, g.op("ReduceSum", zero_or_nan, _axes(g, op.axis), keepdims=keepdims))
    return out


def _top_k(g: Graph, node: Node, args: list[str]) -> tuple[str, ...]:
    op: linalg.TopK = node.op  # type: ignore[assignment]
    # sorted, equal values lower index first (the operator's stated tie rule)
    return g.multi("TopK", 2, args[0], g.const([op.k], DType.i64), axis=-1, largest=int(op.largest), sorted=1)


def _attr_op(op_type: str, **fixed: Any) -> Emitter:
    """An emitter for an op whose IR attribute ``axis`` maps onto the ONNX attribute ``axis``."""
    return lambda g, node, args: g.op(op_type, *args, axis=node.op.axis, **fixed)  # type: ignore[attr-defined]


def _axes_op(op_type: str) -> Emitter:
    """An emitter for Squeeze/Unsqueeze, which take their axes as an input since opset 13."""
    return lambda g, node, args: g.op(op_type, args[0], _axes(g, node.op.axis))  # type: ignore[attr-defined]


EMITTERS: dict[type[Op], Emitter] = {
    # an op missing from these tables has no emitter, which the coverage test reports
    **{cls: _unary(name) for name, cls in arith.UNARY_OPS.items() if name in {*UNARY_ONNX, *UNARY_COMPOSITE}},
    **{cls: _binary(name) for name, cls in arith.BINARY_OPS.items() if name in {*BINARY_ONNX, *BINARY_SPECIAL}},
    arith.Compare: _compare,
    arith.Select: lambda g, node, args: g.op("Where", *args),
    arith.Clip: _clip,
    arith.Cast: _cast,
    tensor.Constant: _constant,
    tensor.Concat: _attr_op("Concat"),
    tensor.Gather: _attr_op("Gather"),
    tensor.TakeAlongAxis: _take_along_axis,
    tensor.Squeeze: _axes_op("Squeeze"),
    tensor.ExpandDims: _axes_op("Unsqueeze"),
    tensor.LabelLookup: _label_lookup,
    linalg.MatMul: lambda g, node, args: g.op("MatMul", *args),
    linalg.Softmax: _attr_op("Softmax"),
    # keepdims=0 and the default select_last_index=0: numpy's first index on ties
    linalg.ArgMax: _attr_op("ArgMax", keepdims=0),
    linalg.TopK: _top_k,
    linalg.Reduce: _reduce,
}


# ---- the model -----------------------------------------------------------------------------

def _value_info(name: str, t: TensorType, doc: str = "", batch: int | None = None) -> onnx.ValueInfoProto:
    dims: list[str | int] = [("N" if batch is None else batch) if isinstance(d, Batch) else d for d in t.shape]
    return helper.make_tensor_value_info(name, ELEMENT_TYPES[t.dtype], dims, doc_string=doc)


def _emit_node(g: Graph, node: Node, names: dict[Value, str]) -> None:
    emitter = EMITTERS.get(type(node.op))
    if emitter is None:
        raise _fail(node, "no ONNX emitter for this op")
    emitted = emitter(g, node, [names[v] for v in node.operands])
    results = (emitted,) if isinstance(emitted, str) else emitted
    if len(results) != len(node.results):
        raise _fail(node, f"the emitter produced {len(results)} result(s) for {len(node.results)}")
    names.update(zip(node.results, results, strict=True))


def build_model(module: Module, profile: Profile = DEFAULT) -> onnx.ModelProto:
    """The ONNX model for a verified module (not yet checked), its batch the profile's."""
    opset = opset_for(module)
    g = Graph(used={v.name or "" for v in module.inputs} | set(module.outputs), opset=opset)
    names: dict[Value, str] = {v: v.name or "" for v in module.inputs}
    for node in module.nodes:
        _emit_node(g, node, names)
    g.bind_outputs({out: names[v] for out, v in module.outputs.items()})
    about = descriptions(module)
    graph = helper.make_graph(
        g.node_protos(), module.name,
        [_value_info(v.name or "", v.type, about.inputs[v.name or "x"], profile.batch) for v in module.inputs],
        [_value_info(out, v.type, about.outputs[out], profile.batch) for out, v in module.outputs.items()],
        initializer=g.initializers,
        doc_string=about.model,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir_version(opset),
        producer_name="sklir", producer_version=__version__, doc_string=about.model,
    )
    helper.set_model_props(model, metadata_props(module, about, profile))
    return model


def metadata_props(module: Module, about: Descriptions, profile: Profile = DEFAULT) -> dict[str, str]:
    """The model's ``metadata_props``: sklir's JSON under ``sklir``, and each fact under its own
    key for tools that show plain key/value pairs (Netron, onnxruntime's custom_metadata_map)."""
    attrs = module.attributes
    props = {METADATA_NAME: metadata_json(module, profile), "sklir_version": __version__,
             "source": str(attrs.get("source", module.name))}
    for key in ("classes", "feature_names"):
        if key in attrs:
            props[key] = json.dumps(list(attrs[key]), default=str, ensure_ascii=False)
    if about.labels is not None:
        props["labels"] = about.labels
    return props


def emit_onnx(module: Module, profile: Profile = DEFAULT) -> bytes:
    """Emit ``module`` as a serialized ONNX ``ModelProto`` checked by ``onnx.checker`` (full check),
    for the profile's batch."""
    model = build_model(module, profile)
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BackendError(f"onnx backend produced an invalid model for {module.name}: {first}") from e
    return model.SerializeToString()


def read_metadata_props(data: bytes) -> dict[str, str]:
    """An ONNX model's ``metadata_props`` as a dict; empty when ``data`` is not an ONNX model."""
    from google.protobuf.message import DecodeError

    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError):
        return {}
    return {p.key: p.value for p in model.metadata_props}


def sklir_metadata_json(artefact: bytes | Path) -> str | None:
    """sklir's metadata JSON in an ``.onnx`` file (or its bytes), or None (no such entry, not ONNX)."""
    return read_metadata_props(artefact_bytes(artefact)).get(METADATA_NAME)

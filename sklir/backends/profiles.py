"""Profiles: what the device that runs an artefact can do, as one option object the backends receive.

A :class:`Profile` says how many rows a call takes (a fixed batch, or any), what IR ``i64`` index
values become, whether class labels stay in the graph or leave it as class indices with the label
table in the metadata, whether string tensors exist, and which builtin ops the runtime provides.
``default`` is LiteRT / onnxruntime / TF Serving: any batch, anything builtin. ``micro`` is
TensorFlow Lite Micro: a fixed batch (1 unless asked), int32 indices, no strings, class indices
out, and only the ops of :data:`MICRO_OPS`, checked after conversion.

    profile = profile_named("micro", batch=8)
    data = sklir.emit(module, "tflite", profile=profile)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sklir.errors import SklirError
from sklir.ir.core import Module
from sklir.ir.types import DType

# TFLite builtin operator -> the MicroMutableOpResolver method that registers its kernel in
# TensorFlow Lite Micro (tensorflow/lite/micro/micro_mutable_op_resolver.h). Only ops sklir's
# backend can emit are listed; an op outside this table does not run on a microcontroller.
MICRO_OPS: Mapping[str, str] = {
    "ABS": "AddAbs",
    "ADD": "AddAdd",
    "ADD_N": "AddAddN",
    "ARG_MAX": "AddArgMax",
    "ARG_MIN": "AddArgMin",
    "BATCH_MATMUL": "AddBatchMatMul",
    "BROADCAST_TO": "AddBroadcastTo",
    "CAST": "AddCast",
    "CEIL": "AddCeil",
    "CONCATENATION": "AddConcatenation",
    "COS": "AddCos",
    "CUMSUM": "AddCumSum",
    "DEQUANTIZE": "AddDequantize",
    "DIV": "AddDiv",
    "EQUAL": "AddEqual",
    "EXP": "AddExp",
    "EXPAND_DIMS": "AddExpandDims",
    "FILL": "AddFill",
    "FLOOR": "AddFloor",
    "FLOOR_DIV": "AddFloorDiv",
    "FLOOR_MOD": "AddFloorMod",
    "FULLY_CONNECTED": "AddFullyConnected",
    "GATHER": "AddGather",
    "GATHER_ND": "AddGatherNd",
    "GREATER": "AddGreater",
    "GREATER_EQUAL": "AddGreaterEqual",
    "L2_NORMALIZATION": "AddL2Normalization",
    "LEAKY_RELU": "AddLeakyRelu",
    "LESS": "AddLess",
    "LESS_EQUAL": "AddLessEqual",
    "LOG": "AddLog",
    "LOG_SOFTMAX": "AddLogSoftmax",
    "LOGICAL_AND": "AddLogicalAnd",
    "LOGICAL_NOT": "AddLogicalNot",
    "LOGICAL_OR": "AddLogicalOr",
    "LOGISTIC": "AddLogistic",
    "MAXIMUM": "AddMaximum",
    "MEAN": "AddMean",
    "MINIMUM": "AddMinimum",
    "MUL": "AddMul",
    "NEG": "AddNeg",
    "NOT_EQUAL": "AddNotEqual",
    "PACK": "AddPack",
    "QUANTIZE": "AddQuantize",
    "PAD": "AddPad",
    "PADV2": "AddPadV2",
    "REDUCE_MAX": "AddReduceMax",
    "REDUCE_MIN": "AddReduceMin",
    "RELU": "AddRelu",
    "RELU6": "AddRelu6",
    "RESHAPE": "AddReshape",
    "REVERSE_V2": "AddReverseV2",
    "ROUND": "AddRound",
    "RSQRT": "AddRsqrt",
    "SELECT_V2": "AddSelectV2",
    "SHAPE": "AddShape",
    "SIN": "AddSin",
    "SLICE": "AddSlice",
    "SOFTMAX": "AddSoftmax",
    "SPLIT": "AddSplit",
    "SPLIT_V": "AddSplitV",
    "SQRT": "AddSqrt",
    "SQUARE": "AddSquare",
    "SQUARED_DIFFERENCE": "AddSquaredDifference",
    "SQUEEZE": "AddSqueeze",
    "STRIDED_SLICE": "AddStridedSlice",
    "SUB": "AddSub",
    "SUM": "AddSum",
    "TANH": "AddTanh",
    "TRANSPOSE": "AddTranspose",
    "UNPACK": "AddUnpack",
    "ZEROS_LIKE": "AddZerosLike",
}


# TFLite Micro's kernels that take float32 (and int8/int16 quantised) data but no int32 or bool:
# GATHER's table (float32 or int8, not int16 nor int32), SELECT_V2's values, the reductions' input
_FLOAT = frozenset({DType.f32})
MICRO_KERNELS: Mapping[str, frozenset[DType]] = {
    "GATHER": frozenset({DType.f32, DType.i8}), "SELECT_V2": _FLOAT, "SUM": _FLOAT, "MEAN": _FLOAT,
    "REDUCE_MAX": _FLOAT, "REDUCE_MIN": _FLOAT,
}


def checked_batch(batch: object) -> int:
    """``batch`` when it is a positive whole number of rows; else a SklirError saying so."""
    if type(batch) is not int or batch < 1:  # bool is an int subclass, and not a batch
        raise SklirError(f"the batch must be a positive whole number of rows, got {batch!r}")
    return batch


# what --quantize takes (sklir.backends.tflite_quantize.MODES; not imported here: it needs LiteRT)
QUANTIZE_MODES = ("float16", "int8")


@dataclass(frozen=True)
class Profile:
    """What the runtime of an artefact can do; the backends and ``prepare`` read it.

    ``batch``: the rows every call takes (``None``: any number). ``integers``: IR integer dtype ->
    the dtype it is emitted as (``i64`` class and node indices as int32 where kernels take no
    int64, ``i16`` node tables as int32). ``kernels``: the data dtypes a builtin's kernel takes.
    ``labels``: ``"values"`` keeps class labels in the graph; ``"indices"`` outputs class indices
    and records each label table in the metadata. ``strings``: whether string tensors exist.
    ``ops``: builtin op -> its registration, the only ops allowed (``None``: every builtin).
    ``targets``: the targets it applies to.
    """

    name: str
    batch: int | None = None
    integers: Mapping[DType, DType] = dataclasses.field(default_factory=dict)
    # builtin -> the data dtypes its kernel takes (a builtin not listed takes any); data of
    # another dtype goes through a float32 copy and back, exact for integers below 2^24
    kernels: Mapping[str, frozenset[DType]] = dataclasses.field(default_factory=dict)
    # the most operands one CONCATENATION takes (None: any); more are joined in a tree
    max_concat: int | None = None
    # how tree ensembles are lowered unless a strategy is asked for: "auto" (for speed) or
    # "smallest" (for flash)
    trees: str = "auto"
    # matrix-product weights stored narrower ("float16", "int8"; sklir.backends.tflite_quantize)
    quantize: str | None = None
    # representative input rows (an array, or input name -> array): with "int8", the products
    # whose weights are int8 compute in int8 at activation scales calibrated on them
    representative: Any = dataclasses.field(default=None, compare=False, repr=False)
    # whether the runtime widens float16 constants (DEQUANTIZE of float16): where it does not,
    # what quantisation would store as float16 stays float32
    float16: bool = True
    labels: str = "values"
    strings: bool = True
    ops: Mapping[str, str] | None = None
    targets: tuple[str, ...] = ("tflite", "savedmodel", "onnx")
    # why the profile exists, for its refusals
    runtime: str = "LiteRT, onnxruntime and TF Serving"

    def with_batch(self, batch: int | None) -> Profile:
        """The same profile at a fixed ``batch`` (``None`` keeps the profile's own)."""
        if batch is None:
            return self
        return dataclasses.replace(self, batch=checked_batch(batch))

    def quantized(self, mode: str | None, representative: Any = None) -> Profile:
        """The same profile with its matrix-product weights stored as ``mode`` (``None`` keeps them);
        with ``representative`` rows and ``int8``, those products compute in int8 (calibrated on
        the rows): the only quantisation a runtime without hybrid kernels (TFLite Micro) runs."""
        if mode is None:
            if representative is not None:
                raise SklirError("representative rows calibrate int8 products: give them with int8 quantisation")
            return self
        if mode not in QUANTIZE_MODES:
            raise SklirError(f"unknown quantisation '{mode}' (known: {', '.join(QUANTIZE_MODES)})")
        if representative is not None and mode != "int8":
            raise SklirError(f"representative rows calibrate int8 products, not {mode} weights")
        if self.ops is not None and representative is None:
            raise SklirError(f"the {self.name} profile takes {mode} weights only as int8 products calibrated on "
                             f"representative rows (give --data): {self.runtime} has no kernel for float16 "
                             "weights nor for int8 weights with float inputs")
        return dataclasses.replace(self, quantize=mode, representative=representative)

    def emitted(self, dtype: DType) -> DType:
        """The dtype a value of IR ``dtype`` is emitted as."""
        return self.integers.get(dtype, dtype)

    def takes(self, operator: str, dtype: DType) -> bool:
        """Whether the kernel of the builtin ``operator`` takes data of ``dtype`` directly."""
        return operator not in self.kernels or dtype in self.kernels[operator]

    def allows(self, operator: str) -> bool:
        """Whether the runtime has a kernel for the builtin ``operator``."""
        return self.ops is None or operator in self.ops

    def check_target(self, target: str) -> None:
        """Refuse a target the profile does not apply to."""
        if target not in self.targets:
            raise SklirError(f"the {self.name} profile is for {', '.join(self.targets)} artefacts, not {target} "
                             f"(it describes {self.runtime})")

    def check_operators(self, names: Sequence[str], where: Mapping[str, str]) -> None:
        """Refuse builtin operators the runtime lacks; ``where`` maps an operator to the IR node it
        came from, for the message."""
        if self.ops is None:
            return
        missing = sorted(set(names) - set(self.ops))
        if missing:
            found = "; ".join(f"{op} (from {where[op]})" if op in where else op for op in missing)
            raise SklirError(f"{self.runtime} has no kernel for {found}: this model cannot run under the "
                             f"{self.name} profile")

    def registrations(self, names: Sequence[str]) -> list[str]:
        """The op resolver calls a firmware makes for ``names`` (each once, in order)."""
        if self.ops is None:
            return []
        return list(dict.fromkeys(self.ops[n] for n in names if n in self.ops))


DEFAULT = Profile("default")
PROFILES: dict[str, Profile] = {
    "default": DEFAULT,
    # TFLite Micro: int32 positions only, float kernels where MICRO_KERNELS says, at most 10
    # operands per CONCATENATION (kMaxInputNum)
    "micro": Profile("micro", batch=1, integers={DType.i64: DType.i32, DType.i16: DType.i32},
                     kernels=MICRO_KERNELS, max_concat=10, trees="smallest", labels="indices", strings=False,
                     ops=MICRO_OPS, targets=("tflite", "c"), runtime="TensorFlow Lite Micro", float16=False),
}


def profile_named(name: str | Profile, batch: int | None = None, quantize: str | None = None,
                  representative: Any = None) -> Profile:
    """The profile called ``name`` (or ``name`` itself), at a fixed ``batch`` and with weights
    quantised as ``quantize`` when given (int8 products calibrated on ``representative`` rows)."""
    if not isinstance(name, Profile):
        if name not in PROFILES:
            raise SklirError(f"unknown profile '{name}' (known: {', '.join(PROFILES)})")
        name = PROFILES[name]
    return name.with_batch(batch).quantized(quantize, representative)


def check_module(module: Module, profile: Profile) -> None:
    """Refuse, before any conversion, what the profile's runtime cannot hold: string values (an
    input column of text, or class labels a composition keeps in the graph)."""
    if profile.strings:
        return
    why = f"{profile.runtime} has no string tensors"
    for v in module.inputs:
        if v.type.dtype is DType.str:
            raise SklirError(f"{why}, and input '{v.name}' is a column of strings: encode it to numbers before "
                             f"the model, or emit for the default profile")
    for index, node in enumerate(module.nodes):
        if any(r.type.dtype is DType.str for r in node.results):
            raise SklirError(f"{why}, and op {node.op.name} (node {index}) computes strings inside the model: "
                             f"only class labels a model outputs can leave as indices")

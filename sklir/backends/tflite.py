"""The TensorFlow backend: IR -> ``tf.function`` -> ``.tflite`` (TFLite builtins only) or a SavedModel.

The only sklir module that imports TensorFlow; it is imported only when a TensorFlow target is
asked for. :data:`EMITTERS` maps each op class to a small function ``(op, *tensors) -> tensors``
that writes the op into the traced graph; the unary and binary arithmetic entries are generated
from the dialect's own tables. A module arrives verified and lowered to f32: an f64 value is an
error, never a silent Flex fallback, and so is any TF op without a TFLite builtin kernel.
"""

from __future__ import annotations

import contextvars
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

# TensorFlow reads these once, at import: without them every conversion logs to stderr
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.lite.python.convert_phase import ConverterError  # noqa: E402

from sklir import __version__  # noqa: E402
from sklir.backends import descriptions, metadata_json, seal_directory  # noqa: E402
from sklir.backends.profiles import DEFAULT, Profile  # noqa: E402
from sklir.backends.tflite_artefact import (  # noqa: E402
    add_metadata_entries,
    attach_standard_metadata,
    name_and_order_io,
    respell_operators,
    standard_metadata,
)
from sklir.backends.tflite_quantize import Calibrate, quantize_weights  # noqa: E402
from sklir.errors import BackendError, SklirError  # noqa: E402
from sklir.io import silenced_native_output  # noqa: E402
from sklir.ir.core import Module, Node, Op, Tensor  # noqa: E402
from sklir.ir.dialects import arith, linalg, tensor  # noqa: E402
from sklir.ir.types import DType, N  # noqa: E402
from sklir.runtimes import (  # noqa: E402
    METADATA_NAME,
    SIGNATURE,
    Batch,
    as_input,
    check_width,
    decode_strings,
    in_fixed_batches,
    named_batch,
)
from sklir.runtimes.litert import dynamic_tensors, operator_names, operator_outputs  # noqa: E402

tf.get_logger().setLevel("ERROR")


Emitter = Callable[..., tuple[Any, ...]]

_TF_DTYPES: dict[DType, tf.DType] = {
    DType.f32: tf.float32, DType.i8: tf.int8, DType.i16: tf.int16, DType.i32: tf.int32, DType.i64: tf.int64,
    DType.bool: tf.bool, DType.str: tf.string,
}


# the profile a module is being traced for: what its integers become (int32 indices for
# TensorFlow Lite Micro, whose kernels take no int64 positions) and which builtins its runtime has
_PROFILE: contextvars.ContextVar[Profile] = contextvars.ContextVar("profile", default=DEFAULT)


def _allows(operator: str) -> bool:
    """Whether the profile being traced for has a kernel for the builtin ``operator``: emitters
    with a composite form use it where the runtime lacks the direct one."""
    return _PROFILE.get().allows(operator)


def tf_dtype(dtype: DType) -> tf.DType:
    """The TensorFlow dtype for an IR dtype as the profile emits it (i64 as int32 under micro);
    f64 has no TFLite builtin kernels and is refused."""
    dtype = _PROFILE.get().emitted(dtype)
    if dtype not in _TF_DTYPES:
        raise BackendError(f"{dtype.value} values cannot be emitted for TFLite (lower the module to f32 first)")
    return _TF_DTYPES[dtype]


def _constant(value: Tensor) -> tf.Tensor:
    if value.dtype.is_float and np.isinf(value.array).any():
        # refused rather than miscompiled: the converter saves every infinite constant as the
        # largest finite float, so x + inf, x == inf and x < inf would all be silently wrong
        raise BackendError("TFLite cannot store an infinite constant (its converter saturates it to "
                           "±3.4028235e+38); this constant holds inf")
    array = value.array.tolist() if value.dtype is DType.str else value.array
    dtype = tf_dtype(value.dtype)
    if dtype.is_integer and value.array.size and not dtype.min <= value.array.min() <= value.array.max() <= dtype.max:
        raise BackendError(f"an index constant does not fit {dtype.name} (it holds {value.array.min()} .. "
                           f"{value.array.max()})")
    return tf.constant(array, dtype=dtype, shape=value.shape)


# ---- elementwise arithmetic, generated from arith.UNARY / arith.BINARY names ----

def _divide(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    # the IR's integer div floors, like numpy's floor_divide
    return tf.math.floordiv(a, b) if a.dtype.is_integer else tf.math.truediv(a, b)


def _negative(x: tf.Tensor) -> tf.Tensor:
    # TFLite Micro's NEG has no integer kernel; 0 - x is the same integer
    return tf.math.subtract(tf.zeros_like(x), x) if x.dtype.is_integer else tf.math.negative(x)


def _abs(x: tf.Tensor) -> tf.Tensor:
    # TFLite's ABS and SIGN have no int64 kernels; MAXIMUM, SUB, compares and CAST do
    return tf.math.maximum(x, _negative(x)) if x.dtype.is_integer else tf.math.abs(x)


def _sign(x: tf.Tensor) -> tf.Tensor:
    if not x.dtype.is_integer and _allows("SIGN"):
        return tf.math.sign(x)
    signs = tf.cast(x > 0, x.dtype) - tf.cast(x < 0, x.dtype)
    # without a SIGN kernel (TFLite Micro) NaN passes through as numpy's sign gives it
    return signs if x.dtype.is_integer else tf.where(tf.math.is_nan(x), x, signs)


# the largest integer every smaller one of which float32 holds exactly
FLOAT32_EXACT_INTEGERS = 2**24


# below this many multiplications an integer constant exponent is computed by squaring
POWER_BY_SQUARING_UP_TO = 64


def _power(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    if _allows("POW"):
        return tf.math.pow(a, b)
    # no POW kernel (TFLite Micro): a finite scalar integer exponent by squaring, anything else as
    # exp(b log|a|) with numpy's signs and special cases
    exponent = tf.get_static_value(b)
    if exponent is not None and np.size(exponent) == 1 and np.isfinite(exponent).all() \
            and float(exponent) == round(float(exponent)) and abs(float(exponent)) <= POWER_BY_SQUARING_UP_TO:
        n = int(abs(float(exponent)))
        result, square = tf.ones_like(a), a
        while n:
            if n & 1:
                result = result * square
            n >>= 1
            if n:
                square = square * square
        result = 1.0 / result if float(exponent) < 0 else result
        # a size-1 exponent of higher rank broadcasts the result, as numpy's does
        return result if b.shape.rank <= a.shape.rank else result * tf.ones_like(b)
    shape = tf.broadcast_dynamic_shape(tf.shape(a), tf.shape(b))
    a, b = tf.broadcast_to(a, shape), tf.broadcast_to(b, shape)
    magnitude = tf.math.exp(b * tf.math.log(tf.math.abs(a)))
    whole = tf.math.equal(b, tf.math.floor(b))
    # an exponent beyond 2^24 (or infinite) is even, as numpy finds it
    odd = tf.math.logical_and(tf.math.logical_and(whole, tf.math.abs(b) < float(FLOAT32_EXACT_INTEGERS)),
                              tf.math.not_equal(tf.math.floormod(b, 2.0), 0.0))
    nan = tf.fill(shape, np.float32(np.nan))
    # a negative base to a fractional power is NaN, but -inf's is inf or 0 (numpy's pow)
    fractional = tf.where(a < -np.finfo(np.float32).max, magnitude, nan)
    negative = tf.where(odd, -magnitude, tf.where(whole, magnitude, fractional))
    # 1 ** anything and anything ** 0 are 1 (NaN and the infinities included); |a| == 1 to an
    # infinite power is 1 too, where log gives 0 * inf (|b| > FLT_MAX: an inf constant would be
    # saturated by the converter)
    one = tf.math.logical_or(tf.math.equal(a, 1.0), tf.math.equal(b, 0.0))
    one = tf.math.logical_or(one, tf.math.logical_and(tf.math.equal(tf.math.abs(a), 1.0),
                                                      tf.math.abs(b) > np.finfo(np.float32).max))
    return tf.where(one, tf.ones_like(a), tf.where(a < 0.0, negative, magnitude))


def _logical_not(x: tf.Tensor) -> tf.Tensor:
    # the converter folds logical_not(greater(a, b)) into less_equal(a, b), which is false where a
    # is NaN (not(NaN > b) is true); equal(x, False) is the same one op and is left alone
    return tf.math.equal(x, tf.constant(False))


# below SERIES_BELOW expm1 and log1p take their Maclaurin series (SERIES_TERMS terms reach float32
# there); beyond it exp(x) - 1 and log(1 + x) keep float32's precision. Compensated forms such as
# Kahan's (exp(x) - 1) * x / log(exp(x)) do not survive the converter, which folds log(exp(x))
SERIES_BELOW = 0.25
SERIES_TERMS = 12


def _series(x: tf.Tensor, coefficients: list[float]) -> tf.Tensor:
    total = tf.zeros_like(x)
    for c in reversed(coefficients):
        total = total * x + c
    return total * x


def _expm1(x: tf.Tensor) -> tf.Tensor:
    factorials = [1.0 / float(np.prod(np.arange(1, n + 1))) for n in range(1, SERIES_TERMS + 1)]
    near = _series(x, factorials)
    # LiteRT's EXP gives inf from 88.4 on (float32 reaches 88.72) and -1 - 1 at NaN: exp(x / 2)^2
    # up there, and NaN passed through
    half = tf.math.exp(0.5 * x)
    far = tf.where(x > 80.0, half * half, tf.math.exp(x) - 1.0)
    return tf.where(tf.math.is_nan(x), x, tf.where(tf.math.abs(x) < SERIES_BELOW, near, far))


def _log1p(x: tf.Tensor) -> tf.Tensor:
    near = _series(x, [(-1.0) ** (n + 1) / n for n in range(1, SERIES_TERMS + 1)])
    out = tf.where(tf.math.abs(x) < SERIES_BELOW, near, tf.math.log(x + 1.0))
    # LiteRT's LOG gives a finite number at +inf and NaN: both pass through as numpy has them
    # (x > FLT_MAX is +inf alone; the converter's is_inf does not survive)
    beyond = tf.math.greater(x, tf.constant(np.finfo(np.float32).max, tf.float32))
    return tf.where(tf.math.logical_or(tf.math.is_nan(x), beyond), x, out)


# erf's Maclaurin series 2/sqrt(pi) (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320): below
# ERF_SERIES_BELOW its first left-out term is under 2e-8
ERF_SERIES = [2 / np.sqrt(np.pi) * c for c in (1.0, -1 / 3, 1 / 10, -1 / 42, 1 / 216, -1 / 1320)]
ERF_SERIES_BELOW = 0.5
# Abramowitz and Stegun 7.1.26: erf(x) = 1 - t (a1 + t (a2 + ...)) exp(-x^2), t = 1 / (1 + p x),
# absolute error below 1.5e-7 for x >= 0
ERF_P = 0.3275911
ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _erf(x: tf.Tensor) -> tf.Tensor:
    # TFLite has no ERF kernel: the series near 0 (where the rational form's absolute error would
    # be a large relative one) and Abramowitz and Stegun's form beyond, odd in x
    magnitude = tf.math.abs(x)
    square = x * x
    series = tf.zeros_like(x)
    for c in reversed(ERF_SERIES):
        series = series * square + c
    series = series * x
    t = 1.0 / (1.0 + ERF_P * magnitude)
    poly = tf.zeros_like(x)
    for a in reversed(ERF_A):
        poly = (poly + a) * t
    tail = (1.0 - poly * tf.math.exp(-square)) * _sign(x)
    return tf.where(magnitude < ERF_SERIES_BELOW, series, tail)


# XNNPACK's LOGISTIC (LiteRT's default delegate, 2.3) returns NaN for float32 inputs of magnitude
# about 4e26 to 2e38; beyond +-100 float32's sigmoid is 1, or below the smallest normal float (where
# the kernel gives 0 anyway), so the input is held within +-100 first: by selects, which keep NaN
SIGMOID_HELD_WITHIN = 100.0


def _sigmoid(x: tf.Tensor) -> tf.Tensor:
    if x.dtype != tf.float32:
        return tf.math.sigmoid(x)
    bound = tf.constant(SIGMOID_HELD_WITHIN, tf.float32)
    return tf.math.sigmoid(tf.where(x > bound, bound, tf.where(x < -bound, -bound, x)))


TF_UNARY: dict[str, Callable[[tf.Tensor], tf.Tensor]] = {
    "neg": _negative, "abs": _abs, "sign": _sign,
    "exp": tf.math.exp, "expm1": _expm1, "log": tf.math.log, "log1p": _log1p,
    "sqrt": tf.math.sqrt, "rsqrt": tf.math.rsqrt, "square": tf.math.square, "reciprocal": tf.math.reciprocal,
    "floor": tf.math.floor, "ceil": tf.math.ceil, "round": tf.math.round,  # round: half to even, as numpy
    "sigmoid": _sigmoid, "tanh": tf.math.tanh, "relu": tf.nn.relu, "erf": _erf,
    "sin": tf.math.sin, "cos": tf.math.cos,
    "isnan": tf.math.is_nan, "logical_not": _logical_not,
}

TF_BINARY: dict[str, Callable[[tf.Tensor, tf.Tensor], tf.Tensor]] = {
    "add": tf.math.add, "sub": tf.math.subtract, "mul": tf.math.multiply, "div": _divide,
    "maximum": tf.math.maximum, "minimum": tf.math.minimum, "pow": _power,
    "logical_and": tf.math.logical_and, "logical_or": tf.math.logical_or,
}

TF_COMPARE: dict[str, Callable[[tf.Tensor, tf.Tensor], tf.Tensor]] = {
    "lt": tf.math.less, "le": tf.math.less_equal, "gt": tf.math.greater,
    "ge": tf.math.greater_equal, "eq": tf.math.equal, "ne": tf.math.not_equal,
}

TF_REDUCE: dict[str, Callable[..., tf.Tensor]] = {
    "sum": tf.math.reduce_sum, "max": tf.math.reduce_max, "min": tf.math.reduce_min, "mean": tf.math.reduce_mean,
}


def _elementwise(fn: Callable[..., tf.Tensor]) -> Emitter:
    return lambda op, *operands: (fn(*operands),)


# ---- the other ops, one small function each ----

def _compare(op: arith.Compare, a: tf.Tensor, b: tf.Tensor) -> tuple[tf.Tensor]:
    if a.dtype == tf.bool:
        # TFLite orders numbers only (and has no bool LESS); False < True as 0 < 1
        a, b = tf.cast(a, tf.int32), tf.cast(b, tf.int32)
    if a.dtype.is_integer and not _allows("ONE_HOT"):
        # the converter fuses integers compared with a range into ONE_HOT, which TFLite Micro
        # lacks; as float32 (exact for indices) they stay a comparison
        a, b = tf.cast(a, tf.float32), tf.cast(b, tf.float32)
    return (TF_COMPARE[op.predicate](a, b),)


def _select(op: arith.Select, cond: tf.Tensor, a: tf.Tensor, b: tf.Tensor) -> tuple[tf.Tensor]:
    return (_in_kernel("SELECT_V2", lambda a, b: tf.where(cond, a, b), a, b),)


# the ops the converter fuses MAXIMUM/MINIMUM against constants into
FUSED_CLIPS = ("RELU_N1_TO_1", "RELU_0_TO_1", "RELU6", "HARD_SWISH")


def _clip(op: arith.Clip, x: tf.Tensor) -> tuple[tf.Tensor]:
    if not all(_allows(fused) for fused in FUSED_CLIPS):
        # the runtime lacks an op the converter would fuse the bounds into (TFLite Micro):
        # comparisons and selects, NaN passing through as numpy's clip gives it
        if op.min > -math.inf:
            x = tf.where(x < op.min, tf.constant(op.min, x.dtype), x)
        if op.max < math.inf:
            x = tf.where(x > op.max, tf.constant(op.max, x.dtype), x)
        return (x,)
    # an infinite bound emits nothing rather than a MAXIMUM/MINIMUM against inf
    if op.min > -math.inf:
        x = tf.math.maximum(x, tf.constant(op.min, x.dtype))
    if op.max < math.inf:
        x = tf.math.minimum(x, tf.constant(op.max, x.dtype))
    return (x,)


def _cast(op: arith.Cast, x: tf.Tensor) -> tuple[tf.Tensor]:
    return (tf.cast(x, tf_dtype(op.to)),)


def _constant_op(op: tensor.Constant) -> tuple[tf.Tensor]:
    return (_constant(op.value),)


def _concat(op: tensor.Concat, *xs: tf.Tensor) -> tuple[tf.Tensor]:
    return (_joined(list(xs), op.axis),)


def _joined(xs: list[tf.Tensor], axis: int) -> tf.Tensor:
    # at most the profile's operands per CONCATENATION (TFLite Micro takes 10): groups, then theirs
    most = _PROFILE.get().max_concat
    while most is not None and len(xs) > most:
        xs = [group[0] if len(group) == 1 else tf.concat(group, axis=axis)
              for group in (xs[i:i + most] for i in range(0, len(xs), most))]
    return tf.concat(xs, axis=axis)


def _in_kernel(operator: str, read: Callable[..., tf.Tensor], *data: tf.Tensor) -> tf.Tensor:
    """``read(*data)`` by the builtin ``operator``, through float32 copies of ``data`` and back when
    the profile's kernel for it takes no such dtype (TFLite Micro's GATHER, SELECT_V2 and
    reductions take no int32 or bool): exact for the integers and bools they hold, which a
    constant is checked for."""
    dtype = data[0].dtype
    if dtype == tf.string or _PROFILE.get().takes(operator, DType.of_numpy(dtype.as_numpy_dtype)):
        return read(*data)
    for values in map(tf.get_static_value, data):
        if values is not None and values.size and np.abs(values.astype(np.float64)).max() > FLOAT32_EXACT_INTEGERS:
            raise BackendError(f"{dtype.name} values beyond 2^24 cannot go through {operator} exactly under "
                               f"{_PROFILE.get().runtime}, whose kernel takes float32 only")
    out = read(*map(_as_float32, data))
    return tf.math.not_equal(out, 0.0) if dtype == tf.bool else tf.cast(out, dtype)


def _as_float32(data: tf.Tensor) -> tf.Tensor:
    """``data`` cast to float32; when it is not a constant, through a MAXIMUM with float32's lowest
    value (the identity here), which the converter cannot see through: it moves a plain cast past
    a GATHER, a pure movement, and so gives back the int32 GATHER the kernel lacks."""
    cast = tf.cast(data, tf.float32)
    if tf.get_static_value(data) is not None:
        return cast
    return tf.maximum(cast, float(np.finfo(np.float32).min))


def _gather(op: tensor.Gather, x: tf.Tensor, idx: tf.Tensor) -> tuple[tf.Tensor]:
    return (_gather_along(x, idx, op.axis % x.shape.rank),)


def _gather_along(x: tf.Tensor, idx: tf.Tensor, axis: int) -> tf.Tensor:
    """``numpy.take(x, idx, axis)`` for a non-negative ``axis``, in the cheapest builtin form."""
    run = _constant_run(idx, x.shape[axis])
    if run is not None:
        # a constant run of indices is a SLICE: one block copy per outer index where GATHER pays
        # for every element (about 3 ns each under LiteRT), as when a tree walk sets aside the
        # trees that reached their leaves, or a column selection reads adjacent columns
        begin = [0] * x.shape.rank
        size = [-1] * x.shape.rank
        begin[axis], size[axis] = run
        return tf.slice(x, begin, size)
    return _in_kernel("GATHER", lambda table: _gathered(table, idx, axis), x)


def _gathered(x: tf.Tensor, idx: tf.Tensor, axis: int) -> tf.Tensor:
    """``tf.gather(x, idx, axis)``; along an inner axis with a vector of indices, over ``x`` moved
    axis first and back. LiteRT's GATHER copies one slice per index and outer position: along
    axis 1 of ``[N, F]`` that is ``N x len(idx)`` single elements (about 3.5 ns each), against
    ``len(idx)`` rows of N after a transpose (1024 x 300 columns: 0.98 ms against 0.16 ms; the
    same at one row). Oblivious trees read their columns this way, as do column selections. Only
    where the indices number at least a quarter of the axis; not for a single row, nor where the
    runtime's builtins are restricted (TFLite Micro's TRANSPOSE takes fewer dtypes than its GATHER)."""
    profile = _PROFILE.get()
    width = x.shape[axis]
    if axis == 0 or idx.shape.rank != 1 or profile.batch == 1 or profile.ops is not None \
            or width is None or 4 * (idx.shape[0] or 0) < width:
        # rows already, a single row, Micro, or a few columns of a wide input (whose transposes
        # would copy far more than they save)
        return tf.gather(x, idx, axis=axis)
    perm = [axis] + [d for d in range(x.shape.rank) if d != axis]
    moved = tf.gather(tf.transpose(x, perm), idx, axis=0)
    return tf.transpose(moved, [perm.index(d) for d in range(x.shape.rank)])


def _constant_run(idx: tf.Tensor, length: int | None) -> tuple[int, int] | None:
    """``(start, count)`` when ``idx`` is the constant vector ``start, start + 1, ...`` within an
    axis of static ``length``; else None."""
    values = tf.get_static_value(idx)
    if values is None or values.ndim != 1 or not values.size or length is None:
        return None
    start = int(values[0])
    if start < 0 or start + values.size > length or not np.array_equal(values, np.arange(start, start + values.size)):
        return None
    return start, int(values.size)


def _take_along_axis(op: tensor.TakeAlongAxis, x: tf.Tensor, idx: tf.Tensor) -> tuple[tf.Tensor]:
    # GATHER with batch_dims = rank - 1 gathers along the last axis row by row; move the axis
    # there and back, and broadcast size-1 index dimensions the way numpy does
    rank = x.shape.rank
    axis = op.axis % rank
    values = tf.get_static_value(idx)
    if values is not None and all(n == 1 for d, n in enumerate(values.shape) if d != axis):
        # the same indices for every row (a walk's first level, one column per tree): a gather
        # of columns, which copies blocks rather than elements
        return (_gather_along(x, tf.constant(values.reshape(-1)), axis),)
    perm = [d for d in range(rank) if d != axis] + [axis]
    moved = axis != rank - 1
    if moved:
        x, idx = tf.transpose(x, perm), tf.transpose(idx, perm)
    if idx.shape[:-1].as_list() != x.shape[:-1].as_list():
        idx = tf.broadcast_to(idx, tf.concat([tf.shape(x)[:-1], tf.shape(idx)[-1:]], axis=0))
    out = _in_kernel("GATHER", lambda table: tf.gather(table, idx, axis=rank - 1, batch_dims=rank - 1), x)
    if moved:
        out = tf.transpose(out, [perm.index(d) for d in range(rank)])
    return (out,)


def _squeeze(op: tensor.Squeeze, x: tf.Tensor) -> tuple[tf.Tensor]:
    return (tf.squeeze(x, axis=[op.axis]),)


def _expand_dims(op: tensor.ExpandDims, x: tf.Tensor) -> tuple[tf.Tensor]:
    return (tf.expand_dims(x, op.axis),)


def _label_lookup(op: tensor.LabelLookup, idx: tf.Tensor) -> tuple[tf.Tensor]:
    return (_in_kernel("GATHER", lambda table: tf.gather(table, idx), _constant(op.classes)),)


def _matmul(op: linalg.MatMul, a: tf.Tensor, b: tf.Tensor) -> tuple[tf.Tensor]:
    # with a constant right operand the converter emits FULLY_CONNECTED, which XNNPACK runs
    return (tf.linalg.matmul(a, b),)


def _softmax(op: linalg.Softmax, x: tf.Tensor) -> tuple[tf.Tensor]:
    return (tf.nn.softmax(x, axis=op.axis),)


def _argmax(op: linalg.ArgMax, x: tf.Tensor) -> tuple[tf.Tensor]:
    return (tf.math.argmax(x, axis=op.axis, output_type=tf_dtype(DType.i64)),)


def _top_k(op: linalg.TopK, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    # TOPK_V2 selects the largest, equal values lower index first; the smallest are the largest
    # of the negation (exact), with the same tie order
    select = tf.math.top_k if _allows("TOPK_V2") else _top_k_by_rounds
    values, indices = select(x if op.largest else -x, k=op.k, sorted=True)
    return (values if op.largest else -values), tf.cast(indices, tf_dtype(DType.i64))


def _top_k_by_rounds(x: tf.Tensor, k: int, sorted: bool = True) -> tuple[tf.Tensor, tf.Tensor]:
    """TOPK_V2's answer without its kernel (TFLite Micro): ``k`` rounds, each taking the first
    untaken position holding the largest untaken value (TOPK's order: equal values lower index
    first). Taken positions are tracked by a mask, so a value of -inf or the lowest float is
    never taken twice; when only such values remain, the first untaken one is next."""
    width = x.shape[-1] if x.shape[-1] is not None else tf.shape(x)[-1]
    positions = tf.cast(tf.range(width), tf.float32)
    lowest = tf.constant(np.finfo(np.float32).min, x.dtype)
    beyond = tf.constant(np.float32(2**24), tf.float32)
    taken = tf.zeros_like(x, dtype=tf.bool)
    values, indices = [], []
    for _ in range(k):
        best = tf.math.reduce_max(tf.where(taken, lowest, x), axis=-1, keepdims=True)
        candidate = tf.math.logical_and(tf.math.logical_not(taken),
                                        tf.math.logical_or(x >= best, best <= lowest))
        first = tf.math.reduce_min(tf.where(candidate, positions, beyond), axis=-1)
        chosen = tf.math.equal(positions, tf.expand_dims(first, -1))
        index = tf.cast(first, tf_dtype(DType.i64))
        values.append(tf.gather(x, tf.expand_dims(index, -1), batch_dims=x.shape.rank - 1)[..., 0])
        indices.append(index)
        taken = tf.math.logical_or(taken, chosen)
    return tf.stack(values, axis=-1), tf.stack(indices, axis=-1)


# reduction -> the TFLite builtin that computes it
REDUCE_BUILTINS = {"sum": "SUM", "max": "REDUCE_MAX", "min": "REDUCE_MIN", "mean": "MEAN"}

# reductions whose TFLite kernels skip NaN where numpy's return it
NAN_SKIPPING_REDUCTIONS = frozenset({"max", "min"})


def _reduce(op: linalg.Reduce, x: tf.Tensor) -> tuple[tf.Tensor]:
    out = _in_kernel(REDUCE_BUILTINS[op.kind], lambda x: TF_REDUCE[op.kind](x, axis=op.axis, keepdims=op.keepdims), x)
    if op.kind in NAN_SKIPPING_REDUCTIONS and x.dtype.is_floating:
        # sum(where(isnan(x), nan, 0)) is NaN if any element is, else exactly 0
        nan_or_zero = tf.where(tf.math.is_nan(x), tf.constant(np.nan, x.dtype), tf.constant(0, x.dtype))
        out = out + tf.math.reduce_sum(nan_or_zero, axis=op.axis, keepdims=op.keepdims)
    return (out,)


# op class -> emitter; a test asserts every registered op has one
EMITTERS: dict[type[Op], Emitter] = {
    **{arith.UNARY_OPS[name]: _elementwise(TF_UNARY[name]) for name in arith.UNARY if name in TF_UNARY},
    **{arith.BINARY_OPS[name]: _elementwise(TF_BINARY[name]) for name in arith.BINARY if name in TF_BINARY},
    arith.Compare: _compare,
    arith.Select: _select,
    arith.Clip: _clip,
    arith.Cast: _cast,
    tensor.Constant: _constant_op,
    tensor.Concat: _concat,
    tensor.Gather: _gather,
    tensor.TakeAlongAxis: _take_along_axis,
    tensor.Squeeze: _squeeze,
    tensor.ExpandDims: _expand_dims,
    tensor.LabelLookup: _label_lookup,
    linalg.MatMul: _matmul,
    linalg.Softmax: _softmax,
    linalg.ArgMax: _argmax,
    linalg.TopK: _top_k,
    linalg.Reduce: _reduce,
}


# ---- tracing the module into a tf.function ----

def _where(index: int, node: Node) -> str:
    line = f", line {node.loc[0]}" if node.loc else ""
    types = ", ".join(str(r.type) for r in node.results)
    return f"op {node.op.name} -> {types} (node {index}{line})"


# every IR node is traced under the name scope SCOPE_PREFIX + its index + "_" + its op's name
SCOPE_PREFIX = "sklir"


def _scope(index: int, node: Node) -> str:
    # the converter reports failing TF ops under this name scope, and names the tensors of the
    # flatbuffer after it: both map back to IR nodes
    return f"{SCOPE_PREFIX}{index}_{node.op.name}"


def _check_types(module: Module) -> None:
    for v in module.inputs:
        if v.type.dtype is DType.f64:
            _refuse_f64(f"input %{v.name}")
    for i, node in enumerate(module.nodes):
        for r in node.results:
            if r.type.dtype is DType.f64:
                _refuse_f64(_where(i, node))


def _refuse_f64(where: str) -> None:
    raise BackendError(f"tflite backend needs f32 values, but {where} is f64 "
                       "(lower the module with sklir.backends.prepare first)")


def _emit_node(index: int, node: Node, operands: list[tf.Tensor]) -> tuple[tf.Tensor, ...]:
    emitter = EMITTERS.get(type(node.op))
    if emitter is None:
        raise BackendError(f"tflite backend has no emitter for {_where(index, node)}")
    with tf.name_scope(_scope(index, node)):
        try:
            results = tuple(emitter(node.op, *operands))
        except BackendError as err:
            raise BackendError(f"{_where(index, node)}: {err}") from err
        except Exception as err:  # anything TF raises while tracing becomes one line that names the IR op
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise BackendError(f"cannot emit {_where(index, node)} for TFLite: {type(err).__name__}: {first}") from err
    if len(results) != len(node.results):
        raise BackendError(f"emitter for {_where(index, node)} produced {len(results)} result(s)")
    for value, result in zip(node.results, results, strict=True):
        if result.dtype != tf_dtype(value.type.dtype):
            raise BackendError(f"emitter for {_where(index, node)} produced {result.dtype.name}")
    return results


def _graph(module: Module, inputs: list[tf.Tensor]) -> dict[str, tf.Tensor]:
    env = dict(zip(module.inputs, inputs, strict=True))
    for index, node in enumerate(module.nodes):
        env.update(zip(node.results, _emit_node(index, node, [env[v] for v in node.operands]), strict=True))
    # identity keeps an output that is also an input (or another output) a tensor of its own
    return {name: tf.identity(env[v]) for name, v in module.outputs.items()}


def trace(module: Module, profile: Profile = DEFAULT) -> tuple[tf.Module, Any]:
    """The module as a ``tf.Module`` holding a ``tf.function``, and that function's concrete trace.

    The signature takes one tensor per module input, named after it, with the profile's batch
    (dynamic when it has none), and returns a dict keyed by the module's output names. IR
    integers are traced as the profile emits them, each op in a form its runtime has.
    """
    _check_types(module)
    batch = profile.batch
    specs = [tf.TensorSpec([batch if d is N else d for d in v.type.shape], tf_dtype(v.type.dtype), name=v.name)
             for v in module.inputs]

    def serve(*inputs: tf.Tensor) -> dict[str, tf.Tensor]:
        token = _PROFILE.set(profile)
        try:
            return _graph(module, list(inputs))
        finally:
            _PROFILE.reset(token)

    holder = tf.Module()
    holder.serve = tf.function(serve, input_signature=specs, autograph=False)
    return holder, holder.serve.get_concrete_function()


# ---- .tflite ----

def _unsupported_ops_message(err: ConverterError, module: Module) -> str:
    scopes = {_scope(i, node): _where(i, node) for i, node in enumerate(module.nodes)}
    found = []
    for data in err.errors:
        op = data.operator.name.removeprefix("tf.")
        if not op:
            continue
        names = [call.name for call in data.location.call if call.name]
        scope = names[0].split("/")[0] if names else ""
        found.append(f"{op} (from {scopes[scope]})" if scope in scopes else op)
    if found:
        return ("TFLite has no builtin kernel for TF op(s) " + "; ".join(sorted(set(found)))
                + " (sklir never falls back to Flex or custom ops)")
    lines = [line for line in str(err).splitlines() if "error:" in line] or str(err).splitlines() or ["?"]
    return "TFLite conversion failed: " + lines[0].split("error:", 1)[-1].strip()


def emit_tflite(module: Module, profile: Profile = DEFAULT) -> bytes:
    """The ``.tflite`` flatbuffer for an f32 module: builtin ops only, ``serving_default`` signature,
    the profile's batch and index dtype; only the profile's ops, and static shapes when it fixes
    the batch.

    Raises BackendError (one line) for an f64 value, an op that cannot be emitted, a TF op with
    no TFLite builtin kernel, or an op the profile's runtime lacks (naming the IR node).
    """
    _check_input_names(module)
    holder, concrete = trace(module, profile)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], holder)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        with silenced_native_output():
            data = converter.convert()
    except ConverterError as err:
        raise BackendError(_unsupported_ops_message(err, module)) from None
    custom = [name for name in operator_names(data) if name.startswith("CUSTOM")]
    if custom:
        raise BackendError(f"TFLite conversion produced non-builtin ops {', '.join(custom)}")
    data = respell_operators(data, [op for op in operator_names(data) if not profile.allows(op)])
    if profile.quantize is not None:
        data = quantize_weights(data, profile.quantize, _calibration(module, profile), profile.float16)
    _check_profile(data, module, profile)
    return finish_tflite(data, module, profile)


def _check_input_names(module: Module) -> None:
    """Refuse inputs whose names TensorFlow would make one (it writes ``.`` as ``_``): the
    ``.tflite`` would lose its signature."""
    seen: dict[str, str] = {}
    for value in module.inputs:
        name = str(value.name)
        other = seen.setdefault(name.replace(".", "_"), name)
        if other != name:
            raise BackendError(f"inputs '{other}' and '{name}' would share one name in a .tflite signature "
                               "(TensorFlow writes '.' as '_'): rename one")


def _calibration(module: Module, profile: Profile) -> Calibrate | None:
    """How the quantisation measures activations: on the profile's representative rows under
    LiteRT (None without rows)."""
    rows = profile.representative
    if rows is None:
        return None
    from sklir.runtimes.litert import tensor_ranges

    names = [str(value.name) for value in module.inputs]  # the traced inputs, in the graph's order
    return lambda data, tensors: tensor_ranges(data, rows, names, tensors)


_SCOPE = re.compile(re.escape(SCOPE_PREFIX) + r"(\d+)_")


def _check_profile(data: bytes, module: Module, profile: Profile) -> None:
    """Refuse a flatbuffer with an op the profile's runtime lacks (naming the IR node each came
    from, by the name scope in its output tensor's name), or with a dynamic shape under a fixed batch."""
    where: dict[str, str] = {}
    for op, names in operator_outputs(data):
        found = next((m for m in map(_SCOPE.search, names) if m), None)
        if found is not None and op not in where:
            index = int(found.group(1))
            where[op] = _where(index, module.nodes[index])
    try:
        profile.check_operators(operator_names(data), where)
    except SklirError as err:
        raise BackendError(str(err)) from None
    if profile.batch is not None:
        dynamic = dynamic_tensors(data)
        if dynamic:
            raise BackendError(f"{profile.runtime} needs static shapes, and the converter left tensor(s) "
                               f"{', '.join(dynamic[:3])} dynamic")


# the associated file that holds the class labels, one per line
LABELS_FILE = "labels.txt"


def finish_tflite(data: bytes, module: Module, profile: Profile = DEFAULT) -> bytes:
    """The converter's flatbuffer made self-explanatory: signature tensors named after the module's
    inputs and outputs and in its order, sklir's metadata JSON (with the profile), and TFLite's
    standard model metadata (descriptions, and the class labels as an associated label file)."""
    about = descriptions(module)
    data = name_and_order_io(data, [v.name or "x" for v in module.inputs], list(module.outputs))
    data = add_metadata_entries(data, {METADATA_NAME: metadata_json(module, profile).encode()})
    standard = standard_metadata(
        module.attributes.get("source", module.name), about.model, __version__, "sklir", list(about.inputs.items()),
        [(name, text, LABELS_FILE if name in about.labelled_outputs else None) for name, text in about.outputs.items()])
    files = {LABELS_FILE: about.labels.encode()} if about.labelled_outputs and about.labels else {}
    return attach_standard_metadata(data, standard, files)


# ---- SavedModel ----

def emit_savedmodel(module: Module, directory: Path, profile: Profile = DEFAULT) -> None:
    """Write a SavedModel into ``directory`` with the same ``serving_default`` signature as the ``.tflite``.

    The metadata JSON is written beside it, in ``assets.extra/sklir.json``, with the list of the
    files written (see :func:`sklir.backends.seal_directory`).
    """
    holder, concrete = trace(module, profile)
    directory = Path(directory)
    with silenced_native_output():
        tf.saved_model.save(holder, str(directory), signatures={SIGNATURE: concrete})
    seal_directory(directory, module, profile)


def call_savedmodel(loaded: Any, X: Batch) -> dict[str, np.ndarray]:
    """Call a loaded SavedModel's ``serving_default`` by keyword, as TF Serving does; strings as ``str``."""
    signature = loaded.signatures[SIGNATURE]
    # a loaded signature keeps its inputs by name, in an order that varies: sorted, they are stable
    _, specs = signature.structured_input_signature
    feed = {}
    for name, arr in named_batch(X, sorted(specs)).items():
        spec = specs[name]
        check_width(spec.shape[-1], arr, name if len(specs) > 1 else None)
        feed[name] = as_input(arr, np.dtype(object) if spec.dtype == tf.string else
                              np.dtype(spec.dtype.as_numpy_dtype), name)
    first = specs[sorted(specs)[0]].shape[0]

    def call(part: dict[str, Any]) -> dict[str, np.ndarray]:
        tensors = {name: tf.constant(arr, dtype=specs[name].dtype) for name, arr in part.items()}
        return {key: decode_strings(value.numpy()) for key, value in signature(**tensors).items()}

    # an artefact emitted with a fixed batch takes exactly that many rows per call
    return call(feed) if first is None else in_fixed_batches(call, first, feed)


# resolved directory -> (modification time of saved_model.pb, loaded SavedModel)
_LOADED_SAVEDMODELS: dict[Path, tuple[float, Any]] = {}


def run_savedmodel(artefact: bytes | Path, X: Batch) -> dict[str, np.ndarray]:
    """Run the SavedModel directory ``artefact`` on ``X`` (loaded once per directory and version)."""
    if not isinstance(artefact, (str, Path)):
        raise BackendError("a SavedModel is a directory: give its path")
    directory = Path(artefact).resolve()
    graph = directory / "saved_model.pb"
    if not graph.is_file():
        raise BackendError(f"{artefact}: not a SavedModel directory (no saved_model.pb)")
    stamp = graph.stat().st_mtime
    cached = _LOADED_SAVEDMODELS.get(directory)
    if cached is None or cached[0] != stamp:
        try:
            with silenced_native_output():
                loaded = tf.saved_model.load(str(directory))
        # TensorFlow raises protobuf DecodeError, OSError, ValueError, KeyError and its own errors
        # for a damaged directory: all mean "not a SavedModel TensorFlow can load"
        except Exception as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise BackendError(f"TensorFlow cannot load this SavedModel ({type(err).__name__}: {first})") from None
        if SIGNATURE not in loaded.signatures:
            raise BackendError(f"this SavedModel has no '{SIGNATURE}' signature")
        cached = _LOADED_SAVEDMODELS[directory] = (stamp, loaded)
    return call_savedmodel(cached[1], X)

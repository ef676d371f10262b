"""Lowering strategies for ``tree_ensemble``: each turns the op into core ops, bit for bit on its
decisions, and the ``lower-trees`` pass picks one per ensemble (:mod:`sklir.passes.lower_trees`).

A strategy is ``fn(b, op, x) -> (leaves, scores)``: it appends core ops to ``b`` computing the
op's two results from its operand ``x``. The pieces every strategy shares live here: reading a
node table at per-row positions, the decision at a node, and the weighted sum of leaf values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from sklir.ir.builder import Builder
from sklir.ir.core import Tensor, Value
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.ir.types import DType

Strategy = Callable[[Builder, TreeEnsemble, Value], tuple[Value, Value]]


def threshold_table(b: Builder, op: TreeEnsemble, thresholds: np.ndarray) -> Value:
    """A table of thresholds as :func:`as_compared` gives them."""
    return b.const(as_compared(thresholds), op.threshold.dtype)


def as_compared(thresholds: np.ndarray) -> np.ndarray:
    """Thresholds as the lowered comparisons hold them: +inf as :data:`LARGEST` (TFLite cannot
    store an infinite constant); :func:`bounded_input` keeps the decisions of an input of +inf."""
    return np.where(np.isposinf(thresholds), LARGEST, thresholds)


def compared(b: Builder, x: Value, bound: Value) -> tuple[Value, Value]:
    """``x`` and ``bound`` in one dtype for a comparison: an f32 ``x`` against f64 thresholds is
    widened (exactly), so the comparison is scikit-learn's ``float32(x) <= float64(t)``; after
    ``to-f32`` the widening disappears and the thresholds, bounds of that comparison, are rounded
    down, which keeps every decision."""
    if x.type.dtype is not bound.type.dtype:
        x = b.call("cast", x, to=bound.type.dtype)
    return x, bound


def goes_left(b: Builder, value: Value, threshold: Value) -> Value:
    """``value <= threshold``: false for NaN, so NaN goes right unless :func:`decisive_input`
    has replaced it (where a node sends it left)."""
    value, threshold = compared(b, value, threshold)
    return b.call("compare", value, threshold, predicate="le")


def decisive_input(b: Builder, op: TreeEnsemble, x: Value) -> tuple[Value, np.ndarray]:
    """``x`` made to route missing values by the comparison alone, and each node's column in it.

    ``x <= t`` is false for NaN: a node sending NaN right needs nothing. A node sending it left
    reads a copy of its column in which NaN stands as :data:`LOWEST`, below every threshold: the
    copy replaces ``x`` when every internal node sends NaN left, and is appended to it (those
    nodes reading columns ``width + f``) when only some do. No per-level work remains for NaN.
    """
    internal = op.internal
    feature = op.feature.array.copy()
    sends_left = internal & op.missing_left.array
    if not sends_left.any():
        return x, feature
    filled = b.call("select", b.call("isnan", x), b.const(np.array(LOWEST), x.type.dtype), x)
    if np.array_equal(sends_left, internal):
        return filled, feature
    width = x.type.shape[1]
    assert isinstance(width, int)
    feature[sends_left] += width
    return b.call("concat", x, filled, axis=1), feature


def narrow(b: Builder, table: np.ndarray, index: DType) -> Value:
    """An integer table in the narrowest storage its entries allow (i8, i16), else as ``index``."""
    for dtype in (DType.i8, DType.i16):
        limits = np.iinfo(dtype.numpy)
        if table.size == 0 or (table.min() >= limits.min and table.max() <= limits.max):
            return b.const(table, dtype)
    return b.const(table, index)


def widened(b: Builder, value: Value, index: DType) -> Value:
    """``value`` read from a :func:`narrow` table, as ``index`` for the arithmetic that follows."""
    return value if value.type.dtype is index else b.call("cast", value, to=index)


def per_row(b: Builder, x: Value, value: Value) -> Value:
    """``value`` (``[1, k]`` or already ``[N, k]``) as ``[N, k]``: one row per row of ``x``.

    ``select`` broadcasts its operands against a per-row condition; both branches are ``value``.
    """
    if value.type.shape[0] == x.type.shape[0]:
        return value
    first = b.call("take_along_axis", x, b.const(np.zeros((1, 1), np.int64), DType.i64), axis=1)
    return b.call("select", b.call("isnan", first), value, value)


# scikit-learn's +inf threshold ("missing or not": every number goes left) stands as float32's
# largest value, which TFLite can store; an input of +inf is pulled down to it first
LARGEST = float(np.finfo(np.float32).max)
# where a node sends NaN left, NaN stands as float32's lowest value, not above any threshold
LOWEST = -LARGEST


def bounded_input(b: Builder, op: TreeEnsemble, x: Value) -> Value:
    """``x`` with +inf replaced by :data:`LARGEST` where some threshold is +inf (NaN kept), so
    that ``x <= threshold`` holds for +inf as it does against the infinite threshold."""
    if not np.any(np.isposinf(op.threshold.array)):
        return x
    largest = b.const(np.array(LARGEST), x.type.dtype)
    return b.call("select", b.call("compare", x, largest, predicate="gt"), largest, x)


def scores_of(b: Builder, op: TreeEnsemble, leaf_values: Value) -> Value:
    """``base + sum_t weights[t] * leaf_values[:, t, :]`` for ``leaf_values: [N, trees, outputs]``."""
    dtype = op.values.dtype
    weights = op.weights.array
    if np.all(weights == 1.0):  # a forest's plain sum: no product over [N, trees, outputs]
        weighted = leaf_values
    else:
        weighted = b.call("mul", leaf_values, b.const(weights.reshape(-1, 1), dtype))
    total = b.call("reduce", weighted, kind="sum", axis=1, keepdims=False)
    if not np.any(op.base.array):
        return total
    return b.call("add", total, b.const(op.base.array, dtype))


def numeric_splits(b: Builder, op: TreeEnsemble, x: Value) -> tuple[TreeEnsemble, Value]:
    """``op`` with its categorical nodes made numeric, and the operand they then read.

    Categorical node ``j`` reads a column of its own appended to ``x``: 0 where the row goes left,
    1 where it goes right, looked up from the node's row of ``category_left`` at the row's code
    (one gather for all such nodes), and the node's missing-value side where the value is not a
    code. The node becomes ``column <= 0.5``, so every strategy lowers it as any other node.
    """
    count, width = op.category_left.shape
    if not count:
        return op, x
    nodes = op.categorical.array
    dtype = x.type.dtype
    value = b.call("gather", x, b.const(op.feature.array[nodes], DType.i64), axis=1)  # [N, M]
    is_code = b.call("logical_and", b.call("compare", value, b.const(np.zeros(()), dtype), predicate="ge"),
                     b.call("compare", value, b.const(np.full((), width - 1.0), dtype), predicate="le"))
    within = b.call("select", is_code, value, b.const(np.zeros(()), dtype))  # NaN fails both bounds
    code = b.call("cast", within, to=DType.i32)
    is_code = b.call("logical_and", is_code,
                     b.call("compare", b.call("cast", code, to=dtype), within, predicate="eq"))
    sides = b.const((~op.category_left.array).astype(np.float64).ravel(), dtype)  # 0 left, 1 right
    offsets = b.const((np.arange(count) * width).reshape(1, -1), DType.i32)
    looked_up = b.call("gather", sides, b.call("add", code, offsets), axis=0)
    missing = b.const((~op.missing_left.array[nodes]).astype(np.float64).reshape(1, -1), dtype)
    columns = b.call("select", is_code, looked_up, missing)
    n_columns = x.type.shape[1]
    assert isinstance(n_columns, int)
    feature, threshold, missing_left = op.feature.array.copy(), op.threshold.array.copy(), op.missing_left.array.copy()
    feature[nodes] = n_columns + np.arange(count)
    threshold[nodes] = 0.5
    missing_left[nodes] = False  # the looked-up columns are never NaN: no copy for NaN needed
    numeric = dataclasses.replace(
        op, feature=Tensor(feature, DType.i64), threshold=Tensor(threshold, op.threshold.dtype),
        missing_left=Tensor(missing_left, DType.bool),
        categorical=Tensor(np.zeros(0, np.int64), DType.i64), category_left=Tensor(np.zeros((0, 0), bool), DType.bool))
    return numeric, b.call("concat", x, columns, axis=1)

"""Lowering strategies for ``tree_ensemble``: each turns the op into core ops, bit for bit on its
decisions, and the ``lower-trees`` pass picks one per ensemble (:mod:`sklir.passes.lower_trees`).

A strategy is ``fn(b, op, x) -> (leaves, scores)``: it appends core ops to ``b`` computing the
op's two results from its operand ``x``. The pieces every strategy shares live here: reading a
node table at per-row positions, the decision at a node, and the weighted sum of leaf values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.ir.types import DType

Strategy = Callable[[Builder, TreeEnsemble, Value], tuple[Value, Value]]


def threshold_table(b: Builder, op: TreeEnsemble, thresholds: np.ndarray) -> Value:
    """A table of thresholds with +inf as :data:`LARGEST` (TFLite cannot store an infinite
    constant); :func:`bounded_input` keeps the decisions of an input of +inf."""
    return b.const(np.where(np.isposinf(thresholds), LARGEST, thresholds), op.threshold.dtype)


def compared(b: Builder, x: Value, bound: Value) -> tuple[Value, Value]:
    """``x`` and ``bound`` in one dtype for a comparison: an f32 ``x`` against f64 thresholds is
    widened (exactly), so the comparison is scikit-learn's ``float32(x) <= float64(t)``; after
    ``to-f32`` the widening disappears and the thresholds, bounds of that comparison, are rounded
    down, which keeps every decision."""
    if x.type.dtype is not bound.type.dtype:
        x = b.call("cast", x, to=bound.type.dtype)
    return x, bound


def goes_right(b: Builder, value: Value, threshold: Value, missing_right: Value | None) -> Value:
    """``not (value <= threshold)``, with a missing value going right where ``missing_right``:
    ``value > threshold`` is false for NaN, so a NaN goes left unless its node says otherwise."""
    value, threshold = compared(b, value, threshold)
    right = b.call("compare", value, threshold, predicate="gt")
    if missing_right is None:
        return right
    return b.call("logical_or", right, b.call("logical_and", b.call("isnan", value), missing_right))


def feature_codes(feature: np.ndarray, missing_left: np.ndarray) -> np.ndarray:
    """Each node's feature and missing-value direction in one integer, ``2 * feature + missing
    goes right``: one gather per level reads both (see :func:`split_code`)."""
    return 2 * feature + (~missing_left).astype(np.int64)


def split_code(b: Builder, code: Value) -> tuple[Value, Value]:
    """(feature, missing goes right) from :func:`feature_codes`' integers."""
    feature = b.call("div", code, b.const(np.full((), 2), code.type.dtype))
    return feature, b.call("compare", code, b.call("add", feature, feature), predicate="ne")


def per_row(b: Builder, x: Value, value: Value) -> Value:
    """``value`` (``[1, k]`` or already ``[N, k]``) as ``[N, k]``: one row per row of ``x``.

    ``select`` broadcasts its operands against a per-row condition; both branches are ``value``.
    """
    if value.type.shape[0] == x.type.shape[0]:
        return value
    first = b.call("take_along_axis", x, b.const(np.zeros((1, 1), np.int64), DType.i64), axis=1)
    return b.call("select", b.call("isnan", first), value, value)


def sends_missing_right(op: TreeEnsemble) -> bool:
    """Whether any internal node sends a missing value right: ``x > t`` is false for NaN, so
    without such a node every NaN goes left and needs no handling of its own."""
    return bool(np.any(~op.missing_left.array[op.internal]))


# scikit-learn's +inf threshold ("missing or not": every number goes left) stands as float32's
# largest value, which TFLite can store; an input of +inf is pulled down to it first
LARGEST = float(np.finfo(np.float32).max)


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
    weights = b.const(op.weights.array.reshape(-1, 1), dtype)
    total = b.call("reduce", b.call("mul", leaf_values, weights), kind="sum", axis=1, keepdims=False)
    return b.call("add", total, b.const(op.base.array, dtype))

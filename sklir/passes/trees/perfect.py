"""Perfect-tree traversal: every tree padded to the ensemble's full depth, ``i = 2i + 1 + right``.

Each tree becomes a complete binary tree of depth ``D`` in heap order (node ``i`` has children
``2i + 1`` and ``2i + 2``); a leaf above depth ``D`` is copied into every slot below it, so its
padding nodes may test anything. The position needs no child tables: per level, two gathers (the
feature and the threshold at ``i``), a compare and integer arithmetic. The tables grow as
``trees * 2^D``, so this suits depths up to about 10-12.
"""

from __future__ import annotations

import numpy as np

from sklir.errors import SklirError
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.ir.types import DType
from sklir.passes.trees import (
    feature_codes,
    goes_right,
    per_row,
    scores_of,
    sends_missing_right,
    split_code,
    threshold_table,
)


def padded_tables(op: TreeEnsemble, depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Heap-ordered tables of every tree padded to ``depth``: per internal slot the feature,
    threshold and missing-value direction (``[trees, 2^depth - 1]``), per leaf slot the node of the
    shared table it stands for (``[trees, 2^depth]``)."""
    trees, inner, outer = op.n_trees, 2 ** depth - 1, 2 ** depth
    feature = np.zeros((trees, inner), np.int64)
    threshold = np.zeros((trees, inner), op.threshold.array.dtype)
    missing = np.zeros((trees, inner), bool)
    leaf = np.zeros((trees, outer), np.int64)
    left, right = op.left.array, op.right.array
    for t, root in enumerate(op.roots.array):
        # breadth first, level by level: the node standing in each slot of the level
        level = np.array([root])
        for d in range(depth):
            slots = 2 ** d - 1 + np.arange(2 ** d)
            is_leaf = left[level] == level
            feature[t, slots] = np.where(is_leaf, 0, op.feature.array[level])
            threshold[t, slots] = np.where(is_leaf, 0, op.threshold.array[level])
            missing[t, slots] = np.where(is_leaf, False, op.missing_left.array[level])
            # a leaf's two children are itself: it fills its whole subtree
            level = np.stack([left[level], right[level]], axis=1).ravel()
        leaf[t] = level
    return feature, threshold, missing, leaf


# padded slots (trees x 2^depth) beyond which the tables are refused rather than built
MAX_SLOTS = 1 << 26


def lower(b: Builder, op: TreeEnsemble, x: Value) -> tuple[Value, Value]:
    """The ensemble's leaves and scores by heap-index arithmetic over padded trees."""
    depth = op.depth()
    if op.n_trees * 2 ** depth > MAX_SLOTS:
        raise SklirError(f"lower-trees: padding {op.n_trees} trees to depth {depth} needs {op.n_trees} x 2^{depth} "
                         "slots; use the traversal strategy")
    feature, threshold, missing, leaf = padded_tables(op, depth)
    trees, inner = feature.shape
    # positions count in i32 (every runtime's fast integer type) while the tables allow it
    index = DType.i32 if trees * (inner + 1) < 2 ** 31 else DType.i64
    has_missing = sends_missing_right(op)
    # with missing values, feature and direction share one table: one gather reads both
    codes = feature_codes(feature.ravel(), missing.ravel()) if has_missing else feature.ravel()
    feature_t = b.const(codes, index)
    threshold_t = threshold_table(b, op, threshold.ravel())
    offsets = b.const(np.arange(trees).reshape(1, -1) * inner, index)
    one = b.const(np.ones(()), index)
    position: Value = b.const(np.zeros((1, trees)), index)
    for _ in range(depth):
        slot = b.call("add", position, offsets)
        code = b.call("gather", feature_t, slot, axis=0)
        f, missing_right = split_code(b, code) if has_missing else (code, None)
        value = b.call("take_along_axis", x, f, axis=1)
        right = goes_right(b, value, b.call("gather", threshold_t, slot, axis=0), missing_right)
        step = b.call("add", one, b.call("cast", right, to=index))
        position = b.call("add", b.call("add", position, position), step)
    # leaf slots of tree t: t * 2^depth + (position - (2^depth - 1))
    first = b.const(np.arange(trees).reshape(1, -1) * (inner + 1) - inner, index)
    slot = per_row(b, x, b.call("add", position, first))
    leaves = b.call("gather", b.const(leaf.ravel(), DType.i64), slot, axis=0)
    values = b.const(op.values.array[leaf.ravel()], op.values.dtype)
    return leaves, scores_of(b, op, b.call("gather", values, slot, axis=0))

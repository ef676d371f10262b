"""Tree traversal with child-index tables: one step per level, any depth, no padding.

Every row holds the current node of every tree (``[N, trees]``, node numbers of the shared
table). A step gathers each node's feature, threshold and children and moves to a child; a leaf
is its own child, so a row that reached its leaf stays there. ``depth`` steps reach every leaf.
Cost per level: four gathers (feature, value, threshold, child), a compare and two integer adds
over ``[N, trees]``; memory: the node tables only,
so it suits deep trees (depth 30+) where a padded layout would explode.
"""

from __future__ import annotations

import numpy as np

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


def lower(b: Builder, op: TreeEnsemble, x: Value) -> tuple[Value, Value]:
    """The ensemble's leaves and scores by stepping every tree down ``op.depth()`` levels."""
    nodes = op.feature.shape[0]
    # node numbers count in i32 (every runtime's fast integer type) while the tables allow it
    index = DType.i32 if 2 * nodes < 2 ** 31 else DType.i64
    missing = sends_missing_right(op)
    # with missing values, feature and direction share one table: one gather reads both
    codes = feature_codes(op.feature.array, op.missing_left.array) if missing else op.feature.array
    feature = b.const(codes, index)
    threshold = threshold_table(b, op, op.threshold.array)
    # children interleaved, (left, right) per node: the child of n is children[2n + right]
    children = b.const(np.stack([op.left.array, op.right.array], axis=1).ravel(), index)
    # the first level's node is the same for every row: read it from [1, trees] constants
    node: Value = b.const(op.roots.array.reshape(1, -1), index)
    for _ in range(op.depth()):
        code = b.call("gather", feature, node, axis=0)
        f, missing_right = split_code(b, code) if missing else (code, None)
        value = b.call("take_along_axis", x, f, axis=1)
        right = goes_right(b, value, b.call("gather", threshold, node, axis=0), missing_right)
        slot = b.call("add", b.call("add", node, node), b.call("cast", right, to=index))
        node = b.call("gather", children, slot, axis=0)
    node = per_row(b, x, node)  # a forest of lone leaves never left its roots
    values = b.const(op.values.array, op.values.dtype)
    leaves = node if index is DType.i64 else b.call("cast", node, to=DType.i64)
    return leaves, scores_of(b, op, b.call("gather", values, node, axis=0))

"""Tree traversal with child-index tables: one step per level, any depth, no padding.

Every row holds the current node of every tree (``[N, trees]``, node numbers of the shared
table). A step gathers each node's feature, threshold and children and moves to a child; a leaf
is its own child, so a row that reached its leaf stays there. ``depth`` steps reach every leaf.
Cost per level: four gathers (feature, value, threshold, child), a compare, a cast and two
integer ops over ``[N, trees]``; memory: the node tables only,
so it suits deep trees (depth 30+) where a padded layout would explode.
"""

from __future__ import annotations

import numpy as np

from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.ir.types import DType
from sklir.passes.trees import decisive_input, goes_left, per_row, scores_of, threshold_table


def lower(b: Builder, op: TreeEnsemble, x: Value) -> tuple[Value, Value]:
    """The ensemble's leaves and scores by stepping every tree down ``op.depth()`` levels.

    The walk numbers nodes from 1 (``m = n + 1``; every table starts with one unused entry) and
    interleaves the children, so the child of ``m`` is ``children[2m - left]``: four ops.
    """
    nodes = op.feature.shape[0]
    # node numbers count in i32 (every runtime's fast integer type) while the tables allow it
    index = DType.i32 if 2 * nodes + 2 < 2 ** 31 else DType.i64
    x, feature_of = decisive_input(b, op, x)
    feature = b.const(np.concatenate([[0], feature_of]), index)
    threshold = threshold_table(b, op, np.concatenate([[0.0], op.threshold.array]))
    # children1[2m - 1] = left child, children1[2m] = right child, both numbered from 1
    children = b.const(np.concatenate([[0], np.stack([op.left.array, op.right.array], axis=1).ravel() + 1]), index)
    # the first level's node is the same for every row: read it from [1, trees] constants
    node: Value = b.const(op.roots.array.reshape(1, -1) + 1, index)
    for _ in range(op.depth()):
        value = b.call("take_along_axis", x, b.call("gather", feature, node, axis=0), axis=1)
        left = goes_left(b, value, b.call("gather", threshold, node, axis=0))
        slot = b.call("sub", b.call("add", node, node), b.call("cast", left, to=index))
        node = b.call("gather", children, slot, axis=0)
    node = b.call("sub", per_row(b, x, node), b.const(np.ones(()), index))  # a forest of lone leaves never moved
    values = b.const(op.values.array, op.values.dtype)
    leaves = node if index is DType.i64 else b.call("cast", node, to=DType.i64)
    return leaves, scores_of(b, op, b.call("gather", values, node, axis=0))

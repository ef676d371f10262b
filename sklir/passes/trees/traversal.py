"""Tree traversal with child-index tables: one step per level, any depth, no padding.

Every row holds the current node of every tree (``[N, trees]``, node numbers of the shared
table). A step gathers each node's feature, threshold and children and moves to a child; a leaf
is its own child, so a row that reached its leaf stays there. ``depth`` steps reach every leaf.
Cost per level: five gathers, a compare and a select over ``[N, trees]``; memory: the node tables only,
so it suits deep trees (depth 30+) where a padded layout would explode.
"""

from __future__ import annotations

from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.ir.types import DType
from sklir.passes.trees import goes_right, needs_missing, per_row, scores_of, table, threshold_table


def lower(b: Builder, op: TreeEnsemble, x: Value) -> tuple[Value, Value]:
    """The ensemble's leaves and scores by stepping every tree down ``op.depth()`` levels."""
    feature = table(b, op.feature.array, DType.i64)
    threshold = threshold_table(b, op, op.threshold.array)
    left, right_child = table(b, op.left.array, DType.i64), table(b, op.right.array, DType.i64)
    missing = table(b, op.missing_left.array, DType.bool) if needs_missing(op) else None
    # the first level's node is the same for every row: read it from [1, trees] constants
    node: Value = b.const(op.roots.array.reshape(1, -1), DType.i64)
    for _ in range(op.depth()):
        f = b.call("gather", feature, node, axis=0)
        value = b.call("take_along_axis", x, f, axis=1)
        right = goes_right(b, op, value, b.call("gather", threshold, node, axis=0),
                           None if missing is None else b.call("gather", missing, node, axis=0))
        node = b.call("select", right, b.call("gather", right_child, node, axis=0),
                      b.call("gather", left, node, axis=0))
    node = per_row(b, x, node)  # a forest of lone leaves never left its roots
    values = table(b, op.values.array, op.values.dtype)
    return node, scores_of(b, op, b.call("gather", values, node, axis=0))

"""Tree traversal with child-index tables: one step per level, any depth, no padding.

Every row holds the current node of every tree (``[N, trees]``, rows of the walk's tables). A step
gathers each node's feature, threshold and children and moves to a child; a leaf is its own
child, so a row that reached its leaf stays there. ``depth`` steps reach every leaf. Cost per
level: four gathers (feature, value, threshold, child), a compare, a cast and two integer ops over
``[N, trees]``, plus a widening cast per narrow table; memory: the tables only, so it suits deep
trees (depth 30+) where a padded layout would explode.

The tables hold the internal nodes and, after them, one row per *kind* of leaf: for the scores,
one row per distinct leaf value (a forest's leaves repeat a few class distributions or targets
thousands of times: the RandomForest benchmark's 18,863 leaves hold 1,380 distinct values); for
the leaf numbers, one row per leaf. Two walks when both results are used; the cleanups drop the
one nobody reads.

Trees of different depths (leaf-wise boosting, unlimited forests) are walked deepest first: the
columns of trees that have reached their leaves are set aside (a slice) when that saves enough
steps, and later levels step only the deeper ones, so the work comes close to the sum of the
trees' depths rather than ``trees x depth`` (a LightGBM model of 500 trees, 31 leaves each: depths
3 to 19, 58% of the steps).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from sklir.ir.builder import Builder
from sklir.ir.core import Tensor, Value
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.ir.types import DType
from sklir.passes.trees import decisive_input, goes_left, narrow, per_row, scores_of, threshold_table, widened


@dataclass(frozen=True)
class Walk:
    """The tables of one walk, rows numbered from 1 (row 0 unused, so that the children of row
    ``m`` are ``children[2m - 1]`` (left) and ``children[2m]`` (right)): the internal nodes in table
    order, then the leaf rows, each its own child. ``kinds[k]`` is the leaf row a leaf node ``k``
    (in node order) belongs to, counted from the first leaf row."""

    feature: np.ndarray
    threshold: np.ndarray
    children: np.ndarray
    roots: np.ndarray
    first_leaf: int

    @staticmethod
    def of(op: TreeEnsemble, feature_of: np.ndarray, kinds: np.ndarray) -> Walk:
        internal = op.internal
        count = int(internal.sum())
        rows = np.empty(op.feature.shape[0], np.int64)
        rows[internal] = np.arange(1, count + 1)
        rows[~internal] = count + 1 + kinds
        leaf_rows = count + 1 + np.arange(int(kinds.max(initial=-1)) + 1)
        left = np.concatenate([rows[op.left.array[internal]], leaf_rows])
        right = np.concatenate([rows[op.right.array[internal]], leaf_rows])
        zeros = np.zeros(len(leaf_rows), np.int64)
        return Walk(feature=np.concatenate([[0], feature_of[internal], zeros]),
                    threshold=np.concatenate([[0.0], op.threshold.array[internal], zeros]),
                    children=np.concatenate([[0], np.stack([left, right], axis=1).ravel()]),
                    roots=rows[op.roots.array], first_leaf=count + 1)

    def leaf_kind(self, b: Builder, op: TreeEnsemble, x: Value, depths: np.ndarray) -> Value:
        """``[N, trees]``: the leaf row each tree reaches, counted from the first leaf row, the trees
        in ``op``'s order, whose ``depths`` must not increase (:func:`by_depth`): the trees still
        walking at a level are the first ones."""
        assert not np.any(np.diff(depths) > 0), "leaf_kind walks trees sorted deepest first"
        rows = len(self.feature)
        index = DType.i32 if 2 * rows < 2 ** 31 else DType.i64  # i32: every runtime's fast integers
        feature, children = narrow(b, self.feature, index), narrow(b, self.children, index)
        threshold = threshold_table(b, op, self.threshold)
        depth = int(depths.max())
        # the first level's node is the same for every row: read it from [1, trees] constants
        node: Value = b.const(self.roots.reshape(1, -1), index)
        walking, reached = op.n_trees, []
        for d in range(depth):
            deeper = int(np.count_nonzero(depths > d))
            if (walking - deeper) * (depth - d) >= MIN_STEPS_SAVED:
                reached.append(columns(b, node, deeper, walking))
                node, walking = columns(b, node, 0, deeper), deeper
            value = b.call("take_along_axis", x, widened(b, b.call("gather", feature, node, axis=0), index), axis=1)
            left = goes_left(b, value, b.call("gather", threshold, node, axis=0))
            slot = b.call("sub", b.call("add", node, node), b.call("cast", left, to=index))
            node = widened(b, b.call("gather", children, slot, axis=0), index)
        # the set-aside columns after the deeper ones, in tree order; a forest of lone leaves
        # never moved: its [1, trees] roots as one row per input row
        parts = [per_row(b, x, part) for part in [node, *reversed(reached)]]
        node = parts[0] if len(parts) == 1 else b.call("concat", *parts, axis=1)
        return b.call("sub", node, b.const(np.array(self.first_leaf), index))


# setting the finished trees aside costs two slices and a concat operand, about what 64 tree
# steps cost a single row: done when it saves at least that many
MIN_STEPS_SAVED = 64


def columns(b: Builder, v: Value, start: int, stop: int) -> Value:
    """Columns ``start:stop`` of ``v`` (a gather of a constant run, which backends emit as a slice)."""
    return b.call("gather", v, b.const(np.arange(start, stop), DType.i64), axis=1)


def by_depth(op: TreeEnsemble) -> tuple[TreeEnsemble, np.ndarray, np.ndarray | None]:
    """``op`` with its trees deepest first, their depths, and the order (None when already so):
    the walk sets aside the shallow trees' columns as they finish."""
    depths = op.depths()
    order = np.argsort(-depths, kind="stable")
    if np.array_equal(order, np.arange(op.n_trees)):
        return op, depths, None
    return dataclasses.replace(op, roots=Tensor(op.roots.array[order], DType.i64)), depths[order], order


def lower(b: Builder, op: TreeEnsemble, x: Value) -> tuple[Value, Value]:
    """The ensemble's leaves and scores by stepping every tree down its depth, deepest trees
    first: the scores by a walk whose leaf rows are the distinct leaf values, the leaves by one
    whose leaf rows are the leaves themselves. Both come back in tree order, so the scores are
    summed in tree order as every strategy sums them."""
    x, feature_of = decisive_input(b, op, x)
    walked, depths, order = by_depth(op)

    def in_tree_order(v: Value) -> Value:
        return v if order is None else b.call("gather", v, b.const(np.argsort(order), DType.i64), axis=1)

    leaf_nodes = np.flatnonzero(~op.internal)
    distinct, kinds = np.unique(op.values.array[leaf_nodes], axis=0, return_inverse=True)
    by_value = in_tree_order(Walk.of(walked, feature_of, kinds.reshape(-1)).leaf_kind(b, walked, x, depths))
    scores = scores_of(b, op, b.call("gather", b.const(distinct, op.values.dtype), by_value, axis=0))
    by_leaf = in_tree_order(Walk.of(walked, feature_of, np.arange(len(leaf_nodes))).leaf_kind(b, walked, x, depths))
    leaves = b.call("gather", b.const(leaf_nodes, DType.i64), by_leaf, axis=0)
    return leaves, scores

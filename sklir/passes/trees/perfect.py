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
from sklir.passes.trees import decisive_input, goes_left, narrow, per_row, scores_of, threshold_table, widened


def padded_tables(op: TreeEnsemble, feature_of: np.ndarray,
                  depth: int) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Per level ``d`` the column (from ``feature_of``) and threshold of each tree's ``2^d`` slots
    in heap order, trees one after another (``[trees * 2^d]``), and the node of the shared table
    each leaf slot stands for (``[trees * 2^depth]``)."""
    trees = op.n_trees
    left, right = op.left.array, op.right.array
    # breadth first, level by level: the node standing in each slot, every tree at once
    level = op.roots.array.reshape(-1, 1)
    features, thresholds = [], []
    for _ in range(depth):
        is_leaf = left[level] == level
        features.append(np.where(is_leaf, 0, feature_of[level]).ravel())
        thresholds.append(np.where(is_leaf, 0, op.threshold.array[level]).ravel())
        # a leaf's two children are itself: it fills its whole subtree
        level = np.stack([left[level], right[level]], axis=2).reshape(trees, -1)
    return features, thresholds, level.ravel()


# padded slots (trees x 2^depth) beyond which the tables are refused rather than built
MAX_SLOTS = 1 << 26


def lower(b: Builder, op: TreeEnsemble, x: Value) -> tuple[Value, Value]:
    """The ensemble's leaves and scores by heap-index arithmetic over padded trees.

    Level ``d``'s tables hold every tree's ``2^d`` slots in turn, so the slot of a row in tree
    ``t`` is ``j = t * 2^d + i`` and its child in level ``d + 1`` is ``2j + 1 - left``. The walk
    keeps ``w = j + 1`` (``w' = 2w - left``, four ops) and each level's tables start with one
    unused entry, so ``w`` indexes them directly.
    """
    depth = op.depth()
    if op.n_trees * 2 ** depth > MAX_SLOTS:
        raise SklirError(f"lower-trees: padding {op.n_trees} trees to depth {depth} needs {op.n_trees} x 2^{depth} "
                         "slots; use the traversal strategy")
    x, feature_of = decisive_input(b, op, x)
    levels = oblivious_levels(op, feature_of, depth)
    if levels is not None:
        return _oblivious(b, op, x, *levels)
    features, thresholds, leaf = padded_tables(op, feature_of, depth)
    trees = op.n_trees
    # positions count in i32 (every runtime's fast integer type) while the tables allow it
    index = DType.i32 if trees * 2 ** (depth + 1) < 2 ** 31 else DType.i64
    position: Value = b.const(np.arange(1, trees + 1).reshape(1, -1), index)  # w at the roots
    for d in range(depth):
        feature = b.call("gather", narrow(b, np.concatenate([[0], features[d]]), index), position, axis=0)
        value = b.call("take_along_axis", x, widened(b, feature, index), axis=1)
        threshold = b.call("gather", threshold_table(b, op, np.concatenate([[0.0], thresholds[d]])), position, axis=0)
        left = goes_left(b, value, threshold)
        position = b.call("sub", b.call("add", position, position), b.call("cast", left, to=index))
    # a leaf fills every slot of its padded subtree. For the leaves, slots name each tree's own
    # leaves (a compact table), whose node numbers follow; for the scores, slots name the distinct
    # leaf values directly (a forest repeats a few thousand values over its leaves)
    slot = per_row(b, x, position)
    local, firsts, nodes = compact_leaves(leaf.reshape(trees, -1))
    own = b.call("gather", narrow(b, np.concatenate([[0], local.ravel()]), index), slot, axis=0)
    row = b.call("add", widened(b, own, index), b.const(firsts.reshape(1, -1), index))
    leaves = b.call("gather", b.const(nodes, DType.i64), row, axis=0)
    distinct, kind = np.unique(op.values.array[leaf], axis=0, return_inverse=True)
    value_row = b.call("gather", narrow(b, np.concatenate([[0], kind.reshape(-1)]), index), slot, axis=0)
    values = b.const(distinct, op.values.dtype)
    return leaves, scores_of(b, op, b.call("gather", values, widened(b, value_row, index), axis=0))


def oblivious_levels(op: TreeEnsemble, feature_of: np.ndarray,
                     depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """For an ensemble of oblivious trees (each level of a tree asks every row one question, and
    every leaf lies at the tree's own depth: CatBoost's trees), per tree and level the column
    (from ``feature_of``), the threshold and the weight of going right in the leaf slot
    (``2^(depth - 1 - level)``, 0 below the tree's depth), ``[trees, depth]`` each, and the node
    in each tree's ``2^depth`` slots; None for any other ensemble."""
    if depth == 0:
        return None
    left, right = op.left.array, op.right.array
    trees = op.n_trees
    level = op.roots.array.reshape(-1, 1)
    columns, thresholds = np.zeros((trees, depth), np.int64), np.zeros((trees, depth))
    weights = np.zeros((trees, depth), np.int64)
    for d in range(depth):
        is_leaf = left[level] == level
        below = is_leaf.all(axis=1)  # the tree ended above this level
        asked, bound = feature_of[level], op.threshold.array[level]
        same = (asked == asked[:, :1]).all(axis=1) & (bound == bound[:, :1]).all(axis=1)
        if np.any(~below & (is_leaf.any(axis=1) | ~same)):
            return None
        columns[:, d] = np.where(below, 0, asked[:, 0])
        thresholds[:, d] = np.where(below, 0.0, bound[:, 0])
        weights[:, d] = np.where(below, 0, 1 << (depth - 1 - d))
        level = np.stack([left[level], right[level]], axis=2).reshape(trees, -1)
    return columns, thresholds, weights, level


def is_oblivious(op: TreeEnsemble) -> bool:
    """Whether every tree of ``op`` is oblivious (see :func:`oblivious_levels`), a node's missing-
    value side counting as part of its question."""
    asked = op.feature.array * 2 + op.missing_left.array
    return oblivious_levels(op, asked, op.depth()) is not None


def _oblivious(b: Builder, op: TreeEnsemble, x: Value, columns: np.ndarray, thresholds: np.ndarray,
               weights: np.ndarray, leaf: np.ndarray) -> tuple[Value, Value]:
    """Oblivious trees without a walk: level ``d`` of every tree reads its one column (a gather of
    constant indices, whatever the row), and the slot is the sum of the weights of the levels
    where the row goes right. No level waits for the one above it."""
    trees, depth = weights.shape
    index = DType.i32
    slot = None
    for d in range(depth):
        value = b.call("gather", x, b.const(columns[:, d], DType.i64), axis=1)  # [N, trees]
        left = goes_left(b, value, threshold_table(b, op, thresholds[:, d]))
        step = b.call("select", left, b.const(np.zeros((), np.int32), index),
                      b.const(weights[:, d].astype(np.int32).reshape(1, -1), index))
        slot = step if slot is None else b.call("add", slot, step)
    assert slot is not None
    slot = b.call("add", per_row(b, x, slot), b.const((np.arange(trees) * 2 ** depth).reshape(1, -1), index))
    leaves = b.call("gather", b.const(leaf.ravel(), DType.i64), slot, axis=0)
    distinct, kind = np.unique(op.values.array[leaf.ravel()], axis=0, return_inverse=True)
    value_row = b.call("gather", narrow(b, kind.reshape(-1), index), slot, axis=0)
    values = b.const(distinct, op.values.dtype)
    return leaves, scores_of(b, op, b.call("gather", values, widened(b, value_row, index), axis=0))


def compact_leaves(leaf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For ``leaf[t, s]``, the node in slot ``s`` of tree ``t``: each slot's number among its tree's
    distinct leaves (``[trees, slots]``), each tree's first row in the list of all trees' leaves,
    and that list (node numbers, tree after tree)."""
    local = np.empty_like(leaf)
    firsts = np.zeros(leaf.shape[0], np.int64)
    nodes = []
    count = 0
    for t, row in enumerate(leaf):
        distinct, local[t] = np.unique(row, return_inverse=True)
        firsts[t] = count
        nodes.append(distinct)
        count += len(distinct)
    return local, firsts, np.concatenate(nodes)

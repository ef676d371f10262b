"""Tree traversal with child-index tables: one step per level, any depth, no padding.

Every row holds the current node of every tree (``[N, trees]``, rows of the walk's tables). A step
reads each node's test, moves to a child; a leaf is its own child, so a row that reached its leaf
stays there. ``depth`` steps reach every leaf. Memory: the tables only, so it suits deep trees
(depth 30+) where a padded layout would explode.

The fast walk (:class:`KeyedWalk`) numbers the internal nodes by their test: the nodes reading
column ``c``, sorted by threshold, take the numbers ``c * span ...``, and each row's rank among
those thresholds (:mod:`~sklir.passes.trees.ranks`, searched once per row) decides every node
of the column by one comparison with its number. A step is: the node's column from its number
(two casts and a product), the row's rank for that column (one gather), a compare, and the child
(one gather): two gathers a level where reading the column and the threshold took two more, and
LiteRT's GATHER costs about 3.5 ns per element. The compact walk (:class:`Walk`: feature, value,
threshold and child gathered per level; no search, and tables that grow with the nodes alone) is
the ``compact`` strategy, and the fallback for ensembles whose numbers would pass float32's exact
integers or grow too far beyond the nodes.

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
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sklir.ir.builder import Builder
from sklir.ir.core import Tensor, Value
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.ir.types import DType
from sklir.passes.trees import decisive_input, goes_left, narrow, per_row, scores_of, threshold_table, widened
from sklir.passes.trees.ranks import Ranks


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
        in ``op``'s order, whose ``depths`` must not increase (:func:`by_depth`)."""
        rows = len(self.feature)
        index = DType.i32 if 2 * rows < 2 ** 31 else DType.i64  # i32: every runtime's fast integers
        feature, children = narrow(b, self.feature, index), narrow(b, self.children, index)
        threshold = threshold_table(b, op, self.threshold)

        def step(node: Value) -> Value:
            value = b.call("take_along_axis", x, widened(b, b.call("gather", feature, node, axis=0), index), axis=1)
            left = goes_left(b, value, b.call("gather", threshold, node, axis=0))
            slot = b.call("sub", b.call("add", node, node), b.call("cast", left, to=index))
            return widened(b, b.call("gather", children, slot, axis=0), index)

        node = stepped(b, x, b.const(self.roots.reshape(1, -1), index), depths, step)
        return b.call("sub", node, b.const(np.array(self.first_leaf), index))


# the walk carries twice a node number, counted in float32 on the way to its column, and TFLite
# Micro reads integer tables through float32: exact below 2^24
MAX_KEYED_NUMBERS = 1 << 23
# each column's numbers are a power of two above the busiest column's count: beyond this many
# times the compact walk's rows, the tables' size outweighs the speed (ExtraTrees' row: 2.3x)
KEYED_GROWTH = 4


@dataclass(frozen=True)
class KeyedWalk:
    """The tables of the fast walk. Internal nodes go by their :class:`Ranks` numbers (``c * span
    + j``), the leaf rows by the numbers from ``first_leaf = width * span``. The walk carries
    ``2m``, the offset of node ``m``'s children: ``children[2m]`` and ``children[2m + 1]`` hold
    twice the numbers of its left and right child (a leaf row's are itself), so a step adds the
    decision to what it gathered."""

    children: np.ndarray
    roots: np.ndarray
    span: int
    first_leaf: int
    leaf_columns: int

    @staticmethod
    def of(op: TreeEnsemble, kinds: np.ndarray, ranks: Ranks) -> KeyedWalk | None:
        """The tables for ``op`` (leaf ``k`` in node order belonging to leaf row ``kinds[k]``), or
        None when the node numbers would pass :data:`MAX_KEYED_NUMBERS`, or :data:`KEYED_GROWTH`
        times the compact walk's rows."""
        width, span = ranks.table.shape
        leaf_rows = int(kinds.max(initial=-1)) + 1
        leaf_columns = -(-leaf_rows // span)  # the leaf rows' numbers as further columns of span
        numbers = (width + leaf_columns) * span
        if numbers > min(MAX_KEYED_NUMBERS, KEYED_GROWTH * (int(op.internal.sum()) + leaf_rows)):
            return None
        number = ranks.number.copy()
        number[~op.internal] = width * span + kinds
        internal = np.flatnonzero(op.internal)
        children = np.arange(2 * numbers) // 2 * 2  # a leaf row (and an unused number) is its own child
        children[2 * number[internal]] = 2 * number[op.left.array[internal]]
        children[2 * number[internal] + 1] = 2 * number[op.right.array[internal]]
        return KeyedWalk(children=children, roots=2 * number[op.roots.array], span=span, first_leaf=width * span,
                         leaf_columns=leaf_columns)

    def leaf_kind(self, b: Builder, x: Value, ranked: Value, depths: np.ndarray) -> Value:
        """As :meth:`Walk.leaf_kind`, from ``ranked`` (:meth:`Ranks.search` of ``x``): a row goes
        right at node ``m`` when its ``ranked`` value for the node's column is above ``m``."""
        index = DType.i32
        above = b.call("add", ranked, ranked)  # doubled, as the walk's numbers are
        if self.leaf_columns:  # read at leaf rows, where both children are the same
            zeros = per_row(b, x, b.const(np.zeros((1, self.leaf_columns)), index))
            above = b.call("concat", above, zeros, axis=1)
        children = narrow(b, self.children, index)

        def divided(twice: Value, by: int) -> Value:
            # twice / by, rounded down, for a power of two: exact, as float32 holds every even
            # number below 2^25
            real = b.call("mul", b.call("cast", twice, to=DType.f32), b.const(np.array(1.0 / by), DType.f32))
            return b.call("cast", real, to=index)

        def step(twice: Value) -> Value:
            column = divided(twice, 2 * self.span)
            right = b.call("compare", b.call("take_along_axis", above, column, axis=1), twice, predicate="gt")
            return widened(b, b.call("gather", children, b.call("add", twice, b.call("cast", right, to=index)),
                                     axis=0), index)

        twice = stepped(b, x, b.const(self.roots.reshape(1, -1), index), depths, step)
        return b.call("sub", divided(twice, 2), b.const(np.array(self.first_leaf), index))


def stepped(b: Builder, x: Value, roots: Value, depths: np.ndarray, step: Callable[[Value], Value]) -> Value:
    """``[N, trees]``: the nodes ``step`` reaches from ``roots`` (``[1, trees]``) after each tree's
    depth, for trees whose ``depths`` do not increase: the trees still walking at a level are the
    first ones, and the finished ones are set aside when that saves enough steps."""
    assert not np.any(np.diff(depths) > 0), "the walk steps trees sorted deepest first"
    depth = int(depths.max(initial=0))
    # the first level's node is the same for every row: read it from [1, trees] constants
    node, walking, reached = roots, len(depths), []
    for d in range(depth):
        deeper = int(np.count_nonzero(depths > d))
        if (walking - deeper) * (depth - d) >= MIN_STEPS_SAVED:
            reached.append(columns(b, node, deeper, walking))
            node, walking = columns(b, node, 0, deeper), deeper
        node = step(node)
    # the set-aside columns after the deeper ones, in tree order; a forest of lone leaves never
    # moved: its [1, trees] roots as one row per input row
    parts = [per_row(b, x, part) for part in [node, *reversed(reached)]]
    return parts[0] if len(parts) == 1 else b.call("concat", *parts, axis=1)


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
    """The ensemble's leaves and scores by the keyed walk (two gathers a level), or the compact
    one where the node numbers would pass :data:`MAX_KEYED_NUMBERS` or :data:`KEYED_GROWTH`
    times the compact walk's rows (see :meth:`KeyedWalk.of`)."""
    return walks(b, op, x, keyed=True)


def lower_compact(b: Builder, op: TreeEnsemble, x: Value) -> tuple[Value, Value]:
    """The ensemble's leaves and scores by the compact walk: no search, and tables that grow with
    the nodes alone (the keyed walk's numbers leave each column a power of two of them), for
    flash-bound devices."""
    return walks(b, op, x, keyed=False)


def keyed_columns(b: Builder, op: TreeEnsemble, x: Value, feature_of: np.ndarray) -> tuple[Ranks | None, Value]:
    """The ranks of the columns of ``x`` some node of ``op`` reads (``feature_of``), and those
    columns, which the search reads; no ranks for an ensemble without tests, nor where their
    numbers would pass :data:`MAX_KEYED_NUMBERS` or :data:`KEYED_GROWTH` times the nodes."""
    if not op.internal.any():
        return None, x
    used = np.unique(feature_of[op.internal])
    most = min(MAX_KEYED_NUMBERS, KEYED_GROWTH * op.feature.shape[0])
    ranks = Ranks.of(op, np.searchsorted(used, feature_of), len(used), most)
    if ranks is not None and len(used) != x.type.shape[1]:
        x = b.call("gather", x, b.const(used, DType.i64), axis=1)
    return ranks, x


def walks(b: Builder, op: TreeEnsemble, x: Value, keyed: bool) -> tuple[Value, Value]:
    """The ensemble's leaves and scores by stepping every tree down its depth, deepest trees
    first: the scores by a walk whose leaf rows are the distinct leaf values, the leaves by one
    whose leaf rows are the leaves themselves. Both come back in tree order, so the scores are
    summed in tree order as every strategy sums them."""
    x, feature_of = decisive_input(b, op, x)
    walked, depths, order = by_depth(op)

    def in_tree_order(v: Value) -> Value:
        return v if order is None else b.call("gather", v, b.const(np.argsort(order), DType.i64), axis=1)

    ranks, ranked_x = keyed_columns(b, walked, x, feature_of) if keyed else (None, x)
    ranked: Value | None = None  # the search, built once for whichever walks are keyed

    def leaf_kind(kinds: np.ndarray) -> Value:
        nonlocal ranked
        fast = None if ranks is None else KeyedWalk.of(walked, kinds, ranks)
        if ranks is None or fast is None:
            return in_tree_order(Walk.of(walked, feature_of, kinds).leaf_kind(b, walked, x, depths))
        if ranked is None:
            ranked = ranks.search(b, walked, ranked_x)
        return in_tree_order(fast.leaf_kind(b, x, ranked, depths))

    leaf_nodes = np.flatnonzero(~op.internal)
    distinct, kinds = np.unique(op.values.array[leaf_nodes], axis=0, return_inverse=True)
    values = b.call("gather", b.const(distinct, op.values.dtype), leaf_kind(kinds.reshape(-1)), axis=0)
    scores = scores_of(b, op, values)
    leaves = b.call("gather", b.const(leaf_nodes, DType.i64), leaf_kind(np.arange(len(leaf_nodes))), axis=0)
    return leaves, scores

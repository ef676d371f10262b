"""What the traversal strategy stores: the internal nodes and one row per distinct leaf value for
the scores, one row per leaf only when the leaf numbers are read."""

from __future__ import annotations

import numpy as np
from pass_checks import chains, lowered

from sklir.ir import Builder, DType, Module, Tensor, interpret
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.ir.dialects.tensor import Constant

# two trees over 2 columns whose five leaves hold two distinct values:
# tree 0: node 0 (x0 <= 0.5) -> leaves 1 [1], 2 [2]
# tree 1: node 3 (x1 <= 0) -> node 4 (x0 <= 1) -> leaves 5 [1], 6 [2]; else leaf 7 [2]
FEATURE = [0, 0, 0, 1, 0, 0, 0, 0]
THRESHOLD = [0.5, 0, 0, 0.0, 1.0, 0, 0, 0]
LEFT = [1, 1, 2, 4, 5, 5, 6, 7]
RIGHT = [2, 1, 2, 7, 6, 5, 6, 7]
VALUES = [[0.0], [1.0], [2.0], [0.0], [0.0], [1.0], [2.0], [2.0]]
X = np.array([[0.0, -1.0], [0.7, -1.0], [2.0, -1.0], [0.0, 1.0], [np.nan, 0.0]], np.float32)


def forest(read_leaves: bool) -> Module:
    b, x = Builder.new("two_trees", 2, DType.f32)
    op = TreeEnsemble(
        feature=Tensor(FEATURE, DType.i64), threshold=Tensor(THRESHOLD, DType.f32),
        left=Tensor(LEFT, DType.i64), right=Tensor(RIGHT, DType.i64),
        missing_left=Tensor([False] * 8, DType.bool), roots=Tensor([0, 3], DType.i64),
        values=Tensor(VALUES, DType.f32), weights=Tensor([1.0, 1.0], DType.f32), base=Tensor([0.0], DType.f32))
    leaves, scores = b.apply(op, x)
    b.output("scores", scores)
    if read_leaves:
        b.output("leaves", leaves)
    return b.module



def constants(module: Module) -> list[np.ndarray]:
    return [n.op.value.array for n in module.nodes if isinstance(n.op, Constant)]


def test_the_scores_walk_stores_each_distinct_leaf_value_once() -> None:
    module = lowered(forest(read_leaves=False))
    float_tables = [c.tolist() for c in constants(module) if c.dtype.kind == "f" and c.ndim == 2]
    # the two distinct leaf values, and the search's pivots: each column's thresholds in 4 slots
    # (2 columns, thresholds 0.5, 1 and 0; LARGEST pads), every slot but the last
    largest = float(np.finfo(np.float32).max)
    assert sorted(float_tables) == sorted([[[1.0], [2.0]], [[0.5, 1.0, largest], [0.0, largest, largest]]])
    # one walk: node numbers in spans of 4 per column (column 0 has two nodes; the span exceeds
    # every column's count), the two leaf rows in a third; two children per number; and no table
    # of leaf numbers
    assert max(len(c) for c in constants(module) if c.ndim == 1) == 2 * 3 * 4
    assert not any(c.dtype == np.int64 and c.ndim == 1 and len(c) == 5 for c in constants(module))
    np.testing.assert_array_equal(interpret(module, X, "native")["scores"][:, 0],
                                  interpret(forest(read_leaves=False), X, "native")["scores"][:, 0])


def steps(module: Module) -> int:
    """The walk steps of a lowered module: each decides its nodes by one ``gt`` comparison."""
    return sum(n.op.name == "compare" and n.op.predicate == "gt" for n in module.nodes)


def test_the_leaves_walk_is_kept_when_read_and_numbers_leaves_as_the_table() -> None:
    module = lowered(forest(read_leaves=True))
    assert steps(module) == 2 * 2  # both walks, two levels each (tree 1 is two deep)
    got = interpret(module, X, "native")
    np.testing.assert_array_equal(got["leaves"], [[1, 5], [2, 5], [2, 6], [1, 7], [2, 6]])
    np.testing.assert_array_equal(got["scores"][:, 0], [2.0, 3.0, 4.0, 3.0, 4.0])


def test_trees_that_reached_their_leaves_are_set_aside_and_everything_comes_back_in_tree_order() -> None:
    rng = np.random.default_rng(0)
    # 70 lone leaves (set aside before the first step, as constants), 30 stumps (set aside after
    # it) and 3 deep chains, shuffled: the walk sorts them deepest first and puts them back
    depths = rng.permutation([0] * 70 + [1] * 30 + [6, 5, 6])
    op = chains(list(depths), rng)
    np.testing.assert_array_equal(op.depths(), depths)
    assert op.depth() == 6
    b, x = Builder.new("chains", 3, DType.f32)
    leaves, scores = b.apply(op, x)
    b.output("leaves", leaves)
    b.output("scores", scores)
    module = lowered(b.module)
    # the values read per level (a width-1 read is per_row's, spreading the lone leaves' constants)
    widths = [n.results[0].type.shape[1] for n in module.nodes if n.op.name == "take_along_axis"]
    # per walk: the 33 trees of depth >= 1 at the root, then the 3 chains (the one that stops at
    # depth 5 is too few steps to be worth a slice of its own)
    assert [w for w in widths if w != 1] == [33, 3, 3, 3, 3, 3] * 2
    X = rng.normal(size=(64, 3)).astype(np.float32)
    got = interpret(module, X, "native")
    np.testing.assert_array_equal(got["leaves"], op.leaves_of(X))
    # summed in tree order, as the unlowered op and every other strategy sum
    np.testing.assert_array_equal(got["scores"], interpret(b.module, X, "native")["scores"])

"""The keyed traversal: a row's rank among each column's thresholds decides every node test, and
the walk over node numbers agrees with the compact walk and with the op itself."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pass_checks import chains

from sklir.ir import Builder, DType, Module, Tensor, interpret
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.passes.lower_trees import LowerTrees
from sklir.passes.manager import PassManager, parse_pipeline
from sklir.passes.trees import LARGEST, traversal
from sklir.passes.trees.ranks import Ranks


def stumps(column: list[int], threshold: list[float], dtype: DType = DType.f32) -> TreeEnsemble:
    """One stump per (column, threshold): node ``3k`` tests it, leaves ``3k + 1`` and ``3k + 2``."""
    n = len(column)
    feature, bound, left, right = [], [], [], []
    for k, (c, t) in enumerate(zip(column, threshold, strict=True)):
        feature += [c, 0, 0]
        bound += [t, 0.0, 0.0]
        left += [3 * k + 1, 3 * k + 1, 3 * k + 2]
        right += [3 * k + 2, 3 * k + 1, 3 * k + 2]
    return TreeEnsemble(
        feature=Tensor(feature, DType.i64), threshold=Tensor(bound, dtype),
        left=Tensor(left, DType.i64), right=Tensor(right, DType.i64),
        missing_left=Tensor([False] * 3 * n, DType.bool), roots=Tensor(np.arange(n) * 3, DType.i64),
        values=Tensor(np.arange(3 * n, dtype=np.float64).reshape(-1, 1), DType.f32),
        weights=Tensor(np.ones(n), DType.f32), base=Tensor([0.0], DType.f32))


def searched(op: TreeEnsemble, width: int, X: np.ndarray) -> tuple[Ranks, np.ndarray]:
    """The ranks of ``op``'s columns and the search's result for the rows ``X``."""
    ranks = Ranks.of(op, op.feature.array, width)
    b, x = Builder.new("search", width, DType.f32)
    b.output("ranked", ranks.search(b, op, x))
    return ranks, interpret(b.module, X, "native")["ranked"]


GRID = [-np.inf, -2.0, -1.0, -0.5, 0.0, np.nextafter(np.float32(0), np.float32(1)), 0.5, 1.0, 3.0, np.inf]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(GRID)), min_size=1, max_size=12),
       st.integers(0, 400))
def test_a_rank_decides_every_threshold_of_its_column(nodes: list[tuple[int, float]], spread: int) -> None:
    # thresholds on a grid (so that values fall on them, between them and beyond them, +inf
    # included) and, for larger counts, spread over a range: one to three search steps
    column = [c for c, _ in nodes] + [1] * spread
    threshold = [t for _, t in nodes] + list(np.linspace(-3, 3, spread))
    op = stumps(column, threshold)
    values = np.array([*GRID, np.nan, *np.linspace(-3.2, 3.2, 40)], np.float32)
    X = np.stack([np.roll(values, k) for k in range(3)], axis=1)
    ranks, ranked = searched(op, 3, X)
    span = ranks.span
    count = np.bincount(column, minlength=3)
    for c in range(3):
        rank = ranked[:, c] - c * span
        assert np.all((rank >= 0) & (rank < span))
        thresholds = ranks.table[c, :count[c]]
        assert np.all(thresholds[1:] >= thresholds[:-1])
        for j, s in enumerate(thresholds):
            # value <= s_j exactly when the rank is at most j (+inf thresholds stand as LARGEST)
            np.testing.assert_array_equal(X[:, c] <= s, rank <= j)


def test_the_search_takes_one_step_per_four_bits() -> None:
    assert Ranks.of(stumps([0], [0.5]), np.array([0, 0, 0]), 1).fanouts == [2]
    for count, fanouts in [(15, [16]), (16, [8, 4]), (300, [8, 8, 8]), (5000, [16, 8, 8, 8])]:
        op = stumps([0] * count, list(range(count)))
        ranks = Ranks.of(op, op.feature.array, 1)
        assert ranks.fanouts == fanouts and ranks.span == np.prod(fanouts) > count
        assert ranks.table[0, count:].tolist() == [LARGEST] * (ranks.span - count)


def test_f64_thresholds_are_ranked_as_compared() -> None:
    # before to-f32, an f32 value is compared with the f64 threshold (exactly): a threshold just
    # above an f32 number sends that number left, one just below it right
    one = 1.0
    op = stumps([0, 0], [one - 1e-12, one + 1e-12], DType.f64)
    ranks, ranked = searched(op, 1, np.array([[1.0], [0.5], [2.0]], np.float32))
    assert ranks.table[0, :2].tolist() == [one - 1e-12, one + 1e-12]
    np.testing.assert_array_equal(ranked[:, 0], [1, 0, 2])


def lowered(module: Module, strategy: str = "traversal") -> Module:
    return PassManager([LowerTrees(strategy), *parse_pipeline("cse,dce")]).run(module).module


def ensemble(depths: list[int], seed: int) -> tuple[TreeEnsemble, Module]:
    rng = np.random.default_rng(seed)
    op = chains(depths, rng)
    # a few thresholds shared between nodes, and NaN sent left at some of them
    threshold = op.threshold.array.copy()
    threshold[::3] = np.round(threshold[::3])
    missing = rng.random(len(threshold)) < 0.3
    op = dataclasses.replace(op, threshold=Tensor(threshold, DType.f32), missing_left=Tensor(missing, DType.bool))
    b, x = Builder.new("chains", 3, DType.f32)
    leaves, scores = b.apply(op, x)
    b.output("leaves", leaves)
    b.output("scores", scores)
    return op, b.module


def keyed(module: Module) -> bool:
    """Whether a lowered module walks keyed: each step decides by one ``gt`` comparison."""
    return any(n.op.name == "compare" and n.op.predicate == "gt" for n in module.nodes)


@pytest.mark.parametrize("seed", range(4))
def test_the_keyed_and_the_compact_walk_agree_with_the_op(seed: int) -> None:
    rng = np.random.default_rng(seed)
    op, module = ensemble(list(rng.integers(0, 9, size=40)), seed)
    X = np.round(rng.normal(size=(200, 3)), 1).astype(np.float32)  # values on the shared thresholds
    X[rng.random(X.shape) < 0.1] = np.nan
    X[0] = [np.inf, -np.inf, np.nan]
    fast, compact = lowered(module), lowered(module, "compact")
    assert keyed(fast) and not keyed(compact)
    got, plain = interpret(fast, X, "native"), interpret(compact, X, "native")
    np.testing.assert_array_equal(got["leaves"], op.leaves_of(X))
    np.testing.assert_array_equal(plain["leaves"], op.leaves_of(X))
    np.testing.assert_array_equal(got["scores"], plain["scores"])
    np.testing.assert_array_equal(got["scores"], interpret(module, X, "native")["scores"])


def test_numbers_beyond_float32_integers_walk_compact(monkeypatch: pytest.MonkeyPatch) -> None:
    _, module = ensemble([3, 2, 4], 0)
    fast = lowered(module)
    # the children table holds two entries per node number
    numbers = max(n.op.value.array.size for n in fast.nodes if n.op.name == "constant"
                  and n.op.value.array.ndim == 1 and n.op.value.dtype.is_int) // 2
    monkeypatch.setattr(traversal, "MAX_KEYED_NUMBERS", numbers)
    assert str(lowered(module)) == str(fast)
    monkeypatch.setattr(traversal, "MAX_KEYED_NUMBERS", numbers - 1)
    assert str(lowered(module)) == str(lowered(module, "compact"))


def test_node_numbers_follow_column_and_threshold() -> None:
    # column 1 has three nodes (span 4); column 0 two; the leaf rows after 2 x 4 numbers
    op = stumps([1, 0, 1, 1, 0], [0.5, 2.0, -1.0, 0.5, 1.0])
    ranks = Ranks.of(op, op.feature.array, 2)
    # the stumps' tests in tree order: (1, 0.5) -> 4 + 1 (after -1.0; the tie with the fourth
    # stump in node order), (0, 2.0) -> 1, (1, -1.0) -> 4, (1, 0.5) -> 6, (0, 1.0) -> 0
    assert ranks.span == 4 and ranks.number[op.roots.array].tolist() == [5, 1, 4, 6, 0]
    assert ranks.table.tolist() == [[1.0, 2.0, LARGEST, LARGEST], [-1.0, 0.5, 0.5, LARGEST]]
    walk = traversal.KeyedWalk.of(op, np.arange(10), ranks)
    assert walk is not None and walk.first_leaf == 8
    assert walk.roots.tolist() == [2 * 5, 2 * 1, 2 * 4, 2 * 6, 2 * 0]  # doubled: children's offsets
    # node 4 (the third stump's test) leads to its leaves, the fifth and sixth leaf rows
    assert walk.children[2 * 4: 2 * 4 + 2].tolist() == [2 * (8 + 4), 2 * (8 + 5)]
    assert walk.leaf_columns == 3  # ten leaf rows in blocks of four

"""The keyed traversal: a row's rank among each column's thresholds decides every node test, and
the walk over node numbers agrees with the compact walk and with the op itself."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pass_checks import chains, lowered

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


ANY = 1 << 30  # no limit on the numbers


def searched(op: TreeEnsemble, width: int, X: np.ndarray) -> tuple[Ranks, np.ndarray]:
    """The ranks of ``op``'s columns and the search's result for the rows ``X`` (of X's dtype)."""
    ranks = Ranks.of(op, op.feature.array, width, ANY)
    assert ranks is not None
    b, x = Builder.new("search", width, DType.of_numpy(X.dtype))
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
    assert np.all((ranked >= np.arange(3) * span) & (ranked < np.arange(1, 4) * span))
    # every stump's test, from the op's own column and threshold (+inf standing as LARGEST, as
    # the lowered comparisons hold it), against the row's rank and the stump's number
    for root in op.roots.array:
        c, t = int(op.feature.array[root]), min(float(op.threshold.array[root]), LARGEST)
        np.testing.assert_array_equal(X[:, c] <= np.float32(t), ranked[:, c] <= ranks.number[root])


def test_the_search_takes_one_step_per_four_bits() -> None:
    one = Ranks.of(stumps([0], [0.5]), np.array([0, 0, 0]), 1, ANY)
    assert one is not None and one.fanouts == (2,)
    # refused before anything is built when the numbers would pass the limit
    assert Ranks.of(stumps([0] * 4, [0.0] * 4), np.zeros(12, np.int64), 3, 3 * 8 - 1) is None
    for count, fanouts in [(15, (16,)), (16, (8, 4)), (300, (8, 8, 8)), (5000, (16, 8, 8, 8))]:
        op = stumps([0] * count, list(range(count)))
        ranks = Ranks.of(op, op.feature.array, 1, ANY)
        assert ranks is not None and ranks.fanouts == fanouts and ranks.span == np.prod(fanouts) > count
        assert ranks.table[0, count:].tolist() == [LARGEST] * (ranks.span - count)


def test_f64_thresholds_are_ranked_as_compared() -> None:
    # before to-f32, an f32 value is compared with the f64 threshold (exactly): a threshold just
    # above an f32 number sends that number left, one just below it right
    one = 1.0
    op = stumps([0, 0], [one - 1e-12, one + 1e-12], DType.f64)
    ranks, ranked = searched(op, 1, np.array([[1.0], [0.5], [2.0]], np.float32))
    assert ranks.table[0, :2].tolist() == [one - 1e-12, one + 1e-12]
    np.testing.assert_array_equal(ranked[:, 0], [1, 0, 2])
    # f64 values and thresholds beyond float32's range keep their order: the padding is f64's
    # largest value, not float32's
    op = stumps([0, 0], [0.0, 1e300], DType.f64)
    ranks, ranked = searched(op, 1, np.array([[1e299], [2e300], [-1.0]]))
    np.testing.assert_array_equal(ranked[:, 0], [1, 2, 0])


def test_thresholds_rounded_down_after_lowering_keep_the_ranks() -> None:
    # lowered first, then to-f32: 300 f64 thresholds on one column, many of them rounding down
    # to the same float32, over three search steps; the leaves are scikit-learn's comparison
    # float32(x) <= float64(t), which rounding the bound down keeps
    rng = np.random.default_rng(0)
    base = rng.normal(size=30).astype(np.float32).astype(np.float64)
    nearby = np.array([-1e-9, 0.0, 1e-9, 3e-8, -3e-8, 1e-7, 0.25, 1e-12, 2e-9, -2e-9])
    thresholds = list((base[:, None] + nearby).ravel())
    op = stumps([0] * 300, thresholds, DType.f64)
    b, x = Builder.new("stumps", 1, DType.f32)
    leaves, _ = b.apply(op, x)
    b.output("leaves", leaves)
    module = PassManager([LowerTrees("traversal"), *parse_pipeline("to-f32,cse,dce")]).run(b.module).module
    assert keyed(module)
    X = np.concatenate([base, np.nextafter(base.astype(np.float32), np.float32(np.inf)), [np.nan, 0.0]])
    X = X.astype(np.float32).reshape(-1, 1)
    np.testing.assert_array_equal(interpret(module, X, "native")["leaves"], op.leaves_of(X))



def ensemble(depths: list[int], seed: int) -> tuple[TreeEnsemble, Module]:
    rng = np.random.default_rng(seed)
    op = chains(depths, rng)
    # a few thresholds shared between nodes, and NaN sent left at some of them
    threshold = op.threshold.array.copy()
    threshold[::3] = np.round(threshold[::3])
    missing = rng.random(len(threshold)) < 0.3
    # +inf: every number goes left; -inf: only -inf does (where NaN goes right: sending it left
    # at -inf is a case of its own, which no supported library's model has)
    threshold[1::17] = np.inf
    threshold[2::19] = np.where(missing[2::19], threshold[2::19], -np.inf)
    op = dataclasses.replace(op, threshold=Tensor(threshold, DType.f32), missing_left=Tensor(missing, DType.bool))
    b, x = Builder.new("chains", 3, DType.f32)
    leaves, scores = b.apply(op, x)
    b.output("leaves", leaves)
    b.output("scores", scores)
    return op, b.module


def keyed(module: Module) -> bool:
    """Whether a lowered module walks keyed: only the rank search widens the input to 3-D."""
    return any(n.op.name == "expand_dims" for n in module.nodes)


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


def test_each_walk_beyond_the_numbers_float32_holds_walks_compact(monkeypatch: pytest.MonkeyPatch) -> None:
    # few distinct leaf values: the scores walk has fewer leaf rows, so fewer numbers, than the
    # leaves walk; a limit between the two keys the first and walks the second compact
    op, _ = ensemble([3, 2, 4, 6, 5], 0)
    op = dataclasses.replace(op, values=Tensor(np.round(op.values.array), DType.f32))
    b, x = Builder.new("chains", 3, DType.f32)
    leaves, scores = b.apply(op, x)
    b.output("leaves", leaves)
    b.output("scores", scores)
    built: list[traversal.KeyedWalk | None] = []
    of = traversal.KeyedWalk.of
    monkeypatch.setattr(traversal.KeyedWalk, "of", staticmethod(lambda *a: built.append(of(*a)) or built[-1]))
    fast = lowered(b.module)
    numbers = [len(w.children) // 2 for w in built if w is not None]
    assert len(numbers) == 2 and numbers[0] < numbers[1]
    monkeypatch.setattr(traversal, "MAX_KEYED_NUMBERS", numbers[0])
    mixed = lowered(b.module)
    assert keyed(mixed) and str(mixed) != str(fast)
    X = np.random.default_rng(1).normal(size=(100, 3)).astype(np.float32)
    got = interpret(mixed, X, "native")
    np.testing.assert_array_equal(got["leaves"], op.leaves_of(X))
    np.testing.assert_array_equal(got["scores"], interpret(fast, X, "native")["scores"])
    monkeypatch.setattr(traversal, "MAX_KEYED_NUMBERS", numbers[0] - 1)
    assert str(lowered(b.module)) == str(lowered(b.module, "compact"))


def test_the_search_reads_only_the_columns_some_node_tests_and_uneven_columns_walk_compact() -> None:
    # 40 columns, 10 of them tested: the search's first pivots cover those 10
    op = stumps([3, 7, 11, 13, 17, 19, 23, 29, 31, 37] * 3, list(np.linspace(-1, 1, 30)))
    b, x = Builder.new("sparse", 40, DType.f32)
    leaves, _ = b.apply(op, x)
    b.output("leaves", leaves)
    module = lowered(b.module)
    assert keyed(module)
    pivots = [n.op.value.array for n in module.nodes if n.op.name == "constant" and n.op.value.array.ndim == 2
              and n.op.value.dtype.is_float]
    assert pivots and pivots[0].shape[0] == 10
    X = np.random.default_rng(0).normal(size=(50, 40)).astype(np.float32)
    np.testing.assert_array_equal(interpret(module, X, "native")["leaves"], op.leaves_of(X))
    # one busy column among many tested once: the numbers (a span per column) would pass four
    # times the nodes, so the walk stays compact
    op = stumps([0] * 200 + list(range(1, 40)), list(np.linspace(-1, 1, 239)))
    b, x = Builder.new("uneven", 40, DType.f32)
    leaves, _ = b.apply(op, x)
    b.output("leaves", leaves)
    assert not keyed(lowered(b.module))


def test_node_numbers_follow_column_and_threshold() -> None:
    # column 1 has three nodes (span 4); column 0 two; the leaf rows after 2 x 4 numbers
    op = stumps([1, 0, 1, 1, 0], [0.5, 2.0, -1.0, 0.5, 1.0])
    ranks = Ranks.of(op, op.feature.array, 2, ANY)
    assert ranks is not None
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

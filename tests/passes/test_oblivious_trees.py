"""Oblivious trees (each level asks every row one question: CatBoost's, a forest of stumps) under
the perfect strategy: no walk, one gather of constant columns per level, and the same leaves as
every other strategy; ``auto`` picks it for them beyond the depth where padding would not pay."""

from __future__ import annotations

import numpy as np
import pytest

from sklir.ir import Builder, DType, Module, Tensor, interpret
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.passes.lower_trees import STRATEGIES, LowerTrees, choose
from sklir.passes.manager import PassManager, parse_pipeline
from sklir.passes.trees.perfect import is_oblivious


def oblivious(depth: int, trees: int, rng: np.random.Generator, twist: bool = False) -> TreeEnsemble:
    """``trees`` perfect trees of ``depth`` over 3 columns in heap order, level ``d`` of tree ``t``
    asking one question (column, threshold, NaN side) of every node; with ``twist`` one node of the
    last level asks another, so the ensemble is no longer oblivious."""
    internal, size = 2 ** depth - 1, 2 ** (depth + 1) - 1
    feature, threshold, missing, left, right, roots = [], [], [], [], [], []
    for t in range(trees):
        root = t * size
        roots.append(root)
        asked = rng.integers(0, 3, depth)
        bound = rng.normal(size=depth).round(2)
        side = rng.random(depth) < 0.5
        for n in range(size):
            level = int(np.floor(np.log2(n + 1)))
            inner = n < internal
            feature.append(int(asked[level]) if inner else 0)
            threshold.append(float(bound[level]) if inner else 0.0)
            missing.append(bool(side[level]) if inner else False)
            left.append(root + 2 * n + 1 if inner else root + n)
            right.append(root + 2 * n + 2 if inner else root + n)
    if twist:
        threshold[internal - 1] += 0.5
    nodes = len(feature)
    return TreeEnsemble(feature=Tensor(feature, DType.i64), threshold=Tensor(threshold, DType.f64),
                        left=Tensor(left, DType.i64), right=Tensor(right, DType.i64),
                        missing_left=Tensor(missing, DType.bool), roots=Tensor(roots, DType.i64),
                        values=Tensor(rng.normal(size=(nodes, 2)), DType.f64),
                        weights=Tensor(np.full(trees, 0.5), DType.f64), base=Tensor([0.25, -1.0], DType.f64))


def module_of(op: TreeEnsemble) -> Module:
    b, x = Builder.new("oblivious", 3, DType.f32)
    leaves, scores = b.apply(op, b.call("cast", x, to=DType.f64))
    b.output("leaves", leaves)
    b.output("scores", scores)
    return b.module


def rows(rng: np.random.Generator) -> np.ndarray:
    X = rng.normal(size=(200, 3)).round(2).astype(np.float32)  # on the thresholds' grid: ties too
    X[::7, 1] = np.nan
    return X


def test_oblivious_ensembles_are_told_from_others() -> None:
    rng = np.random.default_rng(0)
    assert is_oblivious(oblivious(3, 4, rng))
    assert not is_oblivious(oblivious(3, 4, rng, twist=True))


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_finds_the_leaves_of_oblivious_trees(strategy: str) -> None:
    rng = np.random.default_rng(1)
    module = module_of(oblivious(4, 5, rng))
    X = rows(rng)
    want = interpret(module, X)
    got = interpret(PassManager([LowerTrees(strategy), *parse_pipeline("cse,dce")]).run(module).module, X)
    np.testing.assert_array_equal(got["leaves"], want["leaves"])
    np.testing.assert_allclose(got["scores"], want["scores"], rtol=1e-12)


def test_perfect_reads_oblivious_trees_without_a_walk() -> None:
    module = module_of(oblivious(4, 5, np.random.default_rng(2)))
    lowered = PassManager([LowerTrees("perfect"), *parse_pipeline("cse,dce")]).run(module).module
    names = [node.op.name for node in lowered.nodes]
    # a walk reads each row's column with take_along_axis at positions computed level by level
    assert "take_along_axis" not in names
    assert names.count("compare") == 4  # one per level, every tree at once


def test_auto_picks_perfect_for_deep_oblivious_trees_only() -> None:
    rng = np.random.default_rng(3)
    assert choose(oblivious(12, 2, rng)) == "perfect"  # deeper than padding pays for otherwise
    assert choose(oblivious(12, 2, rng, twist=True)) == "traversal"

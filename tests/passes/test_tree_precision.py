"""Tree decisions in float32 equal scikit-learn's ``float32(x) <= float64(threshold)``.

- ``to-f32`` rounds a tree ensemble's thresholds down (the largest f32 not above) and its leaf
  values to nearest: the rule is chosen per (op, attribute);
- a threshold that reaches its comparison through gathers (a tree lowered before ``to-f32``) is
  rounded down too;
- the f64 reference interpreter honours an explicit ``cast {to = f32}``;
- property: for thresholds at and next to float32 grid points and inputs around them, every
  strategy's lowered f32 module decides as scikit-learn does.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from sklir.ir import Builder, DType, Module, Tensor, interpret
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.passes.lower_trees import STRATEGIES, LowerTrees
from sklir.passes.manager import PassManager
from sklir.passes.pipelines import precision_pipeline
from sklir.passes.precision import ToF32


def stump(threshold: float, value_left: float = 0.1, value_right: float = 0.7) -> Module:
    """One split on column 0 of a 1-column input (cast to f32 first, as the frontend writes it)."""
    b, x = Builder.new("stump", 1)
    x32 = b.call("cast", b.call("cast", x, to=DType.f64), to=DType.f32)
    op = TreeEnsemble(
        feature=Tensor([0, 0, 0], DType.i64), threshold=Tensor([threshold, 0.0, 0.0], DType.f64),
        left=Tensor([1, 1, 2], DType.i64), right=Tensor([2, 1, 2], DType.i64),
        missing_left=Tensor([False, False, False], DType.bool), roots=Tensor([0], DType.i64),
        values=Tensor([[0.0], [value_left], [value_right]], DType.f64), weights=Tensor([1.0], DType.f64),
        base=Tensor([0.0], DType.f64))
    leaves, scores = b.apply(op, x32)
    b.output("leaves", leaves)
    b.output("scores", scores)
    return b.module


def _ensemble(module: Module) -> TreeEnsemble:
    (op,) = [n.op for n in module.nodes if isinstance(n.op, TreeEnsemble)]
    return op


def test_thresholds_round_down_and_values_to_nearest() -> None:
    t = 0.1  # f32(0.1) is above 0.1
    after = _ensemble(PassManager([ToF32()]).run(stump(t, value_left=0.1)).module)
    rounded = after.threshold.array[0]
    assert rounded.dtype == np.float32
    assert float(rounded) <= t < float(np.nextafter(rounded, np.float32(np.inf)))
    assert after.values.array[1, 0] == np.float32(0.1)  # nearest, which is above 0.1


def _sklearn_leaf(x: np.ndarray, t: float) -> np.ndarray:
    return np.where(x.astype(np.float32).astype(np.float64) <= t, 1, 2)


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
@pytest.mark.parametrize("order", ["to-f32 first", "lowered first"])
def test_decisions_at_the_threshold(strategy: str, order: str) -> None:
    t = 0.1
    f = np.float32(t)
    x = np.array([np.nextafter(f, np.float32(-1)), f, np.nextafter(f, np.float32(1)), -f, 0.0],
                 dtype=np.float32).reshape(-1, 1)
    passes = [ToF32(), LowerTrees(strategy)] if order == "to-f32 first" else [LowerTrees(strategy), ToF32()]
    module = PassManager(passes).run(stump(t)).module
    assert all(not isinstance(n.op, TreeEnsemble) for n in module.nodes)
    got = interpret(module, x, "native")["leaves"][:, 0]
    np.testing.assert_array_equal(got, _sklearn_leaf(x[:, 0], t))


def test_the_f64_interpreter_honours_an_explicit_cast_to_f32() -> None:
    # a scaler in f64 gives v = 0.1 (f64); scikit-learn's tree sees float32(v) > 0.1
    b, x = Builder.new("scaled", 1)
    v = b.call("mul", b.call("cast", x, to=DType.f64), b.const(np.array([0.1])))
    b.output("f32", b.call("cast", v, to=DType.f32))
    got = interpret(b.module, np.array([[1.0]], dtype=np.float32))["f32"]
    assert got.dtype == np.float64 and got[0, 0] == float(np.float32(0.1)) != 0.1


# thresholds: f32 grid points, their neighbours in f64, and midpoints between grid points
def _thresholds() -> st.SearchStrategy[float]:
    grid = st.floats(-1e6, 1e6, allow_nan=False, width=32)
    nudged = st.tuples(grid, st.sampled_from([-1, 0, 1])).map(
        lambda gt: float(np.nextafter(np.float64(gt[0]), np.inf * gt[1])) if gt[1] else gt[0])
    midpoints = grid.map(lambda g: (g + float(np.nextafter(np.float32(g), np.float32(np.inf)))) / 2)
    return st.one_of(grid, nudged, midpoints)


@settings(max_examples=examples(60), deadline=None)
@given(t=_thresholds(), steps=st.lists(st.integers(-3, 3), min_size=1, max_size=8))
def test_every_strategy_decides_as_sklearn_around_the_threshold(t: float, steps: list[int]) -> None:
    base = np.float32(t)
    x = []
    for k in steps:  # inputs k float32 steps away from the threshold's nearest float32
        v = base
        for _ in range(abs(k)):
            v = np.nextafter(v, np.float32(np.inf if k > 0 else -np.inf))
        x.append(v)
    X = np.array(x, dtype=np.float32).reshape(-1, 1)
    want = _sklearn_leaf(X[:, 0], t)
    for strategy in STRATEGIES:
        module = precision_pipeline("f32", tree_strategy=strategy).run(stump(t)).module
        np.testing.assert_array_equal(interpret(module, X, "native")["leaves"][:, 0], want, err_msg=strategy)


def _deep_chain(depth: int) -> Module:
    """One tree that splits ``depth`` times down its left side: tiny, but deep."""
    n = 2 * depth + 1
    feature, threshold = np.zeros(n, np.int64), np.zeros(n)
    left, right = np.arange(n), np.arange(n)
    for d in range(depth):  # node 2d splits into 2d + 1 (a leaf) and 2d + 2
        left[2 * d], right[2 * d], threshold[2 * d] = 2 * d + 2, 2 * d + 1, -float(d)
    b, x = Builder.new("deep", 1)
    op = TreeEnsemble(feature=Tensor(feature, DType.i64), threshold=Tensor(threshold, DType.f64),
                      left=Tensor(left, DType.i64), right=Tensor(right, DType.i64),
                      missing_left=Tensor(np.zeros(n, bool), DType.bool), roots=Tensor([0], DType.i64),
                      values=Tensor(np.arange(n, dtype=float).reshape(-1, 1), DType.f64),
                      weights=Tensor([1.0], DType.f64), base=Tensor([0.0], DType.f64))
    leaves, scores = b.apply(op, b.call("cast", x, to=DType.f32))
    b.output("leaves", leaves)
    return b.module


def test_strategies_refuse_ensembles_they_cannot_hold_and_auto_avoids_them() -> None:
    from sklir.errors import SklirError
    from sklir.passes.lower_trees import choose

    deep = _deep_chain(40)
    assert choose(_ensemble(deep)) == "gemm"  # deep, but its path matrix is small (40 x 41)
    with pytest.raises(SklirError, match="padding 1 trees to depth 40 .* use the traversal strategy"):
        precision_pipeline("f32", tree_strategy="perfect").run(deep)
    X = np.array([[0.5], [-3.5], [-39.5], [-100.0]], dtype=np.float32)
    want = interpret(deep, X)["leaves"]
    for strategy in ("gemm", "traversal"):
        module = precision_pipeline("f32", tree_strategy=strategy).run(deep).module
        np.testing.assert_array_equal(interpret(module, X, "native")["leaves"], want)

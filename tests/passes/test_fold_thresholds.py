"""``fold-thresholds``: a tree ensemble after column-wise steps reads the float32 input directly,
with thresholds that give every float32 input the decision the steps computed in float64 give.

- before/after through the interpreter: leaves identical on inputs at, and one to three float32
  steps either side of, every threshold's preimage (where rounding could flip a decision), NaN
  and infinities included; the steps disappear;
- property: random scales, offsets and thresholds (hypothesis), decisions identical;
- an imputer before the tree: NaN then goes where the fill value goes;
- steps it must not move through (a negative scale, a matrix product) leave the module as it was;
- the pass never mutates its input.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sklir.ir import Builder, DType, Module, Tensor, interpret
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.ir.printer import print_module
from sklir.passes.fold_thresholds import FoldThresholds
from sklir.passes.manager import PassManager


def ensemble_of(module: Module) -> TreeEnsemble:
    (op,) = [n.op for n in module.nodes if isinstance(n.op, TreeEnsemble)]
    return op


def forest(thresholds: list[float], features: list[int], missing_left: list[bool] | None = None) -> TreeEnsemble:
    """One stump per threshold (node 3t splits column ``features[t]``; 3t+1 and 3t+2 are leaves)."""
    n = len(thresholds)
    feature, threshold, left, right, missing = [], [], [], [], []
    for t in range(n):
        root = 3 * t
        feature += [features[t], 0, 0]
        threshold += [thresholds[t], 0.0, 0.0]
        left += [root + 1, root + 1, root + 2]
        right += [root + 2, root + 1, root + 2]
        missing += [bool(missing_left[t]) if missing_left else False, False, False]
    return TreeEnsemble(
        feature=Tensor(feature, DType.i64), threshold=Tensor(threshold, DType.f64),
        left=Tensor(left, DType.i64), right=Tensor(right, DType.i64), missing_left=Tensor(missing, DType.bool),
        roots=Tensor(np.arange(n) * 3, DType.i64), values=Tensor(np.arange(3.0 * n).reshape(-1, 1), DType.f64),
        weights=Tensor(np.ones(n), DType.f64), base=Tensor([0.0], DType.f64))


def scaled_forest(mean: np.ndarray, scale: np.ndarray, op: TreeEnsemble, cast: bool = True,
                  fill: np.ndarray | None = None) -> Module:
    """``x -> (x - mean) / scale`` in f64 (an imputer first with ``fill``), then ``op`` (on its
    float32 cast with ``cast``, as scikit-learn's trees; on the f64 value as HistGradientBoosting)."""
    b, x = Builder.new("scaled", len(mean))
    v = b.call("cast", x, to=DType.f64)
    if fill is not None:
        v = b.call("select", b.call("isnan", v), b.const(fill), v)
    z = b.call("div", b.call("sub", v, b.const(mean)), b.const(scale))
    leaves, scores = b.apply(op, b.call("cast", z, to=DType.f32) if cast else z)
    b.output("leaves", leaves)
    b.output("scores", scores)
    return b.module


def near_preimages(mean: np.ndarray, scale: np.ndarray, op: TreeEnsemble) -> np.ndarray:
    """Rows putting each internal node's column at, and 1-3 float32 steps around, ``t * scale + mean``."""
    internal = np.flatnonzero(op.internal)
    rows = []
    for k in internal:
        f, t = op.feature.array[k], op.threshold.array[k]
        centre = np.float32(t * scale[f] + mean[f])
        for step in range(-3, 4):
            v = centre
            for _ in range(abs(step)):
                v = np.nextafter(v, np.float32(np.inf if step > 0 else -np.inf))
            row = np.zeros(len(mean), np.float32)
            row[f] = v
            rows.append(row)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0], np.float32)
    rows += [np.full(len(mean), s, np.float32) for s in specials]
    return np.array(rows)


def assert_same_decisions(before: Module, X: np.ndarray) -> Module:
    result = PassManager([FoldThresholds()]).run(before)
    assert result.modified
    after = result.module
    np.testing.assert_array_equal(interpret(after, X)["leaves"], interpret(before, X)["leaves"])
    return after


def test_a_scaler_before_a_forest_folds_into_its_thresholds() -> None:
    mean, scale = np.array([0.1, -3.7]), np.array([0.3, 1e-3])
    op = forest([0.1, -0.2, 1.0 / 3, 7.5], [0, 1, 0, 1], missing_left=[True, False, False, True])
    before = scaled_forest(mean, scale, op)
    text = print_module(before)
    after = assert_same_decisions(before, near_preimages(mean, scale, op))
    assert print_module(before) == text  # the input module is untouched
    # the ensemble reads the input itself; nothing else is left of the scaler once dce runs
    (node,) = [n for n in after.nodes if isinstance(n.op, TreeEnsemble)]
    assert node.operands[0] is after.inputs[0]


def test_histgradientboosting_reads_the_float64_value() -> None:
    mean, scale = np.array([5.0, 0.25]), np.array([2.0, 0.1])
    op = forest([0.123456789, -1.1, np.inf], [0, 1, 1])  # +inf: HistGradientBoosting's "missing or not"
    before = scaled_forest(mean, scale, op, cast=False)
    after = assert_same_decisions(before, near_preimages(mean, scale, op))
    assert np.isposinf(ensemble_of(after).threshold.array[6])


def test_an_imputer_sends_nan_where_its_fill_value_goes() -> None:
    mean, scale, fill = np.array([0.0, 0.0]), np.array([1.0, 1.0]), np.array([0.5, -2.0])
    op = forest([0.25, 0.0], [0, 1], missing_left=[True, True])  # fill 0.5 > 0.25: right; -2 <= 0: left
    before = scaled_forest(mean, scale, op, fill=fill)
    X = np.array([[np.nan, np.nan], [0.25, 0.0], [0.2500001, 1e-30]], np.float32)
    after = assert_same_decisions(before, X)
    assert ensemble_of(after).missing_left.array.tolist() == [False, False, False, True, False, False]


@settings(max_examples=60, deadline=None)
@given(mean=st.floats(-1e4, 1e4), scale=st.floats(1e-6, 1e6),
       thresholds=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=4))
def test_property_decisions_identical(mean: float, scale: float, thresholds: list[float]) -> None:
    means, scales = np.array([mean]), np.array([scale])
    op = forest(thresholds, [0] * len(thresholds))
    for cast in (True, False):
        before = scaled_forest(means, scales, op, cast=cast)
        assert_same_decisions(before, near_preimages(means, scales, op))


def test_steps_it_cannot_move_through_are_left_alone() -> None:
    op = forest([0.5], [0])
    negative = scaled_forest(np.array([0.0]), np.array([-2.0]), op)  # decreasing: not folded
    assert not PassManager([FoldThresholds()]).run(negative).modified
    b, x = Builder.new("mixed", 2)
    z = b.call("matmul", b.call("cast", x, to=DType.f64), b.const(np.array([[1.0, 2.0], [3.0, 4.0]])))
    leaves, scores = b.apply(op, b.call("cast", z, to=DType.f32))
    b.output("scores", scores)
    assert not PassManager([FoldThresholds()]).run(b.module).modified


def test_column_maps_clip_and_a_constant_first_are_followed() -> None:
    # x (3 columns) -> columns [2, 0, 2] -> 0.5 + v -> clip to [-1, 2] -> trees on columns 0, 1, 2
    b, x = Builder.new("mapped", 3)
    v = b.call("gather", b.call("cast", x, to=DType.f64), b.const(np.array([2, 0, 2], np.int64)), axis=1)
    v = b.call("clip", b.call("add", b.const(np.array([0.5, 0.25, -0.125])), v), min=-1.0, max=2.0)
    op = forest([0.3, -0.6, 1.9], [0, 1, 2])
    leaves, scores = b.apply(op, b.call("cast", v, to=DType.f32))
    b.output("leaves", leaves)
    b.output("scores", scores)
    rows = [np.full(3, s, np.float32) for s in (np.nan, np.inf, -np.inf, 0.0)]
    for column, centre in ((2, -0.2), (0, -0.85), (2, 2.025)):
        for step in range(-3, 4):
            row = np.zeros(3, np.float32)
            row[column] = np.float32(centre)
            for _ in range(abs(step)):
                row[column] = np.nextafter(row[column], np.float32(np.inf if step > 0 else -np.inf))
            rows.append(row)
    after = assert_same_decisions(b.module, np.array(rows))
    assert ensemble_of(after).feature.array[[0, 3, 6]].tolist() == [2, 0, 2]
    assert not PassManager([FoldThresholds()]).run(after).modified  # a second run finds nothing


def test_a_threshold_no_input_reaches_is_not_folded() -> None:
    # clip(min=0.5): every input becomes at least 0.5, so x <= 0.25 holds for none
    b, x = Builder.new("clipped", 1)
    v = b.call("clip", b.call("cast", x, to=DType.f64), min=0.5, max=4.0)
    leaves, scores = b.apply(forest([0.25], [0]), b.call("cast", v, to=DType.f32))
    b.output("scores", scores)
    assert not PassManager([FoldThresholds()]).run(b.module).modified


def test_an_ensemble_with_categorical_nodes_is_left_alone() -> None:
    op = forest([0.5], [0])
    op = type(op)(**{**op.attributes(), "categorical": Tensor([0], DType.i64),
                     "category_left": Tensor([[True, False]], DType.bool)})
    assert not PassManager([FoldThresholds()]).run(scaled_forest(np.array([0.0]), np.array([2.0]), op)).modified

"""to-f32: every f64 value becomes f32, constants rounded per op, labels kept exact."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import dataset, examples
from hypothesis import given, settings
from hypothesis import strategies as st
from pass_checks import assert_same_outputs

from sklir.errors import IRError
from sklir.ir import Builder, DType, Module, Tensor, interpret, parse, print_module, verify
from sklir.ir.dialects.tensor import Constant
from sklir.passes import precision
from sklir.passes.manager import make_pass
from sklir.passes.pipelines import default_pipeline, precision_pipeline


def _classifier(classes: np.ndarray) -> Module:
    """A small hand-written linear classifier on iris-width inputs with the given class values."""
    b, x = Builder.new("classifier", 4)
    v = b.call("cast", x, to=DType.f64)
    weights = np.array([[0.4, -0.1, 0.3], [1.1, 0.2, -0.9], [-2.2, 0.1, 2.0], [-0.9, -0.8, 2.3]])
    logits = b.call("add", b.call("matmul", v, b.const(weights)), b.const([0.3, 1.7, -2.1]))
    b.output("label", b.call("label_lookup", b.call("argmax", logits, axis=1), classes=Tensor(classes)))
    b.output("probabilities", b.call("softmax", logits, axis=1))
    return b.module


def test_every_float_value_becomes_f32_and_the_input_cast_goes() -> None:
    before = default_pipeline().run(_classifier(np.array([0.5, 1.5, -2.0]))).module
    after = precision_pipeline("f32").run(before).module
    types = [v.type for v in after.inputs] + [r.type for n in after.nodes for r in n.results]
    assert DType.f64 not in {t.dtype for t in types}
    assert "cast" not in [n.op.name for n in after.nodes]
    X = dataset("iris")[0]
    out = interpret(after, X, "native")
    assert out["probabilities"].dtype == np.float32 and out["label"].dtype == np.float32
    # f32 arithmetic against the f64 reference: 1e-6 of each output's scale
    assert_same_outputs(before, after, X, rtol=1e-6)
    assert print_module(parse(print_module(after))) == print_module(after)


def test_to_f32_is_idempotent() -> None:
    once = precision_pipeline("f32").run(_classifier(np.array([1.0, 2.0, 3.0]))).module
    again = precision_pipeline("f32").run(once)
    assert not again.modified and print_module(again.module) == print_module(once)


def test_label_classes_that_f32_cannot_hold_are_refused_by_value() -> None:
    with pytest.raises(IRError, match=r"label_lookup: class 0\.1 is not exactly representable in f32"):
        precision_pipeline("f32").run(_classifier(np.array([0.1, 0.5, 2.0])))


def test_integer_and_string_labels_are_untouched() -> None:
    for classes in (np.array([3, 7, 11]), np.array(["a", "b", "c"], dtype=object)):
        after = precision_pipeline("f32").run(_classifier(classes)).module
        (lookup,) = [n for n in after.nodes if n.op.name == "label_lookup"]
        assert lookup.op.classes == Tensor(classes)


def test_cast_to_f64_from_an_integer_becomes_cast_to_f32() -> None:
    b, x = Builder.new("counts", 2, DType.i64)
    b.output("transform", b.call("mul", b.call("cast", x, to=DType.f64), b.const(0.1)))
    after = precision_pipeline("f32").run(b.module).module
    (cast,) = [n for n in after.nodes if n.op.name == "cast"]
    assert cast.op.to is DType.f32
    const = next(n.op.value for n in after.nodes if isinstance(n.op, Constant))
    assert const == Tensor(np.float32(0.1), DType.f32)


def test_rounding_rule_table_is_consulted_per_op_class(monkeypatch: pytest.MonkeyPatch) -> None:
    def round_down(values: np.ndarray) -> np.ndarray:
        # the largest f32 not above each value: what tree thresholds will need
        nearest = values.astype(np.float32)
        return np.where(nearest > values, np.nextafter(nearest, np.float32(-np.inf)), nearest)

    monkeypatch.setitem(precision.ROUNDING, Constant, round_down)
    b, x = Builder.new("threshold", 1)
    b.output("transform", b.call("add", b.call("cast", x, to=DType.f64), b.const([0.1])))
    after = precision_pipeline("f32").run(b.module).module
    value = next(n.op.value for n in after.nodes if isinstance(n.op, Constant)).array[0]
    # compare as python floats: numpy would compare an f32 with 0.1 in f32
    assert float(value) < 0.1 < float(np.nextafter(value, np.float32(1)))


@pytest.mark.sweep
@settings(max_examples=examples(200), deadline=None)
@given(bound=st.floats(-1e6, 1e6, allow_nan=False), predicate=st.sampled_from(["gt", "ge", "lt", "le"]),
       flipped=st.booleans())
def test_comparison_bounds_keep_every_f32_decision(bound: float, predicate: str, flipped: bool) -> None:
    # the f32 numbers around the bound are where rounding to nearest would flip a decision
    b, x = Builder.new("bound", 1)
    x64 = b.call("cast", x, to=DType.f64)
    c = b.const(np.array(bound))
    b.output("out", b.call("compare", *((c, x64) if flipped else (x64, c)), predicate=predicate))
    before = verify(b.module)
    after = make_pass("to-f32").run(before).module
    near = np.float32(bound)
    X = np.array([np.nextafter(near, -np.inf), near, np.nextafter(near, np.inf)], np.float32).reshape(-1, 1)
    want = interpret(before, X)["out"]
    got = interpret(after, X, precision="native")["out"]
    assert np.array_equal(got, want), (bound, predicate, flipped, X.ravel(), want, got)


def test_rounding_subnormals_ignores_a_callers_raise_on_underflow() -> None:
    # some libraries (emlearn) call np.seterr(all="raise") at import
    from sklir.passes.precision import ToF32

    b, x = Builder.new("tiny", 1)
    b.output("out", b.call("compare", b.call("cast", x, to=DType.f64), b.const(np.array([1e-45, 1e-40])),
                           predicate="le"))
    with np.errstate(all="raise"):
        ToF32().run(b.module)

"""Types and the verifier: broadcasting with the batch dimension N, TensorType checks, SSA errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sklir.errors import IRError
from sklir.ir import Builder, DType, Module, N, Node, Tensor, TensorType, Value, verify
from sklir.ir.dialects.arith import BINARY_OPS
from sklir.ir.dialects.linalg import MatMul
from sklir.ir.dialects.tensor import Constant
from sklir.ir.types import broadcast_shapes, concrete_shape


@pytest.mark.parametrize(("shapes", "expected"), [
    ([(N, 3), (3,)], (N, 3)),
    ([(N, 3), (1, 3)], (N, 3)),
    ([(N, 1), (1, 4)], (N, 4)),
    ([(N, 1), (4,)], (N, 4)),
    ([(N, 3), (N, 3)], (N, 3)),
    ([(N, 3), (N, 1)], (N, 3)),
    ([(1,), (N, 1)], (N, 1)),
    ([(), (N, 2)], (N, 2)),
    ([(N,), (N,)], (N,)),
    ([(N, 1, 3), (2, 1)], (N, 2, 3)),
    ([(N, 3), (3,), ()], (N, 3)),
    ([(0,), (1,)], (0,)),
    ([(N, 0), (1, 0)], (N, 0)),
    ([(1, 1), (1,)], (1, 1)),
    ([], ()),
])
def test_broadcast_shapes(shapes: list[tuple], expected: tuple) -> None:
    assert broadcast_shapes(*shapes) == expected
    assert broadcast_shapes(*reversed(shapes)) == expected


@pytest.mark.parametrize("shapes", [
    [(N, 3), (2, 3)],  # the batch size is unknown until run time, so N never meets a fixed size
    [(N, 3), (5, 1)],
    [(N,), (3,)],
    [(N, 3), (4,)],
    [(0,), (2,)],
    [(N, 2), (N, 3)],
])
def test_broadcast_shapes_refuses(shapes: list[tuple]) -> None:
    with pytest.raises(IRError, match="do not broadcast"):
        broadcast_shapes(*shapes)


def test_broadcast_matches_numpy_for_every_batch_size() -> None:
    cases = [((N, 1, 3), (2, 1)), ((N, 3), ()), ((1, N, 1), (4, 1, 2))]
    for a, b in cases:
        for batch in (1, 5):
            want = np.broadcast_shapes(concrete_shape(a, batch), concrete_shape(b, batch))
            assert concrete_shape(broadcast_shapes(a, b), batch) == want


def test_tensor_type_validates_dimensions() -> None:
    for bad in [(-1,), (N, 2.0), (True,), ("3",), (None,)]:
        with pytest.raises(IRError, match="bad dimension"):
            TensorType(DType.f32, bad)  # type: ignore[arg-type]


def test_tensor_type_value_semantics() -> None:
    t = TensorType(DType.f32, (N, 3))
    assert str(t) == "f32[N,3]" and str(TensorType(DType.f64, ())) == "f64[]"
    assert str(TensorType(DType.str, (0, 2))) == "str[0,2]"
    assert t == TensorType(DType.f32, (N, 3)) and hash(t) == hash(TensorType(DType.f32, (N, 3)))
    assert t != TensorType(DType.f64, (N, 3)) and t != TensorType(DType.f32, (3, N))
    assert t.rank == 2 and t.has_batch and not TensorType(DType.f32, (2, 3)).has_batch
    assert t.with_dtype(DType.bool) == TensorType(DType.bool, (N, 3))
    assert t.with_shape((N,)) == TensorType(DType.f32, (N,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.shape = (1,)  # type: ignore[misc]


def test_dtype_numpy_mapping() -> None:
    assert {d.numpy for d in DType} == {np.dtype(x) for x in ("float32", "float64", "int8", "int16", "int32", "int64",
                                                                "bool", "O")}
    assert DType.of_numpy(np.dtype("<U3")) is DType.str and DType.of_numpy(np.int32) is DType.i32
    assert [d for d in DType if d.is_float] == [DType.f32, DType.f64]
    assert [d for d in DType if d.is_int] == [DType.i8, DType.i16, DType.i32, DType.i64]
    # i8 and i16 only store: indices and arithmetic take i32 and i64
    assert [d for d in DType if d.only_stores] == [DType.i8, DType.i16]
    assert [d for d in DType if d.is_index] == [DType.i32, DType.i64]
    assert [d for d in DType if d.is_number] == [DType.f32, DType.f64, DType.i32, DType.i64]
    with pytest.raises(IRError, match="no IR dtype"):
        DType.of_numpy(np.complex64)


def _x() -> Value:
    return Value(TensorType(DType.f64, (N, 2)), "x")


def test_verifier_reports_use_before_definition() -> None:
    x = _x()
    later = Value(TensorType(DType.f64, (N, 2)))
    first = Node(BINARY_OPS["add"](), (x, later), (Value(TensorType(DType.f64, (N, 2))),))
    second = Node(BINARY_OPS["mul"](), (x, x), (later,))
    module = Module("m", [x], [first, second], {"y": first.results[0]})
    with pytest.raises(IRError, match=r"op #0 \(add\): operand %\? is used before it is defined"):
        verify(module)
    module.nodes.reverse()  # the same nodes in dependency order verify
    assert verify(module) is module


def test_verifier_names_the_text_position_when_a_node_has_one() -> None:
    x = _x()
    ghost = Value(TensorType(DType.f64, (N, 2)), "ghost")
    node = Node(BINARY_OPS["add"](), (x, ghost), (Value(TensorType(DType.f64, (N, 2))),), loc=(7, 3))
    with pytest.raises(IRError, match=r"^line 7, column 3: operand %ghost is used before it is defined"):
        verify(Module("m", [x], [node], {"y": node.results[0]}))


def test_verifier_reports_a_value_defined_twice() -> None:
    x = _x()
    v = Value(TensorType(DType.f64, (N, 2)))
    nodes = [Node(BINARY_OPS["add"](), (x, x), (v,)), Node(BINARY_OPS["mul"](), (x, x), (v,))]
    with pytest.raises(IRError, match=r"op #1 \(mul\): value %\? is defined twice"):
        verify(Module("m", [x], nodes, {"y": v}))


def test_verifier_reports_a_result_type_that_differs_from_inference() -> None:
    x = _x()
    wrong = Node(BINARY_OPS["add"](), (x, x), (Value(TensorType(DType.f32, (N, 2))),))
    with pytest.raises(IRError, match=r"add yields f64\[N,2\], declared f32\[N,2\]"):
        verify(Module("m", [x], [wrong], {"y": wrong.results[0]}))


def test_verifier_reports_operand_type_errors_with_the_op() -> None:
    b, x = Builder.new("m", 3, DType.f64)
    w = b.const(np.zeros((4, 1)))
    b.module.nodes.append(Node(MatMul(), (x, w), (Value(TensorType(DType.f64, (N, 1))),)))
    b.output("y", b.module.nodes[-1].results[0])
    with pytest.raises(IRError, match=r"op #1 \(matmul\): matmul: inner dimensions differ \(3 vs 4\)"):
        verify(b.module)


def test_verifier_reports_outputs_and_inputs() -> None:
    x = _x()
    with pytest.raises(IRError, match="no outputs"):
        verify(Module("m", [x], [], {}))
    with pytest.raises(IRError, match="output y refers to an undefined value"):
        verify(Module("m", [x], [], {"y": Value(TensorType(DType.f64, (N, 2)))}))
    with pytest.raises(IRError, match="declared twice"):
        verify(Module("m", [x, x], [], {"y": x}))
    with pytest.raises(IRError, match="needs a name"):
        verify(Module("m", [Value(TensorType(DType.f64, (N, 2)))], [], {"y": x}))


def test_constant_type_comes_from_its_tensor() -> None:
    c = Constant(Tensor(np.array([[1, 2]], dtype=np.int32)))
    assert c.infer() == (TensorType(DType.i32, (1, 2)),)
    assert Tensor(np.array([0.0])) != Tensor(np.array([-0.0]))  # constants compare by their bits


def test_string_constants_with_nul_characters_stay_distinct() -> None:
    a = Tensor(np.array(["a\x00", "b"], dtype=object))
    b = Tensor(np.array(["a", "\x00b"], dtype=object))
    assert a != b


@pytest.mark.parametrize("kind, name", [("output", "Label"), ("module", "9lives"), ("input", "x y")])
def test_verifier_refuses_names_the_text_form_cannot_hold(kind: str, name: str) -> None:
    b, x = Builder.new("m", 2)
    b.output("out", x)
    if kind == "output":
        b.module.outputs = {name: x}
    elif kind == "module":
        b.module.name = name
    else:
        x.name = name
    with pytest.raises(IRError, match=f"{kind} name"):
        verify(b.module)


@pytest.mark.parametrize("op, attrs", [("argmax", {"axis": 1}),
                                       ("reduce", {"kind": "max", "axis": 1, "keepdims": False})])
def test_empty_axis_is_refused_for_argmax_and_max(op: str, attrs: dict) -> None:
    b, x = Builder.new("m", 0)
    with pytest.raises(IRError, match="empty"):
        b.call(op, x, **attrs)

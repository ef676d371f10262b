"""Modules with several typed inputs (a float matrix and one string column per input, as a model
fitted on a DataFrame with string columns takes them) on every backend: inputs fed by name,
strings compared for equality (TFLite's EQUAL string kernel, ONNX Equal at opset 19), which is
all a string column needs: TFLite has no builtin gather or select on strings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sklir
from sklir.errors import SklirError
from sklir.ir import Builder, DType, Module, Tensor, Value, verify
from sklir.ir.core import Module as CoreModule
from sklir.ir.types import N, TensorType
from sklir.runtimes import run, string_array

BACKENDS = ["tflite", "onnx", "savedmodel"]


def two_inputs() -> Module:
    """``x: f32[N,2]``, ``city: str[N,1]`` and ``colour: str[N,1]``: equality with categories (the
    empty string, a missing value, among them), numbers scaled."""
    x = Value(TensorType(DType.f32, (N, 2)), "x")
    city = Value(TensorType(DType.str, (N, 1)), "city")
    colour = Value(TensorType(DType.str, (N, 1)), "colour")
    b = Builder(CoreModule("two_inputs", [x, city, colour]))
    categories = b.call("constant", value=Tensor(np.array(["a", "b", ""], dtype=object), DType.str))
    b.output("equal", b.call("compare", city, categories, predicate="eq"))
    b.output("differs", b.call("compare", colour, categories, predicate="ne"))
    b.output("scaled", b.call("mul", x, b.call("constant", value=Tensor(np.float32(2.0)))))
    return verify(b.module)


def batch(rows: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    words = np.array(["a", "b", "", "zz", "é", "a b", "B"], dtype=object)
    return {"x": rng.standard_normal((rows, 2)).astype(np.float32),
            "city": words[rng.integers(0, len(words), (rows, 1))],
            "colour": words[rng.integers(0, len(words), (rows, 1))]}


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | bytes]:
    module = two_inputs()
    out: dict[str, Path | bytes] = {"tflite": sklir.emit(module, "tflite"), "onnx": sklir.emit(module, "onnx")}
    out["savedmodel"] = sklir.emit(module, "savedmodel", tmp_path_factory.mktemp("sm") / "model")
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_named_inputs_and_strings_match_the_interpreter(artefacts: dict[str, Path | bytes], backend: str) -> None:
    data = batch()
    want = sklir.interpret(two_inputs(), data, precision="native")
    got = run(artefacts[backend], backend, data)
    assert set(got) == set(want)
    for name in want:
        if want[name].dtype == object:
            assert got[name].tolist() == want[name].tolist(), name
        else:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def test_the_interpreter_reads_strings_as_numpy_compares_them() -> None:
    out = sklir.interpret(two_inputs(), {"x": np.zeros((2, 2), np.float32),
                                         "city": np.array([["a"], [""]], dtype=object),
                                         "colour": np.array([["q"], ["b"]], dtype=object)})
    assert out["equal"].tolist() == [[True, False, False], [False, False, True]]
    assert out["differs"].tolist() == [[True, True, True], [True, False, True]]


def test_onnx_uses_opset_19_only_where_strings_are_compared() -> None:
    import onnx

    from sklir.backends.onnx_backend import OPSET, STRING_OPSET

    model = onnx.load_from_string(sklir.emit(two_inputs(), "onnx"))
    assert [o.version for o in model.opset_import] == [STRING_OPSET] == [19]
    b, x = Builder.new("numbers", 2)
    b.output("y", b.call("reduce", x, kind="max", axis=1, keepdims=False))
    numbers = onnx.load_from_string(sklir.emit(verify(b.module), "onnx"))
    assert [o.version for o in numbers.opset_import] == [OPSET] == [17]


@pytest.mark.parametrize("backend", ["tflite", "onnx"])
def test_reductions_at_the_string_opset_match_the_interpreter(backend: str) -> None:
    """At opset 19 ReduceMax/Min/Mean take their axes as an input: a module with strings and every
    reduction runs the same as the interpreter."""
    x = Value(TensorType(DType.f32, (N, 3)), "x")
    s = Value(TensorType(DType.str, (N, 1)), "city")
    b = Builder(CoreModule("reductions", [x, s]))
    a = b.call("constant", value=Tensor(np.array(["a"], dtype=object), DType.str))
    hit = b.call("cast", b.call("compare", s, a, predicate="eq"), to=DType.f32)
    y = b.call("add", x, hit)
    for kind in ("sum", "mean", "max", "min"):
        b.output(kind, b.call("reduce", y, kind=kind, axis=1, keepdims=False))
    module = verify(b.module)
    data = {"x": np.array([[1, 2, np.nan], [4, 5, 6]], np.float32), "city": np.array([["a"], ["b"]], dtype=object)}
    want = sklir.interpret(module, data, precision="native")
    got = run(sklir.emit(module, backend), backend, data)
    for kind in want:
        np.testing.assert_array_equal(got[kind], want[kind], err_msg=kind)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("feed, message", [
    (lambda d: d["x"], "the artefact takes 3 inputs (x, city, colour): pass them by name"),
    (lambda d: {"x": d["x"], "city": d["city"]},
     "no data for the artefact's input 'colour' (it takes x, city, colour)"),
    (lambda d: {**d, "y": d["x"]}, "the artefact has no input 'y' (it takes x, city, colour)"),
    (lambda d: {**d, "x": d["x"][:3]}, "the inputs have different numbers of rows (x 3, city 7, colour 7)"),
    (lambda d: {**d, "x": d["x"][:, :1]}, "the artefact's input 'x' takes 2 columns per row"),
    (lambda d: {**d, "x": np.hstack([d["city"], d["colour"]])},
     "the artefact's input 'x' takes numbers, the data has strings"),
])
def test_a_bad_batch_is_one_clear_error(artefacts: dict[str, Path | bytes], backend: str,
                                        feed: Callable[[dict[str, np.ndarray]], Any], message: str) -> None:
    if backend == "savedmodel":  # a loaded SavedModel's signature lists its inputs sorted by name
        message = message.replace("x, city, colour", "city, colour, x").replace("x 3, city 7, colour 7",
                                                                                "city 7, colour 7, x 3")
    with pytest.raises(SklirError) as err:
        run(artefacts[backend], backend, feed(batch()))
    assert message in str(err.value)


def test_missing_strings_are_empty_strings() -> None:
    assert string_array([["a", None], [float("nan"), b"b"], [3, "c"]]).tolist() == [["a", ""], ["", "b"], ["3", "c"]]


def test_descriptions_name_each_inputs_columns() -> None:
    from sklir.backends import descriptions

    module = two_inputs()
    module.attributes["inputs"] = (("x", "float32", ("age", "fare")), ("city", "string", ("home city",)),
                                   ("colour", "string", ("colour",)))
    about = descriptions(module)
    assert about.inputs["x"] == "float32 features, one row per sample, 2 columns: age, fare"
    assert about.inputs["city"] == ("strings, one row per sample, 1 columns: home city "
                                    "(an empty string is a missing value)")

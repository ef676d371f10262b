"""The ONNX backend under onnxruntime against the reference interpreter, and the artefact's contract.

Tolerances, elementwise:
- f32 modules against ``interpret(..., precision="native")``: ``rtol=1e-6`` plus
  ``atol=1e-6 * max(1, max|want|)``; the absolute part covers summation order in reductions and
  matmul, which cancels to ~5e-7 on these inputs. Transcendentals land within 3e-7 relative.
- f64 modules: ``rtol=1e-12`` plus ``atol=1e-12 * max(1, max|want|)``.
- Integers, bools and strings identical; NaN exactly where the interpreter has NaN; same dtype.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import dataset
from op_cases import CASES, OpCase

import sklir
from sklir.backends.onnx_backend import IR_VERSION, METADATA_KEY, OPSET, emit_onnx
from sklir.errors import BackendError
from sklir.ir import Builder, DType, Module, Tensor, interpret, parse, print_module, verify
from sklir.ir.dialects.arith import UNARY
from sklir.runtimes.onnxrt import prepare_onnx, run_onnx


@cache
def _emitted(case: OpCase, dtype: str) -> tuple[Module, bytes]:
    module = case.module if dtype == "f32" else _as_f64(case.module)
    return module, emit_onnx(module)


def _as_f64(module: Module) -> Module:
    # every f32 in the text is a type or a constant's type; constants print exactly, so this is
    # the same module computing in f64
    return parse(print_module(module).replace("f32", "f64"))


def assert_matches(got: dict[str, np.ndarray], want: dict[str, np.ndarray], rtol: float) -> None:
    """``got`` equals ``want`` output by output, floats within the tolerance of the module docstring."""
    assert set(got) == set(want)
    for name, w in want.items():
        g = got[name]
        assert g.dtype == w.dtype and g.shape == w.shape, f"{name}: {g.dtype}{g.shape} != {w.dtype}{w.shape}"
        if w.dtype.kind == "f":
            scale = max(1.0, float(np.max(np.abs(w[np.isfinite(w)]), initial=0.0)))
            np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * scale, err_msg=name)
        else:
            np.testing.assert_array_equal(g, w, err_msg=name)


@pytest.mark.parametrize("batch", [1, 1024])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_op_case_matches_interpreter(case: OpCase, batch: int) -> None:
    module, data = _emitted(case, "f32")
    X = case.X(batch)
    assert_matches(run_onnx(data, X), interpret(module, X, precision="native"), rtol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_op_case_in_f64(case: OpCase) -> None:
    module, data = _emitted(case, "f64")
    X = case.X(64, seed=1).astype(np.float64)
    assert_matches(run_onnx(data, X), interpret(module, X, precision="native"), rtol=1e-12)


SPECIAL = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-10, -1e-10, 1e-5, -1e-5, 0.5, -0.5, 1.0, -1.0, 2.5,
                    -2.5, 10.0, -10.0, 80.0, -80.0, 88.5, -88.5, 1e30, -1e30, np.inf, -np.inf, np.nan, 3.0])


@pytest.mark.parametrize("dtype", [DType.f32, DType.f64])
@pytest.mark.parametrize("name", [n for n, (_, accepts, _) in UNARY.items() if accepts != "bool"])
def test_unary_special_values(name: str, dtype: DType) -> None:
    """Tiny, huge, infinite and NaN inputs: the composite emitters (expm1, log1p, sigmoid) must keep
    full relative precision (rtol 1e-6, no absolute slack) and the exact limits; the only allowed
    difference is below the smallest normal float, where sigmoid(-100) gives 0."""
    b, x = Builder.new(name, 2, dtype)
    b.output("out", b.call(name, x))
    X = SPECIAL.astype(dtype.numpy).reshape(-1, 2)
    got = run_onnx(emit_onnx(b.module), X)["out"]
    want = interpret(b.module, X, precision="native")["out"]
    if want.dtype.kind == "b":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=float(np.finfo(dtype.numpy).tiny))


@pytest.mark.parametrize("kind", ["max", "min", "sum", "mean"])
def test_reductions_propagate_nan_like_numpy(kind: str) -> None:
    # onnxruntime's ReduceMax/ReduceMin skip NaN; numpy's max/min return it
    b, x = Builder.new(kind, 3)
    b.output("out", b.call("reduce", x, kind=kind, axis=1, keepdims=False))
    X = np.array([[1, np.nan, 5], [3, 2, 1], [np.inf, -np.inf, 0], [np.nan] * 3], dtype=np.float32)
    with np.errstate(invalid="ignore"):
        want = interpret(b.module, X, precision="native")
    assert_matches(run_onnx(emit_onnx(b.module), X), want, rtol=1e-6)


@pytest.mark.parametrize("dtype", [DType.i32, DType.i64])
def test_integer_division_floors(dtype: DType) -> None:
    # ONNX Div truncates integers toward zero; the IR floors like numpy
    b, x = Builder.new("floordiv", 4)
    i = b.call("cast", b.call("floor", x), to=dtype)
    b.output("out", b.call("div", i, b.const(np.array([2, -3, 4, -1]), dtype)))
    X = np.array([[7, 7, -7, -7], [-1, 1, 0, 5], [-8, 9, 3, -2]], dtype=np.float32)
    assert_matches(run_onnx(emit_onnx(b.module), X), interpret(b.module, X, precision="native"), rtol=0)


@pytest.mark.parametrize("predicate", ["lt", "le", "gt", "ge", "eq", "ne"])
def test_compare_bools_and_nans(predicate: str) -> None:
    b, x = Builder.new(predicate, 4)
    zero = b.const(np.float32(0), DType.f32)
    positive = b.call("compare", x, zero, predicate="gt")
    b.output("floats", b.call("compare", x, b.call("neg", x), predicate=predicate))
    b.output("bools", b.call("compare", positive, b.call("logical_not", positive), predicate=predicate))
    X = np.array([[np.nan, 0, 1, -1], [2, np.nan, -0.0, np.inf]], dtype=np.float32)
    assert_matches(run_onnx(emit_onnx(b.module), X), interpret(b.module, X, precision="native"), rtol=0)


def test_take_along_axis_broadcasts_size_one_indices() -> None:
    b, x = Builder.new("take", 4)
    out = b.call("take_along_axis", x, b.const(np.array([[3, 0, 3]], dtype=np.int64)), axis=1)
    b.output("out", out)
    X = CASES[0].X(5)
    want = interpret(b.module, X, precision="native")
    assert want["out"].shape == (5, 3)
    assert_matches(run_onnx(emit_onnx(b.module), X), want, rtol=0)


def test_string_compare_is_refused_by_name() -> None:
    b, x = Builder.new("strings", 2)
    labels = b.call("label_lookup", b.call("argmax", x, axis=1), classes=Tensor(np.array(["a", "b"], dtype=object)))
    b.output("same", b.call("compare", labels, labels, predicate="eq"))
    with pytest.raises(BackendError, match="compare: comparing strings"):
        emit_onnx(b.module)


def _contract_module() -> Module:
    """A classifier-shaped module whose outputs include the input itself and a value output twice."""
    attributes = {"sklir_version": sklir.__version__, "source": "LogisticRegression", "classes": ("no", "yes")}
    b, x = Builder.new("contract", 3, attributes=attributes)
    scores = b.call("matmul", x, b.const(np.arange(6, dtype=np.float32).reshape(3, 2) / 5, DType.f32))
    b.output("decision", scores)
    b.output("probabilities", b.call("softmax", scores, axis=1))
    b.output("label", b.call("label_lookup", b.call("argmax", scores, axis=1),
                             classes=Tensor(np.array(["no", "yes"], dtype=object))))
    b.output("transform", x)
    b.output("scores_again", scores)
    return verify(b.module)


def test_names_shapes_opset_and_checker() -> None:
    module = _contract_module()
    model = onnx.load_from_string(emit_onnx(module))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["x"]
    assert [o.name for o in model.graph.output] == list(module.outputs)
    for info in [*model.graph.input, *model.graph.output]:
        assert info.type.tensor_type.shape.dim[0].dim_param == "N", info.name
    assert model.graph.input[0].type.tensor_type.shape.dim[1].dim_value == 3
    assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)]
    assert {n.domain for n in model.graph.node} == {""}
    assert model.ir_version == IR_VERSION == 8
    X = np.array([[1, 2, 3], [-1, 0, 4]], dtype=np.float32)
    got = run_onnx(emit_onnx(module), X)
    assert_matches(got, interpret(module, X, precision="native"), rtol=1e-6)
    assert all(isinstance(s, str) for s in got["label"]) and got["label"].dtype == object


def test_metadata_carries_the_module_attributes() -> None:
    model = onnx.load_from_string(emit_onnx(_contract_module()))
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props[METADATA_KEY]) == {"sklir_version": sklir.__version__,
                                               "source": "LogisticRegression", "classes": ["no", "yes"]}
    assert model.producer_name == "sklir" and "LogisticRegression" in model.doc_string


@cache
def _iris_model() -> tuple[Module, object]:
    from sklearn.linear_model import LogisticRegression

    X, y = dataset("iris")
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)
    clf = LogisticRegression(max_iter=1000).fit(X, names[y])
    b, x = Builder.new("iris", 4, attributes={"source": "LogisticRegression", "classes": tuple(clf.classes_)})
    scores = b.call("add", b.call("matmul", x, b.const(clf.coef_.T, DType.f32)),
                    b.const(clf.intercept_, DType.f32))
    b.output("label", b.call("label_lookup", b.call("argmax", scores, axis=1),
                             classes=Tensor(clf.classes_.astype(object))))
    b.output("probabilities", b.call("softmax", scores, axis=1))
    return verify(b.module), clf


def test_real_data_through_sklir_emit(tmp_path: Path) -> None:
    """iris through ``sklir.emit`` to a file: labels identical to the interpreter's and to
    scikit-learn's predict, probabilities within rtol 1e-6 of the interpreter (f32 weights, so
    scikit-learn's own f64 probabilities are compared at 1e-5 relative to their scale)."""
    module, clf = _iris_model()
    path = sklir.emit(module, "onnx", tmp_path / "iris.onnx")
    X = dataset("iris")[0]
    got = run_onnx(Path(path), X)
    assert_matches(got, interpret(module, X.astype(np.float32), precision="native"), rtol=1e-6)
    np.testing.assert_array_equal(got["label"], clf.predict(X))
    np.testing.assert_allclose(got["probabilities"], clf.predict_proba(X), rtol=0, atol=1e-5)


def test_runtime_caches_sessions_and_uses_one_thread(tmp_path: Path) -> None:
    data = emit_onnx(_contract_module())
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    prepared = prepare_onnx(data)
    assert prepare_onnx(path) is prepared
    assert prepared.session.get_session_options().intra_op_num_threads == 1
    X = np.ones((4, 3), dtype=np.float32)
    raw = dict(zip(prepared.output_names, prepared.raw(X), strict=True))
    for name, value in run_onnx(path, X.astype(np.float64)).items():
        np.testing.assert_array_equal(value, raw[name])


def test_emit_onnx_never_imports_tensorflow() -> None:
    script = (
        "import sys, numpy as np, sklir\n"
        "from sklir.ir import Builder\n"
        "b, x = Builder.new('m', 2)\n"
        "b.output('prediction', b.call('exp', x))\n"
        "data = sklir.emit(b.module, 'onnx')\n"
        "assert data[:2] and 'onnx' in sys.modules\n"
        "assert 'tensorflow' not in sys.modules, 'emitting onnx imported tensorflow'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def test_the_runtime_imports_neither_onnx_nor_tensorflow(tmp_path: Path) -> None:
    path = tmp_path / "contract.onnx"
    path.write_bytes(emit_onnx(_contract_module()))
    script = (
        "import sys, numpy as np\n"
        "from sklir.runtimes import run\n"
        f"out = run({str(path)!r}, 'onnx', np.ones((2, 3)))\n"
        "assert out['label'].tolist() == ['yes', 'yes'], out\n"
        "assert not {'onnx', 'tensorflow'} & set(sys.modules), 'the onnx runtime imported onnx or tensorflow'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr

"""The ONNX backend under onnxruntime against the reference interpreter, and the artefact's contract.

Tolerances, elementwise (``backend_checks.assert_backend_matches``):
- f32 modules against ``interpret(..., precision="native")``: ``|got - want| <= 1e-6 * max(1, max
  finite |want|)``; the scale covers summation order in reductions and matmul, which cancels to
  ~5e-7 on these inputs. Transcendentals land within 3e-7 relative.
- f64 modules: ``1e-12 * max(1, max finite |want|)``.
- Integers, bools and strings identical; NaN and ±inf exactly where the interpreter has them; same dtype.
The NaN and bool semantics (NaN reductions, compares on NaN and on bools, broadcast indices) are
op cases in ``op_cases.py``, run here and by every other backend.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import onnx
import pytest
from backend_checks import assert_backend_matches, emitted, iris_pipeline
from conftest import dataset
from op_cases import CASES, OpCase

import sklir
from sklir.backends import prepare
from sklir.backends.onnx_backend import IR_VERSION, METADATA_NAME, OPSET, emit_onnx
from sklir.check import compare_outputs, expected_outputs, format_table, passed
from sklir.errors import BackendError
from sklir.ir import Builder, DType, Module, Tensor, interpret, parse, print_module, verify
from sklir.ir.dialects.arith import UNARY
from sklir.runtimes import run
from sklir.runtimes.onnxrt import prepare_onnx, run_onnx


@cache
def _as_f64(case: OpCase) -> Module:
    # every f32 in the text is a type or a constant's type; constants print exactly (a large one
    # as hex bytes, widened here), so this is the same module computing in f64
    def widened(match: re.Match[str]) -> str:
        values = np.frombuffer(bytes.fromhex(match.group(2)), dtype="<f4").astype("<f8")
        return f"f64[{match.group(1)}] 0x{values.tobytes().hex()}"

    text = re.sub(r"f32\[([^\]]*)\] 0x([0-9a-f]+)", widened, print_module(case.module))
    return parse(text.replace("f32", "f64"))


def _reference(module: Module, X: np.ndarray) -> dict[str, np.ndarray]:
    # inf - inf in the NaN cases' sums makes numpy warn; the values are what is compared
    with np.errstate(invalid="ignore"):
        return interpret(module, X, precision="native")


@pytest.mark.parametrize("batch", [1, 1024])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_op_case_matches_interpreter(case: OpCase, batch: int) -> None:
    X = case.X(batch)
    got = run_onnx(emitted(case.module, "onnx"), X)
    assert_backend_matches(got, _reference(case.module, X), 1e-6, f"{case.name}[{batch}]")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_op_case_in_f64(case: OpCase) -> None:
    module = _as_f64(case)
    X = case.X(64, seed=1).astype(np.float64)
    assert_backend_matches(run_onnx(emitted(module, "onnx"), X), _reference(module, X), 1e-12, f"{case.name} f64")


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


@pytest.mark.parametrize("dtype", [DType.i32, DType.i64])
def test_integer_division_floors(dtype: DType) -> None:
    # ONNX Div truncates integers toward zero; the IR floors like numpy
    b, x = Builder.new("floordiv", 4)
    i = b.call("cast", b.call("floor", x), to=dtype)
    b.output("out", b.call("div", i, b.const(np.array([2, -3, 4, -1]), dtype)))
    X = np.array([[7, 7, -7, -7], [-1, 1, 0, 5], [-8, 9, 3, -2]], dtype=np.float32)
    got = run_onnx(emitted(b.module, "onnx"), X)
    assert_backend_matches(got, interpret(b.module, X, precision="native"), 0.0, f"floordiv {dtype.value}")


def test_string_ordering_is_refused_by_name() -> None:
    """Equality on strings is ONNX Equal at opset 19 (tests/backends/test_typed_inputs.py); no ONNX
    op orders strings."""
    b, x = Builder.new("strings", 2)
    labels = b.call("label_lookup", b.call("argmax", x, axis=1), classes=Tensor(np.array(["a", "b"], dtype=object)))
    b.output("before", b.call("compare", labels, labels, predicate="lt"))
    with pytest.raises(BackendError, match="compare: ONNX has no op that orders strings"):
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
    model = onnx.load_from_string(emitted(module, "onnx"))
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
    got = run_onnx(emitted(module, "onnx"), X)
    assert_backend_matches(got, interpret(module, X, precision="native"), 1e-6, "contract")
    assert all(isinstance(s, str) for s in got["label"]) and got["label"].dtype == object


def test_metadata_carries_the_module_attributes() -> None:
    model = onnx.load_from_string(emitted(_contract_module(), "onnx"))
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props[METADATA_NAME]) == {"sklir_version": sklir.__version__,
                                               "source": "LogisticRegression", "classes": ["no", "yes"]}
    assert model.producer_name == "sklir" and "LogisticRegression" in model.doc_string


def test_real_model_through_sklir_emit(tmp_path: Path) -> None:
    """The lowered iris pipeline through ``sklir.emit`` to a file and run from there: every output
    of the contract (label, probabilities, decision) matches scikit-learn within 1e-5 of its scale
    (the f32 artefacts' contract, labels identical), and the interpreter on the f32 module the
    backend received within 1e-6 (the op cases' tolerance)."""
    estimator, module = iris_pipeline()
    path = sklir.emit(module, "onnx", tmp_path / "iris.onnx")
    assert path == tmp_path / "iris.onnx" and path.is_file()
    X = dataset("iris")[0]
    got = run(path, "onnx", X)
    rows = compare_outputs(got, expected_outputs(estimator, X), 1e-5)
    assert passed(rows), format_table(rows, 1e-5)
    assert {row.name for row in rows} == {"label", "probabilities", "decision"}
    want = interpret(prepare(module, "onnx"), X.astype(np.float32), precision="native")
    assert_backend_matches(got, want, 1e-6, "iris vs interpreter")


def test_runtime_caches_sessions_and_uses_one_thread(tmp_path: Path) -> None:
    module = _contract_module()
    data = emitted(module, "onnx")
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    prepared = prepare_onnx(data)
    assert prepare_onnx(path) is prepared
    assert prepared.session.get_session_options().intra_op_num_threads == 1
    X = np.ones((4, 3), dtype=np.float32)
    # f64 rows are fed as the f32 the model declares
    got = run_onnx(path, X.astype(np.float64))
    assert_backend_matches(got, interpret(module, X, precision="native"), 1e-6, "from a path, f64 rows")


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
    path.write_bytes(emitted(_contract_module(), "onnx"))
    script = (
        "import sys, numpy as np\n"
        "from sklir.runtimes import run\n"
        f"out = run({str(path)!r}, 'onnx', np.ones((2, 3)))\n"
        "assert out['label'].tolist() == ['yes', 'yes'], out\n"
        "assert not {'onnx', 'tensorflow'} & set(sys.modules), 'the onnx runtime imported onnx or tensorflow'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr

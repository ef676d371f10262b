"""The TFLite backend: every op case converted with builtins only and run under LiteRT.

Parity: each case's ``.tflite`` under LiteRT against the reference interpreter at
``precision="native"`` (float32 numpy). Floats agree within ``rtol = 1e-6`` relative to the
output's own scale (``|got - want| <= 1e-6 * max(1, max finite |want|)``, about 16 float32 ulps:
TFLite's kernels and numpy sum and approximate transcendental functions differently), NaN and ±inf
in the same places; integer, bool and string outputs are identical (``backend_checks``). Each
module is converted once per session.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from backend_checks import assert_backend_matches, emitted, iris_pipeline
from conftest import dataset
from op_cases import CASES, OpCase
from parity import artefact, assert_parity

import sklir
from sklir.backends.profiles import profile_named
from sklir.backends.tflite import EMITTERS, emit_tflite
from sklir.errors import BackendError
from sklir.ir import Builder, DType, Module, verify
from sklir.ir.dialects.arith import UNARY_OPS
from sklir.runtimes.litert import load, operator_names, prepared, read_metadata, run_tflite

RTOL = 1e-6
BATCHES = (1, 7, 1024)
BY_NAME = {case.name: case for case in CASES}
# cases TFLite refuses on purpose, with the reason the error must give
REFUSED = {"constant_infinities": "cannot store an infinite constant"}


def tflite(case: OpCase) -> bytes:
    """The case's .tflite (converted once per session)."""
    return emitted(case.module, "tflite")


CONVERTED = [c for c in CASES if c.name not in REFUSED]


@pytest.mark.parametrize("case", CONVERTED, ids=lambda c: c.name)
def test_op_case_matches_interpreter_at_every_batch(case: OpCase) -> None:
    data = tflite(case)
    model = load(data)
    for batch in BATCHES:
        X = case.X(batch, seed=batch)
        with np.errstate(invalid="ignore"):  # inf - inf in the NaN cases' sums; the values are checked
            want = sklir.interpret(case.module, X, precision="native")
        assert_backend_matches(run_tflite(data, X), want, RTOL, f"{case.name}[{batch}]")
    # one interpreter served every batch size: the signature's batch dimension is dynamic
    assert load(data) is model
    (detail,) = model.interpreter.get_input_details()
    assert list(detail["shape_signature"]) == [-1, 4]


@pytest.mark.parametrize("case", CONVERTED, ids=lambda c: c.name)
def test_op_case_uses_builtin_ops_only(case: OpCase) -> None:
    ops = operator_names(tflite(case))
    assert ops, "no operators at all"
    assert not [op for op in ops if op.startswith("CUSTOM") or "FLEX" in op.upper()], ops


def test_matmul_by_a_constant_is_fully_connected() -> None:
    assert operator_names(tflite(BY_NAME["matmul"])) == ["FULLY_CONNECTED"]


def test_a_gather_of_columns_copies_blocks_not_elements() -> None:
    # GATHER copies one slice per index and outer position: columns are gathered as rows of the
    # transposed input, and a run of adjacent columns is a SLICE (lower-trees' walk sets aside
    # the trees that reached their leaves this way); a gather along axis 0 stays one GATHER
    assert operator_names(tflite(BY_NAME["gather_column_run"])) == ["SLICE"]
    assert sorted(operator_names(tflite(BY_NAME["gather_columns"]))) == ["GATHER", "TRANSPOSE"]  # the codes used
    assert operator_names(tflite(BY_NAME["gather_table"]))[-1] == "GATHER"
    # one row of indices for every row (a tree walk's first level): a gather of columns too
    assert sorted(operator_names(tflite(BY_NAME["take_along_axis_broadcast"]))) == ["GATHER", "TRANSPOSE"]
    assert "TRANSPOSE" not in operator_names(tflite(BY_NAME["take_along_axis"]))


def test_columns_stay_a_plain_gather_where_transposing_would_not_pay() -> None:
    case = BY_NAME["gather_columns"]
    # one row (nothing to gain), and TFLite Micro (whose TRANSPOSE takes fewer dtypes than GATHER)
    for profile in (profile_named("default", batch=1), "micro"):
        assert operator_names(sklir.emit(case.module, "tflite", profile=profile)) == ["GATHER"], profile
    # two of 16 columns: transposing the whole input would copy far more than it saves
    b, x = Builder.new("two_of_sixteen", 16, DType.f32)
    b.output("out", b.call("gather", x, b.const(np.array([9, 2], np.int64)), axis=1))
    data = sklir.emit(b.module, "tflite")
    assert operator_names(data) == ["GATHER"]
    X = np.arange(48, dtype=np.float32).reshape(3, 16)
    np.testing.assert_array_equal(run_tflite(data, X)["out"], X[:, [9, 2]])


def test_signature_names_inputs_and_outputs() -> None:
    case = BY_NAME["clip"]
    model = load(tflite(case))
    assert model.interpreter.get_signature_list() == {
        "serving_default": {"inputs": ["x"], "outputs": sorted(case.module.outputs)}}
    assert model.input_name == "x"


def test_real_model_matches_scikit_learn_with_string_labels() -> None:
    estimator, _ = iris_pipeline()
    X, _ = dataset("iris")
    # rtol 1e-5 of the output's scale: the parity harness's contract for f32 artefacts
    module = assert_parity(estimator, X, backends=["tflite"])
    data = artefact(module, "tflite")
    assert operator_names(data)[0] == "FULLY_CONNECTED"
    assert load(data).interpreter.get_signature_list()["serving_default"] == {
        "inputs": ["x"], "outputs": ["decision", "label", "probabilities"]}


def test_metadata_round_trips() -> None:
    _, module = iris_pipeline()
    data = artefact(module, "tflite")
    entries = read_metadata(data)
    # the converter's own entries stay beside ours
    assert "min_runtime_version" in entries
    recorded = json.loads(entries["sklir"].decode())
    assert recorded == {"sklir_version": sklir.__version__, "source": "Pipeline(StandardScaler, LogisticRegression)",
                        "classes": ["setosa", "versicolor", "virginica"],
                        "fingerprint": module.attributes["fingerprint"]}
    assert len(recorded["fingerprint"]) == 32


def test_run_accepts_a_path_and_prepared_model_reuses_its_size(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    case = BY_NAME["softmax"]
    path = tmp_path / "softmax.tflite"
    path.write_bytes(tflite(case))
    X = case.X(5)
    want = run_tflite(tflite(case), X)
    assert_backend_matches(run_tflite(path, X), want, RTOL, "from a path")
    model = prepared(path, 5)
    (detail,) = model.interpreter.get_input_details()
    assert list(detail["shape"]) == [5, 4], "prepared() did not size the input for 5 rows"
    # a call with the prepared shape must only set, invoke and get: a resize would reallocate
    resizes: list[tuple[int, ...]] = []
    monkeypatch.setattr(model, "resize", resizes.append)
    assert_backend_matches(model(X), want, RTOL, "prepared")
    X1 = case.X(5, seed=1)
    assert_backend_matches(model(X1), run_tflite(path, X1), RTOL, "prepared, second call")
    assert resizes == [], "the prepared model resized for a batch of the size it was prepared for"
    (detail,) = model.interpreter.get_input_details()
    assert list(detail["shape"]) == [5, 4]


def test_conversions_are_repeatable_in_one_process() -> None:
    case = BY_NAME["matmul"]
    first = tflite(case)
    # another module converted in between must not change what the next conversion gives
    emit_tflite(BY_NAME["softmax"].module)
    assert emit_tflite(case.module) == first


# ---- errors: one clear line, nothing from TensorFlow on the terminal ----

def _exp_module() -> Module:
    b, x = Builder.new("exp_only", 3)
    b.output("out", b.call("exp", x))
    return verify(b.module)


def _one_line_error(module: Module, capfd: pytest.CaptureFixture[str]) -> str:
    capfd.readouterr()
    with pytest.raises(BackendError) as info:
        emit_tflite(module)
    message = str(info.value)
    assert "\n" not in message, message
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == "", "conversion wrote to the terminal"
    return message


def test_emitter_that_raises_gives_one_line_error(monkeypatch: pytest.MonkeyPatch,
                                                  capfd: pytest.CaptureFixture[str]) -> None:
    def refuse(op: object, x: object) -> tuple[object, ...]:
        raise BackendError("deliberately unsupported")

    monkeypatch.setitem(EMITTERS, UNARY_OPS["exp"], refuse)
    message = _one_line_error(_exp_module(), capfd)
    assert "op exp" in message and "node 0" in message and "deliberately unsupported" in message


def test_emitter_failing_inside_tensorflow_gives_one_line_error(monkeypatch: pytest.MonkeyPatch,
                                                                 capfd: pytest.CaptureFixture[str]) -> None:
    from sklir.backends.tflite import tf

    # a rank-3 transpose of a rank-2 tensor: TensorFlow raises while tracing
    monkeypatch.setitem(EMITTERS, UNARY_OPS["exp"], lambda op, x: (tf.transpose(x, [2, 0, 1]),))
    message = _one_line_error(_exp_module(), capfd)
    assert message.startswith("cannot emit op exp")


def test_missing_emitter_is_reported(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delitem(EMITTERS, UNARY_OPS["exp"])
    assert "no emitter for op exp" in _one_line_error(_exp_module(), capfd)


def test_f64_value_is_refused(capfd: pytest.CaptureFixture[str]) -> None:
    b, x = Builder.new("wide", 3)
    b.output("out", b.call("cast", x, to=DType.f64))
    message = _one_line_error(verify(b.module), capfd)
    assert "f64" in message and "op cast" in message


def test_op_without_builtin_kernel_names_tf_op_and_ir_op(capfd: pytest.CaptureFixture[str]) -> None:
    # TFLite's FLOOR_DIV has no int64 kernel; the converter would need Flex, which we never allow
    b, x = Builder.new("int_div", 3)
    q = b.call("div", b.call("cast", x, to=DType.i64), b.const(np.array([2, 3, 4], dtype=np.int64)))
    b.output("out", q)
    message = _one_line_error(verify(b.module), capfd)
    assert "FloorDiv" in message and "op div -> i64[N,3] (node 2)" in message and "Flex" in message


# ---- import hygiene and quiet output, in fresh interpreters ----

def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=Path(__file__).parent, timeout=300)


def test_emit_ir_does_not_import_tensorflow() -> None:
    result = _python("""
        import sys
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        import sklir, sklir.ir, sklir.passes, sklir.frontend.registry
        X, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
        text = sklir.print_module(sklir.lower(LogisticRegression().fit(X, y)))
        assert "matmul" in text, text
        print("tensorflow" in sys.modules)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_emit_and_run_tflite_are_silent() -> None:
    result = _python("""
        import numpy as np
        from op_cases import CASES
        import sklir
        from sklir.runtimes.litert import run_tflite
        case = CASES[0]
        out = run_tflite(sklir.emit(case.module, "tflite"), case.X(3))
        print(sorted(out))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    assert result.stdout.strip() == "['out']"


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_case_is_a_one_line_backend_error(name: str) -> None:
    with pytest.raises(BackendError) as err:
        emit_tflite(BY_NAME[name].module)
    assert REFUSED[name] in str(err.value) and "\n" not in str(err.value)


# tiny, huge, infinite and NaN arguments (the ONNX backend has the same test)
SPECIAL = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-10, -1e-10, 1e-5, -1e-5, 0.5, -0.5, 1.0, -1.0, 2.5,
                    -2.5, 10.0, -10.0, 80.0, -80.0, 88.5, -88.5, 1e30, -1e30, np.inf, -np.inf, np.nan, 3.0])


@pytest.mark.parametrize("name", ["expm1", "log1p", "erf", "sigmoid", "tanh"])
def test_unary_special_values(name: str) -> None:
    """The composites (expm1, log1p, erf: the converter writes the first two naively and has no
    ERF kernel) keep full relative precision (rtol 1e-6, no absolute slack) and the exact limits;
    only results below the smallest normal float may differ."""
    b, x = Builder.new(name, 2, DType.f32)
    b.output("out", b.call(name, x))
    X = SPECIAL.astype(np.float32).reshape(-1, 2)
    got = run_tflite(emit_tflite(b.module), X)["out"]
    want = sklir.interpret(b.module, X, precision="native")["out"]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=float(np.finfo(np.float32).tiny))


def test_inputs_tensorflow_would_give_one_name_are_refused() -> None:
    from sklir.ir import TensorType, Value
    from sklir.ir.types import N

    first, second = (Value(TensorType(DType.f32, (N, 2)), name) for name in ("a_b", "a.b"))
    b = Builder(Module("two", [first, second]))
    b.output("out", b.call("concat", first, second, axis=1))
    with pytest.raises(BackendError, match=r"inputs 'a_b' and 'a.b' would share one name in a .tflite signature"):
        emit_tflite(b.module)

"""The ``micro`` profile: every op case under TensorFlow Lite Micro's own interpreter, the
profile's refusals, fixed batches in every runner, class labels as indices.

Each op case is prepared as ``sklir.emit`` prepares it for the profile and run under the
``tflite-micro`` package's interpreter at a fixed batch of 8 (13 rows: one full call and one
filled up), against the interpreter in native precision, at LiteRT's tolerance. What TFLite Micro
cannot do is either refused with the reason (``REFUSED``) or a documented difference
(``CLAMPED``), never a file that fails on a board.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from backend_checks import assert_backend_matches, iris_pipeline, lowered
from op_cases import CASES, OpCase
from parity import artefact

import sklir
from sklir.backends import prepare, target_profile
from sklir.backends.profiles import MICRO_OPS, PROFILES, Profile, profile_named
from sklir.backends.tflite import emit_tflite
from sklir.errors import SklirError
from sklir.runtimes import run
from sklir.runtimes.litert import operator_names
from sklir.runtimes.micro import arena_bytes, run_micro

RTOL = 1e-6
MICRO8 = profile_named("micro", 8)
# cases the profile refuses on purpose, with the reason the error must give
REFUSED = {"constant_infinities": "cannot store an infinite constant"}
# TFLite Micro's float ADD, SUB and MUL clamp their result to the finite float range (its
# activation range for "no activation" is [lowest, max]): an infinity comes out as ±3.4e38
# (the reductions' NaN propagation adds to the maximum and minimum, so theirs are clamped; SUM's
# own kernel is not)
CLAMPED = {"reduce_max_specials", "reduce_min_specials"}
# scikit-learn's expanded |x|^2 - 2 x.y + |y|^2 cancels: TFLite Micro's FULLY_CONNECTED sums in
# another order than numpy, and sqrt of the cancelled float32 differs by sqrt(eps) |x| ~ 5e-4 of 7
LOOSER = {"kernel_euclidean_expanded": 1e-4}


def micro_artefact(case: OpCase) -> bytes:
    return emit_tflite(prepare(lowered(case.module), "tflite", profile=MICRO8), MICRO8)


@pytest.mark.parametrize("case", [c for c in CASES if c.name not in REFUSED], ids=lambda c: c.name)
def test_op_case_runs_under_tflite_micro(case: OpCase) -> None:
    data = micro_artefact(case)
    assert set(operator_names(data)) <= set(MICRO_OPS)
    X = case.X(13, seed=3)
    with np.errstate(invalid="ignore"):  # inf - inf in the NaN cases' sums; the values are checked
        want = sklir.interpret(case.module, X, precision="native")
    if case.name in CLAMPED:
        limit = np.finfo(np.float32).max
        want = {k: np.clip(v, -limit, limit) if v.dtype.kind == "f" else v for k, v in want.items()}
    # an i64 output comes back as int32, and a label (the label_lookup cases) through the
    # metadata's JSON table: the values are compared, and the dtype kinds
    assert_backend_matches(run_micro(data, X), want, LOOSER.get(case.name, RTOL), case.name, same_dtype=False)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_case_names_the_reason(name: str) -> None:
    case = next(c for c in CASES if c.name == name)
    with pytest.raises(SklirError, match=REFUSED[name]):
        micro_artefact(case)


def test_iris_pipeline_at_batch_1_and_8_gives_labels_through_the_table() -> None:
    estimator, module = iris_pipeline()
    from conftest import dataset

    X = dataset("iris")[0].astype(np.float32)
    for batch in (1, 8):
        data = artefact(module, "micro" if batch == 1 else "micro8")  # converted once per session
        for kind in ("micro", "tflite"):  # LiteRT runs the same file the same way
            out = run(data, kind, X)
            assert (out["label"] == estimator.predict(X)).all()
            np.testing.assert_allclose(out["probabilities"], estimator.predict_proba(X), atol=1e-5)
        assert 0 < arena_bytes(data) < 16384


def test_label_is_an_int32_class_index_with_the_table_in_the_metadata() -> None:
    from tflite_micro import runtime

    from sklir.runtimes.litert import sklir_metadata_json

    estimator, module = iris_pipeline()
    data = artefact(module, "micro")
    interpreter = runtime.Interpreter.from_bytes(data)
    assert interpreter.get_output_details(0)["dtype"] == np.int32
    assert list(interpreter.get_input_details(0)["shape"]) == [1, 4]
    import json

    meta = json.loads(sklir_metadata_json(data) or "{}")
    assert meta["profile"] == "micro" and meta["batch"] == 1
    assert meta["label_tables"] == [["label", ["setosa", "versicolor", "virginica"]]]


def test_fixed_batch_on_the_default_profile_runs_in_parts_on_every_runtime() -> None:
    estimator, module = iris_pipeline()
    from conftest import dataset

    X = dataset("iris")[0][:11].astype(np.float32)
    for target in ("tflite", "onnx"):
        data = sklir.emit(module, target, profile=profile_named("default", 4))
        out = run(data, target, X)
        assert (out["label"] == estimator.predict(X)).all(), target


def test_profile_refusals() -> None:
    with pytest.raises(SklirError, match="unknown profile 'tiny'"):
        profile_named("tiny")
    for bad in (0, -2, True, 1.5):
        with pytest.raises(SklirError, match="positive whole number"):
            profile_named("micro", bad)  # type: ignore[arg-type]
    with pytest.raises(SklirError, match="micro profile is for tflite, c artefacts, not onnx"):
        target_profile("onnx", "micro")


def test_an_op_outside_the_profile_is_refused_naming_the_ir_node() -> None:
    from sklir.ir import Builder

    b, x = Builder.new("power", 4)
    b.output("out", b.call("pow", x, b.call("exp", x)))
    micro = PROFILES["micro"]
    data = emit_tflite(prepare(b.module, "tflite", profile=micro), micro)  # POW as exp and log: runs
    assert "POW" not in operator_names(data)
    tight = Profile("tight", batch=1, ops={"EXP": "AddExp"}, runtime="a tight runtime")
    with pytest.raises(SklirError, match=r"a tight runtime has no kernel for .*\(from op .* \(node \d+\)\)"):
        emit_tflite(prepare(b.module, "tflite", profile=tight), tight)


def test_an_index_constant_beyond_int32_is_refused() -> None:
    from sklir.ir import Builder

    b, x = Builder.new("far", 4)
    b.output("out", b.call("add", b.call("argmax", x, axis=1), b.const(np.array(10**12, dtype=np.int64))))
    with pytest.raises(SklirError, match=r"an index constant does not fit int32 \(it holds 1000000000000"):
        sklir.emit(b.module, "tflite", profile="micro")


def test_string_inputs_are_refused_with_the_reason() -> None:
    from sklir.ir import Builder, DType, Module, Tensor, TensorType, Value
    from sklir.ir.types import N

    color = Value(TensorType(DType.str, (N, 1)), "color")
    b = Builder(Module("strings", [color]))
    red = b.call("constant", value=Tensor(np.array(["red"], dtype=object), DType.str))
    b.output("is_red", b.call("compare", color, red, predicate="eq"))
    with pytest.raises(SklirError, match="TensorFlow Lite Micro has no string tensors, and input 'color'"):
        sklir.emit(b.module, "tflite", profile="micro")


def test_the_cli_offers_every_profile_and_quantisation() -> None:
    from sklir.backends.profiles import QUANTIZE_MODES
    from sklir.cli import PROFILE_CHOICES, QUANTIZE_CHOICES

    assert set(PROFILE_CHOICES) == set(PROFILES)
    assert set(QUANTIZE_CHOICES) == set(QUANTIZE_MODES)


def test_a_model_needing_more_than_the_default_arena_still_runs() -> None:
    from sklir.ir import Builder

    b, x = Builder.new("wide", 4)
    wide = b.call("add", b.call("expand_dims", x, axis=2), b.const(np.linspace(0, 1, 20000).reshape(1, 1, -1),
                                                                      sklir.ir.DType.f32))
    b.output("out", b.call("reduce", b.call("reduce", wide, kind="max", axis=2, keepdims=False), kind="sum", axis=1,
                           keepdims=False))
    data = sklir.emit(b.module, "tflite", profile=profile_named("micro", 8))
    X = np.random.default_rng(0).normal(size=(9, 4)).astype(np.float32)
    np.testing.assert_allclose(run_micro(data, X)["out"], (X + 1.0).sum(axis=1), rtol=1e-6)
    assert arena_bytes(data) > 10 * len(data)


def test_a_model_needing_more_arena_than_any_device_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import sklir.runtimes.micro as micro
    from sklir.ir import Builder

    b, x = Builder.new("wide", 4)
    wide = b.call("add", b.call("expand_dims", x, axis=2), b.const(np.linspace(0, 1, 20000).reshape(1, 1, -1),
                                                                      sklir.ir.DType.f32))
    b.output("out", b.call("reduce", wide, kind="max", axis=2, keepdims=False))
    data = sklir.emit(b.module, "tflite", profile=profile_named("micro", 8))
    # the bound is 256 MiB; this model needs over 640 KiB, checked against a bound of 256 KiB
    monkeypatch.setattr(micro, "MAX_ARENA", 1 << 18)
    monkeypatch.setattr(micro, "MIN_ARENA", 1 << 16)
    with pytest.raises(SklirError, match="needs a tensor arena over 0.25 MiB, more RAM than any microcontroller"):
        micro.MicroModel(data)


def _specials_module() -> sklir.ir.Module:
    """pow, sign, clip and top_k written the micro way, on inputs with NaN, ±inf, ±1, 0, -0.0."""
    from sklir.ir import Builder
    from sklir.ir.dialects.linalg import TopK

    b, x = Builder.new("specials", 4)
    y = b.call("gather", x, b.const(np.array([3, 2, 1, 0], dtype=np.int64)), axis=1)
    b.output("power", b.call("pow", x, y))
    b.output("cube", b.call("pow", x, b.const(np.float32(3.0), sklir.ir.DType.f32)))
    b.output("sign", b.call("sign", x))
    b.output("clipped", b.call("clip", x, min=-1.0, max=1.0))
    values, indices = b.apply(TopK(k=3, largest=True), x)
    b.output("top", values)
    b.output("top_at", indices)
    return b.module


SPECIALS = np.array([[1.0, np.nan, 2.0, -2.0], [-1.0, np.inf, 0.5, -0.5], [0.0, -np.inf, 3.0, 1.0],
                     [-2.0, 2.5, -np.inf, np.inf], [np.nan, 1.0, 0.0, -3.0], [-np.inf, -np.inf, -np.inf, 2.0],
                     [2.0, 2.0, np.nan, 2.0], [-0.5, np.inf, -1.0, 4.0]], dtype=np.float32)


def test_composite_ops_keep_numpys_special_values() -> None:
    module = _specials_module()
    data = sklir.emit(module, "tflite", profile=profile_named("micro", 8))
    assert not {"POW", "SIGN", "TOPK_V2", "RELU_N1_TO_1"} & set(operator_names(data))
    with np.errstate(all="ignore"):
        want = sklir.interpret(module, SPECIALS, precision="native")
    got = run_micro(data, SPECIALS)
    # TFLite Micro's MUL clamps an infinite product to the largest float (see CLAMPED)
    limit = np.finfo(np.float32).max
    for name in ("power", "cube", "sign", "clipped"):
        clamped = np.clip(want[name], -limit, limit)
        np.testing.assert_allclose(np.clip(got[name], -limit, limit), clamped, rtol=1e-6, err_msg=name)
    # top_k on rows without NaN (TOPK_V2 orders NaN as it likes); -inf ties keep the lower index
    rows = ~np.isnan(SPECIALS).any(axis=1)
    np.testing.assert_array_equal(got["top_at"][rows], want["top_at"][rows])
    np.testing.assert_array_equal(got["top"][rows], want["top"][rows])


def test_c_header_needs_a_fixed_batch() -> None:
    from sklir.backends.c_export import emit_c

    estimator, module = iris_pipeline()
    with pytest.raises(SklirError, match="a C header is for a fixed batch"):
        emit_c(prepare(module, "tflite", profile=PROFILES["default"]), PROFILES["default"])


def test_strings_computed_inside_a_model_are_refused() -> None:
    from sklir.backends.profiles import check_module
    from sklir.ir import Builder, DType

    b, x = Builder.new("inside", 4)
    label = b.call("label_lookup", b.call("argmax", x, axis=1),
                   classes=sklir.ir.Tensor(np.array(["a", "b", "c", "d"], dtype=object), DType.str))
    b.output("same", b.call("compare", label, label, predicate="eq"))
    with pytest.raises(SklirError, match=r"has no string tensors, and op label_lookup \(node 1\) computes strings"):
        check_module(b.module, PROFILES["micro"])


def test_the_smallest_chooser_pads_only_nearly_full_trees() -> None:
    from sklearn.tree import DecisionTreeRegressor

    from sklir.ir.dialects.ml import TreeEnsemble
    from sklir.passes.lower_trees import choose, choose_smallest

    X = np.random.default_rng(0).normal(size=(4000, 6))
    y = X[:, 0] * 3 + np.sin(X[:, 1] * 5)

    def op(**kw: object) -> TreeEnsemble:
        module = sklir.lower(DecisionTreeRegressor(random_state=0, **kw).fit(X, y))
        return next(n.op for n in module.nodes if isinstance(n.op, TreeEnsemble))

    assert choose_smallest(op(max_depth=2)) == "gemm"  # a path matrix of a few entries
    full = op(max_depth=7)  # 4000 rows fill (almost) every node of depth 7
    assert full.left.shape[0] >= 2 * 255 // 3 and choose_smallest(full) == "perfect"
    sparse = op(max_depth=9, max_leaf_nodes=120)  # deep and narrow: padding would triple it
    assert choose_smallest(sparse) == "compact" and choose(sparse) == "perfect"


def test_integers_beyond_float32_cannot_go_through_a_float_kernel() -> None:
    from sklir.ir import Builder

    b, x = Builder.new("big_table", 4)
    table = b.const(np.array([2**25 + 1, 1, 2, 3], dtype=np.int64))
    b.output("out", b.call("gather", table, b.call("argmax", x, axis=1), axis=0))
    with pytest.raises(SklirError, match="int32 values beyond 2\\^24 cannot go through GATHER exactly"):
        sklir.emit(b.module, "tflite", profile="micro")


def test_the_micro_runner_refuses_what_is_not_a_model() -> None:
    with pytest.raises(SklirError, match="not a .tflite model"):
        run_micro(b"not a flatbuffer at all", np.zeros((1, 4), np.float32))


def test_an_unknown_label_rule_is_refused() -> None:
    from sklir.passes.pipelines import precision_pipeline

    with pytest.raises(SklirError, match="no label rule 'names'"):
        precision_pipeline("f32", labels="names")


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler on this machine")
def test_float_labels_beyond_the_finite_ones_compile(tmp_path: Path) -> None:
    # C has no literal for infinity or NaN: the table writes <math.h>'s constants
    from sklir.backends.c_export import _label_table

    lines = _label_table("m", "label", [float("-inf"), 0.5, float("inf"), float("nan")])
    assert lines[-1] == "static const double m_label_labels[4] = {-INFINITY, 0.5, INFINITY, NAN};"
    source = tmp_path / "labels.c"
    source.write_text("#include <math.h>\n" + "\n".join(lines) + "\ndouble first(void) { return m_label_labels[1]; }\n")
    result = subprocess.run(["cc", "-c", "-Wall", "-Werror", source.name], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler on this machine")
def test_names_that_would_share_a_c_identifier_get_their_own(tmp_path: Path) -> None:
    from sklir.backends.c_export import emit_c, identifiers

    assert identifiers(["a_b", "a-b", "A B", "x"]) == ["a_b", "a_b_1", "a_b_2", "x"]
    # two outputs whose names map to one identifier: each has its own defines, so the header compiles
    b, x = sklir.ir.Builder.new("two", 4)
    b.output("a_b", b.call("neg", x))
    b.output("a.b", b.call("abs", x))
    header = tmp_path / "two.h"
    header.write_bytes(emit_c(prepare(b.module, "tflite", profile=PROFILES["micro"]), PROFILES["micro"]))
    text = header.read_text()
    assert "#define TWO_OUTPUT_A_B_INDEX 0" in text and "#define TWO_OUTPUT_A_B_1_INDEX 1" in text
    source = tmp_path / "use.c"
    source.write_text('#include "two.h"\n'
                      "int columns(void) { return TWO_OUTPUT_A_B_COLUMNS + TWO_OUTPUT_A_B_1_COLUMNS; }\n")
    result = subprocess.run(["cc", "-c", "-Wall", "-Werror", source.name], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

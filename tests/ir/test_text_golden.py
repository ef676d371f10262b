"""Golden IR files: canonical text, exact round trip, full op and dtype coverage, and they run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from backend_checks import assert_backend_matches
from conftest import dataset
from irtext_support import GOLDEN, HERE, assert_same_module, dtypes_of, random_inputs

from sklir.ir import OPS, DType, Module, parse, print_module
from sklir.ir.types import concrete_shape


def _load(path: Path) -> tuple[str, Module]:
    text = path.read_text(encoding="utf-8")
    return text, parse(text)


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_print_parse_is_identity(path: Path) -> None:
    text, module = _load(path)
    assert print_module(module) == text


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_parse_print_gives_an_equal_module(path: Path) -> None:
    _, module = _load(path)
    assert_same_module(module, parse(print_module(module)))


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_interpreter_runs_golden_in_both_precisions(path: Path) -> None:
    """Both precisions give the declared shapes and dtypes, and the same answers: non-floats
    identical, NaN and ±inf in the same places, finite floats within 1e-5 of the output's scale
    (native rounds every f32 step, the f64 oracle only the inputs)."""
    _, module = _load(path)
    batch = 7
    inputs = random_inputs(module, np.random.default_rng(0), batch)
    outputs = {precision: interpret_checked(module, inputs, precision) for precision in ("native", "f64")}
    for precision, got in outputs.items():
        assert list(got) == list(module.outputs), precision
        for name, value in module.outputs.items():
            assert got[name].shape == concrete_shape(value.type.shape, batch), (precision, name)
            want = value.type.dtype
            if precision == "f64" and want is DType.f32:
                want = DType.f64  # the f64 oracle widens every float
            assert got[name].dtype == want.numpy, (precision, name)
    assert_backend_matches(outputs["native"], outputs["f64"], 1e-5, f"{path.stem} native vs f64", same_dtype=False)


def interpret_checked(module: Module, inputs: dict[str, np.ndarray], precision: str) -> dict[str, np.ndarray]:
    """Run the interpreter, silencing numpy's warnings about nan and inf from random data."""
    from sklir.ir import interpret

    with np.errstate(all="ignore"):
        return interpret(module, inputs, precision=precision)  # type: ignore[arg-type]


def test_goldens_cover_every_registered_op() -> None:
    used = {node.op.name for path in GOLDEN for node in _load(path)[1].nodes}
    missing = sorted(set(OPS) - used)
    assert not missing, f"no golden file under tests/ir/golden uses: {', '.join(missing)}"


def test_goldens_cover_every_dtype_scalars_and_empty_tensors() -> None:
    modules = [_load(path)[1] for path in GOLDEN]
    assert set().union(*(dtypes_of(m) for m in modules)) == set(DType)
    types = [r.type for m in modules for n in m.nodes for r in n.results]
    assert {t.dtype for t in types if t.rank == 0} >= {DType.f64, DType.i64, DType.bool, DType.str}
    assert {t.dtype for t in types if 0 in t.shape} >= set(DType)
    assert any(t.has_batch and 0 in t.shape for t in types)


def test_constant_edge_values_are_bit_exact() -> None:
    module = parse((HERE / "golden" / "constants.sklir").read_text(encoding="utf-8"))
    const = {n.results[0].name: n.op.value.array for n in module.nodes if n.op.name == "constant"}
    f64 = const["f64_edges"]
    assert np.signbit(f64[0]) and not np.signbit(f64[1])
    assert f64[3] == np.nextafter(0.0, 1.0)  # the smallest subnormal
    assert f64[5] == np.finfo(np.float64).max and np.isposinf(f64[6]) and np.isneginf(f64[7])
    assert np.isnan(f64[8]) and not np.signbit(f64[8]) and np.isnan(f64[10]) and np.signbit(f64[10])
    f32 = const["f32_edges"]
    assert f32.dtype == np.float32
    assert f32[0] == np.float32(0.1) and float(f32[0]) != 0.1  # the f32 nearest 0.1, not the f64 one
    assert f32[2] == np.nextafter(np.float32(0), np.float32(1)) and f32[4] == np.finfo(np.float32).max
    assert const["i64_edges"].tolist()[:2] == [np.iinfo(np.int64).min, np.iinfo(np.int64).max]
    assert const["strings"].tolist()[3:] == ['quote " and backslash \\', "tab\t newline\n nul\x00", "\x1f"]
    assert module.attributes["escapes"] == "tab\there\nnew line \\ back\x01slash"
    assert module.attributes["nested"] == (1, (2.5, "three"), (), False)
    assert module.attributes["dtype"] is DType.f32


def test_linear_classifier_golden_computes_on_iris() -> None:
    X, _ = dataset("iris")
    module = parse((HERE / "golden" / "linear_classifier.sklir").read_text(encoding="utf-8"))
    const = {n.results[0].name: n.op.value.array for n in module.nodes if n.op.name == "constant"}
    decision = X @ const["coef"] + const["intercept"]
    out = interpret_checked(module, {"x": X.astype(np.float32)}, "f64")
    # same f64 arithmetic in the same order: equal to the last bit but for summation order in matmul
    np.testing.assert_allclose(out["decision"], decision, rtol=1e-12, atol=1e-12)
    expected_p = np.exp(decision - decision.max(axis=1, keepdims=True))
    expected_p /= expected_p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out["probabilities"], expected_p, rtol=1e-12, atol=1e-15)
    classes = np.array(module.attributes["classes"], dtype=object)
    assert out["label"].tolist() == classes[decision.argmax(axis=1)].tolist()
    assert len(set(out["label"].tolist())) == 3  # the hand-written weights separate iris's three classes

"""Shared helpers for the IR text tests: the golden files, structural equality, random inputs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from sklir.ir import DType, Module, Tensor, Value
from sklir.ir.types import concrete_shape

HERE = Path(__file__).parent
GOLDEN = sorted((HERE / "golden").glob("*.sklir"))
INVALID = sorted((HERE / "invalid").glob("*.sklir"))


def same_float(a: float, b: float) -> bool:
    """Bit-equal floats, except that any nan equals a nan of the same sign."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b) and math.copysign(1, a) == math.copysign(1, b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


def assert_same_array(a: np.ndarray, b: np.ndarray, where: str) -> None:
    """Same dtype, shape and bits; a nan matches a nan with the same sign (payloads are not kept)."""
    assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
    if a.dtype.kind == "f":
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        assert np.array_equal(nan_a, nan_b), f"{where}: nan positions differ"
        assert np.array_equal(np.signbit(a), np.signbit(b)), f"{where}: signs differ"
        assert a[~nan_a].tobytes() == b[~nan_b].tobytes(), f"{where}: bits differ"
    elif a.dtype == object:
        assert a.tolist() == b.tolist(), f"{where}: strings differ"
    else:
        assert a.tobytes() == b.tobytes(), f"{where}: bits differ"


def assert_same_attribute(a: Any, b: Any, where: str) -> None:
    """Attribute values equal in type and, for floats and tensors, in every bit."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, Tensor):
        assert a.dtype is b.dtype, f"{where}: {a.type} vs {b.type}"
        assert_same_array(a.array, b.array, where)
    elif isinstance(a, float):
        assert same_float(a, b), f"{where}: {a!r} vs {b!r}"
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), f"{where}: lengths {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_attribute(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def assert_same_module(a: Module, b: Module) -> None:
    """Structural equality: same ops, attributes (bit-exact), wiring, types and outputs.

    Input names are part of the interface and must match; other value names are only hints.
    """
    assert a.name == b.name
    assert list(a.attributes) == list(b.attributes)
    for key in a.attributes:
        assert_same_attribute(a.attributes[key], b.attributes[key], f"module attribute {key}")
    mapping: dict[Value, Value] = {}
    assert [(v.name, v.type) for v in a.inputs] == [(v.name, v.type) for v in b.inputs]
    mapping.update(zip(a.inputs, b.inputs, strict=True))
    assert len(a.nodes) == len(b.nodes), f"{len(a.nodes)} vs {len(b.nodes)} nodes"
    for i, (na, nb) in enumerate(zip(a.nodes, b.nodes, strict=True)):
        where = f"node #{i} ({na.op.name})"
        assert type(na.op) is type(nb.op), f"{where}: {nb.op.name}"
        for key, value in na.op.attributes().items():
            assert_same_attribute(value, nb.op.attributes()[key], f"{where}.{key}")
        assert all(mapping[x] is y for x, y in zip(na.operands, nb.operands, strict=True)), where
        assert [r.type for r in na.results] == [r.type for r in nb.results], where
        mapping.update(zip(na.results, nb.results, strict=True))
    assert list(a.outputs) == list(b.outputs)
    assert all(mapping[a.outputs[k]] is b.outputs[k] for k in a.outputs)


_STRINGS = np.array(["a", "b", "ü", "", "日本"], dtype=object)


def random_inputs(module: Module, rng: np.random.Generator, batch: int) -> dict[str, np.ndarray]:
    """Random values for every input: normal floats, small non-negative ints, bools, short strings.

    Integer inputs stay in [0, 2) so that they are valid indices for the goldens' label lookups.
    """
    out: dict[str, np.ndarray] = {}
    for v in module.inputs:
        shape = concrete_shape(v.type.shape, batch)
        draw = {
            "f": lambda s: rng.normal(scale=2.0, size=s),
            "i": lambda s: rng.integers(0, 2, size=s),
            "b": lambda s: rng.random(s) < 0.5,
            "O": lambda s: rng.choice(_STRINGS, size=s),
        }[v.type.dtype.numpy.kind]
        out[v.name or "x"] = np.asarray(draw(shape)).astype(v.type.dtype.numpy)
    return out


def dtypes_of(module: Module) -> set[DType]:
    """Every dtype a value or a constant of ``module`` has."""
    types = {v.type.dtype for v in module.inputs}
    types |= {r.type.dtype for n in module.nodes for r in n.results}
    return types

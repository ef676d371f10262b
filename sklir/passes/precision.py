"""``to-f32``: rewrite a module to compute in float32, for backends whose kernels are f32.

Every f64 value becomes f32; f64 constants (any f64 tensor attribute) are rounded to f32 by the
rule :data:`ROUNDING` gives for their op; ``cast {to = f64}`` becomes ``cast {to = f32}``; and a
cast to the dtype its operand already has disappears (so the input cast of a lowered module goes).
Class labels must survive exactly: f64 classes that f32 cannot hold raise an error naming the
class value instead of silently changing what ``predict`` returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sklir.errors import IRError
from sklir.ir.core import Module, Node, Op, Tensor, Value
from sklir.ir.dialects.arith import Cast
from sklir.ir.dialects.tensor import LabelLookup
from sklir.ir.types import DType
from sklir.passes.manager import Pass, PassResult, register_pass

Rounding = Callable[[np.ndarray], np.ndarray]


def round_nearest(values: np.ndarray) -> np.ndarray:
    """Each f64 to the nearest f32 (ties to even): the default for weights and biases."""
    return values.astype(np.float32)


def exactly(values: np.ndarray) -> np.ndarray:
    """The f32 values, raising IRError naming the first value f32 cannot hold exactly."""
    rounded = values.astype(np.float32)
    same = (rounded.astype(np.float64) == values) | (np.isnan(values) & np.isnan(rounded))
    if not np.all(same):
        bad, near = values[~same].ravel()[0], rounded[~same].ravel()[0]
        raise IRError(f"class {float(bad)!r} is not exactly representable in f32 (nearest: {float(near)!r})")
    return rounded


# op class -> how its f64 tensor attributes become f32; ops not listed round to nearest.
# Tree thresholds (a later issue) need round-down here: sklearn compares float32(x) <= threshold,
# and only the largest f32 not above the f64 threshold keeps every decision.
ROUNDING: dict[type[Op], Rounding] = {
    LabelLookup: exactly,
}


def _to_f32(op: Op, value: Any) -> Any:
    """One attribute of ``op`` with every f64 in it moved to f32."""
    if isinstance(value, Tensor) and value.dtype is DType.f64:
        rule = ROUNDING.get(type(op), round_nearest)
        try:
            return Tensor(rule(value.array), DType.f32)
        except IRError as e:
            raise IRError(f"to-f32: {op.name}: {e}") from None
    if value is DType.f64:
        return DType.f32
    return value


def convert_op(op: Op) -> Op:
    """``op`` with its f64 attributes (constants, ``cast`` targets) in f32."""
    changes = {f.name: _to_f32(op, getattr(op, f.name)) for f in dataclasses.fields(op)}
    changes = {k: v for k, v in changes.items() if v is not getattr(op, k)}
    return dataclasses.replace(op, **changes) if changes else op


def _retyped(v: Value) -> Value:
    if v.type.dtype is DType.f64:
        return Value(v.type.with_dtype(DType.f32), v.name)
    return v


@register_pass
@dataclass(frozen=True)
class ToF32(Pass):
    """Make every f64 value f32, rounding constants per op (:data:`ROUNDING`), dropping no-op casts."""

    name: ClassVar[str] = "to-f32"

    def run(self, module: Module) -> PassResult:
        renamed: dict[Value, Value] = {v: _retyped(v) for v in module.inputs}
        nodes: list[Node] = []
        for node in module.nodes:
            operands = tuple(renamed.get(v, v) for v in node.operands)
            op = convert_op(node.op)
            if isinstance(op, Cast) and operands[0].type.dtype is op.to:
                # the cast has nothing left to do: its readers read the operand
                renamed[node.result] = operands[0]
                continue
            types = op.infer(*(v.type for v in operands))
            results = tuple(r if r.type == t else Value(t, r.name) for r, t in zip(node.results, types, strict=True))
            renamed.update(zip(node.results, results, strict=True))
            nodes.append(node if op is node.op and operands == node.operands and results == node.results
                         else Node(op, operands, results, node.loc))
        inputs = [renamed[v] for v in module.inputs]
        outputs = {k: renamed.get(v, v) for k, v in module.outputs.items()}
        # nodes and values compare by identity: unchanged means every one was kept as it was
        if nodes == module.nodes and inputs == module.inputs:
            return PassResult(module, False)
        return PassResult(Module(module.name, inputs, nodes, outputs, dict(module.attributes)), True)

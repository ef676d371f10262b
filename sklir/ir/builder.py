"""Builds modules op by op, inferring each result's type; what frontends and passes write with."""

from __future__ import annotations

from typing import Any

import numpy as np

from sklir.ir.core import OPS, Module, Node, Op, Tensor, Value
from sklir.ir.types import DType, N, TensorType


class Builder:
    """Appends nodes to a module: ``b.call("matmul", x, w)`` returns the new value."""

    def __init__(self, module: Module) -> None:
        self.module = module

    @classmethod
    def new(cls, name: str, n_features: int, dtype: DType = DType.f32,
            attributes: dict[str, Any] | None = None) -> tuple[Builder, Value]:
        """A builder on a fresh module with one input ``x: dtype[N, n_features]``."""
        x = Value(TensorType(dtype, (N, n_features)), "x")
        return cls(Module(name, [x], attributes=dict(attributes or {}))), x

    def apply(self, op: Op, *operands: Value) -> tuple[Value, ...]:
        """Append ``op`` applied to ``operands``; return all its results."""
        types = op.infer(*(v.type for v in operands))
        results = tuple(Value(t) for t in types)
        self.module.nodes.append(Node(op, tuple(operands), results))
        return results

    def call(self, name: str, *operands: Value, **attributes: Any) -> Value:
        """Append the registered op ``name`` with ``attributes``; return its single result."""
        (result,) = self.apply(OPS[name](**attributes), *operands)
        return result

    def const(self, array: Any, dtype: DType | None = None) -> Value:
        """A constant value holding ``array`` (kept exactly; f64 unless ``dtype`` says otherwise)."""
        arr = np.asarray(array)
        if dtype is None:
            dtype = DType.f64 if arr.dtype.kind == "f" else DType.of_numpy(arr.dtype)
        return self.call("constant", value=Tensor(arr, dtype))

    def output(self, name: str, value: Value) -> None:
        """Declare ``value`` as the module output ``name``."""
        self.module.outputs[name] = value

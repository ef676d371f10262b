"""The numpy reference interpreter: the oracle that passes and backends are tested against.

``precision="f64"`` runs every float value in float64 (f32 constants are widened), which is how
scikit-learn computes, but an explicit ``cast {to = f32}`` still rounds to float32 before the
value is widened again: scikit-learn's trees compare ``float32(x) <= threshold`` after a float64
scaler, and the frontend says so with that cast. ``precision="native"`` honours each value's own
dtype, which is what a float32 backend computes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

from sklir.errors import SklirError
from sklir.ir.core import Module, Value

Precision = Literal["f64", "native"]


def _widen(arr: np.ndarray) -> np.ndarray:
    return arr.astype(np.float64) if arr.dtype == np.float32 else arr


def interpret(module: Module, inputs: Mapping[str, np.ndarray] | np.ndarray,
              precision: Precision = "f64") -> dict[str, np.ndarray]:
    """Run ``module`` on ``inputs`` (an array for the single input ``x``, or a name -> array map)."""
    if not isinstance(inputs, Mapping):
        inputs = {module.inputs[0].name or "x": inputs}
    env: dict[Value, np.ndarray] = {}
    for v in module.inputs:
        if v.name is None or v.name not in inputs:
            raise SklirError(f"missing input %{v.name}")
        arr = np.asarray(inputs[v.name])
        want = v.type.shape[1:] if v.type.rank else ()
        if arr.ndim != v.type.rank or tuple(arr.shape[1:]) != tuple(want):
            raise SklirError(f"input %{v.name} expects {v.type}, got shape {list(arr.shape)}")
        arr = arr.astype(v.type.dtype.numpy)
        env[v] = _widen(arr) if precision == "f64" else arr
    for node in module.nodes:
        op = node.op
        args = [env[v] for v in node.operands]
        results = op.reference(*args)
        for r, arr in zip(node.results, results, strict=True):
            arr = np.asarray(arr)
            env[r] = _widen(arr) if precision == "f64" else arr
    return {name: env[v] for name, v in module.outputs.items()}

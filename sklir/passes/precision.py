"""``to-f32``: rewrite a module to compute in float32, for backends whose kernels are f32.

Every f64 value becomes f32; f64 constants (any f64 tensor attribute) are rounded to f32 by the
rule :data:`ROUNDING` gives for their op, except that a constant read only as a comparison bound is
rounded in the direction that keeps every float32 decision (:func:`comparison_rounding`);
``cast {to = f64}`` becomes ``cast {to = f32}``; and a cast to the dtype its operand already has
disappears (so the input cast of a lowered module goes).
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
from sklir.ir.dialects.arith import Cast, Compare
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.ir.dialects.tensor import Gather, LabelLookup, TakeAlongAxis
from sklir.ir.types import DType
from sklir.passes.manager import Pass, PassResult, register_pass

Rounding = Callable[[np.ndarray], np.ndarray]


def round_nearest(values: np.ndarray) -> np.ndarray:
    """Each f64 to the nearest f32 (ties to even): the default for weights and biases."""
    return values.astype(np.float32)


def round_down(values: np.ndarray) -> np.ndarray:
    """The largest f32 not above each f64: for f32 ``x``, ``x > t`` iff ``x > round_down(t)``."""
    rounded = values.astype(np.float32)
    above = rounded.astype(np.float64) > values
    return np.where(above, np.nextafter(rounded, np.float32(-np.inf)), rounded)


def round_up(values: np.ndarray) -> np.ndarray:
    """The smallest f32 not below each f64: for f32 ``x``, ``x >= t`` iff ``x >= round_up(t)``."""
    rounded = values.astype(np.float32)
    below = rounded.astype(np.float64) < values
    return np.where(below, np.nextafter(rounded, np.float32(np.inf)), rounded)


def exactly(values: np.ndarray) -> np.ndarray:
    """The f32 values, raising IRError naming the first value f32 cannot hold exactly."""
    rounded = values.astype(np.float32)
    same = (rounded.astype(np.float64) == values) | (np.isnan(values) & np.isnan(rounded))
    if not np.all(same):
        bad, near = values[~same].ravel()[0], rounded[~same].ravel()[0]
        raise IRError(f"class {float(bad)!r} is not exactly representable in f32 (nearest: {float(near)!r})")
    return rounded


# (op class, attribute) or op class -> how its f64 tensor attributes become f32; the pair is
# looked up first, then the class; anything not listed rounds to nearest.
ROUNDING: dict[type[Op] | tuple[type[Op], str], Rounding] = {
    LabelLookup: exactly,
    # scikit-learn's trees compare float32(x) <= threshold (f64): only the largest f32 not above
    # the threshold keeps every decision; leaf values and weights round to nearest
    (TreeEnsemble, "threshold"): round_down,
}


# predicate -> rounding of a bound on its right-hand side that keeps ``x <pred> bound`` exact for
# every f32 x (equality has no such rounding: an f64 bound f32 cannot hold is never equal)
BOUND_ROUNDING: dict[str, Rounding] = {"gt": round_down, "le": round_down, "lt": round_up, "ge": round_up}
# the predicate seen from the other side: ``bound <pred> x`` is ``x <FLIPPED[pred]> bound``
FLIPPED = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge", "eq": "eq", "ne": "ne"}


# ops that only move a table's elements about (operand 0) without changing them: a table whose
# gathered elements all end up as comparison bounds is itself a table of bounds
SELECTIONS: tuple[type[Op], ...] = (Gather, TakeAlongAxis)


def comparison_rounding(module: Module) -> dict[Value, Rounding]:
    """Constants read only as comparison bounds -> the rounding that keeps every f32 decision.

    A bound may reach its comparison directly or through gathers of a table of bounds (a lowered
    tree reads each node's threshold that way). A constant read by comparisons that disagree on
    the direction, or by any other op, is left to the op's own rule (round to nearest).
    """
    bound_rules: dict[Value, set[Rounding]] = {}
    other_use: set[Value] = set(module.outputs.values())
    # every use of a value comes after its definition: walking backwards, a gather's result has
    # been classified before the table it reads
    for node in reversed(module.nodes):
        for i, v in enumerate(node.operands):
            rules: set[Rounding] = set()
            if isinstance(node.op, Compare):
                predicate = node.op.predicate if i == 1 else FLIPPED[node.op.predicate]
                rule = BOUND_ROUNDING.get(predicate)
                rules = {rule} if rule is not None else set()
            elif isinstance(node.op, SELECTIONS) and i == 0 and node.result not in other_use:
                rules = set(bound_rules.get(node.result, set()))
            if rules:
                bound_rules.setdefault(v, set()).update(rules)
            else:
                other_use.add(v)
    return {v: next(iter(rules)) for v, rules in bound_rules.items() if len(rules) == 1 and v not in other_use}


def _to_f32(op: Op, attribute: str, value: Any, rule: Rounding | None = None) -> Any:
    """One attribute of ``op`` with every f64 in it moved to f32 (by ``rule`` when given)."""
    if isinstance(value, Tensor) and value.dtype is DType.f64:
        rule = rule or ROUNDING.get((type(op), attribute)) or ROUNDING.get(type(op), round_nearest)
        try:
            # a subnormal's neighbour underflows and a value beyond f32 becomes inf by design,
            # whatever np.seterr the caller set
            with np.errstate(all="ignore"):
                return Tensor(rule(value.array), DType.f32)
        except IRError as e:
            raise IRError(f"to-f32: {op.name}: {e}") from None
    if value is DType.f64:
        return DType.f32
    return value


def convert_op(op: Op, rule: Rounding | None = None) -> Op:
    """``op`` with its f64 attributes (constants, ``cast`` targets) in f32, rounded by ``rule`` if given."""
    changes = {f.name: _to_f32(op, f.name, getattr(op, f.name), rule) for f in dataclasses.fields(op)}
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
        bounds = comparison_rounding(module)
        nodes: list[Node] = []
        for node in module.nodes:
            operands = tuple(renamed.get(v, v) for v in node.operands)
            op = convert_op(node.op, bounds.get(node.results[0]) if len(node.results) == 1 else None)
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

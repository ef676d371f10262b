"""``fold-thresholds``: move a tree ensemble's thresholds back through the column-wise steps before it.

A scaler before a tree computes ``z = (x - mean) / scale`` in float64, and the tree compares ``z``
with its thresholds; a float32 artefact would compute ``z`` in float32 and could send a value
within rounding of a threshold the other way. But each such step is monotone in its column, so
``g(x) <= t`` (``g`` the steps as scikit-learn computes them, in float64) holds exactly for the
float32 inputs ``x <= x*``, where ``x*`` is the largest float32 with ``g(x*) <= t``. The pass
finds ``x*`` for every node by bisection over the float32 values, with ``g`` evaluated by the
steps' own reference semantics, and makes the ensemble read the float32 input ``x`` directly:
its decisions are then scikit-learn's for every input, and the steps disappear unless something
else reads them. A missing value takes the way ``g(NaN)`` goes (an imputer's fill value), or the
node's own missing-value way when ``g(NaN)`` is NaN.

The steps it moves through, each reading one value and constants of shape ``[]``, ``[n]`` or
``[1, n]``: ``add``, ``sub`` (the constant second), ``mul``, ``div`` (by a positive constant, the
constant second for ``div``), ``clip``, ``cast`` between floats, ``select(isnan(v), c, v)`` (an
imputer) and ``gather(v, idx) {axis = 1}`` (a column selection). Anything else (a matrix product,
a step that mixes columns or reverses their order) stops the walk; the ensemble then keeps the
value it reads. It runs first in the default pipeline: ``fold-affine`` would otherwise rewrite the
steps into an equivalent but differently rounded form.

Before (``%x: f32[N,2]``)::

    %0: f64[N,2] = cast(%x) {to = f64}
    %2: f64[N,2] = sub(%0, %1)         # %1: the mean
    %4: f64[N,2] = div(%2, %3)         # %3: the scale
    %5: f32[N,2] = cast(%4) {to = f32}
    %6, %7 = tree_ensemble(%5) {feature = ..., threshold = f64[...] [0.25, ...]}

after: ``%6, %7 = tree_ensemble(%x) {threshold = f64[...] [x*, ...]}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sklir.ir.core import Module, Node, Tensor, Value, constant_of
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.ir.types import DType
from sklir.passes.manager import Pass, PassResult, register_pass
from sklir.passes.rewrite import rebuild
from sklir.passes.trees import LARGEST

# a step: (values [K], the column each value is in) -> the step's values
Step = Callable[[np.ndarray, np.ndarray], np.ndarray]

# binary op -> whether the constant may stand first; mul and div need a positive constant
MONOTONE_BINARY: dict[str, bool] = {"add": True, "sub": False, "mul": True, "div": False}
POSITIVE_ONLY = {"mul", "div"}


def _per_column(table: Tensor, width: int) -> np.ndarray | None:
    """A constant of shape ``[]``, ``[width]`` or ``[1, width]`` as one value per column, else None."""
    array = table.array
    if array.ndim == 0:
        return np.full(width, array)
    if array.shape in ((width,), (1, width)):
        return array.reshape(width)
    return None


@dataclass(frozen=True)
class Walk:
    """Column-wise steps from ``origin`` (a float32 value) to the value an ensemble reads, in
    order: each step with the column of its operand it reads for each of the ensemble's columns;
    ``columns``: the origin's column for each of the ensemble's columns."""

    origin: Value
    steps: tuple[tuple[Step, np.ndarray], ...]
    columns: np.ndarray


# what a step gives back: (the value it reads, its column-wise function or None, a gather's column map)
Found = tuple[Value, Step | None, np.ndarray | None]


def _binary(node: Node, producers: dict[Value, Node], width: int) -> Found | None:
    op = node.op
    a, b = node.operands
    const_b, const_a = constant_of(producers, b), constant_of(producers, a)
    first = const_b is None
    table = const_a if first else const_b
    operand = b if first else a
    if table is None or (first and not MONOTONE_BINARY[op.name]):
        return None
    per = _per_column(table, width)
    # an infinite or NaN constant makes some finite x NaN (inf - inf, 0 * inf): not monotone
    if per is None or not np.all(np.isfinite(per)) or (op.name in POSITIVE_ONLY and not np.all(per > 0)):
        return None

    def step(u: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return op.reference(per[cols], u)[0] if first else op.reference(u, per[cols])[0]

    return operand, step, None


def _elementwise(node: Node, producers: dict[Value, Node], width: int) -> Found | None:
    op = node.op
    if op.name == "cast" and not op.to.is_float:  # type: ignore[attr-defined]
        return None
    return node.operands[0], lambda u, cols: op.reference(u)[0], None


def _imputed(node: Node, producers: dict[Value, Node], width: int) -> Found | None:
    condition, fill, operand = node.operands
    test, table = producers.get(condition), constant_of(producers, fill)
    if test is None or test.op.name != "isnan" or test.operands[0] is not operand or table is None:
        return None
    per = _per_column(table, width)
    if per is None:
        return None
    return operand, lambda u, cols: np.where(np.isnan(u), per[cols], u), None


def _columns(node: Node, producers: dict[Value, Node], width: int) -> Found | None:
    operand, index = node.operands
    table = constant_of(producers, index)
    if node.op.axis != 1 or table is None or table.array.ndim != 1:  # type: ignore[attr-defined]
        return None
    return operand, None, table.array.astype(np.int64)


# op name -> how to step back through it (None: not a column-wise monotone step)
STEPS: dict[str, Callable[[Node, dict[Value, Node], int], Found | None]] = {
    **dict.fromkeys(MONOTONE_BINARY, _binary), "clip": _elementwise, "cast": _elementwise,
    "select": _imputed, "gather": _columns,
}


def _step(node: Node, producers: dict[Value, Node], v: Value) -> Found | None:
    """How to step back through ``node`` (which defines ``v``), or None where the walk stops."""
    width = v.type.shape[1] if v.type.rank == 2 else None
    rule = STEPS.get(node.op.name)
    if rule is None or not isinstance(width, int) or not v.type.dtype.is_float:
        return None
    found = rule(node, producers, width)
    # a step must keep the shape: broadcasting a narrower operand up would not be column-wise
    if found is not None and found[0].type.shape != v.type.shape and found[2] is None:
        return None
    return found


def walk(module: Module, value: Value) -> Walk | None:
    """The longest walk of column-wise steps back from ``value`` ending at a float32 value."""
    producers = module.producers()
    steps: list[tuple[Step, np.ndarray]] = []
    columns = np.arange(value.type.shape[1]) if isinstance(value.type.shape[1], int) else None
    best: Walk | None = None
    v = value
    while columns is not None:
        if v.type.dtype is DType.f32 and v is not value:
            best = Walk(v, tuple(reversed(steps)), columns)
        node = producers.get(v)
        found = _step(node, producers, v) if node is not None else None
        if found is None:
            break
        v, step, remap = found
        if remap is not None:
            columns = remap[columns]
        else:
            assert step is not None
            steps.append((step, columns))
    return best


def _run(w: Walk, x: np.ndarray, features: np.ndarray) -> np.ndarray:
    """``g(x)``: each node's value ``x[k]`` (a float32 in column ``features[k]`` of the origin)
    through the steps, as the node compares it."""
    u = x
    for step, columns in w.steps:
        u = step(u, columns[features])
    return u


# float32 values in order as integers: a value's bits, negatives mirrored below zero
def _keys(x: np.ndarray) -> np.ndarray:
    bits = x.astype(np.float32).view(np.int32).astype(np.int64)
    return np.where(bits >= 0, bits, -(bits & 0x7FFFFFFF))


def _floats(keys: np.ndarray) -> np.ndarray:
    bits = np.where(keys >= 0, keys, (-keys) | 0x80000000).astype(np.uint32)
    return bits.view(np.float32)


def folded(op: TreeEnsemble, w: Walk) -> TreeEnsemble | None:
    """``op`` reading ``w.origin``: thresholds ``x*`` and missing-value ways as the steps give
    them; None when some threshold has no float32 counterpart (no value at all goes left)."""
    internal = op.internal
    nodes = np.flatnonzero(internal)
    features = op.feature.array[nodes]
    t = op.threshold.array[nodes]

    def goes_left(keys: np.ndarray) -> np.ndarray:
        return np.asarray(_run(w, _floats(keys), features) <= t)

    low = np.full(len(nodes), _keys(np.array([-np.inf]))[0])
    high = np.full(len(nodes), _keys(np.array([np.inf]))[0])
    if not np.all(goes_left(low)):
        return None
    everything = goes_left(high)
    # invariant for the rest: low goes left, high does not
    while True:
        open_ = ~everything & (high - low > 1)
        if not open_.any():
            break
        middle = (low + high) // 2
        left = goes_left(middle)
        low = np.where(open_ & left, middle, low)
        high = np.where(open_ & ~left, middle, high)
    bound = np.where(everything, np.inf, _floats(low).astype(np.float64))
    # the lowerings stand NaN as float32's lowest and +inf inputs as its largest: a bound at
    # either end would meet those stand-ins
    if np.any(np.isneginf(bound)) or (np.any(bound == LARGEST) and np.any(np.isposinf(bound))):
        return None
    with np.errstate(invalid="ignore"):
        missing = _run(w, np.full(len(nodes), np.nan, np.float32), features)
        missing_left = np.where(np.isnan(missing), op.missing_left.array[nodes], missing <= t)
    threshold, feature, sides = op.threshold.array.copy(), np.zeros_like(op.feature.array), op.missing_left.array.copy()
    threshold[nodes], feature[nodes], sides[nodes] = bound, w.columns[features], missing_left
    return dataclasses.replace(op, threshold=Tensor(threshold, op.threshold.dtype), feature=Tensor(feature, DType.i64),
                               missing_left=Tensor(sides, DType.bool))


@register_pass
@dataclass(frozen=True)
class FoldThresholds(Pass):
    """Make each tree ensemble read the float32 value before its column-wise steps (see the module doc)."""

    name: ClassVar[str] = "fold-thresholds"

    def run(self, module: Module) -> PassResult:
        nodes: list[Node] = []
        changed = False
        for node in module.nodes:
            op = node.op
            w = walk(module, node.operands[0]) if isinstance(op, TreeEnsemble) and not op.categorical.shape[0] else None
            new = folded(op, w) if w is not None and isinstance(op, TreeEnsemble) else None
            if new is None or w is None:
                nodes.append(node)
                continue
            nodes.append(Node(new, (w.origin,), node.results, node.loc))
            changed = True
        return PassResult(rebuild(module, nodes) if changed else module, changed)

"""``fold-affine``: compose chains of affine steps into one map and emit it in its cheapest form.

Frontends emit affine preprocessing and linear models as small steps on a ``[N, n]`` value:
``matmul(v, C)`` by a constant matrix; ``add``/``sub``/``mul``/``div`` by a constant of shape
``[]``, ``[n]`` or ``[1, n]`` (``v`` on either side, except ``div(c, v)``, which is not affine);
``neg(v)``; ``gather(v, idx) {axis = 1}`` selecting columns by constant indices; and
``concat(v1, v2, ...) {axis = 1}`` of maps of one source side by side (a ColumnTransformer of
scalers: each block's columns selected and scaled, then joined).

Each step's result is tracked as an affine map of an upstream *source* value, composed in
float64: either sparse (:class:`SparseMap`), ``y = x[:, index] * scale + bias`` (a diagonal map when
``index`` is the identity), or dense (:class:`DenseMap`), ``y = x @ matrix + bias``. A chain stops
at a value read more than once (module outputs count as reads), so no work is ever duplicated;
there the map is materialised:

* dense: ``matmul(source, A)``, then ``add`` when the bias is not zero;
* sparse: ``gather`` unless the selection is the identity, ``mul`` unless every scale is one,
  ``add`` unless the bias is zero. A dense matrix with one non-zero per column is a selection
  and takes the sparse form, unless the dense form needs fewer ops.

A chain is rewritten only when that needs fewer ops, or as many ops and the result is the dense
``matmul`` + ``add`` form (whose bias a backend fuses into the matmul). A lone scaler such as
``sub(mean)``, ``div(scale)`` therefore stays as written, bit for bit what scikit-learn computes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar, TypeAlias

import numpy as np

from sklir.ir.core import OPS, Module, Node, Tensor, Value, constant_of
from sklir.ir.dialects.tensor import Concat, Constant, Gather
from sklir.ir.types import DType, N, TensorType
from sklir.passes.manager import Pass, PassResult, register_pass
from sklir.passes.rewrite import rebuild, use_counts


@dataclass(frozen=True)
class DenseMap:
    """``y = x @ matrix + bias`` with ``x = source`` (``n_in`` columns); arrays are float64."""

    source: Value
    n_in: int
    bias: np.ndarray
    matrix: np.ndarray

    def shifted(self, c: np.ndarray) -> DenseMap:
        """``y + c``."""
        return replace(self, bias=self.bias + c)

    def scaled(self, c: np.ndarray) -> DenseMap:
        """``y * c`` (column-wise)."""
        return replace(self, matrix=self.matrix * c, bias=self.bias * c)

    def divided(self, c: np.ndarray) -> DenseMap:
        """``y / c`` (column-wise); divides rather than multiplying by a rounded reciprocal."""
        return replace(self, matrix=self.matrix / c, bias=self.bias / c)

    def times(self, c: np.ndarray) -> DenseMap:
        """``y @ c`` for a constant matrix ``c``."""
        return replace(self, matrix=self.matrix @ c, bias=self.bias @ c)

    def selected(self, idx: np.ndarray) -> DenseMap:
        """``y[:, idx]``."""
        return replace(self, matrix=self.matrix[:, idx], bias=self.bias[idx])

    def sparsified(self) -> AffineMap:
        """The sparse form when the matrix has exactly one non-zero per column, else self."""
        nonzero = self.matrix != 0
        if not np.all(nonzero.sum(axis=0) == 1):
            return self
        index = np.argmax(nonzero, axis=0)
        scale = self.matrix[index, np.arange(self.matrix.shape[1])]
        return SparseMap(self.source, self.n_in, self.bias, scale, index)


@dataclass(frozen=True)
class SparseMap:
    """``y = x[:, index] * scale + bias`` with ``x = source`` (``n_in`` columns); arrays are float64.

    ``index`` None means the identity selection (a diagonal map).
    """

    source: Value
    n_in: int
    bias: np.ndarray
    scale: np.ndarray
    index: np.ndarray | None = None

    @staticmethod
    def identity(source: Value) -> SparseMap:
        """The map ``y = x`` on ``source``."""
        n = source.type.static_dim(1)
        return SparseMap(source, n, np.zeros(n), np.ones(n))

    def shifted(self, c: np.ndarray) -> SparseMap:
        """``y + c``."""
        return replace(self, bias=self.bias + c)

    def scaled(self, c: np.ndarray) -> SparseMap:
        """``y * c`` (column-wise)."""
        return replace(self, scale=self.scale * c, bias=self.bias * c)

    def divided(self, c: np.ndarray) -> SparseMap:
        """``y / c`` (column-wise); divides rather than multiplying by a rounded reciprocal."""
        return replace(self, scale=self.scale / c, bias=self.bias / c)

    def times(self, c: np.ndarray) -> DenseMap:
        """``y @ c`` for a constant matrix ``c``: the dense form."""
        rows = np.arange(self.n_in) if self.index is None else self.index
        matrix = np.zeros((self.n_in, c.shape[1]))
        # several output columns may select the same input column: their rows accumulate
        np.add.at(matrix, rows, self.scale[:, None] * c)
        return DenseMap(self.source, self.n_in, self.bias @ c, matrix)

    def selected(self, idx: np.ndarray) -> SparseMap:
        """``y[:, idx]``."""
        index = idx if self.index is None else self.index[idx]
        return replace(self, index=index, scale=self.scale[idx], bias=self.bias[idx])

    def sparsified(self) -> SparseMap:
        """Already sparse: self."""
        return self


# the map a chain of steps has composed so far, in one of its two forms
AffineMap: TypeAlias = DenseMap | SparseMap


# A step composes the map of its non-constant operand with its constant operand; ``first`` says
# the constant is the left operand. None: not affine in that position.
Step = Callable[[AffineMap, np.ndarray, bool], "AffineMap | None"]

STEPS: dict[str, Step] = {
    # y + c, c + y
    "add": lambda m, c, first: m.shifted(c),
    # y - c -> y + (-c);  c - y -> (-y) + c
    "sub": lambda m, c, first: m.scaled(-np.ones_like(c)).shifted(c) if first else m.shifted(-c),
    # y * c, c * y
    "mul": lambda m, c, first: m.scaled(c),
    # y / c;  c / y is not affine
    "div": lambda m, c, first: None if first else m.divided(c),
    # y @ C;  C @ y is not a column map
    "matmul": lambda m, c, first: None if first else m.times(c),
    # y[:, idx]
    "gather": lambda m, c, first: None if first else m.selected(c),
    # -y
    "neg": lambda m, c, first: m.scaled(-np.ones(len(m.bias))),
}


def _is_rows(t: TensorType) -> bool:
    """A float ``[N, m]`` value: the only shape affine maps are tracked on."""
    return t.dtype.is_float and t.rank == 2 and t.shape[0] is N and isinstance(t.shape[1], int)


def _step_operand(node: Node, producers: dict[Value, Node]) -> tuple[Value, np.ndarray, bool] | None:
    """(the non-constant operand, the constant as a float64 array fit for the step, constant first)."""
    if node.op.name not in STEPS or len(node.results) != 1 or not _is_rows(node.result.type):
        return None
    if node.op.name == "neg":
        return node.operands[0], np.empty(0), False
    left, right = (constant_of(producers, v) for v in node.operands)
    # exactly one operand must be a constant
    if left is not None and right is None:
        value, tensor, first = node.operands[1], left, True
    elif left is None and right is not None:
        value, tensor, first = node.operands[0], right, False
    else:
        return None
    if not _is_rows(value.type):
        return None
    c = _constant_for(node, value.type, tensor)
    return None if c is None else (value, c, first)


def _constant_for(node: Node, vtype: TensorType, tensor: Tensor) -> np.ndarray | None:
    """The constant in the form its step composes with, or None when the step is not a column map."""
    n = vtype.static_dim(1)
    arr = tensor.array
    if node.op.name == "matmul":
        return arr.astype(np.float64)
    if isinstance(node.op, Gather):
        # column selection: axis 1 (or -1) of the rank-2 value
        if node.op.axis % vtype.rank != 1 or arr.ndim != 1 or not np.all((arr >= -n) & (arr < n)):
            return None
        return arr.astype(np.int64) % max(n, 1)
    # elementwise: the constant must broadcast over the rows without widening the value
    if node.result.type.shape != vtype.shape or arr.ndim > 2:
        return None
    try:
        return np.broadcast_to(arr.astype(np.float64), (1, n))[0].copy()
    except ValueError:
        return None


def _joined(maps: list[AffineMap]) -> AffineMap | None:
    """The maps of one source side by side (``concat`` along the columns), or None."""
    source = maps[0].source
    if any(m.source is not source for m in maps):
        return None
    bias = np.concatenate([m.bias for m in maps])
    if all(isinstance(m, SparseMap) for m in maps):
        sparse = [m for m in maps if isinstance(m, SparseMap)]
        index = np.concatenate([np.arange(m.n_in) if m.index is None else m.index for m in sparse])
        return SparseMap(source, sparse[0].n_in, bias, np.concatenate([m.scale for m in sparse]), index)
    dense = [m if isinstance(m, DenseMap) else m.times(np.eye(len(m.bias))) for m in maps]
    return DenseMap(source, dense[0].n_in, bias, np.concatenate([m.matrix for m in dense], axis=1))


def _is_column_concat(node: Node) -> bool:
    return isinstance(node.op, Concat) and len(node.results) == 1 and _is_rows(node.result.type) \
        and node.op.axis % 2 == 1 and all(_is_rows(v.type) for v in node.operands)


@dataclass
class _Chain:
    """A map and the nodes it replaces, in program order."""

    map: AffineMap
    nodes: tuple[Node, ...]


def _materialise(m: AffineMap, end: Value) -> tuple[list[Node], Value]:
    """Nodes computing ``m`` in its own form (dense or sparse), and the value they produce."""
    dtype = end.type.dtype
    nodes: list[Node] = []

    def apply(opname: str, x: Value, const: np.ndarray, const_dtype: DType = dtype) -> Value:
        tensor = Tensor(_collapse(const), const_dtype)
        c = Value(tensor.type)
        op = Gather(axis=1) if opname == "gather" else OPS[opname]()
        (rtype,) = op.infer(x.type, c.type)
        out = Value(rtype)
        nodes.extend([Node(Constant(tensor), (), (c,)), Node(op, (x, c), (out,))])
        return out

    x = m.source
    if isinstance(m, DenseMap):
        x = apply("matmul", x, m.matrix)
    else:
        if m.index is not None and not np.array_equal(m.index, np.arange(m.n_in)):
            x = apply("gather", x, m.index, DType.i64)
        if np.any(m.scale != 1):
            x = apply("mul", x, m.scale)
    if np.any(m.bias != 0):
        x = apply("add", x, m.bias)
    if nodes:
        # the last value takes over the chain end's name so that dumps stay readable
        last = nodes[-1]
        renamed = Value(x.type, end.name)
        nodes[-1] = Node(last.op, last.operands, (renamed,))
        x = renamed
    return nodes, x


def _collapse(vector: np.ndarray) -> np.ndarray:
    """A vector of one repeated float as a scalar (broadcasts the same, prints shorter)."""
    if vector.dtype.kind != "f" or vector.ndim != 1 or len(vector) < 2:
        return vector
    # compare bits, so that 0.0 and -0.0 stay apart
    bits = vector.astype(np.float64).view(np.int64)
    if np.all(bits == bits[0]):
        return np.asarray(vector[0])
    return vector


def _cost(nodes: list[Node]) -> int:
    """How many computing ops ``nodes`` hold (constants are free)."""
    return sum(not isinstance(n.op, Constant) for n in nodes)


def _worth_it(chain: _Chain, new_nodes: list[Node]) -> bool:
    """Rewrite when it needs fewer ops, or as many and yields the dense matmul + add form."""
    old = [n.op.name for n in chain.nodes]
    new = [n.op.name for n in new_nodes if not isinstance(n.op, Constant)]
    # a tie keeps the chain as written (a lone scaler stays bit-exact) unless the rewrite is the
    # dense form, whose bias add the backends fuse into the matmul
    return len(new) < len(old) or (len(new) == len(old) and new[:1] == ["matmul"] and new != old)


@register_pass
@dataclass(frozen=True)
class FoldAffine(Pass):
    """Compose chains of affine steps and materialise each chain end in its cheapest form."""

    name: ClassVar[str] = "fold-affine"

    def run(self, module: Module) -> PassResult:
        uses = use_counts(module)
        producers = module.producers()
        chains: dict[Value, _Chain] = {}
        absorbed: set[Value] = set()
        for node in module.nodes:
            if _is_column_concat(node):
                bases = [chains.get(v) if uses.get(v, 0) == 1 else None for v in node.operands]
                joined = _joined([b.map if b is not None else SparseMap.identity(v)
                                  for b, v in zip(bases, node.operands, strict=True)])
                if joined is not None:
                    absorbed.update(v for b, v in zip(bases, node.operands, strict=True) if b is not None)
                    prior = tuple(n for b in bases if b is not None for n in b.nodes)
                    chains[node.result] = _Chain(joined, (*prior, node))
                continue
            found = _step_operand(node, producers)
            if found is None:
                continue
            value, c, first = found
            base = chains.get(value) if uses.get(value, 0) == 1 else None
            start = base.map if base is not None else SparseMap.identity(value)
            composed = STEPS[node.op.name](start, c, first)
            if composed is None:
                continue
            if base is not None:
                absorbed.add(value)
            prior = base.nodes if base is not None else ()
            chains[node.result] = _Chain(composed, (*prior, node))

        replaced: dict[Node, list[Node]] = {}
        removed: set[Node] = set()
        subst: dict[Value, Value] = {}
        for end, chain in chains.items():
            if end in absorbed or uses.get(end, 0) == 0:
                continue
            # fewest ops wins; on a tie the sparse form (no sums, so exact; fewer flops). Only a
            # chain through a matmul has a dense candidate: a diagonal one stays elementwise.
            candidates = [chain.map.sparsified(), *([chain.map] if isinstance(chain.map, DenseMap) else [])]
            forms = [nv for nv in (_materialise(f, end) for f in candidates) if _worth_it(chain, nv[0])]
            if not forms:
                continue
            new_nodes, value = min(forms, key=lambda nv: _cost(nv[0]))
            removed.update(chain.nodes)
            replaced[chain.nodes[-1]] = new_nodes
            subst[end] = value
        if not subst:
            return PassResult(module, False)
        nodes: list[Node] = []
        for node in module.nodes:
            if node in replaced:
                nodes.extend(replaced[node])
            elif node not in removed:
                nodes.append(node)
        return PassResult(rebuild(module, nodes, subst), True)

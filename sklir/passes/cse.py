"""``cse``: common-subexpression elimination.

Two nodes compute the same thing when their ops are equal (ops are frozen dataclasses, and a
constant's :class:`~sklir.ir.core.Tensor` compares by dtype, shape and bytes) and their operands
are the same values. The later node is dropped and its results replaced by the earlier node's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sklir.ir.core import Module, Node, Op, Value
from sklir.passes.manager import Pass, PassResult, register_pass
from sklir.passes.rewrite import rebuild, resolve

# ops whose two operands may be swapped without changing a single bit of the result
# (IEEE addition, multiplication, max and min are commutative), so add(a, b) == add(b, a)
COMMUTATIVE = frozenset({"add", "mul", "maximum", "minimum", "logical_and", "logical_or"})


def _key(op: Op, operands: tuple[Value, ...]) -> tuple[Op, tuple[int, ...]]:
    ids = tuple(id(v) for v in operands)
    if op.name in COMMUTATIVE:
        ids = tuple(sorted(ids))
    return op, ids


@register_pass
@dataclass(frozen=True)
class CommonSubexpressionElimination(Pass):
    """Merge nodes with equal ops applied to equal operands (constants merge by content)."""

    name: ClassVar[str] = "cse"

    def run(self, module: Module) -> PassResult:
        seen: dict[tuple[Op, tuple[int, ...]], Node] = {}
        subst: dict[Value, Value] = {}
        kept: list[Node] = []
        for node in module.nodes:
            operands = tuple(resolve(subst, v) for v in node.operands)
            key = _key(node.op, operands)
            first = seen.get(key)
            if first is None:
                seen[key] = node
                kept.append(node)
            else:
                subst.update(zip(node.results, first.results, strict=True))
        if not subst:
            return PassResult(module, False)
        return PassResult(rebuild(module, kept, subst), True)

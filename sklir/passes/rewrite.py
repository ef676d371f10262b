"""Helpers every pass shares: rebuilding a module with values substituted, use counts, and
expanding every high-level op of a kind into core ops (:func:`expand_ops`).

Passes never mutate the module they are given: they build a new node list and call
:func:`rebuild`, so a caller holding the module from before a pass (a test comparing the
interpreter before and after, ``--print-after-all``) still sees it unchanged. Values are shared
between the old and the new module; they are never mutated either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from sklir.ir.builder import Builder
from sklir.ir.core import Module, Node, Op, Value
from sklir.passes.manager import PassResult


def resolve(subst: Mapping[Value, Value], value: Value) -> Value:
    """Follow ``subst`` from ``value`` to the value that finally replaces it."""
    while value in subst:
        value = subst[value]
    return value


def rebuild(module: Module, nodes: Iterable[Node], subst: Mapping[Value, Value] | None = None) -> Module:
    """A new module with ``nodes`` (fresh node objects), every operand and output passed through ``subst``."""
    subst = subst or {}
    new_nodes = [Node(n.op, tuple(resolve(subst, v) for v in n.operands), n.results, n.loc) for n in nodes]
    outputs = {name: resolve(subst, v) for name, v in module.outputs.items()}
    return Module(module.name, list(module.inputs), new_nodes, outputs, dict(module.attributes))


def use_counts(module: Module) -> dict[Value, int]:
    """Value -> how many times it is read: once per operand slot and once per module output."""
    counts: dict[Value, int] = {}
    for node in module.nodes:
        for v in node.operands:
            counts[v] = counts.get(v, 0) + 1
    for v in module.outputs.values():
        counts[v] = counts.get(v, 0) + 1
    return counts


def expand_ops(module: Module, op_class: type[Op], lowering: Callable[[Builder, Node], Sequence[Value]]) -> PassResult:
    """Replace every node whose op is an ``op_class`` by the core ops ``lowering(b, node)``
    appends to a scratch builder, its results by the values it returns (one per result): the
    loop every pass that lowers a high-level op shares."""
    nodes: list[Node] = []
    subst: dict[Value, Value] = {}
    changed = False
    for node in module.nodes:
        if not isinstance(node.op, op_class):
            nodes.append(node)
            continue
        scratch = Builder(Module("scratch", []))
        results = lowering(scratch, node)
        nodes.extend(scratch.module.nodes)
        subst.update(zip(node.results, results, strict=True))
        changed = True
    return PassResult(rebuild(module, nodes, subst) if changed else module, changed)

"""The module verifier: SSA form, operand and result types, outputs.

It runs after the frontend, after every pass and after parsing. Errors name the op, its position
in the module and, for parsed text, the line and column.
"""

from __future__ import annotations

import re

from sklir.errors import IRError
from sklir.ir.core import Module, Node, Value

# what the grammar accepts for each kind of name (grammar/sklir.lark), so every module prints as
# text that parses back
NAME_RULES = {
    "module name": re.compile(r"[A-Za-z_][A-Za-z0-9_.]*"),
    "output name": re.compile(r"[a-z_][a-z0-9_.]*"),
    "attribute name": re.compile(r"[a-z_][a-z0-9_.]*"),
    "input name": re.compile(r"[A-Za-z0-9_.]+"),
}


def _check_name(kind: str, name: str) -> None:
    if not NAME_RULES[kind].fullmatch(name):
        raise IRError(f"{kind} {name!r} is not a valid name (must match {NAME_RULES[kind].pattern})")


def _where(node: Node, index: int) -> str:
    if node.loc is not None:
        return f"line {node.loc[0]}, column {node.loc[1]}: "
    return f"op #{index} ({node.op.name}): "


def verify(module: Module) -> Module:
    """Check ``module``'s invariants and return it; raise :class:`IRError` naming the first breach."""
    _check_name("module name", module.name)
    for key in module.attributes:
        _check_name("attribute name", key)
    defined: set[Value] = set()
    for v in module.inputs:
        if v in defined:
            raise IRError(f"input %{v.name} declared twice")
        if not v.name:
            raise IRError("every module input needs a name")
        _check_name("input name", v.name)
        defined.add(v)
    for i, node in enumerate(module.nodes):
        for v in node.operands:
            if v not in defined:
                raise IRError(f"{_where(node, i)}operand %{v.name or '?'} is used before it is defined")
        try:
            expected = node.op.infer(*(v.type for v in node.operands))
        except IRError as e:
            raise IRError(f"{_where(node, i)}{e}") from None
        if len(expected) != len(node.results):
            raise IRError(f"{_where(node, i)}{node.op.name} has {len(expected)} result(s), "
                          f"the text declares {len(node.results)}")
        for r, t in zip(node.results, expected, strict=True):
            if r.type != t:
                raise IRError(f"{_where(node, i)}{node.op.name} yields {t}, declared {r.type}")
            if r in defined:
                raise IRError(f"{_where(node, i)}value %{r.name or '?'} is defined twice")
            defined.add(r)
    if not module.outputs:
        raise IRError("module has no outputs")
    for name, v in module.outputs.items():
        _check_name("output name", name)
        if v not in defined:
            raise IRError(f"output {name} refers to an undefined value")
    return module

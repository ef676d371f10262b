"""``dce``: dead-value elimination. A node whose results reach no module output is dropped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sklir.ir.core import Module, Value
from sklir.passes.manager import Pass, PassResult, register_pass
from sklir.passes.rewrite import rebuild


@register_pass
@dataclass(frozen=True)
class DeadValueElimination(Pass):
    """Drop every node none of whose results is (transitively) read by a module output.

    No op has side effects, so liveness is reachability backwards from the outputs.
    """

    name: ClassVar[str] = "dce"

    def run(self, module: Module) -> PassResult:
        live: set[Value] = set(module.outputs.values())
        kept = []
        for node in reversed(module.nodes):
            if any(r in live for r in node.results):
                live.update(node.operands)
                kept.append(node)
        if len(kept) == len(module.nodes):
            return PassResult(module, False)
        return PassResult(rebuild(module, reversed(kept)), True)

"""``constant-fold``: a node whose operands are all constants becomes a constant.

The value is computed with the op's own ``reference`` (the interpreter's semantics) in the
operands' own dtypes, so an f64 module folds f64-exactly. A fold that would blow a small constant
up into a huge one (a broadcast, a gather with many indices) is refused: the constant would bloat
the artefact while the op costs next to nothing at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sklir.errors import SklirError
from sklir.ir.core import Module, Node, Tensor, Value, constant_of
from sklir.ir.dialects.tensor import Constant
from sklir.passes.manager import Pass, PassResult, register_pass
from sklir.passes.rewrite import rebuild


def _fold(node: Node, operands: list[Tensor], max_elements: int) -> list[Node] | None:
    """Constant nodes replacing ``node``, or None when it should stay."""
    try:
        arrays = node.op.reference(*(t.array for t in operands))
    except (SklirError, ValueError, IndexError, TypeError):
        # leave an op the reference refuses (an out-of-range gather, ...) for the runtime to report
        return None
    sizes_in = sum(t.array.size for t in operands)
    if any(np.asarray(a).size > max(max_elements, sizes_in) for a in arrays):
        return None
    return [Node(Constant(Tensor(np.asarray(a), r.type.dtype)), (), (r,), node.loc)
            for a, r in zip(arrays, node.results, strict=True)]


@register_pass
@dataclass(frozen=True)
class ConstantFold(Pass):
    """Replace an op on constants by the constant it computes.

    ``max_elements``: a folded result may exceed this many elements only when the operands
    together were at least as large.
    """

    name: ClassVar[str] = "constant-fold"
    max_elements: int = 1_000_000

    def __post_init__(self) -> None:
        if self.max_elements < 0:
            raise SklirError(f"pass constant-fold: option max_elements must be >= 0, got {self.max_elements}")

    def run(self, module: Module) -> PassResult:
        producers: dict[Value, Node] = {}
        nodes: list[Node] = []
        changed = False
        for node in module.nodes:
            replacement = None
            if node.operands and not isinstance(node.op, Constant):
                consts = [constant_of(producers, v) for v in node.operands]
                tensors = [c for c in consts if c is not None]
                if len(tensors) == len(consts):
                    replacement = _fold(node, tensors, self.max_elements)
            new = replacement if replacement is not None else [node]
            changed |= replacement is not None
            for n in new:
                producers.update((r, n) for r in n.results)
            nodes.extend(new)
        return PassResult(rebuild(module, nodes) if changed else module, changed)

"""``lower-trees``: rewrite every ``tree_ensemble`` into core ops by a strategy.

The strategies (:mod:`sklir.passes.trees`) agree bit for bit on every decision; they differ in
speed and size. ``strategy=auto`` picks per ensemble by :func:`choose`: perfect-tree traversal
while padding every tree to the ensemble's depth stays small, traversal with child tables
beyond (``traversal``, keyed by the rows' ranks for speed; ``compact``, with the fewest tables,
is what ``smallest`` picks there). The pass runs after ``to-f32`` in a backend's preparation
(thresholds already rounded down), and also before it (the thresholds then reach their
comparisons through gathers, which ``to-f32`` follows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sklir.errors import SklirError
from sklir.ir.builder import Builder
from sklir.ir.core import Module, Node, Value
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.passes.manager import Pass, PassResult, register_pass
from sklir.passes.rewrite import expand_ops
from sklir.passes.trees import Strategy, bounded_input, gemm, numeric_splits, perfect, traversal

# strategy name -> lowering
STRATEGIES: dict[str, Strategy] = {
    "gemm": gemm.lower,
    "perfect": perfect.lower,
    "traversal": traversal.lower,
    "compact": traversal.lower_compact,
}
# GEMM while its dense path matrix (internal nodes x leaves, over all trees) stays this small:
# measured on this project's benchmark machine, 200 trees of depth 4 (a 3000 x 3200 matrix) ran
# 47x slower than perfect traversal at batch 1024, so it pays only for a single small tree
GEMM_MAX_ENTRIES = 1 << 12
# perfect-tree traversal while depth and the padded tables stay within these
PERFECT_MAX_DEPTH = 10
PERFECT_MAX_SLOTS = 1 << 22


def choose(op: TreeEnsemble) -> str:
    """The strategy ``auto`` picks for ``op``: ``gemm`` while its path matrix has at most 4096
    entries, ``perfect`` up to depth 10 (and at most 4M padded slots) or for oblivious trees of
    any depth whose leaf slots fit (no walk: one gather of constant columns per level), else
    ``traversal``."""
    depth = op.depth()
    if gemm.path_entries(op) <= GEMM_MAX_ENTRIES:
        return "gemm"
    if depth <= PERFECT_MAX_DEPTH and op.n_trees * 2 ** (depth + 1) <= PERFECT_MAX_SLOTS:
        return "perfect"
    if op.n_trees * 2 ** depth <= perfect.MAX_SLOTS and perfect.is_oblivious(op):
        return "perfect"
    return "traversal"


def choose_smallest(op: TreeEnsemble) -> str:
    """The strategy ``smallest`` picks for ``op``, for flash-bound devices (the micro profile):
    ``gemm`` while its path matrix has at most 4096 entries, ``perfect`` while padding adds at
    most half the nodes again, else ``compact`` (the traversal whose tables grow with the nodes
    alone)."""
    if gemm.path_entries(op) <= GEMM_MAX_ENTRIES:
        return "gemm"
    if op.n_trees * 2 ** (op.depth() + 1) <= 3 * op.left.shape[0] // 2:
        return "perfect"
    return "compact"


# the choosers ``strategy`` may name instead of a strategy: ``auto`` is the speed chooser here (a
# backend's preparation reads ``auto`` as its profile's chooser: ``smallest`` under micro)
CHOOSERS = {"auto": choose, "fastest": choose, "smallest": choose_smallest}


@register_pass
@dataclass(frozen=True)
class LowerTrees(Pass):
    """Replace each ``tree_ensemble`` by core ops; ``strategy`` is a name in :data:`STRATEGIES`, or
    a chooser of :data:`CHOOSERS` (``auto``, ``fastest``: for speed; ``smallest``: for flash)."""

    name: ClassVar[str] = "lower-trees"
    strategy: str = "auto"

    def __post_init__(self) -> None:
        if self.strategy not in CHOOSERS and self.strategy not in STRATEGIES:
            raise SklirError(f"pass lower-trees: unknown strategy '{self.strategy}' "
                             f"(known: {', '.join([*CHOOSERS, *STRATEGIES])})")

    def run(self, module: Module) -> PassResult:
        def lower(b: Builder, node: Node) -> tuple[Value, Value]:
            assert isinstance(node.op, TreeEnsemble)
            op, x = numeric_splits(b, node.op, node.operands[0])
            name = CHOOSERS[self.strategy](op) if self.strategy in CHOOSERS else self.strategy
            return STRATEGIES[name](b, op, bounded_input(b, op, x))

        return expand_ops(module, TreeEnsemble, lower)

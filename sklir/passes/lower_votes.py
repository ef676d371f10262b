"""``lower-votes``: rewrite every ``vote`` op into core ops (see :class:`~sklir.ir.dialects.ml.Vote`).

With ``w = decision > 0`` as 0/1 floats, class ``c`` gets ``sum_p w_p [first_p = c] +
(1 - w_p) [second_p = c]``, which is one matrix product ``w @ (F - S)`` plus the constant
column sums of ``S``: small whole numbers, exact in float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sklir.ir.builder import Builder
from sklir.ir.core import Module, Node, Value
from sklir.ir.dialects.ml import Vote
from sklir.passes.manager import Pass, PassResult, register_pass
from sklir.passes.rewrite import expand_ops


def lower_vote(b: Builder, op: Vote, decision: Value) -> Value:
    """The votes ``[N, classes]`` for ``decision`` ``[N, P]``."""
    dtype = decision.type.dtype
    pairs = op.pairs.array
    first = np.zeros((len(pairs), op.classes))
    second = np.zeros((len(pairs), op.classes))
    first[np.arange(len(pairs)), pairs[:, 0]] = 1.0
    second[np.arange(len(pairs)), pairs[:, 1]] = 1.0
    wins = b.call("cast", b.call("compare", decision, b.const(np.zeros((), np.float64), dtype), predicate="gt"),
                  to=dtype)
    votes = b.call("matmul", wins, b.const(first - second, dtype))
    return b.call("add", votes, b.const(second.sum(axis=0).reshape(1, -1), dtype))


@register_pass
@dataclass(frozen=True)
class LowerVotes(Pass):
    """Replace each ``vote`` op by one compare, one cast and one matrix product."""

    name: ClassVar[str] = "lower-votes"

    def run(self, module: Module) -> PassResult:
        def lower(b: Builder, node: Node) -> tuple[Value]:
            assert isinstance(node.op, Vote)
            return (lower_vote(b, node.op, node.operands[0]),)

        return expand_ops(module, Vote, lower)

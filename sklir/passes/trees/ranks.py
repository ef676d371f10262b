"""A row's rank among each column's thresholds: every node test of an ensemble as a comparison of
integers, so that a walk reads one number per node instead of a column and a threshold.

The nodes reading column ``c``, sorted by threshold (ties in node order), hold the thresholds
``s_0 <= s_1 <= ...``; the ``j``-th of them is numbered ``c * span + j``. A value's rank ``r``
is the number of them it is not ``<=`` to. As ``value <= s_i`` holds for every ``i`` from some
point on, ``value <= s_j`` exactly when ``r <= j``: a row goes left at a node exactly when its
rank for the node's column, as ``c * span + r``, is at most the node's number. NaN is ``<=`` to
nothing, so it ranks above every threshold and goes right (a node sending NaN left reads
:func:`~sklir.passes.trees.decisive_input`'s copy of the column, where NaN stands below every
threshold).

The rank comes from a search of ``ceil(bits / 4)`` steps for ``2^bits`` slots: each step compares
the value with up to 15 pivots gathered as one row (one gather per row and column, whatever the
pivots' number); the number of pivots the value is not ``<=`` to picks one of up to 16 blocks
of the next step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.ir.types import DType
from sklir.passes.trees import as_compared, goes_left, threshold_table

# a search step picks one of at most 2^4 blocks (15 pivots per row and column)
STEP_BITS = 4


@dataclass(frozen=True)
class Ranks:
    """Each internal node's ``number`` (-1 for a leaf) and the search over the sorted thresholds:
    column ``c``'s fill slots ``c * span ...`` of ``table``, padded with the dtype's largest value
    (which only +inf and NaN exceed, and they go right anyway); ``span = 2^bits`` exceeds every
    column's count, so the last slot is never a threshold and a rank stays below ``span``."""

    number: np.ndarray
    table: np.ndarray
    fanouts: tuple[int, ...]

    @property
    def span(self) -> int:
        return int(self.table.shape[1])

    @staticmethod
    def of(op: TreeEnsemble, feature_of: np.ndarray, width: int, most: int) -> Ranks | None:
        """The ranks of the columns ``feature_of`` names for ``op``'s internal nodes, in an input
        of ``width`` columns; None (before building anything) when the numbers ``width * span``
        would pass ``most``."""
        internal = np.flatnonzero(op.internal)
        column = feature_of[internal]
        count = np.bincount(column, minlength=width)
        bits = max(1, int(count.max(initial=0)).bit_length())
        if width << bits > most:
            return None
        steps = -(-bits // STEP_BITS)
        # the bits shared out between the steps as evenly as they go, the larger steps first
        fanouts = tuple(1 << (bits // steps + (step < bits % steps)) for step in range(steps))
        bound = as_compared(op.threshold.array[internal]).astype(op.threshold.dtype.numpy)
        order = np.lexsort((bound, column))  # by column, then threshold; ties in node order
        place = np.arange(len(order)) - (np.cumsum(count) - count)[column[order]]
        table = np.full((width, 1 << bits), np.finfo(bound.dtype).max, bound.dtype)
        table[column[order], place] = bound[order]
        number = np.full(op.feature.shape[0], -1, np.int64)
        number[internal[order]] = column[order] * table.shape[1] + place
        return Ranks(number=number, table=table, fanouts=fanouts)

    def search(self, b: Builder, op: TreeEnsemble, x: Value) -> Value:
        """``i32[N, width]``: ``c * span + r`` for each row's value ``x[:, c]`` and its rank ``r``:
        the row goes left at internal node ``n`` exactly when this is at most ``number[n]`` for
        the node's column."""
        width, span = self.table.shape
        value = b.call("expand_dims", x, axis=2)  # [N, width, 1] against [.., width, pivots]
        found: Value = b.const(np.arange(width).reshape(1, -1), DType.i32)  # the block: column c whole
        blocks, size = width, span
        for step, fanout in enumerate(self.fanouts):
            size //= fanout
            # the last slot of each sub-block but the last: the value is not <= to k of them
            # exactly when its rank lies in sub-block k
            pivots = threshold_table(b, op, self.table.reshape(blocks, fanout, size)[:, :-1, -1])
            if step:
                pivots = b.call("gather", pivots, found, axis=0)  # [N, width, fanout - 1]
            # how many pivots the value is <= to, summed in float32 (LiteRT's integer SUM is slower)
            under = b.call("cast", b.call("reduce", b.call("cast", goes_left(b, value, pivots), to=DType.f32),
                                          kind="sum", axis=2, keepdims=False), to=DType.i32)
            last = b.call("add", b.call("mul", found, b.const(np.array(fanout), DType.i32)),
                          b.const(np.array(fanout - 1), DType.i32))  # the block's last sub-block
            found = b.call("sub", last, under)
            blocks *= fanout
        return found

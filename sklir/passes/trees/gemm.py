"""GEMM: every node of every tree at once, as two matrix products (shallow trees).

For the internal nodes ``I`` and leaves ``L`` of all trees: ``R[n, i]`` is 1 where row ``n``
goes right at node ``i`` (all nodes decided at once from the gathered columns);
``C[i, l]`` is +1 where leaf ``l`` lies right of ``i``, -1 where it lies left, 0 off its path;
``D[l]`` counts the right turns on the way to ``l``. Row ``n`` reaches leaf ``l`` exactly when
``(R @ C)[n, l] == D[l]`` (any other leaf scores less at the node where the paths part). The
products hold small integers, exact in float32. Work grows as ``nodes * leaves`` per tree, so
this suits depths up to about 3-4, where it has no per-level dependency chain at all.
"""

from __future__ import annotations

import numpy as np

from sklir.errors import SklirError
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.ir.types import DType
from sklir.passes.trees import decisive_input, goes_left, per_row, threshold_table


def path_matrices(op: TreeEnsemble) -> tuple[np.ndarray, list[tuple[int, int]], np.ndarray, np.ndarray]:
    """The internal nodes, the (tree, leaf) pairs, ``C`` (``[internal, pairs]``) and ``D`` (``[pairs]``)."""
    left, right = op.left.array, op.right.array
    internal = np.arange(left.shape[0])[op.internal]
    column = {int(n): i for i, n in enumerate(internal)}
    pairs: list[tuple[int, int]] = []
    paths: list[list[tuple[int, int]]] = []
    for t, root in enumerate(op.roots.array):
        stack: list[tuple[int, list[tuple[int, int]]]] = [(int(root), [])]
        while stack:
            node, path = stack.pop()
            if left[node] == node:
                pairs.append((t, node))
                paths.append(path)
                continue
            stack.append((int(right[node]), [*path, (node, 1)]))
            stack.append((int(left[node]), [*path, (node, -1)]))
    C = np.zeros((len(internal), len(pairs)))
    D = np.zeros(len(pairs))
    for j, path in enumerate(paths):
        for node, turn in path:
            C[column[node], j] = turn
        D[j] = sum(turn > 0 for _, turn in path)
    return internal, pairs, C, D


# float32 holds every integer below 2^24 exactly: the node numbers the leaf product sums
EXACT_F32_INTEGERS = 1 << 24
# the path matrix C is dense over all trees (internal nodes x leaves): refuse it beyond this
MAX_PATH_ENTRIES = 1 << 24


def path_entries(op: TreeEnsemble) -> int:
    """How many entries the path matrix ``C`` has (internal nodes x leaves)."""
    internal = int(op.internal.sum())
    return internal * (op.feature.shape[0] - internal)


def check_size(op: TreeEnsemble) -> None:
    """Refuse an ensemble whose path matrix would be too large, before building it."""
    if path_entries(op) > MAX_PATH_ENTRIES:
        internal = int(op.internal.sum())
        raise SklirError(f"lower-trees: gemm would need a {internal} x {op.feature.shape[0] - internal} path matrix "
                         f"for this ensemble ({op.n_trees} trees, depth {op.depth()}); use the perfect or traversal "
                         "strategy")


def lower(b: Builder, op: TreeEnsemble, x: Value) -> tuple[Value, Value]:
    """The ensemble's leaves and scores from two matrix products over all nodes."""
    check_size(op)
    internal, pairs, C, D = path_matrices(op)
    dtype = op.values.dtype
    if dtype is DType.f32 and op.feature.shape[0] > EXACT_F32_INTEGERS:
        raise SklirError(f"lower-trees: gemm cannot number {op.feature.shape[0]} nodes exactly in f32; "
                         "use the perfect or traversal strategy")
    if len(internal):
        x, feature_of = decisive_input(b, op, x)
        value = b.call("gather", x, b.const(feature_of[internal], DType.i64), axis=1)
        left = b.call("cast", goes_left(b, value, threshold_table(b, op, op.threshold.array[internal])), to=dtype)
        # R = 1 - L: (R @ C) == D is (L @ C) == (1 @ C) - D
        path = b.call("matmul", left, b.const(C, dtype))
        D = C.sum(axis=0) - D
        reached = b.call("cast", b.call("compare", path, b.const(D, dtype), predicate="eq"), to=dtype)
    else:
        reached = per_row(b, x, b.const(np.ones((1, len(pairs))), dtype))  # lone leaves: every row
    trees = np.array([t for t, _ in pairs])
    leaves = np.array([leaf for _, leaf in pairs])
    # each tree's reached leaf by its node number: exactly one 1 in each tree's columns
    ids = np.zeros((len(pairs), op.n_trees))
    ids[np.arange(len(pairs)), trees] = leaves
    found = b.call("cast", b.call("matmul", reached, b.const(ids, dtype)), to=DType.i64)
    weighted = op.values.array[leaves] * op.weights.array[trees][:, None]
    scores = b.call("add", b.call("matmul", reached, b.const(weighted, dtype)), b.const(op.base.array, dtype))
    return found, scores

"""High-level machine-learning ops: a whole tree ensemble, a kernel against a set of vectors,
one-vs-one votes.

These ops say *what* a model computes, in scikit-learn's own terms; no backend emits them. The
``lower-trees`` pass rewrites each into core ops (gathers, compares, selects, reductions) by a
strategy chosen per ensemble, after ``to-f32`` has rounded its thresholds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sklir.errors import IRError
from sklir.ir.core import Op, Tensor, register_op
from sklir.ir.dialects._checks import require_float
from sklir.ir.types import DType, TensorType


@register_op
@dataclass(frozen=True)
class TreeEnsemble(Op):
    """Binary decision trees over the columns of ``x``, evaluated together.

    The nodes of every tree share one table. Tree ``t`` starts at node ``roots[t]``; an internal
    node ``n`` sends a row to ``left[n]`` when ``x[:, feature[n]] <= threshold[n]`` or, for a
    missing value (NaN), when ``missing_left[n]``; otherwise to ``right[n]``. A leaf is its own
    child (``left[n] == right[n] == n``). A categorical node ``categorical[j]`` (HistGradientBoosting's
    splits on category codes) ignores its threshold: it sends a row left when ``x`` is a category
    code ``c`` (a whole number in ``[0, C)``) with ``category_left[j, c]``, right for any other code,
    and anything that is not a code (NaN, a negative, a fraction) the missing-value way, as
    scikit-learn treats a category it does not know. Results: ``leaves``, the leaf each tree reaches
    (``i64[N, trees]``, node numbers of the shared table), and ``scores``,
    ``base + sum_t weights[t] * values[leaves[:, t]]`` (``[N, outputs]``): a mean, a sum of
    boosting stages or a weighted vote, depending on the weights and the leaf values.

    The comparison is made in ``x``'s own dtype, like scikit-learn's ``float32(x) <= threshold``
    for an f32 ``x``: a frontend casts ``x`` to f32 first where scikit-learn does.

    ``%1: i64[N,2], %2: f64[N,1] = tree_ensemble(%0) {feature = i64[5] [0, 0, 0, 1, 1], ...}``
    """

    name: ClassVar[str] = "tree_ensemble"
    arity: ClassVar[int] = 1
    lowered_by: ClassVar[str | None] = "lower-trees"
    feature: Tensor
    threshold: Tensor
    left: Tensor
    right: Tensor
    missing_left: Tensor
    roots: Tensor
    values: Tensor
    weights: Tensor
    base: Tensor
    # the categorical nodes, ascending, and which category codes each sends left ([M, C])
    categorical: Tensor = dataclasses.field(default_factory=lambda: Tensor(np.zeros(0, np.int64), DType.i64))
    category_left: Tensor = dataclasses.field(default_factory=lambda: Tensor(np.zeros((0, 0), bool), DType.bool))

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        (x,) = operands
        require_float(self.name, x)
        if x.rank != 2:
            raise IRError(f"tree_ensemble: needs a [N, features] operand, got {x}")
        width = x.shape[1]
        if not isinstance(width, int):
            raise IRError(f"tree_ensemble: the batch cannot be the feature axis of {x}")
        self._check_tables(width)
        return (TensorType(DType.i64, (x.shape[0], self.roots.shape[0])),
                TensorType(self.values.dtype, (x.shape[0], self.values.shape[1])))

    def _check_tables(self, width: int) -> None:
        nodes = self.feature.shape[0] if len(self.feature.shape) == 1 else -1
        vectors = {"feature": (self.feature, DType.i64), "left": (self.left, DType.i64),
                   "right": (self.right, DType.i64), "missing_left": (self.missing_left, DType.bool)}
        for field, (table, dtype) in vectors.items():
            if table.dtype is not dtype or table.shape != (nodes,):
                raise IRError(f"tree_ensemble: {field} must be {dtype.value}[{nodes}], got {table.type}")
        if not self.threshold.dtype.is_float or self.threshold.shape != (nodes,):
            raise IRError(f"tree_ensemble: threshold must be a float vector of {nodes}, got {self.threshold.type}")
        if not self.values.dtype.is_float or len(self.values.shape) != 2 or self.values.shape[0] != nodes:
            raise IRError(f"tree_ensemble: values must be float [{nodes}, outputs], got {self.values.type}")
        trees = self.roots.shape[0] if len(self.roots.shape) == 1 else -1
        if self.roots.dtype is not DType.i64 or trees < 1:
            raise IRError(f"tree_ensemble: roots must be a non-empty i64 vector, got {self.roots.type}")
        if self.weights.dtype is not self.values.dtype or self.weights.shape != (trees,):
            raise IRError(f"tree_ensemble: weights must be {self.values.dtype.value}[{trees}], got {self.weights.type}")
        if self.base.dtype is not self.values.dtype or self.base.shape != (self.values.shape[1],):
            raise IRError(f"tree_ensemble: base must be {self.values.dtype.value}[{self.values.shape[1]}], "
                          f"got {self.base.type}")
        for field, table in (("left", self.left), ("right", self.right), ("roots", self.roots)):
            if table.array.size and (table.array.min() < 0 or table.array.max() >= nodes):
                raise IRError(f"tree_ensemble: {field} names a node outside [0, {nodes})")
        internal = self.internal
        if nodes and (self.feature.array.min() < 0 or self.feature.array.max() >= width):
            raise IRError(f"tree_ensemble: a feature index lies outside the input's {width} columns")
        if np.any(internal != (self.right.array != np.arange(nodes))):
            raise IRError("tree_ensemble: a leaf must be its own left and right child")
        # children after their parent: no cycles, so every traversal ends
        ids = np.arange(nodes)[internal]
        if np.any(self.left.array[internal] <= ids) or np.any(self.right.array[internal] <= ids):
            raise IRError("tree_ensemble: a node's children must come after it in the table")
        self._check_categorical(nodes, internal)

    def _check_categorical(self, nodes: int, internal: np.ndarray) -> None:
        categorical, sides = self.categorical, self.category_left
        count = categorical.shape[0] if len(categorical.shape) == 1 else -1
        if categorical.dtype is not DType.i64 or count < 0:
            raise IRError(f"tree_ensemble: categorical must be an i64 vector, got {categorical.type}")
        if sides.dtype is not DType.bool or len(sides.shape) != 2 or sides.shape[0] != count \
                or (count and sides.shape[1] == 0):
            raise IRError(f"tree_ensemble: category_left must be bool[{count}, categories >= 1], got {sides.type}")
        ids = categorical.array
        if count and (np.any(np.diff(ids) <= 0) or ids[0] < 0 or ids[-1] >= nodes or not np.all(internal[ids])):
            raise IRError("tree_ensemble: categorical must list internal nodes, ascending, each once")

    @property
    def internal(self) -> np.ndarray:
        """Which nodes are internal (a leaf is its own child), as a boolean mask."""
        return np.asarray(self.left.array != np.arange(self.left.shape[0]))

    def least_bytes(self, float_width: int) -> int:
        """Bytes every lowering stores at least: each internal node's threshold and each distinct
        leaf value, floats ``float_width`` bytes wide (what a size check can count before lowering)."""
        internal = self.internal
        distinct = np.unique(self.values.array[~internal], axis=0).shape[0]
        return (int(internal.sum()) + distinct * self.values.shape[1]) * float_width

    @property
    def n_trees(self) -> int:
        """How many trees the ensemble has."""
        return int(self.roots.shape[0])

    def depth(self) -> int:
        """The length of the longest root-to-leaf path (0 for a forest of lone leaves)."""
        return int(self.depths().max())

    def depths(self) -> np.ndarray:
        """Each tree's depth, the length of its longest root-to-leaf path (``[trees]``, 0 for a
        lone leaf): every tree's frontier stepped down together, one pass over the nodes."""
        left, right = self.left.array, self.right.array
        depths = np.zeros(self.n_trees, np.int64)
        node, tree, level = self.roots.array, np.arange(self.n_trees), 0
        while True:
            inner = left[node] != node
            if not inner.any():
                return depths
            level += 1
            node, tree = np.stack([left[node[inner]], right[node[inner]]], axis=1).ravel(), np.repeat(tree[inner], 2)
            depths[tree] = level

    def leaves_of(self, x: np.ndarray) -> np.ndarray:
        """The leaf each tree reaches for each row of ``x`` (the reference traversal).

        The comparison is numpy's: an f32 ``x`` against f64 thresholds compares in f64, exactly
        scikit-learn's ``float32(x) <= float64(t)``."""
        feature, threshold = self.feature.array, self.threshold.array
        left, right, missing_left = self.left.array, self.right.array, self.missing_left.array
        node = np.broadcast_to(self.roots.array, (x.shape[0], self.n_trees)).copy()
        rows = np.arange(x.shape[0])[:, None]
        slot = np.full(left.shape[0], -1)
        slot[self.categorical.array] = np.arange(self.categorical.shape[0])
        sides = self.category_left.array
        while True:
            moving = left[node] != node
            if not moving.any():
                return node
            value = x[rows, feature[node]]
            with np.errstate(invalid="ignore"):
                go_left = np.where(np.isnan(value), missing_left[node], value <= threshold[node])
                j = slot[node]
                code = (value >= 0) & (value < sides.shape[1]) & (value == np.floor(value)) & (j >= 0)
                picked = sides[np.maximum(j, 0), np.where(code, value, 0).astype(np.int64)] if sides.size else code
                go_left = np.where(j >= 0, np.where(code, picked, missing_left[node]), go_left)
            node = np.where(moving, np.where(go_left, left[node], right[node]), node)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        (x,) = operands
        leaves = self.leaves_of(x)
        values, weights = self.values.array, self.weights.array
        # the weighted sum over trees in tree order, as the lowerings' reduction computes it
        scores = (values[leaves] * weights[:, None]).sum(axis=1) + self.base.array
        return leaves.astype(np.int64), scores


def _dot(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.asarray(x @ v.T)


def _squared_euclidean(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    # scikit-learn's euclidean_distances(squared=True): -2 x.v + |x|^2 + |v|^2, clamped at 0
    d = -2.0 * (x @ v.T)
    d += np.einsum("ij,ij->i", x, x)[:, None]
    d += np.einsum("ij,ij->i", v, v)[None, :]
    return np.maximum(d, 0.0)


def _differences(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.abs(x[:, None, :] - v[None, :, :])


def _unit_rows(a: np.ndarray) -> np.ndarray:
    # scikit-learn's normalize: a row of norm 0 stays 0
    norm = np.sqrt(np.einsum("ij,ij->i", a, a))
    return a / np.where(norm == 0.0, 1.0, norm)[:, None]


# metric -> its value for x [N, F] against v [M, F], as scikit-learn computes it
KERNELS: dict[str, Callable[[Kernel, np.ndarray, np.ndarray], np.ndarray]] = {
    "linear": lambda k, x, v: _dot(x, v),
    "poly": lambda k, x, v: (k.gamma * _dot(x, v) + k.coef0) ** k.degree,
    "sigmoid": lambda k, x, v: np.tanh(k.gamma * _dot(x, v) + k.coef0),
    "rbf": lambda k, x, v: np.exp(-k.gamma * _squared_euclidean(x, v)),
    "sqeuclidean": lambda k, x, v: _squared_euclidean(x, v),
    "euclidean": lambda k, x, v: np.sqrt(_squared_euclidean(x, v)),
    "manhattan": lambda k, x, v: _differences(x, v).sum(axis=2),
    "chebyshev": lambda k, x, v: _differences(x, v).max(axis=2),
    "minkowski": lambda k, x, v: (_differences(x, v) ** k.p).sum(axis=2) ** (1.0 / k.p),
    "cosine": lambda k, x, v: np.clip(1.0 - _unit_rows(x) @ _unit_rows(v).T, 0.0, 2.0),
    "additive_chi2": lambda k, x, v: -_chi2_terms(x, v).sum(axis=2),
}


def _chi2_terms(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    # (x - v)^2 / (x + v), a term whose denominator is 0 counting 0 (scikit-learn's additive_chi2)
    total = x[:, None, :] + v[None, :, :]
    with np.errstate(all="ignore"):
        terms = (x[:, None, :] - v[None, :, :]) ** 2 / total
    return np.where(total == 0.0, 0.0, terms)


@register_op
@dataclass(frozen=True)
class Kernel(Op):
    """A kernel or a distance between every row of ``x`` (``[N, F]``) and every row of the
    constant ``vectors`` (``[M, F]``): ``[N, M]``, by ``metric`` (see :data:`KERNELS`):

    - ``linear`` ``x.v``, ``poly`` ``(gamma x.v + coef0)^degree``, ``sigmoid``
      ``tanh(gamma x.v + coef0)``, ``rbf`` ``exp(-gamma |x - v|^2)``;
    - ``sqeuclidean`` and ``euclidean`` as scikit-learn computes them
      (``|x|^2 - 2 x.v + |v|^2``, clamped at 0, then the square root), ``manhattan``,
      ``chebyshev``, ``minkowski`` (with ``p``) and ``cosine`` (``1 - x.v / (|x| |v|)``, a zero
      row counting as distance 1, clipped to ``[0, 2]``);
    - ``additive_chi2`` ``-sum((x - v)^2 / (x + v))`` over the terms whose ``x + v`` is not 0
      (scikit-learn's, for non-negative features).

    ``lower-kernels`` rewrites it into core ops: the dot-product kernels as one matrix product.
    The squared distances (``rbf``, ``sqeuclidean``, ``euclidean``) use the differences
    ``sum((x - v)^2)`` while ``M * F`` is small (exact: no cancellation, which would cost float32
    its digits where ``x`` lies near a vector) and the matrix-product expansion beyond (fast,
    accurate to float32's rounding of ``|x|^2``). ``manhattan``, ``chebyshev``, ``minkowski`` and
    ``additive_chi2`` always use the differences.

    ``%1: f64[N,3] = kernel(%0) {vectors = f64[3,2] [...], metric = "rbf", gamma = 0.5, ...}``
    """

    name: ClassVar[str] = "kernel"
    arity: ClassVar[int] = 1
    lowered_by: ClassVar[str | None] = "lower-kernels"
    vectors: Tensor
    metric: str
    gamma: float
    coef0: float
    degree: float
    p: float

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        (x,) = operands
        require_float(self.name, x)
        if self.metric not in KERNELS:
            raise IRError(f"kernel: unknown metric {self.metric!r} (known: {', '.join(KERNELS)})")
        if not self.vectors.dtype.is_float or len(self.vectors.shape) != 2:
            raise IRError(f"kernel: vectors must be a float [M, F] matrix, got {self.vectors.type}")
        if x.rank != 2 or x.shape[1] != self.vectors.shape[1]:
            raise IRError(f"kernel: needs [N, {self.vectors.shape[1]}] rows, got {x}")
        if self.metric == "minkowski" and not self.p >= 1.0:
            raise IRError(f"kernel: minkowski needs p >= 1, got {self.p}")
        return (TensorType(x.dtype, (x.shape[0], self.vectors.shape[0])),)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        (x,) = operands
        with np.errstate(all="ignore"):
            out = KERNELS[self.metric](self, x, self.vectors.array.astype(x.dtype))
        return (np.asarray(out).astype(x.dtype, copy=False),)


@register_op
@dataclass(frozen=True)
class Vote(Op):
    """One-vs-one votes: pair ``p`` of ``pairs`` (``[P, 2]`` class indices) gives its vote to
    ``pairs[p, 0]`` where ``decision[:, p] > 0`` and to ``pairs[p, 1]`` otherwise (libsvm's rule,
    NaN voting for the second). The result counts each class's votes, ``[N, classes]`` in the
    decision's dtype; ``argmax`` of it is libsvm's prediction (the first class of most votes).
    ``lower-votes`` rewrites it as one matrix product of the 0/1 outcomes (exact: small counts).

    ``%1: f32[N,3] = vote(%0) {pairs = i64[3,2] [[0, 1], [0, 2], [1, 2]], classes = 3}``
    """

    name: ClassVar[str] = "vote"
    arity: ClassVar[int] = 1
    lowered_by: ClassVar[str | None] = "lower-votes"
    pairs: Tensor
    classes: int

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        (d,) = operands
        require_float(self.name, d)
        pairs = self.pairs.array
        if self.pairs.dtype is not DType.i64 or pairs.ndim != 2 or pairs.shape[1] != 2:
            raise IRError(f"vote: pairs must be an i64 [P, 2] table, got {self.pairs.type}")
        if pairs.size and (pairs.min() < 0 or pairs.max() >= self.classes):
            raise IRError(f"vote: pairs name classes outside [0, {self.classes})")
        if d.rank != 2 or d.shape[1] != pairs.shape[0]:
            raise IRError(f"vote: needs [N, {pairs.shape[0]}] decisions, got {d}")
        return (TensorType(d.dtype, (d.shape[0], self.classes)),)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        (d,) = operands
        votes = np.zeros((d.shape[0], self.classes), d.dtype)
        for p, (first, second) in enumerate(self.pairs.array):
            wins = d[:, p] > 0
            votes[:, first] += wins
            votes[:, second] += ~wins
        return (votes,)


OPS_IN_DIALECT = [TreeEnsemble, Kernel, Vote]

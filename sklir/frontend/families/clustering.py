"""Clusterers with a closed-form predict (issue 7).

- KMeans, MiniBatchKMeans, AffinityPropagation, MeanShift: ``predict`` is the nearest cluster
  centre (the first on ties), from squared euclidean distances through the
  :class:`~sklir.ir.dialects.ml.Kernel` op; ``transform`` (the k-means) is the euclidean distance
  to every centre, as ``euclidean_distances`` computes it. An AffinityPropagation that did not
  converge has no centres and labels every row -1, as scikit-learn does.
- Birch: the label of the nearest subcluster centre; ``transform`` the distances to those centres.
- BisectingKMeans: ``predict`` walks the bisection tree, at each split towards the nearer of the
  two child centres (the left one on ties). The choice ``|l|^2 - 2 x.l <= |r|^2 - 2 x.r`` (how
  scikit-learn compares, without ``|x|^2``) is one affine column per split, so the walk is one
  :class:`~sklir.ir.dialects.ml.TreeEnsemble` over those columns with threshold 0 and the
  cluster labels as leaf values; ``transform`` is the distance to every cluster centre.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import AffinityPropagation, Birch, BisectingKMeans, KMeans, MeanShift, MiniBatchKMeans

from sklir.frontend.affine import affine
from sklir.frontend.kernels import kernel
from sklir.frontend.outputs import labels_from_index, same_for_every_row
from sklir.frontend.registry import PRECHECKS, lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Tensor, Value
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.ir.types import DType


@lowers(KMeans, MiniBatchKMeans)
def _k_means(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    centres = np.asarray(est.cluster_centers_, np.float64)
    nearest = b.call("argmax", b.call("neg", kernel(b, x, centres, "sqeuclidean")), axis=1)
    return {"label": nearest, "transform": kernel(b, x, centres, "euclidean")}


def _nearest(b: Builder, x: Value, centres: np.ndarray) -> Value:
    """The index of the nearest centre (the first on ties), as ``pairwise_distances_argmin``."""
    return b.call("argmax", b.call("neg", kernel(b, x, centres, "sqeuclidean")), axis=1)


def _check_affinity(est: Any) -> None:
    if est.affinity != "euclidean":
        raise refuse(est, "affinity", est.affinity, ["euclidean"])


PRECHECKS[AffinityPropagation] = _check_affinity


@lowers(AffinityPropagation, MeanShift)
def _centres(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    if isinstance(est, AffinityPropagation):
        _check_affinity(est)
    centres = np.asarray(est.cluster_centers_, np.float64)
    if len(centres) == 0:
        return {"label": same_for_every_row(b, x, -1)}  # no convergence: scikit-learn labels every row -1
    return {"label": _nearest(b, x, centres)}


@lowers(Birch)
def _birch(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    centres = np.asarray(est.subcluster_centers_, np.float64)
    label = labels_from_index(b, _nearest(b, x, centres), np.asarray(est.subcluster_labels_))
    return {"label": label, "transform": kernel(b, x, centres, "euclidean")}


def _bisection(est: Any) -> tuple[list[Any], list[Any]]:
    """The bisection tree's nodes in preorder, and the internal ones (each with two children)."""
    nodes, splits, stack = [], [], [est._bisecting_tree]
    while stack:
        node = stack.pop()
        nodes.append(node)
        if node.left is not None:
            splits.append(node)
            stack.extend([node.right, node.left])
    return nodes, splits


@lowers(BisectingKMeans)
def _bisecting(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    nodes, splits = _bisection(est)
    transform = kernel(b, x, np.asarray(est.cluster_centers_, np.float64), "euclidean")
    if not splits:
        return {"label": same_for_every_row(b, x, 0), "transform": transform}  # one cluster
    shift = np.asarray(getattr(est, "_X_mean", np.zeros(est.n_features_in_)), np.float64)
    left = np.array([n.left.center + shift for n in splits])
    right = np.array([n.right.center + shift for n in splits])
    number = {id(n): i for i, n in enumerate(nodes)}
    column = {id(n): j for j, n in enumerate(splits)}
    count = len(nodes)
    feature = np.array([column.get(id(n), 0) for n in nodes], np.int64)
    to_left = np.array([number[id(n.left)] if n.left is not None else i for i, n in enumerate(nodes)], np.int64)
    to_right = np.array([number[id(n.right)] if n.right is not None else i for i, n in enumerate(nodes)], np.int64)
    labels = np.array([n.label if n.left is None else -1 for n in nodes], np.float64).reshape(-1, 1)
    op = TreeEnsemble(
        feature=Tensor(feature), threshold=Tensor(np.zeros(count)), left=Tensor(to_left), right=Tensor(to_right),
        missing_left=Tensor(np.zeros(count, bool)), roots=Tensor(np.zeros(1, np.int64)),
        values=Tensor(labels), weights=Tensor(np.ones(1)), base=Tensor(np.zeros(1)))
    # left where |l|^2 - 2 x.l <= |r|^2 - 2 x.r: 2 x.(r - l) + |l|^2 - |r|^2 <= 0
    margin = affine(b, x, 2.0 * (right - left).T, np.einsum("ij,ij->i", left, left) -
                    np.einsum("ij,ij->i", right, right))
    _, label = b.apply(op, margin)
    return {"label": b.call("cast", b.call("squeeze", label, axis=1), to=DType.i64), "transform": transform}

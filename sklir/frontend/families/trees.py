"""Decision trees and forests of them: one ``tree_ensemble`` op per model.

scikit-learn's trees cast the input to float32 and send a row left when
``float32(x) <= threshold`` (a float64); the lowering says so with an explicit ``cast`` to f32
before the ensemble. Classifiers average (forests) or take (single trees) each tree's normalised
leaf class fractions, then ``predict`` takes the first class of highest probability; regressors
average the leaf values. Each sum runs over trees in their order, like scikit-learn's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeClassifier, ExtraTreeRegressor

from sklir.frontend.outputs import labels_from_scores
from sklir.frontend.registry import lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Tensor, Value
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.ir.types import DType

LEAF = -1  # scikit-learn's children_left / children_right of a leaf


@dataclass(frozen=True)
class Forest:
    """The node tables of several fitted ``tree_`` objects, concatenated (see :class:`TreeEnsemble`).

    ``values`` are each node's raw ``tree_.value`` rows, ``[nodes, outputs, classes]``.
    """

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    missing_left: np.ndarray
    roots: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, trees: list[Any]) -> Forest:
        """The forest of the ``sklearn.tree._tree.Tree`` objects ``trees``, in order."""
        sizes = [t.node_count for t in trees]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "threshold", "left", "right", "missing")}
        for tree, offset in zip(trees, offsets, strict=True):
            own = np.arange(tree.node_count, dtype=np.int64) + offset
            leaf = tree.children_left == LEAF
            parts["left"].append(np.where(leaf, own, tree.children_left + offset))
            parts["right"].append(np.where(leaf, own, tree.children_right + offset))
            parts["feature"].append(np.where(leaf, 0, tree.feature).astype(np.int64))
            parts["threshold"].append(np.where(leaf, 0.0, tree.threshold))
            parts["missing"].append(~leaf & (np.asarray(tree.missing_go_to_left) != 0))
        feature, threshold, left, right, missing = (np.concatenate(parts[k]) for k in parts)
        return cls(feature, threshold, left, right, missing, offsets, np.concatenate([t.value for t in trees]))

    def ensemble(self, values: np.ndarray, weights: np.ndarray, base: np.ndarray) -> TreeEnsemble:
        """The op over these trees with leaf ``values`` ``[nodes, outputs]``, tree ``weights`` and ``base``."""
        f64 = DType.f64
        return TreeEnsemble(
            feature=Tensor(self.feature, DType.i64), threshold=Tensor(self.threshold, f64),
            left=Tensor(self.left, DType.i64), right=Tensor(self.right, DType.i64),
            missing_left=Tensor(self.missing_left, DType.bool), roots=Tensor(self.roots, DType.i64),
            values=Tensor(values, f64), weights=Tensor(weights, f64), base=Tensor(base, f64))


def tree_ensemble(b: Builder, x: Value, op: TreeEnsemble) -> tuple[Value, Value]:
    """``op`` applied to ``x`` as scikit-learn's trees see it (cast to float32): (leaves, scores)."""
    leaves, scores = b.apply(op, b.call("cast", x, to=DType.f32))
    return leaves, scores


def class_fractions(values: np.ndarray) -> np.ndarray:
    """A classification tree's ``predict_proba`` at each node: the first output's class weights
    divided by their sum (a zero sum left as is), as ``DecisionTreeClassifier`` computes it."""
    proba = values[:, 0, :].copy()
    normalizer = proba.sum(axis=1)
    normalizer[normalizer == 0.0] = 1.0
    return proba / normalizer[:, None]


def _trees(estimator: Any) -> list[Any]:
    return [e.tree_ for e in estimator.estimators_] if hasattr(estimator, "estimators_") else [estimator.tree_]


def _check_single_output(estimator: Any) -> None:
    if getattr(estimator, "n_outputs_", 1) != 1:
        raise refuse(estimator, "n_outputs_", estimator.n_outputs_, "1 (multi-output classification trees)")


@lowers(DecisionTreeClassifier, ExtraTreeClassifier, RandomForestClassifier, ExtraTreesClassifier)
def _classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    _check_single_output(est)
    trees = _trees(est)
    forest = Forest.of(trees)
    k = len(est.classes_)
    op = forest.ensemble(class_fractions(forest.values), np.ones(len(trees)), np.zeros(k))
    _, total = tree_ensemble(b, x, op)
    # a forest sums its trees' probabilities in order, then divides by their count
    proba = total if len(trees) == 1 else b.call("div", total, b.const(float(len(trees))))
    return {"label": labels_from_scores(b, proba, est.classes_), "probabilities": proba}


@lowers(DecisionTreeRegressor, ExtraTreeRegressor, RandomForestRegressor, ExtraTreesRegressor)
def _regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    trees = _trees(est)
    forest = Forest.of(trees)
    outputs = forest.values.shape[1]
    op = forest.ensemble(forest.values[:, :, 0], np.ones(len(trees)), np.zeros(outputs))
    _, total = tree_ensemble(b, x, op)
    prediction = total if len(trees) == 1 else b.call("div", total, b.const(float(len(trees))))
    if est.n_outputs_ == 1:
        prediction = b.call("squeeze", prediction, axis=1)
    return {"prediction": prediction}

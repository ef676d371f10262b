"""Bagging: the mean of base estimators, each reading its own subset of the columns.

Over decision trees every base lands in one ``tree_ensemble`` op (the trees read their columns
through ``estimators_features_``). Over any other supported estimator each base is lowered on its
gathered columns and the results are summed in order, then divided by their count, as scikit-learn
does: probabilities where the base has ``predict_proba`` (a base that saw only some classes fills
their columns), else one vote per predicted class; decision functions summed likewise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import BaggingClassifier, BaggingRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeClassifier, ExtraTreeRegressor

from sklir.frontend.families.trees import Forest, applied, class_fractions, tree_ensemble
from sklir.frontend.outputs import labels_from_scores
from sklir.frontend.registry import CHILDREN, lower_into, lowers
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.types import DType

TREES = (DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeClassifier, ExtraTreeRegressor)
CHILDREN[BaggingClassifier] = CHILDREN[BaggingRegressor] = lambda est: [est.estimator_]


def _mean(b: Builder, parts: list[Value], count: int) -> Value:
    total = parts[0]
    for part in parts[1:]:
        total = b.call("add", total, part)
    return b.call("div", total, b.const(float(count)))


def _columns(b: Builder, x: Value, features: np.ndarray) -> Value:
    return b.call("gather", x, b.const(np.asarray(features, dtype=np.int64)), axis=1)


def _full_classes(b: Builder, proba: Value, seen: np.ndarray, k: int) -> Value:
    """A base's ``[N, len(seen)]`` probabilities in the ensemble's ``k`` columns (zeros elsewhere)."""
    if len(seen) == k:
        return proba
    place = np.zeros((len(seen), k))
    place[np.arange(len(seen)), seen.astype(np.int64)] = 1.0
    return b.call("matmul", proba, b.const(place))


def _fused_forest(est: Any, b: Builder, x: Value, k: int | None) -> tuple[Value, Value]:
    """(leaves, the mean over every base tree) in one ensemble op: class probabilities (``k``
    columns, every tree having seen every class) or values."""
    trees = [e.tree_ for e in est.estimators_]
    forest = Forest.of(trees, [np.asarray(f) for f in est.estimators_features_])
    values = forest.values[:, :, 0] if k is None else class_fractions(forest.values)
    op = forest.ensemble(values, np.ones(len(trees)), np.zeros(values.shape[1]))
    leaves, total = tree_ensemble(b, x, op)
    return applied(b, leaves, op), b.call("div", total, b.const(float(len(trees))))


@lowers(BaggingClassifier)
def _bagging_classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    k = len(est.classes_)
    # trees are fitted with sample weights, so each saw every class; otherwise each base on its own
    if all(isinstance(e, TREES) and len(e.classes_) == k for e in est.estimators_):
        leaves, proba = _fused_forest(est, b, x, k)
        return {"label": labels_from_scores(b, proba, est.classes_), "probabilities": proba, "leaves": leaves}
    parts, decisions = [], []
    for base, features in zip(est.estimators_, est.estimators_features_, strict=True):
        outputs = lower_into(base, b, _columns(b, x, features))
        seen = np.asarray(base.classes_)
        if "probabilities" in outputs:
            parts.append(_full_classes(b, outputs["probabilities"], seen, k))
        else:  # a vote for the class it predicts (the bases see classes encoded as 0..k-1)
            votes = b.call("compare", b.call("expand_dims", outputs["label"], axis=1),
                           b.const(np.arange(k, dtype=np.int64).reshape(1, -1)), predicate="eq")
            parts.append(b.call("cast", votes, to=DType.f64))
        if "decision" in outputs:
            decisions.append(outputs["decision"])
    proba = _mean(b, parts, len(parts))
    result = {"label": labels_from_scores(b, proba, est.classes_), "probabilities": proba}
    # bases that saw different classes have decisions of different shapes, which scikit-learn
    # cannot add either: the artefact then has no decision
    if hasattr(est, "decision_function") and len(decisions) == len(parts) \
            and len({d.type for d in decisions}) == 1:
        result["decision"] = _mean(b, decisions, len(decisions))
    return result


@lowers(BaggingRegressor)
def _bagging_regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    if all(isinstance(e, TREES) for e in est.estimators_):
        leaves, prediction = _fused_forest(est, b, x, None)
        return {"prediction": b.call("squeeze", prediction, axis=1) if est.estimators_[0].n_outputs_ == 1
                else prediction, "leaves": leaves}
    parts = [lower_into(base, b, _columns(b, x, features))["prediction"]
             for base, features in zip(est.estimators_, est.estimators_features_, strict=True)]
    return {"prediction": _mean(b, parts, len(parts))}

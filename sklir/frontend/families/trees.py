"""Decision trees, forests of them and gradient boosting: one ``tree_ensemble`` op per model.

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
from sklearn._loss.link import IdentityLink, LogLink
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    IsolationForest,
    RandomForestClassifier,
    RandomForestRegressor,
    RandomTreesEmbedding,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeClassifier, ExtraTreeRegressor

from sklir.frontend.affine import side_by_side
from sklir.frontend.outputs import (
    binary_probabilities,
    class_difference,
    labels_from_binary_decision,
    labels_from_scores,
    labels_of_outputs,
    outlier_labels,
)
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
    # the categorical nodes (HistGradientBoosting) and the category codes each sends left
    categorical: np.ndarray
    category_left: np.ndarray

    @classmethod
    def of(cls, trees: list[Any], features: list[np.ndarray] | None = None) -> Forest:
        """The forest of the ``sklearn.tree._tree.Tree`` objects ``trees``, in order; a tree fitted
        on a subset of the columns reads them through its ``features`` (bagging's
        ``estimators_features_``)."""
        sizes = [t.node_count for t in trees]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "threshold", "left", "right", "missing")}
        for i, (tree, offset) in enumerate(zip(trees, offsets, strict=True)):
            own = np.arange(tree.node_count, dtype=np.int64) + offset
            leaf = tree.children_left == LEAF
            columns = np.where(leaf, 0, tree.feature).astype(np.int64)
            parts["left"].append(np.where(leaf, own, tree.children_left + offset))
            parts["right"].append(np.where(leaf, own, tree.children_right + offset))
            parts["feature"].append(columns if features is None else np.asarray(features[i], np.int64)[columns])
            parts["threshold"].append(np.where(leaf, 0.0, tree.threshold))
            parts["missing"].append(~leaf & (np.asarray(tree.missing_go_to_left) != 0))
        feature, threshold, left, right, missing = (np.concatenate(parts[k]) for k in parts)
        split = [(getattr(t, "categorical", np.zeros(0, np.int64)) + offset,
                  getattr(t, "category_left", np.zeros((0, 0), bool)))
                 for t, offset in zip(trees, offsets, strict=True)]
        width = max(sides.shape[1] for _, sides in split)
        categorical = np.concatenate([nodes for nodes, _ in split]).astype(np.int64)
        category_left = np.concatenate([np.pad(sides, ((0, 0), (0, width - sides.shape[1]))) for _, sides in split])
        return cls(feature, threshold, left, right, missing, offsets, np.concatenate([t.value for t in trees]),
                   categorical, category_left)

    def ensemble(self, values: np.ndarray, weights: np.ndarray, base: np.ndarray) -> TreeEnsemble:
        """The op over these trees with leaf ``values`` ``[nodes, outputs]``, tree ``weights`` and ``base``."""
        f64 = DType.f64
        return TreeEnsemble(
            feature=Tensor(self.feature, DType.i64), threshold=Tensor(self.threshold, f64),
            left=Tensor(self.left, DType.i64), right=Tensor(self.right, DType.i64),
            missing_left=Tensor(self.missing_left, DType.bool), roots=Tensor(self.roots, DType.i64),
            values=Tensor(values, f64), weights=Tensor(weights, f64), base=Tensor(base, f64),
            categorical=Tensor(self.categorical, DType.i64), category_left=Tensor(self.category_left, DType.bool))


def tree_ensemble(b: Builder, x: Value, op: TreeEnsemble) -> tuple[Value, Value]:
    """``op`` applied to ``x`` as scikit-learn's trees see it (cast to float32): (leaves, scores)."""
    leaves, scores = b.apply(op, b.call("cast", x, to=DType.f32))
    return leaves, scores


def applied(b: Builder, leaves: Value, op: TreeEnsemble, numbering: np.ndarray | None = None) -> Value:
    """The ``leaves`` internal output: each tree's leaf numbered within its own tree, as
    ``apply`` numbers it (``tree_ensemble``'s leaves number the shared table). A library that
    numbers its leaves otherwise (LightGBM's leaf indices, CatBoost's bit patterns) gives its
    ``numbering`` of every node of the shared table."""
    if numbering is not None:
        return b.call("gather", b.const(np.asarray(numbering, np.int64)), leaves, axis=0)
    return b.call("sub", leaves, b.const(op.roots.array.reshape(1, -1), DType.i64))


def class_fractions(values: np.ndarray) -> np.ndarray:
    """A classification tree's ``predict_proba`` at each node: the first output's class weights
    divided by their sum (a zero sum left as is), as ``DecisionTreeClassifier`` computes it."""
    proba = values[:, 0, :].copy()
    normalizer = proba.sum(axis=1)
    normalizer[normalizer == 0.0] = 1.0
    return proba / normalizer[:, None]


def _trees(estimator: Any) -> list[Any]:
    return [e.tree_ for e in estimator.estimators_] if hasattr(estimator, "estimators_") else [estimator.tree_]


@lowers(DecisionTreeClassifier, ExtraTreeClassifier, RandomForestClassifier, ExtraTreesClassifier)
def _classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """One output: ``label`` and ``probabilities`` as usual. Several outputs (``y`` with columns):
    ``label`` is ``[N, outputs]`` like ``predict``, and ``probabilities`` the per-output matrices
    ``predict_proba`` returns as a list, side by side (``np.hstack``), in output order."""
    trees = _trees(est)
    forest = Forest.of(trees)
    outputs = est.n_outputs_
    classes = est.classes_ if outputs > 1 else [est.classes_]
    width = forest.values.shape[2]  # the most classes of any output; fewer are zero-padded
    fractions = np.concatenate([class_fractions(forest.values[:, [o], :]) for o in range(outputs)], axis=1)
    op = forest.ensemble(fractions, np.ones(len(trees)), np.zeros(outputs * width))
    leaves, total = tree_ensemble(b, x, op)
    # a forest sums its trees' probabilities in order, then divides by their count
    proba = total if len(trees) == 1 else b.call("div", total, b.const(float(len(trees))))
    if outputs == 1:
        return {"label": labels_from_scores(b, proba, est.classes_), "probabilities": proba,
                "leaves": applied(b, leaves, op)}
    each = [b.call("gather", proba, b.const(o * width + np.arange(len(c), dtype=np.int64)), axis=1)
            for o, c in enumerate(classes)]
    label = labels_of_outputs(b, [b.call("argmax", p, axis=1) for p in each], list(classes))
    return {"label": label, "probabilities": b.call("concat", *each, axis=1), "leaves": applied(b, leaves, op)}


@lowers(DecisionTreeRegressor, ExtraTreeRegressor, RandomForestRegressor, ExtraTreesRegressor)
def _regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    trees = _trees(est)
    forest = Forest.of(trees)
    outputs = forest.values.shape[1]
    op = forest.ensemble(forest.values[:, :, 0], np.ones(len(trees)), np.zeros(outputs))
    leaves, total = tree_ensemble(b, x, op)
    prediction = total if len(trees) == 1 else b.call("div", total, b.const(float(len(trees))))
    if est.n_outputs_ == 1:
        prediction = b.call("squeeze", prediction, axis=1)
    return {"prediction": prediction, "leaves": applied(b, leaves, op)}


def _columns(trees: list[Any], roots: np.ndarray, outputs: int) -> np.ndarray:
    """Leaf values ``[nodes, outputs]`` for boosting's tree list in stage-major order: tree ``j``
    writes its own values (``tree.value[:, 0, 0]``) into column ``j % outputs``, zeros elsewhere."""
    total = int(roots[-1]) + trees[-1].node_count
    values = np.zeros((total, outputs))
    for j, (tree, root) in enumerate(zip(trees, roots, strict=True)):
        values[root:root + tree.node_count, j % outputs] = tree.value[:, 0, 0]
    return values


def _boosted_raw(est: Any, b: Builder, x: Value) -> tuple[Value, Value]:
    """Gradient boosting's (leaves, raw prediction ``init + learning_rate * sum of stage trees``, ``[N, K]``).

    Stage ``i``'s tree for output ``k`` adds its leaf value to column ``k`` only. The initial raw
    prediction of the default init estimator (a constant prior) or of ``init='zero'`` is the base.
    """
    constant = isinstance(est.init_, DummyRegressor) or (
        isinstance(est.init_, DummyClassifier) and est.init_.strategy != "stratified")  # stratified draws at random
    if not (est.init_ == "zero" or constant):
        raise refuse(est, "init", est.init, "None, 'zero' or a DummyClassifier/DummyRegressor of a constant strategy")
    stages = est.estimators_  # [n_stages, K] regression trees
    trees = [tree.tree_ for tree in stages.ravel()]
    forest = Forest.of(trees)
    base = est._raw_predict_init(np.zeros((1, est.n_features_in_)))[0]
    op = forest.ensemble(_columns(trees, forest.roots, stages.shape[1]), np.full(len(trees), float(est.learning_rate)),
                         np.asarray(base, dtype=np.float64))
    leaves, raw = tree_ensemble(b, x, op)
    return applied(b, leaves, op), raw


@lowers(GradientBoostingRegressor)
def _gradient_boosting_regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    # every loss predicts its raw value (identity link)
    leaves, raw = _boosted_raw(est, b, x)
    return {"prediction": b.call("squeeze", raw, axis=1), "leaves": leaves}


@lowers(GradientBoostingClassifier)
def _gradient_boosting_classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    leaves, raw = _boosted_raw(est, b, x)
    if est.n_trees_per_iteration_ > 1:  # multinomial log loss: one tree per class and stage
        return {"label": labels_from_scores(b, raw, est.classes_),
                "probabilities": b.call("softmax", raw, axis=1), "decision": raw, "leaves": leaves}
    decision = b.call("squeeze", raw, axis=1)
    # binary: predict is classes_[decision >= 0]; the exponential loss's probability is expit(2 raw)
    scaled = decision if est.loss == "log_loss" else b.call("mul", decision, b.const(2.0))
    return {"label": labels_from_binary_decision(b, decision, est.classes_, predicate="ge"),
            "probabilities": binary_probabilities(b, b.call("sigmoid", scaled)), "decision": decision,
            "leaves": leaves}


@lowers(IsolationForest)
def _isolation_forest(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """``score_samples = -2^(-sum_t depth_t / (trees * c(max_samples)))`` where a leaf's depth is
    its path length plus the average path length of the samples it holds, minus one."""
    from sklearn.ensemble._iforest import _average_path_length

    trees = [e.tree_ for e in est.estimators_]
    forest = Forest.of(trees, [np.asarray(f) for f in est.estimators_features_])
    depths = np.concatenate([paths + averages - 1.0 for paths, averages in
                             zip(est._decision_path_lengths, est._average_path_length_per_tree, strict=True)])
    op = forest.ensemble(depths.reshape(-1, 1), np.ones(len(trees)), np.zeros(1))
    leaves, total = tree_ensemble(b, x, op)
    total = b.call("squeeze", total, axis=1)
    denominator = len(trees) * float(_average_path_length([est._max_samples])[0])
    if denominator == 0:  # a single training sample: scikit-learn sets the ratio to 1
        ratio = b.call("add", b.call("mul", total, b.const(0.0)), b.const(1.0))
    else:
        ratio = b.call("div", total, b.const(denominator))
    score = b.call("neg", b.call("pow", b.const(2.0), b.call("neg", ratio)))
    decision = b.call("sub", score, b.const(float(est.offset_)))
    label = outlier_labels(b, b.call("compare", decision, b.const(0.0), predicate="ge"))  # -1 below 0
    return {"label": label, "score": score, "decision": decision, "leaves": applied(b, leaves, op)}


@lowers(AdaBoostClassifier)
def _adaboost_classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """SAMME: each tree votes ``w`` for the class it predicts and ``-w / (K - 1)`` for the others;
    the votes are summed and divided by the weights' sum. Two classes: ``decision = f_1 - f_0``."""
    if not all(isinstance(e, DecisionTreeClassifier) for e in est.estimators_):
        raise refuse(est, "estimator", est.estimator, "a DecisionTreeClassifier (the default)")
    k = len(est.classes_)
    weights = np.asarray(est.estimator_weights_[:len(est.estimators_)], dtype=np.float64)
    trees = [e.tree_ for e in est.estimators_]
    forest = Forest.of(trees)
    predicted = np.argmax(class_fractions(forest.values), axis=1)  # each node's class, first on ties
    votes = np.where(np.arange(k) == predicted[:, None], 1.0, -1.0 / (k - 1))
    op = forest.ensemble(votes, weights, np.zeros(k))
    leaves, votes_sum = tree_ensemble(b, x, op)
    pred = b.call("div", votes_sum, b.const(float(weights.sum())))
    if k > 2:
        return {"label": labels_from_scores(b, pred, est.classes_),
                "probabilities": b.call("softmax", b.call("div", pred, b.const(float(k - 1))), axis=1),
                "decision": pred, "leaves": applied(b, leaves, op)}
    decision = class_difference(b, pred)
    half = b.call("div", b.call("expand_dims", decision, axis=1), b.const(2.0))
    return {"label": labels_from_binary_decision(b, decision, est.classes_),
            "probabilities": b.call("softmax", b.call("concat", b.call("neg", half), half, axis=1), axis=1),
            "decision": decision, "leaves": applied(b, leaves, op)}


@dataclass(frozen=True)
class NodeTree:
    """A tree given as node arrays, seen as a ``tree_`` (the fields Forest.of reads), with its
    categorical nodes and, for each, the category codes it sends left: a HistGradientBoosting
    ``TreePredictor``, or a tree of another library (XGBoost, LightGBM, CatBoost)."""

    children_left: np.ndarray
    children_right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_go_to_left: np.ndarray
    value: np.ndarray
    categorical: np.ndarray
    category_left: np.ndarray

    @property
    def node_count(self) -> int:
        """How many nodes the tree has."""
        return int(self.feature.shape[0])

    @classmethod
    def numeric(cls, left: np.ndarray, right: np.ndarray, feature: np.ndarray, threshold: np.ndarray,
                missing_left: np.ndarray, value: np.ndarray) -> NodeTree:
        """A tree without categorical nodes (leaves: ``left == right == LEAF``); ``value`` ``[nodes]``."""
        return cls(np.asarray(left, np.int64), np.asarray(right, np.int64), np.asarray(feature, np.int64),
                   np.asarray(threshold, np.float64), np.asarray(missing_left, np.uint8),
                   np.asarray(value, np.float64).reshape(-1, 1, 1), np.zeros(0, np.int64), np.zeros((0, 0), bool))

    @classmethod
    def of(cls, predictor: Any, categories: int) -> NodeTree:
        """The tree of one predictor whose category codes lie in ``[0, categories)``."""
        nodes = predictor.nodes
        leaf = nodes["is_leaf"] != 0
        categorical = np.flatnonzero(~leaf & (nodes["is_categorical"] != 0))
        # a bitset is 8 uint32 words, code c at bit c % 32 of word c // 32
        words = np.asarray(predictor.raw_left_cat_bitsets)[nodes["bitset_idx"][categorical]]
        codes = np.arange(categories)
        sides = ((words[:, codes // 32] >> (codes % 32)) & 1).astype(bool).reshape(len(categorical), categories)
        # the child columns are unsigned: widen before a leaf gets scikit-learn's -1
        return cls(np.where(leaf, LEAF, nodes["left"].astype(np.int64)),
                   np.where(leaf, LEAF, nodes["right"].astype(np.int64)),
                   nodes["feature_idx"].astype(np.int64), nodes["num_threshold"].astype(np.float64),
                   nodes["missing_go_to_left"].astype(np.uint8),
                   nodes["value"].astype(np.float64).reshape(-1, 1, 1), categorical, sides)


def _category_codes(est: Any, b: Builder, x: Value) -> tuple[Value, int]:
    """The columns HistGradientBoosting's trees read when it has categorical features, and how
    many codes the widest has.

    scikit-learn ordinal-encodes those columns (its ``_preprocessor``: the category's position
    among the fitted ones, unknown and missing values as NaN) and moves them before the others.
    Here a value that is no fitted category becomes -1, which the ensemble sends the
    missing-value way, as scikit-learn sends NaN.
    """
    preprocessor = est._preprocessor
    if preprocessor is None:
        return x, 0
    categories = [np.asarray(c) for c in preprocessor.named_transformers_["encoder"].categories_]
    if not all(c.dtype.kind in "biuf" for c in categories):
        raise refuse(est, "categorical_features", est.categorical_features, "numeric categories (strings: issue 9)")
    columns = np.flatnonzero(est.is_categorical_)
    codes = []
    for column, fitted in zip(columns, categories, strict=True):
        known = fitted[~np.isnan(fitted.astype(np.float64))].astype(np.float64)
        # a float32 input never equals a category float32 cannot hold (rounded, it could match
        # one, or two at once): such categories are left out, the others keep their positions
        exact = known == known.astype(np.float32).astype(np.float64)
        value = b.call("gather", x, b.const(np.array([column], np.int64)), axis=1)  # [N, 1]
        match = b.call("cast", b.call("compare", value, b.const(known[exact].reshape(1, -1)), predicate="eq"),
                       to=DType.f64)
        # a value equals at most one category: its position + 1, or 0 for none
        positions = np.arange(1.0, len(known) + 1)[exact].reshape(1, -1)
        found = b.call("reduce", b.call("mul", match, b.const(positions)), kind="sum", axis=1, keepdims=True)
        codes.append(b.call("sub", found, b.const(1.0)))
    numeric = b.const(np.flatnonzero(~est.is_categorical_).astype(np.int64))
    encoded = b.call("concat", *codes, b.call("gather", x, numeric, axis=1), axis=1)
    return encoded, max(len(c) for c in categories)


def _hist_raw(est: Any, b: Builder, x: Value) -> tuple[Value, Value]:
    """HistGradientBoosting's (leaves, raw prediction): the baseline plus every iteration's trees (their
    leaf values already shrunk by the learning rate), ``[N, K]``.

    It compares the float64 value with a float64 threshold, no float32 cast: on the f32 input
    that is the same decision as float32(x) <= t, and to-f32 rounds the thresholds down.
    """
    x, categories = _category_codes(est, b, x)
    trees = [NodeTree.of(p, categories) for iteration in est._predictors for p in iteration]
    forest = Forest.of(trees)
    op = forest.ensemble(_columns(trees, forest.roots, est.n_trees_per_iteration_), np.ones(len(trees)),
                         np.asarray(est._baseline_prediction, dtype=np.float64).ravel())
    leaves, raw = b.apply(op, x)
    return applied(b, leaves, op), raw


# the inverse links of HistGradientBoostingRegressor's losses, by link class (None: identity)
INVERSE_LINKS: dict[type, str | None] = {IdentityLink: None, LogLink: "exp"}


def inverse_link(b: Builder, raw: Value, link: str | None) -> Value:
    """A boosted model's raw scores ``[N, K]`` through its inverse ``link``: None (the identity),
    ``softmax`` over the classes, or a unary op (``sigmoid``, ``exp``)."""
    if link is None:
        return raw
    return b.call("softmax", raw, axis=1) if link == "softmax" else b.call(link, raw)


@lowers(HistGradientBoostingRegressor)
def _hist_regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    link = type(est._loss.link)
    if link not in INVERSE_LINKS:
        raise refuse(est, "loss", est.loss, "a loss with an identity or log link")
    leaves, raw = _hist_raw(est, b, x)
    return {"prediction": inverse_link(b, b.call("squeeze", raw, axis=1), INVERSE_LINKS[link]), "leaves": leaves}


@lowers(HistGradientBoostingClassifier)
def _hist_classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    leaves, raw = _hist_raw(est, b, x)
    if est.n_trees_per_iteration_ > 1:
        return {"label": labels_from_scores(b, raw, est.classes_),
                "probabilities": b.call("softmax", raw, axis=1), "decision": raw, "leaves": leaves}
    decision = b.call("squeeze", raw, axis=1)
    return {"label": labels_from_binary_decision(b, decision, est.classes_),  # scikit-learn's "> 0"
            "probabilities": binary_probabilities(b, b.call("sigmoid", decision)), "decision": decision,
            "leaves": leaves}


@lowers(RandomTreesEmbedding)
def _random_trees_embedding(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """The one-hot code of the leaf each tree reaches, dense (scikit-learn's is sparse by default;
    the artefact returns the same numbers as a dense ``[N, leaves]`` float matrix)."""
    trees = [e.tree_ for e in est.estimators_]
    forest = Forest.of(trees)
    op = forest.ensemble(np.zeros((forest.values.shape[0], 1)), np.ones(len(trees)), np.zeros(1))
    leaves = tree_ensemble(b, x, op)[0]
    blocks = []
    for t, (root, categories) in enumerate(zip(forest.roots, est.one_hot_encoder_.categories_, strict=True)):
        leaf = b.call("gather", leaves, b.const(np.array([t], np.int64)), axis=1)  # [N, 1] node numbers
        codes = b.const((np.asarray(categories, np.int64) + int(root)).reshape(1, -1))
        blocks.append(b.call("cast", b.call("compare", leaf, codes, predicate="eq"), to=DType.f64))
    return {"transform": side_by_side(b, blocks),
            "leaves": applied(b, leaves, op)}


@lowers(AdaBoostRegressor)
def _adaboost_regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """The weighted median of the trees' predictions: the smallest prediction ``p_t`` whose
    cumulative weight (of every prediction not above it) reaches half the total, which is the
    value scikit-learn's sort and cumulative sum select."""
    if not all(isinstance(e, DecisionTreeRegressor | ExtraTreeRegressor) for e in est.estimators_):
        raise refuse(est, "estimator", est.estimator, "a DecisionTreeRegressor (the default)")
    trees = [e.tree_ for e in est.estimators_]
    weights = np.asarray(est.estimator_weights_[:len(trees)], dtype=np.float64)
    forest = Forest.of(trees)
    op = forest.ensemble(forest.values[:, :, 0], np.ones(len(trees)), np.zeros(1))
    leaves = tree_ensemble(b, x, op)[0]
    p = b.call("gather", b.const(forest.values[:, 0, 0]), leaves, axis=0)  # [N, trees]
    # below[n, s, t] = p_s <= p_t; cdf[n, t] = sum_s w_s * below[n, s, t]
    below = b.call("compare", b.call("expand_dims", p, axis=2), b.call("expand_dims", p, axis=1), predicate="le")
    weighted = b.call("mul", b.call("cast", below, to=DType.f64), b.const(weights.reshape(1, -1, 1)))
    cdf = b.call("reduce", weighted, kind="sum", axis=1, keepdims=False)
    # half of the total as scikit-learn has it, the last cumulative sum (a constant would be a
    # comparison bound that to-f32 rounds, which moves exact ties)
    half = b.call("mul", b.call("reduce", cdf, kind="max", axis=1, keepdims=True), b.const(0.5))
    reaches = b.call("compare", cdf, half, predicate="ge")
    # the largest prediction always reaches half: it stands in for those that do not
    largest = b.call("reduce", p, kind="max", axis=1, keepdims=True)
    median = b.call("reduce", b.call("select", reaches, p, largest), kind="min", axis=1, keepdims=False)
    return {"prediction": median, "leaves": applied(b, leaves, op)}

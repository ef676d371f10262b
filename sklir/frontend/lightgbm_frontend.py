"""LightGBM's scikit-learn wrappers (issue 11), through the one ``tree_ensemble`` op.

Imported only when such a model is lowered (the registry imports it on first sight of a
``lightgbm`` class). The trees are read from ``booster_.dump_model()``, whose thresholds are
printed with 17 digits (they read back as the same doubles), holding the trees ``predict`` uses
(up to ``best_iteration_`` after early stopping).

LightGBM's rules, from ``include/LightGBM/tree.h`` (``NumericalDecision``, ``CategoricalDecision``),
each checked against ``predict(pred_leaf=True)`` and ``raw_score=True``:

- a numerical node sends a row left when ``x <= threshold`` in float64 (no float32 cast, like
  HistGradientBoosting: on float32 inputs the same decision as ``float32(x) <= t`` with ``t``
  rounded down, which ``to-f32`` does);
- its missing-value type says what is missing. ``NaN``: NaN goes the ``default_left`` way.
  ``None``: NaN is read as 0, so it goes where 0 goes (``0 <= threshold``). ``Zero``: NaN and any
  ``|x| <= 1e-35f`` go the default way; such a node reads a copy of its column where those
  values are NaN, so nodes of other types on the same column keep reading the column itself;
- a categorical node sends a row left when ``int(x)`` (truncated) is in its set; NaN, a
  negative code and a code past the set go right. It reads a copy of its column holding each
  value's code, and one code no set holds for everything that goes right whatever the set;
- a regression fitted with ``reg_sqrt`` (``regression sqrt``) predicts ``sign(raw) * raw^2``;
- the raw score is the sum of every tree's leaf values (``boost_from_average`` is inside the
  first tree's leaves); tree ``t`` belongs to class ``t % num_tree_per_iteration``. A random
  forest (``boosting_type='rf'``) averages its trees before the link, though ``raw_score``
  (``decision_function``) gives the sum;
- ``pred_leaf`` numbers a tree's leaves by its ``leaf_index``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from lightgbm import Booster, LGBMClassifier, LGBMRanker, LGBMRegressor

from sklir.frontend.families.trees import LEAF, Forest, NodeTree, applied, inverse_link
from sklir.frontend.outputs import binary_probabilities, column, labels_from_scores
from sklir.frontend.registry import ALWAYS_FITTED, INPUT_WIDTHS, lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value

# LightGBM's kZeroThreshold (1e-35f), as the double it compares with
ZERO = float(np.float32(1e-35))

# objective -> the inverse link predict applies to the raw score (None: the identity; "sigmoid":
# ``1 / (1 + exp(-sigmoid * raw))`` with the objective's ``sigmoid`` parameter)
LINKS: dict[str, str | None] = {
    **dict.fromkeys(("regression", "regression_l1", "huber", "fair", "quantile", "mape", "lambdarank",
                     "rank_xendcg"), None),
    **dict.fromkeys(("poisson", "gamma", "tweedie"), "exp"),
    **dict.fromkeys(("binary", "cross_entropy", "multiclassova"), "sigmoid"),
    "multiclass": "softmax",
}


@dataclass(frozen=True)
class Columns:
    """The copies of input columns some nodes read, appended after the input's own ``width``
    columns: zero-as-missing copies first, then category codes."""

    width: int
    zero: list[int]
    categorical: list[int]

    def of_zero(self, feature: int) -> int:
        return self.width + self.zero.index(feature)

    def of_codes(self, feature: int) -> int:
        return self.width + len(self.zero) + self.categorical.index(feature)


def _nodes(structure: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of a dumped tree (iteratively: a tree may be deeper than Python's recursion)."""
    found, stack = [], [structure]
    while stack:
        node = stack.pop()
        found.append(node)
        if "split_index" in node:
            stack += [node["left_child"], node["right_child"]]
    return found


def _position(node: dict[str, Any], internal: int) -> int:
    """A node's row in its tree's table: internal nodes by split index, then leaves by leaf index
    (a child's split index is above its parent's, so children come after their parent)."""
    return int(node["split_index"]) if "split_index" in node else internal + int(node.get("leaf_index", 0))


def _tree(structure: dict[str, Any], columns: Columns, width: int) -> tuple[NodeTree, np.ndarray]:
    """One dumped tree as node arrays, and each node's leaf number (-1 for internal nodes)."""
    nodes = _nodes(structure)
    internal = sum("split_index" in n for n in nodes)
    size = 2 * internal + 1
    left, right = np.full(size, LEAF), np.full(size, LEAF)
    feature, threshold = np.zeros(size, np.int64), np.zeros(size)
    missing_left, value, numbering = np.zeros(size, bool), np.zeros(size), np.full(size, -1)
    categorical, sides = [], []
    for node in nodes:
        i = _position(node, internal)
        if "split_index" not in node:
            value[i], numbering[i] = node["leaf_value"], node.get("leaf_index", 0)
            continue
        left[i], right[i] = _position(node["left_child"], internal), _position(node["right_child"], internal)
        f = int(node["split_feature"])
        if node["decision_type"] == "==":
            feature[i] = columns.of_codes(f)
            categorical.append(i)
            codes = np.array([int(c) for c in str(node["threshold"]).split("||")], np.int64)
            sides.append(np.isin(np.arange(width), codes))
            continue
        threshold[i] = float(node["threshold"])
        kind = node["missing_type"]
        feature[i] = columns.of_zero(f) if kind == "Zero" else f
        missing_left[i] = bool(node["default_left"]) if kind in ("NaN", "Zero") else 0.0 <= threshold[i]
    order = np.argsort(categorical)
    tree = NodeTree(left, right, feature, threshold, missing_left.astype(np.uint8), value.reshape(-1, 1, 1),
                    np.asarray(categorical, np.int64)[order],
                    np.asarray(sides, bool).reshape(len(categorical), width)[order])
    return tree, numbering


def _columns(trees: list[dict[str, Any]], width: int) -> tuple[Columns, int]:
    """Which columns need a zero-as-missing copy or a code copy, and how many codes the widest
    categorical set has (plus one no set holds)."""
    zero, categorical, codes = set(), set(), 0
    for tree in trees:
        for node in _nodes(tree["tree_structure"]):
            if "split_index" not in node:
                continue
            if node["decision_type"] == "==":
                categorical.add(int(node["split_feature"]))
                codes = max(codes, max(int(c) for c in str(node["threshold"]).split("||")) + 1)
            elif node["missing_type"] == "Zero":
                zero.add(int(node["split_feature"]))
    return Columns(width, sorted(zero), sorted(categorical)), codes + 1


def _with_copies(b: Builder, x: Value, columns: Columns, codes: int) -> Value:
    """``x`` with the copies ``columns`` lists appended: zero-as-missing (``|x| <= 1e-35f`` and NaN
    as NaN) and category codes (``int(x)`` for ``-1 < x < codes - 1``, else the code ``codes - 1``)."""
    if not columns.zero and not columns.categorical:
        return x
    parts = [x]
    if columns.zero:
        zero = b.call("gather", x, b.const(np.asarray(columns.zero, np.int64)), axis=1)
        small = b.call("compare", b.call("abs", zero), b.const(ZERO), predicate="le")
        parts.append(b.call("select", small, b.const(np.nan), zero))
    if columns.categorical:
        raw = b.call("gather", x, b.const(np.asarray(columns.categorical, np.int64)), axis=1)
        inside = b.call("logical_and", b.call("compare", raw, b.const(-1.0), predicate="gt"),
                        b.call("compare", raw, b.const(float(codes - 1)), predicate="lt"))
        code = b.call("floor", b.call("maximum", raw, b.const(0.0)))
        parts.append(b.call("select", inside, code, b.const(float(codes - 1))))
    return b.call("concat", *parts, axis=1)


def raw_score(est: Any, b: Builder, x: Value) -> tuple[Value, Value, dict[str, Any]]:
    """(leaves as ``pred_leaf`` numbers them, the raw score ``[N, K]``, the dumped model)."""
    model = (est if isinstance(est, Booster) else est.booster_).dump_model()
    objective = str(model["objective"]).split()[0] if model.get("objective") else "custom"
    if objective not in LINKS:
        raise refuse(est, "objective", objective, sorted(LINKS))
    dumped = model["tree_info"]
    if any("leaf_coeff" in node for tree in dumped for node in _nodes(tree["tree_structure"])):
        raise refuse(est, "linear_tree", True, "False (a linear tree's leaves are linear models of the input)")
    width = int(model["max_feature_idx"]) + 1
    columns, codes = _columns(dumped, width)
    parsed = [_tree(tree["tree_structure"], columns, codes) for tree in dumped]
    trees = [tree for tree, _ in parsed]
    forest = Forest.of(trees)
    k = int(model["num_tree_per_iteration"])
    values = np.zeros((forest.feature.shape[0], k))
    for t, (root, tree) in enumerate(zip(forest.roots, trees, strict=True)):
        values[root:root + tree.node_count, t % k] = tree.value[:, 0, 0]
    op = forest.ensemble(values, np.ones(len(trees)), np.zeros(k))
    leaves, raw = b.apply(op, _with_copies(b, x, columns, codes))
    return applied(b, leaves, op, np.concatenate([numbering for _, numbering in parsed])), raw, model


def _parameter(model: dict[str, Any], name: str, default: float) -> float:
    """A parameter of the objective's line (``binary sigmoid:1``)."""
    for word in str(model["objective"]).split()[1:]:
        key, _, value = word.partition(":")
        if key == name:
            return float(value)
    return default


def _predicted(b: Builder, raw: Value, model: dict[str, Any], trees: int) -> Value:
    """What ``predict`` (a regressor) or ``predict_proba`` (a classifier, before its ``[1 - p, p]``)
    gives: the link of the raw score, averaged first for a random forest."""
    if model.get("average_output"):
        raw = b.call("div", raw, b.const(float(trees // int(model["num_tree_per_iteration"]))))
    link = LINKS[str(model["objective"]).split()[0]]
    if "sqrt" in str(model["objective"]).split()[1:]:  # reg_sqrt: fitted to sign(y) sqrt|y|, squared back
        raw = b.call("mul", raw, b.call("abs", raw))
    if link == "sigmoid":
        raw = b.call("mul", raw, b.const(_parameter(model, "sigmoid", 1.0)))
    return inverse_link(b, raw, link)


@lowers(LGBMClassifier)
def _classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    leaves, raw, model = raw_score(est, b, x)
    out = _predicted(b, raw, model, len(model["tree_info"]))
    if raw.type.static_dim(1) > 1:  # multiclass or multiclassova, on two classes too
        return {"label": labels_from_scores(b, out, est.classes_), "probabilities": out, "decision": raw,
                "leaves": leaves}
    probabilities = binary_probabilities(b, column(b, out, 0))
    # predict is the argmax of [1 - p, p], the first class on a tie
    return {"label": labels_from_scores(b, probabilities, est.classes_), "probabilities": probabilities,
            "decision": column(b, raw, 0), "leaves": leaves}


@lowers(LGBMRegressor, LGBMRanker)
def _regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    leaves, raw, model = raw_score(est, b, x)
    return {"prediction": column(b, _predicted(b, raw, model, len(model["tree_info"])), 0), "leaves": leaves}


ALWAYS_FITTED.add(Booster)
INPUT_WIDTHS[Booster] = lambda booster: int(booster.num_feature())


@lowers(Booster)
def _bare_booster(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """A bare Booster gives what its ``predict`` gives: the link of the raw score (a probability,
    a row of class probabilities, a prediction)."""
    leaves, raw, model = raw_score(est, b, x)
    out = _predicted(b, raw, model, len(model["tree_info"]))
    return {"prediction": column(b, out, 0) if out.type.shape[1] == 1 else out, "leaves": leaves}

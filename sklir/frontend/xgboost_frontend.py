"""XGBoost's scikit-learn wrappers (issue 11), through the one ``tree_ensemble`` op.

Imported only when such a model is lowered (the registry imports it on first sight of an
``xgboost`` class). The trees are read from the booster's JSON (``save_raw("json")``), whose
numbers are float32 written exactly, never from the text dump, which rounds.

XGBoost's rules, from its predictor (``src/predictor/predict_fn.h``, ``GetNextNode``) and data
adapter, each checked against ``predict(pred_leaf=True)`` and ``output_margin=True``:

- a row goes left when ``float32(x) < split_condition`` (a float32), strictly. On float32 inputs
  that is ``float32(x) <= t`` for ``t`` the largest float32 below the condition, which is what
  the ensemble's threshold holds (so ``to-f32`` keeps it as it is);
- a value is missing when it is NaN or, for a ``missing`` other than NaN, when ``float32(x)``
  equals ``float32(missing)``; a missing value goes the node's ``default_left`` way;
- a categorical node (``split_type`` 1) sends the categories in its set *right* and every other
  value left: a code outside ``[0, 2^24)``, a negative one and one it never saw included; a
  fraction is truncated first; NaN goes the default way;
- the leaf value is ``split_conditions`` at the leaf (``base_weights`` differs for the adaptive
  objectives); the margin is the base margin plus every tree's leaf value, each tree writing the
  class ``tree_info`` gives it, times its ``weight_drop`` under dart;
- ``base_score`` is held in the objective's output space: the base margin is its logit for the
  logistic objectives, its log for the log-link ones, itself otherwise;
- the scikit-learn wrapper predicts with the trees of ``iteration_range`` (up to
  ``best_iteration`` after early stopping). A classifier's ``predict`` takes class 1 where the
  objective's output is above 0.5 and ``predict_proba`` is ``[1 - out, out]`` (two classes), or
  the argmax and the softmax of the margins (several).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import numpy as np
from xgboost import Booster, XGBClassifier, XGBRanker, XGBRegressor, XGBRFClassifier, XGBRFRegressor

from sklir.frontend.families.trees import LEAF, Forest, NodeTree, applied, inverse_link
from sklir.frontend.outputs import binary_probabilities, column, labels_from_binary_decision, labels_from_scores
from sklir.frontend.registry import ALWAYS_FITTED, INPUT_WIDTHS, lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.types import DType


def _logit(p: np.ndarray) -> np.ndarray:
    # as XGBoost computes it, in float32: -log(1/p - 1)
    p32 = p.astype(np.float32)
    return np.asarray(-np.log(np.float32(1.0) / p32 - np.float32(1.0)), np.float64)


def _identity(p: np.ndarray) -> np.ndarray:
    return p


def _log(p: np.ndarray) -> np.ndarray:
    return np.asarray(np.log(p.astype(np.float32)), np.float64)


# objective -> (base_score as a margin, the inverse link predict applies to the margin; None: identity)
OBJECTIVES: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str | None]] = {
    **dict.fromkeys(("reg:squarederror", "reg:squaredlogerror", "reg:pseudohubererror", "reg:absoluteerror",
                     "reg:quantileerror", "binary:logitraw", "multi:softprob", "multi:softmax", "rank:pairwise",
                     "rank:ndcg", "rank:map"), (_identity, None)),
    **dict.fromkeys(("binary:logistic", "reg:logistic"), (_logit, "sigmoid")),
    **dict.fromkeys(("count:poisson", "reg:gamma", "reg:tweedie", "survival:cox"), (_log, "exp")),
}


def _booster(est: Any) -> tuple[Any, float, tuple[int, int]]:
    """(the booster, the value that is missing besides NaN, the iteration range predict uses): a
    bare Booster predicts with every tree and takes NaN alone as missing."""
    if isinstance(est, Booster):
        return est, np.nan, (0, 0)
    return est.get_booster(), np.nan if est.missing is None else float(est.missing), est._get_iteration_range(None)


def _below(conditions: np.ndarray) -> np.ndarray:
    """The largest float32 below each float32 condition: ``x < c`` as ``x <= t`` on float32 ``x``."""
    c = conditions.astype(np.float32)
    return np.nextafter(c, np.float32(-np.inf)).astype(np.float64)


def _tree(tree: dict[str, Any]) -> tuple[NodeTree, list[np.ndarray]]:
    """One tree of the JSON model as node arrays, with its categorical nodes (their children and
    default swapped: the set goes left in the ensemble, right in XGBoost) and each one's set."""
    left = np.asarray(tree["left_children"], np.int64)
    right = np.asarray(tree["right_children"], np.int64)
    leaf = left == LEAF
    conditions = np.asarray(tree["split_conditions"], np.float64)
    default_left = np.asarray(tree["default_left"], bool) & ~leaf
    split_type = np.asarray(tree.get("split_type") or np.zeros(len(left)), np.int64)
    categorical = np.flatnonzero(~leaf & (split_type == 1))
    left[categorical], right[categorical] = right[categorical], left[categorical].copy()
    default_left[categorical] = ~default_left[categorical]
    segments = {int(node): (int(s), int(n)) for node, s, n in zip(
        tree.get("categories_nodes", []), tree.get("categories_segments", []), tree.get("categories_sizes", []),
        strict=True)}
    codes = np.asarray(tree.get("categories", []), np.int64)
    sets = [codes[segments[int(n)][0]:sum(segments[int(n)])] for n in categorical]
    numeric = NodeTree.numeric(left, right, np.asarray(tree["split_indices"], np.int64),
                               np.where(leaf | (split_type == 1), 0.0, _below(conditions)), default_left,
                               np.where(leaf, conditions, 0.0))
    return dataclasses.replace(numeric, categorical=categorical), sets


def _with_sets(tree: NodeTree, sets: list[np.ndarray], width: int) -> NodeTree:
    """``tree`` with its categorical nodes' sets as a ``[nodes, width]`` table."""
    sides = np.zeros((len(sets), width), bool)
    for i, codes in enumerate(sets):
        sides[i, codes[codes < width]] = True
    return dataclasses.replace(tree, category_left=sides)


def _category_codes(b: Builder, x: Value, columns: np.ndarray, width: int) -> Value:
    """``x`` with each categorical column as XGBoost reads it: a value in ``[0, width - 1)``
    truncated to its code, NaN kept (missing), anything else the code ``width - 1``, which no set
    holds (it goes where a category outside the set goes)."""
    def f32(v: float) -> Value:
        return b.const(np.array(v, np.float32), DType.f32)

    inside = b.call("logical_and", b.call("compare", x, f32(0.0), predicate="ge"),
                    b.call("compare", x, f32(width - 1), predicate="lt"))
    code = b.call("select", b.call("isnan", x), x, b.call("select", inside, b.call("floor", x), f32(width - 1)))
    mask = np.isin(np.arange(int(x.type.shape[1])), columns).reshape(1, -1)  # type: ignore[arg-type]
    return b.call("select", b.const(mask, DType.bool), code, x)


def raw_margin(est: Any, b: Builder, x: Value) -> tuple[Value, Value, str]:
    """(leaves as ``pred_leaf`` numbers them, the margin ``[N, outputs]``, the objective) of the
    trees ``predict`` uses."""
    trained, missing, (start, stop) = _booster(est)
    learner = dict(json.loads(trained.save_raw("json"))["learner"])
    objective = learner["objective"]["name"]
    if objective not in OBJECTIVES:
        raise refuse(est, "objective", objective, sorted(OBJECTIVES))
    booster = learner["gradient_booster"]
    if booster["name"] not in ("gbtree", "dart"):
        raise refuse(est, "booster", booster["name"], ["gbtree", "dart"])
    model = booster["model"] if booster["name"] == "gbtree" else booster["gbtree"]["model"]
    bounds = np.asarray(model["iteration_indptr"], np.int64)
    stop = len(bounds) - 1 if stop == 0 else min(stop, len(bounds) - 1)
    chosen = np.arange(bounds[start], bounds[stop])
    if not chosen.size:
        raise refuse(est, "iteration_range", (start, stop), "a range holding at least one tree")
    if any(int(tree["tree_param"].get("size_leaf_vector", "1")) > 1 for tree in model["trees"]):
        raise refuse(est, "multi_strategy", "multi_output_tree", ["one_output_per_tree"])
    params = learner["learner_model_param"]
    outputs = max(int(params["num_class"]), int(params.get("num_target", 1)), 1)
    base = np.asarray(json.loads(params["base_score"]), np.float64).ravel()
    base = np.broadcast_to(OBJECTIVES[objective][0](base), (outputs,)).copy()
    parsed = [_tree(model["trees"][t]) for t in chosen]
    width = 2 + max((int(codes.max(initial=0)) for _, sets in parsed for codes in sets), default=-1)
    trees = [_with_sets(tree, sets, width) if sets else tree for tree, sets in parsed]
    forest = Forest.of(trees)
    values = np.zeros((forest.feature.shape[0], outputs))
    owner = np.asarray(model["tree_info"], np.int64)[chosen] if outputs > 1 else np.zeros(len(chosen), np.int64)
    for root, tree, k in zip(forest.roots, trees, owner, strict=True):
        values[root:root + tree.node_count, k] = tree.value[:, 0, 0]
    weights = np.asarray(booster.get("weight_drop") or np.ones(len(model["trees"])), np.float64)[chosen]
    op = forest.ensemble(values, weights, base)
    x = b.call("cast", x, to=DType.f32)
    if not np.isnan(missing):  # a value equal to ``missing`` is missing
        equal = b.call("compare", x, b.const(np.array(missing, np.float32), DType.f32), predicate="eq")
        x = b.call("select", equal, b.const(np.array(np.nan, np.float32), DType.f32), x)
    if forest.categorical.size:
        x = _category_codes(b, x, np.unique(forest.feature[forest.categorical]), width)
    leaves, raw = b.apply(op, x)
    return applied(b, leaves, op), raw, objective


@lowers(XGBClassifier, XGBRFClassifier)
def _classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    leaves, raw, objective = raw_margin(est, b, x)
    if raw.type.static_dim(1) > 1:  # multi:softprob or multi:softmax (the wrapper softmaxes it), two classes too
        return {"label": labels_from_scores(b, raw, est.classes_), "probabilities": b.call("softmax", raw, axis=1),
                "leaves": leaves}
    margin = column(b, raw, 0)
    out = inverse_link(b, margin, OBJECTIVES[objective][1])
    # class 1 where the objective's output is above 0.5; for a sigmoid that is a positive margin
    decision = margin if OBJECTIVES[objective][1] == "sigmoid" else b.call("sub", out, b.const(0.5))
    return {"label": labels_from_binary_decision(b, decision, est.classes_), "probabilities":
            binary_probabilities(b, out), "leaves": leaves}


@lowers(XGBRegressor, XGBRFRegressor, XGBRanker)
def _regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    leaves, raw, objective = raw_margin(est, b, x)
    out = inverse_link(b, raw, OBJECTIVES[objective][1])
    width = out.type.shape[1]
    return {"prediction": column(b, out, 0) if width == 1 else out, "leaves": leaves}


ALWAYS_FITTED.add(Booster)
INPUT_WIDTHS[Booster] = lambda booster: int(booster.num_features())


@lowers(Booster)
def _bare_booster(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """A bare Booster gives what its ``inplace_predict`` gives: the objective's output (a
    probability, a softprob row, a class index for multi:softmax, a prediction)."""
    leaves, raw, objective = raw_margin(est, b, x)
    if objective == "multi:softmax":
        return {"prediction": b.call("cast", b.call("argmax", raw, axis=1), to=DType.f64), "leaves": leaves}
    out = inverse_link(b, raw, "softmax" if objective == "multi:softprob" else OBJECTIVES[objective][1])
    return {"prediction": column(b, out, 0) if out.type.shape[1] == 1 else out, "leaves": leaves}

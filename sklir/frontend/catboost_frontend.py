"""CatBoost's classifier and regressor on numeric features (issue 11), through the one
``tree_ensemble`` op.

Imported only when such a model is lowered (the registry imports it on first sight of a
``catboost`` class). The trees are read from the model's JSON (``save_model(format="json")``).

CatBoost's rules, from its evaluator (``CalcIndexesBasic``, ``BinarizeFloats``), each checked
against ``calc_leaf_indexes`` and ``predict(prediction_type="RawFormulaVal")``:

- its trees are oblivious: level ``i`` of a tree asks one question of every row, bit ``i`` is
  ``float32(x) > border`` (a float32), and the leaf is ``sum_i bit_i << i``. As an ensemble tree
  that is a perfect tree whose level ``i`` sends a row left (bit 0) when ``float32(x) <= border``;
  its leaves are numbered back to CatBoost's by reversing the path's bits;
- a missing value is ``-inf`` for a feature whose ``nan_value_treatment`` is ``AsFalse`` (bit 0),
  ``+inf`` for ``AsTrue`` (bit 1) and compares false (bit 0) for ``AsIs``;
- the raw value is ``scale * sum of the trees' leaf values + bias`` (``scale_and_bias``), one
  column per class or target where the model has several;
- categorical features (one-hot and counter statistics splits) are refused: their hashes and
  counter tables are not numbers of the input.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import numpy as np
from catboost import CatBoostClassifier, CatBoostRegressor

from sklir.frontend.families.trees import LEAF, Forest, NodeTree, applied, inverse_link
from sklir.frontend.outputs import binary_probabilities, column, labels_from_binary_decision, labels_from_scores
from sklir.frontend.registry import INPUT_WIDTHS, lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.types import DType

# loss -> the inverse link predict applies to the raw value (None: the identity)
LINKS: dict[str, str | None] = {
    **dict.fromkeys(("RMSE", "MAE", "Quantile", "Expectile", "MAPE", "Huber", "LogLinQuantile", "Lq", "MultiRMSE"),
                    None),
    **dict.fromkeys(("Poisson", "Tweedie"), "exp"),
    **dict.fromkeys(("Logloss", "CrossEntropy"), "sigmoid"),
    "MultiClass": "softmax",
}


def _model(est: Any) -> dict[str, Any]:
    handle, path = tempfile.mkstemp(suffix=".json")
    os.close(handle)
    try:
        est.save_model(path, format="json")
        with open(path) as f:
            return dict(json.load(f))
    finally:
        os.remove(path)


def _tree(tree: dict[str, Any], columns: list[int], nan_left: list[bool],
          dims: int) -> tuple[NodeTree, np.ndarray, np.ndarray]:
    """One oblivious tree as a perfect tree (heap order: node ``n``'s children ``2n+1``, ``2n+2``),
    its leaf values ``[2^depth, dims]`` in heap order, and CatBoost's number of each node's leaf."""
    splits = tree["splits"]
    depth = len(splits)
    internal = 2 ** depth - 1
    size = 2 * internal + 1
    level = np.floor(np.log2(np.arange(1, internal + 1))).astype(np.int64)  # each internal node's level
    nodes = np.arange(size)
    left = np.concatenate([2 * nodes[:internal] + 1, np.full(internal + 1, LEAF)])
    right = np.concatenate([2 * nodes[:internal] + 2, np.full(internal + 1, LEAF)])
    feature = np.zeros(size, np.int64)
    threshold = np.zeros(size)
    missing_left = np.zeros(size, bool)
    for i, split in enumerate(splits):
        f = int(split["float_feature_index"])
        feature[:internal][level == i] = columns[f]
        threshold[:internal][level == i] = float(np.float32(split["border"]))
        missing_left[:internal][level == i] = nan_left[f]
    # the leaf at heap position p took bit i of p's depth-bit path at level i, most significant first
    path = np.arange(internal + 1)
    number = np.zeros(internal + 1, np.int64)
    for i in range(depth):
        number |= ((path >> (depth - 1 - i)) & 1) << i
    values = np.zeros((size, dims))
    values[internal:] = np.asarray(tree["leaf_values"], np.float64).reshape(-1, dims)[number]
    numbering = np.concatenate([np.full(internal, -1), number])
    return NodeTree.numeric(left, right, feature, threshold, missing_left, np.zeros(size)), values, numbering


def raw_value(est: Any, b: Builder, x: Value) -> tuple[Value, Value, str]:
    """(leaves as ``calc_leaf_indexes`` numbers them, the raw value ``[N, dims]``, the loss)."""
    model = _model(est)
    loss = model["model_info"]["params"]["loss_function"]["type"]
    if loss not in LINKS:
        raise refuse(est, "loss_function", loss, sorted(LINKS))
    if "oblivious_trees" not in model:
        raise refuse(est, "grow_policy", est.get_params().get("grow_policy"), "'SymmetricTree' (oblivious trees)")
    info = model["features_info"]
    if info.get("categorical_features") or any(s.get("split_type") != "FloatFeature"
                                               for t in model["oblivious_trees"] for s in t["splits"]):
        raise refuse(est, "cat_features", est.get_params().get("cat_features"), "None (numeric features only)")
    floats = info["float_features"]
    columns = [int(f["flat_feature_index"]) for f in floats]
    nan_left = [f.get("nan_value_treatment", "AsIs") != "AsTrue" for f in floats]
    scale, bias = model["scale_and_bias"]
    bias = np.atleast_1d(np.asarray(bias, np.float64))
    dims = max(len(bias), 1)
    parsed = [_tree(t, columns, nan_left, dims) for t in model["oblivious_trees"]]
    forest = Forest.of([tree for tree, _, _ in parsed])
    op = forest.ensemble(np.concatenate([values for _, values, _ in parsed]), np.full(len(parsed), float(scale)),
                         np.broadcast_to(bias, (dims,)).copy())
    leaves, raw = b.apply(op, b.call("cast", x, to=DType.f32))
    return applied(b, leaves, op, np.concatenate([numbering for _, _, numbering in parsed])), raw, loss


@lowers(CatBoostClassifier)
def _classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    leaves, raw, loss = raw_value(est, b, x)
    classes = np.asarray(est.classes_)
    if raw.type.shape[1] != 1:  # predict gives a column here, [N, 1]
        return {"label": b.call("expand_dims", labels_from_scores(b, raw, classes), axis=1),
                "probabilities": inverse_link(b, raw, LINKS[loss]), "leaves": leaves}
    decision = column(b, raw, 0)
    # predict takes the second class where the probability is above the model's threshold (0.5
    # unless set_probability_threshold moved it): where the raw value is above its logit
    threshold = est.get_probability_threshold()
    logit = float(np.log(threshold / (1.0 - threshold)))
    above = decision if threshold == 0.5 else b.call("sub", decision, b.const(logit))
    return {"label": labels_from_binary_decision(b, above, classes),
            "probabilities": binary_probabilities(b, inverse_link(b, decision, LINKS[loss])), "leaves": leaves}


@lowers(CatBoostRegressor)
def _regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    leaves, raw, loss = raw_value(est, b, x)
    out = inverse_link(b, raw, LINKS[loss])
    return {"prediction": column(b, out, 0) if out.type.shape[1] == 1 else out, "leaves": leaves}


# a model loaded from its .cbm file says n_features_in_ = 0; its feature names are all there
for _cls in (CatBoostClassifier, CatBoostRegressor):
    INPUT_WIDTHS[_cls] = lambda est: len(est.feature_names_)

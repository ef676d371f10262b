"""Compositions of fitted estimators (issue 9, numeric inputs): voting, stacking, feature unions,
column transformers, target transforms, search results and thresholds.

Every member is lowered by its own converter (:func:`~sklir.frontend.registry.lower_into`) on the
same input, and the composition reads the contract outputs it needs: ``label``, ``probabilities``,
``decision``, ``prediction`` or ``transform``.

- VotingClassifier: its members are fitted on the encoded labels ``0 .. C-1``, so a member's
  ``label`` is a class index. ``hard`` voting sums each member's weight on its class (the first
  class of most weight wins, as ``argmax(bincount)``); ``soft`` voting is the weighted mean of the
  members' probabilities. VotingRegressor: the weighted mean of the predictions.
- StackingClassifier / StackingRegressor: each member's ``stack_method_`` output side by side (a
  two-class ``predict_proba`` without its first column, ``predict`` as a column), the input after
  them with ``passthrough``, then the final estimator, whose class indices map back to the labels.
- FeatureUnion: the members' ``transform`` side by side, each times its weight.
- ColumnTransformer: each transformer on its fitted columns (names, slices, masks and callables
  are resolved at fit), side by side; ``remainder`` passthrough, drop or an estimator.
- TransformedTargetRegressor: the regressor, then the transformer's ``inverse_transform`` (an
  inverse that is itself a supported transform: StandardScaler, ...) or ``inverse_func`` (numpy
  functions with an IR counterpart: exp, expm1, log, log1p, sqrt, square).
- GridSearchCV and the other searches: their ``best_estimator_``; FrozenEstimator: its estimator.
- FixedThresholdClassifier / TunedThresholdClassifierCV: the positive class where the response
  (``predict_proba``'s second column or ``decision_function``) is at least the threshold.
- DummyClassifier / DummyRegressor: constants (the prior, the mean, ...) for every row.
- OneVsRestClassifier: each binary member's score (its decision, else its positive-class
  probability); ``label`` the first class of highest score (one member: the second class where
  the score is above 0, or 0.5 for a probability), ``probabilities`` the members' positive-class
  probabilities normalised to sum 1, ``decision`` their decisions side by side.
- OneVsOneClassifier: each pair's member predicts its second class (1) or its first (0) and a
  confidence (decision, else positive-class probability); the votes and confidences combine as in
  ``_ovr_decision_function`` (the SVMs' ``ovr`` shape, one piece of code), ``label`` their argmax
  (two classes: the second where the decision is above the member's threshold).
- MultiOutputRegressor and RegressorChain: each member's prediction as a column (a chain's member
  reads the input and the earlier members' predictions, in ``order_``).
- OutputCodeClassifier: each member's score side by side, then the nearest code book row (the
  first on ties), as ``pairwise_distances_argmin``. SelfTrainingClassifier: its final estimator.
- MultiOutputClassifier: each member's label as a column (``[N, outputs]``, one label table),
  its probabilities side by side. ClassifierChain: each member reads the input and the earlier
  members' ``chain_method`` outputs; ``label``, ``probabilities`` (positive class) and
  ``decision`` one column per target, in the targets' order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import StackingClassifier, StackingRegressor, VotingClassifier, VotingRegressor
from sklearn.experimental import enable_halving_search_cv  # noqa: F401 - the halving searches' import switch
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import (
    FixedThresholdClassifier,
    GridSearchCV,
    HalvingGridSearchCV,
    HalvingRandomSearchCV,
    RandomizedSearchCV,
    TunedThresholdClassifierCV,
)
from sklearn.multiclass import OneVsOneClassifier, OneVsRestClassifier, OutputCodeClassifier, _ConstantPredictor
from sklearn.multioutput import ClassifierChain, MultiOutputClassifier, MultiOutputRegressor, RegressorChain
from sklearn.pipeline import FeatureUnion
from sklearn.semi_supervised import SelfTrainingClassifier

from sklir.errors import UnsupportedEstimatorError
from sklir.frontend.affine import side_by_side
from sklir.frontend.frame import Input, join, numeric, select
from sklir.frontend.kernels import kernel
from sklir.frontend.outputs import (
    column,
    label_index,
    labels_from_index,
    labels_from_scores,
    labels_of_outputs,
    ovr_decision,
    same_for_every_row,
)
from sklir.frontend.registry import (
    CHILDREN,
    FrameRule,
    lower_into,
    lowers,
    read_by_members,
    refuse,
    string_columns,
    transform_frame_into,
    transforms_as,
)
from sklir.ir.builder import Builder
from sklir.ir.core import Tensor, Value
from sklir.ir.dialects.ml import Vote
from sklir.ir.types import DType


def _column(b: Builder, v: Value) -> Value:
    """``v`` as ``[N, k]``: a ``[N]`` value gains a column axis."""
    return b.call("expand_dims", v, axis=1) if v.type.rank == 1 else v


def _sum(b: Builder, values: list[Value]) -> Value:
    total = values[0]
    for v in values[1:]:
        total = b.call("add", total, v)
    return total


def _weights(est: Any) -> np.ndarray:
    weights = getattr(est, "_weights_not_none", None)
    return np.ones(len(est.estimators_)) if weights is None else np.asarray(weights, np.float64)


def _with_scores(outputs: dict[str, Value], inner: dict[str, Value]) -> dict[str, Value]:
    """``outputs`` with the inner model's ``probabilities`` and ``decision``, which a composition
    that decides the label itself passes through unchanged."""
    return {**outputs, **{name: inner[name] for name in ("probabilities", "decision") if name in inner}}


def _output(outputs: dict[str, Value], name: str, member: Any) -> Value:
    if name not in outputs:
        raise UnsupportedEstimatorError(f"{type(member).__name__} gives no {name} here "
                                        f"(it gives {', '.join(sorted(outputs))})")
    return outputs[name]


CHILDREN[VotingClassifier] = CHILDREN[VotingRegressor] = lambda est: list(est.estimators_)
# the compositions whose members all read the composition's input: a DataFrame's string columns
# reach the members (a Pipeline with a ColumnTransformer) as they are
_READ_BY_MEMBERS = read_by_members(lambda est: list(est.estimators_))


@lowers(VotingClassifier, frames=_READ_BY_MEMBERS)
def _voting_classifier(est: Any, b: Builder, x: Input) -> dict[str, Value]:
    weights = _weights(est)
    n = len(est.classes_)
    members = [lower_into(member, b, x) for member in est.estimators_]
    if est.voting == "soft":
        parts = [b.call("mul", _output(o, "probabilities", m), b.const(float(w)))
                 for o, m, w in zip(members, est.estimators_, weights, strict=True)]
        proba = b.call("div", _sum(b, parts), b.const(float(weights.sum())))
        return {"label": labels_from_scores(b, proba, est.classes_), "probabilities": proba}
    classes = b.const(np.arange(n, dtype=np.int64))
    parts = []
    for outputs, member, w in zip(members, est.estimators_, weights, strict=True):
        index = b.call("cast", _output(outputs, "label", member), to=DType.i64)  # the encoded class
        hot = b.call("cast", b.call("compare", b.call("expand_dims", index, axis=1), classes, predicate="eq"),
                     to=DType.f64)
        parts.append(b.call("mul", hot, b.const(float(w))))
    return {"label": labels_from_scores(b, _sum(b, parts), est.classes_)}


@lowers(VotingRegressor, frames=_READ_BY_MEMBERS)
def _voting_regressor(est: Any, b: Builder, x: Input) -> dict[str, Value]:
    weights = _weights(est)
    parts = [b.call("mul", _output(lower_into(m, b, x), "prediction", m), b.const(float(w)))
             for m, w in zip(est.estimators_, weights, strict=True)]
    return {"prediction": b.call("div", _sum(b, parts), b.const(float(weights.sum())))}


@transforms_as(VotingClassifier, VotingRegressor)
def _voting_transform(est: Any, b: Builder, x: Input) -> Value:
    """``transform`` inside a pipeline: each member's probabilities side by side (soft voting,
    ``flatten_transform``), else each member's prediction as a column (a classifier's the encoded
    class index, as scikit-learn's ``_predict`` gives it)."""
    classifier = isinstance(est, VotingClassifier)
    soft = classifier and est.voting == "soft"
    if soft and not est.flatten_transform:
        raise refuse(est, "flatten_transform", False, "True (a stack of matrices per member is no feature matrix)")
    name = "probabilities" if soft else "label" if classifier else "prediction"
    parts = []
    for member in est.estimators_:
        value = _output(lower_into(member, b, x), name, member)
        parts.append(value if soft else _column(b, b.call("cast", value, to=DType.f64)))
    return side_by_side(b, parts)


# stack_method_ -> the contract output it reads
STACK_OUTPUTS = {"predict_proba": "probabilities", "decision_function": "decision", "predict": "label"}

CHILDREN[StackingClassifier] = CHILDREN[StackingRegressor] = \
    lambda est: [*est.estimators_, est.final_estimator_]


def _meta_features(est: Any, b: Builder, x: Input, classifier: bool) -> Value:
    columns = []
    for member, method in zip(est.estimators_, est.stack_method_, strict=True):
        if member == "drop":
            continue
        outputs = lower_into(member, b, x)
        name = STACK_OUTPUTS[method] if classifier else "prediction"
        value = _output(outputs, name, member)
        if name == "label":
            value = b.call("cast", value, to=DType.f64)  # a member's encoded class, as a number
        value = _column(b, value)
        if method == "predict_proba" and len(est.classes_) == 2:
            value = b.call("gather", value, b.const(np.array([1], np.int64)), axis=1)
        columns.append(value)
    if est.passthrough:
        columns.append(numeric(b, x, f"{type(est).__name__}(passthrough=True)"))
    return side_by_side(b, columns)


@lowers(StackingClassifier, frames=_READ_BY_MEMBERS)
def _stacking_classifier(est: Any, b: Builder, x: Input) -> dict[str, Value]:
    final = lower_into(est.final_estimator_, b, _meta_features(est, b, x, classifier=True))
    # the final estimator was fitted on the encoded labels: its label is a class index
    index = b.call("cast", _output(final, "label", est.final_estimator_), to=DType.i64)
    return _with_scores({"label": labels_from_index(b, index, est.classes_)}, final)


@lowers(StackingRegressor, frames=_READ_BY_MEMBERS)
def _stacking_regressor(est: Any, b: Builder, x: Input) -> dict[str, Value]:
    final = lower_into(est.final_estimator_, b, _meta_features(est, b, x, classifier=False))
    return {"prediction": _output(final, "prediction", est.final_estimator_)}


CHILDREN[FeatureUnion] = lambda est: [t for _, t in est.transformer_list]


@lowers(FeatureUnion, frames=read_by_members(CHILDREN[FeatureUnion]))
def _feature_union(est: Any, b: Builder, x: Input) -> dict[str, Input]:
    weights = est.transformer_weights or {}
    parts = []
    for name, member in est.transformer_list:
        if isinstance(member, str) and member == "drop":
            continue
        value = x if isinstance(member, str) and member == "passthrough" else transform_frame_into(member, b, x)
        if name in weights:
            value = b.call("mul", numeric(b, value, "FeatureUnion(transformer_weights)"),
                           b.const(float(weights[name])))
        parts.append(value)
    return {"transform": join(b, parts)}


CHILDREN[ColumnTransformer] = lambda est: [t for _, t, _ in est.transformers_]


def _columns_of(est: ColumnTransformer, name: str) -> np.ndarray:
    return np.asarray(est._transformer_to_input_indices.get(name, []), np.int64)


def _column_transformer_strings(est: ColumnTransformer) -> np.ndarray:
    """Where the input holds strings: the columns each transformer reads strings from."""
    out = np.zeros(est.n_features_in_, dtype=bool)
    for name, member, _ in est.transformers_:
        columns = _columns_of(est, name)
        if not isinstance(member, str) and len(columns):
            out[columns] |= string_columns(member)
    return out


def _column_transformer_reads(est: ColumnTransformer) -> np.ndarray:
    """The columns some transformer (or ``passthrough``) reads: a dropped column is read by none."""
    out = np.zeros(est.n_features_in_, dtype=bool)
    for name, member, _ in est.transformers_:
        if not (isinstance(member, str) and member == "drop"):
            out[_columns_of(est, name)] = True
    return out


@lowers(ColumnTransformer, frames=FrameRule(_column_transformer_strings, _column_transformer_reads))
def _column_transformer(est: Any, b: Builder, x: Input) -> dict[str, Input]:
    parts = []
    for name, member, _ in est.transformers_:
        columns = _columns_of(est, name)
        if isinstance(member, str) and member == "drop" or len(columns) == 0:
            continue
        selected = select(b, x, columns)
        parts.append(selected if isinstance(member, str) and member == "passthrough"
                     else transform_frame_into(member, b, selected))
    if not parts:
        raise UnsupportedEstimatorError("ColumnTransformer: every column is dropped")
    return {"transform": join(b, parts)}


# numpy function -> the IR op of the same name (TransformedTargetRegressor's inverse_func)
INVERSE_FUNCS = {np.exp: "exp", np.expm1: "expm1", np.log: "log", np.log1p: "log1p", np.sqrt: "sqrt",
                 np.square: "square"}

CHILDREN[TransformedTargetRegressor] = lambda est: [est.regressor_]


@lowers(TransformedTargetRegressor, frames=read_by_members(CHILDREN[TransformedTargetRegressor]))
def _transformed_target(est: Any, b: Builder, x: Input) -> dict[str, Value]:
    prediction = _output(lower_into(est.regressor_, b, x), "prediction", est.regressor_)
    transformer = est.transformer_
    func = getattr(transformer, "func", "unset")
    if type(transformer).__name__ == "FunctionTransformer" and func is None and transformer.inverse_func is None:
        return {"prediction": prediction}
    column = _column(b, prediction)
    if type(transformer).__name__ == "FunctionTransformer":
        name = INVERSE_FUNCS.get(transformer.inverse_func)
        if name is None:
            raise refuse(est, "inverse_func", transformer.inverse_func, [f.__name__ for f in INVERSE_FUNCS])
        restored = b.call(name, column)
    else:
        restored = _inverse(transformer, b, column)
    return {"prediction": b.call("squeeze", restored, axis=1) if prediction.type.rank == 1 else restored}


def _inverse(transformer: Any, b: Builder, y: Value) -> Value:
    """``inverse_transform`` of the column scalers: ``y * scale + mean`` and the like."""
    kind = type(transformer).__name__
    if kind == "StandardScaler":
        scale = transformer.scale_ if transformer.with_std else None
        mean = transformer.mean_ if transformer.with_mean else None
    elif kind == "MinMaxScaler":
        scale, mean = 1.0 / transformer.scale_, -transformer.min_ / transformer.scale_
    elif kind == "MaxAbsScaler":
        scale, mean = transformer.scale_, None
    elif kind == "RobustScaler":
        scale = transformer.scale_ if transformer.with_scaling else None
        mean = transformer.center_ if transformer.with_centering else None
    else:
        raise UnsupportedEstimatorError(f"TransformedTargetRegressor: the inverse of {kind} is not supported "
                                        "(supported: StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler, "
                                        "FunctionTransformer)")
    if scale is not None:
        y = b.call("mul", y, b.const(np.asarray(scale, np.float64).reshape(-1)))
    if mean is not None:
        y = b.call("add", y, b.const(np.asarray(mean, np.float64).reshape(-1)))
    return y


SEARCHES = (GridSearchCV, RandomizedSearchCV, HalvingGridSearchCV, HalvingRandomSearchCV)
CHILDREN.update(dict.fromkeys(SEARCHES, lambda est: [est.best_estimator_]))
CHILDREN[FrozenEstimator] = lambda est: [est.estimator]


@lowers(*SEARCHES, frames=read_by_members(CHILDREN[GridSearchCV]))
def _search(est: Any, b: Builder, x: Input) -> dict[str, Value]:
    if not hasattr(est, "best_estimator_"):
        raise refuse(est, "refit", est.refit, "True (the search keeps no best_estimator_ otherwise)")
    return lower_into(est.best_estimator_, b, x)


@lowers(FrozenEstimator, frames=read_by_members(CHILDREN[FrozenEstimator]))
def _frozen(est: Any, b: Builder, x: Input) -> dict[str, Value]:
    return lower_into(est.estimator, b, x)


CHILDREN[FixedThresholdClassifier] = CHILDREN[TunedThresholdClassifierCV] = lambda est: [est.estimator_]


@lowers(FixedThresholdClassifier, TunedThresholdClassifierCV,
        frames=read_by_members(CHILDREN[FixedThresholdClassifier]))
def _threshold(est: Any, b: Builder, x: Input) -> dict[str, Value]:
    inner = lower_into(est.estimator_, b, x)
    method = est._get_response_method() if hasattr(est, "_get_response_method") else est.response_method
    if isinstance(method, list):
        method = next(m for m in method if hasattr(est.estimator_, m))
    if method == "predict_proba":
        response = column(b, _output(inner, "probabilities", est.estimator_), 1)
    else:
        response = _output(inner, "decision", est.estimator_)
    threshold = est.threshold if isinstance(est, FixedThresholdClassifier) else est.best_threshold_
    if isinstance(threshold, str):  # "auto": 0.5 for probabilities, 0 for decisions
        threshold = 0.5 if method == "predict_proba" else 0.0
    positive = b.call("compare", response, b.const(float(threshold)), predicate="ge")
    return _with_scores({"label": labels_from_index(b, b.call("cast", positive, to=DType.i64), est.classes_)}, inner)


@lowers(DummyClassifier)
def _dummy_classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    if est.strategy in ("stratified", "uniform") or est.n_outputs_ != 1:
        raise refuse(est, "strategy", est.strategy, ["most_frequent", "prior", "constant"] if est.n_outputs_ == 1
                     else "one output")
    prior = np.asarray(est.class_prior_, np.float64)
    if est.strategy == "constant":
        index = int(np.flatnonzero(est.classes_ == est.constant)[0])
        proba = np.eye(len(est.classes_))[index]
    elif est.strategy == "most_frequent":
        index = int(np.argmax(prior))
        proba = np.eye(len(est.classes_))[index]
    else:
        index, proba = int(np.argmax(prior)), prior
    rows = same_for_every_row(b, x, 0.0)
    probabilities = b.call("add", b.call("expand_dims", rows, axis=1), b.const(proba.reshape(1, -1)))
    return {"label": same_for_every_row(b, x, est.classes_[index]), "probabilities": probabilities}


@lowers(DummyRegressor)
def _dummy_regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    constant = np.asarray(est.constant_, np.float64).reshape(-1)
    rows = same_for_every_row(b, x, 0.0)
    value = b.call("add", b.call("expand_dims", rows, axis=1), b.const(constant.reshape(1, -1)))
    return {"prediction": b.call("squeeze", value, axis=1) if est.n_outputs_ == 1 else value}


CHILDREN[OneVsRestClassifier] = lambda est: list(est.estimators_)


@lowers(OneVsRestClassifier, frames=_READ_BY_MEMBERS)
def _one_vs_rest(est: Any, b: Builder, x: Input) -> dict[str, Value]:
    if est.label_binarizer_.y_type_ not in ("binary", "multiclass"):
        raise refuse(est, "target type", est.label_binarizer_.y_type_, ["binary", "multiclass"])
    members = [lower_into(member, b, x) for member in est.estimators_]
    second = b.const(np.array([1], np.int64))
    scores, probabilities, decisions = [], [], []
    for outputs, member in zip(members, est.estimators_, strict=True):
        if "probabilities" in outputs:
            probabilities.append(b.call("gather", outputs["probabilities"], second, axis=1))
        if "decision" in outputs:
            decisions.append(_column(b, outputs["decision"]))
        if "decision" not in outputs and "probabilities" not in outputs:
            raise UnsupportedEstimatorError(f"OneVsRestClassifier: {type(member).__name__} gives neither a "
                                            "decision nor probabilities")
        scores.append(decisions[-1] if "decision" in outputs else probabilities[-1])
    result: dict[str, Value] = {}
    if len(est.estimators_) == 1:
        threshold = 0.0 if "decision" in members[0] else 0.5
        positive = b.call("compare", b.call("squeeze", scores[0], axis=1), b.const(threshold), predicate="gt")
        result["label"] = labels_from_index(b, b.call("cast", positive, to=DType.i64), est.classes_)
        if probabilities:
            result["probabilities"] = b.call("concat", b.call("sub", b.const(1.0), probabilities[0]), probabilities[0],
                                             axis=1)
        if decisions:
            result["decision"] = b.call("squeeze", decisions[0], axis=1)
        return result
    result["label"] = labels_from_scores(b, b.call("concat", *scores, axis=1), est.classes_)
    if len(probabilities) == len(members):
        stacked = b.call("concat", *probabilities, axis=1)
        total = b.call("reduce", stacked, kind="sum", axis=1, keepdims=True)
        empty = b.call("compare", total, b.const(0.0), predicate="eq")
        result["probabilities"] = b.call("div", stacked, b.call("select", empty, b.const(1.0), total))
    if len(decisions) == len(members):
        result["decision"] = b.call("concat", *decisions, axis=1)
    return result


CHILDREN[MultiOutputRegressor] = CHILDREN[RegressorChain] = lambda est: list(est.estimators_)


@lowers(MultiOutputRegressor, frames=_READ_BY_MEMBERS)
def _multi_output_regressor(est: Any, b: Builder, x: Input) -> dict[str, Value]:
    columns = [_column(b, _output(lower_into(m, b, x), "prediction", m)) for m in est.estimators_]
    return {"prediction": b.call("concat", *columns, axis=1)}


@lowers(RegressorChain)
def _regressor_chain(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    columns: list[Value] = []
    for member in est.estimators_:
        seen = b.call("concat", x, *columns, axis=1) if columns else x
        columns.append(_column(b, _output(lower_into(member, b, seen), "prediction", member)))
    # the members predict in chain order; the outputs come back in the targets' order
    order = np.argsort(np.asarray(est.order_))
    return {"prediction": b.call("concat", *(columns[i] for i in order), axis=1)}


def _score(outputs: dict[str, Value], member: Any, b: Builder) -> tuple[Value, float]:
    """A binary member's score ``[N]`` (its decision, else its positive-class probability) and the
    threshold its predict applies to it."""
    if "decision" in outputs:
        return outputs["decision"], 0.0
    proba = _output(outputs, "probabilities", member)
    return column(b, proba, 1), 0.5


CHILDREN[OneVsOneClassifier] = lambda est: list(est.estimators_)


@lowers(OneVsOneClassifier, frames=_READ_BY_MEMBERS)
def _one_vs_one(est: Any, b: Builder, x: Input) -> dict[str, Value]:
    if est.pairwise_indices_ is not None:
        raise refuse(est, "estimator", "a precomputed kernel", "estimators of features")
    n = len(est.classes_)
    pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)], np.int64)
    predicted, confidences, thresholds = [], [], []
    for member in est.estimators_:
        outputs = lower_into(member, b, x)
        index, _ = label_index(b, _output(outputs, "label", member))
        predicted.append(b.call("expand_dims", b.call("cast", index, to=DType.f64), axis=1))
        score, threshold = _score(outputs, member, b)
        confidences.append(b.call("expand_dims", score, axis=1))
        thresholds.append(threshold)
    prediction = side_by_side(b, predicted)
    confidence = side_by_side(b, confidences)
    # a pair votes for its first class where its member predicts 0: 0.5 - prediction > 0
    (votes,) = b.apply(Vote(pairs=Tensor(pairs), classes=n), b.call("sub", b.const(0.5), prediction))
    decision = ovr_decision(b, votes, b.call("neg", confidence), pairs, n)
    if n == 2:
        second = column(b, decision, 1)
        positive = b.call("compare", second, b.const(thresholds[0]), predicate="gt")
        return {"label": labels_from_index(b, b.call("cast", positive, to=DType.i64), est.classes_),
                "decision": second}
    return {"label": labels_from_scores(b, decision, est.classes_), "decision": decision}


CHILDREN[MultiOutputClassifier] = CHILDREN[ClassifierChain] = lambda est: list(est.estimators_)


@lowers(MultiOutputClassifier, frames=_READ_BY_MEMBERS)
def _multi_output_classifier(est: Any, b: Builder, x: Input) -> dict[str, Value]:
    indices, tables, probabilities = [], [], []
    for member in est.estimators_:
        outputs = lower_into(member, b, x)
        index, table = label_index(b, _output(outputs, "label", member))
        indices.append(index)
        tables.append(table)
        if "probabilities" in outputs:
            probabilities.append(outputs["probabilities"])
    result = {"label": labels_of_outputs(b, indices, tables)}
    if len(probabilities) == len(indices):
        result["probabilities"] = b.call("concat", *probabilities, axis=1)
    return result


# ClassifierChain's chain_method -> the member output a later member reads
CHAIN_READS = {"predict": "label", "predict_proba": "probabilities", "decision_function": "decision"}


@lowers(ClassifierChain)
def _classifier_chain(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    method = est.chain_method_
    features: list[Value] = []
    labels, probabilities, decisions = [], [], []
    for member in est.estimators_:
        seen = b.call("concat", x, *features, axis=1) if features else x
        outputs = lower_into(member, b, seen)
        index, table = label_index(b, _output(outputs, "label", member))
        label = b.call("expand_dims", labels_from_index(b, index, table), axis=1)  # the member's 0/1 label
        labels.append(label)
        if "probabilities" in outputs:
            probabilities.append(b.call("gather", outputs["probabilities"], b.const(np.array([1], np.int64)), axis=1))
        if "decision" in outputs:
            decisions.append(_column(b, outputs["decision"]))
        read = {"label": b.call("cast", label, to=DType.f64), "probabilities": probabilities[-1] if probabilities
                else None, "decision": decisions[-1] if decisions else None}[CHAIN_READS[method]]
        if read is None:
            raise UnsupportedEstimatorError(f"ClassifierChain: {type(member).__name__} has no {method}")
        features.append(read)
    order = np.argsort(np.asarray(est.order_))
    result = {"label": b.call("concat", *(labels[i] for i in order), axis=1)}
    if len(probabilities) == len(labels):
        result["probabilities"] = b.call("concat", *(probabilities[i] for i in order), axis=1)
    if len(decisions) == len(labels):
        result["decision"] = b.call("concat", *(decisions[i] for i in order), axis=1)
    return result


CHILDREN[OutputCodeClassifier] = lambda est: list(est.estimators_)


@lowers(OutputCodeClassifier, frames=_READ_BY_MEMBERS)
def _output_code(est: Any, b: Builder, x: Input) -> dict[str, Value]:
    scores = [b.call("expand_dims", _score(lower_into(m, b, x), m, b)[0], axis=1) for m in est.estimators_]
    codes = side_by_side(b, scores)
    distances = kernel(b, codes, np.asarray(est.code_book_, np.float64), "sqeuclidean")
    return {"label": labels_from_scores(b, b.call("neg", distances), est.classes_)}


CHILDREN[SelfTrainingClassifier] = lambda est: [est.estimator_]


@lowers(SelfTrainingClassifier, frames=read_by_members(CHILDREN[SelfTrainingClassifier]))
def _self_training(est: Any, b: Builder, x: Input) -> dict[str, Value]:
    return lower_into(est.estimator_, b, x)


@lowers(_ConstantPredictor)
def _constant_predictor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """The member one-vs-rest and output-code classifiers fit for a column of one value: that
    value as the decision, ``[1 - y, y]`` as the probabilities."""
    value = float(np.asarray(est.y_).ravel()[0])
    decision = same_for_every_row(b, x, value)
    rows = b.call("expand_dims", same_for_every_row(b, x, 0.0), axis=1)
    proba = b.call("add", rows, b.const(np.array([[1.0 - value, value]])))
    return {"decision": decision, "probabilities": proba}

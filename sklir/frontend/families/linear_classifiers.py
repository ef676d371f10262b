"""Linear classifiers: decision ``x @ coef_.T + intercept_``, labels, and predict_proba rules.

All of them share ``decision_function`` (raveled to ``[N]`` for two classes) and ``predict``
(``classes_[decision > 0]`` for two classes, the first argmax otherwise). They differ only in how
``predict_proba`` is derived from the decision, which :data:`PROBABILITY_RULES` records per
(class, loss).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import (
    LogisticRegression,
    LogisticRegressionCV,
    PassiveAggressiveClassifier,
    Perceptron,
    RidgeClassifier,
    RidgeClassifierCV,
    SGDClassifier,
)
from sklearn.svm import LinearSVC

from sklir.frontend.affine import affine
from sklir.frontend.outputs import binary_probabilities, labels_from_binary_decision, labels_from_scores
from sklir.frontend.registry import lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.types import DType

Elementwise = Callable[[Builder, Value], Value]


def _sigmoid(b: Builder, s: Value) -> Value:
    return b.call("sigmoid", s)


def _modified_huber(b: Builder, s: Value) -> Value:
    # scikit-learn: (clip(s, -1, 1) + 1) / 2, in that order
    clipped = b.call("clip", s, min=-1.0, max=1.0)
    return b.call("div", b.call("add", clipped, b.const(1.0)), b.const(2.0))


def _log_sigmoid(b: Builder, s: Value) -> Value:
    """``log(expit(s)) = min(s, 0) - log1p(exp(-|s|))``, finite for every finite ``s``."""
    tail = b.call("log1p", b.call("exp", b.call("neg", b.call("abs", s))))
    return b.call("sub", b.call("minimum", s, b.const(0.0)), tail)


def _uniform_where(b: Builder, empty: Value, p: Value) -> Value:
    """``p`` with the rows flagged in ``empty`` (``[N, 1]`` bool) replaced by ``1/K``."""
    return b.call("select", empty, b.const(1.0 / p.type.static_dim(1)), p)


def _softmax(b: Builder, s: Value) -> Value:
    return b.call("softmax", s, axis=1)


# scipy's expit(s) is exactly 0.0 for every float64 s below this (1 + exp(-s) overflows)
EXPIT_ZERO_BELOW = -709.782712893384
# stands in for log(0): finite, so that the softmax of a row of them is uniform rather than NaN
LOG_ZERO = -1e30


def _one_vs_rest_logistic(b: Builder, s: Value) -> Value:
    """``expit(s)`` normalised per row, as scikit-learn does for one-vs-rest logistic models.

    Computed as a softmax of ``log expit(s)`` so that float32, where ``expit`` underflows below
    about -104, gives the float64 answer. Where float64's ``expit`` is exactly 0 the log is
    :data:`LOG_ZERO`; a row that is all zeros then comes out uniform, which is scikit-learn's rule.
    Both are decided on ``s`` itself, so they do not depend on the precision.
    """
    zero = b.call("compare", s, b.const(EXPIT_ZERO_BELOW), predicate="lt")
    return _softmax(b, b.call("select", zero, b.const(LOG_ZERO), _log_sigmoid(b, s)))


def _one_vs_rest_modified_huber(b: Builder, s: Value) -> Value:
    """The modified-Huber probabilities normalised per row; a row summing to 0 becomes uniform."""
    p = _modified_huber(b, s)
    total = b.call("reduce", p, kind="sum", axis=1, keepdims=True)
    empty = b.call("compare", total, b.const(0.0), predicate="eq")
    # divide empty rows by 1 rather than 0 so that no NaN is ever formed
    safe_total = b.call("select", empty, b.const(1.0), total)
    return _uniform_where(b, empty, b.call("div", p, safe_total))


@dataclass(frozen=True)
class ProbabilityRule:
    """How ``predict_proba`` follows from the decision: ``binary`` maps the 1-d decision to the
    positive-class probability, ``multiclass`` maps ``[N, K]`` scores to ``[N, K]`` probabilities."""

    binary: Elementwise
    multiclass: Elementwise


# (class, loss) -> rule; classes without a ``loss`` parameter use None
PROBABILITY_RULES: dict[tuple[type, str | None], ProbabilityRule] = {
    (LogisticRegression, None): ProbabilityRule(_sigmoid, _softmax),
    (LogisticRegressionCV, None): ProbabilityRule(_sigmoid, _softmax),
    (SGDClassifier, "log_loss"): ProbabilityRule(_sigmoid, _one_vs_rest_logistic),
    (SGDClassifier, "modified_huber"): ProbabilityRule(_modified_huber, _one_vs_rest_modified_huber),
}


def _probabilities(est: Any, b: Builder, decision: Value) -> Value:
    loss = getattr(est, "loss", None)
    rule = PROBABILITY_RULES.get((type(est), loss))
    if rule is None:
        supported = [k[1] for k in PROBABILITY_RULES if k[0] is type(est)]
        raise refuse(est, "loss", loss, supported or "none")
    if decision.type.rank == 1:
        return binary_probabilities(b, rule.binary(b, decision))
    return rule.multiclass(b, decision)


def _is_multilabel(est: Any) -> bool:
    # RidgeClassifier fitted on an indicator matrix predicts that matrix; only its binarizer knows
    binarizer = getattr(est, "_label_binarizer", None)
    return str(getattr(binarizer, "y_type_", "")).startswith("multilabel")


@lowers(LogisticRegression, LogisticRegressionCV, SGDClassifier, RidgeClassifier, RidgeClassifierCV,
        Perceptron, PassiveAggressiveClassifier, LinearSVC)
def lower_linear_classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """``label``, ``decision`` and (where scikit-learn has it) ``probabilities`` of a linear classifier."""
    coef = np.asarray(est.coef_, dtype=np.float64)
    # RidgeClassifier stores a binary coef_ as 1-d; every other class as [1, p]
    scores = affine(b, x, coef.reshape(-1, coef.shape[-1]).T, est.intercept_)
    if _is_multilabel(est):
        label = b.call("cast", b.call("compare", scores, b.const(0.0), predicate="gt"), to=DType.i64)
        return {"label": label, "decision": scores}
    binary = scores.type.shape[1] == 1
    decision = b.call("squeeze", scores, axis=1) if binary else scores
    label = labels_from_binary_decision(b, decision, est.classes_) if binary \
        else labels_from_scores(b, decision, est.classes_)
    outputs = {"label": label}
    if hasattr(est, "decision_function"):
        outputs["decision"] = decision
    if hasattr(est, "predict_proba"):
        outputs["probabilities"] = _probabilities(est, b, decision)
    return outputs

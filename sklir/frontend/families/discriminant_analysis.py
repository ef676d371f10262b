"""Discriminant analysis: LinearDiscriminantAnalysis (classifier and transform) and
QuadraticDiscriminantAnalysis.

LDA's decision is linear, ``x @ coef.T + intercept`` (one column for two classes), its label
scikit-learn's linear rule (``decision > 0``, or the first largest score) and its probabilities
``expit(decision)`` for two classes and the softmax of the scores otherwise. The scores are log
posteriors up to a constant and reach hundreds in magnitude, which float32 sums round by about
1e-4: the softmax reads scores whose weights are centred over the classes instead (a per-row
constant less, which changes no probability), small enough for 1e-5.

QDA's class scores are scikit-learn's log posteriors up to a constant:
``-0.5 * (|(x - mean_k) @ (R_k * S_k^-1/2)|^2 + sum(log S_k)) + log prior_k``, one matrix product
per class on the centred input (not expanded, so float32 keeps its digits far from the means).
``predict`` is the first class of highest score, ``predict_proba`` their softmax (scikit-learn's
``exp(log_likelihood - logsumexp)``), ``decision_function`` the scores, or for two classes
``score_1 - score_0``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis

from sklir.frontend.affine import affine, centred_affine, columnwise, side_by_side
from sklir.frontend.outputs import (
    binary_probabilities,
    class_difference,
    labels_from_binary_decision,
    labels_from_scores,
)
from sklir.frontend.registry import lowers, refuse, transforms_as
from sklir.ir.builder import Builder
from sklir.ir.core import Value


@transforms_as(LinearDiscriminantAnalysis)
def _lda_transform(est: Any, b: Builder, x: Value) -> Value:
    """``(x - xbar) @ scalings`` (svd) or ``x @ scalings`` (eigen), the first components kept."""
    if est.solver not in ("svd", "eigen"):
        raise refuse(est, "solver", est.solver, "'svd' or 'eigen' (scikit-learn has no transform for 'lsqr')")
    scalings = np.asarray(est.scalings_, np.float64)[:, :est._max_components]
    if est.solver == "svd":
        return affine(b, columnwise(b, x, "sub", est.xbar_), scalings)
    return affine(b, x, scalings)


@lowers(LinearDiscriminantAnalysis)
def _lda(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    coef, intercept = np.asarray(est.coef_, np.float64).T, np.asarray(est.intercept_, np.float64)
    scores = affine(b, x, coef, intercept)
    if coef.shape[1] == 1:
        decision = b.call("squeeze", scores, axis=1)
        return {"label": labels_from_binary_decision(b, decision, est.classes_), "decision": decision,
                "probabilities": binary_probabilities(b, b.call("sigmoid", decision))}
    return {"label": labels_from_scores(b, scores, est.classes_), "decision": scores,
            "probabilities": b.call("softmax", centred_affine(b, x, coef, intercept), axis=1)}


@lowers(QuadraticDiscriminantAnalysis)
def _qda(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    norms = []
    for mean, rotation, scaling in zip(est.means_, est.rotations_, est.scalings_, strict=True):
        projected = affine(b, columnwise(b, x, "sub", mean), np.asarray(rotation) * np.asarray(scaling) ** -0.5)
        norms.append(b.call("reduce", b.call("square", projected), kind="sum", axis=1, keepdims=True))
    norm2 = side_by_side(b, norms)
    u = np.array([np.sum(np.log(s)) for s in est.scalings_])
    scores = b.call("add", b.call("mul", b.call("add", norm2, b.const(u)), b.const(-0.5)),
                    b.const(np.log(est.priors_)))
    outputs = {"label": labels_from_scores(b, scores, est.classes_), "probabilities": b.call("softmax", scores, axis=1)}
    outputs["decision"] = class_difference(b, scores) if len(est.classes_) == 2 else scores
    return outputs

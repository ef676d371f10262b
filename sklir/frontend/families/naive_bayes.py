"""Naive Bayes classifiers: a joint log likelihood per class, then scikit-learn's normalisation.

Each model's ``_joint_log_likelihood`` (``jll``, ``[N, classes]``) is written as scikit-learn
computes it; ``predict`` takes the first class of highest ``jll`` and ``predict_proba`` is
``exp(jll - logsumexp(jll))``, the softmax of ``jll`` (the softmax subtracts the row's largest
value first, so no exponential overflows). They have no ``decision_function``.

- GaussianNB: ``log prior - 0.5 * sum(log(2 pi var)) - 0.5 * sum((x - theta)^2 / var)``, kept in
  that form (``[N, classes, features]`` differences) rather than expanded into matrix products,
  whose cancellation would lose float32 digits when ``x`` lies far from the means.
- MultinomialNB: ``x @ feature_log_prob.T + class_log_prior``, less a per-row constant (see
  :func:`~sklir.frontend.affine.centred_affine`: on digits' counts the plain sums, near 1500 in
  magnitude, lose about 1e-4).
- ComplementNB: ``x @ feature_log_prob.T`` (plus the prior for a single class).
- BernoulliNB: ``x`` binarised (``x > binarize``) when ``binarize`` is set, then
  ``x @ (log p - log(1 - p)).T + class_log_prior + sum(log(1 - p))``.
- CategoricalNB: ``class_log_prior + sum_f feature_log_prob[f][:, x_f]``, every feature's table
  stacked into one so that a single gather reads all of them. scikit-learn converts ``x`` to
  integers (truncating, as ``cast`` does) and raises for a category it never saw; the artefact
  cannot raise, so a code below 0 or above the last category reads the nearest one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.naive_bayes import BernoulliNB, CategoricalNB, ComplementNB, GaussianNB, MultinomialNB

from sklir.frontend.affine import centred_affine
from sklir.frontend.outputs import labels_from_scores
from sklir.frontend.registry import lowers
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.types import DType


def _outputs(est: Any, b: Builder, jll: Value) -> dict[str, Value]:
    return {"label": labels_from_scores(b, jll, est.classes_), "probabilities": b.call("softmax", jll, axis=1)}


@lowers(GaussianNB)
def _gaussian(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    theta, var = np.asarray(est.theta_, np.float64), np.asarray(est.var_, np.float64)
    constant = np.log(est.class_prior_) - 0.5 * np.sum(np.log(2.0 * np.pi * var), axis=1)
    # (x - theta)^2 / var for every row, class and feature: [N, 1, F] against [K, F]
    centred = b.call("sub", b.call("expand_dims", x, axis=1), b.const(theta))
    spread = b.call("div", b.call("square", centred), b.const(var))
    distance = b.call("reduce", spread, kind="sum", axis=2, keepdims=False)
    jll = b.call("add", b.call("mul", distance, b.const(-0.5)), b.const(constant))
    return _outputs(est, b, jll)


@lowers(MultinomialNB)
def _multinomial(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    return _outputs(est, b, centred_affine(b, x, np.asarray(est.feature_log_prob_).T, est.class_log_prior_))


@lowers(ComplementNB)
def _complement(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    prior = est.class_log_prior_ if len(est.classes_) == 1 else None
    return _outputs(est, b, centred_affine(b, x, np.asarray(est.feature_log_prob_).T, prior))


@lowers(BernoulliNB)
def _bernoulli(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    if est.binarize is not None:
        x = b.call("cast", b.call("compare", x, b.const(float(est.binarize)), predicate="gt"), to=DType.f64)
    log_p = np.asarray(est.feature_log_prob_, np.float64)
    neg = np.log(1 - np.exp(log_p))
    return _outputs(est, b, centred_affine(b, x, (log_p - neg).T, est.class_log_prior_ + neg.sum(axis=1)))


@lowers(CategoricalNB)
def _categorical(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    # feature f's table is [categories_f, classes]; each less its mean over the classes (a per-row
    # constant in the sum, as centred_affine does)
    tables = [np.asarray(t, np.float64).T for t in est.feature_log_prob_]
    tables = [t - t.mean(axis=1, keepdims=True) for t in tables]
    counts = np.array([len(t) for t in tables])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).reshape(1, -1)
    code = b.call("cast", x, to=DType.i64)
    code = b.call("maximum", code, b.const(np.zeros((), np.int64)))
    code = b.call("minimum", code, b.const(counts.reshape(1, -1) - 1))
    rows = b.call("gather", b.const(np.concatenate(tables)), b.call("add", code, b.const(starts)), axis=0)  # [N, F, K]
    total = b.call("reduce", rows, kind="sum", axis=1, keepdims=False)
    prior = np.asarray(est.class_log_prior_, np.float64)
    return _outputs(est, b, b.call("add", total, b.const(prior - prior.mean())))

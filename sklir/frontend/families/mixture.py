"""Gaussian mixtures (issue 7): GaussianMixture and BayesianGaussianMixture, every covariance type.

The weighted log probability of component ``k`` is ``-0.5 * q_k(x) + c_k``: ``q_k`` the squared
Mahalanobis distance through the fitted precision Cholesky factors, written on the centred
input (``|(x - mu_k) @ P_k|^2`` for full and tied covariances, ``sum((x - mu_k)^2 * p_k)`` for
diagonal and spherical ones) so that float32 keeps its digits, and ``c_k`` every other term
(normalisation, log determinant, the weight; for the Bayesian model its digamma terms), taken
from scikit-learn's own ``_estimate_weighted_log_prob`` at ``x = mu_k`` where ``q_k`` is 0.
``predict`` is the first component of highest value, ``predict_proba`` their softmax and
``score_samples`` their log-sum-exp (largest value first, so nothing overflows).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.mixture import BayesianGaussianMixture, GaussianMixture

from sklir.frontend.affine import side_by_side, squared_norm_of_affine
from sklir.frontend.registry import lowers
from sklir.ir.builder import Builder
from sklir.ir.core import Value


def _squared_distances(est: Any, b: Builder, x: Value) -> Value:
    """``q_k(x)`` for every component: ``[N, K]``."""
    means, chol = np.asarray(est.means_, np.float64), np.asarray(est.precisions_cholesky_, np.float64)
    kind = est.covariance_type
    if kind in ("diag", "spherical"):
        precisions = chol ** 2 if kind == "diag" else (chol ** 2)[:, None] * np.ones_like(means)
        centred = b.call("sub", b.call("expand_dims", x, axis=1), b.const(means))  # [N, K, F]
        weighted = b.call("mul", b.call("square", centred), b.const(precisions))
        return b.call("reduce", weighted, kind="sum", axis=2, keepdims=False)
    factors = chol if kind == "full" else [chol] * len(means)
    columns = [squared_norm_of_affine(b, x, mu, factor) for mu, factor in zip(means, factors, strict=True)]
    return side_by_side(b, columns)


@lowers(GaussianMixture, BayesianGaussianMixture)
def _mixture(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    means = np.asarray(est.means_, np.float64)
    constants = np.diag(est._estimate_weighted_log_prob(means))
    weighted = b.call("add", b.call("mul", _squared_distances(est, b, x), b.const(-0.5)), b.const(constants))
    largest = b.call("reduce", weighted, kind="max", axis=1, keepdims=True)
    total = b.call("reduce", b.call("exp", b.call("sub", weighted, largest)), kind="sum", axis=1, keepdims=True)
    score = b.call("squeeze", b.call("add", b.call("log", total), largest), axis=1)
    return {"label": b.call("argmax", weighted, axis=1), "probabilities": b.call("softmax", weighted, axis=1),
            "score": score}

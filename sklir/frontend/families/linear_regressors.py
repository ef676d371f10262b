"""Linear regressors: ``predict = inverse_link(x @ coef_.T + intercept_)``.

Every class here stores ``coef_`` and ``intercept_`` the same way, so one lowering serves them
all; they differ only in the inverse link (identity, or ``exp`` for the log-link GLMs). The shape
of ``coef_`` decides the shape of the prediction, exactly as in scikit-learn: a 1-d ``coef_``
predicts ``[N]``, a 2-d one ``[N, k]`` (including ``k = 1``, e.g. LinearRegression fitted on an
``(n, 1)`` target, while Ridge on the same target stores a 1-d ``coef_``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.linear_model import (
    ARDRegression,
    BayesianRidge,
    ElasticNet,
    ElasticNetCV,
    GammaRegressor,
    HuberRegressor,
    Lars,
    LarsCV,
    Lasso,
    LassoCV,
    LassoLars,
    LassoLarsCV,
    LassoLarsIC,
    LinearRegression,
    MultiTaskElasticNet,
    MultiTaskElasticNetCV,
    MultiTaskLasso,
    MultiTaskLassoCV,
    OrthogonalMatchingPursuit,
    OrthogonalMatchingPursuitCV,
    PassiveAggressiveRegressor,
    PoissonRegressor,
    QuantileRegressor,
    RANSACRegressor,
    Ridge,
    RidgeCV,
    SGDRegressor,
    TheilSenRegressor,
    TweedieRegressor,
)
from sklearn.svm import LinearSVR

from sklir.frontend.affine import affine
from sklir.frontend.registry import lower_into, lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value

# the unary op that inverts each GLM link; None is the identity
LINK_INVERSE: dict[str, str | None] = {"identity": None, "log": "exp"}


def _identity_link(est: Any) -> str:
    return "identity"


def _log_link(est: Any) -> str:
    return "log"


def _tweedie_link(est: Any) -> str:
    # scikit-learn resolves link="auto" at fit time without storing the result publicly
    if est.link == "auto":
        return "identity" if est.power <= 0 else "log"
    if est.link not in LINK_INVERSE:
        raise refuse(est, "link", est.link, ["auto", *LINK_INVERSE])
    return str(est.link)


# regressor class -> the name of its fitted link (what the linear predictor passes through)
LINKS: dict[type, Callable[[Any], str]] = {
    **dict.fromkeys((
        LinearRegression, Ridge, RidgeCV, Lasso, LassoCV, ElasticNet, ElasticNetCV, Lars, LassoLars,
        LassoLarsIC, OrthogonalMatchingPursuit, BayesianRidge, ARDRegression, HuberRegressor,
        TheilSenRegressor, QuantileRegressor, SGDRegressor, PassiveAggressiveRegressor, LinearSVR,
        MultiTaskLasso, MultiTaskElasticNet, MultiTaskLassoCV, MultiTaskElasticNetCV, LarsCV, LassoLarsCV,
        OrthogonalMatchingPursuitCV,
    ), _identity_link),
    PoissonRegressor: _log_link,
    GammaRegressor: _log_link,
    TweedieRegressor: _tweedie_link,
}


def linear_predictor(b: Builder, x: Value, coef: Any, intercept: Any) -> Value:
    """``x @ coef.T + intercept``: ``[N]`` for a 1-d ``coef``, ``[N, k]`` for a ``[k, p]`` one."""
    coef = np.asarray(coef, dtype=np.float64)
    eta = affine(b, x, coef.T, intercept)
    return b.call("squeeze", eta, axis=1) if coef.ndim == 1 else eta


@lowers(*LINKS)
def lower_linear_regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """``predict`` of a linear model or GLM: the inverse link of the linear predictor."""
    link = LINKS[type(est)](est)
    prediction = linear_predictor(b, x, est.coef_, est.intercept_)
    inverse = LINK_INVERSE[link]
    return {"prediction": b.call(inverse, prediction) if inverse else prediction}


@lowers(RANSACRegressor)
def lower_ransac(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """RANSAC predicts with its final fitted ``estimator_``, lowered here when it is linear."""
    base = est.estimator_
    if type(base) not in LINKS:
        raise refuse(est, "estimator", type(base).__name__, sorted(c.__name__ for c in LINKS))
    return lower_into(base, b, x)

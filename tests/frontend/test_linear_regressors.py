"""Parity of every linear regressor and GLM with scikit-learn, single and multi-target.

Data: diabetes (one target, also given as an ``(n, 1)`` column) and linnerud (three targets).
Tolerances are the harness defaults (interpreter 1e-9, float32 artefacts 1e-5 of the output's
scale); see tests/parity.py.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pytest
from conftest import dataset
from parity import assert_parity
from sklearn import linear_model as lm
from sklearn.svm import LinearSVR
from sklearn.tree import DecisionTreeRegressor

import sklir
from sklir.errors import UnsupportedEstimatorError

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning",
                                        "ignore::sklearn.exceptions.DataConversionWarning")

# name -> factory; every estimator of the family, with enough iterations to converge where cheap
ESTIMATORS: dict[str, Callable[[], Any]] = {
    "LinearRegression": lm.LinearRegression,
    "Ridge": lambda: lm.Ridge(alpha=0.5),
    "RidgeCV": lm.RidgeCV,
    "Lasso": lambda: lm.Lasso(alpha=0.05),
    "LassoCV": lm.LassoCV,
    "ElasticNet": lambda: lm.ElasticNet(alpha=0.01, l1_ratio=0.3),
    "ElasticNetCV": lm.ElasticNetCV,
    "Lars": lm.Lars,
    "LassoLars": lambda: lm.LassoLars(alpha=0.01),
    "LassoLarsIC": lm.LassoLarsIC,
    "LarsCV": lambda: lm.LarsCV(cv=3),
    "LassoLarsCV": lambda: lm.LassoLarsCV(cv=3),
    "OrthogonalMatchingPursuitCV": lambda: lm.OrthogonalMatchingPursuitCV(cv=3),
    "OrthogonalMatchingPursuit": lambda: lm.OrthogonalMatchingPursuit(n_nonzero_coefs=2),
    "BayesianRidge": lm.BayesianRidge,
    "ARDRegression": lm.ARDRegression,
    "HuberRegressor": lambda: lm.HuberRegressor(max_iter=1000),
    "TheilSenRegressor": lambda: lm.TheilSenRegressor(random_state=0, max_subpopulation=500),
    "RANSACRegressor": lambda: lm.RANSACRegressor(random_state=0),
    "RANSACRegressor(Ridge)": lambda: lm.RANSACRegressor(lm.Ridge(alpha=0.1), min_samples=0.5, random_state=0),
    "QuantileRegressor": lambda: lm.QuantileRegressor(quantile=0.3, alpha=0.01),
    "SGDRegressor": lambda: lm.SGDRegressor(max_iter=2000, random_state=0),
    "PassiveAggressiveRegressor": lambda: lm.PassiveAggressiveRegressor(random_state=0),
    "LinearSVR": lambda: LinearSVR(C=10.0, max_iter=20000, random_state=0),
    "PoissonRegressor": lambda: lm.PoissonRegressor(alpha=0.01, max_iter=1000),
    "GammaRegressor": lambda: lm.GammaRegressor(alpha=0.01, max_iter=1000),
    "TweedieRegressor": lambda: lm.TweedieRegressor(power=1.5, alpha=0.01, max_iter=1000),
    "MultiTaskLasso": lambda: lm.MultiTaskLasso(alpha=0.5),
    "MultiTaskElasticNet": lambda: lm.MultiTaskElasticNet(alpha=0.5, l1_ratio=0.3),
    "MultiTaskLassoCV": lambda: lm.MultiTaskLassoCV(cv=3),
    "MultiTaskElasticNetCV": lambda: lm.MultiTaskElasticNetCV(cv=3),
}
MULTI_TASK_ONLY = {"MultiTaskLasso", "MultiTaskElasticNet", "MultiTaskLassoCV", "MultiTaskElasticNetCV"}
MULTI_TARGET = {"LinearRegression", "Ridge", "RidgeCV", "Lasso", "ElasticNet", "Lars", "LassoLars",
                "OrthogonalMatchingPursuit", "RANSACRegressor", "RANSACRegressor(Ridge)", *MULTI_TASK_ONLY}
# Ridge flattens an (n, 1) target, so RANSAC's residuals broadcast to (n, n) and its fit fails
NOT_COLUMN = {"RANSACRegressor(Ridge)"}
NO_INTERCEPT = ["LinearRegression", "Ridge", "Lasso", "HuberRegressor", "SGDRegressor", "LinearSVR",
                "PoissonRegressor", "MultiTaskLasso"]

# target kind -> (dataset, how y is shaped)
TARGETS: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "1d": ("diabetes", lambda y: y),
    "column": ("diabetes", lambda y: y[:, None]),
    "multi": ("linnerud", lambda y: y),
}

CASES = [(name, "1d") for name in ESTIMATORS if name not in MULTI_TASK_ONLY] \
    + [(name, "column") for name in ESTIMATORS if name not in NOT_COLUMN] \
    + [(name, "multi") for name in sorted(MULTI_TARGET)]


def _data(target: str) -> tuple[np.ndarray, np.ndarray]:
    name, shape = TARGETS[target]
    X, y = dataset(name)
    return X, shape(np.asarray(y, dtype=np.float64))


@cache
def fitted(name: str, target: str, **params: Any) -> Any:
    """``ESTIMATORS[name]`` with ``params`` set, fitted once on ``target``."""
    X, y = _data(target)
    est = ESTIMATORS[name]()
    est.set_params(**({f"estimator__{k}": v for k, v in params.items()} if name.startswith("RANSAC") else params))
    return est.fit(X, y)


@pytest.mark.parametrize(("name", "target"), CASES)
def test_parity(name: str, target: str) -> None:
    assert_parity(fitted(name, target), _data(target)[0])


@pytest.mark.parametrize("name", NO_INTERCEPT)
def test_parity_without_intercept(name: str) -> None:
    target = "column" if name in MULTI_TASK_ONLY else "1d"
    assert_parity(fitted(name, target, fit_intercept=False), _data(target)[0])


@pytest.mark.parametrize("link", ["auto", "identity", "log"])
@pytest.mark.parametrize("power", [0, 1, 1.5, 2, 3])
def test_tweedie_powers_and_links(power: float, link: str) -> None:
    est = fitted("TweedieRegressor", "1d", power=power, link=link)
    module = assert_parity(est, _data("1d")[0])
    # the link scikit-learn resolved must be the one we lowered: exp appears iff the link is log
    resolved = type(est._base_loss.link).__name__
    uses_exp = any(node.op.name == "exp" for node in module.nodes)
    assert uses_exp == (resolved == "LogLink"), resolved


def test_ransac_refuses_a_nonlinear_base() -> None:
    X, y = _data("1d")
    est = lm.RANSACRegressor(DecisionTreeRegressor(max_depth=3), min_samples=0.5, random_state=0).fit(X, y)
    with pytest.raises(UnsupportedEstimatorError, match="RANSACRegressor: estimator='DecisionTreeRegressor'"):
        sklir.lower(est)


def test_prediction_shapes_follow_coef() -> None:
    # LinearRegression keeps an (n, 1) target 2-d while Ridge flattens it: the IR must agree
    shapes = {name: sklir.lower(fitted(name, "column")).outputs["prediction"].type.rank
              for name in ("LinearRegression", "Ridge", "MultiTaskLasso")}
    assert shapes == {"LinearRegression": 2, "Ridge": 1, "MultiTaskLasso": 2}

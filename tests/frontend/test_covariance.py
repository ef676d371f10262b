"""Parity of the covariance estimators (issue 7): ``score`` is ``mahalanobis``, and
EllipticEnvelope under the outlier contract (label, decision, score).

Distances within 1e-5 of their scale (the harness's default) under the interpreter, LiteRT and
onnxruntime; labels identical.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import standardised
from parity import assert_parity
from sklearn.covariance import (
    OAS,
    EllipticEnvelope,
    EmpiricalCovariance,
    GraphicalLasso,
    GraphicalLassoCV,
    LedoitWolf,
    MinCovDet,
    ShrunkCovariance,
)

from sklir.check import contract_outputs, estimator_kind

ESTIMATORS: dict[str, Any] = {
    "empirical": lambda: EmpiricalCovariance(),
    "empirical-no-precision": lambda: EmpiricalCovariance(store_precision=False),
    "min-cov-det": lambda: MinCovDet(random_state=0),
    "ledoit-wolf": lambda: LedoitWolf(),
    "oas": lambda: OAS(),
    "shrunk": lambda: ShrunkCovariance(shrinkage=0.3),
    "graphical-lasso": lambda: GraphicalLasso(alpha=0.2),
    "graphical-lasso-cv": lambda: GraphicalLassoCV(cv=3),
}


@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
@pytest.mark.parametrize("estimator", sorted(ESTIMATORS))
def test_mahalanobis(estimator: str, name: str) -> None:
    X, _ = standardised(name)
    X = X[:, :10]  # GraphicalLassoCV on every breast-cancer column takes seconds and fails to converge
    model = ESTIMATORS[estimator]().fit(X)
    assert estimator_kind(model) == "covariance" and contract_outputs(model) == {"score": "mahalanobis"}
    assert_parity(model, X)


@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_elliptic_envelope(name: str) -> None:
    X, _ = standardised(name)
    assert_parity(EllipticEnvelope(contamination=0.1, random_state=0).fit(X), X)

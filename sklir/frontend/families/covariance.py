"""Covariance estimators (issue 7): the squared Mahalanobis distance, and EllipticEnvelope.

EmpiricalCovariance, MinCovDet, LedoitWolf, OAS, ShrunkCovariance, GraphicalLasso and
GraphicalLassoCV give ``score``, what ``mahalanobis`` returns: ``(x - location) P (x - location)``
with ``P`` the fitted precision (``get_precision()``). It is written as ``|(x - location) @ L|^2``
with ``P = L L^T`` from the precision's eigen-decomposition (negative rounding eigenvalues of a
singular precision clipped to 0), on the centred input, so float32 sums squares of moderate size.
EllipticEnvelope is an outlier detector: ``score`` is ``score_samples`` (minus the distance),
``decision`` that less ``offset_``, and ``label`` 1 where the decision is at least 0, else -1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
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

from sklir.frontend.affine import squared_norm_of_affine
from sklir.frontend.outputs import outlier_labels
from sklir.frontend.registry import lowers
from sklir.ir.builder import Builder
from sklir.ir.core import Value


def mahalanobis(est: Any, b: Builder, x: Value) -> Value:
    """``est.mahalanobis(x)``, ``[N]``."""
    precision = np.asarray(est.get_precision(), np.float64)
    values, vectors = np.linalg.eigh((precision + precision.T) / 2.0)
    factor = vectors * np.sqrt(np.clip(values, 0.0, None))
    return b.call("squeeze", squared_norm_of_affine(b, x, np.asarray(est.location_, np.float64), factor), axis=1)


@lowers(EmpiricalCovariance, MinCovDet, LedoitWolf, OAS, ShrunkCovariance, GraphicalLasso, GraphicalLassoCV)
def _covariance(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    return {"score": mahalanobis(est, b, x)}


@lowers(EllipticEnvelope)
def _elliptic_envelope(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    score = b.call("neg", mahalanobis(est, b, x))
    decision = b.call("sub", score, b.const(float(est.offset_)))
    inlier = b.call("compare", decision, b.const(0.0), predicate="ge")
    return {"label": outlier_labels(b, inlier), "decision": decision, "score": score}

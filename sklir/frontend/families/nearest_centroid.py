"""NearestCentroid: the class of the nearest centroid (issue 7's first reader of ``kernel``).

With uniform class priors scikit-learn's ``predict`` is the first class whose centroid is
nearest by ``metric`` (euclidean or manhattan). For the euclidean metric it also has
``decision_function`` and ``predict_proba``: the scores ``-|x' - c'|^2 + 2 log prior`` on inputs
and centroids divided by the within-class standard deviation (where it is not 0), their softmax,
and for two classes ``score_1 - score_0``; with priors that are not uniform ``predict`` is the
first class of highest score.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.neighbors import NearestCentroid

from sklir.frontend.affine import centred_affine, columnwise
from sklir.frontend.kernels import kernel
from sklir.frontend.outputs import class_difference, labels_from_scores
from sklir.frontend.registry import lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value

METRICS = ("euclidean", "manhattan")


@lowers(NearestCentroid)
def _nearest_centroid(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    if est.metric not in METRICS:
        raise refuse(est, "metric", est.metric, METRICS)
    classes, priors = est.classes_, np.asarray(est.class_prior_, np.float64)
    outputs: dict[str, Value] = {}
    scores = None
    if est.metric == "euclidean":
        deviation = np.asarray(est.within_class_std_dev_, np.float64)
        scale = np.where(deviation != 0, deviation, 1.0)
        scaled = columnwise(b, x, "div", scale)
        centroids = np.asarray(est.centroids_, np.float64) / scale
        squared = kernel(b, scaled, centroids, "sqeuclidean")
        scores = b.call("add", b.call("neg", squared), b.const(2.0 * np.log(priors)))
        # the softmax reads the scores less per-row constants (-|x'|^2 and 2 x'.mean(c)): a linear
        # map of the centroids centred over the classes. On digits the scores reach 2500 and their
        # float32 sums round by 4e-4; the linear map's terms are far smaller
        bias = -np.einsum("ij,ij->i", centroids, centroids) + 2.0 * np.log(priors)
        outputs["probabilities"] = b.call("softmax", centred_affine(b, scaled, 2.0 * centroids.T, bias), axis=1)
        outputs["decision"] = class_difference(b, scores) if len(classes) == 2 else scores
    if np.isclose(priors, 1 / len(classes)).all() or scores is None:
        distances = kernel(b, x, est.centroids_, "sqeuclidean" if est.metric == "euclidean" else "manhattan")
        outputs["label"] = labels_from_scores(b, b.call("neg", distances), classes)  # first nearest
    else:
        outputs["label"] = labels_from_scores(b, scores, classes)
    return outputs

"""Neighbour models (issue 7): the training set travels as a constant and every query searches it.

Search is one :class:`~sklir.ir.dialects.ml.Kernel` against the training points (squared
distances for the euclidean metric: the same order, no square root) and one ``top_k`` of the
smallest, equal distances lower training index first, which is the order scikit-learn's brute
search keeps. The distances the models then read (distance weights, ``transform``, local
reachability) are recomputed exactly for the chosen neighbours from their differences, so an
exact match is exactly 0 even where the search itself used the float32 expansion.

- ``KNeighborsClassifier``: each neighbour votes for its class (weight 1, or ``1 / distance``;
  a row with neighbours at distance 0 counts those alone, as ``_get_weights`` does);
  ``probabilities`` are the normalised votes, ``label`` the first class of most votes. Several
  outputs give ``label`` ``[N, outputs]`` and the probabilities side by side.
- ``KNeighborsRegressor``: the (weighted) mean of the neighbours' targets.
- ``RadiusNeighborsClassifier`` / ``Regressor``: every training point within ``radius``
  (``distance <= radius``) as a weight column ``[N, M]``, then one matrix product with the
  one-hot classes or the targets. A row with no neighbour gets ``outlier_label`` (all-zero
  probabilities unless it is a class); without one, where scikit-learn raises, the first class.
  The regressor gives NaN there, like scikit-learn.
- ``KNeighborsTransformer`` / ``RadiusNeighborsTransformer``: the neighbours graph as a dense
  ``[N, M]`` matrix (``distance`` or ``connectivity`` mode), what ``transform(X).toarray()`` gives.
- ``LocalOutlierFactor(novelty=True)``: ``score`` is minus the mean ratio of the neighbours'
  local reachability density (stored from the fit) to the query's, ``decision`` that less
  ``offset_``, ``label`` 1 where the decision is at least 0, else -1.

Metrics: euclidean, squared euclidean, manhattan, chebyshev, minkowski ``p`` and cosine, under
any of scikit-learn's names for them. A weighted minkowski (``metric_params={'w': ...}``), other
metrics and callable weights are refused by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.neighbors import (
    KNeighborsClassifier,
    KNeighborsRegressor,
    KNeighborsTransformer,
    LocalOutlierFactor,
    RadiusNeighborsClassifier,
    RadiusNeighborsRegressor,
    RadiusNeighborsTransformer,
)

from sklir.frontend.families.kernel_ridge import unit_rows
from sklir.frontend.families.scalers import normalized
from sklir.frontend.kernels import kernel
from sklir.frontend.outputs import labels_of_outputs, outlier_labels
from sklir.frontend.registry import PRECHECKS, lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.dialects.linalg import TopK
from sklir.ir.types import DType

# scikit-learn's metric names -> the kernel op's
METRICS: dict[str, str] = {
    "euclidean": "euclidean", "l2": "euclidean", "sqeuclidean": "sqeuclidean",
    "manhattan": "manhattan", "cityblock": "manhattan", "l1": "manhattan",
    "chebyshev": "chebyshev", "infinity": "chebyshev", "minkowski": "minkowski", "cosine": "cosine",
}
WEIGHTS = ("uniform", "distance")

# a metric -> the monotone one the search ranks by (no square root to order euclidean distances)
RANKED_BY: dict[str, str] = {"euclidean": "sqeuclidean"}


def _metric(est: Any) -> tuple[str, float]:
    """The kernel metric and its ``p`` for a fitted neighbours model."""
    name = est.effective_metric_
    params = dict(est.effective_metric_params_ or {})
    if not isinstance(name, str) or name not in METRICS:
        raise refuse(est, "metric", name, sorted(METRICS))
    p = float(params.pop("p", 2.0))
    if params.get("w", 0) is None:
        del params["w"]  # scikit-learn records an unweighted minkowski as w=None
    if params:
        raise refuse(est, "metric_params", est.metric_params, "{'p': ...} only")
    metric = METRICS[name]
    if metric == "minkowski":
        metric = {1.0: "manhattan", 2.0: "euclidean", float("inf"): "chebyshev"}.get(p, "minkowski")
    return metric, p


def _check(est: Any) -> None:
    _metric(est)
    weights = getattr(est, "weights", "uniform")
    if not isinstance(weights, str) or weights not in WEIGHTS:
        raise refuse(est, "weights", weights, WEIGHTS)
    if isinstance(est, LocalOutlierFactor) and not est.novelty:
        raise refuse(est, "novelty", est.novelty, "True: without it the model has no predict for new rows")


def _training(est: Any) -> np.ndarray:
    fit_x = est._fit_X
    return np.asarray(fit_x.toarray() if hasattr(fit_x, "toarray") else fit_x, np.float64)


def _exact_distances(b: Builder, x: Value, training: np.ndarray, index: Value, metric: str, p: float) -> Value:
    """The ``metric`` distances ``[N, k]`` from each row to the training points ``index`` picks,
    from their differences (``[N, k, F]``). Cosine is half the squared distance between the unit
    vectors (``1 - cos`` without its cancellation for close points), and 1 where either is 0."""
    if metric == "cosine":
        return _cosine_distances(b, x, training, index)
    points = b.call("gather", b.const(training), index, axis=0)
    diff = b.call("abs", b.call("sub", points, b.call("expand_dims", x, axis=1)))
    if metric == "chebyshev":
        return b.call("reduce", diff, kind="max", axis=2, keepdims=False)
    if metric == "manhattan":
        return b.call("reduce", diff, kind="sum", axis=2, keepdims=False)
    if metric == "minkowski":
        total = b.call("reduce", b.call("pow", diff, b.const(p)), kind="sum", axis=2, keepdims=False)
        return b.call("pow", total, b.const(1.0 / p))
    squared = b.call("reduce", b.call("square", diff), kind="sum", axis=2, keepdims=False)
    return squared if metric == "sqeuclidean" else b.call("sqrt", squared)


def _cosine_distances(b: Builder, x: Value, training: np.ndarray, index: Value) -> Value:
    norms = np.sqrt(np.einsum("ij,ij->i", training, training))
    units = b.call("gather", b.const(unit_rows(training)), index, axis=0)
    diff = b.call("sub", units, b.call("expand_dims", normalized(b, x), axis=1))
    half = b.call("mul", b.call("reduce", b.call("square", diff), kind="sum", axis=2, keepdims=False), b.const(0.5))
    # a zero row is at distance 1 from everything (scikit-learn's cosine_distances)
    x_zero = b.call("compare", b.call("reduce", b.call("abs", x), kind="max", axis=1, keepdims=True), b.const(0.0),
                    predicate="eq")
    zero = b.call("logical_or", x_zero, b.call("gather", b.const(norms == 0), index, axis=0))
    return b.call("select", zero, b.const(1.0), half)


def nearest(est: Any, b: Builder, x: Value, k: int) -> tuple[Value, Value]:
    """The ``k`` nearest training points of each row: distances ``[N, k]`` (the model's metric,
    ascending) and training indices ``[N, k]``, equal distances lower index first."""
    metric, p = _metric(est)
    training = _training(est)
    ranked = kernel(b, x, training, RANKED_BY.get(metric, metric), p=p)
    _, index = b.apply(TopK(k=k, largest=False), ranked)
    return _exact_distances(b, x, training, index, metric, p), index


def _all_distances(est: Any, b: Builder, x: Value) -> Value:
    """The model's metric from each row to every training point, ``[N, M]``."""
    metric, p = _metric(est)
    return kernel(b, x, _training(est), metric, p=p)


def inverse_distance_weights(b: Builder, distances: Value, usable: Value | None = None) -> Value:
    """``_get_weights(distances, 'distance')``: ``1 / distance``, and for a row with some neighbour
    at distance 0, 1 for those and 0 for the others. ``usable`` masks the neighbours that count
    (KNNImputer's donors with a defined distance); the others weigh 0."""
    zero = b.call("compare", distances, b.const(0.0), predicate="eq")
    if usable is not None:
        zero = b.call("logical_and", zero, usable)
    exact = b.call("cast", zero, to=DType.f64)
    has_exact = b.call("compare", b.call("reduce", exact, kind="max", axis=1, keepdims=True), b.const(0.0),
                       predicate="gt")
    inverse = b.call("div", b.const(1.0), distances)
    if usable is not None:
        inverse = b.call("select", usable, inverse, b.const(0.0))
    return b.call("select", has_exact, exact, inverse)


def _weights(est: Any, b: Builder, distances: Value) -> Value | None:
    """None for uniform weights, else :func:`inverse_distance_weights` (a radius model's candidates
    outside the radius are masked afterwards: a distance of 0 is always within it)."""
    return None if est.weights == "uniform" else inverse_distance_weights(b, distances)


def _outputs_of(est: Any) -> tuple[list[np.ndarray], np.ndarray]:
    """Each output's classes and the training points' class indices ``[M, outputs]``."""
    classes = list(est.classes_) if est.outputs_2d_ else [est.classes_]
    y = np.asarray(est._y).reshape(len(est._y), -1)
    return classes, y


def _votes(b: Builder, weights: Value | None, index: Value, codes: np.ndarray, n_classes: int) -> Value:
    """Each class's (weighted) votes ``[N, C]`` from the neighbours ``index`` ``[N, k]``."""
    neighbour_class = b.call("gather", b.const(codes.astype(np.int64)), index, axis=0)
    one_hot = b.call("compare", b.call("expand_dims", neighbour_class, axis=2),
                     b.const(np.arange(n_classes, dtype=np.int64)), predicate="eq")
    votes = b.call("cast", one_hot, to=DType.f64)
    if weights is not None:
        votes = b.call("mul", votes, b.call("expand_dims", weights, axis=2))
    return b.call("reduce", votes, kind="sum", axis=1, keepdims=False)


def _normalised(b: Builder, votes: Value) -> Value:
    """``votes / votes.sum(axis=1)``, a row of no votes left at 0 (scikit-learn's normaliser 1)."""
    total = b.call("reduce", votes, kind="sum", axis=1, keepdims=True)
    empty = b.call("compare", total, b.const(0.0), predicate="eq")
    return b.call("div", votes, b.call("select", empty, b.const(1.0), total))


def _classify(b: Builder, classes: list[np.ndarray], votes: list[Value],
              fallback: list[Any] | None = None) -> dict[str, Value]:
    """``label`` and ``probabilities`` from each output's votes. ``fallback`` is each output's
    label for a row with no votes at all (radius models' outliers)."""
    tables, indices, probabilities = [], [], []
    for o, (c, v) in enumerate(zip(classes, votes, strict=True)):
        proba = _normalised(b, v)
        table = list(c)
        index = b.call("argmax", proba, axis=1)
        if fallback is not None:
            matches = np.flatnonzero(np.asarray(c, dtype=object) == fallback[o])
            if not matches.size:
                table.append(fallback[o])  # an outlier label that is not a class
            no_votes = b.call("compare", b.call("reduce", v, kind="sum", axis=1, keepdims=False), b.const(0.0),
                              predicate="eq")
            outlier = int(matches[0]) if matches.size else len(c)
            index = b.call("select", no_votes, b.const(np.array(outlier, np.int64)), index)
            if matches.size:
                # scikit-learn gives an outlier probability 1 for its label when that is a class
                hot = np.zeros((1, len(c)))
                hot[0, outlier] = 1.0
                proba = b.call("select", b.call("expand_dims", no_votes, axis=1), b.const(hot), proba)
        tables.append(np.array(table))
        indices.append(index)
        probabilities.append(proba)
    proba = probabilities[0] if len(probabilities) == 1 else b.call("concat", *probabilities, axis=1)
    return {"label": labels_of_outputs(b, indices, tables), "probabilities": proba}


@lowers(KNeighborsClassifier)
def _k_classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    _check(est)
    distances, index = nearest(est, b, x, est.n_neighbors)
    weights = _weights(est, b, distances)
    classes, codes = _outputs_of(est)
    votes = [_votes(b, weights, index, codes[:, o], len(c)) for o, c in enumerate(classes)]
    return _classify(b, classes, votes)


def _targets(est: Any) -> tuple[np.ndarray, bool]:
    y = np.asarray(est._y, np.float64)
    return y.reshape(len(y), -1), y.ndim == 1


def _weighted_mean(b: Builder, weights: Value, values: Value, single: bool) -> Value:
    """``sum_j w_j y_j / sum_j w_j`` from ``weights`` ``[N, M]`` and ``values`` ``[M, T]`` (a matrix product)."""
    total = b.call("matmul", weights, values)
    mean = b.call("div", total, b.call("reduce", weights, kind="sum", axis=1, keepdims=True))
    return b.call("squeeze", mean, axis=1) if single else mean


@lowers(KNeighborsRegressor)
def _k_regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    _check(est)
    distances, index = nearest(est, b, x, est.n_neighbors)
    y, single = _targets(est)
    neighbour_y = b.call("gather", b.const(y), index, axis=0)  # [N, k, T]
    weights = _weights(est, b, distances)
    if weights is None:
        mean = b.call("reduce", neighbour_y, kind="mean", axis=1, keepdims=False)
    else:
        total = b.call("reduce", b.call("mul", neighbour_y, b.call("expand_dims", weights, axis=2)),
                       kind="sum", axis=1, keepdims=False)
        mean = b.call("div", total, b.call("reduce", weights, kind="sum", axis=1, keepdims=True))
    return {"prediction": b.call("squeeze", mean, axis=1) if single else mean}


def _within(est: Any, b: Builder, x: Value) -> tuple[Value, Value]:
    """Distances to every training point ``[N, M]`` and which lie within the radius."""
    distances = _all_distances(est, b, x)
    return distances, b.call("compare", distances, b.const(float(est.radius)), predicate="le")


def _radius_weights(est: Any, b: Builder, distances: Value, within: Value) -> Value:
    """Each training point's weight ``[N, M]``: 0 outside the radius."""
    weights = _weights(est, b, distances)
    ones = b.const(1.0)
    return b.call("select", within, ones if weights is None else weights, b.const(0.0))


@lowers(RadiusNeighborsClassifier)
def _radius_classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    _check(est)
    distances, within = _within(est, b, x)
    weights = _radius_weights(est, b, distances, within)
    classes, codes = _outputs_of(est)
    votes = []
    for o, c in enumerate(classes):
        one_hot = (codes[:, o][:, None] == np.arange(len(c))[None, :]).astype(np.float64)
        votes.append(b.call("matmul", weights, b.const(one_hot)))
    outlier = est.outlier_label_
    fallback = [c[0] for c in classes] if outlier is None else list(outlier)
    return _classify(b, classes, votes, fallback)


@lowers(RadiusNeighborsRegressor)
def _radius_regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    _check(est)
    distances, within = _within(est, b, x)
    y, single = _targets(est)
    # a row with no neighbour divides 0 by 0: NaN, as scikit-learn predicts
    return {"prediction": _weighted_mean(b, _radius_weights(est, b, distances, within), b.const(y), single)}


def _scatter(b: Builder, values: Value | None, index: Value, width: int) -> Value:
    """A dense ``[N, width]`` matrix holding ``values[:, j]`` (or 1) at column ``index[:, j]``, 0 elsewhere."""
    hit = b.call("compare", b.call("expand_dims", index, axis=2), b.const(np.arange(width, dtype=np.int64)),
                 predicate="eq")
    placed = b.call("cast", hit, to=DType.f64)
    if values is not None:
        placed = b.call("mul", placed, b.call("expand_dims", values, axis=2))
    return b.call("reduce", placed, kind="sum", axis=1, keepdims=False)


@lowers(KNeighborsTransformer)
def _k_transformer(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    _check(est)
    distance_mode = est.mode == "distance"
    # transform asks for one more neighbour in distance mode (the row itself, when it was fitted)
    distances, index = nearest(est, b, x, est.n_neighbors + int(distance_mode))
    return {"transform": _scatter(b, distances if distance_mode else None, index, est.n_samples_fit_)}


@lowers(RadiusNeighborsTransformer)
def _radius_transformer(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    _check(est)
    distances, within = _within(est, b, x)
    if est.mode == "distance":
        return {"transform": b.call("select", within, distances, b.const(0.0))}
    return {"transform": b.call("cast", within, to=DType.f64)}


@lowers(LocalOutlierFactor)
def _local_outlier_factor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    _check(est)
    k = est.n_neighbors_
    distances, index = nearest(est, b, x, k)
    # reach-dist(x, o) = max(d(x, o), k-distance(o)); lrd(x) = 1 / (mean reach-dist + 1e-10)
    k_distance = b.call("gather", b.const(np.asarray(est._distances_fit_X_, np.float64)[:, k - 1]), index, axis=0)
    reach = b.call("reduce", b.call("maximum", distances, k_distance), kind="mean", axis=1, keepdims=True)
    lrd = b.call("div", b.const(1.0), b.call("add", reach, b.const(1e-10)))
    neighbour_lrd = b.call("gather", b.const(np.asarray(est._lrd, np.float64)), index, axis=0)
    ratios = b.call("reduce", b.call("div", neighbour_lrd, lrd), kind="mean", axis=1, keepdims=False)
    score = b.call("neg", ratios)
    decision = b.call("sub", score, b.const(float(est.offset_)))
    inlier = b.call("compare", decision, b.const(0.0), predicate="ge")
    return {"label": outlier_labels(b, inlier), "decision": decision, "score": score}


PRECHECKS.update(dict.fromkeys((KNeighborsClassifier, KNeighborsRegressor, RadiusNeighborsClassifier,
                                RadiusNeighborsRegressor, KNeighborsTransformer, RadiusNeighborsTransformer,
                                LocalOutlierFactor), _check))

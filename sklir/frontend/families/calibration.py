"""Calibration (issue 7): IsotonicRegression and CalibratedClassifierCV over any supported classifier.

IsotonicRegression predicts scipy's linear interpolation between its thresholds as
``interp1d`` computes it: segment ``hi = clip(#(thresholds < x), 1, T - 1)``, then
``slope[hi - 1] * (x - x_lo) + y_lo`` with each segment's slope from the fitted tables (a
float64 constant, the value scipy computes). ``out_of_bounds='clip'`` clips ``x`` to the fitted
range first; ``'nan'`` gives NaN outside it, and so does ``'raise'``, where scikit-learn raises.

CalibratedClassifierCV averages its calibrated classifiers' probabilities. Each reads its
fitted classifier's ``decision`` (or, without one, ``probabilities``; the positive column for two
classes) and maps every class's column through its calibrator: ``sigmoid``
``1 / (1 + exp(a s + b))`` or ``isotonic`` (the interpolation above, clipped); two classes give
``[1 - p, p]``, more are normalised to sum 1 (uniform where every calibrator gives 0).
``temperature`` is the softmax of ``beta`` times the logits (``(-s, s)`` for a two-class decision,
``log(p + 1e-12)`` for probabilities); scikit-learn also takes a decision matrix whose every row
lies in ``[0, 1]`` and sums to 1 over the whole batch for probabilities, a check on the batch the
artefact does not repeat. ``label`` is the first class of highest probability.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.isotonic import IsotonicRegression

from sklir.frontend.frame import Input
from sklir.frontend.outputs import column, labels_from_scores, same_for_every_row
from sklir.frontend.registry import INPUT_WIDTHS, lower_into, lowers, read_by_members
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.types import DType


def interpolate(b: Builder, est: Any, x: Value) -> Value:
    """``est.predict`` of a fitted IsotonicRegression for the values ``x`` (``[N]``)."""
    xs = np.asarray(est.X_thresholds_, np.float64)
    ys = np.asarray(est.y_thresholds_, np.float64)
    if est.out_of_bounds == "clip":
        x = b.call("clip", x, min=float(est.X_min_), max=float(est.X_max_))
    if len(xs) == 1:  # scikit-learn's constant function: the one value everywhere
        return same_for_every_row(b, b.call("expand_dims", x, axis=1), float(ys[0]))
    column = b.call("expand_dims", x, axis=1)
    below = b.call("cast", b.call("compare", column, b.const(xs.reshape(1, -1)), predicate="gt"), to=DType.i64)
    hi = b.call("reduce", below, kind="sum", axis=1, keepdims=False)
    hi = b.call("minimum", b.call("maximum", hi, b.const(np.array(1, np.int64))),
                b.const(np.array(len(xs) - 1, np.int64)))
    lo = b.call("sub", hi, b.const(np.array(1, np.int64)))
    slopes = (ys[1:] - ys[:-1]) / (xs[1:] - xs[:-1])
    at = {name: b.call("gather", b.const(table), lo, axis=0)
          for name, table in (("slope", slopes), ("x", xs[:-1]), ("y", ys[:-1]))}
    out = b.call("add", b.call("mul", at["slope"], b.call("sub", x, at["x"])), at["y"])
    if est.out_of_bounds != "clip":
        outside = b.call("logical_or", b.call("compare", x, b.const(float(xs[0])), predicate="lt"),
                         b.call("compare", x, b.const(float(xs[-1])), predicate="gt"))
        out = b.call("select", outside, b.const(np.nan), out)
    return out


INPUT_WIDTHS[IsotonicRegression] = lambda est: 1  # fitted on a 1-d array it records no width


@lowers(IsotonicRegression)
def _isotonic(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    return {"prediction": interpolate(b, est, b.call("squeeze", x, axis=1))}


def _calibrated(b: Builder, calibrated: Any, x: Input, n_classes: int) -> Value:
    """One ``_CalibratedClassifier``'s ``predict_proba``, ``[N, classes]``."""
    base = calibrated.estimator
    outputs = lower_into(base, b, x)
    decision = outputs.get("decision")
    scores = decision if decision is not None else outputs["probabilities"]
    if calibrated.method == "temperature":
        if decision is None:
            logits = b.call("log", b.call("add", scores, b.const(1e-12)))
        elif len(scores.type.shape) == 1:
            as_column = b.call("expand_dims", scores, axis=1)
            logits = b.call("concat", b.call("neg", as_column), as_column, axis=1)
        else:
            logits = scores
        return b.call("softmax", b.call("mul", logits, b.const(float(calibrated.calibrators[0].beta_))), axis=1)
    if scores.type.rank == 1:
        columns = [scores]  # a two-class decision
    elif decision is None and n_classes == 2:
        columns = [column(b, scores, 1)]  # the positive class's probability
    else:
        columns = [column(b, scores, k) for k in range(scores.type.static_dim(1))]
    positions = np.searchsorted(calibrated.classes, base.classes_)
    if n_classes == 2:
        positions = positions[:1] + 1
    per_class: dict[int, Value] = {}
    for position, values, calibrator in zip(positions, columns, calibrated.calibrators, strict=False):
        if calibrated.method == "isotonic":
            per_class[int(position)] = interpolate(b, calibrator, values)
        else:
            linear = b.call("add", b.call("mul", values, b.const(float(calibrator.a_))), b.const(float(calibrator.b_)))
            per_class[int(position)] = b.call("sigmoid", b.call("neg", linear))
    if n_classes == 2:
        p = per_class[1]
        proba = b.call("concat", b.call("expand_dims", b.call("sub", b.const(1.0), p), axis=1),
                       b.call("expand_dims", p, axis=1), axis=1)
    else:
        # a class the fold's classifier never saw (the scores give the rows: x may be a frame)
        zero = same_for_every_row(b, columns[0] if columns[0].type.rank == 2 else
                                  b.call("expand_dims", columns[0], axis=1), 0.0)
        proba = b.call("concat", *(b.call("expand_dims", per_class.get(k, zero), axis=1) for k in range(n_classes)),
                       axis=1)
        total = b.call("reduce", proba, kind="sum", axis=1, keepdims=True)
        empty = b.call("compare", total, b.const(0.0), predicate="eq")
        proba = b.call("select", empty, b.const(np.full((1, n_classes), 1.0 / n_classes)),
                       b.call("div", proba, b.call("select", empty, b.const(1.0), total)))
    # scikit-learn rounds a probability a hair above 1 (at most 1e-5) down to 1
    hair = b.call("logical_and", b.call("compare", proba, b.const(1.0), predicate="gt"),
                  b.call("compare", proba, b.const(1.0 + 1e-5), predicate="le"))
    return b.call("select", hair, b.const(1.0), proba)


@lowers(CalibratedClassifierCV,
        frames=read_by_members(lambda est: [c.estimator for c in est.calibrated_classifiers_]))
def _calibrated_cv(est: Any, b: Builder, x: Input) -> dict[str, Value]:
    n_classes = len(est.classes_)
    members = [_calibrated(b, c, x, n_classes) for c in est.calibrated_classifiers_]
    total = members[0]
    for member in members[1:]:
        total = b.call("add", total, member)
    proba = total if len(members) == 1 else b.call("div", total, b.const(float(len(members))))
    return {"label": labels_from_scores(b, proba, est.classes_), "probabilities": proba}

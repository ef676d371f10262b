"""scikeras's KerasClassifier and KerasRegressor (issue 8), as steps of a scikit-learn pipeline.

Imported only when such a wrapper is lowered (the registry imports it on first sight of a
scikeras class). The wrapped network is the Keras frontend's; the wrapper adds what scikeras does
around ``model_.predict``: its feature encoder first (a transformer, the identity by default), then
its target encoder's rule. A classifier's ``label`` is scikeras's ``argmax`` over the classes (one
sigmoid unit read as ``[1 - p, p]``, so the second class where ``p > 0.5``) and ``probabilities``
what ``predict_proba`` returns; a regressor's ``prediction`` has the fitted target's shape.
Multilabel and one-hot targets are refused by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scikeras.wrappers import KerasClassifier, KerasRegressor

from sklir.frontend import keras_frontend
from sklir.frontend.registry import lowers, refuse, transform_into
from sklir.ir.builder import Builder
from sklir.ir.core import Value

TARGET_TYPES = ("binary", "multiclass")


def _features(est: Any, b: Builder, x: Value) -> Value:
    encoder = est.feature_encoder_
    if type(encoder).__name__ == "FunctionTransformer" and encoder.func is None:
        return x  # scikeras's default: the identity
    return transform_into(encoder, b, x)


@lowers(KerasClassifier)
def _classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    target = est.target_encoder_._target_type
    if target not in TARGET_TYPES:
        raise refuse(est, "target type", target, TARGET_TYPES)
    y = keras_frontend.network(est.model_, b, _features(est, b, x))
    outputs = keras_frontend.classifier_outputs(b, y, np.asarray(est.classes_), "sigmoid", est.model_.name)
    if "decision" in outputs:  # several units: scikeras reads them as probabilities whatever they are
        outputs["probabilities"] = outputs.pop("decision")
    return outputs


@lowers(KerasRegressor)
def _regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    y = keras_frontend.network(est.model_, b, _features(est, b, x))
    single = len(est.target_encoder_._y_shape) == 1
    return {"prediction": b.call("squeeze", y, axis=1) if single else y}

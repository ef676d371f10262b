"""MLPClassifier and MLPRegressor (issue 7): dense layers with scikit-learn's activations.

Each layer is ``activation(x @ W + b)`` (:func:`~sklir.frontend.activations.dense`, the lowering
the Keras frontend's Dense layer shares); hidden layers use ``activation`` (identity, logistic, tanh, relu) and the
last ``out_activation_``: softmax (multiclass), logistic (binary and multilabel) or identity
(regression; exp under the poisson loss). A classifier's label follows scikit-learn's label
binarizer: the first class of highest probability, or for one output unit
``classes_[p > 0.5]``; ``probabilities`` are the softmax, or ``[1 - p, p]``. Multilabel
networks give an indicator ``label`` (``p > 0.5``).
"""

from __future__ import annotations

from typing import Any

from sklearn.neural_network import MLPClassifier, MLPRegressor

from sklir.frontend.activations import dense
from sklir.frontend.outputs import binary_probabilities, labels_from_index, labels_from_scores
from sklir.frontend.registry import lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.types import DType

# scikit-learn's hidden and output activations (exp: MLPRegressor's output under the poisson loss)
MLP_ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "softmax", "exp")


def _network(est: Any, b: Builder, x: Value) -> Value:
    for name in (est.activation, est.out_activation_):
        if name not in MLP_ACTIVATIONS:
            raise refuse(est, "activation", name, MLP_ACTIVATIONS)
    last = len(est.coefs_) - 1
    for i, (weights, bias) in enumerate(zip(est.coefs_, est.intercepts_, strict=True)):
        x = dense(b, x, weights, bias, est.out_activation_ if i == last else est.activation)
    return x


@lowers(MLPRegressor)
def _regressor(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    y = _network(est, b, x)
    return {"prediction": b.call("squeeze", y, axis=1) if est.n_outputs_ == 1 else y}


@lowers(MLPClassifier)
def _classifier(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    p = _network(est, b, x)
    above = b.call("compare", p, b.const(0.5), predicate="gt")
    if est._label_binarizer.y_type_.startswith("multilabel"):
        return {"label": b.call("cast", above, to=DType.i64), "probabilities": p}
    if est.n_outputs_ == 1:  # one logistic unit: the positive class's probability
        label = labels_from_index(b, b.call("cast", b.call("squeeze", above, axis=1), to=DType.i64), est.classes_)
        return {"label": label, "probabilities": binary_probabilities(b, b.call("squeeze", p, axis=1))}
    return {"label": labels_from_scores(b, p, est.classes_), "probabilities": p}

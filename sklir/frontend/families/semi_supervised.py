"""LabelPropagation and LabelSpreading (issue 9): the fitted label distributions of the training
rows, weighted by the kernel from each new row and normalised.

- ``kernel="rbf"``: ``rbf(x, X_) @ label_distributions_``, each row divided by its sum;
- ``kernel="knn"``: the sum of the label distributions of the ``n_neighbors`` nearest training
  rows (equal distances lower index first), divided by its sum.

``label`` is the class of highest probability, the first on ties, as ``argmax`` takes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.semi_supervised import LabelPropagation, LabelSpreading

from sklir.frontend.families.neighbours import nearest
from sklir.frontend.kernels import kernel
from sklir.frontend.outputs import labels_from_scores
from sklir.frontend.registry import lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value


def _rbf_weights(est: Any, b: Builder, x: Value, distributions: np.ndarray) -> Value:
    weights = kernel(b, x, np.asarray(est.X_, np.float64), "rbf", gamma=float(est.gamma))
    return b.call("matmul", weights, b.const(distributions))


def _knn_weights(est: Any, b: Builder, x: Value, distributions: np.ndarray) -> Value:
    _, index = nearest(est.nn_fit, b, x, int(est.n_neighbors))
    return b.call("reduce", b.call("gather", b.const(distributions), index, axis=0), kind="sum", axis=1,
                  keepdims=False)


# kernel -> each row's unnormalised class scores
SCORES: dict[str, Callable[[Any, Builder, Value, np.ndarray], Value]] = {"rbf": _rbf_weights, "knn": _knn_weights}


@lowers(LabelPropagation, LabelSpreading)
def _label_propagation(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    if est.kernel not in SCORES:
        raise refuse(est, "kernel", est.kernel, SCORES)
    scores = SCORES[est.kernel](est, b, x, np.asarray(est.label_distributions_, np.float64))
    proba = b.call("div", scores, b.call("reduce", scores, kind="sum", axis=1, keepdims=True))
    return {"label": labels_from_scores(b, proba, est.classes_), "probabilities": proba}

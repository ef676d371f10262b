"""The output contract every classifier shares: ``label``, ``probabilities``, ``decision``.

``label`` is what ``predict`` returns (the class values themselves), ``probabilities`` what
``predict_proba`` returns and ``decision`` what ``decision_function`` returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sklir.frontend.registry import classes_tensor_dtype
from sklir.ir.builder import Builder
from sklir.ir.core import Tensor, Value
from sklir.ir.types import DType


def labels_from_index(b: Builder, index: Value, classes: Any) -> Value:
    """``classes[index]``: the labels for class indices."""
    classes = np.asarray(classes)
    dtype = classes_tensor_dtype(classes)
    values = classes.astype(str).astype(object) if dtype is DType.str else classes
    return b.call("label_lookup", index, classes=Tensor(values, dtype))


def labels_from_scores(b: Builder, scores: Value, classes: Any) -> Value:
    """Labels for a ``[N, C]`` score matrix: the class with the highest score (first on ties)."""
    return labels_from_index(b, b.call("argmax", scores, axis=1), classes)


def labels_from_binary_decision(b: Builder, decision: Value, classes: Any, predicate: str = "gt") -> Value:
    """Labels for a 1-d binary decision: ``classes[1]`` where ``decision > 0`` (or where
    ``decision <predicate> 0``: gradient boosting uses ``>=``), else ``classes[0]``."""
    zero = b.const(np.zeros((), dtype=np.float64)) if decision.type.dtype is DType.f64 else \
        b.const(np.zeros((), dtype=np.float32), DType.f32)
    positive = b.call("compare", decision, zero, predicate=predicate)
    return labels_from_index(b, b.call("cast", positive, to=DType.i64), classes)


def binary_probabilities(b: Builder, p1: Value) -> Value:
    """``[1 - p, p]`` as ``[N, 2]`` from the positive-class probability ``p`` of shape ``[N]``."""
    p1 = b.call("expand_dims", p1, axis=1)
    one = b.const(np.ones((), dtype=np.float64))
    return b.call("concat", b.call("sub", one, p1), p1, axis=1)


def column(b: Builder, scores: Value, k: int) -> Value:
    """``scores[:, k]`` as ``[N]``: one class's score (a positive-class probability, ...)."""
    return b.call("squeeze", b.call("gather", scores, b.const(np.array([k], np.int64)), axis=1), axis=1)


def class_difference(b: Builder, scores: Value) -> Value:
    """``scores[:, 1] - scores[:, 0]``: a two-class model's decision from its ``[N, 2]`` class scores."""
    return b.call("sub", column(b, scores, 1), column(b, scores, 0))


def outlier_labels(b: Builder, inlier: Value) -> Value:
    """An outlier detector's ``label``: 1 where ``inlier``, -1 elsewhere."""
    return b.call("select", inlier, b.const(np.array(1, np.int64)), b.const(np.array(-1, np.int64)))


def same_for_every_row(b: Builder, x: Value, value: Any) -> Value:
    """``value`` for each row of ``x`` (``[N]``): a lookup at index 0, the argmax of one column,
    which is 0 whatever the row holds (NaN too)."""
    first = b.call("gather", x, b.const(np.zeros(1, np.int64)), axis=1)
    return labels_from_index(b, b.call("argmax", first, axis=1), np.array([value]))


def labels_of_outputs(b: Builder, indices: list[Value], tables: list[Any]) -> Value:
    """``label`` of a model of one or several outputs: output ``o``'s index ``[N]`` into its own
    label table ``tables[o]``. Several outputs read one table of every output's labels (TFLite
    joins no strings), each index shifted to its output's part: ``[N, outputs]``."""
    starts = np.cumsum([0] + [len(t) for t in tables[:-1]])
    if len(indices) == 1:
        return labels_from_index(b, indices[0], np.asarray(tables[0]))
    shifted = [b.call("expand_dims", index if start == 0 else b.call("add", index, b.const(np.array(start, np.int64))),
                      axis=1) for index, start in zip(indices, starts, strict=True)]
    return labels_from_index(b, b.call("concat", *shifted, axis=1), np.concatenate([np.asarray(t) for t in tables]))


def ovr_decision(b: Builder, votes: Value, decision: Value, pairs: np.ndarray, n: int) -> Value:
    """scikit-learn's ``_ovr_decision_function`` for one-vs-one models (SVC, OneVsOneClassifier):
    ``votes`` plus each class's summed confidence ``s`` as ``s / (3 (|s| + 1))``; ``decision`` is
    each pair's value, positive for its first class (``pairs`` ``[P, 2]``)."""
    signs = np.zeros((len(pairs), n))
    signs[np.arange(len(pairs)), pairs[:, 0]] = 1.0
    signs[np.arange(len(pairs)), pairs[:, 1]] = -1.0
    total = b.call("matmul", decision, b.const(signs))
    squashed = b.call("div", total, b.call("mul", b.call("add", b.call("abs", total), b.const(1.0)), b.const(3.0)))
    return b.call("add", votes, squashed)


def label_index(b: Builder, label: Value) -> tuple[Value, np.ndarray]:
    """The class index ``[N]`` behind a ``label`` a converter returned (the operand of its
    ``label_lookup``) and its label table: what a composition reads to combine its members'
    predictions by class (MultiOutputClassifier's columns)."""
    from sklir.errors import IRError
    from sklir.ir.dialects.tensor import LabelLookup

    for node in reversed(b.module.nodes):
        if label in node.results:
            if isinstance(node.op, LabelLookup):
                return node.operands[0], node.op.classes.array
            break
    raise IRError("a member's label is not a lookup of its classes")

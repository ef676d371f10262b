"""Affine maps ``x @ W + b``: the building block of linear models and linear preprocessing.

Converters emit affine steps with these helpers so that the ``fold-affine`` pass sees one shape of
code: ``matmul`` by a constant matrix, ``add``/``sub``/``mul``/``div`` by constant vectors broadcast over
the last axis, and ``gather`` of constant column indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sklir.ir.builder import Builder
from sklir.ir.core import Value


def affine(b: Builder, x: Value, weights: Any, bias: Any = None) -> Value:
    """``x @ weights + bias`` with ``weights`` of shape ``[n_in, n_out]`` (a 1-d weight gives ``[N, 1]``)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 1:
        w = w[:, None]
    y = b.call("matmul", x, b.const(w))
    if bias is not None:
        bias_arr = np.broadcast_to(np.asarray(bias, dtype=np.float64).reshape(-1), (w.shape[1],))
        if np.any(bias_arr != 0):
            y = b.call("add", y, b.const(np.array(bias_arr)))
    return y


def centred_affine(b: Builder, x: Value, weights: Any, bias: Any = None) -> Value:
    """``x @ weights + bias`` less a per-row constant: each input's weights and the bias centred
    over the output columns. A softmax or an argmax over the outputs does not change, but the
    float32 sums are of smaller terms (class scores that reach hundreds or thousands in magnitude
    would otherwise lose about 1e-4 to rounding)."""
    w = np.asarray(weights, dtype=np.float64)
    c = np.zeros(w.shape[1]) if bias is None else np.asarray(bias, dtype=np.float64)
    return affine(b, x, w - w.mean(axis=1, keepdims=True), c - c.mean())


def columnwise(b: Builder, x: Value, op: str, vector: Any) -> Value:
    """``op(x, vector)`` for ``op`` in add, sub, mul, div, with ``vector`` broadcast over rows."""
    return b.call(op, x, b.const(np.asarray(vector, dtype=np.float64).reshape(-1)))


def select_columns(b: Builder, x: Value, indices: Any) -> Value:
    """``x[:, indices]`` as ``gather`` on axis 1; ``x`` itself when every column is kept in order."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if np.array_equal(idx, np.arange(x.type.static_dim(1))):
        return x
    return b.call("gather", x, b.const(idx), axis=1)


def side_by_side(b: Builder, values: list[Value]) -> Value:
    """``values`` (``[N, k_i]`` each) as one ``[N, sum k_i]``: a ``concat`` on axis 1, or the single
    value itself."""
    return b.call("concat", *values, axis=1) if len(values) > 1 else values[0]


def squared_norm_of_affine(b: Builder, x: Value, centre: Any, factor: Any) -> Value:
    """``|(x - centre) @ factor|^2`` per row, ``[N, 1]``: a quadratic form ``(x - c) P (x - c)``
    with ``P = factor @ factor.T``, written on the centred input so that float32 keeps its digits
    (Mahalanobis distances of mixtures and covariance estimators)."""
    projected = affine(b, columnwise(b, x, "sub", centre), factor)
    return b.call("reduce", b.call("square", projected), kind="sum", axis=1, keepdims=True)

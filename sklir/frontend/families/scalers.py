"""Scalers and row-wise preprocessing: StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler,
Normalizer, Binarizer.

The four column scalers are affine: each is a short list of columnwise steps (in scikit-learn's
own operation order, which makes them bit-exact) and an optional clip. Normalizer and Binarizer
are not affine and use reductions and comparisons.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import Binarizer, MaxAbsScaler, MinMaxScaler, Normalizer, RobustScaler, StandardScaler

from sklir.frontend.affine import columnwise
from sklir.frontend.registry import lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.types import DType

# (columnwise op, vector or None when the step is disabled)
Step = tuple[str, Any]

# scaler class -> its columnwise steps, in scikit-learn's order
AFFINE_STEPS: dict[type, Callable[[Any], list[Step]]] = {
    StandardScaler: lambda e: [("sub", e.mean_ if e.with_mean else None), ("div", e.scale_ if e.with_std else None)],
    MinMaxScaler: lambda e: [("mul", e.scale_), ("add", e.min_)],
    MaxAbsScaler: lambda e: [("div", e.scale_)],
    RobustScaler: lambda e: [("sub", e.center_), ("div", e.scale_)],
}

# scaler class -> the (min, max) its output is clipped to, or None
CLIP_RANGE: dict[type, Callable[[Any], tuple[float, float] | None]] = {
    StandardScaler: lambda e: None,
    MinMaxScaler: lambda e: (float(e.feature_range[0]), float(e.feature_range[1])) if e.clip else None,
    MaxAbsScaler: lambda e: (-1.0, 1.0) if getattr(e, "clip", False) else None,
    RobustScaler: lambda e: None,
}


@lowers(*AFFINE_STEPS)
def lower_scaler(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """A column scaler: its columnwise steps, then its clip if enabled."""
    for op, vector in AFFINE_STEPS[type(est)](est):
        if vector is not None:
            x = columnwise(b, x, op, vector)
    bounds = CLIP_RANGE[type(est)](est)
    if bounds is not None:
        x = b.call("clip", x, min=bounds[0], max=bounds[1])
    return {"transform": x}


def _scalar(b: Builder, value: float) -> Value:
    return b.const(np.asarray(value, dtype=np.float64))


def _row_sum(b: Builder, v: Value) -> Value:
    return b.call("reduce", v, kind="sum", axis=1, keepdims=True)


# norm name -> the per-row norm as [N, 1], as sklearn.preprocessing.normalize computes it
ROW_NORMS: dict[str, Callable[[Builder, Value], Value]] = {
    "l1": lambda b, x: _row_sum(b, b.call("abs", x)),
    "l2": lambda b, x: b.call("sqrt", _row_sum(b, b.call("square", x))),
    "max": lambda b, x: b.call("reduce", b.call("abs", x), kind="max", axis=1, keepdims=True),
}


def normalized(b: Builder, x: Value, norm: str = "l2") -> Value:
    """``sklearn.preprocessing.normalize(x, norm)``: each row divided by its norm; a norm below
    ``10 * eps`` counts as 1 (zero rows stay zero). Cosine kernels read it too."""
    size = ROW_NORMS[norm](b, x)
    tiny = b.call("compare", size, _scalar(b, 10 * float(np.finfo(np.float64).eps)), predicate="lt")
    return b.call("div", x, b.call("select", tiny, _scalar(b, 1.0), size))


@lowers(Normalizer)
def lower_normalizer(est: Normalizer, b: Builder, x: Value) -> dict[str, Value]:
    if est.norm not in ROW_NORMS:
        raise refuse(est, "norm", est.norm, ROW_NORMS)
    return {"transform": normalized(b, x, est.norm)}


@lowers(TfidfTransformer)
def lower_tfidf(est: TfidfTransformer, b: Builder, x: Value) -> dict[str, Value]:
    """Counts to tf-idf: ``1 + log(tf)`` for the nonzero counts with ``sublinear_tf`` (a zero
    count stays 0), times ``idf_``, then ``normalize`` by ``norm``."""
    if est.sublinear_tf:
        nonzero = b.call("compare", x, _scalar(b, 0.0), predicate="ne")
        logged = b.call("add", b.call("log", b.call("select", nonzero, x, _scalar(b, 1.0))), _scalar(b, 1.0))
        x = b.call("select", nonzero, logged, _scalar(b, 0.0))
    if est.use_idf:
        x = b.call("mul", x, b.const(np.asarray(est.idf_, np.float64)))
    if est.norm is None:
        return {"transform": x}
    if est.norm not in ROW_NORMS:
        raise refuse(est, "norm", est.norm, [*ROW_NORMS, None])
    return {"transform": normalized(b, x, est.norm)}


@lowers(Binarizer)
def lower_binarizer(est: Binarizer, b: Builder, x: Value) -> dict[str, Value]:
    """1.0 where ``x > threshold`` (strictly), else 0.0.

    The threshold stays exact here; ``to-f32`` rounds comparison bounds so f32 decisions match.
    """
    above = b.call("compare", x, _scalar(b, float(est.threshold)), predicate="gt")
    return {"transform": b.call("cast", above, to=DType.f64)}

"""Kernels and distances against a model's stored vectors: the one way converters emit them.

SVMs (support vectors), neighbours (training points) and centroid models all read
:class:`~sklir.ir.dialects.ml.Kernel`; this helper fills its attributes that a metric ignores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sklir.ir.builder import Builder
from sklir.ir.core import Tensor, Value
from sklir.ir.dialects.ml import Kernel
from sklir.ir.types import DType


def kernel(b: Builder, x: Value, vectors: Any, metric: str, gamma: float = 0.0, coef0: float = 0.0,
           degree: float = 3.0, p: float = 2.0) -> Value:
    """``metric`` between every row of ``x`` and every row of ``vectors``: ``[N, len(vectors)]``."""
    op = Kernel(vectors=Tensor(np.asarray(vectors, np.float64), DType.f64), metric=metric, gamma=float(gamma),
                coef0=float(coef0), degree=float(degree), p=float(p))
    (out,) = b.apply(op, x)
    return out

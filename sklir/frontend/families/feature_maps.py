"""Column-wise nonlinear preprocessing (issue 9): PowerTransformer, KBinsDiscretizer, KernelCenterer.

- PowerTransformer: scipy's Yeo-Johnson or Box-Cox per column with the fitted ``lambdas_``, in the
  accurate forms scipy uses (``expm1(l * log1p(x)) / l`` rather than ``((1 + x)^l - 1) / l``;
  ``log1p`` where ``l`` is 0), then the fitted standardisation when ``standardize``.
- KBinsDiscretizer: each value's bin, the number of inner edges at or below it (``searchsorted``
  on the right), as a float code (``ordinal``) or one-hot per feature (``onehot``, dense).
- KernelCenterer: ``K - K_fit_rows_ - K.mean(axis=1) + K_fit_all_`` for a kernel matrix ``K``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.preprocessing import KBinsDiscretizer, KernelCenterer, PowerTransformer

from sklir.frontend.affine import columnwise
from sklir.frontend.outputs import same_for_every_row
from sklir.frontend.registry import lowers, transform_into
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.types import DType


def _power(b: Builder, logged: Value, lambdas: np.ndarray) -> Value:
    """``expm1(l * logged) / l`` column-wise, ``logged`` itself in the columns where ``l`` is 0:
    ``(u^l - 1) / l`` from ``logged = log(u)``, its limit at 0 included."""
    zero = lambdas == 0
    safe = np.where(zero, 1.0, lambdas)
    powered = b.call("div", b.call("expm1", columnwise(b, logged, "mul", safe)), b.const(safe))
    return b.call("select", b.const(zero.reshape(1, -1)), logged, powered) if zero.any() else powered


def _yeo_johnson(b: Builder, x: Value, lambdas: np.ndarray) -> Value:
    zero = b.const(0.0)
    positive = b.call("compare", x, zero, predicate="ge")
    above = _power(b, b.call("log1p", b.call("maximum", x, zero)), lambdas)
    below = b.call("neg", _power(b, b.call("log1p", b.call("maximum", b.call("neg", x), zero)), 2.0 - lambdas))
    return b.call("select", positive, above, below)


def _box_cox(b: Builder, x: Value, lambdas: np.ndarray) -> Value:
    # scipy's boxcox: expm1(l * log(x)) / l, log(x) where l is 0 (x > 0, which fit and transform require)
    return _power(b, b.call("log", x), lambdas)


METHODS = {"yeo-johnson": _yeo_johnson, "box-cox": _box_cox}


@lowers(PowerTransformer)
def _power_transformer(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    out = METHODS[est.method](b, x, np.asarray(est.lambdas_, np.float64))
    if est.standardize:
        out = transform_into(est._scaler, b, out)
    return {"transform": out}


@lowers(KBinsDiscretizer)
def _k_bins(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    columns = []
    for j, edges in enumerate(est.bin_edges_):
        inner = np.asarray(edges, np.float64)[1:-1]
        column = b.call("gather", x, b.const(np.array([j], np.int64)), axis=1)  # [N, 1]
        if len(inner) == 0:  # one bin: code 0 for every row
            code = b.call("expand_dims", same_for_every_row(b, x, 0.0), axis=1)
        else:
            at_or_below = b.call("compare", column, b.const(inner.reshape(1, -1)), predicate="ge")
            code = b.call("reduce", b.call("cast", at_or_below, to=DType.f64), kind="sum", axis=1, keepdims=True)
        if est.encode == "ordinal":
            columns.append(code)
        else:
            bins = np.arange(int(est.n_bins_[j]), dtype=np.float64).reshape(1, -1)
            columns.append(b.call("cast", b.call("compare", code, b.const(bins), predicate="eq"), to=DType.f64))
    return {"transform": b.call("concat", *columns, axis=1) if len(columns) > 1 else columns[0]}


def centred_kernel(b: Builder, k: Value, centerer: Any) -> Value:
    """A fitted KernelCenterer's ``transform`` of the kernel matrix ``k`` ``[N, M]`` (KernelPCA's too)."""
    rows = np.asarray(centerer.K_fit_rows_, np.float64)
    mean = b.call("div", b.call("reduce", k, kind="sum", axis=1, keepdims=True), b.const(float(len(rows))))
    centred = b.call("sub", columnwise(b, k, "sub", rows), mean)
    return b.call("add", centred, b.const(float(centerer.K_fit_all_)))


@lowers(KernelCenterer)
def _kernel_centerer(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    return {"transform": centred_kernel(b, x, est)}

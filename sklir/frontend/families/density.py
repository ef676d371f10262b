"""KernelDensity (issue 9): ``score_samples``, the log of the (weighted) mean of the kernel at
every training row, normalised as scikit-learn normalises it.

scikit-learn sums the kernels over its tree with ``atol`` and ``rtol`` (0 by default: exact); the
lowering sums them over every training row, which is the same number. Gaussian and exponential
kernels are summed in log space (``logsumexp``: a row far from every training row keeps its
log density instead of ``log(0)``); the compact kernels (tophat, epanechnikov, linear, cosine)
are summed as they are, and ``log(0) = -inf`` beyond every training row (where scikit-learn's
tree, bounding each node, leaves its rounding, a log density near -36). The
normalisation is scikit-learn's own ``kernel_norm`` for the bandwidth and dimension. Euclidean
distances only: the normalisation assumes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.neighbors import KernelDensity

from sklir.frontend.kernels import kernel
from sklir.frontend.registry import lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value


def _log_gaussian(b: Builder, squared: Value, h: float) -> Value:
    return b.call("mul", squared, b.const(-0.5 / h**2))


def _log_exponential(b: Builder, squared: Value, h: float) -> Value:
    return b.call("mul", b.call("sqrt", squared), b.const(-1.0 / h))


def _inside(b: Builder, squared: Value, h: float, value: Value) -> Value:
    """``value`` where the distance is below ``h``, else 0."""
    return b.call("select", b.call("compare", squared, b.const(h * h), predicate="lt"), value, b.const(0.0))


# kernel -> (log K from squared distances, True) or (K itself, False)
KERNELS: dict[str, tuple[Callable[[Builder, Value, float], Value], bool]] = {
    "gaussian": (_log_gaussian, True),
    "exponential": (_log_exponential, True),
    "tophat": (lambda b, d2, h: _inside(b, d2, h, b.const(1.0)), False),
    "epanechnikov": (lambda b, d2, h: _inside(b, d2, h, b.call("sub", b.const(1.0),
                                                                  b.call("mul", d2, b.const(1 / h**2)))), False),
    "linear": (lambda b, d2, h: _inside(b, d2, h, b.call("sub", b.const(1.0),
                                                            b.call("mul", b.call("sqrt", d2), b.const(1 / h)))), False),
    "cosine": (lambda b, d2, h: _inside(b, d2, h, b.call("cos", b.call("mul", b.call("sqrt", d2),
                                                                        b.const(np.pi / (2 * h))))), False),
}


@lowers(KernelDensity)
def _kernel_density(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    from sklearn.neighbors._ball_tree import kernel_norm

    if est.kernel not in KERNELS:
        raise refuse(est, "kernel", est.kernel, sorted(KERNELS))
    if est.metric != "euclidean":
        raise refuse(est, "metric", est.metric, ["euclidean"])
    data = np.asarray(est.tree_.data, np.float64)
    weights = est.tree_.sample_weight
    weights = np.ones(len(data)) if weights is None else np.asarray(weights, np.float64)
    h = float(est.bandwidth_)
    squared = kernel(b, x, data, "sqeuclidean")
    at, in_log_space = KERNELS[est.kernel]
    if in_log_space:
        logged = b.call("add", at(b, squared, h), b.const(np.log(weights)))
        top = b.call("reduce", logged, kind="max", axis=1, keepdims=True)
        total = b.call("reduce", b.call("exp", b.call("sub", logged, top)), kind="sum", axis=1, keepdims=False)
        log_sum = b.call("add", b.call("log", total), b.call("squeeze", top, axis=1))
    else:
        total = b.call("reduce", b.call("mul", at(b, squared, h), b.const(weights)), kind="sum", axis=1,
                       keepdims=False)
        log_sum = b.call("log", total)
    norm = float(kernel_norm(h, data.shape[1], est.kernel, return_log=True)) - float(np.log(weights.sum()))
    return {"score": b.call("add", log_sum, b.const(norm))}



"""The ``kernel`` op and ``lower-kernels``.

- the op's reference is scikit-learn's own pairwise function for every metric (to 1e-12);
- before/after: the lowered module computes what the op computes, in float64 (1e-12 relative),
  with both forms of the squared distances (differences while M * F is small, the expansion
  beyond);
- in float32 the differences form is exact near a vector, where the expansion is not: the reason
  it is used while it is affordable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import pairwise

from sklir.ir import Builder, DType, Module, Tensor, interpret
from sklir.ir.dialects.ml import KERNELS, Kernel
from sklir.passes.lower_kernels import DIFFERENCES_MAX, LowerKernels
from sklir.passes.manager import PassManager

GAMMA, COEF0, DEGREE, P = 0.3, 0.5, 3.0, 3.0
SCIKIT_LEARN: dict[str, Callable[[np.ndarray, np.ndarray], Any]] = {
    "linear": pairwise.linear_kernel,
    "poly": lambda x, v: pairwise.polynomial_kernel(x, v, degree=DEGREE, gamma=GAMMA, coef0=COEF0),
    "sigmoid": lambda x, v: pairwise.sigmoid_kernel(x, v, gamma=GAMMA, coef0=COEF0),
    "rbf": lambda x, v: pairwise.rbf_kernel(x, v, gamma=GAMMA),
    "sqeuclidean": lambda x, v: pairwise.euclidean_distances(x, v, squared=True),
    "euclidean": pairwise.euclidean_distances,
    "manhattan": pairwise.manhattan_distances,
    "chebyshev": lambda x, v: pairwise.pairwise_distances(x, v, metric="chebyshev"),
    "minkowski": lambda x, v: pairwise.pairwise_distances(x, v, metric="minkowski", p=P),
    "cosine": pairwise.cosine_distances,
    "additive_chi2": pairwise.additive_chi2_kernel,
}
# metrics defined on non-negative features only: their tests take |data|
NON_NEGATIVE = {"additive_chi2"}


def kernel_module(metric: str, vectors: np.ndarray) -> Module:
    b, x = Builder.new("k", vectors.shape[1])
    op = Kernel(vectors=Tensor(vectors, DType.f64), metric=metric, gamma=GAMMA, coef0=COEF0, degree=DEGREE, p=P)
    (out,) = b.apply(op, b.call("cast", x, to=DType.f64))
    b.output("out", out)
    return b.module


def data(rows: int, width: int, seed: int, metric: str = "") -> np.ndarray:
    X = np.random.default_rng(seed).standard_normal((rows, width)).astype(np.float32).astype(np.float64)
    X[0] = 0.0  # a zero row: cosine's special case (and additive_chi2's 0 / 0 terms)
    return np.abs(X) if metric in NON_NEGATIVE else X


def test_every_metric_has_a_scikit_learn_counterpart() -> None:
    assert set(SCIKIT_LEARN) == set(KERNELS)


@pytest.mark.parametrize("metric", sorted(KERNELS))
def test_reference_is_scikit_learns(metric: str) -> None:
    X, V = data(40, 5, 0, metric), data(7, 5, 1, metric)
    got = interpret(kernel_module(metric, V), X)["out"]
    np.testing.assert_allclose(got, SCIKIT_LEARN[metric](X, V), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("vectors", [7, DIFFERENCES_MAX // 5 + 1], ids=["differences", "expansion"])
@pytest.mark.parametrize("metric", sorted(KERNELS))
def test_lowering_computes_the_op(metric: str, vectors: int) -> None:
    X, V = data(40, 5, 0, metric), data(vectors, 5, 1, metric)
    before = kernel_module(metric, V)
    after = PassManager([LowerKernels()]).run(before).module
    assert not any(isinstance(n.op, Kernel) for n in after.nodes)
    want = interpret(before, X)["out"]
    # the differences form sums in another order than scikit-learn's expansion: 1e-12 of scale
    np.testing.assert_allclose(interpret(after, X)["out"], want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


def test_differences_are_exact_near_a_vector_in_float32() -> None:
    # a point 1e-3 from a vector of norm ~100: the expansion's float32 rounding of |x|^2 (~1e4)
    # swamps the true squared distance (1e-6); the differences form keeps it
    v = np.array([[100.0, 50.0, -30.0]])
    x = (v + np.array([[1e-3, 0.0, 0.0]])).astype(np.float32)
    from sklir.passes.pipelines import precision_pipeline

    module = precision_pipeline("f32").run(kernel_module("sqeuclidean", v)).module
    got = interpret(module, x)["out"][0, 0]
    want = float(np.sum((x.astype(np.float64) - v.astype(np.float32)) ** 2))
    assert abs(got - want) <= 1e-3 * want

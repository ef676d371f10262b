"""``lower-kernels``: rewrite every ``kernel`` op into core ops (see :class:`~sklir.ir.dialects.ml.Kernel`).

The dot-product kernels are one matrix product by the vectors' transpose, then elementwise ops.
Squared distances use the differences ``sum((x - v)^2)`` over ``[N, M, F]`` while ``M * F`` is at
most :data:`DIFFERENCES_MAX` (exact: no cancellation) and scikit-learn's expansion
``|x|^2 - 2 x.v + |v|^2`` beyond (a matrix product; float32 then rounds ``|x|^2``, so two
points closer than about ``1e-3 |x|`` get a distance of that size). ``manhattan``,
``chebyshev``, ``minkowski`` and ``additive_chi2`` always take the differences. The pass runs in a backend's
preparation after ``to-f32``, like ``lower-trees``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sklir.ir.builder import Builder
from sklir.ir.core import Module, Node, Value
from sklir.ir.dialects.ml import Kernel
from sklir.passes.manager import Pass, PassResult, register_pass
from sklir.passes.rewrite import expand_ops

# the differences form's [N, M, F] intermediate stays this small per row (16 KiB in float32)
DIFFERENCES_MAX = 1 << 12


def _const(b: Builder, value: object, like: Value) -> Value:
    return b.const(np.asarray(value, dtype=np.float64), like.type.dtype)


def _dot(b: Builder, k: Kernel, x: Value) -> Value:
    return b.call("matmul", x, b.const(k.vectors.array.T, k.vectors.dtype))


def _affine_dot(b: Builder, k: Kernel, x: Value) -> Value:
    return b.call("add", b.call("mul", _dot(b, k, x), _const(b, k.gamma, x)), _const(b, k.coef0, x))


def _differences(b: Builder, k: Kernel, x: Value) -> Value:
    """``|x - v|`` for every row and vector: ``[N, M, F]``."""
    return b.call("abs", b.call("sub", b.call("expand_dims", x, axis=1), b.const(k.vectors.array, k.vectors.dtype)))


def _squared_distances(b: Builder, k: Kernel, x: Value) -> Value:
    v = k.vectors.array
    if v.size <= DIFFERENCES_MAX:
        return b.call("reduce", b.call("square", _differences(b, k, x)), kind="sum", axis=2, keepdims=False)
    norms = b.call("reduce", b.call("square", x), kind="sum", axis=1, keepdims=True)
    d = b.call("add", b.call("mul", _dot(b, k, x), _const(b, -2.0, x)), norms)
    d = b.call("add", d, b.const(np.einsum("ij,ij->i", v, v).reshape(1, -1), k.vectors.dtype))
    return b.call("maximum", d, _const(b, 0.0, x))


def _cosine(b: Builder, k: Kernel, x: Value) -> Value:
    norm = b.call("sqrt", b.call("reduce", b.call("square", x), kind="sum", axis=1, keepdims=True))
    zero = b.call("compare", norm, _const(b, 0.0, x), predicate="eq")
    unit = b.call("div", x, b.call("select", zero, _const(b, 1.0, x), norm))
    v = k.vectors.array
    vn = np.sqrt(np.einsum("ij,ij->i", v, v))
    units = v / np.where(vn == 0.0, 1.0, vn)[:, None]
    similarity = b.call("matmul", unit, b.const(units.T, k.vectors.dtype))
    return b.call("clip", b.call("sub", _const(b, 1.0, x), similarity), min=0.0, max=2.0)


def _additive_chi2(b: Builder, k: Kernel, x: Value) -> Value:
    rows = b.call("expand_dims", x, axis=1)
    vectors = b.const(k.vectors.array, k.vectors.dtype)
    total = b.call("add", rows, vectors)
    terms = b.call("div", b.call("square", b.call("sub", rows, vectors)), total)
    zero = _const(b, 0.0, x)
    terms = b.call("select", b.call("compare", total, zero, predicate="eq"), zero, terms)
    return b.call("neg", b.call("reduce", terms, kind="sum", axis=2, keepdims=False))


# metric -> its lowering
LOWERINGS: dict[str, Callable[[Builder, Kernel, Value], Value]] = {
    "linear": _dot,
    "poly": lambda b, k, x: b.call("pow", _affine_dot(b, k, x), _const(b, k.degree, x)),
    "sigmoid": lambda b, k, x: b.call("tanh", _affine_dot(b, k, x)),
    "rbf": lambda b, k, x: b.call("exp", b.call("mul", _squared_distances(b, k, x), _const(b, -k.gamma, x))),
    "sqeuclidean": _squared_distances,
    "euclidean": lambda b, k, x: b.call("sqrt", _squared_distances(b, k, x)),
    "manhattan": lambda b, k, x: b.call("reduce", _differences(b, k, x), kind="sum", axis=2, keepdims=False),
    "chebyshev": lambda b, k, x: b.call("reduce", _differences(b, k, x), kind="max", axis=2, keepdims=False),
    "minkowski": lambda b, k, x: b.call("pow", b.call("reduce", b.call("pow", _differences(b, k, x),
                                                                       _const(b, k.p, x)),
                                                      kind="sum", axis=2, keepdims=False), _const(b, 1.0 / k.p, x)),
    "cosine": _cosine,
    "additive_chi2": _additive_chi2,
}


@register_pass
@dataclass(frozen=True)
class LowerKernels(Pass):
    """Replace each ``kernel`` op by core ops (see the module doc)."""

    name: ClassVar[str] = "lower-kernels"

    def run(self, module: Module) -> PassResult:
        def lower(b: Builder, node: Node) -> tuple[Value]:
            assert isinstance(node.op, Kernel)
            return (LOWERINGS[node.op.metric](b, node.op, node.operands[0]),)

        return expand_ops(module, Kernel, lower)

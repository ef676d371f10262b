"""Activations and the dense layer: one lowering for scikit-learn's MLPs and Keras's Dense layers.

:data:`ACTIVATIONS` maps every name either library gives an activation (scikit-learn's
``identity``/``logistic``, Keras's ``linear``/``sigmoid`` and the rest of ``keras.activations``)
to its lowering on a ``[N, units]`` value, written as each library defines it (the reference is
the library's own output: the tests compare with ``predict``). Where a textbook form loses float32
digits the lowering says which form it takes (softplus as ``log1p(exp(-|x|)) + max(x, 0)``).
:func:`dense` is ``activation(x @ W + b)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from sklir.frontend.affine import affine
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.dialects.linalg import TopK

Activation = Callable[[Builder, Value], Value]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _c(b: Builder, value: float) -> Value:
    return b.const(float(value))


def _select_where(b: Builder, v: Value, predicate: str, bound: float, then: Value, otherwise: Value) -> Value:
    return b.call("select", b.call("compare", v, _c(b, bound), predicate=predicate), then, otherwise)


def elu(b: Builder, v: Value, alpha: float = 1.0) -> Value:
    """``x`` where ``x > 0``, else ``alpha * expm1(x)``."""
    negative = b.call("mul", b.call("expm1", b.call("minimum", v, _c(b, 0.0))), _c(b, alpha))
    return _select_where(b, v, "gt", 0.0, v, negative)


def leaky_relu(b: Builder, v: Value, slope: Value | float) -> Value:
    """``x`` where ``x >= 0``, else ``slope * x`` (a number, or PReLU's per-unit slopes)."""
    scaled = b.call("mul", v, slope if isinstance(slope, Value) else _c(b, slope))
    return _select_where(b, v, "ge", 0.0, v, scaled)


def softplus(b: Builder, v: Value) -> Value:
    """``log(1 + exp(x))`` as ``log1p(exp(-|x|)) + max(x, 0)``: no overflow, no lost digits."""
    return b.call("add", b.call("log1p", b.call("exp", b.call("neg", b.call("abs", v)))),
                  b.call("maximum", v, _c(b, 0.0)))


def hard_sigmoid(b: Builder, v: Value) -> Value:
    """Keras's ``relu6(x + 3) / 6``."""
    return b.call("div", b.call("clip", b.call("add", v, _c(b, 3.0)), min=0.0, max=6.0), _c(b, 6.0))


def _softmax(b: Builder, v: Value) -> Value:
    return b.call("softmax", v, axis=-1)


def _log_softmax(b: Builder, v: Value) -> Value:
    shifted = b.call("sub", v, b.call("reduce", v, kind="max", axis=-1, keepdims=True))
    total = b.call("reduce", b.call("exp", shifted), kind="sum", axis=-1, keepdims=True)
    return b.call("sub", shifted, b.call("log", total))


def _gelu(b: Builder, v: Value) -> Value:
    # Keras's default (approximate=False): x * (1 + erf(x / sqrt(2))) / 2
    erf = b.call("erf", b.call("mul", v, _c(b, 1.0 / np.sqrt(2.0))))
    return b.call("mul", b.call("mul", v, _c(b, 0.5)), b.call("add", erf, _c(b, 1.0)))


def _celu(b: Builder, v: Value) -> Value:
    # max(0, x) + min(0, alpha * expm1(x / alpha)) with alpha = 1
    return b.call("add", b.call("maximum", v, _c(b, 0.0)),
                  b.call("minimum", b.call("expm1", b.call("minimum", v, _c(b, 0.0))), _c(b, 0.0)))


def _sparse_plus(b: Builder, v: Value) -> Value:
    middle = b.call("div", b.call("square", b.call("add", v, _c(b, 1.0))), _c(b, 4.0))
    return _select_where(b, v, "le", -1.0, _c(b, 0.0), _select_where(b, v, "ge", 1.0, v, middle))


def _soft_shrink(b: Builder, v: Value, threshold: float = 0.5) -> Value:
    # x - t above t, x + t below -t, 0 between: the excess over the clipped value
    return b.call("sub", v, b.call("clip", v, min=-threshold, max=threshold))


def _hard_shrink(b: Builder, v: Value, threshold: float = 0.5) -> Value:
    keep = b.call("compare", b.call("abs", v), _c(b, threshold), predicate="gt")
    return b.call("mul", v, b.call("cast", keep, to=v.type.dtype))


def _glu(b: Builder, v: Value) -> Value:
    # the first half of the units gated by the sigmoid of the second half
    half = v.type.static_dim(-1 % v.type.rank) // 2
    first = b.call("gather", v, b.const(np.arange(half, dtype=np.int64)), axis=-1)
    second = b.call("gather", v, b.const(np.arange(half, 2 * half, dtype=np.int64)), axis=-1)
    return b.call("mul", first, b.call("sigmoid", second))


def _sparsemax(b: Builder, v: Value) -> Value:
    # Keras's sparsemax: sort descending, the support is the k with 1 + k z_(k) > sum_{j <= k} z_(j),
    # and tau = (the sum over the support of those cumulative sums - 1) / its size. (Martins and
    # Astudillo's projection reads the one cumulative sum at the support's end; we reproduce Keras.)
    width = v.type.static_dim(v.type.rank - 1)
    ordered, _ = b.apply(TopK(k=width, largest=True), v)
    upper = np.triu(np.ones((width, width)))  # column k sums the first k + 1 sorted values
    cumulative = b.call("matmul", ordered, b.const(upper))
    ranks = b.const(np.arange(1, width + 1, dtype=np.float64))
    support = b.call("compare", b.call("add", b.call("mul", ordered, ranks), _c(b, 1.0)), cumulative, predicate="gt")
    size = b.call("reduce", b.call("cast", support, to=v.type.dtype), kind="sum", axis=-1, keepdims=True)
    summed = b.call("reduce", b.call("select", support, cumulative, _c(b, 0.0)), kind="sum", axis=-1, keepdims=True)
    tau = b.call("div", b.call("sub", summed, _c(b, 1.0)), size)
    return b.call("maximum", b.call("sub", v, tau), _c(b, 0.0))


def _swish(b: Builder, v: Value) -> Value:
    return b.call("mul", v, b.call("sigmoid", v))


# activation name (scikit-learn's and Keras's) -> its lowering
ACTIVATIONS: dict[str, Activation] = {
    # scikit-learn's MLP activations (and MLPRegressor's exp output under the poisson loss)
    "identity": lambda b, v: v,
    "logistic": lambda b, v: b.call("sigmoid", v),
    "tanh": lambda b, v: b.call("tanh", v),
    "relu": lambda b, v: b.call("maximum", v, _c(b, 0.0)),
    "softmax": _softmax,
    "exp": lambda b, v: b.call("exp", v),
    # Keras's names for the same, and the rest of keras.activations
    "linear": lambda b, v: v,
    "sigmoid": lambda b, v: b.call("sigmoid", v),
    "exponential": lambda b, v: b.call("exp", v),
    "relu6": lambda b, v: b.call("clip", v, min=0.0, max=6.0),
    "elu": elu,
    "selu": lambda b, v: b.call("mul", elu(b, v, SELU_ALPHA), _c(b, SELU_SCALE)),
    "celu": _celu,
    "leaky_relu": lambda b, v: leaky_relu(b, v, 0.2),
    "softplus": softplus,
    "softsign": lambda b, v: b.call("div", v, b.call("add", b.call("abs", v), _c(b, 1.0))),
    "swish": _swish,
    "silu": _swish,
    "gelu": _gelu,
    "hard_sigmoid": hard_sigmoid,
    "hard_silu": lambda b, v: b.call("mul", v, hard_sigmoid(b, v)),
    "hard_swish": lambda b, v: b.call("mul", v, hard_sigmoid(b, v)),
    "hard_tanh": lambda b, v: b.call("clip", v, min=-1.0, max=1.0),
    "mish": lambda b, v: b.call("mul", v, b.call("tanh", softplus(b, v))),
    "log_sigmoid": lambda b, v: b.call("neg", softplus(b, b.call("neg", v))),
    "log_softmax": _log_softmax,
    "tanh_shrink": lambda b, v: b.call("sub", v, b.call("tanh", v)),
    "soft_shrink": _soft_shrink,
    "hard_shrink": _hard_shrink,
    "sparse_plus": _sparse_plus,
    "sparse_sigmoid": lambda b, v: b.call("clip", b.call("mul", b.call("add", v, _c(b, 1.0)), _c(b, 0.5)),
                                          min=0.0, max=1.0),
    "squareplus": lambda b, v: b.call("mul", b.call("add", v, b.call("sqrt", b.call("add", b.call("square", v),
                                                                                    _c(b, 4.0)))), _c(b, 0.5)),
    "glu": _glu,
    "sparsemax": _sparsemax,
}


def dense(b: Builder, x: Value, weights: Any, bias: Any, activation: str) -> Value:
    """One dense layer: ``activation(x @ weights + bias)`` (``bias`` None for none)."""
    return ACTIVATIONS[activation](b, affine(b, x, weights, bias))

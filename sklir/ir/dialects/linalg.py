"""Linear algebra and reductions: matmul, softmax, argmax, top-k and axis reductions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sklir.errors import IRError
from sklir.ir.core import Op, register_op
from sklir.ir.dialects._checks import normalize_axis, require_float, same_dtype
from sklir.ir.types import Batch, DType, TensorType


@register_op
@dataclass(frozen=True)
class MatMul(Op):
    """Matrix product of a ``[m, k]`` and a ``[k, n]`` operand.

    ``%2: f32[N,10] = matmul(%x, %1)`` where ``%x: f32[N,64]`` and ``%1: f32[64,10]``.
    """

    name: ClassVar[str] = "matmul"
    arity: ClassVar[int] = 2

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        a, b = operands
        dtype = same_dtype(self.name, a, b)
        require_float(self.name, a)
        if a.rank != 2 or b.rank != 2:
            raise IRError(f"matmul: needs two rank-2 operands, got {a} and {b}")
        if a.shape[1] != b.shape[0]:
            raise IRError(f"matmul: inner dimensions differ ({a.shape[1]} vs {b.shape[0]}) in {a} @ {b}")
        return (TensorType(dtype, (a.shape[0], b.shape[1])),)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        a, b = operands
        return (a @ b,)


@register_op
@dataclass(frozen=True)
class Softmax(Op):
    """Softmax along ``axis``: ``%1: f32[N,3] = softmax(%0) {axis = 1}``."""

    name: ClassVar[str] = "softmax"
    arity: ClassVar[int] = 1
    axis: int

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        require_float(self.name, operands[0])
        normalize_axis(self.name, self.axis, operands[0].rank)
        return (operands[0],)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        (a,) = operands
        e = np.exp(a - np.max(a, axis=self.axis, keepdims=True))
        return (e / np.sum(e, axis=self.axis, keepdims=True),)


@register_op
@dataclass(frozen=True)
class ArgMax(Op):
    """Index of the largest element along ``axis`` (the first one on ties), as i64.

    ``%1: i64[N] = argmax(%0) {axis = 1}``.
    """

    name: ClassVar[str] = "argmax"
    arity: ClassVar[int] = 1
    axis: int

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        (a,) = operands
        if not a.dtype.is_number:
            raise IRError(f"argmax: needs a numeric operand, got {a}")
        axis = normalize_axis(self.name, self.axis, a.rank)
        if a.shape[axis] == 0:
            raise IRError(f"argmax: axis {axis} of {a} is empty")
        return (TensorType(DType.i64, a.shape[:axis] + a.shape[axis + 1:]),)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        return (np.argmax(operands[0], axis=self.axis).astype(np.int64),)


@register_op
@dataclass(frozen=True)
class TopK(Op):
    """The ``k`` largest (or, with ``largest = false``, smallest) elements along the last axis, in
    order, and their indices (i64). Equal elements come lower index first, which is
    scikit-learn's neighbour order; both are numpy's stable ``argsort``. The operand must hold no
    NaN (where NaN sorts differs between runtimes): lowerings feed it distances of finite inputs.

    ``%1: f32[N,3], %2: i64[N,3] = top_k(%0) {k = 3, largest = false}`` where ``%0: f32[N,10]``.
    """

    name: ClassVar[str] = "top_k"
    arity: ClassVar[int] = 1
    k: int
    largest: bool

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        (a,) = operands
        if not a.dtype.is_number or a.rank == 0:
            raise IRError(f"top_k: needs a numeric operand of rank >= 1, got {a}")
        last = a.shape[-1]
        if isinstance(last, Batch):
            raise IRError(f"top_k: cannot select along the batch dimension of {a}")
        if not 1 <= self.k <= last:
            raise IRError(f"top_k: k = {self.k} must lie in [1, {last}] for {a}")
        shape = a.shape[:-1] + (self.k,)
        return (a.with_shape(shape), TensorType(DType.i64, shape))

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        (a,) = operands
        # stable sort of the negation keeps equal elements in index order for the largest too
        # (negating is exact; -0.0 and 0.0 compare equal either way)
        order = np.argsort(-a if self.largest else a, axis=-1, kind="stable")[..., :self.k]
        return np.take_along_axis(a, order, axis=-1), order.astype(np.int64)


REDUCTIONS: dict[str, Callable[..., np.ndarray]] = {
    "sum": np.sum, "max": np.max, "min": np.min, "mean": np.mean,
}


@register_op
@dataclass(frozen=True)
class Reduce(Op):
    """Reduce along ``axis`` with ``kind`` in sum, max, min, mean.

    ``%1: f32[N,1] = reduce(%0) {kind = "sum", axis = 1, keepdims = true}``.
    """

    name: ClassVar[str] = "reduce"
    arity: ClassVar[int] = 1
    kind: str
    axis: int
    keepdims: bool

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        (a,) = operands
        if self.kind not in REDUCTIONS:
            raise IRError(f"reduce: unknown kind {self.kind!r} (expected one of {', '.join(REDUCTIONS)})")
        if not a.dtype.is_number:
            raise IRError(f"reduce: needs a numeric operand, got {a}")
        if self.kind == "mean":
            require_float(self.name, a)
        axis = normalize_axis(self.name, self.axis, a.rank)
        if a.shape[axis] == 0 and self.kind in ("max", "min"):
            raise IRError(f"reduce: {self.kind} over the empty axis {axis} of {a}")
        shape = a.shape[:axis] + ((1,) if self.keepdims else ()) + a.shape[axis + 1:]
        return (a.with_shape(shape),)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        (a,) = operands
        out = REDUCTIONS[self.kind](a, axis=self.axis, keepdims=self.keepdims)
        return (np.asarray(out).astype(a.dtype, copy=False),)


OPS_IN_DIALECT = [MatMul, Softmax, ArgMax, TopK, Reduce]

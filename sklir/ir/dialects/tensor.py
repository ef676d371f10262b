"""Tensor plumbing: constants, concatenation, gathers, axis insertion and removal, label lookup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sklir.errors import IRError
from sklir.ir.core import Op, Tensor, register_op
from sklir.ir.dialects._checks import normalize_axis, require_int, same_dtype
from sklir.ir.types import Batch, TensorType


@register_op
@dataclass(frozen=True)
class Constant(Op):
    """A constant tensor: ``%0: f64[2] = constant() {value = f64[2] [0.5, -1.25]}``."""

    name: ClassVar[str] = "constant"
    arity: ClassVar[int] = 0
    value: Tensor

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        return (self.value.type,)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        return (self.value.array,)


@register_op
@dataclass(frozen=True)
class Concat(Op):
    """Join operands along ``axis``: ``%2: f32[N,7] = concat(%0, %1) {axis = 1}``."""

    name: ClassVar[str] = "concat"
    axis: int

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        if not operands:
            raise IRError("concat: needs at least one operand")
        dtype = same_dtype(self.name, *operands)
        rank = operands[0].rank
        if any(t.rank != rank for t in operands):
            raise IRError(f"concat: operand ranks differ ({', '.join(map(str, operands))})")
        axis = normalize_axis(self.name, self.axis, rank)
        total = 0
        for t in operands:
            d = t.shape[axis]
            if isinstance(d, Batch):
                raise IRError("concat: cannot concatenate along the batch dimension")
            total += d
        shape = list(operands[0].shape)
        for i in range(rank):
            if i != axis and len({t.shape[i] for t in operands}) != 1:
                raise IRError(f"concat: dimension {i} differs ({', '.join(map(str, operands))})")
        shape[axis] = total
        return (TensorType(dtype, tuple(shape)),)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        return (np.concatenate(operands, axis=self.axis),)


@register_op
@dataclass(frozen=True)
class Gather(Op):
    """``numpy.take(x, indices, axis)``; with constant indices on axis 1 it selects columns.

    Indices must lie in ``[0, dim)``: numpy wraps negative ones, TFLite's GATHER does not, so
    lowerings emit only non-negative indices.

    ``%2: f32[N,2] = gather(%x, %1) {axis = 1}`` where ``%1: i64[2]``.
    """

    name: ClassVar[str] = "gather"
    arity: ClassVar[int] = 2
    axis: int

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        x, idx = operands
        require_int(self.name, idx)
        axis = normalize_axis(self.name, self.axis, x.rank)
        shape = x.shape[:axis] + idx.shape + x.shape[axis + 1:]
        return (TensorType(x.dtype, shape),)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        x, idx = operands
        return (np.take(x, idx, axis=self.axis),)


@register_op
@dataclass(frozen=True)
class TakeAlongAxis(Op):
    """``numpy.take_along_axis(x, indices, axis)``; the indices have x's rank.

    ``%2: f32[N,1] = take_along_axis(%0, %1) {axis = 1}`` where ``%1: i64[N,1]``.
    """

    name: ClassVar[str] = "take_along_axis"
    arity: ClassVar[int] = 2
    axis: int

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        x, idx = operands
        require_int(self.name, idx)
        if idx.rank != x.rank:
            raise IRError(f"take_along_axis: indices {idx} must have the rank of {x}")
        axis = normalize_axis(self.name, self.axis, x.rank)
        for i in range(x.rank):
            if i != axis and idx.shape[i] != x.shape[i] and idx.shape[i] != 1:
                raise IRError(f"take_along_axis: indices {idx} do not fit {x}")
        # size-1 index dimensions broadcast against x, as in numpy
        shape = tuple(x.shape[i] if i != axis and idx.shape[i] == 1 else idx.shape[i] for i in range(x.rank))
        return (TensorType(x.dtype, shape),)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        x, idx = operands
        return (np.take_along_axis(x, idx, axis=self.axis),)


@register_op
@dataclass(frozen=True)
class Squeeze(Op):
    """Drop a dimension of size 1: ``%1: f32[N] = squeeze(%0) {axis = 1}``."""

    name: ClassVar[str] = "squeeze"
    arity: ClassVar[int] = 1
    axis: int

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        (x,) = operands
        axis = normalize_axis(self.name, self.axis, x.rank)
        if x.shape[axis] != 1:
            raise IRError(f"squeeze: dimension {axis} of {x} is not 1")
        return (x.with_shape(x.shape[:axis] + x.shape[axis + 1:]),)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        return (np.squeeze(operands[0], axis=self.axis),)


@register_op
@dataclass(frozen=True)
class ExpandDims(Op):
    """Insert a dimension of size 1: ``%1: f32[N,1] = expand_dims(%0) {axis = 1}``."""

    name: ClassVar[str] = "expand_dims"
    arity: ClassVar[int] = 1
    axis: int

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        (x,) = operands
        axis = normalize_axis(self.name, self.axis, x.rank + 1)
        return (x.with_shape(x.shape[:axis] + (1,) + x.shape[axis:]),)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        return (np.expand_dims(operands[0], axis=self.axis),)


@register_op
@dataclass(frozen=True)
class LabelLookup(Op):
    """Map class indices to the class labels themselves (what ``predict`` returns).

    ``%3: str[N] = label_lookup(%2) {classes = str[3] ["setosa", "versicolor", "virginica"]}``.
    """

    name: ClassVar[str] = "label_lookup"
    arity: ClassVar[int] = 1
    classes: Tensor

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        (idx,) = operands
        require_int(self.name, idx)
        if len(self.classes.shape) != 1 or self.classes.shape[0] == 0:
            raise IRError(f"label_lookup: classes must be a non-empty vector, got {self.classes.type}")
        return (TensorType(self.classes.dtype, idx.shape),)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        return (np.take(self.classes.array, operands[0]),)


OPS_IN_DIALECT = [Constant, Concat, Gather, TakeAlongAxis, Squeeze, ExpandDims, LabelLookup]

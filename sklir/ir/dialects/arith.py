"""Elementwise arithmetic: binary ops with numpy broadcasting, unary math, compare, select, clip.

Binary and unary ops are generated from tables so that one definition gives the op class, its
numpy semantics and (in the backends) its emitter key. Operands of a binary op share a dtype:
the IR never promotes implicitly; a ``cast`` says so in the text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sklir.errors import IRError
from sklir.ir.core import Op, register_op
from sklir.ir.dialects._checks import require_float, same_dtype
from sklir.ir.types import DType, TensorType, broadcast_shapes


@dataclass(frozen=True)
class BinaryOp(Op):
    """Elementwise binary op with broadcasting: ``%2: f32[N,4] = add(%0, %1)``."""

    arity: ClassVar[int] = 2
    fn: ClassVar[Callable[[np.ndarray, np.ndarray], np.ndarray]]
    # kinds of dtype the op accepts
    accepts: ClassVar[str] = "number"

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        a, b = operands
        dtype = same_dtype(self.name, a, b)
        if self.accepts == "float" and not dtype.is_float:
            raise IRError(f"{self.name}: needs float operands, got {a} and {b}")
        if self.accepts == "number" and not dtype.is_number:
            raise IRError(f"{self.name}: needs numeric operands, got {a} and {b}")
        if self.accepts == "bool" and dtype is not DType.bool:
            raise IRError(f"{self.name}: needs bool operands, got {a} and {b}")
        return (TensorType(dtype, broadcast_shapes(a.shape, b.shape)),)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        a, b = operands
        with np.errstate(all="ignore"):
            return (np.asarray(type(self).fn(a, b)).astype(a.dtype, copy=False),)


def _int_safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.floor_divide(a, b) if a.dtype.kind == "i" else np.divide(a, b)


# name: (numpy function, accepted dtypes)
BINARY: dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], str]] = {
    "add": (np.add, "number"),
    "sub": (np.subtract, "number"),
    "mul": (np.multiply, "number"),
    "div": (_int_safe_div, "number"),
    "maximum": (np.maximum, "number"),
    "minimum": (np.minimum, "number"),
    "pow": (np.power, "float"),
    "logical_and": (np.logical_and, "bool"),
    "logical_or": (np.logical_or, "bool"),
}


@dataclass(frozen=True)
class UnaryOp(Op):
    """Elementwise unary op: ``%1: f32[N,4] = exp(%0)``."""

    arity: ClassVar[int] = 1
    fn: ClassVar[Callable[[np.ndarray], np.ndarray]]
    accepts: ClassVar[str] = "float"
    returns_bool: ClassVar[bool] = False

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        (a,) = operands
        if self.accepts == "float":
            require_float(self.name, a)
        elif self.accepts == "number" and not a.dtype.is_number:
            raise IRError(f"{self.name}: needs a numeric operand, got {a}")
        elif self.accepts == "bool" and a.dtype is not DType.bool:
            raise IRError(f"{self.name}: needs a bool operand, got {a}")
        return (a.with_dtype(DType.bool) if self.returns_bool else a,)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        (a,) = operands
        with np.errstate(all="ignore"):
            out = np.asarray(type(self).fn(a))
        return (out if self.returns_bool else out.astype(a.dtype, copy=False),)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    # the two-branch form keeps exp from overflowing for large |a|
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _erf(a: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return np.asarray(erf(a))


# name: (numpy function, accepted dtypes, returns bool)
UNARY: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str, bool]] = {
    # sign and magnitude
    "neg": (np.negative, "number", False),
    "abs": (np.abs, "number", False),
    "sign": (np.sign, "number", False),
    # exponentials and logarithms
    "exp": (np.exp, "float", False),
    "expm1": (np.expm1, "float", False),
    "log": (np.log, "float", False),
    "log1p": (np.log1p, "float", False),
    # powers
    "sqrt": (np.sqrt, "float", False),
    "rsqrt": (lambda a: 1.0 / np.sqrt(a), "float", False),
    "square": (np.square, "number", False),
    "reciprocal": (lambda a: 1.0 / a, "float", False),
    # rounding
    "floor": (np.floor, "float", False),
    "ceil": (np.ceil, "float", False),
    "round": (np.round, "float", False),
    # activations
    "sigmoid": (_sigmoid, "float", False),
    "tanh": (np.tanh, "float", False),
    "relu": (lambda a: np.maximum(a, 0), "float", False),
    # the error function (Gaussian process classification's probit integrals)
    "erf": (_erf, "float", False),
    # trigonometry
    "sin": (np.sin, "float", False),
    "cos": (np.cos, "float", False),
    # predicates
    "isnan": (np.isnan, "float", True),
    "logical_not": (np.logical_not, "bool", True),
}


def _make_binary(name: str, fn: Callable[..., np.ndarray], accepts: str) -> type[Op]:
    cls = type(name.title().replace("_", ""), (BinaryOp,), {
        "__doc__": f"Elementwise ``{name}`` with broadcasting: ``%2: f32[N,4] = {name}(%0, %1)``.",
        "name": name, "fn": staticmethod(fn), "accepts": accepts, "__module__": __name__,
    })
    return register_op(dataclass(frozen=True)(cls))


def _make_unary(name: str, fn: Callable[..., np.ndarray], accepts: str, returns_bool: bool) -> type[Op]:
    cls = type(name.title().replace("_", ""), (UnaryOp,), {
        "__doc__": f"Elementwise ``{name}``: ``%1: f32[N,4] = {name}(%0)``.",
        "name": name, "fn": staticmethod(fn), "accepts": accepts, "returns_bool": returns_bool,
        "__module__": __name__,
    })
    return register_op(dataclass(frozen=True)(cls))


BINARY_OPS = {name: _make_binary(name, fn, acc) for name, (fn, acc) in BINARY.items()}
UNARY_OPS = {name: _make_unary(name, fn, acc, rb) for name, (fn, acc, rb) in UNARY.items()}

COMPARE_PREDICATES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "lt": np.less, "le": np.less_equal, "gt": np.greater,
    "ge": np.greater_equal, "eq": np.equal, "ne": np.not_equal,
}


@register_op
@dataclass(frozen=True)
class Compare(Op):
    """Elementwise comparison to bool, with broadcasting.

    ``%2: bool[N,4] = compare(%0, %1) {predicate = "le"}``; predicate is one of
    lt, le, gt, ge, eq, ne.
    """

    name: ClassVar[str] = "compare"
    arity: ClassVar[int] = 2
    predicate: str

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        if self.predicate not in COMPARE_PREDICATES:
            raise IRError(f"compare: unknown predicate {self.predicate!r} "
                          f"(expected one of {', '.join(COMPARE_PREDICATES)})")
        a, b = operands
        dtype = same_dtype(self.name, a, b)
        if dtype.only_stores:
            raise IRError(f"compare: {dtype.value} only stores; cast it to i32 first, got {a} and {b}")
        return (TensorType(DType.bool, broadcast_shapes(a.shape, b.shape)),)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        a, b = operands
        return (np.asarray(COMPARE_PREDICATES[self.predicate](a, b)),)


@register_op
@dataclass(frozen=True)
class Select(Op):
    """Elementwise choice ``cond ? a : b`` with broadcasting.

    ``%3: f32[N,4] = select(%0, %1, %2)`` where ``%0`` is bool.
    """

    name: ClassVar[str] = "select"
    arity: ClassVar[int] = 3

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        cond, a, b = operands
        if cond.dtype is not DType.bool:
            raise IRError(f"select: condition must be bool, got {cond}")
        dtype = same_dtype(self.name, a, b)
        if dtype.only_stores:
            raise IRError(f"select: {dtype.value} only stores; cast it to i32 first, got {a} and {b}")
        return (TensorType(dtype, broadcast_shapes(cond.shape, a.shape, b.shape)),)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        cond, a, b = operands
        return (np.where(cond, a, b),)


@register_op
@dataclass(frozen=True)
class Clip(Op):
    """Clamp into ``[min, max]`` (either bound may be infinite).

    ``%1: f32[N,4] = clip(%0) {min = 0.0, max = 1.0}``.
    """

    name: ClassVar[str] = "clip"
    arity: ClassVar[int] = 1
    min: float
    max: float

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        require_float(self.name, operands[0])
        if not self.min <= self.max:
            raise IRError(f"clip: min {self.min} exceeds max {self.max}")
        return (operands[0],)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        (a,) = operands
        return (np.clip(a, self.min, self.max).astype(a.dtype, copy=False),)


@register_op
@dataclass(frozen=True)
class Cast(Op):
    """Convert to another dtype: ``%1: f64[N,4] = cast(%0) {to = f64}``.

    Float to int truncates toward zero; bool converts to 0/1; nothing casts to or from str.
    """

    name: ClassVar[str] = "cast"
    arity: ClassVar[int] = 1
    to: DType

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        self.check_arity(operands)
        (a,) = operands
        if DType.str in (a.dtype, self.to) and a.dtype is not self.to:
            raise IRError(f"cast: cannot cast {a} to {self.to.value}")
        return (a.with_dtype(self.to),)

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        (a,) = operands
        with np.errstate(all="ignore"):
            return (a.astype(self.to.numpy),)


OPS_IN_DIALECT = [*BINARY_OPS.values(), *UNARY_OPS.values(), Compare, Select, Clip, Cast]

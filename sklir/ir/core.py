"""The IR's building blocks: attribute tensors, SSA values, ops, nodes and modules.

An *op* is a small frozen dataclass: its class says what it computes (``matmul``, ``exp``, ...),
its fields are its attributes. A *node* places an op in a module: it names the operand values and
owns the result values. A *module* is a list of nodes in topological order between named inputs
and named outputs. Types live on values, so every value can be printed with its type.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from sklir.errors import IRError
from sklir.ir.types import DType, TensorType


class Tensor:
    """An immutable constant array used as an attribute; equal and hashable by content.

    ``dtype`` is the IR dtype; strings are stored as a numpy object array of ``str``.
    """

    __slots__ = ("array", "dtype", "_key")

    def __init__(self, array: Any, dtype: DType | None = None) -> None:
        arr = np.asarray(array)
        if dtype is None:
            dtype = DType.of_numpy(arr.dtype)
        if dtype is DType.str:
            arr = np.vectorize(str, otypes=[object])(arr) if arr.size else arr.astype(object)
        else:
            arr = arr.astype(dtype.numpy)
        arr = np.array(arr, copy=True)
        arr.setflags(write=False)
        self.array = arr
        self.dtype = dtype
        if dtype is DType.str:
            # JSON keeps string boundaries, so ["a\x00", "b"] and ["a", "\x00b"] differ
            payload = json.dumps(arr.ravel().tolist()).encode()
        else:
            payload = np.ascontiguousarray(arr).tobytes()
        self._key = (dtype, arr.shape, hashlib.sha1(payload).hexdigest())

    @property
    def type(self) -> TensorType:
        """The constant's type (never batched)."""
        return TensorType(self.dtype, tuple(int(d) for d in self.array.shape))

    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape."""
        return tuple(self.array.shape)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tensor) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"Tensor({self.type})"


class Value:
    """An SSA value: the result of one node or a module input. Identity is object identity.

    ``name`` is a hint for the printer (kept from parsed text so that print(parse(t)) == t).
    """

    __slots__ = ("type", "name")

    def __init__(self, type: TensorType, name: str | None = None) -> None:
        self.type = type
        self.name = name

    def __repr__(self) -> str:
        return f"Value(%{self.name or '?'}: {self.type})"


# name -> op class; filled by @register_op. The parser and the backends look ops up here.
OPS: dict[str, type[Op]] = {}


def register_op(cls: type[Op]) -> type[Op]:
    """Class decorator: make ``cls`` an IR op known to the parser, verifier and backends."""
    name = cls.__dict__.get("name")
    if not isinstance(name, str):
        raise TypeError(f"{cls.__name__} needs a class attribute `name`")
    if name in OPS:
        raise TypeError(f"op name {name!r} registered twice")
    OPS[name] = cls
    return cls


@dataclass(frozen=True)
class Op:
    """Base class of every op. Subclasses are frozen dataclasses whose fields are attributes.

    A subclass defines ``name``, ``infer`` (operand types -> result types, raising
    :class:`IRError` on a misuse) and ``reference`` (the numpy semantics). ``arity`` is the
    number of operands, or ``None`` for variadic ops.
    """

    name: ClassVar[str] = ""
    arity: ClassVar[int | None] = None
    # the pass that rewrites this op into core ops before any backend sees it; None for core ops,
    # which every backend emits
    lowered_by: ClassVar[str | None] = None

    def infer(self, *operands: TensorType) -> tuple[TensorType, ...]:
        """The result types for these operand types; raises IRError when they do not fit."""
        raise NotImplementedError

    def reference(self, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
        """Compute the results with numpy: the semantics every backend must reproduce."""
        raise NotImplementedError

    def check_arity(self, operands: Sequence[TensorType]) -> None:
        """Raise IRError unless the operand count fits ``arity``."""
        if self.arity is not None and len(operands) != self.arity:
            raise IRError(f"{self.name} takes {self.arity} operand(s), got {len(operands)}")

    def attributes(self) -> dict[str, Any]:
        """The attributes, in field order."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def attribute_types(cls) -> dict[str, Any]:
        """Field name -> annotated type (resolved), used by the parser to coerce attributes."""
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


@dataclass(eq=False)
class Node:
    """One op applied to operand values, producing result values."""

    op: Op
    operands: tuple[Value, ...]
    results: tuple[Value, ...]
    # (line, column) in the IR text this node was parsed from, for error messages
    loc: tuple[int, int] | None = None

    @property
    def result(self) -> Value:
        """The single result (raises when the op has several)."""
        if len(self.results) != 1:
            raise IRError(f"{self.op.name} has {len(self.results)} results")
        return self.results[0]


@dataclass(eq=False)
class Module:
    """A function from named inputs to named outputs, as nodes in topological order.

    ``attributes`` carries metadata that travels with the model into every artefact: the source
    estimator, the class labels, the sklir version.
    """

    name: str
    inputs: list[Value]
    nodes: list[Node] = field(default_factory=list)
    outputs: dict[str, Value] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)

    def producers(self) -> dict[Value, Node]:
        """Value -> the node that defines it (inputs are absent)."""
        return {r: node for node in self.nodes for r in node.results}


def constant_of(module_producers: Mapping[Value, Node], value: Value) -> Tensor | None:
    """The constant tensor behind ``value``, or None when it is not defined by a constant op."""
    node = module_producers.get(value)
    if node is not None and node.op.name == "constant":
        return node.op.value  # type: ignore[attr-defined]
    return None

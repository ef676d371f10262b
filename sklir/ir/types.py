"""Types carried by every IR value: an element dtype and a shape with a symbolic batch dimension.

A type prints as ``f32[N,64]``: ``N`` is the batch dimension, fixed only when the model runs;
every other dimension is a non-negative integer. ``f64[]`` is a scalar.
"""

from __future__ import annotations

import builtins
import enum
from dataclasses import dataclass

import numpy as np

from sklir.errors import IRError


class DType(enum.Enum):
    """Element types. ``str`` holds class labels; nothing computes on it. ``i8`` and ``i16`` only
    store: a compact table (a tree's feature or leaf numbers) that ``gather`` reads and ``cast``
    widens; arithmetic, comparisons and reductions refuse them (not every runtime computes on
    narrow integers)."""

    f32 = "f32"
    f64 = "f64"
    i8 = "i8"
    i16 = "i16"
    i32 = "i32"
    i64 = "i64"
    bool = "bool"
    str = "str"

    # ``bool`` in this class body is the member above, so annotations name the builtin explicitly
    @property
    def is_float(self) -> builtins.bool:
        """True for f32 and f64."""
        return self in (DType.f32, DType.f64)

    @property
    def is_int(self) -> builtins.bool:
        """True for the integer types: i8, i16, i32 and i64."""
        return self in (DType.i8, DType.i16, DType.i32, DType.i64)

    @property
    def only_stores(self) -> builtins.bool:
        """True for the storage-only integers i8 and i16: ``gather`` reads them, ``cast`` widens them."""
        return self in (DType.i8, DType.i16)

    @property
    def is_index(self) -> builtins.bool:
        """True for the types indices, positions and integer arithmetic use: i32 and i64."""
        return self in (DType.i32, DType.i64)

    @property
    def is_number(self) -> builtins.bool:
        """True for the types arithmetic, comparisons and reductions take: floats, i32 and i64."""
        return self.is_float or self.is_index

    @property
    def numpy(self) -> np.dtype:
        """The numpy dtype the reference interpreter uses for this dtype."""
        return _NUMPY[self]

    @staticmethod
    def of_numpy(dtype: np.dtype) -> DType:
        """The IR dtype for a numpy dtype (any string or object dtype maps to ``str``)."""
        dtype = np.dtype(dtype)
        if dtype.kind in "UOS":
            return DType.str
        for ir, np_dtype in _NUMPY.items():
            if ir is not DType.str and np_dtype == dtype:
                return ir
        raise IRError(f"no IR dtype for numpy dtype {dtype}")


_NUMPY: dict[DType, np.dtype] = {
    DType.f32: np.dtype(np.float32),
    DType.f64: np.dtype(np.float64),
    DType.i8: np.dtype(np.int8),
    DType.i16: np.dtype(np.int16),
    DType.i32: np.dtype(np.int32),
    DType.i64: np.dtype(np.int64),
    DType.bool: np.dtype(np.bool_),
    DType.str: np.dtype(object),
}


class Batch:
    """The symbolic batch dimension ``N``; a singleton so that shapes compare and hash simply."""

    _instance: Batch | None = None

    def __new__(cls) -> Batch:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "N"

    def __reduce__(self) -> str:
        return "N"


N = Batch()
Dim = int | Batch


@dataclass(frozen=True)
class TensorType:
    """The type of a value: ``dtype[d0,d1,...]`` where a dimension is an int or :data:`N`."""

    dtype: DType
    shape: tuple[Dim, ...]

    def __post_init__(self) -> None:
        for d in self.shape:
            if not (d is N or (isinstance(d, int) and not isinstance(d, bool) and d >= 0)):
                raise IRError(f"bad dimension {d!r} in shape {self.shape!r}")

    @property
    def rank(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    @property
    def has_batch(self) -> bool:
        """True when some dimension is the symbolic batch."""
        return any(d is N for d in self.shape)

    def static_dim(self, axis: int) -> int:
        """The size of dimension ``axis`` (e.g. the width ``n`` of a ``[N, n]`` value).

        Raises :class:`IRError` when that dimension is the batch ``N``, whose size is known only at run time.
        """
        d = self.shape[axis]
        if isinstance(d, Batch):
            raise IRError(f"dimension {axis} of {self} is the batch dimension N, not a fixed size")
        return d

    @property
    def static_shape(self) -> tuple[int, ...]:
        """The shape as integers, for a type without the batch dimension (a constant's)."""
        return tuple(self.static_dim(axis) for axis in range(self.rank))

    def with_dtype(self, dtype: DType) -> TensorType:
        """The same shape with another dtype."""
        return TensorType(dtype, self.shape)

    def with_shape(self, shape: tuple[Dim, ...]) -> TensorType:
        """The same dtype with another shape."""
        return TensorType(self.dtype, tuple(shape))

    def __str__(self) -> str:
        return f"{self.dtype.value}[{','.join(str(d) for d in self.shape)}]"


def broadcast_shapes(*shapes: tuple[Dim, ...]) -> tuple[Dim, ...]:
    """Numpy broadcasting over shapes that may contain the batch dimension.

    ``N`` broadcasts against 1 and against itself; against any other integer it is an error,
    because the batch size is not known until run time.
    """
    rank = max((len(s) for s in shapes), default=0)
    out: list[Dim] = []
    for i in range(rank):
        dims = {s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0}
        dims.discard(1)
        if not dims:
            out.append(1)
        elif len(dims) == 1:
            out.append(dims.pop())
        else:
            raise IRError(f"shapes {' and '.join(_fmt(s) for s in shapes)} do not broadcast")
    return tuple(out)


def _fmt(shape: tuple[Dim, ...]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def concrete_shape(shape: tuple[Dim, ...], batch: int) -> tuple[int, ...]:
    """The shape with the batch dimension replaced by ``batch``."""
    return tuple(batch if isinstance(d, Batch) else d for d in shape)

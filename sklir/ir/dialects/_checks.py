"""Small type checks shared by the op definitions; each raises IRError with the op's name."""

from __future__ import annotations

from sklir.errors import IRError
from sklir.ir.types import DType, TensorType


def same_dtype(op: str, *types: TensorType) -> DType:
    """The common dtype of ``types``; IR ops never promote implicitly."""
    dtypes = {t.dtype for t in types}
    if len(dtypes) != 1:
        raise IRError(f"{op}: operand dtypes differ ({', '.join(str(t) for t in types)})")
    return dtypes.pop()


def require_float(op: str, t: TensorType) -> None:
    """Raise unless ``t`` is f32 or f64."""
    if not t.dtype.is_float:
        raise IRError(f"{op}: needs a float operand, got {t}")


def require_int(op: str, t: TensorType) -> None:
    """Raise unless ``t`` is i32 or i64 (an index type)."""
    if not t.dtype.is_index:
        raise IRError(f"{op}: needs an integer operand, got {t}")


def normalize_axis(op: str, axis: int, rank: int) -> int:
    """``axis`` in ``range(rank)``, accepting negative axes as numpy does."""
    if not -rank <= axis < rank:
        raise IRError(f"{op}: axis {axis} out of range for rank {rank}")
    return axis % rank

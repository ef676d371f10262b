"""Prints a module as text, one op per line, every value with its type.

The form is generic (``%r: type = opname(%a, %b) {attr = value}``), so adding an op never
changes the grammar. Constants print exactly: floats in their shortest round-trip decimal for
their own precision, so parsing gives back the same bits.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from sklir.ir.core import Module, Tensor, Value
from sklir.ir.types import DType

ELIDED_HEADER = "# constants elided: this dump is for reading and does not parse"
# constants with more elements than this are elided by print_module(..., elide_constants=True)
ELIDE_ABOVE = 16
# numeric and bool constants with more elements than this print as the hex digits of their
# little-endian bytes: exact, and fast to print and parse at forest scale (millions of numbers)
HEX_ABOVE = 256


def format_float(x: float, dtype: DType = DType.f64) -> str:
    """Shortest decimal that reads back to the same ``dtype`` value (``inf``, ``-inf``, ``nan``).

    A nan keeps its sign (``-nan``); its payload bits are not kept.
    """
    if np.isnan(x):
        return "-nan" if np.signbit(x) else "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    if dtype is DType.f32:
        return _shortest_f32(np.float32(x))
    return repr(float(x))


def _shortest_f32(v: np.float32) -> str:
    """The shortest digits that read back to ``v`` as f32, laid out as Python's ``repr`` lays out a float.

    ``str(np.float32)`` is not used: its layout changed between numpy releases, and the text form
    must not depend on the installed numpy. The digits come from Dragon4 (``unique=True``), whose
    output is fixed; the layout is positional for ``1e-4 <= |v| < 1e16``, else ``d.ddde+XX``.
    """
    mantissa, _, exponent = np.format_float_scientific(v, unique=True, trim="-").partition("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "")
    e = int(exponent)
    if -4 <= e < 16:
        if e >= 0:
            whole, fraction = digits[: e + 1].ljust(e + 1, "0"), digits[e + 1:] or "0"
        else:
            whole, fraction = "0", "0" * (-e - 1) + digits
        return f"{sign}{whole}.{fraction}"
    head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{head}e{e:+03d}"


def _scalar(x: Any, dtype: DType) -> str:
    if dtype.is_float:
        return format_float(x, dtype)
    if dtype is DType.bool:
        return "true" if x else "false"
    if dtype is DType.str:
        return json.dumps(str(x), ensure_ascii=False)
    return str(int(x))


def _nested(arr: np.ndarray, dtype: DType) -> str:
    if arr.ndim == 0:
        return _scalar(arr[()], dtype)
    if arr.ndim == 1:
        return "[" + ", ".join(_scalar(x, dtype) for x in arr.tolist()) + "]"
    return "[" + ", ".join(_nested(sub, dtype) for sub in arr) + "]"


def format_tensor(t: Tensor, elide: bool = False) -> str:
    """``f64[2] [0.5, 1.0]``; ``f64[64,10] <elided>`` when eliding a large constant; a numeric
    constant of more than :data:`HEX_ABOVE` elements as ``f64[300] 0x...`` (little-endian bytes)."""
    if elide and t.array.size > ELIDE_ABOVE:
        return f"{t.type} <elided>"
    if t.array.size > HEX_ABOVE and t.dtype is not DType.str:
        return f"{t.type} 0x{hex_bytes(t)}"
    return f"{t.type} {_nested(t.array, t.dtype)}"


def hex_bytes(t: Tensor) -> str:
    """The tensor's elements as hex digits of their little-endian bytes, row-major (bool: 00 / 01)."""
    arr = np.ascontiguousarray(t.array, dtype=t.dtype.numpy.newbyteorder("<"))
    return arr.tobytes().hex()


def format_attribute(value: Any, elide: bool = False) -> str:
    """Print one attribute value in the generic syntax."""
    if isinstance(value, np.generic) and not isinstance(value, np.str_):
        # numpy scalars (np.int64 from an estimator's classes_, ...) print as the python value
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, DType):
        return value.value
    if isinstance(value, Tensor):
        return format_tensor(value, elide)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(format_attribute(v, elide) for v in value) + "]"
    raise TypeError(f"cannot print attribute of type {type(value).__name__}")


def _attr_dict(attrs: dict[str, Any], elide: bool) -> str:
    if not attrs:
        return ""
    return " {" + ", ".join(f"{k} = {format_attribute(v, elide)}" for k, v in attrs.items()) + "}"


# what the grammar's VALUE terminal accepts after the %; other hints fall back to numbers
_VALUE_NAME = re.compile(r"[A-Za-z0-9_.]+")


class _Namer:
    """Gives each value a unique printed name: its hint when free, else the next free number."""

    def __init__(self, module: Module) -> None:
        self.names: dict[Value, str] = {}
        self.taken: set[str] = set()
        hinted = [v for v in module.inputs] + [r for n in module.nodes for r in n.results]
        self.reserved = {v.name for v in hinted if v.name}
        self.counter = 0
        for v in hinted:
            self._assign(v)

    def _assign(self, v: Value) -> None:
        if v.name and v.name not in self.taken and _VALUE_NAME.fullmatch(v.name):
            name = v.name
        else:
            while str(self.counter) in self.taken or str(self.counter) in self.reserved:
                self.counter += 1
            name = str(self.counter)
        self.taken.add(name)
        self.names[v] = name

    def __call__(self, v: Value) -> str:
        return "%" + self.names.get(v, "<undefined>")


def print_module(module: Module, elide_constants: bool = False) -> str:
    """The module as text; with ``elide_constants`` large constants are replaced by ``<elided>``."""
    name = _Namer(module)
    lines = [ELIDED_HEADER] if elide_constants else []
    params = ", ".join(f"{name(v)}: {v.type}" for v in module.inputs)
    attrs = _attr_dict(module.attributes, elide_constants)
    lines.append(f"module @{module.name}({params})" + (f" attributes{attrs}" if attrs else "") + " {")
    for node in module.nodes:
        results = ", ".join(f"{name(r)}: {r.type}" for r in node.results)
        operands = ", ".join(name(v) for v in node.operands)
        attrs = _attr_dict(node.op.attributes(), elide_constants)
        lines.append(f"  {results} = {node.op.name}({operands}){attrs}")
    outputs = ", ".join(f"{k} = {name(v)}" for k, v in module.outputs.items())
    lines.append(f"  return {outputs}")
    lines.append("}")
    return "\n".join(lines) + "\n"

"""Parses the generic text form (``grammar/sklir.lark``) back into a verified module.

Every failure is a :class:`ParseError` carrying the line and column and saying what was expected:
a syntax error lists the tokens that would fit, an unknown op suggests near names, a constant
literal is checked element by element against its declared type, an elided constant says the
dump cannot be parsed, and a type error from the verifier points at the op's line.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
import typing
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import lark
import numpy as np

from sklir.errors import IRError, ParseError
from sklir.ir import dialects  # noqa: F401  (registers the ops)
from sklir.ir.core import OPS, Module, Node, Tensor, Value
from sklir.ir.printer import ELIDED_HEADER
from sklir.ir.types import Dim, DType, N, TensorType
from sklir.ir.verifier import verify

GRAMMAR_PATH = Path(__file__).resolve().parents[2] / "grammar" / "sklir.lark"

Item = lark.Tree | lark.Token


@functools.lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    return lark.Lark(GRAMMAR_PATH.read_text(), parser="lalr", propagate_positions=True,
                     maybe_placeholders=True)


def _pos(item: Item) -> tuple[int, int]:
    if isinstance(item, lark.Token):
        return (item.line or 1, item.column or 1)
    return (item.meta.line, item.meta.column) if not item.meta.empty else (1, 1)


def _fail(item: Item, message: str) -> ParseError:
    line, column = _pos(item)
    return ParseError(message, line, column)


def _token(item: Item) -> lark.Token:
    """``item`` where the grammar puts a token (a value or op name); a tree there is a grammar bug."""
    if not isinstance(item, lark.Token):
        raise TypeError(f"grammar bug: expected a token, got a {item.data!r} tree")
    return item


_TERMINAL_NAMES = {
    "LPAR": "'('", "RPAR": "')'", "LBRACE": "'{'", "RBRACE": "'}'", "LSQB": "'['", "RSQB": "']'",
    "COMMA": "','", "COLON": "':'", "EQUAL": "'='", "VALUE": "a value (%name)",
    "OPNAME": "a name", "SYMBOL": "a module name (@name)", "DTYPE": "a dtype (f32, f64, i8, i16, i32, i64, bool, str)",
    "INT": "an integer", "FLOAT": "a float", "STRING": "a string", "BATCH": "N",
    "RETURN": "'return'", "MODULE": "'module'", "ATTRIBUTES": "'attributes'",
    "ELIDED": "'<elided>'", "HEX": "hex bytes (0x...)", "TRUE": "'true'", "FALSE": "'false'",
    "$END": "end of input", "<END-OF-FILE>": "end of input",
}


def _expected(e: lark.exceptions.UnexpectedInput) -> str:
    names = sorted(getattr(e, "expected", None) or getattr(e, "allowed", None) or [])
    pretty = [_TERMINAL_NAMES.get(n, n) for n in names]
    return ", ".join(dict.fromkeys(pretty)) if pretty else "something else"


def _line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of character ``offset`` (``len(text)``: just past the end)."""
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _syntax_tree(text: str) -> lark.Tree:
    """The lark tree of ``text``; a syntax error becomes a ParseError naming what would fit."""
    try:
        return _parser().parse(text)
    except lark.exceptions.UnexpectedInput as e:
        message, where = _syntax_message(text, e)
    raise ParseError(message, *where)


def _syntax_message(text: str, e: lark.exceptions.UnexpectedInput) -> tuple[str, tuple[int, int]]:
    at_end = isinstance(e, lark.exceptions.UnexpectedEOF) or (
        isinstance(e, lark.exceptions.UnexpectedToken) and e.token.type == "$END")
    if at_end:
        return f"unexpected end of input, expected {_expected(e)}", _line_column(text, len(text))
    if isinstance(e, lark.exceptions.UnexpectedToken):
        return f"unexpected {_short(repr(str(e.token)))}, expected {_expected(e)}", (e.line, e.column)
    # only UnexpectedCharacters is left, and it sets pos_in_stream; lark declares the attribute as None
    char = text[e.pos_in_stream]  # type: ignore[index]
    if char == '"':
        return "unterminated string: a string closes with \" on the same line", (e.line, e.column)
    return f"unexpected character {char!r}, expected {_expected(e)}", (e.line, e.column)


# numpy arrays have at most 64 dimensions, so no sensible literal nests deeper; the check keeps
# lark's and our tree walks, which recurse, far from Python's recursion limit
MAX_NESTING = 64
_BRACKETS = re.compile(r'"(?:\\.|[^"\\\n])*"|#[^\n]*|[\[\]]')


def _check_nesting(text: str) -> None:
    """Refuse lists nested deeper than :data:`MAX_NESTING`, pointing at the first bracket too many."""
    depth = 0
    for m in _BRACKETS.finditer(text):
        bracket = m.group()
        if bracket == "[":
            depth += 1
            if depth > MAX_NESTING:
                raise ParseError(f"lists nest more than {MAX_NESTING} deep", *_line_column(text, m.start()))
        elif bracket == "]":
            depth = max(depth - 1, 0)


def _first_elided(tree: lark.Tree) -> lark.Token | None:
    tokens = list(tree.scan_values(lambda v: isinstance(v, lark.Token) and v.type == "ELIDED"))
    return min(tokens, key=_pos) if tokens else None


_ELIDED_MESSAGE = ("this constant was elided (--elide-constants): an elided dump is for reading "
                   "and cannot be parsed; print the module without eliding constants")


# ---------------------------------------------------------------------------------------------
# scalars and constant literals

def _short(value: Any, limit: int = 40) -> str:
    """``value`` as text, cut in the middle when a literal is too long for a one-line message."""
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit // 2]}...{text[-limit // 2:]}"


def _int(item: lark.Tree) -> int:
    text = str(item.children[0])
    try:
        return int(text)
    except ValueError:  # Python refuses int() of more than a few thousand digits
        raise _fail(item, f"integer literal with {len(text)} digits is too long") from None


def _string(item: lark.Tree) -> str:
    try:
        return str(json.loads(str(item.children[0])))
    except ValueError as e:
        raise _fail(item, f"bad string literal ({e.args[0].split(':')[0]}); strings use JSON escapes "
                          "such as \\n, \\\" and \\u00e9") from None


# kind of scalar tree -> what the element is called in messages
_KIND_NAMES = {"int_value": "an integer", "float_value": "a float", "string_value": "a string",
               "true_value": "true", "false_value": "false", "list": "a list",
               "tensor": "a tensor", "elided_tensor": "an elided tensor", "hex_tensor": "a tensor",
               "dtype_attr": "a dtype"}

# dtype kind -> (scalar kinds a literal of it holds, how to say so)
_ACCEPTS = {
    "float": ({"float_value", "int_value"}, "numbers such as 1.5, -0.0, 1e-300, inf or nan"),
    "int": ({"int_value"}, "integers"),
    "bool": ({"true_value", "false_value"}, "true or false"),
    "str": ({"string_value"}, "strings"),
}


def _dtype_kind(dtype: DType) -> str:
    return "float" if dtype.is_float else "int" if dtype.is_int else dtype.value


def _elements(literal: Item, declared: TensorType) -> list[lark.Tree]:
    """The scalar trees of ``literal`` in row-major order, checked to nest exactly as ``declared``."""
    shape = declared.shape
    out: list[lark.Tree] = []
    # an explicit stack: a literal from untrusted text may nest deeper than Python recursion allows
    stack: list[tuple[Item, int]] = [(literal, 0)]
    while stack:
        node, depth = stack.pop()
        is_list = isinstance(node, lark.Tree) and node.data == "list"
        if depth == len(shape):
            if is_list:
                raise _fail(node, f"constant {declared} has rank {len(shape)}: expected a scalar here, found a list")
            out.append(node)  # type: ignore[arg-type]
            continue
        if not is_list:
            raise _fail(node, f"constant {declared}: expected a list of {shape[depth]} element(s) here, "
                              f"found {_KIND_NAMES.get(getattr(node, 'data', ''), 'a scalar')}")
        items = [c for c in node.children if c is not None]  # type: ignore[union-attr]
        if len(items) != shape[depth]:
            raise _fail(node, f"constant declared {declared} but this list has {len(items)} element(s), "
                              f"expected {shape[depth]}")
        stack.extend((c, depth + 1) for c in reversed(items))
    return out


def _round_ties_to_f32(texts: list[str], wide: np.ndarray, narrow: np.ndarray) -> None:
    """Correct decimal -> f64 -> f32 double rounding, in place.

    Rounding a decimal first to f64 and then to f32 only goes wrong when the f64 value lands
    exactly halfway between two f32 values; those rare elements are decided with exact fractions.
    """
    back = narrow.astype(np.float64)
    direction = np.where(wide > back, np.inf, -np.inf).astype(np.float32)
    with np.errstate(all="ignore"):  # nan and the step past f32's largest value are not ties
        other = np.nextafter(narrow, direction)
        middle = (back + other.astype(np.float64)) / 2
    for i in np.flatnonzero((wide == middle) & np.isfinite(middle)):
        exact, tie = Fraction(texts[i]), Fraction(float(middle[i]))
        if exact != tie:
            narrow[i] = max(narrow[i], other[i]) if exact > tie else min(narrow[i], other[i])


def _floats(items: list[lark.Tree], dtype: DType) -> np.ndarray:
    texts = [str(t.children[0]) for t in items]
    # float() of a decimal string is correctly rounded and has no length limit
    wide = np.array([float(s) for s in texts], dtype=np.float64)
    if dtype is DType.f64:
        result = wide
    else:
        with np.errstate(over="ignore"):
            result = wide.astype(np.float32)
        _round_ties_to_f32(texts, wide, result)
    for i in np.flatnonzero(np.isinf(result)):
        if "inf" not in texts[i]:
            raise _fail(items[i], f"{_short(texts[i])} is out of range for {dtype.value} (write inf if you mean it)")
    return result


def _ints(items: list[lark.Tree], dtype: DType) -> np.ndarray:
    info = np.iinfo(dtype.numpy)
    values = []
    for t in items:
        v = _int(t)
        if not info.min <= v <= info.max:
            raise _fail(t, f"{_short(v)} is out of range for {dtype.value} ({info.min} to {info.max})")
        values.append(v)
    return np.array(values, dtype=dtype.numpy)


def _bools(items: list[lark.Tree], dtype: DType) -> np.ndarray:
    return np.array([t.data == "true_value" for t in items], dtype=np.bool_)


def _strings(items: list[lark.Tree], dtype: DType) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = [_string(t) for t in items]
    return out


_CONVERT: dict[str, Callable[[list[lark.Tree], DType], np.ndarray]] = {
    "float": _floats, "int": _ints, "bool": _bools, "str": _strings,
}


# ---------------------------------------------------------------------------------------------
# attributes

# annotation -> how a message names a value of that type
_FIELD_NAMES: dict[Any, str] = {
    int: "an integer", float: "a float", str: "a string", bool: "true or false",
    DType: "a dtype (f32, f64, i8, i16, i32, i64, bool or str)",
    Tensor: "a typed tensor literal such as f64[2] [1.0, 2.0]", list: "a list",
}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Tensor):
        return f"the tensor {value.type}"
    if isinstance(value, (int, float)):
        return f"{_FIELD_NAMES[type(value)]} ({_short(value)})"
    return _FIELD_NAMES.get(type(value), type(value).__name__)


def _coerce(tree: lark.Tree, op: str, key: str, value: Any, annotation: Any) -> Any:
    """Check a parsed attribute against the op's field type, converting lists to tuples."""
    if typing.get_origin(annotation) is tuple:
        if not isinstance(value, list):
            raise _fail(tree, f"{op}.{key} must be a list, got {_describe(value)}")
        (item_type, *_) = typing.get_args(annotation)
        return tuple(_coerce(tree, op, key, v, item_type) for v in value)
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            raise _fail(tree, f"{op}.{key}: {_short(value)} is too large for a float") from None
    wrong_bool = annotation is int and isinstance(value, bool)
    if wrong_bool or not isinstance(value, annotation):
        wanted = _FIELD_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))
        raise _fail(tree, f"{op}.{key} must be {wanted}, got {_describe(value)}")
    return value


def _freeze(value: Any) -> Any:
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


class _Reader:
    """Turns the lark tree into a module, resolving value names in program order."""

    def __init__(self) -> None:
        self.values: dict[str, Value] = {}
        self.defined_at: dict[str, int] = {}
        # every result name -> its line, so that a use before the definition can say where it is
        self.later: dict[str, int] = {}

    def type(self, tree: lark.Tree) -> TensorType:
        dtype_tok, *dims = tree.children
        shape: list[Dim] = []
        for d in dims:
            if d is None:
                continue
            if d.data == "batch_dim":
                shape.append(N)
                continue
            size = _int(d)
            if size < 0:
                raise _fail(d, f"a dimension is N or a non-negative integer, got {size}")
            shape.append(size)
        return TensorType(DType(str(dtype_tok)), tuple(shape))

    def tensor(self, tree: lark.Tree) -> Tensor:
        """A constant from ``type literal``, element types and nesting checked against the type."""
        declared = self.type(tree.children[0])
        if declared.has_batch:
            raise _fail(tree.children[0], f"a constant has fixed dimensions; {declared} has the batch dimension N")
        items = _elements(tree.children[1], declared)
        kind = _dtype_kind(declared.dtype)
        accepted, wanted = _ACCEPTS[kind]
        for item in items:
            if item.data not in accepted:
                raise _fail(item, f"elements of {declared} are {wanted}, "
                                  f"found {_KIND_NAMES.get(item.data, item.data)}")
        flat = _CONVERT[kind](items, declared.dtype)
        try:
            array = flat.reshape(declared.static_shape)
        except ValueError as e:  # a zero-size shape whose other dimensions overflow numpy
            raise _fail(tree.children[0], f"constant shape {declared} is too large ({e})") from None
        return Tensor(array, declared.dtype)

    def hex_tensor(self, tree: lark.Tree) -> Tensor:
        """A constant from ``type 0x<hex>``: the little-endian bytes of its elements, row-major."""
        declared = self.type(tree.children[0])
        token = tree.children[1]
        if declared.has_batch:
            raise _fail(tree.children[0], f"a constant has fixed dimensions; {declared} has the batch dimension N")
        if declared.dtype is DType.str:
            raise _fail(token, "a str constant cannot be written in hex; write its strings as a list")
        digits = str(token)[2:]
        dtype = declared.dtype.numpy.newbyteorder("<")
        want = math.prod(declared.static_shape) * dtype.itemsize
        if len(digits) % 2 or len(digits) // 2 != want:
            raise _fail(token, f"{declared} takes {want} bytes ({2 * want} hex digits), got {len(digits)} digits")
        flat = np.frombuffer(bytes.fromhex(digits), dtype=dtype)
        if declared.dtype is DType.bool:
            raw = np.frombuffer(bytes.fromhex(digits), dtype=np.uint8)
            if raw.size and raw.max() > 1:
                raise _fail(token, f"bool elements are bytes 00 or 01, found {int(raw.max()):02x}")
        return Tensor(flat.reshape(declared.static_shape), declared.dtype)

    def attribute(self, tree: lark.Tree) -> Any:
        """The python value of an attribute before coercion to the op's field type."""
        kind = tree.data
        if kind == "elided_tensor":
            raise _fail(tree.children[1], _ELIDED_MESSAGE)
        if kind == "tensor":
            return self.tensor(tree)
        if kind == "hex_tensor":
            return self.hex_tensor(tree)
        if kind == "list":
            return [self.attribute(c) for c in tree.children if c is not None]
        return _SCALARS[kind](tree)

    def attr_dict(self, tree: lark.Tree | None) -> list[tuple[lark.Tree, str, Any]]:
        if tree is None:
            return []
        out: list[tuple[lark.Tree, str, Any]] = []
        for attr in tree.children:
            if attr is None:
                continue
            key, value = attr.children
            if any(str(key) == k for _, k, _ in out):
                raise _fail(attr, f"attribute '{key}' given twice")
            out.append((attr, str(key), self.attribute(value)))
        return out

    def define(self, tok: lark.Token, type_: TensorType) -> Value:
        name = str(tok)[1:]
        if name in self.values:
            first = self.defined_at[name]
            raise _fail(tok, f"value %{name} is defined twice (first on line {first})")
        v = Value(type_, name)
        self.values[name] = v
        self.defined_at[name] = _pos(tok)[0]
        return v

    def use(self, tok: lark.Token, subject: str = "value {}") -> Value:
        """The value named by ``tok``; ``subject`` says who refers to it in the error message."""
        name = str(tok)[1:]
        if name in self.values:
            return self.values[name]
        who = subject.format(f"%{name}")
        later = self.later.get(name)
        if later is not None:
            raise _fail(tok, f"{who} is used before its definition on line {later}")
        raise _fail(tok, f"{who} is not defined; expected an input or the result of an earlier op")

    def op(self, opname_tok: lark.Token, attrs_tree: lark.Tree | None) -> Any:
        """The op instance named by ``opname_tok`` with its attributes checked and coerced."""
        op_cls = OPS.get(str(opname_tok))
        if op_cls is None:
            near = difflib.get_close_matches(str(opname_tok), OPS, n=3)
            hint = f" (did you mean {' or '.join(repr(n) for n in near)}?)" if near else ""
            raise _fail(opname_tok, f"unknown op '{opname_tok}'{hint}")
        fields = op_cls.attribute_types()
        kwargs: dict[str, Any] = {}
        for attr_tree, key, value in self.attr_dict(attrs_tree):
            if key not in fields:
                raise _fail(attr_tree, f"{op_cls.name} has no attribute '{key}' "
                                       f"(expected {', '.join(fields) or 'no attributes'})")
            kwargs[key] = _coerce(attr_tree, op_cls.name, key, value, fields[key])
        missing = [k for k in fields if k not in kwargs]
        if missing:
            needs = ", ".join(f"{k} ({_FIELD_NAMES.get(fields[k], fields[k])})" for k in missing)
            raise _fail(opname_tok, f"{op_cls.name} is missing attribute(s): {needs}")
        return op_cls(**kwargs)

    def statement(self, tree: lark.Tree) -> Node:
        results = [c for c in tree.children if isinstance(c, lark.Tree) and c.data == "result"]
        rest = [c for c in tree.children if not (isinstance(c, lark.Tree) and c.data == "result")]
        opname_tok = rest[0]
        operand_toks = [c for c in rest[1:] if isinstance(c, lark.Token)]
        attrs_tree = next((c for c in rest[1:] if isinstance(c, lark.Tree)), None)
        op = self.op(_token(opname_tok), attrs_tree)
        operands = tuple(self.use(t) for t in operand_toks)
        values = tuple(self.define(_token(r.children[0]), self.type(r.children[1])) for r in results)
        return Node(op, operands, values, loc=_pos(tree))

    def module(self, tree: lark.Tree) -> Module:
        symbol, *rest = tree.children
        params = [c for c in rest if isinstance(c, lark.Tree) and c.data == "param"]
        attrs = next((c for c in rest if isinstance(c, lark.Tree) and c.data == "module_attrs"), None)
        statements = [c for c in rest if isinstance(c, lark.Tree) and c.data == "statement"]
        ret = next(c for c in rest if isinstance(c, lark.Tree) and c.data == "return_stmt")
        for statement in statements:
            for r in statement.children:
                if isinstance(r, lark.Tree) and r.data == "result":
                    self.later.setdefault(str(r.children[0])[1:], _pos(r)[0])
        inputs = [self.define(_token(p.children[0]), self.type(p.children[1])) for p in params]
        module_attrs = {k: _freeze(v) for _, k, v in self.attr_dict(attrs.children[0] if attrs else None)}
        nodes = [self.statement(s) for s in statements]
        outputs: dict[str, Value] = {}
        for out in ret.children:
            key, value = out.children
            if str(key) in outputs:
                raise _fail(out, f"output '{key}' returned twice")
            outputs[str(key)] = self.use(_token(value), f"output '{key}' refers to {{}}, which")
        return Module(str(symbol)[1:], inputs, nodes, outputs, module_attrs)


_SCALARS: dict[str, Callable[[lark.Tree], Any]] = {
    "dtype_attr": lambda t: DType(str(t.children[0])),
    "int_value": _int,
    "float_value": lambda t: float(str(t.children[0])),
    "string_value": _string,
    "true_value": lambda t: True,
    "false_value": lambda t: False,
}


def _verified(module: Module, tree: lark.Tree) -> Module:
    """Run the verifier, moving the line and column it reports into the ParseError.

    A few type errors (broadcasting) do not name their op; the message gets the op's name then.
    """
    try:
        return verify(module)
    except IRError as e:
        message = str(e)
        if not message.startswith("line "):
            raise ParseError(message, *_pos(tree)) from None
        line_part, _, rest = message.partition(": ")
        line, column = (int(p.split()[-1]) for p in line_part.split(", "))
        op = next((n.op.name for n in module.nodes if n.loc == (line, column)), None)
        if op is not None and not rest.startswith(op):
            rest = f"{op}: {rest}"
        raise ParseError(rest, line, column) from None


def parse(text: str) -> Module:
    """Parse IR text into a verified module; raise :class:`ParseError` with line and column."""
    _check_nesting(text)
    try:
        return _parse_checked(text)
    except RecursionError:  # a safety net: _check_nesting keeps every walk shallow
        raise ParseError("the text nests too deeply to parse", 1, 1) from None


def _parse_checked(text: str) -> Module:
    tree = _syntax_tree(text)
    elided = _first_elided(tree)
    if elided is not None:
        raise _fail(elided, _ELIDED_MESSAGE)
    if text.lstrip().startswith(ELIDED_HEADER):
        raise ParseError("this dump was printed with --elide-constants and is for reading only; "
                         "print the module without eliding constants", 1, 1)
    try:
        module = _Reader().module(tree.children[0])
    except IRError as e:  # a safety net: every check above should already have said where
        raise _fail(tree, str(e)) from None
    return _verified(module, tree)

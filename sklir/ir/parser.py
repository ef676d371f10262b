"""Parses the generic text form (``grammar/sklir.lark``) back into a verified module.

Every failure is a :class:`ParseError` carrying the line and column: a syntax error says what was
expected, an unknown op lists none of the registry but names the op, an elided constant says the
dump cannot be parsed, and a type error from the verifier points at the op's line.
"""

from __future__ import annotations

import functools
import json
import typing
from pathlib import Path
from typing import Any

import lark
import numpy as np

from sklir.errors import IRError, ParseError
from sklir.ir import dialects  # noqa: F401  (registers the ops)
from sklir.ir.core import OPS, Module, Node, Tensor, Value
from sklir.ir.types import DType, N, TensorType
from sklir.ir.verifier import verify

GRAMMAR_PATH = Path(__file__).resolve().parents[2] / "grammar" / "sklir.lark"


@functools.lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    return lark.Lark(GRAMMAR_PATH.read_text(), parser="lalr", propagate_positions=True,
                     maybe_placeholders=True)


def _pos(item: lark.Tree | lark.Token) -> tuple[int, int]:
    if isinstance(item, lark.Token):
        return (item.line or 0, item.column or 0)
    return (item.meta.line, item.meta.column) if not item.meta.empty else (0, 0)


def _fail(item: lark.Tree | lark.Token, message: str) -> ParseError:
    line, column = _pos(item)
    return ParseError(message, line, column)


def _expected(e: lark.exceptions.UnexpectedInput) -> str:
    names = sorted(getattr(e, "expected", None) or getattr(e, "allowed", None) or [])
    pretty = [_TERMINAL_NAMES.get(n, n) for n in names]
    return ", ".join(dict.fromkeys(pretty)) if pretty else "something else"


_TERMINAL_NAMES = {
    "LPAR": "'('", "RPAR": "')'", "LBRACE": "'{'", "RBRACE": "'}'", "LSQB": "'['", "RSQB": "']'",
    "COMMA": "','", "COLON": "':'", "EQUAL": "'='", "VALUE": "a value (%name)",
    "OPNAME": "a name", "SYMBOL": "a module name (@name)", "DTYPE": "a dtype",
    "INT": "an integer", "FLOAT": "a float", "STRING": "a string", "BATCH": "N",
    "RETURN": "'return'", "MODULE": "'module'", "ATTRIBUTES": "'attributes'",
    "ELIDED": "'<elided>'", "TRUE": "'true'", "FALSE": "'false'", "$END": "end of input",
}


class _Reader:
    """Turns the lark tree into a module, resolving value names in program order."""

    def __init__(self) -> None:
        self.values: dict[str, Value] = {}

    def type(self, tree: lark.Tree) -> TensorType:
        dtype_tok, *dims = tree.children
        shape: list[Any] = []
        for d in dims:
            if d is None:
                continue
            if d.data == "batch_dim":
                shape.append(N)
            else:
                shape.append(int(d.children[0]))
        return TensorType(DType(str(dtype_tok)), tuple(shape))

    def literal(self, tree: Any, dtype: DType) -> Any:
        """A nested list of python scalars from a tensor literal, checked against ``dtype``."""
        if isinstance(tree, lark.Tree) and tree.data == "list":
            return [self.literal(c, dtype) for c in tree.children if c is not None]
        kind = tree.data if isinstance(tree, lark.Tree) else "token"
        raw = tree.children[0] if isinstance(tree, lark.Tree) and tree.children else None
        if dtype.is_float and kind in ("float_value", "int_value"):
            return float(str(raw))
        if dtype.is_int and kind == "int_value":
            return int(str(raw))
        if dtype is DType.bool and kind in ("true_value", "false_value"):
            return kind == "true_value"
        if dtype is DType.str and kind == "string_value":
            return json.loads(str(raw))
        raise _fail(tree, f"a {dtype.value} tensor cannot hold {kind.replace('_value', '')} element")

    def attribute(self, tree: Any) -> Any:
        """The python value of an attribute before coercion to the op's field type."""
        kind = tree.data
        if kind == "elided_tensor":
            raise _fail(tree, "this constant was elided (--elide-constants); an elided dump "
                              "is for reading and cannot be parsed: print the module in full")
        if kind == "tensor":
            ttype = self.type(tree.children[0])
            if ttype.has_batch:
                raise _fail(tree, "a constant cannot have the batch dimension N")
            elements = self.literal(tree.children[1], ttype.dtype)
            if ttype.dtype is DType.str:
                arr = np.empty(0, dtype=object) if elements == [] else np.array(elements, dtype=object)
            else:
                arr = np.array(elements, dtype=ttype.dtype.numpy)
            if ttype.shape != arr.shape and not (arr.size == 0 and 0 in ttype.shape):
                raise _fail(tree, f"constant declared {ttype} but its literal has shape "
                                  f"[{','.join(map(str, arr.shape))}]")
            return Tensor(arr.reshape(ttype.shape), ttype.dtype)
        if kind == "list":
            return [self.attribute(c) for c in tree.children if c is not None]
        if kind == "dtype_attr":
            return DType(str(tree.children[0]))
        if kind == "int_value":
            return int(str(tree.children[0]))
        if kind == "float_value":
            return float(str(tree.children[0]))
        if kind == "string_value":
            return json.loads(str(tree.children[0]))
        if kind in ("true_value", "false_value"):
            return kind == "true_value"
        raise _fail(tree, f"unexpected attribute {kind}")

    def attr_dict(self, tree: lark.Tree | None) -> list[tuple[lark.Tree, str, Any]]:
        if tree is None:
            return []
        out = []
        for attr in tree.children:
            if attr is None:
                continue
            key, value = attr.children
            out.append((attr, str(key), self.attribute(value)))
        return out

    def define(self, tok: lark.Token, type_: TensorType) -> Value:
        name = str(tok)[1:]
        if name in self.values:
            raise _fail(tok, f"value %{name} is defined twice")
        v = Value(type_, name)
        self.values[name] = v
        return v

    def use(self, tok: lark.Token) -> Value:
        name = str(tok)[1:]
        if name not in self.values:
            raise _fail(tok, f"value %{name} is used before it is defined")
        return self.values[name]

    def statement(self, tree: lark.Tree) -> Node:
        results = [c for c in tree.children if isinstance(c, lark.Tree) and c.data == "result"]
        rest = [c for c in tree.children if not (isinstance(c, lark.Tree) and c.data == "result")]
        opname_tok = rest[0]
        operand_toks = [c for c in rest[1:] if isinstance(c, lark.Token)]
        attrs_tree = next((c for c in rest[1:] if isinstance(c, lark.Tree)), None)
        op_cls = OPS.get(str(opname_tok))
        if op_cls is None:
            raise _fail(opname_tok, f"unknown op '{opname_tok}'")
        operands = tuple(self.use(t) for t in operand_toks)
        fields = op_cls.attribute_types()
        kwargs: dict[str, Any] = {}
        for attr_tree, key, value in self.attr_dict(attrs_tree):
            if key not in fields:
                raise _fail(attr_tree, f"{op_cls.name} has no attribute '{key}' "
                                       f"(it has: {', '.join(fields) or 'none'})")
            if key in kwargs:
                raise _fail(attr_tree, f"attribute '{key}' given twice")
            kwargs[key] = _coerce(attr_tree, op_cls.name, key, value, fields[key])
        missing = [k for k in fields if k not in kwargs]
        if missing:
            raise _fail(opname_tok, f"{op_cls.name} needs attribute(s) {', '.join(missing)}")
        op = op_cls(**kwargs)
        values = tuple(self.define(r.children[0], self.type(r.children[1])) for r in results)
        return Node(op, operands, values, loc=_pos(tree))

    def module(self, tree: lark.Tree) -> Module:
        symbol, *rest = tree.children
        params = [c for c in rest if isinstance(c, lark.Tree) and c.data == "param"]
        attrs = next((c for c in rest if isinstance(c, lark.Tree) and c.data == "module_attrs"), None)
        statements = [c for c in rest if isinstance(c, lark.Tree) and c.data == "statement"]
        ret = next(c for c in rest if isinstance(c, lark.Tree) and c.data == "return_stmt")
        inputs = [self.define(p.children[0], self.type(p.children[1])) for p in params]
        module_attrs = {k: _freeze(v) for _, k, v in self.attr_dict(attrs.children[0] if attrs else None)}
        nodes = [self.statement(s) for s in statements]
        outputs: dict[str, Value] = {}
        for out in ret.children:
            key, value = out.children
            if str(key) in outputs:
                raise _fail(out, f"output '{key}' returned twice")
            outputs[str(key)] = self.use(value)
        return Module(str(symbol)[1:], inputs, nodes, outputs, module_attrs)


def _freeze(value: Any) -> Any:
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


def _coerce(tree: lark.Tree, op: str, key: str, value: Any, annotation: Any) -> Any:
    """Check a parsed attribute against the op's field type, converting lists to tuples."""
    origin = typing.get_origin(annotation)
    if origin is tuple:
        if not isinstance(value, list):
            raise _fail(tree, f"{op}.{key} must be a list")
        (item_type, *_) = typing.get_args(annotation)
        return tuple(_coerce(tree, op, key, v, item_type) for v in value)
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is int and isinstance(value, bool):
        raise _fail(tree, f"{op}.{key} must be an integer, got {value}")
    if not isinstance(value, annotation):
        wanted = getattr(annotation, "__name__", str(annotation))
        raise _fail(tree, f"{op}.{key} must be {wanted}, got {type(value).__name__}")
    return value


def parse(text: str) -> Module:
    """Parse IR text into a verified module; raise :class:`ParseError` with line and column."""
    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedCharacters as e:
        raise ParseError(f"unexpected character {text[e.pos_in_stream]!r}, expected {_expected(e)}",
                         e.line, e.column) from None
    except lark.exceptions.UnexpectedToken as e:
        got = "end of input" if e.token.type == "$END" else repr(str(e.token))
        raise ParseError(f"unexpected {got}, expected {_expected(e)}", e.line, e.column) from None
    except lark.exceptions.UnexpectedEOF as e:
        raise ParseError(f"unexpected end of input, expected {_expected(e)}",
                         e.line if e.line > 0 else text.count("\n") + 1, max(e.column, 1)) from None
    try:
        module = _Reader().module(tree.children[0])
    except ParseError:
        raise
    except IRError as e:
        raise _fail(tree, str(e)) from None
    try:
        return verify(module)
    except IRError as e:
        message = str(e)
        if message.startswith("line "):
            line_part, _, rest = message.partition(": ")
            line, column = (int(p.split()[-1]) for p in line_part.split(", "))
            raise ParseError(rest, line, column) from None
        raise ParseError(message, *_pos(tree)) from None

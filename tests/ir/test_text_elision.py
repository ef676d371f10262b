"""``print_module(m, elide_constants=True)``: readable, says so, and refused by the parser."""

from __future__ import annotations

import numpy as np
import pytest

from sklir.errors import ParseError
from sklir.ir import Builder, DType, Module, Tensor, parse, print_module
from sklir.ir.printer import ELIDE_ABOVE, ELIDED_HEADER


def _module() -> Module:
    big = Tensor(np.linspace(-1.0, 1.0, 4 * 10).reshape(4, 10), DType.f64)
    b, x = Builder.new("elided", 4, DType.f64, {"weights": big, "source": "test"})
    small = b.const(np.array([0.5, -0.0]))
    w = b.const(big.array)
    bias = b.const(np.arange(10, dtype=np.float64))
    z = b.call("add", b.call("matmul", x, w), bias)
    b.output("z", z)
    b.output("small", small)
    return b.module


def _position(text: str, needle: str) -> tuple[int, int]:
    index = text.index(needle)
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def test_elided_dump_says_so_and_hides_only_large_constants() -> None:
    text = print_module(_module(), elide_constants=True)
    assert text.splitlines()[0] == ELIDED_HEADER
    assert "f64[4,10] <elided>" in text  # the module attribute and the weight matrix
    assert text.count("<elided>") == 2  # the 10-element bias is small enough to show
    assert "f64[10] [0.0, 1.0, 2.0," in text and "f64[2] [0.5, -0.0]" in text
    assert ELIDE_ABOVE < 40
    assert print_module(_module()).count("<elided>") == 0


def test_parser_refuses_elided_dump_at_the_first_elided_constant() -> None:
    text = print_module(_module(), elide_constants=True)
    with pytest.raises(ParseError, match="elided .* cannot be parsed") as info:
        parse(text)
    assert (info.value.line, info.value.column) == _position(text, "<elided>")
    assert info.value.line == 2  # the module attribute comes first in the text


def test_parser_refuses_elided_dump_even_when_nothing_was_large() -> None:
    b, x = Builder.new("small", 2, DType.f64)
    b.output("y", b.call("mul", x, b.const(np.array([2.0, 3.0]))))
    text = print_module(b.module, elide_constants=True)
    assert "<elided>" not in text
    with pytest.raises(ParseError, match="elide-constants") as info:
        parse(text)
    assert (info.value.line, info.value.column) == (1, 1)
    assert print_module(parse(print_module(b.module))) == print_module(b.module)

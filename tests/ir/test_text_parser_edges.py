"""Corners of the text format that the golden files cannot show on their own."""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
import pytest

from sklir.errors import ParseError
from sklir.ir import Builder, DType, Tensor, parse, print_module
from sklir.ir.parser import MAX_NESTING
from sklir.ir.printer import format_float

HEAD = "module @m(%x: f32[N,1])"


def _constant(type_: str, literal: str) -> str:
    return f"{HEAD} {{\n  %c: {type_} = constant() {{value = {type_} {literal}}}\n  return c = %c\n}}\n"


@pytest.mark.parametrize(("offset", "expected"), [(1, 1 + 2**-23), (-1, 1.0)])
def test_f32_literal_on_a_double_rounding_tie_rounds_once(offset: int, expected: float) -> None:
    # 1 + 2**-24 is halfway between two f32 values; a decimal a hair off it rounds to that exact
    # halfway f64, so decimal -> f64 -> f32 would pick the even neighbour whichever side it is on
    with localcontext() as ctx:
        ctx.prec = 100
        literal = format(Decimal(1) + Decimal(2) ** -24 + offset * Decimal(2) ** -80, "f")
    assert np.float32(float(literal)) == np.float32(1.0)  # what naive double rounding gives
    value = parse(_constant("f32[1]", f"[{literal}]")).nodes[0].op.value.array[0]
    assert value == np.float32(expected)


def test_every_f32_prints_shortest_and_parses_back() -> None:
    bits = np.random.default_rng(0).integers(0, 2**32, size=20000, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    b, _ = Builder.new("f32s", 1)
    b.output("c", b.const(values, DType.f32))
    back = parse(print_module(b.module)).nodes[0].op.value.array
    finite = np.isfinite(values)
    assert back[finite].tobytes() == values[finite].tobytes()
    assert np.array_equal(np.isnan(back), np.isnan(values))
    assert format_float(0.1, DType.f32) == "0.1" and format_float(0.1) == "0.1"
    assert format_float(float(np.float32(0.1))) == "0.10000000149011612"


def test_nan_keeps_its_sign() -> None:
    assert format_float(float("-nan")) == "-nan" and format_float(float("nan")) == "nan"
    array = parse(_constant("f64[2]", "[nan, -nan]")).nodes[0].op.value.array
    assert np.isnan(array).all() and np.signbit(array).tolist() == [False, True]


def test_deep_nesting_is_refused_where_it_starts() -> None:
    deep = "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1)
    text = f"{HEAD} attributes {{a = {deep}}} {{\n  return y = %x\n}}\n"
    with pytest.raises(ParseError, match=f"nest more than {MAX_NESTING} deep") as info:
        parse(text)
    assert (info.value.line, info.value.column) == (1, text.index("{a = ") + len("{a = ") + MAX_NESTING + 1)
    ok = "[" * MAX_NESTING + "]" * MAX_NESTING
    assert parse(f"{HEAD} attributes {{a = {ok}, s = \"[[[\"}} {{\n  return y = %x\n}}\n").attributes["s"] == "[[["


@pytest.mark.parametrize(("type_", "literal", "message"), [
    ("i64[1]", "[" + "9" * 5000 + "]", "integer literal with 5000 digits is too long"),
    ("f64[1]", "[1e999]", "1e999 is out of range for f64"),
    ("f32[1]", "[3.4028236e+38]", "out of range for f32"),
    ("i64[1]", "[9223372036854775808]", "out of range for i64"),
    ("bool[1]", "[1]", "elements of bool[1] are true or false, found an integer"),
    ("str[1]", "[\"a\tb\"]", "bad string literal (Invalid control character"),
    ("f64[2,0]", "[]", "this list has 0 element(s), expected 2"),
    ("f64[1]", "[f64[1] [1.0]]", "elements of f64[1] are numbers such as 1.5, -0.0, 1e-300, inf or nan, "
                                 "found a tensor"),
    ("f64[0," + "9" * 30 + "]", "[]", "is too large"),
])
def test_bad_constant_literals(type_: str, literal: str, message: str) -> None:
    with pytest.raises(ParseError, match=None) as info:
        parse(_constant(type_, literal))
    assert message in str(info.value) and info.value.line == 2


def test_float_attribute_from_a_huge_integer() -> None:
    text = f"{HEAD} {{\n  %c: f32[N,1] = clip(%x) {{min = 0, max = 1{'0' * 400}}}\n  return c = %c\n}}\n"
    with pytest.raises(ParseError, match=r"clip.max: 10+\.\.\.0+ is too large for a float"):
        parse(text)
    assert parse(text.replace("0" * 400, "")).nodes[0].op.max == 1.0  # an integer is a fine float


def test_printer_keeps_good_name_hints_and_replaces_bad_ones() -> None:
    b, x = Builder.new("names", 2)
    good = b.call("exp", x)
    good.name = "scaled.v2"
    bad = b.call("exp", good)
    bad.name = "two words"
    clash = b.call("exp", bad)
    clash.name = "scaled.v2"
    b.output("y", clash)
    text = print_module(b.module)
    assert "%scaled.v2: f32[N,2] = exp(%x)" in text and "two words" not in text
    assert print_module(parse(text)) == text


def test_numpy_scalars_in_module_attributes_print_as_python_values() -> None:
    b, x = Builder.new("attrs", 1, attributes={
        "classes": (np.int64(3), np.float64(0.5), np.bool_(True), "a"), "tensor": Tensor(np.arange(3))})
    b.output("y", x)
    module = parse(print_module(b.module))
    assert module.attributes["classes"] == (3, 0.5, True, "a")
    assert module.attributes["tensor"] == Tensor(np.arange(3))


@pytest.mark.parametrize("value, text", [
    (16777216.0, "16777216.0"), (1e7, "10000000.0"), (1e16, "1e+16"), (1e15, "1000000000000000.0"),
    (1e-4, "0.0001"), (1.234e-5, "1.234e-05"), (-1e-7, "-1e-07"), (0.1, "0.1"), (1e-45, "1e-45"),
    (3.4028235e38, "3.4028235e+38"), (-0.0, "-0.0"), (2.0**-126, "1.1754944e-38"),
])
def test_f32_layout_is_fixed_whatever_the_numpy_version(value: float, text: str) -> None:
    # shortest f32 digits, laid out as Python's repr lays out a float (numpy's own str changed over releases)
    assert format_float(value, DType.f32) == text


@pytest.mark.parametrize("dtype", ["f64", "f32", "i64", "i32", "bool"])
def test_large_constants_print_as_hex_bytes_and_round_trip(dtype: str) -> None:
    from sklir.ir.printer import HEX_ABOVE

    rng = np.random.default_rng(0)
    raw = rng.standard_normal(HEX_ABOVE + 1) * 1e3
    values = {"f64": raw, "f32": raw.astype(np.float32), "i64": raw.astype(np.int64), "i32": raw.astype(np.int32),
              "bool": raw > 0}[dtype]
    if dtype == "f64":
        values[:3] = [np.nan, -0.0, np.inf]  # bits kept exactly, signed zero and NaN included
    b, _ = Builder.new("big", 1)
    b.output("table", b.call("constant", value=Tensor(values, DType(dtype))))
    text = print_module(b.module)
    assert f"{dtype}[{HEX_ABOVE + 1}] 0x" in text
    back = parse(text)
    assert print_module(back) == text
    got = back.nodes[0].op.value.array  # type: ignore[attr-defined]
    assert got.tobytes() == np.asarray(values, dtype=got.dtype).tobytes()

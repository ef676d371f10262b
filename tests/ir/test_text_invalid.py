"""Invalid IR files: each pins the line, column and message of the ParseError it must raise.

The first line of every file under ``tests/ir/invalid`` is ``# ERROR: <line>:<column>: <text>``;
line numbers count that comment line too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from irtext_support import INVALID

from sklir.errors import ParseError, SklirError
from sklir.ir import parse

_PIN = re.compile(r"# ERROR: (\d+):(\d+): (.+)")


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_file_raises_the_pinned_error(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    pin = _PIN.fullmatch(text.splitlines()[0])
    assert pin, f"{path.name}: first line must be '# ERROR: <line>:<column>: <message>'"
    line, column, message = int(pin[1]), int(pin[2]), pin[3]
    with pytest.raises(ParseError) as info:
        parse(text)
    error = info.value
    assert message in str(error)
    assert (error.line, error.column) == (line, column), str(error)
    assert str(error).startswith(f"line {line}, column {column}: ")
    assert isinstance(error, SklirError)  # what the CLI reports as a one-line error


def test_there_is_an_invalid_file_for_each_kind_of_mistake() -> None:
    stems = {p.stem for p in INVALID}
    for kind in ("syntax_missing_paren", "syntax_bad_dtype", "syntax_bad_dim", "unknown_op",
                 "unknown_attribute", "missing_attribute", "wrong_attribute_type_string_for_int",
                 "undefined_value", "value_defined_twice", "matmul_shape_mismatch", "declared_type_differs",
                 "constant_too_few_elements", "elided_constant", "empty_input", "output_undefined"):
        assert kind in stems


def test_truly_empty_text_points_at_the_start() -> None:
    with pytest.raises(ParseError, match="expected 'module'") as info:
        parse("")
    assert (info.value.line, info.value.column) == (1, 1)


def test_unexpected_end_points_past_the_last_character() -> None:
    with pytest.raises(ParseError, match="unexpected end of input") as info:
        parse("module @m(%x: f32[N,2]) {\n  return y = %x")
    assert (info.value.line, info.value.column) == (2, 16)

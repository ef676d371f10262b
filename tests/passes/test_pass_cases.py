"""Before/after text cases: ``cases/<name>.sklir`` runs the pipeline on its first line.

A case file starts with ``# RUN: <pipeline spec>`` (``default`` for the default pipeline) and
may add ``# RTOL: <tolerance> (<reason>)``; the rest is the input module. The pass output must
print exactly as ``cases/<name>.expected.sklir``; both texts round-trip through the parser; and
the interpreter gives the same outputs before and after on random inputs (rtol 1e-9 unless the
case states otherwise).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pass_checks import assert_same_outputs, random_inputs

from sklir.ir import parse, print_module
from sklir.passes.pipelines import pipeline_from_spec

CASES = Path(__file__).parent / "cases"
INPUTS = sorted(p for p in CASES.glob("*.sklir") if not p.name.endswith(".expected.sklir"))


def _header(text: str, key: str) -> str | None:
    for line in text.splitlines():
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    return None


def _body(text: str) -> str:
    """The module text without the leading ``#`` header lines."""
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)


def test_every_case_has_an_expected_file() -> None:
    assert INPUTS, "no case files found"
    missing = [p.name for p in INPUTS if not p.with_suffix(".expected.sklir").exists()]
    assert not missing


@pytest.mark.parametrize("case", INPUTS, ids=lambda p: p.stem)
def test_case(case: Path) -> None:
    text = case.read_text()
    spec = _header(text, "RUN")
    assert spec, f"{case.name} must start with '# RUN: <pipeline>'"
    rtol = float((_header(text, "RTOL") or "1e-9").split()[0])
    expected = case.with_suffix(".expected.sklir").read_text()

    source = _body(text)
    assert print_module(parse(source)) == source, "input does not round-trip"
    assert print_module(parse(expected)) == expected, "expected output does not round-trip"

    before = parse(source)
    after = pipeline_from_spec(spec).run(before).module
    assert print_module(after) == expected
    # the passes must not have touched the module they were given
    assert print_module(before) == source
    assert_same_outputs(before, after, random_inputs(before), rtol)

"""Property tests of the text format.

(a) Random valid modules built with the Builder print, parse and print again to the same text,
    and parse back to an equal module with every constant bit-exact.
(b) The parser is fuzzed with mutations of the golden files: it parses or raises a ParseError
    with a line and column, never any other exception.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import numpy as np
import pytest
from conftest import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from irtext_support import GOLDEN, assert_same_module

from sklir.errors import ParseError
from sklir.ir import OPS, Builder, DType, Module, Tensor, Value, parse, print_module
from sklir.ir.dialects.arith import BINARY, COMPARE_PREDICATES, UNARY
from sklir.ir.dialects.linalg import REDUCTIONS
from sklir.ir.types import N

EDGE_FLOATS = [-0.0, 0.0, 1e-300, 5e-324, 1.7976931348623157e308, float("inf"), float("-inf"),
               float("nan"), float("-nan"), 0.1, 1e16, -2.5, 3.4028234663852886e38, 1e-45]


def _floats(dtype: DType) -> st.SearchStrategy[float]:
    width = 32 if dtype is DType.f32 else 64
    return st.one_of(st.sampled_from(EDGE_FLOATS), st.floats(width=width))


def _array(draw: st.DrawFn, dtype: DType, shape: tuple[int, ...]) -> np.ndarray:
    size = int(np.prod(shape))
    values = draw(st.lists(_floats(dtype), min_size=size, max_size=size))
    with np.errstate(over="ignore"):  # f64 edge values overflow to inf in f32, which is fine
        return np.array(values, dtype=dtype.numpy).reshape(shape)


_UNARY_FLOAT = sorted(n for n, (_, accepts, to_bool) in UNARY.items() if accepts != "bool" and not to_bool)
_BINARY_FLOAT = sorted(n for n, (_, accepts) in BINARY.items() if accepts != "bool")

# names the printer keeps, names it must replace (they would not parse), and no name at all
_NAME_HINTS = st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_.]{1,6}", fullmatch=True),
                        st.sampled_from(["two words", "", "x", "0", "%y", "é"]))


class _Chain:
    """A module under construction and the float values ``[N, k]`` a next step may consume."""

    def __init__(self, b: Builder, x: Value, dtype: DType) -> None:
        self.b, self.dtype = b, dtype
        self.pool: list[Value] = [x]
        self.extra: list[Value] = []  # results of other dtypes or ranks, offered as outputs

    def pick(self, draw: st.DrawFn) -> Value:
        return draw(st.sampled_from(self.pool))

    def width(self, v: Value) -> int:
        return int(v.type.shape[1])  # type: ignore[arg-type]

    def const(self, draw: st.DrawFn, shape: tuple[int, ...], dtype: DType | None = None) -> Value:
        dtype = dtype or self.dtype
        return self.b.const(_array(draw, dtype, shape), dtype)


def _unary(draw: st.DrawFn, c: _Chain) -> None:
    c.pool.append(c.b.call(draw(st.sampled_from(_UNARY_FLOAT)), c.pick(draw)))


def _binary(draw: st.DrawFn, c: _Chain) -> None:
    a = c.pick(draw)
    k = c.width(a)
    same = [v for v in c.pool if c.width(v) == k]
    other = draw(st.one_of(st.sampled_from(same).map(lambda v: ("value", v)),
                           st.sampled_from([(k,), (), (1, k)]).map(lambda s: ("const", s))))
    b = other[1] if other[0] == "value" else c.const(draw, other[1])
    c.pool.append(c.b.call(draw(st.sampled_from(_BINARY_FLOAT)), a, b))


def _matmul(draw: st.DrawFn, c: _Chain) -> None:
    a = c.pick(draw)
    w = c.const(draw, (c.width(a), draw(st.integers(1, 3))))
    c.pool.append(c.b.call("matmul", a, w))


def _concat(draw: st.DrawFn, c: _Chain) -> None:
    parts = draw(st.lists(st.sampled_from(c.pool), min_size=1, max_size=3))
    c.pool.append(c.b.call("concat", *parts, axis=draw(st.sampled_from([1, -1]))))


def _gather(draw: st.DrawFn, c: _Chain) -> None:
    a = c.pick(draw)
    idx_dtype = draw(st.sampled_from([DType.i32, DType.i64]))
    idx = draw(st.lists(st.integers(0, c.width(a) - 1), min_size=0, max_size=3))
    gathered = c.b.call("gather", a, c.b.const(np.array(idx, dtype=idx_dtype.numpy), idx_dtype), axis=1)
    (c.pool if idx else c.extra).append(gathered)  # a [N,0] value would make later reductions empty


def _reduce(draw: st.DrawFn, c: _Chain) -> None:
    keepdims = draw(st.booleans())
    r = c.b.call("reduce", c.pick(draw), kind=draw(st.sampled_from(sorted(REDUCTIONS))), axis=1,
                 keepdims=keepdims)
    c.pool.append(r if keepdims else c.b.call("expand_dims", r, axis=1))


def _softmax(draw: st.DrawFn, c: _Chain) -> None:
    c.pool.append(c.b.call("softmax", c.pick(draw), axis=draw(st.sampled_from([1, -1]))))


def _argmax(draw: st.DrawFn, c: _Chain) -> None:
    a = c.pick(draw)
    index = c.b.call("argmax", a, axis=1)
    classes_dtype = draw(st.sampled_from([DType.str, DType.i64, DType.f64, DType.bool]))
    n = draw(st.integers(1, 4))
    classes = {
        DType.str: lambda: np.array(draw(st.lists(st.text(max_size=5), min_size=n, max_size=n)), dtype=object),
        DType.i64: lambda: np.array(draw(st.lists(st.integers(-2**63, 2**63 - 1), min_size=n, max_size=n))),
        DType.f64: lambda: _array(draw, DType.f64, (n,)),
        DType.bool: lambda: np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))),
    }[classes_dtype]()
    c.extra.append(c.b.call("label_lookup", index, classes=Tensor(classes, classes_dtype)))
    column = c.b.call("expand_dims", index, axis=-1)
    c.pool.append(c.b.call("take_along_axis", a, column, axis=1))
    c.extra.append(c.b.call("squeeze", c.pool[-1], axis=1))


def _compare_select(draw: st.DrawFn, c: _Chain) -> None:
    a = c.pick(draw)
    threshold = c.const(draw, draw(st.sampled_from([(), (c.width(a),)])))
    mask = c.b.call("compare", a, threshold, predicate=draw(st.sampled_from(sorted(COMPARE_PREDICATES))))
    if draw(st.booleans()):
        mask = c.b.call("logical_not", mask)
    c.extra.append(mask)
    c.pool.append(c.b.call("select", mask, a, threshold))


def _cast(draw: st.DrawFn, c: _Chain) -> None:
    to = draw(st.sampled_from([d for d in DType if d is not DType.str]))
    there = c.b.call("cast", c.pick(draw), to=to)
    c.extra.append(there)
    c.pool.append(c.b.call("cast", there, to=c.dtype))


def _clip(draw: st.DrawFn, c: _Chain) -> None:
    low, high = sorted(draw(st.lists(st.floats(allow_nan=False), min_size=2, max_size=2)))
    c.pool.append(c.b.call("clip", c.pick(draw), min=low, max=high))


STEPS: list[Callable[[st.DrawFn, _Chain], None]] = [
    _unary, _binary, _matmul, _concat, _gather, _reduce, _softmax, _argmax, _compare_select, _cast, _clip,
]

_ATTR_VALUES = st.recursive(
    st.one_of(st.integers(), st.floats(), st.text(max_size=8), st.booleans(), st.sampled_from(list(DType))),
    lambda inner: st.lists(inner, max_size=3).map(tuple), max_leaves=6)


@st.composite
def modules(draw: st.DrawFn) -> Module:
    """A random valid module: a chain of random steps over ``x: f32|f64[N, k]``."""
    dtype = draw(st.sampled_from([DType.f32, DType.f64]))
    attributes = draw(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True), _ATTR_VALUES,
                                      max_size=3))
    b, x = Builder.new(draw(st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,8}", fullmatch=True)),
                       draw(st.integers(1, 4)), dtype, attributes)
    chain = _Chain(b, x, dtype)
    for step in draw(st.lists(st.sampled_from(STEPS), min_size=1, max_size=8)):
        step(draw, chain)
    for node in b.module.nodes:
        for r in node.results:
            r.name = draw(_NAME_HINTS)
    candidates = chain.pool[1:] + chain.extra or [x]
    for i, v in enumerate(draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=3))):
        b.output(f"out{i}", v)
    return b.module


@pytest.mark.sweep
@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules())
def test_random_modules_round_trip_exactly(module: Module) -> None:
    text = print_module(module)
    again = parse(text)
    assert print_module(again) == text
    assert_same_module(module, again)


@pytest.mark.sweep
@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=40), st.sampled_from([DType.f32, DType.f64]))
def test_float_constants_round_trip_bit_exactly(bits: list[int], dtype: DType) -> None:
    if dtype is DType.f32:
        values = np.array(bits, dtype=np.uint32).view(np.float32)
    else:
        values = (np.array(bits, dtype=np.uint64) * np.uint64(2**32 + 12345)).view(np.float64)
    b, x = Builder.new("bits", 1, dtype)
    b.output("c", b.const(values, dtype))
    again = parse(print_module(b.module))
    assert_same_module(b.module, again)


# ---------------------------------------------------------------------------------------------
# (b) the fuzzer

GOLDEN_TEXTS = [p.read_text(encoding="utf-8") for p in GOLDEN]
_TOKEN = re.compile(r'"(?:\\.|[^"\\\n])*"|%[\w.]+|@[\w.]+|-?\d[\w.+-]*|\w+|\S')
_INSERTS = list("()[]{}%@,:=\"\\#-.0123456789eNxf<> \n") + ["f64", "i32", "N", "inf", "nan", "-", "<elided>",
                                                           "return", "module", "constant", "%x", "\u00e9", "\t"]


def _char_edit(rnd: random.Random, text: str) -> str:
    i = rnd.randint(0, len(text))
    j = min(len(text), i + rnd.randint(0, 3))
    new = rnd.choice(["", rnd.choice(_INSERTS), chr(rnd.randint(1, 0x2FFF))])
    return text[:i] + new + text[j:]


def _token_edit(rnd: random.Random, text: str) -> str:
    found = list(_TOKEN.finditer(text))
    if not found:
        return text
    start, end = rnd.choice(found).span()
    # another token of the same file keeps the text plausible: a value, dtype, number or op name elsewhere
    replacement = rnd.choice(["", rnd.choice(found).group(), rnd.choice(_INSERTS), rnd.choice(sorted(OPS))])
    return text[:start] + replacement + text[end:]


def _line_edit(rnd: random.Random, text: str) -> str:
    lines = text.split("\n")
    i, j = rnd.randrange(len(lines)), rnd.randrange(len(lines))
    kind = rnd.choice(["duplicate", "swap", "delete"])
    if kind == "duplicate":
        lines.insert(j, lines[i])
    elif kind == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    else:
        del lines[i]
    return "\n".join(lines)


def _truncate(rnd: random.Random, text: str) -> str:
    return text[:rnd.randint(0, len(text))]


# mutation -> weight; truncation is rare because nearly every truncation fails at the end of input
MUTATIONS: dict[Callable[[random.Random, str], str], int] = {_char_edit: 4, _token_edit: 5, _line_edit: 2, _truncate: 1}


@st.composite
def mutated_goldens(draw: st.DrawFn) -> str:
    """A golden file after one to four random character, token or line edits, or a truncation.

    Edits come from ``random.Random(seed)`` so that they spread evenly over the whole file;
    hypothesis' own integers favour small values, which would keep the edits near the start.
    """
    rnd = random.Random(draw(st.integers(0, 2**64 - 1)))
    text = rnd.choice(GOLDEN_TEXTS)
    for _ in range(rnd.randint(1, 4)):
        mutation = rnd.choices(list(MUTATIONS), weights=list(MUTATIONS.values()))[0]
        text = mutation(rnd, text)
    return text


@pytest.mark.sweep
@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_goldens())
def test_mutated_goldens_parse_or_raise_a_positioned_parse_error(text: str) -> None:
    try:
        module = parse(text)
    except ParseError as e:
        assert isinstance(e.line, int) and e.line >= 1 and isinstance(e.column, int) and e.column >= 1
        assert e.line <= text.count("\n") + 1
        assert str(e).startswith(f"line {e.line}, column {e.column}: ") and len(str(e).splitlines()) == 1
        return
    # a mutation that still parses must print to a fixed point
    printed = print_module(module)
    assert print_module(parse(printed)) == printed


def test_batch_dimension_is_a_singleton_after_parsing() -> None:
    module = parse(GOLDEN_TEXTS[0])
    assert module.inputs[0].type.shape[0] is N

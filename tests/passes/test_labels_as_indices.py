"""``labels-as-indices``: each output a ``label_lookup`` computes becomes its class index, the
table goes into the attributes; through the table the outputs are the same as before."""

from __future__ import annotations

import numpy as np

from sklir.ir import interpret, parse, print_module
from sklir.passes.labels_as_indices import LABEL_TABLES, LabelsAsIndices

BEFORE = """module @m(%x: f32[N,3]) attributes {source = "m"} {
  %i: i64[N] = argmax(%x) {axis = 1}
  %label: str[N] = label_lookup(%i) {classes = str[3] ["a", "b", "c"]}
  %kept: f32[N] = label_lookup(%i) {classes = f32[3] [0.5, 1.5, 2.5]}
  %s: f32[N] = reduce(%x) {kind = "sum", axis = 1, keepdims = false}
  %t: f32[N] = add(%s, %kept)
  return label = %label, total = %t
}
"""

AFTER = """module @m(%x: f32[N,3]) attributes {source = "m", label_tables = [["label", ["a", "b", "c"]]]} {
  %i: i64[N] = argmax(%x) {axis = 1}
  %kept: f32[N] = label_lookup(%i) {classes = f32[3] [0.5, 1.5, 2.5]}
  %s: f32[N] = reduce(%x) {kind = "sum", axis = 1, keepdims = false}
  %t: f32[N] = add(%s, %kept)
  return label = %i, total = %t
}
"""


def test_output_lookups_leave_and_internal_ones_stay() -> None:
    before = parse(BEFORE)
    result = LabelsAsIndices().run(before)
    assert result.modified
    assert print_module(result.module) == AFTER
    assert print_module(parse(AFTER)) == AFTER
    # the module given is untouched
    assert print_module(before) == BEFORE


def test_through_the_table_the_outputs_are_the_same() -> None:
    before = parse(BEFORE)
    after = LabelsAsIndices().run(before).module
    X = np.random.default_rng(0).normal(size=(9, 3)).astype(np.float32)
    want, got = interpret(before, X), interpret(after, X)
    ((name, table),) = after.attributes[LABEL_TABLES]
    np.testing.assert_array_equal(np.asarray(table, dtype=object)[got[name]], want[name])
    np.testing.assert_array_equal(got["total"], want["total"])


def test_a_module_without_labels_is_unchanged() -> None:
    module = parse(AFTER)
    assert not LabelsAsIndices().run(module).modified


NESTED = """module @m(%x: f32[N,3]) {
  %i: i64[N] = argmax(%x) {axis = 1}
  %j: i64[N] = label_lookup(%i) {classes = i64[3] [2, 0, 1]}
  %label: str[N] = label_lookup(%j) {classes = str[3] ["a", "b", "c"]}
  return label = %label
}
"""


def test_a_lookup_of_a_lookup_is_one_table() -> None:
    before = parse(NESTED)
    after = LabelsAsIndices().run(before).module
    assert after.attributes[LABEL_TABLES] == (("label", ("c", "a", "b")),)
    assert [node.op.name for node in after.nodes] == ["argmax"]
    X = np.random.default_rng(1).normal(size=(12, 3)).astype(np.float32)
    table = np.asarray(after.attributes[LABEL_TABLES][0][1], dtype=object)
    np.testing.assert_array_equal(table[interpret(after, X)["label"]], interpret(before, X)["label"])

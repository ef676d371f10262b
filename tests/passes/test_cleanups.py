"""constant-fold, cse and dce beyond the text cases: limits, exactness, no-op results."""

from __future__ import annotations

import numpy as np
from pass_checks import assert_same_outputs, random_inputs

from sklir.ir import Builder, DType, Module
from sklir.passes.pipelines import pipeline_from_spec


def _broadcast_module() -> Module:
    """Adds a [1001, 1] and a [1000] constant: a 1,001,000-element result from 2,001 elements."""
    b, x = Builder.new("broadcast", 1000)
    big = b.call("add", b.const(np.arange(1001.0).reshape(-1, 1)), b.const(np.arange(1000.0)))
    b.output("transform", b.call("add", b.call("cast", x, to=DType.f64), b.call("reduce", big, kind="sum",
                                                                                  axis=0, keepdims=False)))
    return b.module


def test_constant_fold_refuses_to_blow_up_a_small_constant() -> None:
    module = _broadcast_module()
    after = pipeline_from_spec("constant-fold").run(module).module
    # the broadcasting add stays; the reduce after it cannot fold either
    assert [n.op.name for n in after.nodes if n.op.name != "constant"] == ["add", "cast", "reduce", "add"]
    raised = pipeline_from_spec("constant-fold{max_elements=2000000},dce").run(module).module
    assert [n.op.name for n in raised.nodes if n.op.name != "constant"] == ["cast", "add"]
    assert_same_outputs(module, raised, random_inputs(module, rows=4))


def test_constant_fold_is_f64_exact() -> None:
    b, x = Builder.new("exact", 1)
    total = b.call("add", b.const(0.1), b.const(0.2))
    b.output("transform", b.call("add", b.call("cast", x, to=DType.f64), total))
    after = pipeline_from_spec("constant-fold,dce").run(b.module).module
    value = next(n.op.value for n in after.nodes if n.op.name == "constant")
    assert value.dtype is DType.f64 and value.array[()] == 0.1 + 0.2 != 0.3


def test_cleanups_report_no_change_on_a_clean_module() -> None:
    b, x = Builder.new("clean", 2)
    b.output("transform", b.call("exp", b.call("cast", x, to=DType.f64)))
    for spec in ("constant-fold", "cse", "dce"):
        result = pipeline_from_spec(spec).run(b.module)
        assert not result.modified and result.module is b.module

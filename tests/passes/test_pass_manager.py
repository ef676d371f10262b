"""The pass manager: verification after each pass, print-after, fixed point, pipeline errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from sklir.errors import IRError, SklirError
from sklir.ir import Builder, DType, Module, parse, print_module
from sklir.ir.core import Node, Tensor
from sklir.ir.dialects.tensor import Constant
from sklir.passes import PASSES, Pass, PassManager, PassResult, parse_pipeline
from sklir.passes.constant_fold import ConstantFold
from sklir.passes.lower_trees import LowerTrees
from sklir.passes.pipelines import default_pipeline, pipeline_from_spec, precision_pipeline


def _scaled_logistic() -> Module:
    b, x = Builder.new("scaled_logistic", 3)
    v = b.call("cast", x, to=DType.f64)
    v = b.call("div", b.call("sub", v, b.const([1.0, 2.0, 3.0])), b.const([2.0, 4.0, 8.0]))
    logits = b.call("add", b.call("matmul", v, b.const(np.eye(3)[:, :2])), b.const([0.5, -0.5]))
    b.output("probabilities", b.call("softmax", logits, axis=1))
    return b.module


@dataclass(frozen=True)
class ShrinkFirstConstant(Pass):
    """Deliberately broken: swaps the first constant for a shorter one but keeps its result type."""

    name: ClassVar[str] = "shrink-first-constant"

    def run(self, module: Module) -> PassResult:
        nodes = list(module.nodes)
        i = next(i for i, n in enumerate(nodes) if isinstance(n.op, Constant))
        nodes[i] = Node(Constant(Tensor(np.zeros(1))), (), nodes[i].results)
        return PassResult(Module(module.name, module.inputs, nodes, module.outputs), True)


def test_verify_after_each_pass_catches_a_broken_pass() -> None:
    expected = r"after pass shrink-first-constant: .*constant yields f64\[1\], declared f64\[3\]"
    with pytest.raises(IRError, match=expected):
        PassManager([ConstantFold(), ShrinkFirstConstant()]).run(_scaled_logistic())


def test_print_after_receives_every_pass_in_every_round() -> None:
    seen: list[tuple[str, str]] = []
    manager = default_pipeline(lambda name, module: seen.append((name, print_module(module))))
    result = manager.run(_scaled_logistic())
    names = [p.name for p in manager.passes]
    assert names == ["fold-thresholds", "constant-fold", "fold-affine", "constant-fold", "cse", "dce"]
    rounds, rest = divmod(len(seen), len(names))
    # the pipeline changed something in round 1, so a second round confirmed the fixed point
    assert rest == 0 and rounds == 2
    assert [name for name, _ in seen] == names * rounds
    for _, text in seen:
        assert print_module(parse(text)) == text
    assert seen[-1][1] == print_module(result.module)


def test_fixed_point_reports_no_change() -> None:
    once = default_pipeline().run(_scaled_logistic())
    assert once.modified
    twice = default_pipeline().run(once.module)
    assert not twice.modified
    assert print_module(twice.module) == print_module(once.module)


def test_every_pass_is_registered_by_name() -> None:
    assert {"dce", "cse", "constant-fold", "fold-affine", "fold-thresholds", "to-f32"} <= set(PASSES)


def test_unknown_pass_is_an_error_naming_it() -> None:
    with pytest.raises(SklirError, match=r"unknown pass 'fold-everything' \(known: .*fold-affine"):
        parse_pipeline("cse,fold-everything")


def test_unknown_option_is_an_error_naming_it_and_the_options() -> None:
    with pytest.raises(SklirError, match=r"pass constant-fold has no option 'limit' \(options: max_elements\)"):
        pipeline_from_spec("constant-fold{limit=3}")
    with pytest.raises(SklirError, match=r"pass dce has no option 'aggressive' \(options: none\)"):
        pipeline_from_spec("dce{aggressive=true}")


def test_options_reach_the_pass() -> None:
    (fold, dce) = pipeline_from_spec("constant-fold{max_elements=10},dce").passes
    assert fold == ConstantFold(max_elements=10)
    assert dce.name == "dce"


def test_named_pipelines() -> None:
    assert [p.name for p in pipeline_from_spec("default").passes] == [p.name for p in default_pipeline().passes]
    assert precision_pipeline("f64").passes == []
    f32 = ["to-f32", "lower-kernels", "lower-votes", "lower-trees", "constant-fold", "cse", "dce"]
    assert [p.name for p in precision_pipeline("f32").passes] == f32
    strategies = [p for p in precision_pipeline("f32", tree_strategy="traversal").passes if p.name == "lower-trees"]
    assert strategies == [LowerTrees("traversal")]
    with pytest.raises(SklirError, match="no precision pipeline for 'f16'"):
        precision_pipeline("f16")

"""Shared checks for the pass tests: run a module before and after a pipeline and compare."""

from __future__ import annotations

import numpy as np

from sklir.ir import DType, Tensor, interpret
from sklir.ir.core import Module
from sklir.ir.dialects.ml import TreeEnsemble
from sklir.passes.lower_trees import LowerTrees
from sklir.passes.manager import PassManager, parse_pipeline


def random_inputs(module: Module, rows: int = 32, seed: int = 0) -> np.ndarray:
    """Float32 inputs of the module's width, standard normal: finite, both signs, several scales."""
    n = int(module.inputs[0].type.shape[1])
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((rows, n)) * rng.choice([0.1, 1.0, 10.0], size=n)).astype(np.float32)


def assert_same_outputs(before: Module, after: Module, X: np.ndarray, rtol: float = 1e-9) -> None:
    """``after`` (in its own dtypes) computes what ``before`` computes in float64.

    Floats: ``|got - want| <= rtol * max|want|`` per output (relative to the output's own scale,
    since a rewrite may move where a cancellation happens); everything else: identical.
    """
    want = interpret(before, X, "f64")
    got = interpret(after, X, "native")
    assert list(got) == list(want)
    for name, w in want.items():
        g = got[name]
        assert g.shape == w.shape, name
        if w.dtype.kind == "f":
            scale = float(np.max(np.abs(w))) if w.size else 0.0
            np.testing.assert_allclose(g.astype(np.float64), w, rtol=0, atol=rtol * scale, err_msg=name)
        else:
            np.testing.assert_array_equal(g, w, err_msg=name)


def lowered(module: Module, strategy: str = "traversal") -> Module:
    """``module`` with its tree ensembles lowered by ``strategy``, then cleaned up."""
    return PassManager([LowerTrees(strategy), *parse_pipeline("cse,dce")]).run(module).module


def chains(depths: list[int], rng: np.random.Generator) -> TreeEnsemble:
    """Trees of the given depths over 3 columns, each a chain: internal node ``n`` has a leaf
    ``n + 1`` on one side and the next internal node ``n + 2`` (or, last, a leaf) on the other."""
    feature: list[int] = []
    left: list[int] = []
    right: list[int] = []
    roots = []
    for depth in depths:
        roots.append(len(feature))
        for level in range(depth):
            n = len(feature)
            feature += [int(rng.integers(3)), 0]
            deeper = n + 2
            left += [deeper if level % 2 else n + 1, n + 1]
            right += [n + 1 if level % 2 else deeper, n + 1]
        feature.append(0)
        left.append(len(left))
        right.append(len(right))
    nodes = len(feature)
    return TreeEnsemble(
        feature=Tensor(feature, DType.i64), threshold=Tensor(rng.normal(size=nodes), DType.f32),
        left=Tensor(left, DType.i64), right=Tensor(right, DType.i64),
        missing_left=Tensor([False] * nodes, DType.bool), roots=Tensor(roots, DType.i64),
        values=Tensor(rng.normal(size=(nodes, 1)), DType.f32),
        weights=Tensor(rng.uniform(0.5, 2, len(depths)), DType.f32), base=Tensor([0.25], DType.f32))

"""Shared checks for the pass tests: run a module before and after a pipeline and compare."""

from __future__ import annotations

import numpy as np

from sklir.ir import interpret
from sklir.ir.core import Module


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

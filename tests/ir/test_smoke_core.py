"""The core builds, prints, parses and runs a small module."""

import numpy as np

from sklir.ir import Builder, DType, Tensor, interpret, parse, print_module


def test_build_print_parse_run() -> None:
    b, x = Builder.new("demo", 3)
    x64 = b.call("cast", x, to=DType.f64)
    w = b.const(np.array([[0.1, 0.2], [1e-300, -0.0], [2.5, 3.0]]))
    z = b.call("matmul", x64, w)
    label = b.call("label_lookup", b.call("argmax", z, axis=1),
                   classes=Tensor(np.array(["a", "b"], dtype=object)))
    b.output("label", label)
    b.output("probabilities", b.call("softmax", z, axis=1))
    text = print_module(b.module)
    again = parse(text)
    assert print_module(again) == text
    X = np.array([[1, 0, 0], [0, 0, 1]], dtype=np.float32)
    out = interpret(again, X)
    assert out["label"].tolist() == ["b", "b"]
    np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1.0, rtol=1e-12)

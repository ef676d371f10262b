"""fold-affine on real fitted models and on random affine chains (hypothesis)."""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

import numpy as np
import pytest
from conftest import dataset, examples
from hypothesis import given, settings
from hypothesis import strategies as st
from pass_checks import assert_same_outputs, random_inputs

from sklir.ir import Builder, DType, Module, Tensor, interpret, print_module
from sklir.passes.pipelines import default_pipeline, pipeline_from_spec


def _ops(module: Module) -> list[str]:
    """The computing ops in program order (constants and casts left out)."""
    return [n.op.name for n in module.nodes if n.op.name not in ("constant", "cast")]


@cache
def _digits_pipeline() -> Any:
    """StandardScaler -> PCA(20) -> LogisticRegression fitted on digits, once for the whole file."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = dataset("digits")
    return make_pipeline(StandardScaler(), PCA(20, random_state=0), LogisticRegression(max_iter=2000)).fit(X, y)


def _hand_lowered() -> Module:
    """What StandardScaler -> PCA -> LogisticRegression lowers to, built op by op."""
    scaler, pca, logistic = (step for _, step in _digits_pipeline().steps)
    b, x = Builder.new("scaler_pca_logistic", scaler.n_features_in_)
    v = b.call("cast", x, to=DType.f64)
    v = b.call("sub", v, b.const(scaler.mean_))
    v = b.call("div", v, b.const(scaler.scale_))
    v = b.call("matmul", v, b.const(pca.components_.T))
    v = b.call("sub", v, b.const(pca.mean_ @ pca.components_.T))
    v = b.call("matmul", v, b.const(logistic.coef_.T))
    logits = b.call("add", v, b.const(logistic.intercept_))
    proba = b.call("softmax", logits, axis=1)
    label = b.call("label_lookup", b.call("argmax", proba, axis=1), classes=Tensor(logistic.classes_))
    b.output("label", label)
    b.output("probabilities", proba)
    return b.module


def test_scaler_pca_logistic_folds_to_one_matmul_and_one_add() -> None:
    before = _hand_lowered()
    after = default_pipeline().run(before).module
    assert _ops(after) == ["matmul", "add", "softmax", "argmax", "label_lookup"]
    producers = after.producers()
    softmax = next(n for n in after.nodes if n.op.name == "softmax")
    add = producers[softmax.operands[0]]
    assert add.op.name == "add" and producers[add.operands[0]].op.name == "matmul"
    X = dataset("digits")[0]
    # composing the three maps moves rounding around: 1e-9 of each output's scale
    assert_same_outputs(before, after, X, rtol=1e-9)
    # and the result is still scikit-learn's
    np.testing.assert_allclose(interpret(after, X)["probabilities"], _digits_pipeline().predict_proba(X),
                               rtol=0, atol=1e-9)


def test_lowered_sklearn_pipeline_folds_to_one_matmul_and_one_add() -> None:
    import sklir

    X, _ = dataset("digits")
    pipe = _digits_pipeline()
    raw = sklir.lower(pipe, optimize=False)
    module = sklir.lower(pipe)
    counts = Counter(_ops(module))
    assert counts["matmul"] == 1 and counts["add"] == 1, print_module(module, elide_constants=True)
    (softmax,) = [n for n in module.nodes if n.op.name == "softmax"]
    assert module.producers()[softmax.operands[0]].op.name == "add"
    assert_same_outputs(raw, module, X, rtol=1e-9)
    out = interpret(module, X)
    np.testing.assert_array_equal(out["label"], pipe.predict(X))
    np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(X), rtol=0, atol=1e-9)


# ---- random chains -------------------------------------------------------------------------

# step kinds: a binary op with the constant on the right or the left, neg, matmul, gather
KINDS = ["add", "sub", "mul", "div", "radd", "rsub", "rmul", "neg", "matmul", "gather"]


@st.composite
def affine_chains(draw: st.DrawFn) -> tuple[Module, list[str]]:
    """A module ``x -> cast -> k random affine steps -> output``, and the op names of the steps."""
    n = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    b, x = Builder.new("chain", n)
    v = b.call("cast", x, to=DType.f64)
    names: list[str] = []
    for kind in draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=8)):
        m = int(v.type.shape[1])
        if kind == "neg":
            v = b.call("neg", v)
        elif kind == "matmul":
            v = b.call("matmul", v, b.const(rng.standard_normal((m, draw(st.integers(1, 5))))))
        elif kind == "gather":
            idx = rng.integers(-m, m, size=draw(st.integers(1, 5)))
            v = b.call("gather", v, b.const(idx, DType.i64), axis=draw(st.sampled_from([1, -1])))
        else:
            shape = draw(st.sampled_from([(), (m,), (1, m)]))
            # magnitudes in [0.5, 2], either sign: no division by (near) zero
            c = b.const(rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape))
            op = kind.removeprefix("r")
            v = b.call(op, c, v) if kind.startswith("r") else b.call(op, v, c)
        names.append(b.module.nodes[-1].op.name)
    b.output("transform", v)
    return b.module, names


def _subsequence(ops: list[str], form: list[str]) -> bool:
    it = iter(form)
    return all(op in it for op in ops)


@pytest.mark.sweep
@settings(max_examples=examples(300), deadline=None)
@given(affine_chains())
def test_random_affine_chains_fold(case: tuple[Module, list[str]]) -> None:
    before, chain = case
    after = default_pipeline().run(before).module
    ops = _ops(after)
    assert len(ops) <= len(chain)
    canonical = _subsequence(ops, ["matmul", "add"]) or _subsequence(ops, ["gather", "mul", "add"])
    # a chain stays as written only when no canonical form is shorter (at most 3 ops)
    unchanged = ops == chain and len(chain) <= 3
    assert canonical or unchanged, (chain, ops)
    if "matmul" in chain:
        # the headline: any chain through a matmul ends as at most one matmul plus one add
        assert len(ops) <= 2 and (canonical or chain in (["matmul"], ["matmul", "add"])), (chain, ops)
    assert_same_outputs(before, after, random_inputs(before, rows=16), rtol=1e-9)
    # a second run finds nothing left to do
    again = default_pipeline().run(after)
    assert not again.modified and print_module(again.module) == print_module(after)


def test_fold_affine_is_a_no_op_without_chains() -> None:
    b, x = Builder.new("plain", 3)
    b.output("transform", b.call("exp", b.call("cast", x, to=DType.f64)))
    result = pipeline_from_spec("fold-affine").run(b.module)
    assert not result.modified and result.module is b.module


def test_column_transformer_of_scalers_into_logistic_regression_is_one_matmul() -> None:
    """Issue 9's folding case: StandardScaler, MinMaxScaler and RobustScaler on columns picked by
    name (a DataFrame), MaxAbsScaler as the remainder, then LogisticRegression: before the passes a
    gather, an affine step and a concat per block and a matmul; after them one matmul, one add."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler

    import sklir

    X, y = dataset("wine")
    frame = pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])])
    columns = ColumnTransformer([("standard", StandardScaler(), ["c0", "c3", "c5"]),
                                 ("minmax", MinMaxScaler(), ["c1", "c7"]),
                                 ("robust", RobustScaler(), ["c2", "c4", "c6"])], remainder=MaxAbsScaler())
    pipe = make_pipeline(columns, LogisticRegression(max_iter=5000)).fit(frame, y)
    raw = sklir.lower(pipe, optimize=False)
    module = sklir.lower(pipe)
    before = Counter(_ops(raw))
    assert before["gather"] == 4 and before["concat"] == 1 and before["matmul"] == 1, \
        print_module(raw, elide_constants=True)
    assert sorted(_ops(module)) == ["add", "argmax", "label_lookup", "matmul", "softmax"], \
        print_module(module, elide_constants=True)
    assert_same_outputs(raw, module, X, rtol=1e-9)
    out = interpret(module, X)
    np.testing.assert_array_equal(out["label"], pipe.predict(frame))
    np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(frame), rtol=0, atol=1e-9)

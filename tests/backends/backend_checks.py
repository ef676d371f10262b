"""Helpers the backend tests share: one output comparison, one conversion cache, one real model.

``assert_backend_matches`` is the elementwise comparison every backend test uses (the parity
harness and ``python -m sklir check`` compare against scikit-learn with
``sklir.check.compare_outputs`` instead, which reports rather than asserts):

- the same output names, shapes and dtypes;
- NaN exactly where the reference has NaN, and ±inf exactly where it has ±inf;
- integers, bools and strings identical;
- finite floats within ``rtol * max(1, max finite |want|)``, relative to the output's own scale.
  The scale leaves infinities out: with them it would be inf and any difference would pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np
from conftest import dataset

from sklir.backends import TARGETS
from sklir.ir import Module, print_module
from sklir.passes import PASSES, PassManager


def _describe(values: np.ndarray) -> str:
    return np.array2string(values.ravel()[:8], threshold=8)


def assert_backend_matches(got: Mapping[str, np.ndarray], want: Mapping[str, np.ndarray], rtol: float,
                           where: str, *, same_dtype: bool = True) -> None:
    """``got`` equals ``want`` output by output, as the module docstring says.

    ``same_dtype=False`` asks only for the same dtype kind, for references computed in a wider
    float (the interpreter's f64 oracle against its native f32 run).
    """
    assert set(got) == set(want), f"{where}: outputs {sorted(got)} != {sorted(want)}"
    for name, w in want.items():
        g = np.asarray(got[name])
        w = np.asarray(w)
        at = f"{where} {name}"
        assert g.shape == w.shape, f"{at}: shape {g.shape} != {w.shape}"
        if same_dtype:
            assert g.dtype == w.dtype, f"{at}: dtype {g.dtype} != {w.dtype}"
        else:
            assert g.dtype.kind == w.dtype.kind, f"{at}: dtype {g.dtype} is not of the kind of {w.dtype}"
        if w.dtype.kind != "f":
            same = np.asarray(g == w)
            assert same.all(), f"{at}: {_describe(g[~same])} != {_describe(w[~same])} (first mismatches)"
            continue
        nan = np.isnan(w)
        assert np.array_equal(np.isnan(g), nan), (
            f"{at}: NaN positions differ; got {_describe(g[np.isnan(g) != nan])} where want is "
            f"{_describe(w[np.isnan(g) != nan])}")
        # an infinity must be the same infinity: no finite tolerance covers it
        infinite = np.isinf(g) | np.isinf(w)
        assert np.array_equal(g[infinite], w[infinite]), (
            f"{at}: infinities differ; got {_describe(g[infinite])}, want {_describe(w[infinite])}")
        finite = np.isfinite(w)
        scale = max(1.0, float(np.max(np.abs(w[finite]), initial=0.0)))
        err = np.abs(g[finite].astype(np.float64) - w[finite].astype(np.float64))
        worst = float(err.max(initial=0.0))
        assert worst <= rtol * scale, (
            f"{at}: max |got - want| = {worst:.3g} > {rtol:g} * {scale:.3g}; got {_describe(g[finite][err == worst])}, "
            f"want {_describe(w[finite][err == worst])}")


# (sha1 of the module text, target) -> artefact bytes
_EMITTED: dict[tuple[str, str], bytes] = {}


def emitted(module: Module, target: str) -> bytes:
    """``module`` emitted as ``target`` exactly as given, converted at most once per test session.

    Keyed on the module's text, which prints constants exactly, so equal keys are equal modules.
    Unlike ``parity.artefact`` (``sklir.emit``), this skips the precision pass: the backend tests
    compare the emitter's output with the interpreter on the very module it was given, f64 included.
    High-level ops are lowered first by their own passes (nothing else runs), as any backend needs.
    """
    if TARGETS[target].is_directory:
        raise ValueError(f"{target} writes a directory, not bytes: emit it with a path")
    key = (hashlib.sha1(print_module(module).encode()).hexdigest(), target)
    if key not in _EMITTED:
        _EMITTED[key] = TARGETS[target].load()(lowered(module))
    return _EMITTED[key]


def lowered(module: Module) -> Module:
    """``module`` with its high-level ops rewritten into core ops by the passes they name."""
    names = sorted({node.op.lowered_by for node in module.nodes if node.op.lowered_by is not None})
    return PassManager([PASSES[name]() for name in names]).run(module).module if names else module


@cache
def iris_pipeline() -> tuple[Any, Module]:
    """StandardScaler + LogisticRegression fitted on iris with string labels, and its lowering."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import sklir

    X, y = dataset("iris")
    labels = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, labels)
    return estimator, sklir.lower(estimator)

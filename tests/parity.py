"""The parity harness every frontend test uses: scikit-learn vs interpreter vs real artefacts.

``assert_parity(estimator, X)`` lowers the estimator (or a chain of models, a Keras network) with
the default passes, then checks every output of the module against scikit-learn's own method on
the same data (for a chain, the models run one after the other; a network's ``predict``):

- the reference interpreter (float64) against scikit-learn: ``rtol=1e-9`` (pure float64 math;
  only summation order differs); against a Keras network, which computes in float32 itself,
  ``rtol``;
- the ``.tflite`` under LiteRT and the ``.onnx`` under onnxruntime (float32) against
  scikit-learn: labels identical, floats within ``rtol`` relative to the output's own scale,
  i.e. ``|got - want| <= rtol * max(1, max|want|)`` elementwise, default ``rtol=1e-5``.
  Tests that need a looser tolerance pass it explicitly with the reason beside it.

Every lowered module must also round-trip through its text form (:func:`assert_round_trip`).
``X`` is rounded to float32 first so scikit-learn sees exactly the numbers the artefact sees.
Conversions are cached for the whole session, keyed on the module text, so a model converted in
one test is not converted again in another. ``SKLIR_TEST_BACKENDS`` (comma-separated from
``interpreter,tflite,onnx``; default all) narrows the runtimes while a backend is being built, and
adds the profiled ones: ``micro`` and ``micro8`` run the ``micro`` profile's artefact (batch 1 and
8) under TensorFlow Lite Micro's interpreter (``SKLIR_TEST_BACKENDS=micro,micro8 pytest
tests/frontend`` is the whole parity suite there).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np
import pytest

import sklir
from sklir.backends.profiles import profile_named
from sklir.check import compare_outputs, expected_outputs, format_table, passed
from sklir.errors import SklirError
from sklir.ir.core import Module
from sklir.ir.printer import print_module
from sklir.runtimes import dataframe_batch, float32_numbers, run

# the interpreter computes in float64 like scikit-learn; only summation order differs
INTERPRETER_RTOL = 1e-9

BACKENDS = [b.strip() for b in os.environ.get("SKLIR_TEST_BACKENDS", "interpreter,tflite,onnx").split(",")]
_ARTEFACTS: dict[tuple[str, str, str], bytes] = {}


# a backend name of the harness that is a profile's artefact: -> (target, profile, batch, runtime)
PROFILED: dict[str, tuple[str, str, int, str]] = {
    "micro": ("tflite", "micro", 1, "micro"),
    "micro8": ("tflite", "micro", 8, "micro"),
}


def artefact(module: Module, target: str, tree_strategy: str = "auto") -> bytes:
    """The emitted artefact for ``module`` (tree ensembles lowered by ``tree_strategy``), converted
    at most once per test session: keyed on the module's text, which prints constants exactly.
    ``target`` may name a profiled backend of :data:`PROFILED` (``micro``, ``micro8``)."""
    key = (hashlib.sha1(print_module(module).encode()).hexdigest(), target, tree_strategy)
    if key not in _ARTEFACTS:
        if target in PROFILED:
            real, profile, batch, _ = PROFILED[target]
            _ARTEFACTS[key] = sklir.emit(module, real, tree_strategy=tree_strategy,
                                         profile=profile_named(profile, batch))
        else:
            _ARTEFACTS[key] = sklir.emit(module, target, tree_strategy=tree_strategy)
    return _ARTEFACTS[key]


def assert_round_trip(module: Module) -> None:
    """print(parse(text)) == text for the module's text; constants print exactly, so equal text
    means the parsed module is the same module, bit for bit."""
    text = print_module(module)
    assert print_module(sklir.parse(text)) == text, "the lowered module does not round-trip through its text"


def assert_bit_exact_before_passes(estimator: Any, X: np.ndarray) -> None:
    """The interpreter reproduces ``estimator.transform(X)`` bit for bit on the unoptimised module.

    For lowerings that compute in scikit-learn's own order: before the passes reorder anything the
    float64 interpreter must give scikit-learn's exact bits, not merely close ones.
    """
    got = sklir.interpret(sklir.lower(estimator, optimize=False), np.asarray(X, dtype=np.float32))["transform"]
    np.testing.assert_array_equal(got, estimator.transform(np.asarray(X, dtype=np.float64)))


# the libraries whose models compute in float32 themselves (a Keras network; XGBoost sums its
# leaf values and applies its link in float32): the interpreter meets them at rtol, not 1e-9
FLOAT32_LIBRARIES = ("scikeras", "xgboost")


def _has_network(model: Any) -> bool:
    """Whether ``model`` holds a model that computes in float32 itself (:data:`FLOAT32_LIBRARIES`)."""
    from sklir.frontend.chain import Chain, is_keras_model, resolve

    model = resolve(model)
    if isinstance(model, Chain):
        return any(is_keras_model(m) or _has_network(m) for m in model.models)
    if hasattr(model, "steps"):
        return any(_has_network(step) for _, step in model.steps)
    return type(model).__module__.split(".")[0] in FLOAT32_LIBRARIES


def batch_of(module: Module, X: Any) -> Any:
    """What the artefact of ``module`` is fed for ``X``: the array, or for a DataFrame the named
    inputs the module's metadata lists (its numeric columns as one array when it has one input)."""
    if not hasattr(X, "columns"):
        return X
    inputs = module.attributes.get("inputs")
    if inputs is not None:
        return dataframe_batch(inputs, X)
    return X[list(module.attributes["feature_names"])].to_numpy(np.float32)


def runtime(backend: str) -> str:
    """The runtime kind that runs a harness backend's artefact (``micro8``'s is ``micro``)."""
    return PROFILED[backend][3] if backend in PROFILED else backend


def refused_by_profile(module: Module, backend: str) -> str | None:
    """The reason a profiled backend's runtime cannot hold ``module`` (TensorFlow Lite Micro has no
    string tensors: a model reading a string column), which its emission must give; else None."""
    from sklir.ir.types import DType

    if backend in PROFILED and any(v.type.dtype is DType.str for v in module.inputs):
        return "has no string tensors"
    return None


def assert_parity(estimator: Any, X: Any, rtol: float = 1e-5,
                  backends: list[str] | None = None, rtol_for: dict[str, float] | None = None) -> Module:
    """Check every output of ``estimator``'s lowering against scikit-learn on ``X`` (an array, or a
    DataFrame with string columns); return the module. ``rtol_for`` gives a backend its own
    tolerance (the caller states why); a profiled backend whose runtime cannot hold the model must
    refuse it with the reason (:func:`refused_by_profile`)."""
    if hasattr(X, "columns"):
        X = float32_numbers(X)
        want = expected_outputs(estimator, X)
    else:
        X = np.asarray(X, dtype=np.float32)
        want = expected_outputs(estimator, X.astype(np.float64))
    module = sklir.lower(estimator)
    batch = batch_of(module, X)
    assert_round_trip(module)
    assert set(module.outputs) == set(want), f"outputs {sorted(module.outputs)} != contract {sorted(want)}"
    # a Keras network or an XGBoost model computes in float32 itself: the interpreter meets it at
    # rtol, not 1e-9
    exact = INTERPRETER_RTOL if not _has_network(estimator) else rtol
    for backend in backends or BACKENDS:
        if backend == "interpreter":
            got, tolerance = sklir.interpret(module, batch), exact
        else:
            reason = refused_by_profile(module, backend)
            if reason is not None:
                with pytest.raises(SklirError, match=reason):
                    artefact(module, backend)
                continue
            tolerance = (rtol_for or {}).get(backend, rtol)
            got = run(artefact(module, backend), runtime(backend), batch)
        rows = compare_outputs(got, want, tolerance)
        assert passed(rows), f"{backend} vs scikit-learn:\n{format_table(rows, tolerance)}"
    return module


def assert_leaves(module: Module, X: np.ndarray, want: np.ndarray, strategy: str, backend: str) -> None:
    """The ``leaves`` internal of ``module`` (lowered with it) equals ``want`` on float32 ``X``, in
    the interpreter and in ``backend``'s artefact lowered by ``strategy``; ``gemm`` may refuse an
    ensemble whose path matrix is too large, and only that."""
    np.testing.assert_array_equal(sklir.interpret(module, X)["leaves"], want)
    try:
        got = run(artefact(module, backend, strategy), runtime(backend), X)["leaves"]
    except SklirError as e:
        assert strategy == "gemm" and "path matrix" in str(e), str(e)
        return
    np.testing.assert_array_equal(got, want)

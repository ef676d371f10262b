"""The parity harness every frontend test uses: scikit-learn vs interpreter vs real artefacts.

``assert_parity(estimator, X)`` lowers the estimator with the default passes, then checks every
output of the module against scikit-learn's own method on the same data:

- the reference interpreter (float64) against scikit-learn: ``rtol=1e-9`` (pure float64 math;
  only summation order differs);
- the ``.tflite`` under LiteRT and the ``.onnx`` under onnxruntime (float32) against
  scikit-learn: labels identical, floats within ``rtol`` relative to the output's own scale,
  i.e. ``|got - want| <= rtol * max(1, max|want|)`` elementwise, default ``rtol=1e-5``.
  Tests that need a looser tolerance pass it explicitly with the reason beside it.

``X`` is rounded to float32 first so scikit-learn sees exactly the numbers the artefact sees.
Conversions are cached for the whole session, keyed on the module text, so a model converted in
one test is not converted again in another. ``SKLIR_TEST_BACKENDS`` (comma-separated from
``interpreter,tflite,onnx``; default all) narrows the runtimes while a backend is being built.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np

import sklir
from sklir.ir.core import Module
from sklir.ir.printer import print_module
from sklir.runtimes import run

BACKENDS = [b.strip() for b in os.environ.get("SKLIR_TEST_BACKENDS", "interpreter,tflite,onnx").split(",")]
_ARTEFACTS: dict[tuple[str, str], bytes] = {}


def artefact(module: Module, target: str) -> bytes:
    """The emitted artefact for ``module``, converted at most once per test session."""
    key = (hashlib.sha1(print_module(module).encode()).hexdigest(), target)
    if key not in _ARTEFACTS:
        _ARTEFACTS[key] = sklir.emit(module, target)
    return _ARTEFACTS[key]


def expected_outputs(estimator: Any, X: np.ndarray) -> dict[str, np.ndarray]:
    """What scikit-learn returns for each output name of the contract."""
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, np.ndarray] = {}
    if is_classifier(estimator):
        out["label"] = np.asarray(estimator.predict(X))
        if hasattr(estimator, "predict_proba"):
            out["probabilities"] = np.asarray(estimator.predict_proba(X))
        if hasattr(estimator, "decision_function"):
            out["decision"] = np.asarray(estimator.decision_function(X))
    elif is_regressor(estimator):
        out["prediction"] = np.asarray(estimator.predict(X))
    elif hasattr(estimator, "transform"):
        out["transform"] = np.asarray(estimator.transform(X))
    else:
        raise AssertionError(f"no output contract for {type(estimator).__name__}")
    return out


def _compare(name: str, got: np.ndarray, want: np.ndarray, rtol: float, where: str) -> None:
    got = np.asarray(got)
    assert got.shape == want.shape, f"{where} {name}: shape {got.shape} != scikit-learn's {want.shape}"
    if want.dtype.kind in "fc" and name != "label":
        scale = max(1.0, float(np.nanmax(np.abs(want)))) if want.size else 1.0
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=0, atol=rtol * scale,
                                   err_msg=f"{where} {name}")
    else:
        same = got.astype(object) == want.astype(object) if want.dtype.kind in "OUS" else got == want
        assert np.all(same), (f"{where} {name}: {int(np.size(same) - np.sum(same))} of {want.size} "
                              f"labels differ from scikit-learn's")


def assert_parity(estimator: Any, X: np.ndarray, rtol: float = 1e-5,
                  backends: list[str] | None = None) -> Module:
    """Check every output of ``estimator``'s lowering against scikit-learn on ``X``; return the module."""
    X = np.asarray(X, dtype=np.float32)
    want = expected_outputs(estimator, X.astype(np.float64))
    module = sklir.lower(estimator)
    assert set(module.outputs) == set(want), f"outputs {sorted(module.outputs)} != contract {sorted(want)}"
    for backend in backends or BACKENDS:
        if backend == "interpreter":
            got = sklir.interpret(module, X)
            for name in want:
                _compare(name, got[name], want[name], 1e-9, "interpreter")
        else:
            got = run(artefact(module, backend), backend, X)
            assert set(got) == set(want), f"{backend} outputs {sorted(got)} != contract {sorted(want)}"
            for name in want:
                _compare(name, got[name], want[name], rtol, backend)
    return module

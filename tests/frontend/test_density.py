"""KernelDensity's ``score_samples`` against scikit-learn, every kernel, with sample weights and a
rule-of-thumb bandwidth, on iris rows moved by noise. Interpreter within 1e-9 of scale, LiteRT and
onnxruntime within 1e-5 (the harness's defaults).

The compact kernels use a bandwidth that reaches a training row from every scored row: beyond
every training row the density is 0 and the artefact gives ``log(0) = -inf``, where
scikit-learn's tree leaves its rounding (a log density near -36); that case is tested on its own.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import dataset
from parity import assert_parity
from sklearn.neighbors import KernelDensity

import sklir
from sklir.frontend.families.density import KERNELS


def _rows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, _ = dataset("iris")
    X = X.astype(np.float32).astype(np.float64)
    rng = np.random.default_rng(0)
    return X, X + rng.normal(scale=0.3, size=X.shape), rng.uniform(0.5, 2.0, len(X))


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_every_kernel_with_weights(kernel: str) -> None:
    X, scored, weights = _rows()
    bandwidth = 0.8 if kernel in ("gaussian", "exponential") else 1.5
    assert_parity(KernelDensity(kernel=kernel, bandwidth=bandwidth).fit(X, sample_weight=weights), scored)


def test_rule_of_thumb_bandwidth() -> None:
    X, scored, _ = _rows()
    assert_parity(KernelDensity(bandwidth="silverman").fit(X), scored)


def test_a_row_beyond_every_compact_kernel_has_log_density_minus_infinity() -> None:
    X, _, _ = _rows()
    model = KernelDensity(kernel="epanechnikov", bandwidth=0.5).fit(X)
    far = np.full((1, X.shape[1]), 100.0, np.float32)
    assert sklir.interpret(sklir.lower(model), far)["score"][0] == -np.inf
    for target in ("tflite", "onnx"):
        assert sklir.runtimes.run(sklir.emit(sklir.lower(model), target), target, far)["score"][0] == -np.inf

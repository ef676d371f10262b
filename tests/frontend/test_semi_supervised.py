"""LabelPropagation and LabelSpreading against scikit-learn, both kernels, with a third of the
wine labels hidden (-1) at fit; scored on wine rows moved by noise (no ties between distances).
Labels identical, probabilities within 1e-5 of scale (the harness's defaults)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import standardised
from parity import assert_parity
from sklearn.semi_supervised import LabelPropagation, LabelSpreading


@pytest.mark.parametrize("model", [
    LabelPropagation(gamma=0.5, max_iter=2000), LabelPropagation(kernel="knn", n_neighbors=5, max_iter=2000),
    LabelSpreading(gamma=0.5), LabelSpreading(kernel="knn", n_neighbors=7, alpha=0.5),
], ids=repr)
def test_label_propagation(model: Any) -> None:
    X, y = standardised("wine")
    rng = np.random.default_rng(0)
    hidden = np.where(rng.random(len(y)) < 1 / 3, -1, y)
    model.fit(X, hidden)
    assert_parity(model, X + rng.normal(scale=0.05, size=X.shape))

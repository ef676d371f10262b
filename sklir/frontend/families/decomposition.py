"""Linear projections: PCA (whiten too), IncrementalPCA and TruncatedSVD.

scikit-learn projects first and centres after (``X @ C.T - mean_ @ C.T``), so the lowering does
the same: one matmul by a constant, then a columnwise ``sub`` (and ``div`` when whitening), the
affine shapes the fold-affine pass folds into the next matmul.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.decomposition import PCA, IncrementalPCA, TruncatedSVD

from sklir.frontend.affine import affine, columnwise
from sklir.frontend.registry import lowers
from sklir.ir.builder import Builder
from sklir.ir.core import Value


def whitening_scale(explained_variance: np.ndarray) -> np.ndarray:
    """``sqrt(explained_variance_)`` clipped below at machine epsilon, as scikit-learn divides by."""
    scale = np.sqrt(np.asarray(explained_variance))
    return np.maximum(scale, np.finfo(scale.dtype).eps)


@lowers(PCA, IncrementalPCA)
def lower_pca(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """``x @ C.T - mean_ @ C.T``, divided by the whitening scale when ``whiten``."""
    components = np.asarray(est.components_)
    y = affine(b, x, components.T)
    if getattr(est, "mean_", None) is not None:
        y = columnwise(b, y, "sub", np.reshape(est.mean_, (1, -1)) @ components.T)
    if est.whiten:
        y = columnwise(b, y, "div", whitening_scale(est.explained_variance_))
    return {"transform": y}


@lowers(TruncatedSVD)
def lower_truncated_svd(est: TruncatedSVD, b: Builder, x: Value) -> dict[str, Value]:
    """``x @ components_.T``: no centring."""
    return {"transform": affine(b, x, np.asarray(est.components_).T)}

"""Clusterers with a closed-form predict: KMeans and MiniBatchKMeans (issue 7).

``predict`` is the nearest cluster centre (the first on ties), from squared euclidean distances
through the :class:`~sklir.ir.dialects.ml.Kernel` op; ``transform`` is the euclidean distance to
every centre, as ``euclidean_distances`` computes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans

from sklir.frontend.kernels import kernel
from sklir.frontend.registry import lowers
from sklir.ir.builder import Builder
from sklir.ir.core import Value


@lowers(KMeans, MiniBatchKMeans)
def _k_means(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    centres = np.asarray(est.cluster_centers_, np.float64)
    nearest = b.call("argmax", b.call("neg", kernel(b, x, centres, "sqeuclidean")), axis=1)
    return {"label": nearest, "transform": kernel(b, x, centres, "euclidean")}

"""KernelRidge (issue 7): ``predict`` is ``K(x, X_fit_) @ dual_coef_``.

Every kernel scikit-learn names, through the :class:`~sklir.ir.dialects.ml.Kernel` op:
``linear`` and ``cosine`` (a linear kernel of the normalised rows) folded into one weight matrix
``X_fit_^T dual_coef_``, as for the SVMs (the sum over training rows would cancel in float32);
``poly``/``polynomial``, ``rbf``, ``sigmoid``, ``laplacian`` (``exp(-gamma * manhattan)``),
``additive_chi2`` and ``chi2`` (``exp(gamma * additive_chi2)``). ``gamma=None`` takes each kernel
function's own default (``1 / n_features``, or 1 for chi2); like scikit-learn, a string kernel
ignores ``kernel_params``. A precomputed or callable kernel has no stored form and is refused by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.kernel_ridge import KernelRidge

from sklir.frontend.affine import affine
from sklir.frontend.families.scalers import normalized
from sklir.frontend.kernels import kernel
from sklir.frontend.registry import PRECHECKS, lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value

# scikit-learn's kernel name -> (the kernel op's metric, its default gamma for n features)
KERNELS: dict[str, tuple[str, Any]] = {
    "linear": ("linear", None), "poly": ("poly", lambda n: 1.0 / n), "polynomial": ("poly", lambda n: 1.0 / n),
    "rbf": ("rbf", lambda n: 1.0 / n), "sigmoid": ("sigmoid", lambda n: 1.0 / n),
    "laplacian": ("manhattan", lambda n: 1.0 / n), "cosine": ("linear", None),
    "additive_chi2": ("additive_chi2", None), "chi2": ("additive_chi2", lambda n: 1.0),
}


def _check(est: Any) -> None:
    if not isinstance(est.kernel, str) or est.kernel not in KERNELS:
        raise refuse(est, "kernel", est.kernel, sorted(KERNELS))


PRECHECKS[KernelRidge] = _check


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """``sklearn.preprocessing.normalize(vectors)``: rows of norm below ``10 * eps`` stay as they are."""
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))
    return vectors / np.where(norms < 10 * np.finfo(np.float64).eps, 1.0, norms)[:, None]


def gram(b: Builder, x: Value, vectors: np.ndarray, name: str, gamma: float | None, coef0: float, degree: float,
         n_features: int) -> Value:
    """``pairwise_kernels(x, vectors, metric=name, gamma=..., coef0=..., degree=...)``, ``[N, M]``
    (cosine: the linear kernel of the normalised rows)."""
    metric, default = KERNELS[name]
    if name == "cosine":
        x, vectors = normalized(b, x), unit_rows(vectors)
    if gamma is None and default is not None:
        gamma = default(n_features)
    k = kernel(b, x, vectors, metric, gamma=gamma or 0.0, coef0=coef0, degree=degree)
    if name == "laplacian":
        return b.call("exp", b.call("mul", k, b.const(-float(gamma or 0.0))))
    if name == "chi2":
        return b.call("exp", b.call("mul", k, b.const(float(gamma or 0.0))))
    return k


@lowers(KernelRidge)
def _kernel_ridge(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    _check(est)
    vectors = np.asarray(est.X_fit_, np.float64)
    dual = np.asarray(est.dual_coef_, np.float64)
    single = dual.ndim == 1
    if est.kernel in ("linear", "cosine"):
        if est.kernel == "cosine":
            x, vectors = normalized(b, x), unit_rows(vectors)
        prediction = affine(b, x, vectors.T @ dual.reshape(len(vectors), -1))
    else:
        k = gram(b, x, vectors, est.kernel, est.gamma, float(est.coef0), float(est.degree), vectors.shape[1])
        prediction = b.call("matmul", k, b.const(dual.reshape(len(vectors), -1)))
    return {"prediction": b.call("squeeze", prediction, axis=1) if single else prediction}

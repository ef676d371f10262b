"""Projections and feature maps with a closed-form ``transform`` (issue 9).

Most are affine, so ``fold-affine`` merges them with the steps around them:

- GaussianRandomProjection, SparseRandomProjection, NeighborhoodComponentsAnalysis:
  ``x @ components_.T``; FastICA: ``(x - mean_) @ components_.T`` (the mean only when whitened);
- FactorAnalysis: ``(x - mean_) @ Wpsi.T @ inv(I + Wpsi @ components_.T)`` with
  ``Wpsi = components_ / noise_variance_``;
- SparsePCA and MiniBatchSparsePCA: the ridge regression of the centred rows on the components,
  ``(x - mean_) @ C.T @ inv(C @ C.T + ridge_alpha I)``;
- FeatureAgglomeration (mean pooling): each cluster's mean of its features;
- PLSRegression, PLSCanonical, CCA: ``predict`` ``(x - x_mean) @ coef_.T + intercept_`` (their
  ``fit_transform`` returns a pair, so no pipeline can use them as a step); PLSSVD: ``transform``
  ``(x - x_mean) / x_std @ x_weights_``.

And the nonlinear feature maps:

- RBFSampler: ``cos(x @ random_weights_ + random_offset_) * sqrt(2 / n_components)``;
- SkewedChi2Sampler: the same of ``log(x + skewedness)``, times ``sqrt(2) / sqrt(n_components)``;
- Nystroem: the kernel to ``components_`` (every kernel KernelRidge lowers) ``@ normalization_.T``;
- BernoulliRBM: ``sigmoid(x @ components_.T + intercept_hidden_)``;
- AdditiveChi2Sampler: ``sqrt(x * interval)``, then for each step ``j`` the factor
  ``sqrt(2 x interval / cosh(pi j interval))`` times ``cos`` and ``sin`` of ``j interval log(x)``;
  a zero entry stays 0 in every block (scikit-learn computes only the nonzero entries);
- DictionaryLearning, MiniBatchDictionaryLearning, SparseCoder with ``transform_algorithm=
  "threshold"``: the soft threshold of ``x @ components_.T`` at ``alpha``, ``c - clip(c, -a, a)``
  (exactly ``sign(c) * max(|c| - a, 0)``), clipped at 0 for ``positive_code``, split by sign for
  ``split_sign``. Their other algorithms (lasso, lars, omp) solve an optimisation per row, which no
  fixed graph computes: refused with that reason;
- PolynomialCountSketch: each degree's count sketch of ``[sqrt(gamma) x, sqrt(coef0)]`` is
  linear in ``x``, and so is its discrete Fourier transform: one matrix per degree for the real
  part and one for the imaginary, their complex product over the degrees, then the real part of
  the inverse transform, ``(Re @ C - Im @ S) / n``: what scipy's FFTs compute, as matmuls;
- Isomap (``n_neighbors``): the geodesic distances to the training rows through each row's nearest
  ones, then its KernelPCA on them (a precomputed kernel);
- KernelPCA: the kernel to the training rows (linear, poly, rbf, sigmoid, cosine), centred as at
  fit, times the eigenvectors divided by the square roots of their eigenvalues (0 for a zero
  eigenvalue, as scikit-learn does).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg
from sklearn.cluster import FeatureAgglomeration
from sklearn.cross_decomposition import CCA, PLSSVD, PLSCanonical, PLSRegression
from sklearn.decomposition import (
    DictionaryLearning,
    FactorAnalysis,
    FastICA,
    KernelPCA,
    MiniBatchDictionaryLearning,
    MiniBatchSparsePCA,
    SparseCoder,
    SparsePCA,
)
from sklearn.kernel_approximation import (
    AdditiveChi2Sampler,
    Nystroem,
    PolynomialCountSketch,
    RBFSampler,
    SkewedChi2Sampler,
)
from sklearn.manifold import Isomap
from sklearn.neighbors import NeighborhoodComponentsAnalysis
from sklearn.neural_network import BernoulliRBM
from sklearn.random_projection import GaussianRandomProjection, SparseRandomProjection

from sklir.errors import UnsupportedEstimatorError
from sklir.frontend.affine import affine, columnwise, side_by_side
from sklir.frontend.families.feature_maps import centred_kernel
from sklir.frontend.families.kernel_ridge import KERNELS as KERNEL_NAMES
from sklir.frontend.families.kernel_ridge import gram
from sklir.frontend.families.neighbours import nearest
from sklir.frontend.registry import INPUT_WIDTHS, PRECHECKS, lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value


def _dense(matrix: Any) -> np.ndarray:
    return np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix, np.float64)


@lowers(GaussianRandomProjection, SparseRandomProjection, NeighborhoodComponentsAnalysis)
def _projection(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    return {"transform": affine(b, x, _dense(est.components_).T)}


@lowers(FastICA)
def _fast_ica(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    if est.whiten:
        x = columnwise(b, x, "sub", est.mean_)
    return {"transform": affine(b, x, _dense(est.components_).T)}


@lowers(FactorAnalysis)
def _factor_analysis(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    components = np.asarray(est.components_, np.float64)
    wpsi = components / np.asarray(est.noise_variance_, np.float64)
    cov_z = linalg.inv(np.eye(len(components)) + wpsi @ components.T)
    return {"transform": affine(b, columnwise(b, x, "sub", est.mean_), wpsi.T @ cov_z)}


@lowers(SparsePCA, MiniBatchSparsePCA)
def _sparse_pca(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    components = np.asarray(est.components_, np.float64)
    gram_matrix = components @ components.T + est.ridge_alpha * np.eye(len(components))
    return {"transform": affine(b, columnwise(b, x, "sub", est.mean_), components.T @ linalg.inv(gram_matrix))}


@lowers(FeatureAgglomeration)
def _feature_agglomeration(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    if est.pooling_func is not np.mean:
        raise refuse(est, "pooling_func", est.pooling_func, ["numpy.mean"])
    labels = np.asarray(est.labels_)
    sizes = np.bincount(labels)
    pooling = np.zeros((len(labels), len(sizes)))
    pooling[np.arange(len(labels)), labels] = 1.0 / sizes[labels]
    return {"transform": affine(b, x, pooling)}


def _pls_scores(est: Any, b: Builder, x: Value) -> Value:
    rotations = est.x_weights_ if isinstance(est, PLSSVD) else est.x_rotations_
    scaled = columnwise(b, columnwise(b, x, "sub", est._x_mean), "div", est._x_std)
    return affine(b, scaled, np.asarray(rotations, np.float64))


@lowers(PLSRegression, PLSCanonical, CCA)
def _pls(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    prediction = affine(b, columnwise(b, x, "sub", est._x_mean), np.asarray(est.coef_, np.float64).T,
                        est.intercept_)
    return {"prediction": b.call("squeeze", prediction, axis=1) if est._predict_1d else prediction}


@lowers(PLSSVD)
def _pls_svd(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    return {"transform": _pls_scores(est, b, x)}


def _cosine_features(b: Builder, x: Value, weights: Any, offset: Any, scale: float) -> Value:
    projection = affine(b, x, _dense(weights), offset)
    return b.call("mul", b.call("cos", projection), b.const(scale))


@lowers(RBFSampler)
def _rbf_sampler(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    scale = (2.0 / est.n_components) ** 0.5
    return {"transform": _cosine_features(b, x, est.random_weights_, est.random_offset_, scale)}


@lowers(SkewedChi2Sampler)
def _skewed_chi2_sampler(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    logged = b.call("log", b.call("add", x, b.const(float(est.skewedness))))
    scale = float(np.sqrt(2.0) / np.sqrt(est.n_components))
    return {"transform": _cosine_features(b, logged, est.random_weights_, est.random_offset_, scale)}


# AdditiveChi2Sampler's sample_interval where it is not given, by sample_steps (scikit-learn's table)
CHI2_INTERVALS = {1: 0.8, 2: 0.5, 3: 0.4}


@lowers(AdditiveChi2Sampler)
def _additive_chi2(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    interval = est.sample_interval if est.sample_interval is not None else CHI2_INTERVALS.get(est.sample_steps)
    if interval is None:
        raise refuse(est, "sample_steps", est.sample_steps, "1, 2, 3, or any with sample_interval given")
    zero = b.const(0.0)
    nonzero = b.call("compare", x, zero, predicate="ne")
    # ones where x is 0, so that log and sqrt never see the entries scikit-learn skips
    safe = b.call("select", nonzero, x, b.const(1.0))
    blocks = [b.call("select", nonzero, b.call("sqrt", b.call("mul", safe, b.const(float(interval)))), zero)]
    log_step = b.call("mul", b.const(float(interval)), b.call("log", safe))
    step = b.call("mul", b.call("mul", b.const(2.0), safe), b.const(float(interval)))
    for j in range(1, est.sample_steps):
        factor = b.call("sqrt", b.call("div", step, b.const(float(np.cosh(np.pi * j * interval)))))
        angle = b.call("mul", b.const(float(j)), log_step)
        for wave in ("cos", "sin"):
            blocks.append(b.call("select", nonzero, b.call("mul", factor, b.call(wave, angle)), zero))
    return {"transform": side_by_side(b, blocks)}


@lowers(PolynomialCountSketch)
def _count_sketch(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    n = int(est.n_components)
    index, sign = np.asarray(est.indexHash_), np.asarray(est.bitHash_, np.float64)
    width = index.shape[1]  # the features, and a constant one for coef0
    angles = 2 * np.pi * np.outer(np.arange(n), np.arange(n)) / n
    cos, sin = np.cos(angles), np.sin(angles)
    scale = np.full(width, np.sqrt(est.gamma))
    if est.coef0 != 0:
        scale[-1] = np.sqrt(est.coef0)
    real: Value | None = None
    imag: Value | None = None
    for d in range(int(est.degree)):
        sketch = np.zeros((width, n))
        sketch[np.arange(width), index[d]] = sign[d] * scale
        features, constant = (sketch[:-1], sketch[-1]) if est.coef0 != 0 else (sketch, np.zeros(n))
        re = affine(b, x, features @ cos, constant @ cos)
        im = affine(b, x, -(features @ sin), -(constant @ sin))
        if real is None or imag is None:
            real, imag = re, im
        else:
            real, imag = (b.call("sub", b.call("mul", real, re), b.call("mul", imag, im)),
                          b.call("add", b.call("mul", real, im), b.call("mul", imag, re)))
    assert real is not None and imag is not None
    inverse = b.call("sub", b.call("matmul", real, b.const(cos)), b.call("matmul", imag, b.const(sin)))
    return {"transform": b.call("mul", inverse, b.const(1.0 / n))}


def _check_sparse_coding(est: Any) -> None:
    if est.transform_algorithm != "threshold":
        raise UnsupportedEstimatorError(
            f"{type(est).__name__}: transform_algorithm={est.transform_algorithm!r} solves an optimisation "
            "per row (lasso, lars or orthogonal matching pursuit), which no fixed graph of TFLite or ONNX "
            "ops computes; transform_algorithm='threshold' lowers")


PRECHECKS.update(dict.fromkeys((DictionaryLearning, MiniBatchDictionaryLearning, SparseCoder), _check_sparse_coding))
INPUT_WIDTHS[SparseCoder] = lambda est: int(np.asarray(est.dictionary).shape[1])


@lowers(DictionaryLearning, MiniBatchDictionaryLearning, SparseCoder)
def _sparse_coding(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    _check_sparse_coding(est)
    atoms = np.asarray(est.dictionary if isinstance(est, SparseCoder) else est.components_, np.float64)
    alpha = est.transform_alpha if est.transform_alpha is not None else getattr(est, "alpha", None)
    alpha = 1.0 if alpha is None else float(alpha)
    correlation = affine(b, x, atoms.T)
    code = b.call("sub", correlation, b.call("clip", correlation, min=-alpha, max=alpha))
    if est.positive_code:
        code = b.call("clip", code, min=0.0, max=float("inf"))
    if est.split_sign:
        zero = b.const(0.0)
        code = b.call("concat", b.call("maximum", code, zero), b.call("neg", b.call("minimum", code, zero)), axis=1)
    return {"transform": code}


def _check_nystroem(est: Any) -> None:
    if not isinstance(est.kernel, str) or est.kernel not in KERNEL_NAMES:
        raise refuse(est, "kernel", est.kernel, sorted(KERNEL_NAMES))


PRECHECKS[Nystroem] = _check_nystroem


@lowers(Nystroem)
def _nystroem(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    _check_nystroem(est)
    params = {name: getattr(est, name) for name in ("gamma", "coef0", "degree") if getattr(est, name) is not None}
    params.update(est.kernel_params or {})
    components = _dense(est.components_)
    # the kernel functions' own defaults where Nystroem passes nothing (polynomial and sigmoid: coef0 = 1)
    coef0, degree = float(params.get("coef0", 1.0)), float(params.get("degree", 3.0))
    k = gram(b, x, components, est.kernel, params.get("gamma"), coef0, degree, components.shape[1])
    return {"transform": affine(b, k, np.asarray(est.normalization_, np.float64).T)}


@lowers(BernoulliRBM)
def _rbm(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    return {"transform": b.call("sigmoid", affine(b, x, np.asarray(est.components_, np.float64).T,
                                                  est.intercept_hidden_))}


KERNEL_PCA_KERNELS = ("linear", "poly", "rbf", "sigmoid", "cosine")


def _check_kernel_pca(est: Any) -> None:
    if not isinstance(est.kernel, str) or est.kernel not in KERNEL_PCA_KERNELS:
        raise refuse(est, "kernel", est.kernel, KERNEL_PCA_KERNELS)


PRECHECKS[KernelPCA] = _check_kernel_pca


@lowers(KernelPCA)
def _kernel_pca(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    _check_kernel_pca(est)
    training = _dense(est.X_fit_)
    params = {"gamma": est.gamma_, "degree": est.degree, "coef0": est.coef0, **(est.kernel_params or {})}
    k = gram(b, x, training, est.kernel, params["gamma"], float(params["coef0"]), float(params["degree"]),
             training.shape[1])
    return {"transform": kernel_pca_projection(b, est, k)}


def kernel_pca_projection(b: Builder, est: Any, k: Value) -> Value:
    """A fitted KernelPCA's transform of the kernel ``k`` ``[N, M]`` to its training rows: centred as
    at fit, times the eigenvectors over the square roots of their eigenvalues (0 for a zero one)."""
    values = np.asarray(est.eigenvalues_, np.float64)
    vectors = np.asarray(est.eigenvectors_, np.float64)
    scaled = np.zeros_like(vectors)
    nonzero = np.flatnonzero(values)
    scaled[:, nonzero] = vectors[:, nonzero] / np.sqrt(values[nonzero])
    return affine(b, centred_kernel(b, k, est._centerer), scaled)


@lowers(Isomap)
def _isomap(est: Any, b: Builder, x: Value) -> dict[str, Value]:
    """The geodesic distance from each row to every training row through its nearest training
    rows (``min`` over them of the distance to it plus its graph distance), then KernelPCA of
    ``-0.5 * d**2`` as a precomputed kernel."""
    if est.n_neighbors is None:
        raise refuse(est, "radius", est.radius, "None (n_neighbors: a radius gives each row its own number)")
    distances, index = nearest(est.nbrs_, b, x, int(est.n_neighbors))
    graph = b.call("gather", b.const(np.asarray(est.dist_matrix_, np.float64)), index, axis=0)  # [N, k, M]
    through = b.call("add", graph, b.call("expand_dims", distances, axis=2))
    geodesic = b.call("reduce", through, kind="min", axis=1, keepdims=False)
    k = b.call("mul", b.call("square", geodesic), b.const(-0.5))
    return {"transform": kernel_pca_projection(b, est.kernel_pca_, k)}

"""Parity of the closed-form projections and feature maps of issue 9, and of the column-wise
nonlinear preprocessing: random projections, NCA, FastICA, FactorAnalysis, sparse PCA, feature
agglomeration, the PLS family, RBFSampler, SkewedChi2Sampler, Nystroem, BernoulliRBM,
PowerTransformer, KBinsDiscretizer, KernelCenterer and MissingIndicator.

Values within 1e-5 of their scale (the harness's default) under the interpreter, LiteRT and
onnxruntime; bins and indicators identical.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import dataset, standardised
from parity import assert_parity
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
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.impute import MissingIndicator
from sklearn.kernel_approximation import (
    AdditiveChi2Sampler,
    Nystroem,
    PolynomialCountSketch,
    RBFSampler,
    SkewedChi2Sampler,
)
from sklearn.manifold import Isomap
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.neighbors import NeighborhoodComponentsAnalysis
from sklearn.neural_network import BernoulliRBM
from sklearn.preprocessing import (
    KBinsDiscretizer,
    KernelCenterer,
    MinMaxScaler,
    PowerTransformer,
    QuantileTransformer,
    SplineTransformer,
)
from sklearn.random_projection import GaussianRandomProjection, SparseRandomProjection

TRANSFORMERS: dict[str, Any] = {
    "gaussian-projection": lambda: GaussianRandomProjection(5, random_state=0),
    "sparse-projection": lambda: SparseRandomProjection(5, random_state=0),
    "fast-ica": lambda: FastICA(4, random_state=0, max_iter=500),
    "fast-ica-unwhitened": lambda: FastICA(whiten=False, random_state=0, max_iter=500),
    "factor-analysis": lambda: FactorAnalysis(3, random_state=0),
    "sparse-pca": lambda: SparsePCA(3, random_state=0),
    "mini-batch-sparse-pca": lambda: MiniBatchSparsePCA(3, random_state=0, max_iter=20),
    "feature-agglomeration": lambda: FeatureAgglomeration(4),
    "pls-svd": lambda: PLSSVD(2),
    "rbf-sampler": lambda: RBFSampler(gamma=0.1, n_components=20, random_state=0),
    "nystroem-rbf": lambda: Nystroem(gamma=0.05, n_components=30, random_state=0),
    "nystroem-poly": lambda: Nystroem("poly", degree=2, n_components=30, random_state=0),
    # ten components: the cosine kernel of 30 wine rows is nearly singular, and normalization_
    # (its inverse square root) would magnify float32's rounding past 1e-5
    "nystroem-cosine": lambda: Nystroem("cosine", n_components=10, random_state=0),
    "nystroem-laplacian": lambda: Nystroem("laplacian", gamma=0.05, n_components=30, random_state=0),
    "kernel-pca-rbf": lambda: KernelPCA(4, kernel="rbf", gamma=0.05),
    "kernel-pca-linear": lambda: KernelPCA(4),
    "kernel-pca-poly": lambda: KernelPCA(4, kernel="poly", degree=2, gamma=0.05),
    "kernel-pca-sigmoid": lambda: KernelPCA(4, kernel="sigmoid", gamma=0.01),
    "kernel-pca-cosine": lambda: KernelPCA(4, kernel="cosine"),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMERS))
def test_transformers(name: str) -> None:
    X, y = standardised("wine")
    model = TRANSFORMERS[name]()
    model.fit(X, np.column_stack([y, X[:, 0]])) if name == "pls-svd" else model.fit(X, y)
    assert_parity(model, X)


def test_nca_and_pls_models() -> None:
    X, y = standardised("wine")
    assert_parity(NeighborhoodComponentsAnalysis(2, random_state=0, max_iter=30).fit(X, y), X)
    Y = np.column_stack([X[:, 0] + X[:, 1], X[:, 2]])
    for model in (PLSRegression(2), PLSCanonical(2), CCA(2, max_iter=1000)):
        assert_parity(model.fit(X[:, 3:], Y), X[:, 3:])
    assert_parity(PLSRegression(2).fit(X[:, 3:], Y[:, 0]), X[:, 3:])


def test_count_features() -> None:
    """SkewedChi2Sampler, AdditiveChi2Sampler, TfidfTransformer and BernoulliRBM on digits'
    non-negative pixel counts (zeros among them, which the chi2 map and sublinear tf skip)."""
    X, _ = dataset("digits")
    assert_parity(SkewedChi2Sampler(skewedness=1.0, n_components=20, random_state=0).fit(X), X)
    for sampler in (AdditiveChi2Sampler(), AdditiveChi2Sampler(sample_steps=3),
                    AdditiveChi2Sampler(sample_steps=4, sample_interval=0.3)):
        assert_parity(sampler.fit(X), X[:300])
    for tfidf in (TfidfTransformer(), TfidfTransformer(sublinear_tf=True, norm="l1"),
                  TfidfTransformer(use_idf=False, norm=None)):
        assert_parity(tfidf.fit(X), X[:300])
    scaled = MinMaxScaler().fit_transform(X)
    assert_parity(BernoulliRBM(n_components=16, random_state=0, n_iter=3).fit(scaled), scaled)


@pytest.mark.parametrize("sketch", [
    PolynomialCountSketch(random_state=0),
    PolynomialCountSketch(degree=3, coef0=1.0, gamma=0.5, n_components=64, random_state=0),
    PolynomialCountSketch(degree=1, n_components=20, random_state=0),
], ids=repr)
def test_polynomial_count_sketch(sketch: PolynomialCountSketch) -> None:
    """scipy's FFT and inverse FFT as matmuls with the DFT's cosines and sines."""
    X, _ = standardised("wine")
    assert_parity(sketch.fit(X), X)


@pytest.mark.parametrize("isomap", [Isomap(n_components=2), Isomap(n_neighbors=8, n_components=3, metric="manhattan")],
                         ids=repr)
def test_isomap(isomap: Isomap) -> None:
    """Rows moved by noise: no ties among the nearest training rows."""
    X, _ = standardised("wine")
    assert_parity(isomap.fit(X), X + np.random.default_rng(0).normal(scale=0.05, size=X.shape))


def test_sparse_coding_by_threshold() -> None:
    X, _ = standardised("wine")
    atoms = np.random.default_rng(0).normal(size=(5, X.shape[1]))
    for model in (DictionaryLearning(6, transform_algorithm="threshold", transform_alpha=0.3, random_state=0),
                  MiniBatchDictionaryLearning(6, fit_algorithm="cd", transform_algorithm="threshold",
                                              positive_code=True, split_sign=True, random_state=0, max_iter=20),
                  SparseCoder(atoms, transform_algorithm="threshold", split_sign=True)):
        assert_parity(model.fit(X), X)


@pytest.mark.parametrize("algorithm", ["omp", "lasso_lars", "lasso_cd", "lars"])
def test_sparse_coding_by_optimisation_is_refused_with_the_reason(algorithm: str) -> None:
    import sklir
    from sklir.errors import UnsupportedEstimatorError

    X, _ = standardised("wine")
    model = DictionaryLearning(4, transform_algorithm=algorithm, random_state=0, max_iter=5).fit(X)
    with pytest.raises(UnsupportedEstimatorError, match="solves an optimisation per row"):
        sklir.lower(model)


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
@pytest.mark.parametrize("quantiles", [1000, 25])
def test_quantile_transformer(distribution: str, quantiles: int) -> None:
    """Rows inside, on and beyond the fitted range, and NaN. Iris's measurements repeat, so
    quantiles tie (interp forwards and backwards lands midway). The normal quantile function is
    Acklam's approximation refined by a Newton step: within 1e-9 of scale in float64, 1e-5 in
    float32 (the harness's defaults)."""
    X, _ = dataset("iris")
    X = X.astype(np.float32).astype(np.float64)
    model = QuantileTransformer(n_quantiles=quantiles, output_distribution=distribution).fit(X)
    edges = np.vstack([X.min(0) - 1, X.max(0) + 1, X.min(0), X.max(0), np.full(X.shape[1], np.nan)])
    assert_parity(model, np.vstack([X, edges]))


@pytest.mark.parametrize("params", [
    {}, {"extrapolation": "linear"}, {"extrapolation": "continue", "degree": 2}, {"extrapolation": "periodic"},
    {"knots": "quantile", "n_knots": 4, "include_bias": False}, {"degree": 1, "extrapolation": "linear"},
    {"degree": 0, "extrapolation": "linear"},
], ids=repr)
def test_spline_transformer(params: dict[str, Any]) -> None:
    """Rows inside, on and beyond the fitted range. Degree 0 and 1 with linear extrapolation
    reproduce scikit-learn's loop, which raises its degree for the features after the first."""
    X, _ = standardised("wine")
    X = X[:, :4]
    model = SplineTransformer(**params).fit(X)
    assert_parity(model, np.vstack([X, X.min(0) - 1, X.max(0) + 1, X.min(0), X.max(0)]))


def test_spline_transformer_that_refuses_the_outside_gives_nan_there() -> None:
    """``extrapolation="error"``: scikit-learn raises beyond the fitted range, an artefact gives NaN."""
    import sklir

    X, _ = standardised("wine")
    model = SplineTransformer(extrapolation="error").fit(X[:, :2])
    assert_parity(model, X[:, :2])
    out = sklir.interpret(sklir.lower(model), np.array([[100.0, 0.0]], np.float32))["transform"]
    assert np.isnan(out[0, :7]).all() and np.isfinite(out[0, 7:]).all()


@pytest.mark.parametrize("standardize", [True, False])
def test_power_transformer(standardize: bool) -> None:
    X, _ = standardised("diabetes")
    assert_parity(PowerTransformer(standardize=standardize).fit(X), X)
    # wine's raw measurements are positive, with spreads that give box-cox ordinary lambdas
    # (breast cancer's narrow columns give lambdas up to 1e39, whose powers float32 cannot hold)
    positive, _ = dataset("wine")
    model = PowerTransformer("box-cox", standardize=standardize).fit(positive)
    assert_parity(model, positive, rtol=standardising_tolerance(model, positive))


def standardising_tolerance(model: PowerTransformer, X: np.ndarray) -> float:
    """1e-5, or where larger float32's rounding of the transformed values before standardising,
    relative to the spread they are divided by: ``8 cond 2^-24`` with ``cond = max |v| / scale``
    (wine's proline reaches about 40 times its spread after box-cox)."""
    if not model.standardize:
        return 1e-5
    raw = PowerTransformer(model.method, standardize=False).fit(X).transform(X)
    cond = float((np.abs(raw).max(axis=0) / model._scaler.scale_).max())
    return max(1e-5, 8 * cond * 2.0 ** -24)


@pytest.mark.parametrize("encode", ["ordinal", "onehot", "onehot-dense"])
@pytest.mark.parametrize("strategy", ["uniform", "quantile", "kmeans"])
def test_k_bins_discretizer(strategy: str, encode: str) -> None:
    X, _ = standardised("wine")
    model = KBinsDiscretizer(n_bins=4, encode=encode, strategy=strategy, random_state=0)
    assert_parity(model.fit(X), np.vstack([X, X[:10] * 3]))


def test_kernel_centerer() -> None:
    X, _ = standardised("iris")
    K_fit = rbf_kernel(X[::2], X[::2], gamma=0.3)
    K = rbf_kernel(X, X[::2], gamma=0.3)
    assert_parity(KernelCenterer().fit(K_fit), K)


def test_missing_indicator() -> None:
    X, _ = standardised("wine")
    X = X.copy()
    X[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan
    X[:, 4] = np.where(np.isnan(X[:, 4]), 0.0, X[:, 4])  # a feature never missing at fit
    for features in ("missing-only", "all"):
        assert_parity(MissingIndicator(features=features).fit(X), X)

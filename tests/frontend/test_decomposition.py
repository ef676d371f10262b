"""PCA (every solver, whiten), IncrementalPCA and TruncatedSVD parity on digits and wine.

Whitening divides by the square root of each component's variance; it is tested with the
leading components only, where that variance is far from zero. Tolerances: harness defaults.
"""

from __future__ import annotations

import pytest
from conftest import dataset
from parity import assert_bit_exact_before_passes, assert_parity
from sklearn.decomposition import PCA, IncrementalPCA, TruncatedSVD

CASES = {
    "pca-full-10": lambda: PCA(n_components=10, svd_solver="full"),
    "pca-randomized-whiten": lambda: PCA(n_components=12, svd_solver="randomized", whiten=True, random_state=0),
    "pca-arpack": lambda: PCA(n_components=8, svd_solver="arpack", random_state=0),
    "pca-covariance-eigh-whiten": lambda: PCA(n_components=6, svd_solver="covariance_eigh", whiten=True),
    "pca-float": lambda: PCA(n_components=0.9),
    "pca-all": lambda: PCA(),
    "pca-mle": lambda: PCA(n_components="mle"),
    "ipca": lambda: IncrementalPCA(n_components=10, batch_size=200),
    "ipca-whiten": lambda: IncrementalPCA(n_components=5, whiten=True, batch_size=200),
    "tsvd-randomized": lambda: TruncatedSVD(n_components=10, random_state=0),
    "tsvd-arpack": lambda: TruncatedSVD(n_components=7, algorithm="arpack", random_state=0),
}


@pytest.mark.parametrize("data", ["digits", "wine"])
@pytest.mark.parametrize("case", list(CASES))
def test_decomposition_parity(case: str, data: str) -> None:
    X, _ = dataset(data)
    assert_parity(CASES[case]().fit(X[::2]), X)


@pytest.mark.parametrize("case", ["pca-full-10", "pca-covariance-eigh-whiten", "ipca-whiten"])
def test_pca_bit_exact_before_passes(case: str) -> None:
    # projecting first and centring after is scikit-learn's order, and gives its exact bits
    X, _ = dataset("wine")
    assert_bit_exact_before_passes(CASES[case]().fit(X), X)

"""Parity of the clusterers (issue 7): KMeans, MiniBatchKMeans, BisectingKMeans, Birch,
AffinityPropagation and MeanShift under the clusterer contract, ``label`` (predict) and
``transform`` (distances to the centres) where the class has it.

Labels identical, distances within 1e-5 of their scale (the harness's default), under the
interpreter, LiteRT and onnxruntime, on standardised real data; as a pipeline's last step and as
an intermediate transformer.
"""

from __future__ import annotations

import pytest
from conftest import dataset, standardised
from parity import assert_parity
from sklearn.cluster import (
    AffinityPropagation,
    AgglomerativeClustering,
    Birch,
    BisectingKMeans,
    KMeans,
    MeanShift,
    MiniBatchKMeans,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklir
from sklir.check import estimator_kind
from sklir.errors import UnsupportedEstimatorError


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "digits"])
def test_k_means(name: str) -> None:
    X, _ = standardised(name)
    assert_parity(KMeans(n_clusters=8, n_init=3, random_state=0).fit(X), X)


def test_mini_batch_k_means() -> None:
    X, _ = standardised("digits")
    assert_parity(MiniBatchKMeans(n_clusters=10, n_init=3, random_state=0).fit(X), X)


def test_in_pipelines() -> None:
    X, y = standardised("wine")
    assert_parity(make_pipeline(StandardScaler(), KMeans(n_clusters=3, n_init=3, random_state=0)).fit(X), X)
    model = make_pipeline(KMeans(n_clusters=6, n_init=3, random_state=0), LogisticRegression(max_iter=2000))
    assert_parity(model.fit(X, y), X)


def test_a_clusterer_that_transforms_is_a_clusterer() -> None:
    assert estimator_kind(KMeans) == estimator_kind(KMeans()) == "clusterer"


@pytest.mark.parametrize("name", ["iris", "wine", "digits"])
def test_bisecting_k_means(name: str) -> None:
    """The walk down the bisection tree, for both strategies and for data that is not centred."""
    X, _ = dataset(name)
    for strategy in ("biggest_inertia", "largest_cluster"):
        assert_parity(BisectingKMeans(n_clusters=7, bisecting_strategy=strategy, random_state=0).fit(X), X)
    assert_parity(BisectingKMeans(n_clusters=1, random_state=0).fit(X), X)


@pytest.mark.parametrize("name", ["iris", "wine"])
def test_centre_clusterers(name: str) -> None:
    X, _ = standardised(name)
    assert_parity(AffinityPropagation(random_state=0).fit(X), X)
    assert_parity(MeanShift(bandwidth=2.0).fit(X), X)
    assert_parity(Birch(n_clusters=3).fit(X), X)
    assert_parity(Birch(n_clusters=None, threshold=0.8).fit(X), X)
    assert_parity(Birch(n_clusters=AgglomerativeClustering(4)).fit(X), X)


def test_affinity_propagation_without_centres_labels_every_row_minus_one() -> None:
    X, _ = standardised("iris")
    model = AffinityPropagation(max_iter=2, damping=0.9, random_state=0).fit(X)
    assert len(model.cluster_centers_) == 0
    assert_parity(model, X)


def test_precomputed_affinity_is_refused() -> None:
    X, _ = standardised("iris")
    with pytest.raises(UnsupportedEstimatorError, match="AffinityPropagation: affinity='precomputed'"):
        sklir.lower(AffinityPropagation(affinity="precomputed", random_state=0).fit(-((X[:, None] - X) ** 2).sum(2)))

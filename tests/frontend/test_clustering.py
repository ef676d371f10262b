"""Parity of KMeans and MiniBatchKMeans (issue 7): the clusterer contract, ``label`` (predict)
and ``transform`` (distances to the centres).

Labels identical, distances within 1e-5 of their scale (the harness's default), under the
interpreter, LiteRT and onnxruntime, on standardised real data; as a pipeline's last step and as
an intermediate transformer.
"""

from __future__ import annotations

import pytest
from conftest import standardised
from parity import assert_parity
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklir.check import estimator_kind


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

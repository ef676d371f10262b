"""Parity of GaussianMixture and BayesianGaussianMixture (issue 7): the density contract,
``label`` (predict), ``probabilities`` (predict_proba) and ``score`` (score_samples).

Every covariance type on standardised real data; labels identical, probabilities and log
densities within 1e-5 of their scale (the harness's default) under the interpreter, LiteRT and
onnxruntime.
"""

from __future__ import annotations

import pytest
from conftest import standardised
from parity import assert_parity
from sklearn.mixture import BayesianGaussianMixture, GaussianMixture

from sklir.check import estimator_kind

COVARIANCES = ["full", "tied", "diag", "spherical"]


@pytest.mark.parametrize("covariance", COVARIANCES)
@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
def test_gaussian_mixture(name: str, covariance: str) -> None:
    X, _ = standardised(name)
    assert_parity(GaussianMixture(3, covariance_type=covariance, random_state=0).fit(X), X)


@pytest.mark.parametrize("covariance", COVARIANCES)
def test_bayesian_gaussian_mixture(covariance: str) -> None:
    X, _ = standardised("wine")
    model = BayesianGaussianMixture(n_components=4, covariance_type=covariance, max_iter=300, random_state=0)
    assert_parity(model.fit(X), X)


def test_a_mixture_is_a_density_estimator() -> None:
    assert estimator_kind(GaussianMixture) == estimator_kind(GaussianMixture()) == "density"

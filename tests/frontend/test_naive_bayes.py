"""Parity of the naive Bayes classifiers (issue 7), on scikit-learn's real datasets.

Labels identical and probabilities within 1e-5 of their scale (the harness's default), under the
interpreter, LiteRT and onnxruntime. Gaussian models on continuous data (iris, wine, breast
cancer, digits); the discrete ones on digits' pixel counts (0..16), BernoulliNB binarised at its
default 0 and at 8; string labels; a pipeline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import dataset
from parity import assert_parity
from sklearn.naive_bayes import BernoulliNB, CategoricalNB, ComplementNB, GaussianNB, MultinomialNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import sklir


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "digits"])
def test_gaussian(name: str) -> None:
    X, y = dataset(name)
    assert_parity(GaussianNB().fit(X, y), X)


def test_gaussian_with_priors_and_smoothing_and_string_labels() -> None:
    X, y = dataset("iris")
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    assert_parity(GaussianNB(priors=[0.2, 0.3, 0.5], var_smoothing=1e-3).fit(X, names), X)


@pytest.mark.parametrize("model", [MultinomialNB(), MultinomialNB(alpha=0.01, fit_prior=False), ComplementNB(),
                                   ComplementNB(norm=True), BernoulliNB(), BernoulliNB(binarize=8.0),
                                   BernoulliNB(binarize=None)],
                         ids=["multinomial", "multinomial-alpha", "complement", "complement-norm", "bernoulli",
                              "bernoulli-8", "bernoulli-none"])
def test_discrete_on_pixel_counts(model: Any) -> None:
    X, y = dataset("digits")
    if getattr(model, "binarize", 0.0) is None:
        X = (X > 4).astype(np.float64)  # BernoulliNB without binarize expects 0/1 features
    assert_parity(model.fit(X, y), X)


@pytest.mark.parametrize("model", [CategoricalNB(), CategoricalNB(alpha=0.5, min_categories=20)],
                         ids=["categorical", "categorical-min-categories"])
def test_categorical_on_pixel_values(model: Any) -> None:
    X, y = dataset("digits")  # every pixel a category 0..16
    assert_parity(model.fit(X, y), X)


def test_categorical_reads_the_nearest_category_for_codes_it_never_saw() -> None:
    # scikit-learn raises for those; the artefact reads the first or last category instead
    X, y = dataset("iris")
    codes = np.floor(X * 2)
    model = CategoricalNB().fit(codes, y)
    assert_parity(model, codes)
    beyond = codes.copy()
    beyond[:, 0] = -3.0
    beyond[:, 1] = 99.0
    clamped = codes.copy()
    clamped[:, 0] = 0.0
    clamped[:, 1] = model.n_categories_[1] - 1
    got = sklir.interpret(sklir.lower(model), beyond.astype(np.float32))
    # rows whose two best classes tie up to rounding may go either way: compare the others
    jll = np.sort(model.predict_joint_log_proba(clamped), axis=1)
    clear = jll[:, -1] - jll[:, -2] > 1e-9
    assert clear.mean() > 0.9
    np.testing.assert_array_equal(got["label"][clear], model.predict(clamped)[clear])
    np.testing.assert_allclose(got["probabilities"], model.predict_proba(clamped), rtol=1e-9, atol=1e-12)


def test_binary_bernoulli_and_a_pipeline() -> None:
    X, y = dataset("breast_cancer")
    assert_parity(make_pipeline(MinMaxScaler(), BernoulliNB(binarize=0.5)).fit(X, y), X)
    assert_parity(make_pipeline(MinMaxScaler(), MultinomialNB()).fit(X, y), X)


def test_the_discrete_models_lower_to_one_matrix_product() -> None:
    X, y = dataset("digits")
    module = sklir.lower(MultinomialNB().fit(X, y))
    assert [n.op.name for n in module.nodes].count("matmul") == 1

"""Parity of Keras networks and chains of models (issue 8) against Keras's own ``predict``.

Every network runs as a real ``.tflite`` under LiteRT and ``.onnx`` under onnxruntime, and under
the interpreter; outputs within 1e-5 of their scale (Keras computes in float32 too, so the
interpreter meets it at the same tolerance), labels identical. A chain's reference is its models
run one after the other: scikit-learn's ``transform``, then the network's ``predict``.
Networks train for a few epochs only: parity needs fitted weights, not good ones.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from collections.abc import Callable  # noqa: E402
from functools import cache  # noqa: E402
from typing import Any  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import standardised  # noqa: E402
from parity import artefact, assert_parity  # noqa: E402
from scikeras.wrappers import KerasClassifier, KerasRegressor  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import sklir  # noqa: E402
from sklir.errors import SklirError, UnsupportedEstimatorError  # noqa: E402
from sklir.frontend.activations import ACTIVATIONS  # noqa: E402
from sklir.frontend.chain import Chain  # noqa: E402
from sklir.runtimes.litert import operators  # noqa: E402

L = keras.layers
IRIS_NAMES = np.array(["setosa", "versicolor", "virginica"], dtype=object)


def _fit(model: keras.Model, X: np.ndarray, y: np.ndarray, loss: str, epochs: int = 3) -> keras.Model:
    keras.utils.set_random_seed(0)
    model.compile("adam", loss)
    model.fit(X.astype(np.float32), y, epochs=epochs, batch_size=32, verbose=0)
    return model


def _sequential(width: int, *layers: Any) -> keras.Sequential:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((width,)), *layers])


@cache
def iris_chain() -> tuple[Chain, np.ndarray]:
    """The issue's example: PCA(2) -> Dense(128, relu) -> Dense(3, softmax), with the iris names."""
    X, y = standardised("iris")
    pca = PCA(2).fit(X)
    net = _fit(_sequential(2, L.Dense(128, activation="relu"), L.Dense(3, activation="softmax")),
               pca.transform(X), y, "sparse_categorical_crossentropy")
    return Chain((pca, net), tuple(IRIS_NAMES)), X


def test_iris_chain_with_string_labels() -> None:
    chain, X = iris_chain()
    module = assert_parity(chain, X)
    assert module.attributes["source"] == "PCA -> keras.Sequential(Dense, Dense)"
    assert module.attributes["classes"] == tuple(IRIS_NAMES)


def test_preprocessing_folds_into_the_first_dense_layer() -> None:
    """StandardScaler -> PCA -> Dense(128, relu) -> Dense(3, softmax): before the passes the
    scaler and PCA are their own ops; after them two matrix products remain, and the .tflite holds
    exactly two FULLY_CONNECTED ops."""
    X, y = standardised("iris")
    scaler = StandardScaler().fit(X)
    pca = PCA(2).fit(scaler.transform(X))
    net = iris_chain()[0].models[1]
    before = sklir.lower([scaler, pca, net], optimize=False)
    after = sklir.lower([scaler, pca, net])
    names = [n.op.name for n in before.nodes]
    assert names.count("matmul") == 3 and "sub" in names and "div" in names
    assert [n.op.name for n in after.nodes].count("matmul") == 2
    assert not {"sub", "div"} & {n.op.name for n in after.nodes}
    assert operators(artefact(after, "tflite")).count("FULLY_CONNECTED") == 2
    assert_parity(Chain((scaler, pca, net), tuple(IRIS_NAMES)), X)


def test_digits_with_batch_normalization_and_dropout() -> None:
    X, y = standardised("digits")
    scaler = StandardScaler().fit(X)
    net = _fit(_sequential(64, L.Dense(32), L.BatchNormalization(), L.Activation("relu"), L.Dropout(0.3),
                           L.Dense(16, activation="tanh"), L.BatchNormalization(center=False),
                           L.GaussianNoise(0.1), L.Dense(10, activation="softmax")),
               scaler.transform(X), y, "sparse_categorical_crossentropy", epochs=4)
    assert_parity(Chain((scaler, net), tuple(range(10))), X)


def test_regression_network_with_normalization() -> None:
    X, y = standardised("diabetes")
    norm = L.Normalization()
    norm.adapt(X.astype(np.float32))
    net = _fit(_sequential(10, norm, L.Dense(16, activation="elu"), L.Dense(1)), X, y, "mse")
    assert_parity(net, X)
    inverse = L.Normalization(mean=2.0, variance=9.0, invert=True)
    assert_parity(_sequential(10, L.Dense(4), inverse, L.Rescaling(0.5, offset=1.0)), X)


def test_functional_model_with_merges() -> None:
    X, y = standardised("wine")
    inputs = keras.Input((13,))
    a = L.Dense(8, activation="relu")(inputs)
    b = L.Dense(8, activation="tanh")(inputs)
    shared = L.Dense(8)
    c, d = shared(a), shared(b)  # one layer called twice: two nodes
    merged = L.Concatenate()([L.Add()([a, b]), L.Subtract()([a, b]), L.Multiply()([c, d]),
                              L.Average()([a, b, c]), L.Maximum()([a, d]), L.Minimum()([b, c])])
    outputs = L.Dense(3, activation="softmax")(L.Flatten()(L.Reshape((48,))(merged)))
    keras.utils.set_random_seed(0)
    net = _fit(keras.Model(inputs, outputs), X, y, "sparse_categorical_crossentropy")
    assert_parity(Chain((net,), ("a", "b", "c")), X)


KERAS_ACTIVATIONS = sorted(name for name in ACTIVATIONS if name not in ("identity", "logistic", "exp"))


@pytest.mark.parametrize("activation", KERAS_ACTIVATIONS)
def test_every_activation(activation: str) -> None:
    """Each activation Keras names, on a Dense layer of random weights (and as an Activation layer);
    weights small enough that exponential applied twice stays finite in float32."""
    X, _ = standardised("iris")
    small = {"kernel_initializer": keras.initializers.RandomUniform(-0.8, 0.8, seed=2),
             "bias_initializer": keras.initializers.RandomUniform(-0.5, 0.5, seed=3)}
    if activation == "glu":  # it halves the units, which a following Dense's shape does not know
        net = _sequential(4, L.Dense(6, **small), L.Activation(activation))
    else:
        net = _sequential(4, L.Dense(6, activation=activation, **small), L.Dense(6, **small), L.Activation(activation))
    assert_parity(net, X)


LAYERS: dict[str, Callable[[], list[Any]]] = {
    "relu-options": lambda: [L.Dense(8), L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2)],
    "relu-plain": lambda: [L.Dense(8), L.ReLU()],
    "leaky-relu": lambda: [L.Dense(8), L.LeakyReLU(negative_slope=0.05)],
    "elu": lambda: [L.Dense(8), L.ELU(alpha=0.7)],
    "prelu": lambda: [L.Dense(8), L.PReLU(alpha_initializer=keras.initializers.RandomUniform(0.0, 0.5, seed=1))],
    "softmax": lambda: [L.Dense(8), L.Softmax()],
    "dropouts": lambda: [L.Dense(8), L.Dropout(0.5), L.GaussianDropout(0.2), L.AlphaDropout(0.1)],
    "rescaling": lambda: [L.Rescaling([1.0, 2.0, 3.0, 4.0], offset=-1.0), L.Dense(3)],
}


@pytest.mark.parametrize("layers", sorted(LAYERS))
def test_layers(layers: str) -> None:
    X, _ = standardised("iris")
    assert_parity(_sequential(4, *LAYERS[layers]()), X)


def test_one_sigmoid_unit_and_logits() -> None:
    X, y = standardised("breast_cancer")
    sigmoid = _fit(_sequential(30, L.Dense(8, activation="relu"), L.Dense(1, activation="sigmoid")),
                   X, y, "binary_crossentropy")
    assert_parity(Chain((sigmoid,), ("benign", "malignant")), X)
    logits = _sequential(30, L.Dense(3))
    assert_parity(Chain((logits,), ("x", "y", "z")), X)  # label and decision from raw outputs


def test_scikeras_in_a_pipeline() -> None:
    X, y = standardised("iris")

    def network(meta: dict[str, Any]) -> keras.Model:
        units = meta["n_classes_"] if meta["target_type_"] == "multiclass" else 1
        last = "softmax" if units > 1 else "sigmoid"
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((meta["n_features_in_"],)), L.Dense(16, activation="relu"),
                                 L.Dense(units, activation=last)])

    multiclass = KerasClassifier(network, loss="sparse_categorical_crossentropy", epochs=3, verbose=0,
                                 random_state=0)
    assert_parity(make_pipeline(StandardScaler(), multiclass).fit(X, IRIS_NAMES[y]), X)
    binary = KerasClassifier(network, loss="binary_crossentropy", epochs=3, verbose=0, random_state=0)
    assert_parity(make_pipeline(StandardScaler(), binary).fit(X, np.where(y == 0, "yes", "no")), X)

    def regression(meta: dict[str, Any]) -> keras.Model:
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((meta["n_features_in_"],)), L.Dense(8, activation="relu"), L.Dense(1)])

    regressor = KerasRegressor(regression, loss="mse", epochs=3, verbose=0, random_state=0)
    assert_parity(make_pipeline(StandardScaler(), regressor).fit(X[:, 1:], X[:, 0]), X[:, 1:])


def _two_inputs() -> keras.Model:
    a, b = keras.Input((2,)), keras.Input((2,))
    return keras.Model([a, b], L.Dense(1)(L.Concatenate()([a, b])))


REFUSALS: dict[str, tuple[Callable[[], Any], type[Exception], str]] = {
    "conv-layer": (lambda: _sequential(4, L.Reshape((4, 1)), L.Conv1D(2, 2)), UnsupportedEstimatorError,
                   r"Keras layer 'conv1d.*' \(Conv1D\): this layer is not supported"),
    "reshape": (lambda: _sequential(4, L.Reshape((2, 2)), L.Flatten(), L.Dense(1)), UnsupportedEstimatorError,
                r"Keras layer 'reshape.*' \(Reshape\): reshaping 4 features to \(2, 2\)"),
    "embedding": (lambda: _sequential(4, L.Embedding(10, 2)), UnsupportedEstimatorError,
                  r"Keras layer 'embedding.*' \(Embedding\): this layer is not supported"),
    "two-inputs": (_two_inputs, UnsupportedEstimatorError, "has 2 inputs; sklir lowers networks of one input"),
    "nested-model": (lambda: _sequential(4, _sequential(4, L.Dense(2))), UnsupportedEstimatorError,
                     "a nested model is not supported"),
    "width-mismatch": (lambda: [PCA(2).fit(standardised("iris")[0]), _sequential(3, L.Dense(2))], SklirError,
                       r"PCA outputs 2 columns; keras.Sequential\(Dense\) expects 3"),
    "classes-mismatch": (lambda: Chain((_sequential(4, L.Dense(3, activation="softmax")),), ("a", "b")),
                         UnsupportedEstimatorError, "2 class labels given, but the Keras model .* has 3 output"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_name_the_problem(case: str) -> None:
    make, error, message = REFUSALS[case]
    with pytest.raises(error, match=message):
        sklir.lower(make())

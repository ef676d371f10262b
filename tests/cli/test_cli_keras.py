"""The CLI with Keras files and chains (issue 8): ``sklir lower pca.joblib model.keras`` and
``sklir check pca.joblib model.keras ARTEFACT``; every bad input is one error line, exit 1, and
no file written.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from collections.abc import Callable  # noqa: E402
from functools import cache  # noqa: E402
from pathlib import Path  # noqa: E402

import joblib  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from cli_support import assert_one_line_error, listing, run_cli  # noqa: E402
from conftest import dataset  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

L = keras.layers
NAMES = "setosa,versicolor,virginica"


@cache
def _iris() -> tuple[object, keras.Model, np.ndarray]:
    X, y = dataset("iris")
    pca = make_pipeline(StandardScaler(), PCA(2)).fit(X)
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((2,)), L.Dense(16, activation="relu"), L.Dense(3, activation="softmax")])
    net.compile("adam", "sparse_categorical_crossentropy")
    net.fit(pca.transform(X).astype(np.float32), y, epochs=2, verbose=0)
    return pca, net, X


def _files(directory: Path) -> tuple[Path, Path, Path, Path]:
    pca, net, X = _iris()
    joblib.dump(pca, directory / "pca.joblib")
    net.save(directory / "model.keras")
    net.save(directory / "model.h5")
    np.save(directory / "X.npy", X.astype(np.float32))
    return directory / "pca.joblib", directory / "model.keras", directory / "model.h5", directory / "X.npy"


@pytest.mark.parametrize("network", ["model.keras", "model.h5"])
def test_lower_and_check_a_chain(capsys: pytest.CaptureFixture[str], tmp_path: Path, network: str) -> None:
    pca, _, _, data = _files(tmp_path)
    out = tmp_path / "chain.tflite"
    code, stdout, err = run_cli(capsys, "lower", pca, tmp_path / network, "--emit", "tflite", "-o", out,
                                "--classes", NAMES)
    assert code == 0, err
    assert "outputs: label, probabilities" in stdout
    code, stdout, err = run_cli(capsys, "check", pca, tmp_path / network, out, "--data", data, "--classes", NAMES)
    assert code == 0, err
    assert "vs the models run one after the other" in stdout and "parity OK" in stdout
    # the network alone, without labels: its prediction
    code, _, err = run_cli(capsys, "lower", tmp_path / network, "--emit", "onnx", "-o", tmp_path / "alone.onnx")
    assert code == 0, err


def _save(model: keras.Model, name: str) -> Callable[[Path], list[Path]]:
    def make(directory: Path) -> list[Path]:
        model.save(directory / name)
        return [directory / name]

    return make


def _chain_of(width: int) -> Callable[[Path], list[Path]]:
    def make(directory: Path) -> list[Path]:
        pca, _, _, _ = _files(directory)
        keras.utils.set_random_seed(0)
        keras.Sequential([keras.Input((width,)), L.Dense(2)]).save(directory / "wide.keras")
        return [pca, directory / "wide.keras"]

    return make


def _raw(name: str, data: bytes) -> Callable[[Path], list[Path]]:
    def make(directory: Path) -> list[Path]:
        (directory / name).write_bytes(data)
        return [directory / name]

    return make


def _two_inputs() -> keras.Model:
    a, b = keras.Input((2,)), keras.Input((2,))
    return keras.Model([a, b], L.Dense(1)(L.Concatenate()([a, b])))


def _lambda() -> keras.Model:
    inputs = keras.Input((2,))
    return keras.Model(inputs, L.Lambda(lambda t: t * 2.0)(inputs))


# name -> (make the model files, extra arguments, fragments the error line must contain)
CASES: dict[str, tuple[Callable[[Path], list[Path]], tuple[str, ...], tuple[str, ...]]] = {
    "unsupported-layer": (_save(keras.Sequential([keras.Input((4,)), L.Embedding(10, 2)]), "embed.keras"), (),
                          ("Keras layer", "(Embedding)", "not supported")),
    "two-inputs": (_save(_two_inputs(), "two.keras"), (), ("has 2 inputs",)),
    "width-mismatch": (_chain_of(3), (), ("Pipeline(StandardScaler, PCA) outputs 2 columns", "expects 3")),
    "not-keras": (_raw("noise.keras", np.random.default_rng(0).bytes(300)), (), ("noise.keras", "not a Keras archive")),
    "corrupt-archive": (_raw("broken.keras", b"PK\x03\x04" + b"\x00" * 40), (), ("broken.keras",)),
    "unsafe-lambda": (_save(_lambda(), "lambda.keras"), (), ("lambda.keras", "unsafe deserialisation")),
    "classes-count": (_save(keras.Sequential([keras.Input((4,)), L.Dense(3, activation="softmax")]), "three.keras"),
                      ("--classes", "a,b"), ("2 class labels given", "3 output unit(s)")),
    "classes-for-a-scikit-learn-model": (lambda d: [_files(d)[0]], ("--classes", "a,b"),
                                         ("class labels apply to a Keras network",)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_keras_input(capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str) -> None:
    make, extra, fragments = CASES[case]
    models = make(tmp_path)
    before = listing(tmp_path)
    code, out, err = run_cli(capsys, "lower", *models, "--emit", "tflite", "-o", tmp_path / "artefact.tflite", *extra)
    assert code == 1 and out == ""
    assert_one_line_error(err, *fragments)
    assert listing(tmp_path) == before

"""sklir's Python API as a build script uses it, and its typing.

- ``sklir.emit`` takes a fitted estimator (lowered with the default passes first), an IR module
  or a model file's path; without a path it returns the artefact's bytes, with one it writes the
  file and returns its ``Path``. Something already at the path is replaced only when it is an
  artefact of that target sklir wrote, or with ``force=True``; otherwise the file is left as it was.
- ``sklir.lower`` takes a model file's path (``str`` or ``Path``) as the CLI loads it; a missing
  file is an ``InputFileError``; a bad ``passes`` spec is refused before anything is loaded or
  lowered, so it is the error reported whatever else is wrong.
- ``sklir.supported()`` names every estimator by its public import path with its outputs, and
  agrees with ``python -m sklir supported``.
- Every public function is annotated, parameters and a return type more precise than ``Any``.

Each model is fitted once; each ``sklir.emit`` here is a conversion the test is about (ONNX
where the target does not matter, since it converts in milliseconds).
"""

from __future__ import annotations

import importlib
import inspect
import re
import typing
from functools import cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from conftest import dataset

import sklir
import sklir.cli
import sklir.frontend.registry
import sklir.loading
from sklir.errors import InputFileError, NotFittedError, SklirError, UnsupportedEstimatorError
from sklir.runtimes import artefact_metadata, run

CONTRACT_ORDER = ("label", "probabilities", "decision", "prediction", "transform", "score")


@cache
def ridge() -> Any:
    from sklearn.linear_model import Ridge

    X, y = dataset("diabetes")
    return Ridge(alpha=0.5).fit(X, y)


@cache
def iris_classifier() -> Any:
    from sklearn.linear_model import LogisticRegression

    X, y = dataset("iris")
    return LogisticRegression(max_iter=1000).fit(X, np.array(["setosa", "versicolor", "virginica"])[y])


@cache
def ridge_tflite() -> bytes:
    """``sklir.emit(ridge(), "tflite")``: the one Ridge conversion to .tflite of this module."""
    return sklir.emit(ridge(), "tflite")


def assert_ridge_parity(outputs: dict[str, np.ndarray]) -> None:
    X, _ = dataset("diabetes")
    want = ridge().predict(X)
    assert list(outputs) == ["prediction"]
    np.testing.assert_allclose(outputs["prediction"], want, rtol=0, atol=1e-5 * max(1.0, float(np.abs(want).max())))


def _x(name: str) -> np.ndarray:
    return dataset(name)[0].astype(np.float32)


# ---- emit ----

def test_emit_an_estimator_to_bytes_that_run() -> None:
    data = ridge_tflite()
    assert isinstance(data, bytes)
    assert data[4:8] == b"TFL3"
    assert_ridge_parity(run(data, "tflite", _x("diabetes")))


def test_emit_to_a_path_writes_and_returns_the_path(tmp_path: Path) -> None:
    target = tmp_path / "m.onnx"
    written = sklir.emit(ridge(), "onnx", target)
    assert written == target and isinstance(written, Path)
    assert_ridge_parity(run(target, "onnx", _x("diabetes")))
    # a str path is returned as a Path too
    again = sklir.emit(ridge(), "onnx", str(tmp_path / "s.onnx"))
    assert again == tmp_path / "s.onnx" and isinstance(again, Path)
    assert again.read_bytes() == target.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "s.onnx"]  # no temporaries left


def test_emit_an_ir_module_as_before() -> None:
    module = sklir.lower(ridge())
    assert sklir.emit(module, "onnx") == sklir.emit(ridge(), "onnx")


# ---- model files ----

def test_lower_and_emit_load_a_model_file(tmp_path: Path) -> None:
    path = tmp_path / "ridge.joblib"
    joblib.dump(ridge(), path)
    want = sklir.print_module(sklir.lower(ridge()))
    assert sklir.print_module(sklir.lower(path)) == want
    assert sklir.print_module(sklir.lower(str(path))) == want
    # the frontend's IR before any pass, from the file as from the estimator
    assert (sklir.print_module(sklir.lower(path, optimize=False))
            == sklir.print_module(sklir.lower(ridge(), optimize=False)))
    data = sklir.emit(path, "onnx")
    assert isinstance(data, bytes)
    assert_ridge_parity(run(data, "onnx", _x("diabetes")))
    assert sklir.emit(str(path), "onnx") == data
    # an IR text file is a model file too
    ir = tmp_path / "ridge.sklir"
    ir.write_text(want)
    assert sklir.print_module(sklir.lower(ir)) == want


def test_lower_a_missing_file() -> None:
    with pytest.raises(InputFileError, match="missing.joblib"):
        sklir.lower("missing.joblib")
    with pytest.raises(InputFileError, match="missing.joblib"):
        sklir.emit(Path("missing.joblib"), "onnx")


# ---- pass specs ----

BAD_SPEC = "constant-fold{max_elements=abc}"
BAD_SPEC_MESSAGE = "pass constant-fold: option max_elements takes an int, got 'abc'"


def _unsupported() -> Any:
    from sklearn.decomposition import NMF

    X, _ = dataset("iris")
    return NMF(2, max_iter=500, random_state=0).fit(X)


def _unfitted() -> Any:
    from sklearn.linear_model import Ridge

    return Ridge()


def test_a_bad_pass_spec_is_refused_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    # what each model alone gives with the default passes
    with pytest.raises(UnsupportedEstimatorError, match="sklearn.decomposition.NMF"):
        sklir.lower(_unsupported())
    with pytest.raises(NotFittedError, match="Ridge"):
        sklir.lower(_unfitted())

    # with a bad spec, nothing is loaded or lowered: the spec's error comes first, whatever the model
    def no_work(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a model was loaded or lowered before the pass spec was checked")

    monkeypatch.setattr(sklir.frontend.registry, "lower", no_work)
    monkeypatch.setattr(sklir.loading, "load_model", no_work)
    for model in (ridge(), _unsupported(), _unfitted(), "missing.joblib"):
        with pytest.raises(SklirError) as caught:
            sklir.lower(model, passes=BAD_SPEC)
        assert type(caught.value) is SklirError, f"{model!r}: {caught.value!r}"
        assert str(caught.value) == BAD_SPEC_MESSAGE


def test_a_good_pass_spec_runs() -> None:
    X = _x("diabetes").astype(np.float64)
    module = sklir.lower(ridge(), passes="constant-fold{max_elements=1000},cse,dce")
    np.testing.assert_allclose(sklir.interpret(module, X)["prediction"], ridge().predict(X), rtol=1e-12)


# ---- supported ----

def test_supported_names_estimators_by_public_path_with_their_outputs() -> None:
    table = sklir.supported()
    assert isinstance(table, dict) and table
    for name, outputs in table.items():
        module, _, cls = name.rpartition(".")
        assert name.startswith("sklearn."), name
        assert not any(part.startswith("_") for part in name.split(".")), f"{name}: a private module"
        # importable under that name, as an app's data scientist would write it
        assert inspect.isclass(getattr(importlib.import_module(module), cls, None)), name
        assert isinstance(outputs, tuple), name
        assert all(o in CONTRACT_ORDER for o in outputs), f"{name}: {outputs}"
        assert list(outputs) == sorted(outputs, key=CONTRACT_ORDER.index), f"{name}: not in contract order"
    assert table["sklearn.linear_model.LogisticRegression"] == ("label", "probabilities", "decision")
    assert table["sklearn.svm.LinearSVC"] == ("label", "decision")
    assert table["sklearn.linear_model.Ridge"] == ("prediction",)
    assert table["sklearn.preprocessing.StandardScaler"] == ("transform",)
    assert table["sklearn.ensemble.IsolationForest"] == ("label", "decision", "score")
    assert table["sklearn.pipeline.Pipeline"] == ()  # a composition: its final step's outputs


def test_supported_agrees_with_the_cli_table() -> None:
    table = sklir.supported()
    text = sklir.cli.supported_table()
    count = re.search(r"(\d+) supported scikit-learn classes", text)
    assert count is not None, text.splitlines()[0]
    assert int(count.group(1)) == len(table)
    for name in table:
        assert re.search(rf"^\s+{re.escape(name.rpartition('.')[2])}\b", text, re.MULTILINE), name


# ---- what is already at the path ----

def test_a_file_sklir_did_not_write_is_left_alone(tmp_path: Path) -> None:
    precious = tmp_path / "m.onnx"
    precious.write_bytes(b"not an artefact\n")
    with pytest.raises(SklirError, match="refusing to replace"):
        sklir.emit(ridge(), "onnx", precious)
    assert precious.read_bytes() == b"not an artefact\n"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]
    # an ONNX artefact sklir wrote is not a .tflite artefact: emitting tflite over it is refused too
    onnx_there = tmp_path / "m.tflite"
    onnx_bytes = sklir.emit(ridge(), "onnx")
    onnx_there.write_bytes(onnx_bytes)
    with pytest.raises(SklirError, match="refusing to replace"):
        sklir.emit(ridge(), "tflite", onnx_there)
    assert onnx_there.read_bytes() == onnx_bytes

    assert sklir.emit(ridge(), "onnx", precious, force=True) == precious
    assert_ridge_parity(run(precious, "onnx", _x("diabetes")))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.tflite"]


@pytest.mark.parametrize("target", ["onnx", "tflite"])
def test_an_artefact_sklir_wrote_is_replaced(tmp_path: Path, target: str) -> None:
    path = tmp_path / f"m.{target}"
    path.write_bytes(ridge_tflite() if target == "tflite" else sklir.emit(ridge(), "onnx"))
    before = artefact_metadata(path, target)
    assert before is not None and before["source"] == "Ridge"
    assert sklir.emit(iris_classifier(), target, path) == path
    recorded = artefact_metadata(path, target)
    assert recorded is not None and recorded["source"] == "LogisticRegression"
    X = _x("iris")
    assert run(path, target, X)["label"].tolist() == iris_classifier().predict(X).tolist()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


# ---- typing ----

def _public_functions() -> dict[str, Any]:
    return {name: getattr(sklir, name) for name in sklir.__all__ if inspect.isfunction(getattr(sklir, name))}


def _hints(function: Any) -> dict[str, Any]:
    """The function's annotations resolved; the names sklir imports only for type checkers supplied."""
    from sklir.backends.profiles import Profile
    from sklir.ir.core import Module
    from sklir.passes.manager import PrintAfter

    return typing.get_type_hints(function, globalns=vars(sklir),
                                 localns={"Module": Module, "np": np, "PrintAfter": PrintAfter, "Profile": Profile})


def test_every_public_function_is_typed() -> None:
    functions = _public_functions()
    assert {"lower", "emit", "parse", "interpret", "print_module", "supported"} <= set(functions)
    for name, function in functions.items():
        hints = _hints(function)
        for parameter in inspect.signature(function).parameters:
            assert parameter in hints, f"sklir.{name}: parameter {parameter} has no annotation"
        assert "return" in hints, f"sklir.{name}: no return annotation"
        assert hints["return"] is not Any, f"sklir.{name} returns Any"


def test_emit_is_overloaded_on_the_path() -> None:
    from sklir.ir.core import Module

    if not hasattr(typing, "get_overloads"):
        pytest.skip("typing.get_overloads is Python 3.11's")
    returns = [_hints(overload)["return"] for overload in typing.get_overloads(sklir.emit)]
    assert returns == [bytes, Path]
    assert _hints(sklir.lower)["return"] is Module
    assert _hints(sklir.supported)["return"] == dict[str, tuple[str, ...]]


def test_a_converter_returning_an_unknown_output_name_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # a converter's typo must not become an artefact output nobody documented
    from sklearn.linear_model import LinearRegression

    from sklir.errors import IRError
    from sklir.frontend.registry import CONVERTERS, _load_converters

    _load_converters()
    original = CONVERTERS[LinearRegression]
    monkeypatch.setitem(CONVERTERS, LinearRegression,
                        lambda est, b, x: {**original(est, b, x), "predictoin": x})
    model = LinearRegression().fit(np.eye(3), [1.0, 2.0, 3.0])
    with pytest.raises(IRError, match="LinearRegression: the converter returned 'predictoin', which is neither"):
        sklir.lower(model)


def test_the_listed_library_classes_are_those_registered() -> None:
    # `sklir supported` names the gradient-boosting libraries' classes without importing them
    import importlib

    from sklir.cli import LIBRARY_CLASSES
    from sklir.frontend.registry import CONVERTERS, LAZY_FRONTENDS

    for library, classes in LIBRARY_CLASSES.items():
        pytest.importorskip(library)
        importlib.import_module(LAZY_FRONTENDS[library])
        registered = {cls.__name__ for cls in CONVERTERS if cls.__module__.split(".")[0] == library}
        assert {name.split(" ")[0] for name in classes} == registered, library

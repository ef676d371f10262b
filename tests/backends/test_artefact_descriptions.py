"""An app developer can read everything an artefact says about itself with standard tooling alone.

The reading code never imports sklir: it is a script run in a fresh interpreter (one per artefact
kind, for all the models at once) that uses only what an app developer has:

- ``.tflite``: LiteRT's ``Interpreter`` (tensor names and order, the ``serving_default`` signature
  runner), the TFLite schema's object API for the model's ``metadata`` entries, a small reader of
  TFLite's standard ``TFLITE_METADATA`` flatbuffer written here from ``metadata_schema.fbs`` (by
  vtable slot, through ``flatbuffers.table.Table``), and ``zipfile`` for the appended ``labels.txt``;
- ``.onnx``: the ``onnx`` package (doc strings, ``metadata_props``) and onnxruntime (its
  ``custom_metadata_map``, the outputs' order, a run).

The script prints what it read as JSON and checks, last, that sklir was never imported; the tests
here compare that with the fitted models. The models are real and small: a multiclass classifier
with string labels and named feature columns, a binary classifier (its one-column decision has no
label file), a regressor and a transformer, each lowered with ``sklir.emit`` once per module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import dataset, standardised

import sklir
from sklir.runtimes import run

# the contract's outputs in its order, and the scikit-learn method each must equal
CLASSIFIER = ("label", "probabilities", "decision")
METHODS = {"label": "predict", "probabilities": "predict_proba", "decision": "decision_function",
           "prediction": "predict", "transform": "transform"}
RTOL = 1e-5

try:
    import pandas
except ImportError:  # not a sklir dependency
    pandas = None


@dataclass(frozen=True)
class Case:
    """A fitted model and the facts its artefacts must state."""

    estimator: Any
    # the float32 rows the artefacts run on, and the same rows as scikit-learn's methods take them
    X: np.ndarray
    rows: Any
    outputs: tuple[str, ...]
    source: str
    classes: list[Any] | None
    feature_names: list[str] | None
    # outputs with one column per class: they carry the label file
    labelled: tuple[str, ...]


def _iris_classifier() -> Case:
    """StandardScaler + LogisticRegression on iris, string labels, fitted on named feature columns.

    With pandas it is fitted on a DataFrame, as an app's data scientist would. pandas is not a
    sklir dependency, so without it the model is fitted on the array and given the attribute a
    DataFrame fit leaves (``feature_names_in_`` on the pipeline's first step), which is all sklir
    and scikit-learn read of the column names.
    """
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = dataset("iris")
    bunch = load_iris()
    names = [str(n) for n in bunch.feature_names]
    labels = np.asarray(bunch.target_names)[y]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    if pandas is not None:
        rows: Any = pandas.DataFrame(X, columns=names)
        model.fit(rows, labels)
    else:
        rows = X
        model.fit(X, labels)
        model[0].feature_names_in_ = np.asarray(names, dtype=object)
    assert list(model.feature_names_in_) == names
    return Case(model, X.astype(np.float32), rows, CLASSIFIER, "Pipeline(StandardScaler, LogisticRegression)",
                list(model.classes_), names, ("probabilities", "decision"))


def _binary_classifier() -> Case:
    from sklearn.linear_model import LogisticRegression

    X, y = standardised("breast_cancer")
    model = LogisticRegression(max_iter=1000).fit(X, y)
    # decision_function is one column for two classes: only probabilities has a column per class
    return Case(model, X.astype(np.float32), X, CLASSIFIER, "LogisticRegression", list(model.classes_), None,
                ("probabilities",))


def _regressor() -> Case:
    from sklearn.linear_model import Ridge

    X, y = dataset("diabetes")
    model = Ridge(alpha=0.5).fit(X, y)
    return Case(model, X.astype(np.float32), X, ("prediction",), "Ridge", None, None, ())


def _transformer() -> Case:
    from sklearn.decomposition import PCA

    X, _ = dataset("wine")
    model = PCA(3, random_state=0).fit(X)
    return Case(model, X.astype(np.float32), X, ("transform",), "PCA", None, None, ())


CASES = {"iris": _iris_classifier, "binary": _binary_classifier, "regressor": _regressor,
         "transformer": _transformer}


def sklearn_outputs(case: Case) -> dict[str, np.ndarray]:
    """What scikit-learn's own methods return for the case's rows, by output name."""
    with warnings.catch_warnings():
        # the array-fitted iris model (no pandas) has feature names the array lacks: same columns, in order
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return {name: np.asarray(getattr(case.estimator, METHODS[name])(case.rows)) for name in case.outputs}


# ---- the reading scripts: standard tooling only ----

_PRELUDE = r'''
import json, sys

def finish(report):
    """Print the report; sklir must not have been imported by anything the script used."""
    imported = sorted(m for m in sys.modules if m == "sklir" or m.startswith("sklir."))
    assert "sklir" not in sys.modules, imported
    report["sklir_modules"] = imported
    print(json.dumps(report))

def values(array):
    import numpy as np
    array = np.asarray(array)
    if array.dtype.kind in "OSU":
        return [v.decode() if isinstance(v, bytes) else str(v) for v in array.ravel().tolist()]
    return array.tolist()
'''

TFLITE_READER = _PRELUDE + r'''
import zipfile
import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter
from flatbuffers import encode, number_types, packer
from flatbuffers.table import Table

# metadata_schema.fbs, by vtable slot: a field's vtable entry is at byte 4 + 2 * slot
def field(table, slot):
    return table.Offset(4 + 2 * slot)

def string(table, slot):
    offset = field(table, slot)
    return table.String(offset + table.Pos).decode() if offset else None

def byte(table, slot):
    offset = field(table, slot)
    return table.Get(number_types.Int8Flags, offset + table.Pos) if offset else 0

def tables(table, slot):
    offset = field(table, slot)
    if not offset:
        return []
    start = table.Vector(offset)
    return [Table(table.Bytes, table.Indirect(start + 4 * i)) for i in range(table.VectorLen(offset))]

def files(table, slot):
    # AssociatedFile: name 0, description 1, type 2 (byte; TENSOR_AXIS_LABELS = 2)
    return [{"name": string(f, 0), "description": string(f, 1), "type": byte(f, 2)} for f in tables(table, slot)]

def tensors(table, slot):
    # TensorMetadata: name 0, description 1, associated_files 6
    return [{"name": string(t, 0), "description": string(t, 1), "files": files(t, 6)} for t in tables(table, slot)]

def standard_metadata(buffer):
    root = Table(bytearray(buffer), encode.Get(packer.uoffset, buffer, 0))
    # ModelMetadata: name 0, description 1, version 2, subgraph_metadata 3, author 4,
    # associated_files 6, min_parser_version 7; SubGraphMetadata: inputs 2, outputs 3
    subgraphs = tables(root, 3)
    return {"identifier": bytes(buffer[4:8]).decode(), "name": string(root, 0), "description": string(root, 1),
            "version": string(root, 2), "author": string(root, 4), "files": files(root, 6),
            "min_parser_version": string(root, 7),
            "inputs": [tensors(s, 2) for s in subgraphs], "outputs": [tensors(s, 3) for s in subgraphs]}

report = {}
paths = sys.argv[1:]
for path, rows in zip(paths[::2], paths[1::2]):
    data = open(path, "rb").read()
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    entries = [(m.name.decode() if isinstance(m.name, bytes) else m.name, m.buffer) for m in model.metadata or []]
    buffers = {name: model.buffers[index].data.tobytes() for name, index in entries}
    interpreter = Interpreter(model_path=path)
    detail = lambda d: {"name": d["name"], "dtype": np.dtype(d["dtype"]).name,
                        "shape": d["shape_signature"].tolist()}
    X = np.load(rows)
    got = interpreter.get_signature_runner("serving_default")(x=X)
    archive = None
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            archive = {name: z.read(name).decode() for name in z.namelist()}
    report[path] = {
        "metadata_entries": [name for name, _ in entries],
        "sklir": json.loads(buffers["sklir"].decode()) if "sklir" in buffers else None,
        "standard": standard_metadata(buffers["TFLITE_METADATA"]) if "TFLITE_METADATA" in buffers else None,
        "inputs": [detail(d) for d in interpreter.get_input_details()],
        "outputs": [detail(d) for d in interpreter.get_output_details()],
        "signatures": interpreter.get_signature_list(),
        "values": {name: values(v) for name, v in got.items()},
        "zip": archive,
    }
finish(report)
'''

ONNX_READER = _PRELUDE + r'''
import numpy as np
import onnx
import onnxruntime

report = {}
paths = sys.argv[1:]
for path, rows in zip(paths[::2], paths[1::2]):
    model = onnx.load(path)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta()
    X = np.load(rows)
    names = [o.name for o in session.get_outputs()]
    got = session.run(None, {session.get_inputs()[0].name: X})
    report[path] = {
        "doc": model.doc_string, "graph_doc": model.graph.doc_string,
        "producer": [model.producer_name, model.producer_version],
        "inputs": [{"name": v.name, "doc": v.doc_string} for v in model.graph.input],
        "outputs": [{"name": v.name, "doc": v.doc_string} for v in model.graph.output],
        "props": {p.key: p.value for p in model.metadata_props},
        "ort_outputs": names,
        "ort_metadata": dict(meta.custom_metadata_map),
        "ort_description": meta.description,
        "values": {name: values(v) for name, v in zip(names, got)},
    }
finish(report)
'''


def read_with_standard_tools(script: str, pairs: list[tuple[Path, Path]]) -> dict[str, Any]:
    """Run ``script`` on (artefact, rows.npy) pairs in a fresh interpreter; its JSON report by artefact."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    argv = [str(p) for pair in pairs for p in pair]
    done = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True,
                          cwd=pairs[0][0].parent, env=env, timeout=300, check=False)
    assert done.returncode == 0, f"the reading script failed:\n{done.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert report.pop("sklir_modules") == []
    return {Path(path).stem: entry for path, entry in report.items()}


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    return {name: make() for name, make in CASES.items()}


@pytest.fixture(scope="module")
def artefacts(cases: dict[str, Case], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[Path, Path]]]:
    """Each case emitted once per target with ``sklir.emit``, beside its rows: target -> [(artefact, rows.npy)]."""
    directory = tmp_path_factory.mktemp("described")
    pairs: dict[str, list[tuple[Path, Path]]] = {"tflite": [], "onnx": []}
    for name, case in cases.items():
        rows = directory / f"{name}.npy"
        np.save(rows, case.X)
        for target in pairs:
            path = sklir.emit(case.estimator, target, directory / f"{name}.{target}")
            assert path == directory / f"{name}.{target}"
            pairs[target].append((path, rows))
    return pairs


@pytest.fixture(scope="module")
def tflite(artefacts: dict[str, list[tuple[Path, Path]]]) -> dict[str, Any]:
    return read_with_standard_tools(TFLITE_READER, artefacts["tflite"])


@pytest.fixture(scope="module")
def onnx_read(artefacts: dict[str, list[tuple[Path, Path]]]) -> dict[str, Any]:
    return read_with_standard_tools(ONNX_READER, artefacts["onnx"])


def _artefact(artefacts: dict[str, list[tuple[Path, Path]]], target: str, name: str) -> Path:
    return next(path for path, _ in artefacts[target] if path.stem == name)


def assert_parity(name: str, case: Case, got: dict[str, list[Any]]) -> None:
    """The values read equal scikit-learn's: labels identical, floats within RTOL of the output's scale."""
    want = sklearn_outputs(case)
    assert set(got) == set(case.outputs), name
    for output, w in want.items():
        g = np.asarray(got[output])
        assert g.shape == w.shape, f"{name} {output}: shape {g.shape} != {w.shape}"
        if output == "label":
            assert g.tolist() == w.tolist(), f"{name}: labels differ from predict"
        else:
            scale = max(1.0, float(np.abs(w).max()))
            np.testing.assert_allclose(g, w, rtol=0, atol=RTOL * scale, err_msg=f"{name} {output}")


def _mentions_columns(text: str, names: list[str]) -> bool:
    return all(n in text for n in names)


# ---- .tflite ----

def test_tflite_tensors_are_named_after_the_outputs_in_contract_order(cases: dict[str, Case],
                                                                     tflite: dict[str, Any]) -> None:
    for name, case in cases.items():
        read = tflite[name]
        width = case.X.shape[1]
        assert read["inputs"] == [{"name": "x", "dtype": "float32", "shape": [-1, width]}], name
        assert [d["name"] for d in read["outputs"]] == list(case.outputs), name
        assert read["signatures"] == {"serving_default": {"inputs": ["x"], "outputs": sorted(case.outputs)}}
    # the label output holds the class values themselves: strings (TFLite string tensors) for iris,
    # integers for the binary model
    assert [d["dtype"] for d in tflite["iris"]["outputs"]] == ["bytes", "float32", "float32"]
    assert tflite["binary"]["outputs"][0]["dtype"] == "int64"


def test_tflite_signature_runner_gives_what_sklir_and_scikit_learn_give(
        cases: dict[str, Case], artefacts: dict[str, list[tuple[Path, Path]]], tflite: dict[str, Any]) -> None:
    for name, case in cases.items():
        got = tflite[name]["values"]
        assert_parity(name, case, got)
        # the same numbers sklir's own runner reads from the same file (JSON keeps float32 exactly)
        ours = run(_artefact(artefacts, "tflite", name), "tflite", case.X)
        assert set(ours) == set(got), name
        for output, value in ours.items():
            assert np.asarray(got[output], dtype=value.dtype).tolist() == value.tolist(), f"{name} {output}"


def test_tflite_standard_metadata_describes_the_model(cases: dict[str, Case], tflite: dict[str, Any]) -> None:
    for name, case in cases.items():
        standard = tflite[name]["standard"]
        assert standard is not None, f"{name}: no TFLITE_METADATA entry"
        assert standard["identifier"] == "M001"
        assert standard["name"] == case.source
        assert case.source in standard["description"], standard["description"]
        assert f"sklir {sklir.__version__}" in standard["description"], standard["description"]
        assert standard["version"] == sklir.__version__
        assert standard["author"] == "sklir"
        assert standard["min_parser_version"] == "1.0.0"
        # one subgraph, its tensors described in the model's order
        (inputs,) = standard["inputs"]
        (outputs,) = standard["outputs"]
        assert [t["name"] for t in inputs] == ["x"]
        assert [t["name"] for t in outputs] == list(case.outputs)
        for tensor in inputs + outputs:
            assert tensor["description"] and tensor["description"].strip(), f"{name} {tensor['name']}"
        assert f"{case.X.shape[1]} columns" in inputs[0]["description"], inputs[0]["description"]
    iris = tflite["iris"]["standard"]
    assert _mentions_columns(iris["inputs"][0][0]["description"], cases["iris"].feature_names or [])
    assert "setosa" in iris["description"] and "virginica" in iris["description"]


def test_tflite_label_file_belongs_to_the_per_class_outputs(cases: dict[str, Case], tflite: dict[str, Any]) -> None:
    for name, case in cases.items():
        read = tflite[name]
        (outputs,) = read["standard"]["outputs"]
        for tensor in outputs:
            files = tensor["files"]
            if tensor["name"] in case.labelled:
                assert [(f["name"], f["type"]) for f in files] == [("labels.txt", 2)], f"{name} {tensor['name']}"
                assert tensor["name"] in files[0]["description"]
            else:
                assert files == [], f"{name} {tensor['name']}"
        if case.labelled:
            assert [(f["name"], f["type"]) for f in read["standard"]["files"]] == [("labels.txt", 2)], name
            # the model file is also a zip holding the label file: the classes, one per line, in classes_ order
            assert read["zip"] is not None and list(read["zip"]) == ["labels.txt"], name
            assert read["zip"]["labels.txt"].splitlines() == [str(c) for c in case.classes or []], name
        else:
            assert read["standard"]["files"] == [], name
            assert read["zip"] is None, f"{name}: an archive appended, but no output has a column per class"


def test_tflite_sklir_entry_records_origin(cases: dict[str, Case], tflite: dict[str, Any]) -> None:
    for name, case in cases.items():
        read = tflite[name]
        assert sorted(read["metadata_entries"]) == sorted(set(read["metadata_entries"])), name
        assert {"sklir", "TFLITE_METADATA"} <= set(read["metadata_entries"]), name
        entry = read["sklir"]
        assert entry["sklir_version"] == sklir.__version__
        assert entry["source"] == case.source
        assert entry.get("classes") == ([c.item() if hasattr(c, "item") else c for c in case.classes]
                                        if case.classes is not None else None), name
        assert entry.get("feature_names") == case.feature_names, name


# ---- .onnx ----

def test_onnx_doc_strings_describe_model_and_every_input_and_output(cases: dict[str, Case],
                                                                    onnx_read: dict[str, Any]) -> None:
    for name, case in cases.items():
        read = onnx_read[name]
        for doc in (read["doc"], read["graph_doc"], read["ort_description"]):
            assert case.source in doc and f"sklir {sklir.__version__}" in doc, f"{name}: {doc!r}"
        assert read["producer"] == ["sklir", sklir.__version__]
        assert [v["name"] for v in read["inputs"]] == ["x"]
        assert [v["name"] for v in read["outputs"]] == list(case.outputs) == read["ort_outputs"], name
        for value in read["inputs"] + read["outputs"]:
            assert value["doc"].strip(), f"{name} {value['name']}: no doc_string"
        assert f"{case.X.shape[1]} columns" in read["inputs"][0]["doc"]
        # each output's description is its own, not one text for all
        assert len({v["doc"] for v in read["outputs"]}) == len(case.outputs), name
    assert _mentions_columns(onnx_read["iris"]["inputs"][0]["doc"], cases["iris"].feature_names or [])


def test_onnx_metadata_props_and_custom_metadata_map(cases: dict[str, Case], onnx_read: dict[str, Any]) -> None:
    for name, case in cases.items():
        read = onnx_read[name]
        props = read["props"]
        expected_keys = {"sklir", "sklir_version", "source"}
        assert props["sklir_version"] == sklir.__version__
        assert props["source"] == case.source
        assert json.loads(props["sklir"])["source"] == case.source
        if case.classes is not None:
            expected_keys |= {"classes", "labels"}
            assert json.loads(props["classes"]) == [c.item() if hasattr(c, "item") else c for c in case.classes]
            assert props["labels"].splitlines() == [str(c) for c in case.classes]
        if case.feature_names is not None:
            expected_keys.add("feature_names")
            assert json.loads(props["feature_names"]) == case.feature_names
        assert set(props) == expected_keys, f"{name}: {sorted(props)}"
        # onnxruntime shows the same pairs to an app
        assert read["ort_metadata"] == props, name


def test_onnx_runs_with_parity(cases: dict[str, Case], onnx_read: dict[str, Any]) -> None:
    for name, case in cases.items():
        assert_parity(name, case, onnx_read[name]["values"])


def test_iris_feature_names_come_from_a_dataframe_fit() -> None:
    """The iris model above gets its column names from a DataFrame when pandas is installed."""
    if pandas is None:
        pytest.skip("pandas is not installed (not a sklir dependency): the iris model's feature names were "
                    "set as a DataFrame fit sets them, and checked above all the same")
    case = _iris_classifier()
    assert isinstance(case.rows, pandas.DataFrame)
    assert sklir.lower(case.estimator).attributes["feature_names"] == tuple(case.feature_names or ())

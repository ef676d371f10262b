"""Post-processing of .tflite flatbuffers: signature tensor names and order, metadata entries, and
TFLite's standard model metadata with its label file appended as a zip archive.

The models are tiny TF functions converted once per module (no sklir lowering involved). The
standard metadata is read back by an independent reader written here from the published
``metadata_schema.fbs``, by vtable slot, without sklir's code.
"""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from ai_edge_litert import schema_py_generated as tflite_schema  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402
from flatbuffers import encode, number_types, packer  # noqa: E402
from flatbuffers.table import Table  # noqa: E402

from sklir.backends.tflite_artefact import (  # noqa: E402
    add_metadata_entries,
    appended_files,
    attach_standard_metadata,
    name_and_order_io,
    standard_metadata,
)

W = (np.arange(12, dtype=np.float32).reshape(4, 3) - 5) / 7
X = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
ORDER = ["label", "probabilities", "decision"]
LABELS = ["setosa", "versicolor", "virginica"]


def _convert(outputs: Any) -> bytes:
    import tensorflow as tf

    holder = tf.Module()
    holder.serve = tf.function(outputs, input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")],
                               autograph=False)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([holder.serve.get_concrete_function()], holder)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return bytes(converter.convert())


@pytest.fixture(scope="module")
def models() -> dict[str, bytes]:
    """``plain``: three outputs of their own; ``aliased``: also an output equal to another, and one equal to x."""
    import tensorflow as tf

    def heads(x: Any) -> dict[str, Any]:
        decision = tf.linalg.matmul(x, tf.constant(W))
        return {"probabilities": tf.nn.softmax(decision, axis=-1),
                "label": tf.math.argmax(decision, axis=-1, output_type=tf.int64),
                "decision": tf.identity(decision)}

    def aliased(x: Any) -> dict[str, Any]:
        out = heads(x)
        return {**out, "margin": tf.identity(out["decision"]), "features": tf.identity(x)}

    return {"plain": _convert(heads), "aliased": _convert(aliased)}


def _interpreter(data: bytes) -> Interpreter:
    return Interpreter(model_content=data)


def _run(data: bytes) -> dict[str, np.ndarray]:
    runner = _interpreter(data).get_signature_runner("serving_default")
    return dict(runner(x=X))


def signature_keys(data: bytes) -> tuple[list[str], list[str]]:
    """The serving_default SignatureDef's input and output keys, in the file's order."""
    model = tflite_schema.Model.GetRootAs(data, 0)
    (signature,) = [model.SignatureDefs(i) for i in range(model.SignatureDefsLength())]
    assert signature.SignatureKey() == b"serving_default"
    return ([signature.Inputs(i).Name().decode() for i in range(signature.InputsLength())],
            [signature.Outputs(i).Name().decode() for i in range(signature.OutputsLength())])


def _tensor_names(details: list[dict[str, Any]]) -> list[str]:
    return [d["name"] for d in details]


# ---- names and order ----

def test_inputs_and_outputs_named_after_their_keys_in_order(models: dict[str, bytes]) -> None:
    data = name_and_order_io(models["plain"], ["x"], ORDER)
    # the converter names them serving_default_x:0 and PartitionedCall:N, and sorts the signature's outputs
    assert signature_keys(models["plain"]) == (["x"], sorted(ORDER))
    it = _interpreter(data)
    assert _tensor_names(it.get_input_details()) == ["x"]
    assert _tensor_names(it.get_output_details()) == ORDER
    # the SignatureDef lists its outputs in that order too, but LiteRT keeps a signature's keys in
    # a sorted map: get_signature_list and the runner's details come out alphabetical whatever the file says
    assert signature_keys(data) == (["x"], ORDER)
    assert it.get_signature_list() == {"serving_default": {"inputs": ["x"], "outputs": sorted(ORDER)}}
    runner = it.get_signature_runner("serving_default")
    assert {key: d["name"] for key, d in runner.get_output_details().items()} == {key: key for key in ORDER}
    # same values through the signature, and each output tensor holds its own key's value
    before, after = _run(models["plain"]), dict(runner(x=X))
    assert before.keys() == after.keys()
    for key in ORDER:
        np.testing.assert_array_equal(after[key], before[key])
    # without the signature (a fresh interpreter: a live runner pins the first one's buffers)
    plain = _interpreter(data)
    plain.resize_tensor_input(plain.get_input_details()[0]["index"], list(X.shape))
    plain.allocate_tensors()
    plain.set_tensor(plain.get_input_details()[0]["index"], X)
    plain.invoke()
    for detail in plain.get_output_details():
        np.testing.assert_array_equal(plain.get_tensor(detail["index"]), before[detail["name"]])


def test_reordering_twice_is_stable(models: dict[str, bytes]) -> None:
    once = name_and_order_io(models["plain"], ["x"], ORDER)
    again = name_and_order_io(once, ["x"], list(reversed(ORDER)))
    assert _tensor_names(_interpreter(again).get_output_details()) == list(reversed(ORDER))
    assert name_and_order_io(again, ["x"], ORDER) == once


@pytest.mark.parametrize("inputs, outputs, message", [
    (["x"], ["label", "probabilities", "score"], "not signature outputs: score"),
    (["x"], ["label", "probabilities"], "list each signature output once"),
    (["x"], ["label", "label", "probabilities", "decision"], "list each signature output once"),
    (["features"], ORDER, "not signature inputs: features"),
])
def test_wrong_keys_are_refused(models: dict[str, bytes], inputs: list[str], outputs: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        name_and_order_io(models["plain"], inputs, outputs)


def test_other_signature_is_refused(models: dict[str, bytes]) -> None:
    with pytest.raises(ValueError, match="no 'predict' signature"):
        name_and_order_io(models["plain"], ["x"], ORDER, signature="predict")


def test_shared_tensors_take_the_first_key(models: dict[str, bytes]) -> None:
    # the converter folds identity outputs: margin is decision's tensor, features is x's
    order = ["label", "features", "decision", "margin", "probabilities"]
    data = name_and_order_io(models["aliased"], ["x"], order)
    it = _interpreter(data)
    assert _tensor_names(it.get_output_details()) == ["label", "x", "decision", "decision", "probabilities"]
    assert signature_keys(data) == (["x"], order)
    out = _run(data)
    np.testing.assert_array_equal(out["features"], X)
    np.testing.assert_array_equal(out["margin"], out["decision"])
    np.testing.assert_allclose(out["decision"], X @ W, rtol=1e-5, atol=1e-6)


# ---- an independent reader for the standard metadata (metadata_schema.fbs, by vtable slot) ----

def _field(table: Table, slot: int) -> int:
    return int(table.Offset(4 + 2 * slot))


def _string(table: Table, slot: int) -> str | None:
    offset = _field(table, slot)
    return table.String(offset + table.Pos).decode() if offset else None


def _int8(table: Table, slot: int) -> int:
    offset = _field(table, slot)
    return int(table.Get(number_types.Int8Flags, offset + table.Pos)) if offset else 0


def _tables(table: Table, slot: int) -> list[Table]:
    offset = _field(table, slot)
    if not offset:
        return []
    start = table.Vector(offset)
    return [Table(table.Bytes, table.Indirect(start + 4 * i)) for i in range(table.VectorLen(offset))]


def _files(table: Table, slot: int) -> list[tuple[str | None, str | None, int]]:
    # AssociatedFile: name 0, description 1, type 2 (byte), locale 3, version 4
    return [(_string(f, 0), _string(f, 1), _int8(f, 2)) for f in _tables(table, slot)]


def _tensors(table: Table, slot: int) -> list[tuple[str | None, str | None, list[Any]]]:
    # TensorMetadata: name 0, description 1, dimension_names 2, content 3, process_units 4, stats 5,
    # associated_files 6
    return [(_string(t, 0), _string(t, 1), _files(t, 6)) for t in _tables(table, slot)]


def read_standard_metadata(buffer: bytes) -> dict[str, Any]:
    """The ModelMetadata's fields we write, read by slot per metadata_schema.fbs (schema 1.5.0)."""
    assert buffer[4:8] == b"M001"
    root = Table(bytearray(buffer), encode.Get(packer.uoffset, buffer, 0))
    # ModelMetadata: name 0, description 1, version 2, subgraph_metadata 3, author 4, license 5,
    # associated_files 6, min_parser_version 7
    # SubGraphMetadata: name 0, description 1, input_tensor_metadata 2, output_tensor_metadata 3, ...
    subgraphs = _tables(root, 3)
    return {
        "name": _string(root, 0), "description": _string(root, 1), "version": _string(root, 2),
        "author": _string(root, 4), "license": _string(root, 5), "files": _files(root, 6),
        "min_parser_version": _string(root, 7),
        "inputs": [_tensors(s, 2) for s in subgraphs], "outputs": [_tensors(s, 3) for s in subgraphs],
    }


def model_metadata_entries(data: bytes) -> list[tuple[str, bytes]]:
    """The .tflite model's metadata list, in order (names may repeat), read with the TFLite schema."""
    model = tflite_schema.Model.GetRootAs(data, 0)
    entries = []
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        entries.append((entry.Name().decode(), model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()))
    return entries


# ---- standard metadata ----

def _metadata(labels: str | None = "labels.txt") -> bytes:
    return standard_metadata(
        "iris classifier", "Predicts the iris species from four measurements.", "1.2.3", "sklir tests",
        inputs=[("x", "Four measurements, in cm.")],
        outputs=[("label", "The predicted class index.", None),
                 ("probabilities", "The probability of each class.", labels),
                 ("decision", "The decision function.", labels)],
    )


def test_standard_metadata_reads_back_by_slot() -> None:
    label_file = ("labels.txt", "Labels of the last axis of 'probabilities', one per line.", 2)
    assert read_standard_metadata(_metadata()) == {
        "name": "iris classifier", "description": "Predicts the iris species from four measurements.",
        "version": "1.2.3", "author": "sklir tests", "license": None, "min_parser_version": "1.0.0",
        "files": [label_file],  # listed once, however many tensors use it
        "inputs": [[("x", "Four measurements, in cm.", [])]],
        "outputs": [[("label", "The predicted class index.", []),
                     ("probabilities", "The probability of each class.", [label_file]),
                     ("decision", "The decision function.",
                      [("labels.txt", "Labels of the last axis of 'decision', one per line.", 2)])]],
    }
    without = read_standard_metadata(_metadata(labels=None))
    assert without["files"] == [] and all(files == [] for _, _, files in without["outputs"][0])


def test_attached_metadata_and_label_file(models: dict[str, bytes]) -> None:
    named = name_and_order_io(models["plain"], ["x"], ORDER)
    named = add_metadata_entries(named, {"sklir": b'{"a": 1}'})
    labels = "".join(f"{label}\n" for label in LABELS).encode()
    data = attach_standard_metadata(named, _metadata(), {"labels.txt": labels})

    entries = dict(model_metadata_entries(data))
    assert entries["sklir"] == b'{"a": 1}'
    assert read_standard_metadata(entries["TFLITE_METADATA"])["name"] == "iris classifier"
    # the model file is also a zip archive holding the label file, stored uncompressed
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["labels.txt"]
        assert archive.getinfo("labels.txt").compress_type == zipfile.ZIP_STORED
        assert archive.read("labels.txt").decode().splitlines() == LABELS
        assert archive.testzip() is None
        # offsets count from the start of the file, so the member's bytes sit where it says
        info = archive.getinfo("labels.txt")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
        assert data[start:start + info.file_size] == labels
    assert appended_files(data) == {"labels.txt": labels}
    assert appended_files(named) == {}
    # LiteRT loads the flatbuffer and ignores the archive after it
    it = _interpreter(data)
    assert _tensor_names(it.get_output_details()) == ORDER
    out, reference = _run(data), _run(models["plain"])
    for key in ORDER:
        np.testing.assert_array_equal(out[key], reference[key])
    # same inputs, same bytes
    assert attach_standard_metadata(named, _metadata(), {"labels.txt": labels}) == data


def test_attaching_again_replaces_entry_and_archive(models: dict[str, bytes]) -> None:
    first = attach_standard_metadata(models["plain"], _metadata(), {"labels.txt": b"a\nb\nc\n"})
    second = attach_standard_metadata(first, _metadata(), {"labels.txt": b"p\nq\nr\n"})
    names = [name for name, _ in model_metadata_entries(second)]
    assert names.count("TFLITE_METADATA") == 1
    assert appended_files(second) == {"labels.txt": b"p\nq\nr\n"}
    # the replaced entry's buffer is reused: the flatbuffers have the same number of buffers
    count = [tflite_schema.Model.GetRootAs(d, 0).BuffersLength() for d in (first, second)]
    assert count[0] == count[1]
    # editing a model that carries files keeps them
    renamed = name_and_order_io(second, ["x"], ORDER)
    assert appended_files(renamed) == {"labels.txt": b"p\nq\nr\n"}
    assert _tensor_names(_interpreter(renamed).get_output_details()) == ORDER
    entry = add_metadata_entries(renamed, {"sklir": b"{}"})
    assert appended_files(entry) == {"labels.txt": b"p\nq\nr\n"}
    assert [name for name, _ in model_metadata_entries(entry)].count("TFLITE_METADATA") == 1


def test_files_must_match_the_metadata(models: dict[str, bytes]) -> None:
    with pytest.raises(ValueError, match="associated files"):
        attach_standard_metadata(models["plain"], _metadata(), {})
    with pytest.raises(ValueError, match="associated files"):
        attach_standard_metadata(models["plain"], _metadata(labels=None), {"labels.txt": b"a\n"})
    too_few = standard_metadata("m", "d", "1", "a", [("x", "in")], [("label", "out", None)])
    with pytest.raises(ValueError, match="describes 1 output tensor"):
        attach_standard_metadata(models["plain"], too_few, {})
    with pytest.raises(ValueError, match="M001"):
        attach_standard_metadata(models["plain"], b"\0" * 16, {})
    with pytest.raises(ValueError, match="TFL3"):
        name_and_order_io(b"\0" * 16, ["x"], ORDER)


def test_a_zip_inside_the_flatbuffer_is_not_an_appended_archive(models: dict[str, bytes]) -> None:
    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w") as archive:
        archive.writestr("inner.txt", "not an associated file")
    data = add_metadata_entries(models["plain"], {"payload": payload.getvalue()})
    assert dict(model_metadata_entries(data))["payload"] == payload.getvalue()
    assert appended_files(data) == {}
    # and editing the model again does not grow an archive out of it
    assert appended_files(name_and_order_io(data, ["x"], ORDER)) == {}

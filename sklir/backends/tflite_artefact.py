"""Post-processing of a ``.tflite`` flatbuffer, bytes in and bytes out, without TensorFlow.

Three finishing steps for what the TFLite converter writes:

- :func:`name_and_order_io` names the signature's tensors after their signature keys (the
  converter calls them ``serving_default_x:0`` and ``PartitionedCall:N``) and puts the inputs and
  outputs in the order wanted (the converter sorts the signature's outputs by name);
- :func:`add_metadata_entries` adds named byte strings to the model's ``metadata`` list;
- :func:`respell_operators` writes an operator under the code of an equivalent one a runtime
  provides (``SELECT`` as ``SELECT_V2`` for TensorFlow Lite Micro);
- :func:`standard_metadata` and :func:`attach_standard_metadata` write TFLite's standard model
  metadata (the ``metadata_schema.fbs`` flatbuffer of tflite-support and MediaPipe, file
  identifier ``M001``, in the ``TFLITE_METADATA`` entry) and append its associated files (label
  files) as a zip archive after the flatbuffer, as tflite-support does: the file is then both a
  ``.tflite`` model and a zip archive. :func:`appended_files` reads that archive back.

The model is edited through the TFLite schema's generated object API and packed again, which
keeps every table and buffer; an archive already appended to the input is kept as well.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema
from flatbuffers import encode, packer
from flatbuffers.table import Table

from sklir.runtimes import SIGNATURE

# the model's metadata entry holding the standard metadata, as tflite-support and MediaPipe name it
STANDARD_METADATA_NAME = "TFLITE_METADATA"
MODEL_IDENTIFIER = b"TFL3"
METADATA_IDENTIFIER = b"M001"
# a zip archive's end record starts with this signature; with no comment, it is the file's last 22 bytes
_END_OF_ARCHIVE = b"PK\x05\x06"
# AssociatedFileType.TENSOR_AXIS_LABELS: one label per line, for each entry of a tensor's last axis
TENSOR_AXIS_LABELS = 2

# Field slots of metadata_schema.fbs (schema 1.5.0): a table's fields in declaration order, none
# deprecated; a field's vtable entry sits at byte 4 + 2 * slot. ``_FIELDS`` is each table's count.
_MODEL_FIELDS, _SUBGRAPH_FIELDS, _TENSOR_FIELDS, _FILE_FIELDS = 8, 10, 7, 5
# ModelMetadata: name, description, version, subgraph_metadata, author, license, associated_files,
# min_parser_version
MODEL_NAME, MODEL_DESCRIPTION, MODEL_VERSION, MODEL_SUBGRAPHS, MODEL_AUTHOR = 0, 1, 2, 3, 4
MODEL_FILES, MODEL_MIN_PARSER_VERSION = 6, 7
# SubGraphMetadata: name, description, input_tensor_metadata, output_tensor_metadata,
# associated_files, input_process_units, output_process_units, input_tensor_groups,
# output_tensor_groups, custom_metadata
SUBGRAPH_INPUTS, SUBGRAPH_OUTPUTS, SUBGRAPH_FILES = 2, 3, 4
# TensorMetadata: name, description, dimension_names, content, process_units, stats, associated_files
TENSOR_NAME, TENSOR_DESCRIPTION, TENSOR_FILES = 0, 1, 6
# AssociatedFile: name, description, type, locale, version
FILE_NAME, FILE_DESCRIPTION, FILE_TYPE = 0, 1, 2


def _text(value: str | bytes | None) -> str:
    return value.decode() if isinstance(value, bytes) else value or ""


def _unpack(data: bytes) -> Any:
    """The model as the schema's object API (``ModelT``); refuses models with out-of-flatbuffer buffers."""
    if data[4:8] != MODEL_IDENTIFIER:
        raise ValueError("not a .tflite model (no TFL3 file identifier)")
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    if any((buffer.offset or 0) > 1 for buffer in model.buffers or []):
        # such buffers (models over 2 GB) live after the flatbuffer, at offsets packing would move
        raise ValueError("the model keeps buffers outside its flatbuffer; it cannot be repacked")
    return model


def _pack(model: Any, files: Mapping[str, bytes], size_hint: int = 1024) -> bytes:
    builder = flatbuffers.Builder(size_hint + 1024)
    builder.Finish(model.Pack(builder), file_identifier=MODEL_IDENTIFIER)
    return _append_zip(bytes(builder.Output()), files)


def _append_zip(data: bytes, files: Mapping[str, bytes]) -> bytes:
    """``data`` followed by a zip archive of ``files`` (stored uncompressed, with absolute offsets)."""
    if not files:
        return data
    out = io.BytesIO()
    out.write(data)
    # written from the end of ``data``, the archive's offsets count from the start of the whole
    # file, as readers that map the model (MediaPipe's) expect; members are stored, never
    # deflated, because those readers hand out each member's bytes in place
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, payload in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # fixed: same input, same bytes
            info.external_attr = 0o644 << 16
            archive.writestr(info, payload)
    return out.getvalue()


def appended_files(data: bytes) -> dict[str, bytes]:
    """The files of the zip archive appended to a ``.tflite`` model, name -> bytes ({} when there is none).

    Only an archive that ends the file without a comment counts (as this module and tflite-support
    write them), so bytes inside the flatbuffer that merely look like a zip record are not taken for one.
    """
    if data[-22:-18] != _END_OF_ARCHIVE:
        return {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, struct.error):
        return {}


# ---- signature tensors: names and order ----

def _signature(model: Any, key: str) -> Any:
    for signature in model.signatureDefs or []:
        if _text(signature.signatureKey) == key:
            return signature
    found = ", ".join(_text(s.signatureKey) for s in model.signatureDefs or []) or "none"
    raise ValueError(f"the model has no '{key}' signature (found: {found})")


def _in_order(entries: list[Any], order: Sequence[str], what: str) -> list[Any]:
    """The signature's tensor maps ``entries`` in the order of their keys in ``order``, which lists each once."""
    by_key = {_text(entry.name): entry for entry in entries}
    unknown = [key for key in order if key not in by_key]
    if unknown:
        raise ValueError(f"not signature {what}s: {', '.join(unknown)} (they are: {', '.join(by_key)})")
    missing = [key for key in by_key if key not in order]
    if missing or len(set(order)) != len(order):
        raise ValueError(f"the {what} order must list each signature {what} once ({', '.join(by_key)}), "
                         f"got: {', '.join(order)}")
    return [by_key[key] for key in order]


def _reordered(current: Any, wanted: list[int]) -> np.ndarray:
    """Tensor indices ``wanted`` first, then those of ``current`` not among them, as the schema's int32 vector."""
    taken = set(wanted)
    rest = [int(i) for i in (current if current is not None else []) if int(i) not in taken]
    return np.array(wanted + rest, dtype=np.int32)


def name_and_order_io(data: bytes, input_names: Sequence[str], output_order: Sequence[str],
                      signature: str = SIGNATURE) -> bytes:
    """``data`` with the signature's tensors named after their keys, and inputs and outputs in the given orders.

    ``input_names`` and ``output_order`` each list every key of the signature's inputs (outputs)
    once, in the order wanted; the subgraph's ``inputs``/``outputs`` and the SignatureDef's lists
    both follow it, so ``get_input_details``/``get_output_details`` list the tensors in that order
    and under those names. (LiteRT keeps a signature's keys in a sorted map, so its
    ``get_signature_list`` and signature runners still list them alphabetically, whatever the
    file's order.) Raises ValueError for a key the signature lacks, or one left out or repeated.

    The converter gives outputs that compute the same value one tensor, however each was wrapped
    in ``tf.identity`` (and an output equal to an input is the input tensor itself). Such a tensor
    is named after the first key that refers to it (inputs first, then outputs in order); the later
    keys still find it through the signature, and the subgraph lists it once per key.
    """
    model = _unpack(data)
    found = _signature(model, signature)
    subgraph = model.subgraphs[found.subgraphIndex]
    inputs = _in_order(found.inputs or [], input_names, "input")
    outputs = _in_order(found.outputs or [], output_order, "output")
    names: dict[int, str] = {}
    for entry in [*inputs, *outputs]:
        names.setdefault(entry.tensorIndex, _text(entry.name))
    for index, name in names.items():
        subgraph.tensors[index].name = name
    found.inputs, found.outputs = inputs, outputs
    subgraph.inputs = _reordered(subgraph.inputs, [entry.tensorIndex for entry in inputs])
    subgraph.outputs = _reordered(subgraph.outputs, [entry.tensorIndex for entry in outputs])
    return _pack(model, appended_files(data), len(data))


# ---- metadata entries ----

def _referenced_buffers(model: Any) -> set[int]:
    """Buffer indices the model's tensors refer to."""
    return {tensor.buffer for subgraph in model.subgraphs or [] for tensor in subgraph.tensors or []}


def _set_entries(model: Any, entries: Mapping[str, bytes]) -> None:
    model.buffers = model.buffers or []
    kept: list[Any] = []
    replaced: list[Any] = []
    for entry in model.metadata or []:
        (replaced if _text(entry.name) in entries else kept).append(entry)
    # a replaced entry's buffer is reused when nothing else refers to it, so the file does not grow
    in_use = _referenced_buffers(model) | {entry.buffer for entry in kept}
    free = [entry.buffer for entry in replaced if entry.buffer not in in_use]
    for name, payload in entries.items():
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(payload, dtype=np.uint8)
        if free:
            index = free.pop(0)
            model.buffers[index] = buffer
        else:
            model.buffers.append(buffer)
            index = len(model.buffers) - 1
        entry = schema.MetadataT()
        entry.name, entry.buffer = name, index
        kept.append(entry)
        in_use.add(index)
    for index in free:  # left over (a name given twice in the model): emptied, not removed
        model.buffers[index] = schema.BufferT()
    model.metadata = kept


def _same_shapes(graph: Any, op: Any) -> bool:
    return len({tuple(graph.tensors[i].shape) for i in op.inputs}) == 1


@dataclass(frozen=True)
class Equivalent:
    """An operator with the same semantics as another on the operands ``applies`` accepts."""

    operator: str
    options: str
    options_type: type
    # (subgraph, operator) -> whether this operator may be respelled
    applies: Callable[[Any, Any], bool]


# an operator -> its equivalent: SELECT_V2 broadcasts where SELECT needs equal shapes or takes a
# vector condition choosing whole rows (which SELECT_V2 would broadcast along the last axis), so
# only SELECTs of equal shapes are respelled
EQUIVALENT_OPERATORS: dict[str, Equivalent] = {
    "SELECT": Equivalent("SELECT_V2", "SelectV2Options", schema.SelectV2OptionsT, _same_shapes),
}


def builtin_code(code: Any) -> int:
    """An operator code's builtin (object API): codes above 127 live only in ``builtinCode``,
    older files fill only the deprecated byte."""
    return max(code.builtinCode, code.deprecatedBuiltinCode)


def respell_operators(data: bytes, names: Sequence[str]) -> bytes:
    """``data`` with every operator among ``names`` written as its equivalent in
    :data:`EQUIVALENT_OPERATORS` where every use of it qualifies (for a runtime that has the
    equivalent's kernel only)."""
    codes = {getattr(schema.BuiltinOperator, name): name for name in names if name in EQUIVALENT_OPERATORS}
    model = _unpack(data)
    changed = False
    for index, code in enumerate(model.operatorCodes or []):
        if builtin_code(code) not in codes:
            continue
        equivalent = EQUIVALENT_OPERATORS[codes[builtin_code(code)]]
        uses = [(graph, op) for graph in model.subgraphs for op in graph.operators or [] if op.opcodeIndex == index]
        if not all(equivalent.applies(graph, op) for graph, op in uses):
            continue
        value = getattr(schema.BuiltinOperator, equivalent.operator)
        code.builtinCode, code.deprecatedBuiltinCode = value, min(value, 127)
        for _, op in uses:
            op.builtinOptionsType = getattr(schema.BuiltinOptions, equivalent.options)
            op.builtinOptions = equivalent.options_type()
        changed = True
    return _pack(model, appended_files(data), len(data)) if changed else data


def add_metadata_entries(data: bytes, entries: Mapping[str, bytes]) -> bytes:
    """``data`` with the named byte strings in its ``metadata`` list; an entry of the same name is replaced."""
    model = _unpack(data)
    _set_entries(model, entries)
    return _pack(model, appended_files(data), len(data))


# ---- standard model metadata (metadata_schema.fbs) ----

def _strings(builder: Any, fields: Mapping[int, str | None]) -> dict[int, int]:
    """Each given string written to ``builder``: slot -> offset (strings precede the table that holds them)."""
    return {slot: builder.CreateString(value) for slot, value in fields.items() if value is not None}


def _table_of(builder: Any, count: int, offsets: Mapping[int, int], int8s: Mapping[int, int] | None = None) -> int:
    """A table of ``count`` fields holding the offsets (and int8 values) at their slots."""
    builder.StartObject(count)
    for slot, offset in offsets.items():
        builder.PrependUOffsetTRelativeSlot(slot, offset, 0)
    for slot, value in (int8s or {}).items():
        builder.PrependInt8Slot(slot, value, 0)
    return int(builder.EndObject())


def _vector_of(builder: Any, offsets: Sequence[int]) -> int:
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return int(builder.EndVector())


def _associated_file(builder: Any, name: str, description: str) -> int:
    strings = _strings(builder, {FILE_NAME: name, FILE_DESCRIPTION: description})
    return _table_of(builder, _FILE_FIELDS, strings, {FILE_TYPE: TENSOR_AXIS_LABELS})


def _label_description(tensor: str) -> str:
    return f"Labels of the last axis of '{tensor}', one per line."


def _tensor_metadata(builder: Any, name: str, description: str, label_file: str | None) -> int:
    fields = _strings(builder, {TENSOR_NAME: name, TENSOR_DESCRIPTION: description})
    if label_file is not None:
        fields[TENSOR_FILES] = _vector_of(builder, [_associated_file(builder, label_file, _label_description(name))])
    return _table_of(builder, _TENSOR_FIELDS, fields)


def standard_metadata(name: str, description: str, version: str, author: str,
                      inputs: Sequence[tuple[str, str]], outputs: Sequence[tuple[str, str, str | None]],
                      min_parser_version: str = "1.0.0") -> bytes:
    """TFLite's standard ``ModelMetadata`` flatbuffer (identifier ``M001``) for a one-subgraph model.

    ``inputs`` are ``(name, description)`` and ``outputs`` ``(name, description, label file name or
    None)``, in the order of the subgraph's inputs and outputs (the schema matches them by position).
    A label file is an ``AssociatedFile`` of type ``TENSOR_AXIS_LABELS`` on its tensor, and listed
    again, once, in the model's ``associated_files``. Every field written here is in schema 1.0.0,
    so "1.0.0" is the right ``min_parser_version``: the lowest, so every metadata parser reads it.
    """
    builder = flatbuffers.Builder(1024)
    input_tables = [_tensor_metadata(builder, tensor, text, None) for tensor, text in inputs]
    output_tables = [_tensor_metadata(builder, tensor, text, labels) for tensor, text, labels in outputs]
    subgraph = _table_of(builder, _SUBGRAPH_FIELDS, {
        SUBGRAPH_INPUTS: _vector_of(builder, input_tables), SUBGRAPH_OUTPUTS: _vector_of(builder, output_tables),
    })
    first_use: dict[str, str] = {}
    for tensor, _, labels in outputs:
        if labels is not None:
            first_use.setdefault(labels, tensor)
    fields = _strings(builder, {
        MODEL_NAME: name, MODEL_DESCRIPTION: description, MODEL_VERSION: version, MODEL_AUTHOR: author,
        MODEL_MIN_PARSER_VERSION: min_parser_version,
    })
    fields[MODEL_SUBGRAPHS] = _vector_of(builder, [subgraph])
    if first_use:
        fields[MODEL_FILES] = _vector_of(builder, [_associated_file(builder, labels, _label_description(tensor))
                                                   for labels, tensor in first_use.items()])
    builder.Finish(_table_of(builder, _MODEL_FIELDS, fields), file_identifier=METADATA_IDENTIFIER)
    return bytes(builder.Output())


def _root(buffer: bytes) -> Table:
    return Table(bytearray(buffer), encode.Get(packer.uoffset, buffer, 0))


def _children(table: Table, slot: int) -> list[Table]:
    """The tables of the vector at ``slot`` (none when the field is absent)."""
    offset = table.Offset(4 + 2 * slot)
    if not offset:
        return []
    start = table.Vector(offset)
    return [Table(table.Bytes, table.Indirect(start + 4 * i)) for i in range(table.VectorLen(offset))]


def _file_names(table: Table, slot: int) -> set[str]:
    names = set()
    for file in _children(table, slot):
        offset = file.Offset(4 + 2 * FILE_NAME)
        names.add(_text(file.String(offset + file.Pos)) if offset else "")
    return names


def _check_metadata(metadata: bytes, model: Any, files: Mapping[str, bytes]) -> None:
    """Refuse standard metadata whose tensor counts or associated files do not match the model and ``files``."""
    if metadata[4:8] != METADATA_IDENTIFIER:
        raise ValueError("the standard metadata is not a ModelMetadata flatbuffer (no M001 file identifier)")
    root = _root(metadata)
    subgraphs = _children(root, MODEL_SUBGRAPHS)
    recorded = _file_names(root, MODEL_FILES)
    for subgraph, meta in zip(model.subgraphs or [], subgraphs, strict=False):
        recorded |= _file_names(meta, SUBGRAPH_FILES)
        for slot, tensors, what in ((SUBGRAPH_INPUTS, subgraph.inputs, "input"),
                                    (SUBGRAPH_OUTPUTS, subgraph.outputs, "output")):
            described = _children(meta, slot)
            count = 0 if tensors is None else len(tensors)
            if described and len(described) != count:
                raise ValueError(f"the metadata describes {len(described)} {what} tensor(s), the model has {count}")
            for tensor in described:
                recorded |= _file_names(tensor, TENSOR_FILES)
    if recorded != set(files):
        raise ValueError(f"the metadata names associated files {sorted(recorded)}, but the files given are "
                         f"{sorted(files)}")


def attach_standard_metadata(data: bytes, metadata: bytes, files: Mapping[str, bytes]) -> bytes:
    """``data`` with ``metadata`` (from :func:`standard_metadata`) as its ``TFLITE_METADATA`` entry and ``files``
    appended as a zip archive, replacing any archive already there.

    ``files`` (name -> contents) must be exactly the files the metadata names; the metadata must
    describe as many input and output tensors as the model's subgraph has. The result is still a
    ``.tflite`` model (LiteRT ignores what follows the flatbuffer) and also a zip archive.
    """
    model = _unpack(data)
    _check_metadata(metadata, model, files)
    _set_entries(model, {STANDARD_METADATA_NAME: metadata})
    return _pack(model, files, len(data))

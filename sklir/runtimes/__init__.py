"""Runs emitted artefacts under their real runtimes: LiteRT for .tflite, onnxruntime for .onnx,
TensorFlow for a SavedModel directory.

Each runner takes the artefact (bytes or a path) and a batch: a float32 array ``X`` for a model
with the single input ``x``, or a mapping from input name to array for a model with several typed
inputs (a model fitted on a DataFrame with string columns takes ``x`` and one input per string
column, named after it). It returns
the outputs by name, strings decoded to ``str`` in object arrays, so results compare directly with
scikit-learn's. In a string input the empty string stands for a missing value (pandas' NaN or
None): :func:`string_array` makes that substitution.
"""

from __future__ import annotations

import hashlib
import importlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from sklir.errors import SklirError

# artefact kind -> (module, function)
RUNNERS: dict[str, tuple[str, str]] = {
    "tflite": ("sklir.runtimes.litert", "run_tflite"),
    "onnx": ("sklir.runtimes.onnxrt", "run_onnx"),
    # TensorFlow itself runs a SavedModel; its runner lives with the only module importing TF
    "savedmodel": ("sklir.backends.tflite", "run_savedmodel"),
    # a .tflite under TensorFlow Lite Micro's interpreter (the tflite-micro package)
    "micro": ("sklir.runtimes.micro", "run_micro"),
    # the model inside a C header sklir wrote, under TensorFlow Lite Micro
    "c": ("sklir.runtimes.micro", "run_header"),
}


# the SignatureDef every TF artefact (.tflite, SavedModel) is served through
SIGNATURE = "serving_default"
# the name of sklir's metadata JSON in every artefact: a .tflite metadata entry, an ONNX
# metadata_props key, and (as a file name) in a SavedModel's assets.extra, which TF Serving ignores
METADATA_NAME = "sklir"
SAVEDMODEL_METADATA = Path("assets.extra") / f"{METADATA_NAME}.json"

# artefact kind -> (module, function) returning sklir's metadata JSON text from the artefact at a
# path, or None when it carries none (or is no such artefact at all); never raises OSError's kin
METADATA_READERS: dict[str, tuple[str, str]] = {
    "tflite": ("sklir.runtimes.litert", "sklir_metadata_json"),
    # a .tflite emitted for TensorFlow Lite Micro, run under its interpreter
    "micro": ("sklir.runtimes.litert", "sklir_metadata_json"),
    # the onnx package parses ModelProto metadata; only the ONNX backend may import it
    "onnx": ("sklir.backends.onnx_backend", "sklir_metadata_json"),
    "savedmodel": ("sklir.runtimes", "savedmodel_metadata_json"),
    "ir": ("sklir.runtimes", "ir_metadata_json"),
    # a C header's first line (the c target)
    "c": ("sklir.backends.c_export", "c_metadata_json"),
}
# the key of a SavedModel's metadata that lists every file sklir wrote, with its SHA-256
MANIFEST_KEY = "files"

T = TypeVar("T")

# a batch: one array for a model's single input, or input name -> array
Batch = np.ndarray | Mapping[str, np.ndarray]

# what a string input holds where the data has no value (pandas' NaN, None)
MISSING_STRING = ""


def artefact_bytes(artefact: bytes | str | Path) -> bytes:
    """The artefact's bytes, read from a path when given one (a clear error when unreadable)."""
    if isinstance(artefact, (bytes, bytearray, memoryview)):
        return bytes(artefact)
    try:
        return Path(artefact).read_bytes()
    except OSError as err:
        raise SklirError(f"cannot read {artefact}: {err.strerror}") from None


class ContentCache(Generic[T]):
    """Objects built from artefact bytes, one per distinct content (and extra key), least recently
    used dropped first: running an artefact again does not rebuild its interpreter or session."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Hashable, ...], T] = OrderedDict()

    def get(self, data: bytes, make: Callable[[], T], *extra: Hashable) -> T:
        """The object for ``data`` (and ``extra``), built with ``make()`` the first time."""
        key = (hashlib.sha256(data).hexdigest(), *extra)
        if key in self._items:
            self._items.move_to_end(key)
        else:
            self._items[key] = make()
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return self._items[key]


def decode_strings(arr: np.ndarray) -> np.ndarray:
    """String outputs (bytes or str, any array dtype) as an object array of ``str``; others unchanged."""
    if arr.dtype.kind not in "OSU":
        return arr
    flat = [v.decode() if isinstance(v, bytes) else str(v) for v in arr.ravel().tolist()]
    return np.array(flat, dtype=object).reshape(arr.shape)


def in_fixed_batches(call: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]], batch: int,
                     X: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run an artefact that takes exactly ``batch`` rows per call on any number of rows: ``call``
    on each ``batch`` rows of ``X`` in turn, the last part filled up with copies of its first row
    (whose outputs are dropped), the outputs joined back in row order."""
    rows = len(next(iter(X.values())))
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, max(rows, 1), batch):
        chunk = {name: arr[start:start + batch] for name, arr in X.items()}
        n = len(next(iter(chunk.values())))
        if n < batch:
            filler = {name: arr[:1] if len(arr) else np.zeros((1, *arr.shape[1:]), arr.dtype)
                      for name, arr in chunk.items()}
            chunk = {name: np.concatenate([arr, *[filler[name]] * (batch - n)]) for name, arr in chunk.items()}
        parts.append({name: out[:n] for name, out in call(chunk).items()})
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def label_values(outputs: dict[str, np.ndarray], metadata: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
    """Outputs with the class indices of an artefact that keeps its labels out of the graph (the
    ``micro`` profile) mapped through the label tables its metadata records: the labels themselves,
    strings as ``str`` in object arrays, as every runner returns them."""
    tables = (metadata or {}).get("label_tables") or ()
    for name, table in tables:
        if name in outputs:
            values = np.asarray(table)
            values = values.astype(object) if values.dtype.kind in "OSU" else values
            outputs[name] = values[np.asarray(outputs[name], dtype=np.int64)]
    return outputs


def is_missing(value: object) -> bool:
    """True for the values pandas and scikit-learn count as missing: None and float NaN."""
    return value is None or (isinstance(value, float) and value != value)


def string_array(values: object) -> np.ndarray:
    """``values`` as an object array of ``str``: bytes decoded, None and float NaN (pandas' missing
    values) as :data:`MISSING_STRING`, anything else through ``str``."""
    arr = np.asarray(values, dtype=object)
    flat = [MISSING_STRING if is_missing(v) else v.decode() if isinstance(v, bytes) else str(v)
            for v in arr.ravel().tolist()]
    return np.array(flat, dtype=object).reshape(arr.shape)


def float32_numbers(frame: Any) -> Any:
    """A copy of a DataFrame with its numeric columns rounded to float32 (as float64): what an
    artefact's ``x`` holds, so a reference computed on it sees the artefact's numbers."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype.kind in "fiub":
            out[name] = out[name].to_numpy(np.float64).astype(np.float32).astype(np.float64)
    return out


def dataframe_batch(inputs: Sequence[Sequence[Any]], frame: Any) -> dict[str, np.ndarray]:
    """The batch for a model's ``inputs`` metadata (``(name, dtype, columns)`` per input, as
    ``lower`` records it for a model fitted on a DataFrame with string columns) from a pandas
    DataFrame holding those columns: numbers as float32, strings as ``str`` (missing values as
    the empty string). A clear error names a missing column."""
    batch = {}
    for name, dtype, columns in inputs:
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise SklirError(f"the data has no column '{absent[0]}' (the model reads {', '.join(map(str, columns))})")
        values = frame[list(columns)].to_numpy(dtype=object)
        if dtype == "string":
            batch[str(name)] = string_array(values)
        else:
            try:
                batch[str(name)] = values.astype(np.float64).astype(np.float32)
            except (TypeError, ValueError):
                raise SklirError(f"the model reads numbers in column(s) {', '.join(map(str, columns))}, "
                                 "the data has other values there") from None
    return batch


def named_batch(X: Batch, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The batch by input name, for an artefact whose inputs are ``names``: an array is the single
    input's; a mapping must give every input, and only those, with one row count."""
    if not isinstance(X, Mapping):
        if len(names) != 1:
            raise SklirError(f"the artefact takes {len(names)} inputs ({', '.join(names)}): pass them by name")
        return {names[0]: np.asarray(X)}
    missing = [name for name in names if name not in X]
    if missing:
        raise SklirError(f"no data for the artefact's input '{missing[0]}' (it takes {', '.join(names)})")
    extra = [name for name in X if name not in names]
    if extra:
        raise SklirError(f"the artefact has no input '{extra[0]}' (it takes {', '.join(names)})")
    batch = {name: np.asarray(X[name]) for name in names}
    rows = {len(arr) if arr.ndim else 0 for arr in batch.values()}
    if len(rows) > 1:
        counts = ", ".join(f"{name} {len(arr)}" for name, arr in batch.items())
        raise SklirError(f"the inputs have different numbers of rows ({counts})")
    return batch


def as_input(arr: np.ndarray, dtype: np.dtype, name: str) -> np.ndarray:
    """``arr`` in an input's dtype: strings as ``str`` (missing values as the empty string),
    numbers cast; a clear error for strings given to a numeric input."""
    if dtype.kind in "OSU":
        return string_array(arr)
    if np.asarray(arr).dtype.kind in "OSU":
        raise SklirError(f"the artefact's input '{name}' takes numbers, the data has strings")
    return np.ascontiguousarray(arr, dtype=dtype)


def check_width(width: int | None, X: np.ndarray, name: str | None = None) -> None:
    """Raise a clear error when a batch does not have the artefact's input width (runtimes fail
    deep inside); ``name`` names the input of a model with several."""
    if X.ndim != 2 or (width is not None and X.shape[1] != width):
        shape = "x".join(map(str, X.shape))
        what = f"'s input '{name}' takes {width} columns" if name is not None else f" takes {width} features"
        raise SklirError(f"the artefact{what} per row, the data is {shape}")


def artefact_metadata(artefact: str | Path, kind: str) -> dict[str, object] | None:
    """sklir's metadata recorded in the artefact at ``artefact`` (a file, a SavedModel directory or
    IR text), or None when there is none: the artefact was not written by sklir (or, for a
    directory, was changed since)."""
    import json

    module, function = METADATA_READERS[kind]
    try:
        text = getattr(importlib.import_module(module), function)(Path(artefact))
        data = json.loads(text) if text is not None else None
    except (OSError, ValueError, KeyError):
        return None
    return data if isinstance(data, dict) and "sklir_version" in data else None


def directory_manifest(directory: Path) -> dict[str, str]:
    """Every file below ``directory`` but sklir's metadata file, relative path -> SHA-256."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file() and p != directory / SAVEDMODEL_METADATA}


def savedmodel_metadata_json(directory: Path) -> str | None:
    """A SavedModel directory's sklir metadata, or None unless it holds exactly the files sklir
    wrote there, unchanged: a directory a user has added to or edited is not sklir's to replace."""
    import json

    text = (directory / SAVEDMODEL_METADATA).read_text(encoding="utf-8")
    recorded = json.loads(text).get(MANIFEST_KEY)
    return text if recorded == directory_manifest(directory) else None


def ir_metadata_json(path: Path) -> str | None:
    """IR text's module attributes as JSON when its header says sklir printed it (it records
    ``sklir_version``), else None."""
    import json
    import re

    with open(path, encoding="utf-8", errors="replace") as f:
        header = f.readline()
    fields = dict(re.findall(r'(\w+) = "((?:\\.|[^"\\])*)"', header)) if header.startswith("module @") else {}
    return json.dumps(fields) if "sklir_version" in fields else None


def runner(kind: str) -> Callable[[bytes | Path, Batch], dict[str, np.ndarray]]:
    """The run function for an artefact kind (imported on first use)."""
    if kind not in RUNNERS:
        raise SklirError(f"no runtime for artefact kind '{kind}' (known: {', '.join(RUNNERS)})")
    module, function = RUNNERS[kind]
    return getattr(importlib.import_module(module), function)


def run(artefact: bytes | str | Path, kind: str, X: Batch) -> dict[str, np.ndarray]:
    """Run ``artefact`` of ``kind`` on ``X`` (an array, or input name -> array) and return its named outputs."""
    data = Path(artefact) if isinstance(artefact, str) else artefact
    if not isinstance(X, Mapping):
        X = np.ascontiguousarray(X, dtype=np.float32)
    return runner(kind)(data, X)

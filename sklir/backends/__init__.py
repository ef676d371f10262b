"""Backends: a table from target name to the module and function that emit it.

Backend modules are imported only when their target is asked for, so ``--emit ir`` and
``--emit onnx`` never pay for (or depend on) importing TensorFlow.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, overload

import numpy as np

from sklir.backends.profiles import Profile, check_module, profile_named
from sklir.errors import SklirError
from sklir.io import check_writable, write_atomic, write_directory_atomic
from sklir.ir.core import Module, Tensor
from sklir.ir.types import DType


@dataclass(frozen=True)
class Target:
    """How to emit one kind of artefact.

    ``function`` (in ``module``) takes a verified f32 module and the profile, and returns the
    artefact's bytes, or for directory targets fills the directory it is given (``function(module,
    directory, profile)``). ``suffix`` is the default file ending.
    """

    module: str
    function: str
    suffix: str
    is_directory: bool = False
    # the backend computes in f32: the precision pass runs first
    precision: str = "f32"
    # what the CLI tells a person watching while this target is emitted
    doing: str = "converting"
    # the largest artefact the format can hold: flatbuffers and protobuf messages stop at 2 GiB
    max_bytes: int = 2**31 - 1
    # the profile (sklir.backends.profiles.PROFILES) used when none is asked for
    profile: str = "default"
    # the function also takes ``name=``, the output file's stem (a C header's symbol prefix)
    named: bool = False
    # the backend module whose EMITTERS write the ops, when not ``module`` itself (a C header
    # wraps the TFLite backend's flatbuffer)
    ops_by: str | None = None

    @property
    def emitters_module(self) -> str:
        """The module whose ``EMITTERS`` table writes this target's ops."""
        return self.ops_by or self.module

    def load(self) -> Callable[..., Any]:
        """Import the backend module and return its emit function."""
        return getattr(importlib.import_module(self.module), self.function)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.array.tolist()
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, Enum):
        return value.value
    return str(value)


def metadata_json(module: Module, profile: Profile | None = None) -> str:
    """What every artefact records about its origin, as JSON: the module's attributes (the source
    estimator, the class labels), the sklir version, and the profile it was emitted for unless the
    default (its name, and the batch every call takes when it fixes one)."""
    from sklir import __version__

    record = {"sklir_version": __version__, **module.attributes}
    if profile is not None and (profile.name != "default" or profile.batch is not None or profile.quantize):
        record["profile"] = profile.name
        if profile.batch is not None:
            record["batch"] = profile.batch
        if profile.quantize is not None:
            record["quantize"] = profile.quantize
        if profile.representative is not None:
            record["int8_products_calibrated_on"] = calibration_rows(profile.representative)
    return json.dumps(record, default=_jsonable, ensure_ascii=False, sort_keys=True)


def seal_directory(directory: Path, module: Module, profile: Profile | None = None) -> None:
    """Write the metadata JSON into a directory artefact, with the SHA-256 of every file in it:
    only a directory still holding exactly those files counts as sklir's (and may be replaced)."""
    from sklir.runtimes import MANIFEST_KEY, SAVEDMODEL_METADATA, directory_manifest

    record = {**json.loads(metadata_json(module, profile)), MANIFEST_KEY: directory_manifest(directory)}
    (directory / SAVEDMODEL_METADATA).parent.mkdir(parents=True, exist_ok=True)
    (directory / SAVEDMODEL_METADATA).write_text(json.dumps(record, ensure_ascii=False, sort_keys=True),
                                                 encoding="utf-8")


@dataclass(frozen=True)
class Descriptions:
    """What an artefact says about itself in the runtime's standard places (TFLite model metadata,
    ONNX doc strings), for app developers who never see sklir."""

    model: str
    inputs: dict[str, str]
    outputs: dict[str, str]
    # the class labels, one per line, for outputs with a column per class
    labels: str | None
    labelled_outputs: tuple[str, ...]


def descriptions(module: Module) -> Descriptions:
    """The descriptions of ``module``'s artefact: source, version, input columns, each output."""
    from sklir import __version__
    from sklir.check import OUTPUT_DESCRIPTIONS

    attrs = module.attributes
    source = attrs.get("source", module.name)
    classes = attrs.get("classes")
    # a model with several inputs records each one's columns; a single input reads them all
    recorded = attrs.get("inputs")
    columns_of = ({name: columns for name, _, columns in recorded} if recorded
                  else {module.inputs[0].name or "x": attrs.get("feature_names")})
    inputs = {}
    for v in module.inputs:
        width = v.type.shape[-1]
        names = columns_of.get(v.name or "x")
        columns = f": {', '.join(map(str, names))}" if names else ""
        if v.type.dtype is DType.str:
            inputs[v.name or "x"] = (f"strings, one row per sample, {width} columns{columns} "
                                     "(an empty string is a missing value)")
        else:
            inputs[v.name or "x"] = f"float32 features, one row per sample, {width} columns{columns}"
    outputs = {name: OUTPUT_DESCRIPTIONS.get(name, name) for name in module.outputs}
    labelled = tuple(name for name, v in module.outputs.items()
                     if classes and name in ("probabilities", "decision") and v.type.shape[-1] == len(classes))
    model = (f"{source}, compiled by sklir {__version__} from scikit-learn; it gives scikit-learn's answers. "
             f"Outputs: {', '.join(module.outputs)}.")
    if classes:
        model += f" Classes: {', '.join(map(str, classes))}."
    text = "".join(f"{c}\n" for c in classes) if classes else None
    return Descriptions(model, inputs, outputs, text, labelled)


TARGETS: dict[str, Target] = {
    "tflite": Target("sklir.backends.tflite", "emit_tflite", ".tflite",
                     doing="starting TensorFlow and converting (this takes a few seconds)"),
    "savedmodel": Target("sklir.backends.tflite", "emit_savedmodel", "", is_directory=True,
                         doing="starting TensorFlow and saving (this takes a few seconds)"),
    "onnx": Target("sklir.backends.onnx_backend", "emit_onnx", ".onnx", doing="converting to ONNX"),
    # a .tflite for TensorFlow Lite Micro as a C header (sklir.backends.c_export)
    "c": Target("sklir.backends.c_export", "emit_c", ".h", profile="micro", named=True, ops_by="sklir.backends.tflite",
                doing="starting TensorFlow and converting for TensorFlow Lite Micro (this takes a few seconds)"),
}


def sklir_artefact(target: str) -> Callable[[Path], bool]:
    """Whether an existing file or directory is a ``target`` artefact that sklir wrote (and so may
    be replaced): it carries sklir's metadata."""
    from sklir.runtimes import artefact_metadata

    return lambda path: artefact_metadata(path, target) is not None


def check_output(path: str | Path, target: str, force: bool = False) -> Path:
    """Refuse now, before any work, an output path a ``target`` artefact (or ``"ir"`` text) must
    not be written to: see :func:`sklir.io.check_writable`."""
    directory = target in TARGETS and TARGETS[target].is_directory
    return check_writable(path, sklir_artefact(target), force, directory)


def prepare(module: Module, target: str, tree_strategy: str = "auto", profile: Profile | str | None = None) -> Module:
    """The module as the target's backend receives it: precision lowered, tree ensembles lowered
    by ``tree_strategy`` (``auto``: the profile's chooser, ``smallest`` for micro; or a name in
    :data:`sklir.passes.lower_trees.STRATEGIES`), cleaned up and verified; class labels out as
    indices when the ``profile`` (default: the target's) says so, and refused when it holds what
    the profile's runtime cannot."""
    from sklir.passes.pipelines import precision_pipeline

    spec = check_target(target)
    chosen = target_profile(target, profile)
    strategy = chosen.trees if tree_strategy == "auto" else tree_strategy
    ready = precision_pipeline(spec.precision, tree_strategy=strategy, labels=chosen.labels).run(module).module
    check_module(ready, chosen)
    return ready


def target_profile(target: str, profile: Profile | str | None = None, batch: int | None = None,
                   quantize: str | None = None, representative: Any = None) -> Profile:
    """The profile a ``target`` artefact is emitted for: ``profile`` (a name or a Profile, default
    the target's own) at a fixed ``batch`` and with weights quantised as ``quantize`` when given
    (int8 products calibrated on ``representative`` rows); refused when it does not apply to the
    target (quantised weights: ``.tflite`` files and the C headers holding one only)."""
    chosen = profile_named(check_target(target).profile if profile is None else profile, batch, quantize,
                           representative)
    chosen.check_target(target)
    if chosen.quantize is not None and target not in ("tflite", "c"):
        raise SklirError(f"quantised weights are written into .tflite files only, not {target}")
    return chosen


def calibration_rows(representative: Any) -> int:
    """How many rows ``representative`` (an array, or input name -> array) holds."""
    first = next(iter(representative.values())) if isinstance(representative, Mapping) else representative
    return len(first)


def constant_bytes(module: Module, precision: str | None = None) -> int:
    """The bytes of every constant array in ``module``: constants and array attributes alike,
    floats counted at ``precision``'s width when one is given. An op a pass lowers before any
    backend sees it (a tree ensemble) counts what every lowering of it stores at least."""
    total = 0
    for node in module.nodes:
        least = getattr(node.op, "least_bytes", None)
        if least is not None:
            total += least(DType(precision or "f64").numpy.itemsize)
            continue
        for value in node.op.attributes().values():
            if isinstance(value, Tensor):
                width = DType(precision).numpy.itemsize if precision is not None and value.dtype.is_float else None
                total += value.array.size * width if width is not None else value.array.nbytes
    return total


def check_size(module: Module, target: str) -> None:
    """Refuse a module whose constant arrays alone exceed what the target's file format can hold.

    Run on the module as given, it counts floats at the target's precision and a tree ensemble's
    least size (thresholds and leaf values), a lower bound of what any lowering writes, so a
    model far too large is refused before any pass runs; run again on the prepared module, it
    counts what the backend will write."""
    spec = check_target(target)
    total = constant_bytes(module, spec.precision)
    if total > spec.max_bytes:
        raise SklirError(f"the model is too large for {target}: its constants take {total / 2**20:.0f} MiB and a "
                         f"{target} artefact holds at most {spec.max_bytes / 2**20:.0f} MiB")


def check_target(target: str) -> Target:
    if target not in TARGETS:
        raise SklirError(f"unknown target '{target}' (known: {', '.join(TARGETS)})")
    return TARGETS[target]


@overload
def emit(module: Module, target: str, path: None = None, force: bool = False, tree_strategy: str = "auto",
         profile: Profile | str | None = None) -> bytes: ...


@overload
def emit(module: Module, target: str, path: str | Path, force: bool = False, tree_strategy: str = "auto",
         profile: Profile | str | None = None) -> Path: ...


def emit(module: Module, target: str, path: str | Path | None = None, force: bool = False,
         tree_strategy: str = "auto", profile: Profile | str | None = None) -> bytes | Path:
    """Emit ``module`` as ``target`` for ``profile`` (default: the target's; see
    :mod:`sklir.backends.profiles`); return the bytes, or write them atomically to ``path``.

    Directory targets (``savedmodel``) need ``path`` and return it. Something already at ``path``
    is replaced only when it is an artefact of this target that sklir wrote, or with ``force``.
    """
    spec = check_target(target)
    chosen = target_profile(target, profile)
    if spec.is_directory and path is None:
        raise SklirError(f"target {target} writes a directory: give an output path")
    owned = sklir_artefact(target)
    if path is not None:
        check_output(path, target, force)
    check_size(module, target)  # before any time goes into lowering
    ready = prepare(module, target, tree_strategy, chosen)
    check_size(ready, target)  # before any time goes into converting
    function = spec.load()
    if spec.is_directory:
        assert path is not None
        return write_directory_atomic(path, lambda tmp: function(ready, tmp, chosen), owned, force)
    named = {"name": Path(path).stem} if spec.named and path is not None else {}
    data: bytes = function(ready, chosen, **named)
    if path is not None:
        return write_atomic(path, data, owned, force)
    return data

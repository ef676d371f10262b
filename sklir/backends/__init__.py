"""Backends: a table from target name to the module and function that emit it.

Backend modules are imported only when their target is asked for, so ``--emit ir`` and
``--emit onnx`` never pay for (or depend on) importing TensorFlow.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, overload

import numpy as np

from sklir.errors import SklirError
from sklir.io import check_writable, write_atomic, write_directory_atomic
from sklir.ir.core import Module, Tensor


@dataclass(frozen=True)
class Target:
    """How to emit one kind of artefact.

    ``function`` (in ``module``) takes a verified f32 module and returns the artefact's bytes, or
    for directory targets fills the directory it is given. ``suffix`` is the default file ending.
    """

    module: str
    function: str
    suffix: str
    is_directory: bool = False
    # the backend computes in f32: the precision pass runs first
    precision: str = "f32"

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


def metadata_json(module: Module) -> str:
    """What every artefact records about its origin, as JSON: the module's attributes (the source
    estimator, the class labels) and the sklir version."""
    from sklir import __version__

    return json.dumps({"sklir_version": __version__, **module.attributes}, default=_jsonable,
                      ensure_ascii=False, sort_keys=True)


TARGETS: dict[str, Target] = {
    "tflite": Target("sklir.backends.tflite", "emit_tflite", ".tflite"),
    "savedmodel": Target("sklir.backends.tflite", "emit_savedmodel", "", is_directory=True),
    "onnx": Target("sklir.backends.onnx_backend", "emit_onnx", ".onnx"),
}


def prepare(module: Module, target: str) -> Module:
    """The module as the target's backend receives it (precision lowered, verified)."""
    from sklir.passes.pipelines import precision_pipeline

    spec = _target(target)
    return precision_pipeline(spec.precision).run(module).module


def _target(target: str) -> Target:
    if target not in TARGETS:
        raise SklirError(f"unknown target '{target}' (known: {', '.join(TARGETS)})")
    return TARGETS[target]


@overload
def emit(module: Module, target: str, path: None = None) -> bytes: ...


@overload
def emit(module: Module, target: str, path: str | Path) -> Path: ...


def emit(module: Module, target: str, path: str | Path | None = None) -> bytes | Path:
    """Emit ``module`` as ``target``; return the bytes, or write them atomically to ``path``.

    Directory targets (``savedmodel``) need ``path`` and return it.
    """
    spec = _target(target)
    if path is not None:
        check_writable(path)
    function = spec.load()
    ready = prepare(module, target)
    if spec.is_directory:
        if path is None:
            raise SklirError(f"target {target} writes a directory: give an output path")
        return write_directory_atomic(path, lambda tmp: function(ready, tmp))
    data: bytes = function(ready)
    if path is not None:
        return write_atomic(path, data)
    return data

"""Runs ``.tflite`` artefacts under TensorFlow Lite Micro's interpreter (the ``tflite-micro``
package), the runtime of microcontrollers: the same kernels a board runs, on this machine.

TFLite Micro knows tensors by position only; the signature's names are read from the flatbuffer.
An artefact with a fixed batch (every ``micro`` profile one) is run ``batch`` rows at a time,
and class indices are mapped back to labels through the metadata's tables, so outputs compare
directly with scikit-learn's.

    outputs = run_micro(data, X)
    arena = arena_bytes(data)            # the tensor arena the model needs
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sklir.backends.profiles import Profile
from sklir.errors import SklirError
from sklir.io import captured_native_output
from sklir.runtimes import (
    SIGNATURE,
    Batch,
    ContentCache,
    artefact_bytes,
    as_input,
    check_width,
    in_fixed_batches,
    label_values,
    named_batch,
)

_MODELS: ContentCache[MicroModel] = ContentCache()
# the arena the runner starts from, and the most it tries before calling the model too large
MIN_ARENA = 1 << 16
MAX_ARENA = 1 << 28  # 256 MiB: more RAM than any microcontroller has
# what TFLite Micro's allocator says when the arena is too small
ARENA_SHORT = "Failed to resize buffer"


def _interpreter_class() -> Any:
    try:
        from tflite_micro import runtime
    except ImportError:
        raise SklirError("running under TensorFlow Lite Micro needs the tflite-micro package "
                         "(pip install 'sklir[micro]')") from None
    return runtime.Interpreter


def _signature_io(data: bytes) -> tuple[list[str], list[str]]:
    """The signature's input and output names in the positions TFLite Micro numbers them (sklir
    orders the graph's inputs and outputs as the signature lists them, so two outputs holding one
    tensor each keep their own position)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(data, 0)
    for s in range(model.SignatureDefsLength()):
        signature = model.SignatureDefs(s)
        if (signature.SignatureKey() or b"").decode() == SIGNATURE:
            return ([signature.Inputs(i).Name().decode() for i in range(signature.InputsLength())],
                    [signature.Outputs(i).Name().decode() for i in range(signature.OutputsLength())])
    raise SklirError(f"the .tflite file has no '{SIGNATURE}' signature")


class MicroModel:
    """One TFLite Micro interpreter on one artefact."""

    def __init__(self, data: bytes) -> None:
        from sklir.runtimes.litert import sklir_metadata

        interpreter = _interpreter_class()
        if len(data) < 8 or data[4:8] != b"TFL3":
            raise SklirError("not a .tflite model")
        self.input_names, self.output_names = _signature_io(data)
        # a firmware sizes its arena to the model; here the arena starts at ten times the model
        # (the package's own guess) and doubles while allocation fails for want of room
        arena = min(max(len(data) * 10, MIN_ARENA), MAX_ARENA)
        while True:
            said: Callable[[], str] = str
            try:
                with captured_native_output() as said:
                    self.interpreter = interpreter.from_bytes(data, arena_size=arena)
                break
            except (RuntimeError, ValueError) as err:
                report = said().strip()
                if ARENA_SHORT in report and arena < MAX_ARENA:
                    arena = min(2 * arena, MAX_ARENA)
                    continue
                if ARENA_SHORT in report:
                    raise SklirError(f"TensorFlow Lite Micro cannot load this model: it needs a tensor arena over "
                                     f"{MAX_ARENA / 2**20:g} MiB, more RAM than any microcontroller has") from None
                why = report.splitlines()[0] if report else _first_line(err)
                raise SklirError(f"TensorFlow Lite Micro cannot load this model ({why})") from None
        details = [self.interpreter.get_input_details(i) for i in range(len(self.input_names))]
        shapes = [tuple(int(d) for d in detail["shape"]) for detail in details]
        self.batch = shapes[0][0]
        self.inputs = {name: (np.dtype(detail["dtype"]), shape[-1])
                       for name, detail, shape in zip(self.input_names, details, shapes, strict=True)}
        self.metadata = sklir_metadata(data)

    def _call(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        for position, name in enumerate(self.input_names):
            dtype, _ = self.inputs[name]
            self.interpreter.set_input(as_input(batch[name], dtype, name), position)
        try:
            self.interpreter.invoke()
        except RuntimeError as err:
            raise SklirError(f"TensorFlow Lite Micro failed to run the model ({_first_line(err)})") from None
        return {name: np.array(self.interpreter.get_output(i)) for i, name in enumerate(self.output_names)}

    def __call__(self, X: Batch) -> dict[str, np.ndarray]:
        batch = named_batch(X, self.input_names)
        for name, arr in batch.items():
            check_width(self.inputs[name][1], arr, name if len(self.inputs) > 1 else None)
        return label_values(in_fixed_batches(self._call, self.batch, batch), self.metadata)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def load(artefact: bytes | str | Path) -> MicroModel:
    """The (cached) TFLite Micro model for ``artefact``."""
    data = artefact_bytes(artefact)
    return _MODELS.get(data, lambda: MicroModel(data))


def run_micro(artefact: bytes | str | Path, X: Batch) -> dict[str, np.ndarray]:
    """Run a ``.tflite`` artefact under TensorFlow Lite Micro on the batch ``X``; outputs by name."""
    return load(artefact)(X)


def run_header(artefact: bytes | str | Path, X: Batch) -> dict[str, np.ndarray]:
    """Run the model of a C header sklir wrote (the ``c`` target) under TensorFlow Lite Micro."""
    from sklir.backends.c_export import flatbuffer_of

    if isinstance(artefact, (bytes, bytearray)):
        raise SklirError("a C header is run from its path")
    return run_micro(flatbuffer_of(artefact), X)


def report(data: bytes, profile: Profile, measured: int | None = None) -> list[str]:
    """What a firmware developer needs to know of a ``.tflite`` for ``profile``: flash and arena
    bytes (``measured``, or measured here when tflite-micro is installed), the ops, the
    registrations."""
    from sklir.runtimes.litert import operators

    ops = list(dict.fromkeys(operators(data)))
    try:
        used = measured if measured is not None else arena_bytes(data)
        arena = f"tensor arena {used} bytes (measured under TensorFlow Lite Micro)"
    except SklirError as err:
        arena = f"tensor arena not measured ({err})"
    calls = profile.registrations(ops)
    return [f"{profile.name} profile, batch {profile.batch}: model {len(data)} bytes (flash), {arena}",
            f"ops ({len(ops)}): {', '.join(ops)}",
            f"op resolver: tflite::MicroMutableOpResolver<{len(calls)}> resolver; "
            + " ".join(f"resolver.{call}();" for call in calls)]


_ARENA = re.compile(r"arena allocation total (\d+) bytes", re.IGNORECASE)


def arena_bytes(artefact: bytes | str | Path) -> int:
    """The tensor arena the model needs, as TFLite Micro's recording allocator measures it after
    one call (what firmware sizes its ``tensor_arena`` to)."""
    model = MicroModel(artefact_bytes(artefact))
    zeros = {name: np.zeros((model.batch, width), dtype) for name, (dtype, width) in model.inputs.items()}
    model._call(zeros)
    with captured_native_output() as text:
        model.interpreter.print_allocations()
    found = _ARENA.search(text())
    if found is None:
        raise SklirError("TensorFlow Lite Micro did not report its arena use")
    return int(found.group(1))

"""Every registered op has an emitter in every backend of the target table, and nothing else does."""

from __future__ import annotations

import importlib

import pytest

from sklir.backends import TARGETS
from sklir.ir import OPS

# each backend module once (tflite and savedmodel share one)
BACKEND_MODULES = sorted({target.module for target in TARGETS.values()})


def test_the_table_names_both_backends() -> None:
    assert {"sklir.backends.onnx_backend", "sklir.backends.tflite"} <= set(BACKEND_MODULES)


@pytest.mark.parametrize("module_name", BACKEND_MODULES)
def test_every_op_has_an_emitter(module_name: str) -> None:
    emitters = importlib.import_module(module_name).EMITTERS
    missing = sorted(name for name, cls in OPS.items() if cls not in emitters)
    assert not missing, f"{module_name}.EMITTERS lacks emitters for {missing}"
    stale = sorted(str(key) for key in emitters if key not in OPS.values())
    assert not stale, f"{module_name}.EMITTERS has keys that are not registered ops: {stale}"
    assert all(callable(fn) for fn in emitters.values())

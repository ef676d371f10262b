"""Every core op has an emitter in every backend of the target table, and nothing else does.

High-level ops (``lowered_by`` names a pass) never reach a backend: the pass rewrites them while
the module is prepared, so they must have no emitter, and their pass must run in that preparation.
"""

from __future__ import annotations

import importlib

import pytest

from sklir.backends import TARGETS
from sklir.ir import OPS
from sklir.passes.pipelines import precision_pipeline

# each backend module once (tflite, savedmodel and the C header share one)
BACKEND_MODULES = sorted({target.emitters_module for target in TARGETS.values()})


def test_the_table_names_both_backends() -> None:
    assert {"sklir.backends.onnx_backend", "sklir.backends.tflite"} <= set(BACKEND_MODULES)


@pytest.mark.parametrize("module_name", BACKEND_MODULES)
def test_every_op_has_an_emitter(module_name: str) -> None:
    emitters = importlib.import_module(module_name).EMITTERS
    core = {name: cls for name, cls in OPS.items() if cls.lowered_by is None}
    missing = sorted(name for name, cls in core.items() if cls not in emitters)
    assert not missing, f"{module_name}.EMITTERS lacks emitters for {missing}"
    stale = sorted(str(key) for key in emitters if key not in core.values())
    assert not stale, f"{module_name}.EMITTERS has keys that are not core ops: {stale}"
    assert all(callable(fn) for fn in emitters.values())


def test_high_level_ops_are_lowered_while_preparing_every_target() -> None:
    high_level = {name: cls.lowered_by for name, cls in OPS.items() if cls.lowered_by is not None}
    assert "tree_ensemble" in high_level
    for target in TARGETS.values():
        passes = {p.name for p in precision_pipeline(target.precision).passes}
        assert set(high_level.values()) <= passes, f"{target} does not lower {high_level}"


def test_the_cli_offers_every_tree_strategy() -> None:
    from sklir.cli import TREE_STRATEGIES
    from sklir.passes.lower_trees import CHOOSERS, STRATEGIES

    assert set(TREE_STRATEGIES) == {*CHOOSERS, *STRATEGIES}

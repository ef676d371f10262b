"""Every registered converter has parity tests: its class is exercised by some frontend test file.

A cheap static guard: a class registered with ``@lowers`` must be named in ``tests/frontend`` or
``tests/sweeps``, where every estimator is checked with the parity harness, so a new converter
cannot land without a parity test.
"""

from __future__ import annotations

import re
from pathlib import Path

from sklir.frontend.registry import supported_classes

TEST_ROOT = Path(__file__).resolve().parents[1]


def test_every_supported_class_is_named_in_a_parity_test() -> None:
    text = "\n".join(p.read_text() for d in ("frontend", "sweeps") for p in (TEST_ROOT / d).glob("test_*.py")
                     if p.name != Path(__file__).name)
    untested = [c.__name__ for c in supported_classes() if not re.search(rf"\b{c.__name__}\b", text)]
    assert not untested, f"converters without a parity test: {', '.join(untested)}"

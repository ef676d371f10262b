"""The per-op backend cases are valid, cover every op, and run under the reference interpreter."""

import numpy as np
import pytest
from op_cases import CASES, ops_covered

from sklir.ir import OPS, interpret


def test_cases_cover_every_op() -> None:
    missing = set(OPS) - ops_covered()
    assert not missing, f"ops without a backend case in tests/backends/op_cases.py: {sorted(missing)}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_runs_in_both_precisions(case) -> None:
    X = case.X(7)
    native = interpret(case.module, X, precision="native")
    wide = interpret(case.module, X, precision="f64")
    for name, value in native.items():
        assert value.shape == wide[name].shape
        if value.dtype.kind == "f":
            np.testing.assert_allclose(value, wide[name], rtol=1e-5, atol=1e-6)

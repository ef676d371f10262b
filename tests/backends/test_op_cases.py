"""The per-op backend cases are valid, cover every op, and run under the reference interpreter."""

import numpy as np
import pytest
from op_cases import CASES, OpCase, ops_covered

from sklir.ir import OPS, interpret


def test_cases_cover_every_op() -> None:
    missing = set(OPS) - ops_covered()
    assert not missing, f"ops without a backend case in tests/backends/op_cases.py: {sorted(missing)}"


def test_case_names_are_unique() -> None:
    # backend tests are parametrised by name: a duplicate would hide one case behind another's id
    names = [case.name for case in CASES]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_runs_in_both_precisions(case: OpCase) -> None:
    X = case.X(7)
    # the NaN and inf cases make numpy warn (inf - inf in a sum); the values are what is checked
    with np.errstate(invalid="ignore"):
        native = interpret(case.module, X, precision="native")
        wide = interpret(case.module, X, precision="f64")
    assert list(native) == list(wide) == list(case.module.outputs)
    for name, value in native.items():
        assert value.shape == wide[name].shape, name
        if value.dtype.kind == "f":
            np.testing.assert_allclose(value, wide[name], rtol=1e-5, atol=1e-6, err_msg=name)
        else:
            # integers, bools and strings do not depend on the float width
            assert value.dtype == wide[name].dtype, name
            np.testing.assert_array_equal(value, wide[name], err_msg=name)

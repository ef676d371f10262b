"""The shared backend comparison catches what it promises to: every backend test leans on it."""

from __future__ import annotations

import re

import numpy as np
import pytest
from backend_checks import assert_backend_matches, emitted
from op_cases import CASES

WANT = {"f": np.array([[np.inf, 1.0, np.nan, 2.0]], dtype=np.float32), "i": np.array([1, 2], dtype=np.int64),
        "s": np.array(["a", "b"], dtype=object)}


def _with(name: str, value: np.ndarray) -> dict[str, np.ndarray]:
    return {**WANT, name: value}


def test_identical_outputs_pass() -> None:
    assert_backend_matches({k: v.copy() for k, v in WANT.items()}, WANT, 0.0, "identical")


def test_finite_floats_within_rtol_of_the_finite_scale_pass() -> None:
    # scale is max(1, 2) = 2: the inf must not enter it
    assert_backend_matches(_with("f", np.array([[np.inf, 1.0 + 1.9e-6, np.nan, 2.0]], np.float32)),
                           WANT, 1e-6, "within")


@pytest.mark.parametrize(("name", "value", "message"), [
    # an inf in the output made the old scale infinite, so this difference passed
    ("f", np.array([[np.inf, 1.5, np.nan, 2.0]], np.float32), "max |got - want|"),
    ("f", np.array([[3e38, 1.0, np.nan, 2.0]], np.float32), "infinities differ"),
    ("f", np.array([[-np.inf, 1.0, np.nan, 2.0]], np.float32), "infinities differ"),
    ("f", np.array([[np.inf, 1.0, 0.0, 2.0]], np.float32), "NaN positions"),
    ("f", np.array([[np.inf, np.nan, np.nan, 2.0]], np.float32), "NaN positions"),
    ("f", np.array([[np.inf, 1.0, np.nan, 2.0]], np.float64), "dtype"),
    ("f", np.array([np.inf, 1.0, np.nan, 2.0], np.float32), "shape"),
    ("i", np.array([1, 3], dtype=np.int64), "i: [3] != [2]"),
    ("s", np.array(["a", "c"], dtype=object), "s: ['c'] != ['b']"),
])
def test_mismatches_fail(name: str, value: np.ndarray, message: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(message)):
        assert_backend_matches(_with(name, value), WANT, 1e-6, "case")


def test_missing_or_extra_outputs_fail() -> None:
    with pytest.raises(AssertionError, match="outputs"):
        assert_backend_matches({k: v for k, v in WANT.items() if k != "s"}, WANT, 1e-6, "case")


def test_kind_only_comparison_accepts_a_wider_float_but_not_another_kind() -> None:
    wide = _with("f", WANT["f"].astype(np.float64))
    assert_backend_matches(wide, WANT, 1e-6, "wide", same_dtype=False)
    with pytest.raises(AssertionError, match="kind"):
        assert_backend_matches(_with("i", WANT["i"].astype(np.float64)), WANT, 1e-6, "case", same_dtype=False)


def test_emitted_converts_once_per_module_text() -> None:
    case = CASES[0]
    assert emitted(case.module, "onnx") is emitted(case.module, "onnx")
    with pytest.raises(ValueError, match="directory"):
        emitted(case.module, "savedmodel")

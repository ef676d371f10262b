"""PolynomialFeatures parity: integer and (min, max) degrees, interaction_only, bias on and off.

The lowering multiplies in scikit-learn's own order, so the interpreter is checked bit-exactly
before the passes run; after them the harness's default tolerances apply.
"""

from __future__ import annotations

import pytest
from conftest import dataset
from parity import assert_bit_exact_before_passes, assert_parity
from sklearn.preprocessing import PolynomialFeatures

CASES = {
    "deg2": {"degree": 2},
    "deg3": {"degree": 3},
    "deg3-no-bias": {"degree": 3, "include_bias": False},
    "interaction": {"degree": 3, "interaction_only": True},
    "range-0-2": {"degree": (0, 2)},
    "range-2-3": {"degree": (2, 3)},
    "range-2-4-interaction-no-bias": {"degree": (2, 4), "interaction_only": True, "include_bias": False},
    "range-3-3": {"degree": (3, 3), "include_bias": False},
    "deg1": {"degree": 1},
    "order-F": {"degree": 2, "order": "F"},
}


@pytest.mark.parametrize("case", list(CASES))
def test_polynomial_parity(case: str) -> None:
    X, _ = dataset("iris")
    assert_parity(PolynomialFeatures(**CASES[case]).fit(X), X)


@pytest.mark.parametrize("case", ["deg3", "range-2-4-interaction-no-bias"])
def test_polynomial_bit_exact_before_passes(case: str) -> None:
    X, _ = dataset("wine")
    assert_bit_exact_before_passes(PolynomialFeatures(**CASES[case]).fit(X), X)


def test_polynomial_wide_input() -> None:
    # 64 features to degree 2: 2145 columns from two wide gathers and one multiply
    X, _ = dataset("digits")
    assert_parity(PolynomialFeatures(degree=2).fit(X[:500]), X[:500])

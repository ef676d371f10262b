"""FunctionTransformer: the identity and every mapped numpy function, on data in its domain.

Tolerances: harness defaults. ``round`` and ``rint`` on iris hit exact halves (0.5, 1.5, 2.5),
which checks round-half-to-even in every runtime.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import dataset
from parity import assert_parity
from scipy.special import expit
from sklearn.preprocessing import FunctionTransformer

from sklir.errors import UnsupportedEstimatorError
from sklir.frontend.registry import lower

# function -> dataset whose values lie in its domain (iris is positive, diabetes is centred)
CASES = {
    "identity": (None, "iris"),
    "log": (np.log, "iris"),
    "log1p": (np.log1p, "digits"),
    "exp": (np.exp, "iris"),
    "expm1": (np.expm1, "diabetes"),
    "sqrt": (np.sqrt, "digits"),
    "abs": (np.abs, "diabetes"),
    "fabs": (np.fabs, "diabetes"),
    "square": (np.square, "diabetes"),
    "negative": (np.negative, "diabetes"),
    "positive": (np.positive, "diabetes"),
    "sign": (np.sign, "diabetes"),
    "floor": (np.floor, "iris"),
    "ceil": (np.ceil, "iris"),
    "rint": (np.rint, "iris"),
    "round": (np.round, "iris"),
    "tanh": (np.tanh, "diabetes"),
    "sin": (np.sin, "wine"),
    "cos": (np.cos, "wine"),
    "reciprocal": (np.reciprocal, "iris"),
    "expit": (expit, "diabetes"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_function_parity(case: str) -> None:
    func, data = CASES[case]
    X, _ = dataset(data)
    if case in ("round", "rint"):
        # the data must hold exact halves, or round-half-to-even goes unchecked
        assert np.any(np.isin(X, [0.5, 1.5, 2.5]))
    assert_parity(FunctionTransformer(func).fit(X), X)


@pytest.mark.parametrize("func, name", [(np.log2, "numpy.log2"), (lambda v: v + 1, "<lambda>")])
def test_unmapped_function_is_refused_by_name(func: object, name: str) -> None:
    X, _ = dataset("iris")
    with pytest.raises(UnsupportedEstimatorError, match=f"FunctionTransformer: func=.*{name}"):
        lower(FunctionTransformer(func).fit(X))


def test_kw_args_refused() -> None:
    X, _ = dataset("iris")
    with pytest.raises(UnsupportedEstimatorError, match="kw_args"):
        lower(FunctionTransformer(np.round, kw_args={"decimals": 2}).fit(X))

"""FunctionTransformer: the identity (``func=None``) or a numpy function with an IR unary op.

Any other function is refused by name: sklir cannot see inside arbitrary Python.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.preprocessing import FunctionTransformer

from sklir.frontend.registry import lowers, refuse
from sklir.ir.builder import Builder
from sklir.ir.core import Value

# numpy (or scipy) function -> the IR unary op computing it elementwise; None is the identity
FUNCTIONS: dict[Any, str | None] = {
    np.positive: None,
    np.negative: "neg",
    np.abs: "abs",
    np.fabs: "abs",
    np.sign: "sign",
    np.exp: "exp",
    np.expm1: "expm1",
    np.log: "log",
    np.log1p: "log1p",
    np.sqrt: "sqrt",
    np.square: "square",
    np.reciprocal: "reciprocal",
    np.floor: "floor",
    np.ceil: "ceil",
    # both round half to even
    np.rint: "round",
    np.round: "round",
    np.tanh: "tanh",
    np.sin: "sin",
    np.cos: "cos",
    expit: "sigmoid",
}


def _name(func: Any) -> str:
    module = getattr(func, "__module__", None) or ("numpy" if isinstance(func, np.ufunc) else "")
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    return f"{module}.{name}" if module else name


def _known(func: Any) -> bool:
    try:
        return func in FUNCTIONS
    except TypeError:  # an unhashable callable object
        return False


@lowers(FunctionTransformer)
def lower_function_transformer(est: FunctionTransformer, b: Builder, x: Value) -> dict[str, Value]:
    """``func(x)`` for ``func`` in :data:`FUNCTIONS` (or None); refuses anything else by name."""
    if est.kw_args:
        raise refuse(est, "kw_args", est.kw_args, "None or {}")
    if est.func is None:
        return {"transform": x}
    if not _known(est.func):
        supported = ", ".join(sorted({_name(f) for f in FUNCTIONS}))
        raise refuse(est, "func", _name(est.func), f"None, {supported}")
    op = FUNCTIONS[est.func]
    return {"transform": x if op is None else b.call(op, x)}

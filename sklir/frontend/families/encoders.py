"""Category encoders (issue 9): OneHotEncoder, OrdinalEncoder and TargetEncoder, on numeric and
string columns.

Each input column is matched with its fitted ``categories_`` (:func:`category_index`): equality
with each category, the first match's index, or ``K`` (one past the last) for a value seen at no
fit. The encoding is then a row of a constant table per column, ``[K + 1, width]``, gathered by
that index. The table is what the fitted encoder's own ``transform`` gives for each category and
for an unseen value, so ``drop``, ``min_frequency``, ``max_categories`` (infrequent categories
share a column), ``handle_unknown`` (ignore, infrequent_if_exist, warn, use_encoded_value,
``unknown_value``, ``encoded_missing_value``) and TargetEncoder's per-class encodings all come
out as scikit-learn computes them, with one piece of code.

Numeric categories are matched as float32 numbers, which is what an artefact reads: a category
fitted as 0.1 is the float32 input 0.1 (two categories one float32 number apart are refused).
Where scikit-learn refuses an unseen category (``handle_unknown="error"``, its default) an
artefact cannot raise: OneHotEncoder gives an all-zero block for it (as ``ignore``), OrdinalEncoder
gives NaN. Missing values: NaN in a numeric column, the empty string in a string column (pandas'
NaN and None when sklir builds the inputs), match a fitted NaN / None category.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

from sklir.errors import UnsupportedEstimatorError
from sklir.frontend.frame import Input, StringColumn, column, join, strings_lost
from sklir.frontend.registry import lowers
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.types import DType
from sklir.runtimes import MISSING_STRING, is_missing

# a value no category equals, to read the encoding of an unseen value from transform
_UNSEEN = "\x00sklir: a category seen at no fit"


def holds_strings(categories: np.ndarray) -> bool:
    """True when a column's categories are strings (its input is a string column)."""
    return np.asarray(categories).dtype.kind in "OUS" and any(isinstance(c, str) for c in categories)


def string_categories(est: Any) -> np.ndarray:
    """A bool per input column: true where the fitted categories are strings."""
    return np.array([holds_strings(c) for c in est.categories_], dtype=bool)


def category_index(b: Builder, x: Value | StringColumn, categories: np.ndarray) -> Value:
    """``[N]`` i64: the index in ``categories`` of each row's value, ``len(categories)`` where it is
    none of them. A missing value (NaN; the empty string in a string column) matches a missing
    category. A string column's aliases (an imputer's fill) are read first."""
    k = len(categories)
    missing = [i for i, c in enumerate(categories) if is_missing(c)]
    if isinstance(x, StringColumn):
        names = [MISSING_STRING if is_missing(c) else str(c) for c in categories]
        if missing and MISSING_STRING in [str(c) for c in categories if not is_missing(c)]:
            raise UnsupportedEstimatorError(
                "a string column has both a missing value and the empty string among its categories: "
                "an artefact's string input marks a missing value with the empty string")
        # aliases first: argmax takes the first match, and an alias replaces the value before encoding
        keys = [was for was, _ in x.aliases] + names
        targets = [names.index(now) if now in names else k for _, now in x.aliases] + list(range(k))
        hits = b.call("compare", x.value, b.const(np.array(keys, dtype=object), DType.str), predicate="eq")
    else:
        # the artefact reads float32: a category fitted as 0.1 is the float32 input 0.1
        values = np.asarray([c for c in categories if not is_missing(c)], dtype=np.float64)
        rounded = values.astype(np.float32).astype(np.float64)
        same = np.flatnonzero(np.diff(rounded) == 0)
        if same.size:
            first, second = values[same[0]], values[same[0] + 1]
            raise UnsupportedEstimatorError(
                f"the numeric categories {first!r} and {second!r} are one float32 number, and an artefact "
                "reads float32: they cannot be told apart")
        hits = b.call("compare", x, b.const(rounded), predicate="eq")
        if missing:  # scikit-learn keeps a NaN category last
            hits = b.call("concat", hits, b.call("isnan", x), axis=1)
        targets = list(range(k))
    hits = b.call("cast", hits, to=DType.f64)
    first = b.call("argmax", hits, axis=1)
    if targets != list(range(len(targets))):
        first = b.call("gather", b.const(np.asarray(targets, np.int64)), first, axis=0)
    found = b.call("compare", b.call("reduce", hits, kind="max", axis=1, keepdims=False), b.const(0.5),
                   predicate="gt")
    return b.call("select", found, first, b.const(np.int64(k)))


def _rows(est: Any, columns: list[list[Any]]) -> Any:
    """A batch for ``est.transform``: column ``j`` holds ``columns[j]``; a DataFrame with the
    fitted names when it was fitted on one."""
    arrays = [np.array(values, dtype=object if holds_strings(est.categories_[j]) or
                       any(v is None for v in values) else np.float64)
              for j, values in enumerate(columns)]
    names = getattr(est, "feature_names_in_", None)
    if names is not None:
        import pandas as pd

        return pd.DataFrame({name: arr for name, arr in zip(names, arrays, strict=True)})
    return np.column_stack(arrays)


def _transform(est: Any, rows: Any) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "unknown categories found" is what the unseen row asks for
        out = est.transform(rows)
    return np.asarray(out.toarray() if hasattr(out, "toarray") else out, dtype=np.float64)


def _unseen(categories: np.ndarray) -> Any:
    if holds_strings(categories):
        return _UNSEEN
    finite = [float(c) for c in categories if not is_missing(c)]
    return (max(finite) + 1.0) if finite else 0.0


def encoding_tables(est: Any, widths: Callable[[np.ndarray], list[int]],
                    refused_unseen: Callable[[int], np.ndarray]) -> list[np.ndarray]:
    """Per input column, ``[K + 1, width]``: ``est.transform`` of each fitted category, then of an
    unseen value (``refused_unseen(width)`` where the encoder refuses one). ``widths`` splits a
    transformed row into the columns' blocks."""
    categories = est.categories_
    rows = max(len(c) for c in categories)
    known = _transform(est, _rows(est, [[c[r % len(c)] for r in range(rows)] for c in categories]))
    blocks = np.cumsum([0, *widths(known)])
    try:
        unseen = _transform(est, _rows(est, [[_unseen(c)] for c in categories]))[0]
    except ValueError:  # handle_unknown="error"
        unseen = np.concatenate([refused_unseen(int(w)) for w in np.diff(blocks)])
    return [np.vstack([known[:len(c), blocks[j]:blocks[j + 1]], unseen[None, blocks[j]:blocks[j + 1]]])
            for j, c in enumerate(categories)]


def encode(b: Builder, est: Any, x: Input, tables: list[np.ndarray]) -> Value:
    """Each column's table row for its category, side by side."""
    parts: list[Input] = []
    for j, (categories, table) in enumerate(zip(est.categories_, tables, strict=True)):
        if table.shape[1] == 0:
            continue  # a column whose only category is dropped
        read = column(b, x, j)
        if holds_strings(categories) and not isinstance(read, StringColumn):
            raise strings_lost(type(est).__name__, j)
        index = category_index(b, read, categories)
        parts.append(b.call("gather", b.const(table), index, axis=0))
    if not parts:
        raise UnsupportedEstimatorError(f"{type(est).__name__}: every column's only category is dropped, "
                                        "so the encoding has no columns")
    joined = join(b, parts)
    assert isinstance(joined, Value)
    return joined


@lowers(OneHotEncoder, frames=string_categories)
def _one_hot(est: OneHotEncoder, b: Builder, x: Input) -> dict[str, Input]:
    tables = encoding_tables(est, lambda _: list(est._n_features_outs), lambda w: np.zeros(w))
    return {"transform": encode(b, est, x, tables)}


@lowers(OrdinalEncoder, frames=string_categories)
def _ordinal(est: OrdinalEncoder, b: Builder, x: Input) -> dict[str, Input]:
    tables = encoding_tables(est, lambda out: [1] * out.shape[1], lambda w: np.full(w, np.nan))
    return {"transform": encode(b, est, x, tables)}


@lowers(TargetEncoder, frames=string_categories)
def _target(est: TargetEncoder, b: Builder, x: Input) -> dict[str, Input]:
    n = len(est.categories_)
    tables = encoding_tables(est, lambda out: [out.shape[1] // n] * n, lambda w: np.full(w, np.nan))
    return {"transform": encode(b, est, x, tables)}

"""The columns of a DataFrame with string columns, as converters see them (issue 9).

A model fitted on an array, or on a DataFrame of numbers only, reads one value ``x: f64[N, n]``.
A model fitted on a DataFrame with string columns reads a :class:`Frame`: its columns in the
fitted order, each a :class:`NumberColumn` (a column of the numeric input ``x``) or a
:class:`StringColumn` (a ``str[N, 1]`` input of its own). Why one input per string column: TFLite
has no builtin gather, slice or select on strings, only EQUAL, so a string column must arrive
alone to be compared with its categories; numbers stay one matrix, so a model on a DataFrame of
numbers keeps the single input ``x`` and a wide frame does not become hundreds of inputs.

Only the converters registered with ``frames=`` (:func:`sklir.frontend.registry.lowers`) see a
Frame: compositions that route columns (Pipeline, ColumnTransformer, FeatureUnion, voting,
stacking, searches) and the steps that read strings (the encoders, SimpleImputer). Every other
converter gets :func:`numeric` of it, which refuses string columns by name.

A string column may carry *aliases*: a SimpleImputer's fill (``"" -> "London"``) is recorded on
the column instead of computed, since no backend could select strings, and the encoder that
reads the column applies it when it matches categories (:mod:`sklir.frontend.families.encoders`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sklir.errors import IRError, UnsupportedEstimatorError
from sklir.frontend.affine import select_columns, side_by_side
from sklir.ir.builder import Builder
from sklir.ir.core import Value


@dataclass(frozen=True)
class NumberColumn:
    """Column ``position`` of the f64 value ``source``."""

    source: Value
    position: int


@dataclass(frozen=True)
class StringColumn:
    """A ``str[N, 1]`` input named after the DataFrame column ``name``; each ``(was, now)`` alias
    means a value ``was`` is read as ``now`` (an imputer's fill, applied before any encoding)."""

    value: Value
    name: str
    aliases: tuple[tuple[str, str], ...] = ()

    def aliased(self, was: str, now: str) -> StringColumn:
        """This column with ``was`` read as ``now`` (an alias already on it is rewritten too)."""
        aliases = tuple((a, now if b == was else b) for a, b in self.aliases if a != was)
        return StringColumn(self.value, self.name, ((was, now), *aliases))


@dataclass(frozen=True)
class UnreadColumn:
    """A column the model never reads (a ColumnTransformer drops it): it has no input."""

    name: str


Column = NumberColumn | StringColumn | UnreadColumn


@dataclass(frozen=True)
class Frame:
    """The columns a converter reads, in order."""

    columns: tuple[Column, ...]

    @property
    def width(self) -> int:
        """The number of columns."""
        return len(self.columns)

    @property
    def has_strings(self) -> bool:
        """True when some column is a string column."""
        return any(isinstance(c, StringColumn) for c in self.columns)

    def string_names(self) -> str:
        """The string columns' names, quoted, for a message."""
        return ", ".join(repr(c.name) for c in self.columns if isinstance(c, StringColumn))


# what a converter reads: numbers only, or a frame with string columns
Input = Value | Frame


def frame_of(x: Input) -> Frame:
    """``x`` as a Frame (a numeric value's columns, one by one)."""
    if isinstance(x, Frame):
        return x
    return Frame(tuple(NumberColumn(x, j) for j in range(x.type.static_dim(1))))


def width(x: Input) -> int:
    """The number of columns ``x`` has."""
    return x.width if isinstance(x, Frame) else x.type.static_dim(1)


def select(b: Builder, x: Input, indices: np.ndarray) -> Input:
    """Columns ``indices`` of ``x``: a value's ``gather``, or the frame's columns (numbers only
    become one value again)."""
    if isinstance(x, Value):
        return select_columns(b, x, indices)
    picked = Frame(tuple(x.columns[int(j)] for j in np.asarray(indices).reshape(-1)))
    return picked if picked.has_strings else numeric(b, picked, "")


def join(b: Builder, parts: list[Input]) -> Input:
    """``parts`` side by side: one ``concat`` of numbers, or a frame when a part has strings."""
    if all(isinstance(p, Value) for p in parts):
        values = [p for p in parts if isinstance(p, Value)]
        return side_by_side(b, values)
    return Frame(tuple(c for p in parts for c in frame_of(p).columns))


def numeric(b: Builder, x: Input, reader: str) -> Value:
    """``x`` as one f64 value; a frame with string columns is refused, naming ``reader`` (the
    estimator that would read them) and the columns."""
    if isinstance(x, Value):
        return x
    if x.has_strings:
        raise UnsupportedEstimatorError(
            f"{reader} reads numbers, but column(s) {x.string_names()} hold strings: encode them first "
            "(OneHotEncoder, OrdinalEncoder or TargetEncoder, e.g. in a ColumnTransformer)")
    runs: list[tuple[Value, list[int]]] = []
    for c in x.columns:
        if isinstance(c, UnreadColumn):
            raise IRError(f"{reader} reads the column {c.name!r}, which the model was found not to read")
        assert isinstance(c, NumberColumn)
        if runs and runs[-1][0] is c.source:
            runs[-1][1].append(c.position)
        else:
            runs.append((c.source, [c.position]))
    parts = [select_columns(b, source, np.asarray(positions)) for source, positions in runs]
    return side_by_side(b, parts)


def strings_lost(reader: str, j: int) -> UnsupportedEstimatorError:
    """The error for ``reader``, which reads strings in its column ``j``, given numbers by a
    composition that does not pass a frame's string columns on."""
    from sklir.frontend.registry import frame_compositions

    return UnsupportedEstimatorError(
        f"{reader} reads strings in its column {j}, but the composition around it gives it numbers: sklir "
        f"passes a DataFrame's string columns through {', '.join(frame_compositions())} only")


def column(b: Builder, x: Input, j: int) -> Value | StringColumn:
    """Column ``j`` of ``x``: a ``[N, 1]`` f64 value, or a string column."""
    c = frame_of(x).columns[j] if isinstance(x, Frame) else NumberColumn(x, j)
    if isinstance(c, StringColumn):
        return c
    if isinstance(c, UnreadColumn):
        raise IRError(f"the column {c.name!r} is read, though the model was found not to read it")
    return select_columns(b, c.source, np.array([c.position]))

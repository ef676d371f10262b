"""Pipeline: each step's ``transform`` feeds the next; the last step's outputs are the pipeline's.

Intermediate steps are read through :func:`sklir.frontend.registry.transform_into`, so an
estimator that predicts at the end of a pipeline but transforms inside one (RFE) works in both places.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from sklearn.pipeline import Pipeline

from sklir.errors import NotFittedError, UnsupportedEstimatorError
from sklir.frontend.frame import Input
from sklir.frontend.registry import (
    CHILDREN,
    FrameRule,
    input_width,
    lower_frame_into,
    lowers,
    read_columns,
    string_columns,
    transform_frame_into,
)
from sklir.ir.builder import Builder

T = TypeVar("T")


def is_passthrough(step: Any) -> bool:
    """True for the step values scikit-learn skips: ``None`` and ``"passthrough"``."""
    return step is None or (isinstance(step, str) and step == "passthrough")


def _in_step(name: str, lowering: Callable[[], T]) -> T:
    # the step name tells the user which of several similar steps was refused
    try:
        return lowering()
    except (UnsupportedEstimatorError, NotFittedError) as e:
        raise type(e)(f"Pipeline step {name!r}: {e}") from None


CHILDREN[Pipeline] = lambda pipe: [step for _, step in pipe.steps]


def _first_step(pipe: Pipeline) -> Any:
    return next((step for _, step in pipe.steps if not is_passthrough(step)), None)


def _pipeline_strings(pipe: Pipeline) -> np.ndarray:
    """Where the input holds strings: where the first step that is not skipped reads them."""
    first = _first_step(pipe)
    return string_columns(first) if first is not None else np.zeros(input_width(pipe) or 0, dtype=bool)


def _pipeline_reads(pipe: Pipeline) -> np.ndarray:
    """The columns the first step that is not skipped reads (every column when none is)."""
    first = _first_step(pipe)
    return read_columns(first) if first is not None else np.ones(input_width(pipe) or 0, dtype=bool)


@lowers(Pipeline, frames=FrameRule(_pipeline_strings, _pipeline_reads))
def lower_pipeline(est: Pipeline, b: Builder, x: Input) -> dict[str, Input]:
    """Chain the steps: intermediate steps give ``transform``; the last step's outputs are returned."""
    *head, (last_name, last) = est.steps
    for name, step in head:
        if not is_passthrough(step):
            x = _in_step(name, functools.partial(transform_frame_into, step, b, x))
    if is_passthrough(last):
        return {"transform": x}
    return _in_step(last_name, lambda: lower_frame_into(last, b, x))

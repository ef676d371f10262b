"""Pipeline: each step's ``transform`` feeds the next; the last step's outputs are the pipeline's.

Intermediate steps are read through :func:`sklir.frontend.registry.transform_into`, so an
estimator that predicts at the end of a pipeline but transforms inside one (RFE) works in both places.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from sklearn.pipeline import Pipeline

from sklir.errors import NotFittedError, UnsupportedEstimatorError
from sklir.frontend.registry import CHILDREN, lower_into, lowers, transform_into
from sklir.ir.builder import Builder
from sklir.ir.core import Value

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


@lowers(Pipeline)
def lower_pipeline(est: Pipeline, b: Builder, x: Value) -> dict[str, Value]:
    """Chain the steps: intermediate steps give ``transform``; the last step's outputs are returned."""
    *head, (last_name, last) = est.steps
    for name, step in head:
        if not is_passthrough(step):
            x = _in_step(name, functools.partial(transform_into, step, b, x))
    if is_passthrough(last):
        return {"transform": x}
    return _in_step(last_name, lambda: lower_into(last, b, x))

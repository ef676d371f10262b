"""Pipeline: each step's ``transform`` feeds the next; the last step's outputs are the pipeline's.

Some estimators are predictors when they end a pipeline but transformers inside one (RFE predicts
through its ``estimator_`` yet transforms by selecting columns). Their family registers the
transformer reading with :func:`transforms_as`, and compositions read intermediate steps through
:func:`transform_into`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.pipeline import Pipeline

from sklir.errors import NotFittedError, UnsupportedEstimatorError
from sklir.frontend.registry import check_fitted, lower_into, lowers
from sklir.ir.builder import Builder
from sklir.ir.core import Value

TransformLowering = Callable[[Any, Builder, Value], Value]

# class -> how to lower it as a transformer when its converter lowers it as a predictor
AS_TRANSFORMER: dict[type, TransformLowering] = {}


def transforms_as(*classes: type) -> Callable[[TransformLowering], TransformLowering]:
    """Decorator: register ``fn(est, b, x) -> value`` as the transformer reading of ``classes``."""

    def register(fn: TransformLowering) -> TransformLowering:
        for cls in classes:
            AS_TRANSFORMER[cls] = fn
        return fn

    return register


def transform_into(estimator: Any, b: Builder, x: Value) -> Value:
    """Lower ``estimator`` used as a transformer on ``x``; return its transformed value."""
    as_transformer = AS_TRANSFORMER.get(type(estimator))
    if as_transformer is not None:
        check_fitted(estimator)
        return as_transformer(estimator, b, x)
    outputs = lower_into(estimator, b, x)
    if "transform" not in outputs:
        raise UnsupportedEstimatorError(
            f"{type(estimator).__name__} cannot be an intermediate step: it has no transform "
            f"(it gives {', '.join(sorted(outputs))})")
    return outputs["transform"]


def is_passthrough(step: Any) -> bool:
    """True for the step values scikit-learn skips: ``None`` and ``"passthrough"``."""
    return step is None or (isinstance(step, str) and step == "passthrough")


def _in_step(name: str, lowering: Callable[[], Any]) -> Any:
    # the step name tells the user which of several similar steps was refused
    try:
        return lowering()
    except (UnsupportedEstimatorError, NotFittedError) as e:
        raise type(e)(f"Pipeline step {name!r}: {e}") from None


@lowers(Pipeline)
def lower_pipeline(est: Pipeline, b: Builder, x: Value) -> dict[str, Value]:
    """Chain the steps: intermediate steps give ``transform``; the last step's outputs are returned."""
    *head, (last_name, last) = est.steps
    for name, step in head:
        if not is_passthrough(step):
            x = _in_step(name, lambda step=step, x=x: transform_into(step, b, x))
    if is_passthrough(last):
        return {"transform": x}
    return _in_step(last_name, lambda: lower_into(last, b, x))

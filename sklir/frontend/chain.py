"""Chains of models lowered as one (issue 8): ``[StandardScaler, PCA, keras_model]`` in one module.

Each model's output feeds the next: a scikit-learn step's ``transform``, a Keras network's
output. The last model gives the module's outputs (its contract; a network's ``prediction``, or
its classifier outputs when labels are given). Widths are checked between neighbours while the
module is built, before anything is written: "PCA outputs 2 columns; keras.Sequential(Dense,
Dense) expects 3". A bare Keras model is a chain of one.

This module does not import Keras: :func:`is_keras_model` looks at the class's module, and the
Keras frontend is imported only when a chain holds a network.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sklir.errors import SklirError, UnsupportedEstimatorError
from sklir.ir.builder import Builder
from sklir.ir.core import Module, Value
from sklir.ir.types import DType


def is_keras_model(obj: Any) -> bool:
    """Whether ``obj`` is a Keras model (without importing Keras)."""
    return type(obj).__module__.split(".")[0] == "keras" and hasattr(obj, "layers") and hasattr(obj, "inputs")


@dataclass(frozen=True)
class Chain:
    """Models applied one after the other; ``classes`` label the last one when it is a network."""

    models: tuple[Any, ...]
    classes: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        if not self.models:
            raise SklirError("a chain needs at least one model")
        if len(self.models) > 1 and any(isinstance(m, Module) for m in self.models):
            raise SklirError("an IR module (.sklir) cannot be part of a chain: give the model files")
        if self.classes is not None and not is_keras_model(self.models[-1]):
            raise SklirError(f"class labels apply to a Keras network; the chain ends in "
                             f"{type(self.models[-1]).__name__}, which has its own classes_")

    def describe(self) -> str:
        """``StandardScaler -> PCA -> keras.Sequential(Dense, Dense)``."""
        return " -> ".join(describe_model(m) for m in self.models)


def describe_model(model: Any) -> str:
    """One model of a chain, as the metadata names it."""
    if is_keras_model(model):
        from sklir.frontend import keras_frontend

        return keras_frontend.describe(model)
    from sklir.frontend.registry import describe

    return describe(model)


def fingerprint(chain: Chain) -> str:
    """A hash of every model's fitted state (a network's weights and configuration) and the labels."""
    import hashlib
    import json

    from sklir.frontend.registry import fingerprint as estimator_fingerprint

    digest = hashlib.sha1()
    for model in chain.models:
        if is_keras_model(model):
            digest.update(json.dumps(model.get_config(), sort_keys=True, default=str).encode())
            for weights in model.get_weights():
                digest.update(np.ascontiguousarray(weights).tobytes())
        else:
            digest.update(str(estimator_fingerprint(model)).encode())
    digest.update(json.dumps(None if chain.classes is None else [str(c) for c in chain.classes]).encode())
    return digest.hexdigest()


def _input_width(model: Any) -> int:
    if is_keras_model(model):
        from sklir.frontend import keras_frontend

        return keras_frontend.input_width(model)
    from sklir.frontend.registry import check_fitted, input_width

    check_fitted(model)
    width = input_width(model)
    if width is None:
        raise UnsupportedEstimatorError(f"{type(model).__name__} does not record n_features_in_; "
                                        "fit it on a 2-D array before lowering")
    return width


def _prepare(model: Any) -> None:
    """Refuse what cannot be lowered before anything is built (the layer, the estimator)."""
    if is_keras_model(model):
        from sklir.frontend import keras_frontend

        keras_frontend.check(model)
        return
    from sklir.frontend.registry import PRECHECKS, check_fitted, converter_for

    converter_for(model)
    check_fitted(model)
    precheck = PRECHECKS.get(type(model))
    if precheck is not None:
        precheck(model)


def _step(model: Any, b: Builder, x: Value) -> Value:
    """A model that is not the last: its output as the next model's input."""
    if is_keras_model(model):
        from sklir.frontend import keras_frontend

        return keras_frontend.network(model, b, x)
    from sklir.frontend.registry import transform_into

    return transform_into(model, b, x)


def _last(chain: Chain, b: Builder, x: Value) -> dict[str, Value]:
    model = chain.models[-1]
    if is_keras_model(model):
        from sklir.frontend import keras_frontend

        return keras_frontend.outputs(model, b, x, chain.classes)
    from sklir.frontend.registry import lower_into

    return lower_into(model, b, x)


def _attributes(chain: Chain) -> dict[str, Any]:
    from sklir.frontend.registry import module_attributes

    classes = chain.classes if chain.classes is not None else getattr(chain.models[-1], "classes_", None)
    return module_attributes(chain.describe(), fingerprint(chain), chain.models[0], classes)


def lower_chain(chain: Chain, internals: Iterable[str] = ()) -> Module:
    """One verified module computing the chain (see the module doc)."""
    from sklir.frontend.registry import finish_module

    for model in chain.models:
        _prepare(model)
    widths = [_input_width(m) for m in chain.models]
    # the module is named after the last model (the metadata's source names the whole chain)
    last = chain.models[-1]
    name = "keras_model" if is_keras_model(last) else type(last).__name__
    b, x = Builder.new(name if len(chain.models) == 1 else f"chain.{name}", widths[0], DType.f32, _attributes(chain))
    value = b.call("cast", x, to=DType.f64)
    for i, model in enumerate(chain.models[:-1]):
        value = _step(model, b, value)
        got = value.type.static_dim(1) if value.type.rank == 2 else None
        if got != widths[i + 1]:
            shape = f"{got} columns" if got is not None else f"values of shape {value.type}"
            raise SklirError(f"{describe_model(model)} outputs {shape}; "
                             f"{describe_model(chain.models[i + 1])} expects {widths[i + 1]}")
    return finish_module(b, _last(chain, b, value), tuple(internals), chain.describe())


def reference_outputs(chain: Chain, X: np.ndarray) -> dict[str, np.ndarray]:
    """What the chain's artefact must reproduce: the models run one after the other (scikit-learn's
    ``transform``, a network's ``predict``), then the last one's contract."""
    from sklir.check import expected_outputs

    value = X
    for model in chain.models[:-1]:
        value = _predict(model, value) if is_keras_model(model) else np.asarray(model.transform(value))
    last = chain.models[-1]
    if not is_keras_model(last):
        return expected_outputs(last, value)
    y = _predict(last, value)
    if chain.classes is None:
        return {"prediction": y}
    from sklir.frontend import keras_frontend

    return keras_classifier_reference(y, np.asarray(chain.classes), keras_frontend.output_activation(last))


def _predict(model: Any, X: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(np.asarray(X, np.float32), verbose=0), np.float64)


def keras_classifier_reference(y: np.ndarray, classes: np.ndarray, activation: str | None) -> dict[str, np.ndarray]:
    """A Keras user's decision from a network's output with these labels (the rule of
    :func:`~sklir.frontend.keras_frontend.classifier_outputs`)."""
    if y.shape[1] == 1:
        column = y[:, 0]
        if activation == "sigmoid":
            proba = np.column_stack([1 - column, column])
            return {"label": classes[(column > 0.5).astype(int)], "probabilities": proba}
        return {"label": classes[(column > 0).astype(int)], "decision": column}
    key = "probabilities" if activation == "softmax" else "decision"
    return {"label": classes[np.argmax(y, axis=1)], key: y}


def resolve(model: Any, classes: Sequence[Any] | None = None) -> Any:
    """What a user's model is to lower and check as: a :class:`Chain` for several models, a Keras
    network or any model with labels; the model itself otherwise (a list of one scikit-learn
    model unwrapped). The one place that tells a chain from a single estimator."""
    labels = None if classes is None else tuple(classes)
    if isinstance(model, Chain):
        return model if labels is None else Chain(model.models, labels)
    models = tuple(model) if isinstance(model, (list, tuple)) else (model,)
    if len(models) == 1 and labels is None and not is_keras_model(models[0]):
        return models[0]
    return Chain(models, labels)

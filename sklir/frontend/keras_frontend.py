"""Keras 3 networks (issue 8): the layers tabular networks use, lowered into the same IR.

The only module of sklir's frontend that imports Keras, and only imported when a Keras model (or
a scikeras wrapper) is given. A model is walked from its output back to its one input through
each tensor's Keras history, so Sequential and functional models (shared layers, merges) take
one path. Each layer class has a lowering in :data:`LAYERS`:

- Dense: :func:`~sklir.frontend.activations.dense`, the lowering MLPClassifier shares, with every
  activation ``keras.activations`` names (but ``threshold``, which needs arguments);
- Activation, ReLU (``max_value``, ``negative_slope``, ``threshold``), LeakyReLU, ELU, PReLU
  (per-unit slopes), Softmax;
- Dropout, GaussianNoise, GaussianDropout, AlphaDropout, SpatialDropout1D/2D/3D: the identity at
  inference;
- BatchNormalization (``(x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta``),
  Normalization (``(x - mean) / max(sqrt(variance), epsilon)``, or its inverse) and Rescaling:
  column-wise affine steps, which ``fold-affine`` folds into the neighbouring Dense;
- Flatten and Reshape of a flat vector: the identity;
- Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum.

Any other layer is refused with its name and class. A network with labels (``classes``) gives
``probabilities`` and ``label`` for a softmax output (the first class of highest probability) or
one sigmoid unit (``[1 - p, p]``, the second class where ``p > 0.5``); another output gives
``label`` and its raw values as ``decision``. Without labels the output is ``prediction``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from sklir.errors import UnsupportedEstimatorError
from sklir.frontend.activations import ACTIVATIONS, dense, elu, leaky_relu
from sklir.frontend.affine import columnwise
from sklir.frontend.outputs import binary_probabilities, labels_from_index, labels_from_scores
from sklir.ir.builder import Builder
from sklir.ir.core import Value
from sklir.ir.types import DType

LayerLowering = Callable[[Any, Builder, list[Value]], Value]


def _refuse(layer: Any, what: str) -> UnsupportedEstimatorError:
    return UnsupportedEstimatorError(f"Keras layer {layer.name!r} ({type(layer).__name__}): {what}")


def _activation_name(layer: Any, activation: Any) -> str:
    name = activation if isinstance(activation, str) else keras.activations.serialize(activation)
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise _refuse(layer, f"activation {name!r} is not supported (supported: {', '.join(sorted(ACTIVATIONS))})")
    return name


def _dense(layer: Any, b: Builder, inputs: list[Value]) -> Value:
    weights = layer.get_weights()
    bias = weights[1] if layer.use_bias else None
    return dense(b, inputs[0], np.asarray(weights[0], np.float64), bias,
                 _activation_name(layer, layer.get_config()["activation"]))


def _activation(layer: Any, b: Builder, inputs: list[Value]) -> Value:
    return ACTIVATIONS[_activation_name(layer, layer.get_config()["activation"])](b, inputs[0])


def _relu(layer: Any, b: Builder, inputs: list[Value]) -> Value:
    # Keras's: min(x, max_value) where x > threshold, else negative_slope * (x - threshold)
    config = layer.get_config()
    x = inputs[0]
    threshold, slope = float(config["threshold"]), float(config["negative_slope"])
    below = b.call("mul", b.call("sub", x, b.const(threshold)), b.const(slope))
    out = b.call("select", b.call("compare", x, b.const(threshold), predicate="gt"), x, below)
    if config["max_value"] is not None:
        out = b.call("minimum", out, b.const(float(config["max_value"])))
    return out


def _prelu(layer: Any, b: Builder, inputs: list[Value]) -> Value:
    (alpha,) = layer.get_weights()
    return leaky_relu(b, inputs[0], b.const(np.asarray(alpha, np.float64).reshape(-1)))


def _softmax_layer(layer: Any, b: Builder, inputs: list[Value]) -> Value:
    return b.call("softmax", inputs[0], axis=-1)


def _batch_normalization(layer: Any, b: Builder, inputs: list[Value]) -> Value:
    config = layer.get_config()
    if config["axis"] not in (-1, 1, [-1], [1]):
        raise _refuse(layer, f"axis={config['axis']} is not supported (the features' axis, -1)")
    mean = np.asarray(layer.moving_mean, np.float64)
    scale = 1.0 / np.sqrt(np.asarray(layer.moving_variance, np.float64) + float(config["epsilon"]))
    if layer.scale:
        scale = scale * np.asarray(layer.gamma, np.float64)
    x = columnwise(b, columnwise(b, inputs[0], "sub", mean), "mul", scale)
    return columnwise(b, x, "add", np.asarray(layer.beta, np.float64)) if layer.center else x


def _normalization(layer: Any, b: Builder, inputs: list[Value]) -> Value:
    mean = np.asarray(layer.mean, np.float64).reshape(-1)
    spread = np.maximum(np.sqrt(np.asarray(layer.variance, np.float64).reshape(-1)), keras.backend.epsilon())
    if layer.invert:
        return columnwise(b, columnwise(b, inputs[0], "mul", spread), "add", mean)
    return columnwise(b, columnwise(b, inputs[0], "sub", mean), "div", spread)


def _rescaling(layer: Any, b: Builder, inputs: list[Value]) -> Value:
    config = layer.get_config()
    x = b.call("mul", inputs[0], b.const(np.asarray(config["scale"], np.float64)))
    return b.call("add", x, b.const(np.asarray(config["offset"], np.float64)))


def _flat(layer: Any, b: Builder, inputs: list[Value]) -> Value:
    x = inputs[0]
    if x.type.rank != 2:
        raise _refuse(layer, "only a flat vector of features can be flattened or reshaped")
    target = getattr(layer, "target_shape", None)
    if target is not None and tuple(target) not in ((x.type.static_dim(1),), (-1,)):
        raise _refuse(layer, f"reshaping {x.type.static_dim(1)} features to {tuple(target)} is not supported")
    return x


def _fold(op: str) -> LayerLowering:
    def merge(layer: Any, b: Builder, inputs: list[Value]) -> Value:
        out = inputs[0]
        for other in inputs[1:]:
            out = b.call(op, out, other)
        return out

    return merge


def _average(layer: Any, b: Builder, inputs: list[Value]) -> Value:
    return b.call("div", _fold("add")(layer, b, inputs), b.const(float(len(inputs))))


def _concatenate(layer: Any, b: Builder, inputs: list[Value]) -> Value:
    if layer.axis not in (-1, 1):
        raise _refuse(layer, f"axis={layer.axis} is not supported (the features' axis, -1)")
    return b.call("concat", *inputs, axis=1)


def _identity(layer: Any, b: Builder, inputs: list[Value]) -> Value:
    return inputs[0]


L = keras.layers
# layer class -> its lowering
LAYERS: dict[type, LayerLowering] = {
    L.Dense: _dense,
    L.Activation: _activation,
    L.ReLU: _relu,
    L.LeakyReLU: lambda layer, b, inputs: leaky_relu(b, inputs[0], float(layer.negative_slope)),
    L.ELU: lambda layer, b, inputs: elu(b, inputs[0], float(layer.alpha)),
    L.PReLU: _prelu,
    L.Softmax: _softmax_layer,
    **dict.fromkeys((L.Dropout, L.GaussianNoise, L.GaussianDropout, L.AlphaDropout, L.SpatialDropout1D,
                     L.SpatialDropout2D, L.SpatialDropout3D), _identity),
    L.BatchNormalization: _batch_normalization,
    L.Normalization: _normalization,
    L.Rescaling: _rescaling,
    L.Flatten: _flat,
    L.Reshape: _flat,
    L.Concatenate: _concatenate,
    L.Add: _fold("add"),
    L.Subtract: _fold("sub"),
    L.Multiply: _fold("mul"),
    L.Average: _average,
    L.Maximum: _fold("maximum"),
    L.Minimum: _fold("minimum"),
}


def _check_io(model: Any) -> None:
    inputs, outputs = list(model.inputs or []), list(model.outputs or [])
    if len(inputs) != 1:
        raise UnsupportedEstimatorError(f"the Keras model {model.name!r} has {len(inputs)} inputs; "
                                        "sklir lowers networks of one input")
    if len(outputs) != 1:
        raise UnsupportedEstimatorError(f"the Keras model {model.name!r} has {len(outputs)} outputs; "
                                        "sklir lowers networks of one output")
    if len(inputs[0].shape) != 2 or inputs[0].shape[1] is None:
        shape = tuple(inputs[0].shape)
        raise UnsupportedEstimatorError(f"the Keras model {model.name!r} takes inputs of shape {shape}; "
                                        "sklir lowers networks of a flat vector of features")


def input_width(model: Any) -> int:
    """The number of features the network reads."""
    _check_io(model)
    return int(model.inputs[0].shape[1])


def _check_layers(model: Any) -> None:
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            raise _refuse(layer, "a nested model is not supported; build the network from layers")
        if type(layer) not in LAYERS and not isinstance(layer, L.InputLayer):
            supported = ", ".join(sorted(c.__name__ for c in LAYERS))
            raise _refuse(layer, f"this layer is not supported (supported: InputLayer, {supported})")


def check(model: Any) -> None:
    """Refuse, before any lowering, a network sklir cannot lower (naming the layer)."""
    _check_io(model)
    _check_layers(model)


def network(model: Any, b: Builder, x: Value) -> Value:
    """The network's output for ``x``: each layer's lowering, from the output back to the input."""
    check(model)
    values: dict[int, Value] = {id(model.inputs[0]): x}

    def value_of(tensor: Any) -> Value:
        key = id(tensor)
        if key not in values:
            layer, node_index, _ = tensor._keras_history
            if isinstance(layer, L.InputLayer):
                values[key] = x
            else:
                node = layer._inbound_nodes[node_index]
                values[key] = LAYERS[type(layer)](layer, b, [value_of(t) for t in node.input_tensors])
        return values[key]

    return value_of(model.outputs[0])


def output_activation(model: Any) -> str | None:
    """The activation of the layer that produces the output, where that is one."""
    layer = model.outputs[0]._keras_history[0]
    if isinstance(layer, (L.Dense, L.Activation)):
        return _activation_name(layer, layer.get_config()["activation"])
    return "softmax" if isinstance(layer, L.Softmax) else None


def describe(model: Any) -> str:
    """``keras.Sequential(Dense, Dense)``: the model's kind and its layers, for the metadata."""
    kind = "keras.Sequential" if isinstance(model, keras.Sequential) else "keras.Model"
    layers = [type(layer).__name__ for layer in model.layers if not isinstance(layer, L.InputLayer)]
    return f"{kind}({', '.join(layers)})"


def outputs(model: Any, b: Builder, x: Value, classes: Any = None) -> dict[str, Value]:
    """The network's contract outputs: ``prediction``, or with ``classes`` the classifier's."""
    y = network(model, b, x)
    if classes is None:
        return {"prediction": y}
    return classifier_outputs(b, y, np.asarray(classes), output_activation(model), model.name)


def classifier_outputs(b: Builder, y: Value, classes: np.ndarray, activation: str | None,
                       name: str) -> dict[str, Value]:
    """``label`` and ``probabilities`` (or ``decision``) of an output ``y`` with these labels."""
    width = y.type.static_dim(1)
    expected = 2 if width == 1 else width
    if len(classes) != expected:
        raise UnsupportedEstimatorError(
            f"{len(classes)} class labels given, but the Keras model {name!r} has {width} output unit(s) "
            f"(it needs {expected} labels)")
    if width == 1:
        column = b.call("squeeze", y, axis=1)
        if activation == "sigmoid":
            positive = b.call("compare", column, b.const(0.5), predicate="gt")
            return {"label": labels_from_index(b, b.call("cast", positive, to=DType.i64), classes),
                    "probabilities": binary_probabilities(b, column)}
        positive = b.call("compare", column, b.const(0.0), predicate="gt")
        return {"label": labels_from_index(b, b.call("cast", positive, to=DType.i64), classes), "decision": column}
    if activation == "softmax":
        return {"label": labels_from_scores(b, y, classes), "probabilities": y}
    return {"label": labels_from_scores(b, y, classes), "decision": y}

"""The converter registry: one lowering per scikit-learn class, and the entry point ``lower``.

A converter is ``fn(estimator, builder, x) -> {output name: value}`` where ``x`` is the f64 input
value the estimator sees. Transformers return ``{"transform": v}``; compositions (Pipeline, ...)
call :func:`lower_into` on their steps, so a converter never cares where its input came from.

A model fitted on a DataFrame with string columns reads a :class:`~sklir.frontend.frame.Frame`
(one input per string column beside the numbers' ``x``). Converters registered with ``frames=``
(the compositions that route columns, and the steps that read strings) receive it as it is, and
may return a frame as their ``transform``; every other converter receives the numbers only, and a
string column reaching one is refused by name.

Beside the contract's outputs a converter may return *internals* (:data:`INTERNALS`): values a
composition or a test reads, such as the leaf each tree reaches. :func:`lower` exports the
contract only, and the internals asked for by name.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from sklir.check import OUTPUT_ORDER, output_rank
from sklir.errors import IRError, NotFittedError, SklirError, UnsupportedEstimatorError
from sklir.frontend.frame import Column, Frame, Input, NumberColumn, StringColumn, UnreadColumn, numeric
from sklir.ir.builder import Builder
from sklir.ir.core import Module, Value
from sklir.ir.types import DType, N, TensorType
from sklir.ir.verifier import verify

Converter = Callable[[Any, Builder, Value], dict[str, Value]]
# a converter that reads a frame with string columns as it is, and may return one as its transform
FrameConverter = Callable[[Any, Builder, Input], dict[str, Input]]
T = TypeVar("T")

# scikit-learn class -> converter; filled by @lowers
CONVERTERS: dict[type, Converter] = {}
# scikit-learn class -> a check of its hyper-parameters that runs before anything else is read
# (an SVM with a callable kernel records no n_features_in_: its kernel is the problem to name)
PRECHECKS: dict[type, Callable[[Any], None]] = {}

# the classes registered with frames=: their converter and their FrameRule
FRAME_CONVERTERS: dict[type, FrameConverter] = {}
FRAME_RULES: dict[type, FrameRule] = {}
FRAME_COMPOSITIONS: set[type] = set()


def _every_column(estimator: Any) -> np.ndarray:
    return np.ones(input_width(estimator) or 0, dtype=bool)


@dataclass(frozen=True)
class FrameRule:
    """How a converter registered with ``frames=`` reads a DataFrame, as a bool per input column
    of the fitted estimator: where it reads strings, and where it reads anything at all (a
    ColumnTransformer drops columns; the module gets no input for a column nothing reads)."""

    strings: Callable[[Any], np.ndarray]
    reads: Callable[[Any], np.ndarray] = _every_column

# internal output name -> what it holds: a converter may return these beside the contract's outputs
INTERNALS: dict[str, str] = {
    "leaves": "the leaf each tree reaches for each row, numbered within its tree as apply() numbers it",
}


def lowers(*classes: type, frames: FrameRule | Callable[[Any], np.ndarray] | None = None) -> Callable[[Any], Any]:
    """Decorator: register the converter for each scikit-learn class in ``classes``. With
    ``frames`` (a :class:`FrameRule`, or its ``strings`` alone for a step that reads every
    column) the converter is a :data:`FrameConverter`: it reads string columns itself."""

    def register(fn: Any) -> Any:
        for cls in classes:
            if cls in CONVERTERS:
                raise TypeError(f"{cls.__name__} already has a converter")
            CONVERTERS[cls] = fn
            if frames is not None:
                FRAME_CONVERTERS[cls] = fn
                FRAME_RULES[cls] = frames if isinstance(frames, FrameRule) else FrameRule(frames)
                if isinstance(frames, FrameRule):
                    FRAME_COMPOSITIONS.add(cls)
        return fn

    return register


def read_by_members(members: Callable[[Any], list[Any]]) -> FrameRule:
    """The :class:`FrameRule` of a composition whose ``members`` all read its input: a column holds
    strings where a member reads strings there, and is read where a member reads it."""

    def any_member(columns_of: Callable[[Any], np.ndarray]) -> Callable[[Any], np.ndarray]:
        def rule(estimator: Any) -> np.ndarray:
            out = np.zeros(input_width(estimator) or 0, dtype=bool)
            for member in members(estimator):
                if member is not None and not isinstance(member, str):
                    mask = columns_of(member)
                    if mask.shape != out.shape:
                        raise IRError(f"{type(member).__name__} reads {mask.size} columns where "
                                      f"{type(estimator).__name__} has {out.size}")
                    out |= mask
            return out

        return rule

    return FrameRule(any_member(string_columns), any_member(read_columns))


def frame_compositions() -> list[str]:
    """The compositions that pass a frame's string columns to their members (registered with a
    whole :class:`FrameRule`; a step that reads strings gives its ``strings`` alone), by name."""
    _load_converters()
    return sorted(cls.__name__ for cls in FRAME_COMPOSITIONS)


def string_columns(estimator: Any) -> np.ndarray:
    """A bool per input column of a fitted estimator: true where it reads strings (what its
    encoders' categories, or its imputer's statistics, say)."""
    _load_converters()
    rule = FRAME_RULES.get(type(estimator))
    if rule is not None:
        return np.asarray(rule.strings(estimator), dtype=bool)
    return np.zeros(input_width(estimator) or 0, dtype=bool)


def read_columns(estimator: Any) -> np.ndarray:
    """A bool per input column of a fitted estimator: true where it reads the column at all."""
    _load_converters()
    rule = FRAME_RULES.get(type(estimator))
    if rule is not None:
        return np.asarray(rule.reads(estimator), dtype=bool)
    return _every_column(estimator)


def supported_classes() -> list[type]:
    """Every scikit-learn class with a converter, sorted by module and name."""
    _load_converters()
    return sorted(CONVERTERS, key=lambda c: (c.__module__, c.__name__))


def refuse(estimator: Any, what: str, value: Any, supported: Iterable[Any] | str) -> UnsupportedEstimatorError:
    """The error for an unsupported hyper-parameter value, naming estimator, parameter and choices."""
    choices = supported if isinstance(supported, str) else ", ".join(repr(s) for s in supported)
    return UnsupportedEstimatorError(
        f"{type(estimator).__name__}: {what}={value!r} is not supported (supported: {choices})")


def public_name(cls: type) -> str:
    """``sklearn.svm.SVC`` for ``sklearn.svm._classes.SVC``: the shortest public module that
    exports the class (private submodules dropped), else the class's own module."""
    import importlib

    parts = cls.__module__.split(".")
    for end in range(1, len(parts) + 1):
        if parts[end - 1].startswith("_"):
            break
        try:
            if getattr(importlib.import_module(".".join(parts[:end])), cls.__name__, None) is cls:
                return f"{'.'.join(parts[:end])}.{cls.__name__}"
        except ImportError:
            break
    return f"{cls.__module__}.{cls.__qualname__}"


def unsupported_message(estimator: Any) -> str:
    """Why ``estimator`` cannot be lowered, by its public name, with what to do next."""
    from sklir.frontend.not_lowered import reason

    public = public_name(type(estimator))
    known = reason(public)
    if known is not None:
        return f"sklir does not lower {public}: {known[1]}"
    return (f"sklir cannot lower {public} yet"
            "; 'sklir supported' (sklir.supported() in Python) lists the supported estimators")


# classes whose objects exist only trained (a library's bare Booster): check_fitted passes them
ALWAYS_FITTED: set[type] = set()


def check_fitted(estimator: Any) -> None:
    """Raise :class:`NotFittedError` naming the estimator, and the unfitted step of a composition,
    when it has not been fitted."""
    if type(estimator) in ALWAYS_FITTED:
        return
    from sklearn.exceptions import NotFittedError as SkNotFitted
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except SkNotFitted:
        step = _unfitted_step(estimator)
        where = f" (its step {step} is not fitted)" if step else ""
        raise NotFittedError(f"{type(estimator).__name__} is not fitted{where}: "
                             "call fit() before lowering it") from None
    except TypeError as e:
        raise UnsupportedEstimatorError(f"{type(estimator).__name__} is not a scikit-learn estimator ({e})") from None


def _unfitted_step(estimator: Any) -> str | None:
    """The first unfitted child of a composition, as a path such as ``Pipeline -> LogisticRegression``."""
    from sklearn.exceptions import NotFittedError as SkNotFitted
    from sklearn.utils.validation import check_is_fitted

    children = CHILDREN.get(type(estimator))
    for child in children(estimator) if children else []:
        if isinstance(child, str) or child is None:
            continue
        try:
            check_is_fitted(child)
        except (SkNotFitted, TypeError):
            deeper = _unfitted_step(child)
            return type(child).__name__ + (f" -> {deeper}" if deeper else "")
    return None


# a package's top-level name -> the frontend module that registers converters for its classes,
# imported on first sight of one (it imports a heavy library: Keras for scikeras's wrappers, or an
# optional one: the gradient-boosting libraries)
LAZY_FRONTENDS: dict[str, str] = {"scikeras": "sklir.frontend.scikeras_frontend",
                                  "xgboost": "sklir.frontend.xgboost_frontend",
                                  "lightgbm": "sklir.frontend.lightgbm_frontend",
                                  "catboost": "sklir.frontend.catboost_frontend"}


def _load_lazy_frontend(estimator: Any) -> None:
    """Import the frontend of ``estimator``'s package (:data:`LAZY_FRONTENDS`), if it has one."""
    lazy = LAZY_FRONTENDS.get(type(estimator).__module__.split(".")[0])
    if type(estimator) not in CONVERTERS and lazy is not None:
        import importlib

        importlib.import_module(lazy)


def converter_for(estimator: Any) -> Converter:
    """The registered converter for ``estimator``'s class; a clear error when there is none."""
    _load_converters()
    _load_lazy_frontend(estimator)
    fn = CONVERTERS.get(type(estimator))
    if fn is None:
        raise UnsupportedEstimatorError(unsupported_message(estimator))
    return fn


def lower_into(estimator: Any, b: Builder, x: Input) -> dict[str, Value]:
    """Lower a fitted estimator applied to ``x`` into ``b``'s module; return its outputs."""
    outputs = lower_frame_into(estimator, b, x)
    return {name: _numbers_out(b, estimator, name, value) for name, value in outputs.items()}


def lower_frame_into(estimator: Any, b: Builder, x: Input) -> dict[str, Input]:
    """:func:`lower_into` for a caller that routes frames on (a Pipeline's last step): a
    transformer's output may be a frame with string columns."""
    fn = converter_for(estimator)
    check_fitted(estimator)
    frame_fn = FRAME_CONVERTERS.get(type(estimator))
    if frame_fn is not None:
        return _in_context(estimator, lambda: frame_fn(estimator, b, x))
    numbers = numeric(b, x, type(estimator).__name__)
    return dict(_in_context(estimator, lambda: fn(estimator, b, numbers)))


def _numbers_out(b: Builder, estimator: Any, name: str, value: Input) -> Value:
    """An output as one value: a frame of numbers joined, one with string columns refused."""
    if isinstance(value, Frame) and value.has_strings:
        raise UnsupportedEstimatorError(
            f"{type(estimator).__name__}'s {name} holds strings (column(s) {value.string_names()}): sklir lowers "
            "string columns into an encoder that reads them (OneHotEncoder, OrdinalEncoder, TargetEncoder)")
    return numeric(b, value, type(estimator).__name__)


def _in_context(estimator: Any, convert: Callable[[], T]) -> T:
    """Run a converter; an error from the IR (a fitted attribute of the wrong shape, a tampered
    estimator) names the estimator first, the outermost composition first of all
    (``Pipeline: LogisticRegression: matmul: ...``)."""
    try:
        return convert()
    except IRError as e:
        raise IRError(f"{type(estimator).__name__}: {e}") from None


# x is a Value, or a Frame for a class registered with frames= (voting passes one to its members)
TransformLowering = Callable[[Any, Builder, Any], Value]

# class -> how to lower it as a transformer when its converter lowers it as a predictor
AS_TRANSFORMER: dict[type, TransformLowering] = {}


def transforms_as(*classes: type) -> Callable[[TransformLowering], TransformLowering]:
    """Decorator: register ``fn(est, b, x) -> value`` as the transformer reading of ``classes``."""

    def register(fn: TransformLowering) -> TransformLowering:
        for cls in classes:
            AS_TRANSFORMER[cls] = fn
        return fn

    return register


def transform_into(estimator: Any, b: Builder, x: Input) -> Value:
    """Lower ``estimator`` used as a transformer on ``x``; return its transformed value."""
    return _numbers_out(b, estimator, "transform", transform_frame_into(estimator, b, x))


def transform_frame_into(estimator: Any, b: Builder, x: Input) -> Input:
    """:func:`transform_into` for a caller that routes frames on (Pipeline, ColumnTransformer,
    FeatureUnion): the result may be a frame with string columns (an imputer's)."""
    as_transformer = AS_TRANSFORMER.get(type(estimator))
    if as_transformer is not None:
        check_fitted(estimator)
        # a composition that reads frames (voting) passes one to its members
        read = x if type(estimator) in FRAME_CONVERTERS else numeric(b, x, type(estimator).__name__)
        return _in_context(estimator, lambda: as_transformer(estimator, b, read))
    outputs = lower_frame_into(estimator, b, x)
    if "transform" not in outputs:
        raise UnsupportedEstimatorError(
            f"{type(estimator).__name__} cannot be an intermediate step: it has no transform "
            f"(it gives {', '.join(sorted(outputs))})")
    return outputs["transform"]


def classes_tensor_dtype(classes: np.ndarray) -> DType:
    """IR dtype of a classifier's labels: i64 for integers, f64 floats, bool, or str."""
    kind = np.asarray(classes).dtype.kind
    return {"i": DType.i64, "u": DType.i64, "f": DType.f64, "b": DType.bool}.get(kind, DType.str)


# composition class -> its child estimators, for describing a model; filled by the families
CHILDREN: dict[type, Callable[[Any], list[Any]]] = {}


def fingerprint(estimator: Any) -> str | None:
    """A hash of the fitted estimator's whole state: ``check`` compares it with the artefact's, to
    tell an artefact of another fit of the same class. None when the estimator cannot be pickled
    (a FunctionTransformer of a lambda): such a model cannot be saved for ``check`` either."""
    try:
        return _hash(estimator)
    except ValueError:
        # joblib's hasher trips on masked arrays (a search's cv_results_): hash the pickle instead
        import hashlib
        import io

        buffer = io.BytesIO()
        try:
            _PackedPickler(buffer).dump(estimator)
        except (pickle.PicklingError, TypeError, AttributeError):
            return None
        return hashlib.sha1(buffer.getvalue()).hexdigest()
    except (pickle.PicklingError, TypeError, AttributeError):
        return None


def _packed(obj: Any) -> Any:
    """``obj`` without bytes that hold whatever the memory held, which would make the same model
    loaded in two processes hash differently: a structured array's padding (a tree's node
    records), a masked array's entries under its mask (a search's ``cv_results_``)."""
    if isinstance(obj, np.ma.MaskedArray):
        return (obj.filled(None if obj.dtype == object else 0), np.ma.getmaskarray(obj))
    if isinstance(obj, np.ndarray) and obj.dtype.fields is not None:
        from numpy.lib.recfunctions import repack_fields

        return repack_fields(obj)
    return obj


class _PackedPickler(pickle.Pickler):
    """A pickler that writes structured arrays packed (:func:`_packed`)."""

    def reducer_override(self, obj: Any) -> Any:
        packed = _packed(obj)
        if packed is obj:
            return NotImplemented
        return (tuple, (packed,)) if isinstance(packed, tuple) else packed.__reduce__()


def _hash(estimator: Any) -> str:
    """joblib's hash of ``estimator``, structured arrays packed first (:func:`_packed`)."""
    from joblib.hashing import NumpyHasher

    class PackedHasher(NumpyHasher):  # type: ignore[misc]
        def save(self, obj: Any) -> None:
            super().save(_packed(obj))

    return str(PackedHasher(hash_name="md5").hash(estimator))


def describe(estimator: Any) -> str:
    """The estimator's class, with its children for compositions: ``Pipeline(StandardScaler, Ridge)``."""
    _load_converters()  # the families fill CHILDREN
    if isinstance(estimator, str):
        return estimator  # "passthrough", "drop"
    if estimator is None:
        return "passthrough"
    children = CHILDREN.get(type(estimator))
    name = type(estimator).__name__
    return f"{name}({', '.join(describe(c) for c in children(estimator))})" if children else name


def module_attributes(source: str, stamp: str | None, first: Any, classes: Any) -> dict[str, Any]:
    """A lowered module's metadata: sklir's version, the ``source`` description, the fitted state's
    fingerprint, the feature names ``first`` was fitted with, and the class labels (one table; a
    multi-output classifier's list of them has none to record). Single models and chains share it."""
    from sklir import __version__

    attrs: dict[str, Any] = {"sklir_version": __version__, "source": source}
    if stamp is not None:
        attrs["fingerprint"] = stamp
    names = getattr(first, "feature_names_in_", None)
    if names is not None:
        attrs["feature_names"] = tuple(str(n) for n in names)
    if classes is not None and not isinstance(classes, list) and np.asarray(classes).ndim == 1:
        dtype = classes_tensor_dtype(np.asarray(classes))
        attrs["classes"] = tuple(str(c) if dtype is DType.str else c for c in np.asarray(classes).tolist())
    return attrs


def _module_attributes(estimator: Any) -> dict[str, Any]:
    return module_attributes(describe(estimator), fingerprint(estimator), estimator,
                             getattr(estimator, "classes_", None))


# class -> the input width of a fitted estimator that records no n_features_in_ (an
# IsotonicRegression fitted on a 1-d array reads one column), or records a wrong one (a CatBoost
# model loaded from its file says 0); filled by the families, and read first
INPUT_WIDTHS: dict[type, Callable[[Any], int]] = {}


def input_width(estimator: Any) -> int | None:
    """The number of input columns a fitted estimator reads, or None when it does not say."""
    _load_converters()  # the families fill INPUT_WIDTHS
    _load_lazy_frontend(estimator)
    if type(estimator) in INPUT_WIDTHS:
        return int(INPUT_WIDTHS[type(estimator)](estimator))
    width = getattr(estimator, "n_features_in_", None)
    return None if width is None else int(width)


def lower(estimator: Any, internals: Iterable[str] = ()) -> Module:
    """Lower a fitted scikit-learn estimator to a verified IR module with input ``x: f32[N, n]``.

    The module computes in f64 exactly as scikit-learn does; passes optimise it and lower its
    precision for a backend. Its outputs are the contract's, plus the :data:`INTERNALS` named in
    ``internals`` (an error names the ones the estimator has when it lacks one).
    """
    wanted = tuple(internals)
    unknown = [name for name in wanted if name not in INTERNALS]
    if unknown:
        raise SklirError(f"unknown internal output {unknown[0]!r} (known: {', '.join(INTERNALS)})")
    fn = converter_for(estimator)
    check_fitted(estimator)
    precheck = PRECHECKS.get(type(estimator))
    if precheck is not None:
        precheck(estimator)
    n_features = input_width(estimator)
    if n_features is None:
        raise UnsupportedEstimatorError(f"{type(estimator).__name__} does not record n_features_in_; "
                                        "fit it on a 2-D array before lowering")
    strings, read = string_columns(estimator), read_columns(estimator)
    names = getattr(estimator, "feature_names_in_", None)
    # a DataFrame with string columns, or with columns the model never reads (a dropped ID or
    # text column), gets inputs of its columns by name, leaving those out
    if not strings.any() and (read.all() or names is None):
        b, x = Builder.new(type(estimator).__name__, int(n_features), DType.f32, _module_attributes(estimator))
        x64 = b.call("cast", x, to=DType.f64)
        outputs = _in_context(estimator, lambda: fn(estimator, b, x64))
        return finish_module(b, outputs, wanted, type(estimator).__name__)
    b, frame = frame_inputs(estimator, strings, read)
    return finish_module(b, lower_into(estimator, b, frame), wanted, type(estimator).__name__)


def input_name(column: str, taken: set[str]) -> str:
    """An input name for the DataFrame column ``column`` that every runtime and the IR text accept
    (letters, digits and ``_``, not starting with ``_``), unique among ``taken``."""
    import re

    base = re.sub(r"[^A-Za-z0-9_]", "_", column)
    if not base or base.startswith("_"):
        base = f"s{base}"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


def frame_inputs(estimator: Any, strings: np.ndarray, read: np.ndarray) -> tuple[Builder, Frame]:
    """A builder on a module with the numeric input ``x: f32[N, numbers]`` (when there are any)
    and one ``str[N, 1]`` input per string column, named after it, for the columns the model
    ``read``s; the metadata's ``inputs`` lists each input as ``(name, dtype, columns)``, in order,
    for an app developer to build them."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        raise UnsupportedEstimatorError(f"{type(estimator).__name__} reads string columns but records no "
                                        "column names: fit it on a pandas DataFrame")
    names = [str(n) for n in names]
    numbers = [j for j in range(len(names)) if read[j] and not strings[j]]
    string_columns_at = [j for j in range(len(names)) if read[j] and strings[j]]
    attrs = _module_attributes(estimator)
    inputs: list[Value] = []
    recorded: list[tuple[str | None, str, tuple[str, ...]]] = []
    # an input may not share a name with an output (ONNX names every tensor once)
    taken = {"x", *OUTPUT_ORDER, *INTERNALS}
    if numbers:
        inputs.append(Value(TensorType(DType.f32, (N, len(numbers))), "x"))
        recorded.append(("x", "float32", tuple(names[j] for j in numbers)))
    string_inputs: dict[int, Value] = {}
    for j in string_columns_at:
        value = Value(TensorType(DType.str, (N, 1)), input_name(names[j], taken))
        string_inputs[j] = value
        inputs.append(value)
        recorded.append((value.name, "string", (names[j],)))
    attrs["inputs"] = tuple(recorded)
    b = Builder(Module(type(estimator).__name__, inputs, attributes=attrs))
    x64 = b.call("cast", inputs[0], to=DType.f64) if numbers else None
    position = {j: k for k, j in enumerate(numbers)}
    columns: list[Column] = []
    for j, name in enumerate(names):
        if j in string_inputs:
            columns.append(StringColumn(string_inputs[j], name))
        elif j in position:
            assert x64 is not None
            columns.append(NumberColumn(x64, position[j]))
        else:
            columns.append(UnreadColumn(name))
    return b, Frame(tuple(columns))


def finish_module(b: Builder, outputs: dict[str, Value], wanted: tuple[str, ...], name: str) -> Module:
    """Give the module the contract's outputs in the contract's order, plus the internals in
    ``wanted``; refuse an output that is neither (a converter's mistake) and a wanted internal the
    model lacks; verify."""
    strays = [out for out in outputs if out not in OUTPUT_ORDER and out not in INTERNALS]
    if strays:  # a converter's mistake, not the user's
        raise IRError(f"{name}: the converter returned {strays[0]!r}, "
                      "which is neither a contract output nor a known internal")
    absent = [out for out in wanted if out not in outputs]
    if absent:
        have = [out for out in outputs if out in INTERNALS]
        raise SklirError(f"{name} has no internal output {absent[0]!r} (it has: {', '.join(have) or 'none'})")
    for out in sorted(outputs, key=output_rank):
        if out in OUTPUT_ORDER or out in wanted:
            b.output(out, outputs[out])
    return verify(b.module)


def _load_converters() -> None:
    # importing the family modules registers their converters
    import sklir.frontend.families  # noqa: F401

"""The converter registry: one lowering per scikit-learn class, and the entry point ``lower``.

A converter is ``fn(estimator, builder, x) -> {output name: value}`` where ``x`` is the f64 input
value the estimator sees. Transformers return ``{"transform": v}``; compositions (Pipeline, ...)
call :func:`lower_into` on their steps, so a converter never cares where its input came from.

Beside the contract's outputs a converter may return *internals* (:data:`INTERNALS`): values a
composition or a test reads, such as the leaf each tree reaches. :func:`lower` exports the
contract only, and the internals asked for by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np

from sklir.check import OUTPUT_ORDER, output_rank
from sklir.errors import IRError, NotFittedError, SklirError, UnsupportedEstimatorError
from sklir.ir.builder import Builder
from sklir.ir.core import Module, Value
from sklir.ir.types import DType
from sklir.ir.verifier import verify

Converter = Callable[[Any, Builder, Value], dict[str, Value]]
T = TypeVar("T")

# scikit-learn class -> converter; filled by @lowers
CONVERTERS: dict[type, Converter] = {}

# scikit-learn class -> a check of its hyper-parameters that runs before anything else is read
# (an SVM with a callable kernel records no n_features_in_: its kernel is the problem to name)
PRECHECKS: dict[type, Callable[[Any], None]] = {}

# internal output name -> what it holds: a converter may return these beside the contract's outputs
INTERNALS: dict[str, str] = {
    "leaves": "the leaf each tree reaches for each row, numbered within its tree as apply() numbers it",
}


def lowers(*classes: type) -> Callable[[Converter], Converter]:
    """Decorator: register the converter for each scikit-learn class in ``classes``."""

    def register(fn: Converter) -> Converter:
        for cls in classes:
            if cls in CONVERTERS:
                raise TypeError(f"{cls.__name__} already has a converter")
            CONVERTERS[cls] = fn
        return fn

    return register


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
    return (f"sklir cannot lower {public_name(type(estimator))} yet"
            "; 'sklir supported' (sklir.supported() in Python) lists the supported estimators")


def check_fitted(estimator: Any) -> None:
    """Raise :class:`NotFittedError` naming the estimator, and the unfitted step of a composition,
    when it has not been fitted."""
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
# imported on first sight of one (it imports a heavy library: Keras for scikeras's wrappers)
LAZY_FRONTENDS: dict[str, str] = {"scikeras": "sklir.frontend.scikeras_frontend"}


def converter_for(estimator: Any) -> Converter:
    """The registered converter for ``estimator``'s class; a clear error when there is none."""
    _load_converters()
    lazy = LAZY_FRONTENDS.get(type(estimator).__module__.split(".")[0])
    if type(estimator) not in CONVERTERS and lazy is not None:
        import importlib

        importlib.import_module(lazy)
    fn = CONVERTERS.get(type(estimator))
    if fn is None:
        raise UnsupportedEstimatorError(unsupported_message(estimator))
    return fn


def lower_into(estimator: Any, b: Builder, x: Value) -> dict[str, Value]:
    """Lower a fitted estimator applied to ``x`` into ``b``'s module; return its outputs."""
    fn = converter_for(estimator)
    check_fitted(estimator)
    return _in_context(estimator, lambda: fn(estimator, b, x))


def _in_context(estimator: Any, convert: Callable[[], T]) -> T:
    """Run a converter; an error from the IR (a fitted attribute of the wrong shape, a tampered
    estimator) names the estimator first, the outermost composition first of all
    (``Pipeline: LogisticRegression: matmul: ...``)."""
    try:
        return convert()
    except IRError as e:
        raise IRError(f"{type(estimator).__name__}: {e}") from None


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
        return _in_context(estimator, lambda: as_transformer(estimator, b, x))
    outputs = lower_into(estimator, b, x)
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
    import pickle

    import joblib

    try:
        return str(joblib.hash(estimator))
    except ValueError:
        # joblib's hasher trips on masked arrays (a search's cv_results_): hash the pickle instead
        import hashlib

        try:
            return hashlib.sha1(pickle.dumps(estimator)).hexdigest()
        except (pickle.PicklingError, TypeError, AttributeError):
            return None
    except (pickle.PicklingError, TypeError, AttributeError):
        return None


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
# IsotonicRegression fitted on a 1-d array reads one column); filled by the families
INPUT_WIDTHS: dict[type, Callable[[Any], int]] = {}


def input_width(estimator: Any) -> int | None:
    """The number of input columns a fitted estimator reads, or None when it does not say."""
    width = getattr(estimator, "n_features_in_", None)
    if width is None:
        _load_converters()  # the families fill INPUT_WIDTHS
        if type(estimator) in INPUT_WIDTHS:
            width = INPUT_WIDTHS[type(estimator)](estimator)
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
    b, x = Builder.new(type(estimator).__name__, int(n_features), DType.f32, _module_attributes(estimator))
    x64 = b.call("cast", x, to=DType.f64)
    outputs = _in_context(estimator, lambda: fn(estimator, b, x64))
    return finish_module(b, outputs, wanted, type(estimator).__name__)


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

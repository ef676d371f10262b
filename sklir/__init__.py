"""sklir: compile fitted scikit-learn models to TensorFlow Lite and ONNX with proven parity.

    module = sklir.lower(estimator)          # IR, optimised by the default passes (or a model file's path)
    data = sklir.emit(module, "tflite")      # or "onnx", "savedmodel" (with a path); an estimator is lowered first
    outputs = sklir.interpret(module, X)     # the numpy reference, for checking
    module = sklir.parse(text)               # IR text back to a module
    table = sklir.supported()                # what can be lowered, with its outputs
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    import numpy as np

    from sklir.backends.profiles import Profile
    from sklir.ir.core import Module
    from sklir.passes.manager import PrintAfter

__version__ = "0.1.0"


def lower(model: Any, optimize: bool = True, passes: str | None = None, print_after: PrintAfter | None = None,
          trust: tuple[str, ...] = (), internals: tuple[str, ...] = (), classes: Any = None) -> Module:
    """Lower a fitted estimator, a Keras model, a chain of them, a model file's path, or an
    already-parsed IR module, and optimise it.

    A list of models (or paths) is a chain, each model's output feeding the next
    (``[scaler, pca, keras_model]``); ``classes`` labels a Keras network's outputs (a softmax or one
    sigmoid unit then gives ``label`` and ``probabilities``). A path (``str`` or ``os.PathLike``) is
    loaded as the CLI loads it (``.joblib``/``.pkl``, ``.skops`` with ``trust`` naming the types you
    vouch for, ``.keras``/``.h5``, ``.sklir``). ``optimize=False``
    runs no pass; ``passes`` replaces the default pipeline with a spec such as
    ``"fold-affine,cse,dce"`` (``"default"`` names the default); ``print_after(name, module)`` is
    called after every pass. ``internals`` names values beyond the output contract to export too
    (``("leaves",)``: the leaf each tree reaches, as ``apply`` numbers it).
    """
    from sklir.frontend.registry import lower as lower_raw
    from sklir.ir.core import Module

    pipeline = None
    if not optimize and passes is not None:
        from sklir.errors import SklirError

        raise SklirError("passes and optimize=False cannot be combined")
    if optimize:
        from sklir.passes.pipelines import default_pipeline, pipeline_from_spec

        # parsed first: a bad spec is refused before any work
        pipeline = default_pipeline(print_after) if passes is None else pipeline_from_spec(passes, print_after)
    from sklir.frontend.chain import Chain, lower_chain, resolve
    from sklir.loading import load_model

    if isinstance(model, (str, os.PathLike)):
        model = load_model(Path(model), trust)
    elif isinstance(model, (list, tuple)):
        model = [load_model(Path(m), trust) if isinstance(m, (str, os.PathLike)) else m for m in model]
    if isinstance(model, Module) and (internals or classes is not None):
        from sklir.errors import SklirError

        chosen = "internals are" if internals else "class labels are"
        raise SklirError(f"{chosen} chosen when an estimator is lowered, not for an IR module")
    if not isinstance(model, Module):
        model = resolve(model, classes)
    if isinstance(model, Module):
        module = model
    elif isinstance(model, Chain):
        module = lower_chain(model, internals)
    else:
        module = lower_raw(model, internals)
    return module if pipeline is None else pipeline.run(module).module


def parse(text: str) -> Module:
    """Parse IR text into a verified module (raises ParseError with line and column)."""
    from sklir.ir.parser import parse as parse_text

    return parse_text(text)


@overload
def emit(model: Any, target: str, path: None = None, force: bool = False, trust: tuple[str, ...] = (),
         tree_strategy: str = "auto", profile: Profile | str | None = None) -> bytes: ...


@overload
def emit(model: Any, target: str, path: str | os.PathLike[str], force: bool = False,
         trust: tuple[str, ...] = (), tree_strategy: str = "auto", profile: Profile | str | None = None) -> Path: ...


def emit(model: Any, target: str, path: str | os.PathLike[str] | None = None, force: bool = False,
         trust: tuple[str, ...] = (), tree_strategy: str = "auto", profile: Profile | str | None = None
         ) -> bytes | Path:
    """Emit ``model`` as ``tflite``, ``onnx``, ``savedmodel`` or ``c`` (a C header); see :func:`sklir.backends.emit`.

    ``model`` is an IR module, or anything :func:`lower` takes (a fitted estimator, a model file's
    path, loaded with ``trust``), which is lowered with the default passes first. With ``path`` the
    artefact is written there (replacing only an artefact sklir wrote, unless ``force``) and the
    path is returned. The target and the path are checked before any work. ``tree_strategy``
    lowers tree ensembles by ``gemm``, ``perfect``, ``traversal`` or ``compact`` instead of the
    automatic choice. ``profile`` names the device (``"micro"`` for TensorFlow Lite Micro, or a
    :class:`~sklir.backends.profiles.Profile` such as ``profile_named("micro", batch=8)``); the
    default is the target's own (any batch, for LiteRT, onnxruntime and TF Serving).
    """
    from sklir.backends import check_output, check_target, target_profile
    from sklir.backends import emit as emit_target
    from sklir.errors import SklirError
    from sklir.ir.core import Module

    module = model
    if not isinstance(model, Module):
        # the checks emit makes, made before the lowering
        if check_target(target).is_directory and path is None:
            raise SklirError(f"target {target} writes a directory: give an output path")
        if path is not None:
            check_output(Path(path), target, force)
        target_profile(target, profile)
        module = lower(model, trust=trust)
    if path is None:
        return emit_target(module, target, tree_strategy=tree_strategy, profile=profile)
    return emit_target(module, target, Path(path), force, tree_strategy, profile)


def interpret(module: Module, X: Any, precision: str = "f64") -> dict[str, np.ndarray]:
    """Run a module with the numpy reference interpreter; outputs by name."""
    from sklir.ir.interpreter import interpret as run

    return run(module, X, precision)  # type: ignore[arg-type]


def print_module(module: Module, elide_constants: bool = False) -> str:
    """The module's text form."""
    from sklir.ir.printer import print_module as fmt

    return fmt(module, elide_constants)


def supported() -> dict[str, tuple[str, ...]]:
    """Every estimator sklir lowers, by public name (``sklearn.linear_model.Ridge``), with the
    outputs its artefacts have (``label``, ``probabilities``, ...; empty for compositions, whose
    outputs are those of their final step). Only scikit-learn's classes are listed, the same
    whatever was lowered before: scikeras's wrappers (registered when first lowered) and private
    classes a composition fits for itself (``_ConstantPredictor``) lower too, but are not listed."""
    from sklir.check import contract_outputs
    from sklir.frontend.registry import public_name, supported_classes

    return {public_name(cls): tuple(contract_outputs(cls)) for cls in supported_classes()
            if cls.__module__.split(".")[0] == "sklearn" and not cls.__name__.startswith("_")}


__all__ = ["__version__", "emit", "interpret", "lower", "parse", "print_module", "supported"]

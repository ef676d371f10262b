"""sklir: compile fitted scikit-learn models to TensorFlow Lite and ONNX with proven parity.

    module = sklir.lower(estimator)          # IR, optimised by the default passes
    data = sklir.emit(module, "tflite")      # or "onnx", "savedmodel" (with a path)
    outputs = sklir.interpret(module, X)     # the numpy reference, for checking
    module = sklir.parse(text)               # IR text back to a module
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def lower(model: Any, optimize: bool = True, passes: str | None = None, print_after: Any = None) -> Any:
    """Lower a fitted estimator (or take an already-parsed IR module) and optimise it.

    ``optimize=False`` runs no pass; ``passes`` replaces the default pipeline with a spec such as
    ``"fold-affine,cse,dce"`` (``"default"`` names the default); ``print_after(name, module)`` is
    called after every pass.
    """
    from sklir.frontend.registry import lower as lower_raw
    from sklir.ir.core import Module

    module = model if isinstance(model, Module) else lower_raw(model)
    if not optimize:
        return module
    from sklir.passes.pipelines import default_pipeline, pipeline_from_spec

    manager = default_pipeline(print_after) if passes is None else pipeline_from_spec(passes, print_after)
    return manager.run(module).module


def parse(text: str) -> Any:
    """Parse IR text into a verified module (raises ParseError with line and column)."""
    from sklir.ir.parser import parse as parse_text

    return parse_text(text)


def emit(module: Any, target: str, path: Any = None) -> Any:
    """Emit a module as ``tflite``, ``onnx`` or ``savedmodel``; see :func:`sklir.backends.emit`."""
    from sklir.backends import emit as emit_target

    return emit_target(module, target, path)


def interpret(module: Any, X: Any, precision: str = "f64") -> dict[str, Any]:
    """Run a module with the numpy reference interpreter."""
    from sklir.ir.interpreter import interpret as run

    return run(module, X, precision)  # type: ignore[arg-type]


def print_module(module: Any, elide_constants: bool = False) -> str:
    """The module's text form."""
    from sklir.ir.printer import print_module as fmt

    return fmt(module, elide_constants)


__all__ = ["__version__", "emit", "interpret", "lower", "parse", "print_module"]

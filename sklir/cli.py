"""``python -m sklir``: lower a model file to an artefact, check an artefact, list what is supported.

Every error a user can cause is a :class:`~sklir.errors.SklirError`; :func:`main` prints it as one
``sklir: error: ...`` line on stderr and returns 1 (argparse's usage errors exit 2). Anything else
escapes with its traceback, because it is a bug in sklir.

Backends are imported only when their target is asked for: ``lower --emit ir`` and
``--emit onnx`` never import TensorFlow.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sklir
from sklir.check import DEFAULT_RTOL
from sklir.errors import SklirError
from sklir.ir.core import Module
from sklir.passes.manager import PrintAfter

EMIT_CHOICES = ("tflite", "onnx", "savedmodel", "ir")
IR_SUFFIX = ".sklir"


def stderr_printer(elide_constants: bool = False) -> PrintAfter:
    """The ``--print-after-all`` hook: the module after each pass on stderr, under a header line."""

    def print_after(name: str, module: Module) -> None:
        from sklir.ir.printer import print_module

        print(f"# ----- after {name} -----", file=sys.stderr)
        print(print_module(module, elide_constants).rstrip("\n"), file=sys.stderr)

    return print_after


def ir_text(module: Module, precision: str = "f64", elide_constants: bool = False,
            print_after: PrintAfter | None = None) -> str:
    """The module's text, after lowering its precision to ``f32`` when asked (as a backend sees it)."""
    from sklir.ir.printer import print_module

    if precision != "f64":
        from sklir.passes.pipelines import precision_pipeline

        module = precision_pipeline(precision, print_after).run(module).module
    return print_module(module, elide_constants)


def default_output(model_path: str | Path, emit: str) -> Path:
    """Where ``lower`` writes when ``-o`` is not given: the model's path with the target's suffix."""
    from sklir.backends import TARGETS

    suffix = IR_SUFFIX if emit == "ir" else TARGETS[emit].suffix
    return Path(model_path).with_suffix(suffix)


def _lower(args: argparse.Namespace) -> int:
    from sklir.io import check_writable, write_atomic
    from sklir.loading import load_model

    out = args.output if args.output is not None or args.emit == "ir" else default_output(args.model, args.emit)
    if out is not None and Path(out).resolve() == Path(args.model).resolve():
        raise SklirError(f"refusing to overwrite the model file {args.model} with the artefact: give -o")
    if out is not None:
        check_writable(out)  # fail before any work
    print_after = stderr_printer(args.elide_constants) if args.print_after_all else None
    module = sklir.lower(load_model(args.model, args.trust), not args.no_optimize, args.passes, print_after)
    if args.emit == "ir":
        text = ir_text(module, args.precision, args.elide_constants, print_after)
        if out is None:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        else:
            write_atomic(out, text)
            print(f"wrote {out}")
        return 0
    from sklir.backends import emit

    written = emit(module, args.emit, out)
    print(f"wrote {written} ({args.emit}; outputs: {', '.join(module.outputs)})")
    return 0


def _check(args: argparse.Namespace) -> int:
    from sklir.check import check_artefact, format_table, generated_data, passed
    from sklir.loading import load_data, load_model, n_features

    model = load_model(args.model, args.trust)
    width = n_features(model)
    if args.data is None:
        X = generated_data(width)
        source = f"{len(X)} generated rows (standard normal, seed 0; pass --data for real inputs)"
    else:
        X = load_data(args.data, width)
        source = f"{len(X)} rows from {args.data}"
    rows = check_artefact(model, args.artefact, X, args.rtol)
    reference = "the IR interpreter" if isinstance(model, Module) else "scikit-learn"
    print(f"{args.artefact} vs {reference} on {source}")
    print(format_table(rows, args.rtol))
    return 0 if passed(rows) else 1


def supported_table() -> str:
    """The supported estimators from the converter registry, grouped by module, with their outputs."""
    from sklir.check import contract_outputs
    from sklir.frontend.registry import supported_classes

    classes = supported_classes()
    by_module: dict[str, list[type]] = {}
    for cls in classes:
        public = ".".join(p for p in cls.__module__.split(".")[:2] if not p.startswith("_"))
        by_module.setdefault(public, []).append(cls)
    width = max((len(c.__name__) for c in classes), default=0)
    lines = [f"{len(classes)} supported scikit-learn classes"]
    for module, members in sorted(by_module.items()):
        lines.append(f"\n{module}")
        for cls in sorted(members, key=lambda c: c.__name__):
            outputs = ", ".join(contract_outputs(cls)) or "the outputs of its final step"
            lines.append(f"  {cls.__name__.ljust(width)}  {outputs}")
    lines.append("\nprobabilities / decision: where the fitted estimator has predict_proba / decision_function")
    return "\n".join(lines)


def _supported(args: argparse.Namespace) -> int:
    print(supported_table())
    return 0


def _demo(args: argparse.Namespace) -> int:
    from sklir.demo import run_demo

    return run_demo(args.out)


def _rtol(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="sklir", description="Compile fitted scikit-learn models to "
                                     "TensorFlow Lite and ONNX with proven parity.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    trust: dict[str, Any] = dict(action="extend", nargs="+", default=[], metavar="TYPE",
                 help="a .skops type to trust (repeatable); untrusted types are refused otherwise")

    lower = sub.add_parser("lower", help="lower a model file to .tflite, .onnx, a SavedModel or IR text")
    lower.add_argument("model", metavar="MODEL", help="a .joblib/.pkl or .skops estimator, or a .sklir IR file")
    lower.add_argument("--emit", required=True, choices=EMIT_CHOICES, help="what to produce")
    lower.add_argument("-o", "--output", metavar="OUT",
                       help="output path (default: MODEL with the target's suffix; --emit ir prints to stdout)")
    lower.add_argument("--passes", metavar="SPEC", help="the pass pipeline instead of the default, "
                       "e.g. 'fold-affine,cse,dce' or 'name{option=value}' ('default': the default pipeline)")
    lower.add_argument("--no-optimize", action="store_true", help="run no pass (the frontend's raw IR)")
    lower.add_argument("--print-after-all", action="store_true", help="print the module after every pass to stderr")
    lower.add_argument("--precision", choices=("f64", "f32"), default="f64",
                       help="--emit ir: print the f64 module, or the f32 one a backend receives")
    lower.add_argument("--elide-constants", action="store_true",
                       help="replace large constants by <elided> in printed IR (for reading; it does not parse)")
    lower.add_argument("--trust", **trust)
    lower.set_defaults(run=_lower)

    check = sub.add_parser("check", help="compare an artefact's outputs with scikit-learn's")
    check.add_argument("model", metavar="MODEL", help="the model file the artefact was lowered from")
    check.add_argument("artefact", metavar="ARTEFACT", help="a .tflite or .onnx file, or a SavedModel directory")
    check.add_argument("--data", metavar="FILE", help="inputs as .npy or .csv (default: generated)")
    check.add_argument("--rtol", type=_rtol, default=DEFAULT_RTOL,
                       help="tolerance relative to each output's scale (default 1e-5)")
    check.add_argument("--trust", **trust)
    check.set_defaults(run=_check)

    supported = sub.add_parser("supported", help="list the supported estimators")
    supported.set_defaults(run=_supported)

    demo = sub.add_parser("demo", help="fit, save, lower, run under LiteRT and check a digits pipeline")
    demo.add_argument("--out", metavar="DIR", help="where to keep the files (default: a temporary directory)")
    demo.set_defaults(run=_demo)
    return parser


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.command == "lower":
        if args.no_optimize and args.passes is not None:
            parser.error("--passes and --no-optimize cannot be combined")
        if args.emit != "ir" and args.precision != "f64":
            parser.error("--precision applies to --emit ir only (each backend sets its own precision)")
        if args.emit != "ir" and args.elide_constants and not args.print_after_all:
            parser.error("--elide-constants applies to --emit ir and --print-after-all only")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _validate(parser, args)
    try:
        return int(args.run(args))
    except SklirError as e:
        print(f"sklir: error: {one_line(str(e))}", file=sys.stderr)
        return 1


def one_line(message: str) -> str:
    """A message folded onto one line (backend errors can span several)."""
    return " ".join(part.strip() for part in message.splitlines() if part.strip())

"""``python -m sklir``: lower a model file to an artefact, check an artefact, list what is supported.

Every error a user can cause is a :class:`~sklir.errors.SklirError`; :func:`main` prints it as one
``sklir: error: ...`` line on stderr and returns 1 (argparse's usage errors exit 2). Anything else
escapes with its traceback, because it is a bug in sklir.

Backends are imported only when their target is asked for: ``lower --emit ir`` and
``--emit onnx`` never import TensorFlow.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import sys
import typing
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import sklir
from sklir.backends.profiles import PROFILES, QUANTIZE_MODES
from sklir.check import DEFAULT_RTOL
from sklir.errors import InputFileError, SklirError
from sklir.ir.core import Module
from sklir.passes.manager import PrintAfter

EMIT_CHOICES = ("tflite", "onnx", "savedmodel", "c", "ir")
# the profiles and quantisations (sklir.backends.profiles: light, no backend imported)
PROFILE_CHOICES = tuple(PROFILES)
QUANTIZE_CHOICES = QUANTIZE_MODES
IR_SUFFIX = ".sklir"
# lower-trees' strategies (sklir.passes.lower_trees.STRATEGIES; not imported here, for start-up time)
TREE_STRATEGIES = ("auto", "fastest", "smallest", "gemm", "perfect", "traversal", "compact")


def target_suffixes() -> dict[str, str]:
    """Target -> the suffix of its artefact (a SavedModel is a directory and has none)."""
    from sklir.backends import TARGETS

    return {**{name: target.suffix for name, target in TARGETS.items()}, "ir": IR_SUFFIX}


def stderr_printer(elide_constants: bool = False) -> PrintAfter:
    """The ``--print-after-all`` hook: the module after each pass on stderr, under a header line."""

    def print_after(name: str, module: Module) -> None:
        from sklir.ir.printer import print_module

        print(f"# ----- after {name} -----", file=sys.stderr)
        print(print_module(module, elide_constants).rstrip("\n"), file=sys.stderr)

    return print_after


def ir_text(module: Module, precision: str = "f64", elide_constants: bool = False,
            print_after: PrintAfter | None = None, tree_strategy: str = "auto") -> str:
    """The module's text, prepared for an ``f32`` backend when asked (as a backend sees it)."""
    from sklir.ir.printer import print_module

    if precision != "f64":
        from sklir.passes.pipelines import precision_pipeline

        module = precision_pipeline(precision, print_after, tree_strategy).run(module).module
    return print_module(module, elide_constants)


def default_output(model_path: str | Path, emit: str) -> Path:
    """Where ``lower`` writes when ``-o`` is not given: the model's path with the target's suffix."""
    return Path(model_path).with_suffix(target_suffixes()[emit])


def target_of(output: str) -> str | None:
    """The target an output path's suffix names (``.tflite`` -> tflite), or None."""
    suffix = Path(output).suffix.lower()
    return next((target for target, known in target_suffixes().items() if known and known == suffix), None)


class Progress:
    """What a slow command is doing, on stderr, only when a person watches (a terminal) and ``-q``
    was not given: a pipe or a log file gets none of it."""

    def __init__(self, quiet: bool) -> None:
        self.enabled = not quiet and sys.stderr.isatty()

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(f"sklir: {message}", file=sys.stderr, flush=True)


def _lower(args: argparse.Namespace) -> int:
    from sklir.backends import TARGETS, check_output, target_profile
    from sklir.loading import load_model

    progress = Progress(args.quiet)
    # the options are checked before any work (the rows stand in for themselves until read)
    profile = target_profile(args.emit, args.profile, args.batch, args.quantize, args.data) \
        if args.emit != "ir" else None
    if args.passes is not None:
        from sklir.passes.pipelines import pipeline_from_spec

        pipeline_from_spec(args.passes)  # a bad spec is refused before any work, on every model
    target = TARGETS.get(args.emit)  # None for IR text
    to_stdout = args.output == "-" or (args.output is None and target is None)
    out = None if to_stdout else Path(args.output if args.output is not None
                                      else default_output(args.model[-1], args.emit))
    if out is not None:
        for path in args.model:
            _refuse_to_cover_the_model(out, Path(path))
        check_output(out, args.emit, args.force)  # fail before any work
    elif target is not None and target.is_directory:
        raise SklirError(f"a {args.emit} artefact is a directory and cannot go to standard output: give -o DIR")
    elif target is not None and args.emit != "c" and sys.stdout.isatty():
        raise SklirError(f"refusing to write a binary .{args.emit} file to the terminal: redirect it, or give -o FILE")
    models = []
    for path in args.model:
        progress(f"loading {path}")
        models.append(load_model(path, args.trust))
    progress("lowering")
    print_after = stderr_printer(args.elide_constants) if args.print_after_all else None
    model = models[0] if len(models) == 1 else models
    module = sklir.lower(model, not args.no_optimize, args.passes, print_after, classes=args.classes)
    if args.data is not None:
        profile = target_profile(args.emit, args.profile, args.batch, args.quantize, _representative(module, args.data))
    if target is None:
        # what sklir writes says so: a file it may replace later
        module.attributes.setdefault("sklir_version", sklir.__version__)
        text = ir_text(module, args.precision, args.elide_constants, print_after, args.tree_strategy)
        text = text if text.endswith("\n") else text + "\n"
        if out is None:
            _to_stdout(text.encode())
        else:
            from sklir.backends import sklir_artefact
            from sklir.io import write_atomic

            write_atomic(out, text, sklir_artefact("ir"), args.force)
            _done(args, f"wrote {out}")
        return 0
    from sklir.backends import emit

    progress(target.doing)
    if out is None:
        data = emit(module, args.emit, tree_strategy=args.tree_strategy, profile=profile)
        _to_stdout(data)
        _report(args, profile, data if args.emit == "tflite" else None, None, sys.stderr)
        return 0
    written = emit(module, args.emit, out, args.force, args.tree_strategy, profile)
    _done(args, f"wrote {written} ({args.emit}; outputs: {', '.join(module.outputs)})")
    _report(args, profile, None, written, sys.stdout)
    return 0


def _representative(module: Module, path: str) -> Any:
    """The rows of ``path`` as the module's single float input takes them (a float32 array)."""
    import numpy as np

    from sklir.loading import load_data

    if len(module.inputs) != 1 or not module.inputs[0].type.dtype.is_float:
        raise SklirError(f"--data calibrates a model of one numeric input; this one takes {len(module.inputs)} "
                         f"({', '.join(f'{v.name}: {v.type}' for v in module.inputs)})")
    return load_data(path, module.inputs[0].type.static_dim(1)).astype(np.float32)


def _report(args: argparse.Namespace, profile: Any, data: bytes | None, written: Path | None,
            stream: typing.TextIO) -> None:
    """After a micro-profile artefact: its flash and arena bytes, ops and op resolver calls."""
    if args.quiet or profile is None or profile.ops is None:
        return
    from sklir.backends.c_export import flatbuffer_of, recorded_arena
    from sklir.runtimes.micro import report

    measured = None
    if data is None:
        if written is None:
            return
        # a header records the arena emit_c measured: it is not measured again
        data, measured = (flatbuffer_of(written), recorded_arena(written)) if args.emit == "c" \
            else (written.read_bytes(), None)
    for line in report(data, profile, measured):
        print(line, file=stream)


def _done(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message)


def _to_stdout(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _refuse_to_cover_the_model(out: Path, model: Path) -> None:
    """The output must not be the model file, nor a directory the model lies in."""
    try:
        target, source = out.resolve(), model.resolve()
    except (OSError, RuntimeError):  # a symlink loop: loading the model names it
        return
    if target == source:
        raise SklirError(f"refusing to overwrite the model file {model} with the artefact: give -o")
    if target in source.parents:
        raise SklirError(f"refusing to write {out}: the model file {model} is inside it")


def _check(args: argparse.Namespace) -> int:
    from sklir.check import check_artefact, format_table, generated_data, passed, source_mismatch
    from sklir.loading import load_data, load_frame, load_model, n_features

    *paths, artefact = args.paths  # _validate made sure there are both
    args.artefact = artefact
    from sklir.frontend.chain import Chain, resolve

    model = resolve([load_model(path, args.trust) for path in paths], args.classes)
    single = not isinstance(model, Chain)
    columns = _columns_by_name(model, args.artefact, args.data)
    X: Any
    if columns is not None:
        if args.data is None:
            raise InputFileError("this model reads string columns: give --data, a .csv file with a header row "
                                 "or a .parquet file holding its columns")
        X = load_frame(args.data, columns, _string_columns(args.artefact))
        source = f"{len(X)} rows from {args.data}"
    elif args.data is None:
        X = generated_data(n_features(model))
        source = f"{len(X)} generated rows (standard normal, seed 0; pass --data for real inputs)"
    else:
        X = load_data(args.data, n_features(model))
        source = f"{len(X)} rows from {args.data}"
    mismatch = source_mismatch(model, args.artefact)
    try:
        rows = check_artefact(model, args.artefact, X, args.rtol, data_name=args.data)
    except SklirError as e:
        raise type(e)(f"{e} ({mismatch})" if mismatch else str(e)) from None
    if mismatch:
        print(f"sklir: warning: {mismatch}", file=sys.stderr)
    reference = "the IR interpreter" if isinstance(model, Module) else \
        "scikit-learn" if single else "the models run one after the other"
    print(f"{args.artefact} vs {reference} on {source}")
    print(format_table(rows, args.rtol))
    quantized = _quantized(args.artefact)
    if quantized is not None:
        print(f"note: this artefact stores its matrix weights as {quantized}: its floats are not meant to be "
              f"within {args.rtol:g} of the reference (the table above shows how far they are; --rtol sets the bound "
              "check judges by); every constant but matrix weights stays float32")
    return 0 if passed(rows) else 1


def _quantized(artefact: str) -> str | None:
    """How the artefact's weights are quantised, from its metadata (None: float32)."""
    from sklir.check import artefact_kind
    from sklir.runtimes import artefact_metadata

    metadata = artefact_metadata(artefact, artefact_kind(artefact)) or {}
    value, calibrated = metadata.get("quantize"), metadata.get("int8_products_calibrated_on")
    if value is None:
        return None
    if calibrated is None:
        return str(value)
    return (f"{value}, its products computing in int8 at activation ranges calibrated on {calibrated} rows (inputs "
            "unlike those rows saturate: check it with --data rows like them)")


def _string_columns(artefact: str) -> set[str]:
    """The columns the artefact reads as strings (its metadata's inputs of dtype string)."""
    from sklir.check import artefact_kind
    from sklir.runtimes import artefact_metadata

    inputs: Any = (artefact_metadata(artefact, artefact_kind(artefact)) or {}).get("inputs") or ()
    return {str(c) for _, dtype, columns in inputs if dtype == "string" for c in columns}


def _columns_by_name(model: Any, artefact: str, data: str | None) -> list[str] | None:
    """The columns to read by name from ``data``: a model whose artefact takes string columns (its
    metadata lists its inputs) reads every fitted column by name, as does a model fitted on a
    DataFrame checked on a Parquet file; None where the data is a plain matrix."""
    from sklir.check import artefact_kind
    from sklir.runtimes import artefact_metadata

    names: Any = getattr(model, "feature_names_in_", None)
    try:
        kind = artefact_kind(artefact)
    except InputFileError:
        kind = None  # named where the artefact is run, after the data is read
    metadata = (artefact_metadata(artefact, kind) if kind is not None else None) or {}
    if metadata.get("inputs") is None and not (data is not None and data.lower().endswith(".parquet")):
        return None
    names = metadata.get("feature_names", names)
    if names is None:
        raise InputFileError(f"{data}: a .parquet file holds named columns, and the model records no column names")
    return [str(n) for n in names]


def supported_table() -> str:
    """The supported estimators (:func:`sklir.supported`), grouped by module, with their outputs."""
    table = sklir.supported()
    by_module: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for name, outputs in table.items():
        module, _, cls = name.rpartition(".")
        by_module.setdefault(module, []).append((cls, outputs))
    width = max((len(name.rpartition(".")[2]) for name in table), default=0)
    lines = [f"{len(table)} supported scikit-learn classes"]
    for module, members in sorted(by_module.items()):
        lines.append(f"\n{module}")
        for cls, outputs in sorted(members):
            lines.append(f"  {cls.ljust(width)}  {', '.join(outputs) or 'the outputs of its final step'}")
    lines.append("\nprobabilities / decision: where the fitted estimator has predict_proba / decision_function")
    lines.append("\nalso, with their library installed (each an extra: pip install 'sklir[xgboost]'):")
    for library, classes in LIBRARY_CLASSES.items():
        lines.append(f"  {library.ljust(8)}  {', '.join(classes)}")
    return "\n".join(lines)


# the gradient-boosting libraries' classes sklir lowers, listed without importing the libraries
LIBRARY_CLASSES: dict[str, tuple[str, ...]] = {
    "xgboost": ("XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor", "Booster"),
    "lightgbm": ("LGBMClassifier", "LGBMRegressor", "LGBMRanker", "Booster"),
    "catboost": ("CatBoostClassifier", "CatBoostRegressor (numeric features)",),
}


def _supported(args: argparse.Namespace) -> int:
    print(supported_table())
    return 0


def _demo(args: argparse.Namespace) -> int:
    from sklir.demo import run_demo

    return run_demo(args.out)


def _classes(text: str) -> tuple[str, ...]:
    labels = tuple(label.strip() for label in text.split(","))
    if not all(labels):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of class labels")
    return labels


def _batch(text: str) -> int:
    from sklir.backends.profiles import checked_batch

    try:
        return checked_batch(int(text))
    except (ValueError, SklirError):
        raise argparse.ArgumentTypeError(f"the batch must be a positive whole number of rows, got '{text}'") from None


def _rtol(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got '{text}'")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, with a suggestion for a mistyped option (``--emmit``: did you mean --emit?)."""

    def unrecognized(self, extras: Sequence[str]) -> NoReturn:
        """Refuse arguments this (sub)command does not take, naming the first one."""
        options = [o for action in self._actions for o in action.option_strings]
        first = extras[0]
        if first.startswith("-"):
            flag = first.split("=", 1)[0]
            close = difflib.get_close_matches(flag, options, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            self.error(f"unrecognized option {flag}{hint}")
        self.error(f"unexpected argument '{first}'")


def build_parser() -> _Parser:
    """The argument parser of every subcommand."""
    parser = _Parser(prog="sklir", description="Compile fitted scikit-learn models to "
                     "TensorFlow Lite and ONNX with proven parity.")
    parser.add_argument("--version", action="version", version=f"sklir {sklir.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    trust: dict[str, Any] = dict(action="append", default=[], metavar="TYPE",
                 help="a .skops type to trust (repeat the flag for several); untrusted types are refused otherwise")

    lower = sub.add_parser("lower", help="lower a model file to .tflite, .onnx, a SavedModel or IR text")
    lower.add_argument("model", metavar="MODEL", nargs="+",
                       help="a .joblib/.pkl or .skops estimator, a .keras/.h5 network, or a .sklir IR file; "
                            "several lower as one chain, each one's output feeding the next")
    lower.add_argument("--classes", type=_classes, metavar="A,B,...",
                       help="class labels of a Keras network's outputs (softmax units, or one sigmoid unit)")
    lower.add_argument("--emit", choices=EMIT_CHOICES,
                       help="what to produce (default: what the suffix of -o names: .tflite, .onnx, .sklir)")
    lower.add_argument("-o", "--output", metavar="OUT",
                       help="output path, '-' for standard output (default: MODEL with the target's suffix; "
                       "--emit ir prints to standard output)")
    lower.add_argument("--force", action="store_true",
                       help="replace whatever is at OUT, even a file or directory sklir did not write")
    lower.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    lower.add_argument("--passes", metavar="SPEC", help="the pass pipeline instead of the default, "
                       "e.g. 'fold-affine,cse,dce' or 'name{option=value}' ('default': the default pipeline)")
    lower.add_argument("--no-optimize", action="store_true", help="run no pass (the frontend's raw IR)")
    lower.add_argument("--print-after-all", action="store_true", help="print the module after every pass to stderr")
    lower.add_argument("--precision", choices=("f64", "f32"), default="f64",
                       help="--emit ir: print the f64 module, or the f32 one a backend receives")
    lower.add_argument("--elide-constants", action="store_true",
                       help="replace large constants by <elided> in printed IR (for reading; it does not parse)")
    lower.add_argument("--profile", choices=PROFILE_CHOICES,
                       help="the device the artefact runs on: 'micro' is TensorFlow Lite Micro (a fixed batch, "
                            "int32 class indices with the labels in the metadata, its op set checked); "
                            "default: 'micro' for --emit c, else 'default'")
    lower.add_argument("--batch", type=_batch, metavar="N",
                       help="fix the rows every call takes (the micro profile's default is 1)")
    lower.add_argument("--quantize", choices=QUANTIZE_CHOICES,
                       help="store matrix-product weights (linear models, MLPs, kernel machines) as float16 or "
                            "int8 in the .tflite; tree thresholds and comparison bounds stay exact")
    lower.add_argument("--data", metavar="FILE",
                       help="with --quantize int8: representative input rows (.npy or .csv) on which the "
                            "matrix products' activations are calibrated, so that they compute in int8 "
                            "(integer kernels: what --profile micro needs for int8)")
    lower.add_argument("--tree-strategy", choices=TREE_STRATEGIES, default="auto",
                       help="how tree ensembles are lowered (default 'auto': chosen per ensemble from its depth "
                            "for speed ('fastest'), or under --profile micro for the least flash ('smallest'))")
    lower.add_argument("--trust", **trust)
    lower.set_defaults(run=_lower)

    check = sub.add_parser("check", help="compare an artefact's outputs with scikit-learn's")
    check.add_argument("paths", metavar="MODEL [MODEL ...] ARTEFACT", nargs="+",
                       help="the model file(s) the artefact was lowered from (several: a chain), then "
                            "the artefact: a .tflite or .onnx file, or a SavedModel directory")
    check.add_argument("--classes", type=_classes, metavar="A,B,...",
                       help="the class labels the artefact was lowered with (a Keras network's)")
    check.add_argument("--data", metavar="FILE",
                       help="inputs as .npy, .csv or .parquet (named columns; default: generated)")
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


def _subparser(parser: argparse.ArgumentParser, command: str | None) -> _Parser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            sub: _Parser = action.choices[command]
            return sub
    return typing.cast(_Parser, parser)


def _validate(sub: _Parser, args: argparse.Namespace) -> None:
    if args.command == "check" and len(args.paths) < 2:
        sub.error("the following arguments are required: ARTEFACT")
    if args.command != "lower":
        return
    implied = target_of(args.output) if args.output not in (None, "-") else None
    if args.emit is None:
        if implied is None:
            named = args.output not in (None, "-")
            where = f"the suffix of -o {args.output} names none" if named else "no output file's suffix names one"
            sub.error(f"give --emit {{{','.join(EMIT_CHOICES)}}}: {where}")
        args.emit = implied
    elif implied is not None and implied != args.emit:
        sub.error(f"--emit {args.emit} contradicts -o {args.output}, whose suffix names {implied}")
    if args.no_optimize and args.passes is not None:
        sub.error("--passes and --no-optimize cannot be combined")
    if args.emit != "ir" and args.precision != "f64":
        sub.error("--precision applies to --emit ir only (each backend sets its own precision)")
    if args.emit == "ir" and (args.profile is not None or args.batch is not None or args.quantize is not None):
        sub.error("--profile, --batch and --quantize apply to artefacts, not to --emit ir")
    if args.data is not None and args.quantize != "int8":
        sub.error("--data gives the rows int8 products are calibrated on: it goes with --quantize int8")
    if args.emit != "ir" and args.elide_constants and not args.print_after_all:
        sub.error("--elide-constants applies to --emit ir and --print-after-all only")


# warnings worth one line of their own; every other warning from numpy, scikit-learn or a runtime
# (feature-name checks, loadtxt's empty-file note, TensorFlow's deprecations) stays off the terminal
SHOWN_WARNINGS = ("InconsistentVersionWarning",)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    sub = _subparser(parser, args.command)
    if extras:
        sub.unrecognized(extras)
    _validate(sub, args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status = int(args.run(args))
        except SklirError as e:
            print(f"sklir: error: {one_line(str(e))}", file=sys.stderr)
            status = 1
        except BrokenPipeError:
            # the reader went away (``| head -1``): stop writing, and say so once
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())
            os.close(null)
            print("sklir: error: standard output was closed before everything was written", file=sys.stderr)
            status = 1
    shown = dict.fromkeys(one_line(str(w.message)) for w in caught if w.category.__name__ in SHOWN_WARNINGS)
    for message in shown:
        print(f"sklir: warning: {message}", file=sys.stderr)
    return status


def one_line(message: str) -> str:
    """A message folded onto one line (backend errors can span several)."""
    return " ".join(part.strip() for part in message.splitlines() if part.strip())

"""Sizes for small devices: each benchmark model's artefact in the default and micro profiles,
quantised, the tensor arena TFLite Micro needs, and emlearn's compiled C for the same model.

    python benchmarks/micro.py                  # every benchmark model of run.py
    python benchmarks/micro.py --only Forest    # the models whose name contains "Forest"
    python benchmarks/micro.py --skip Extra     # all but those (emlearn's convert of the deep
                                                # ExtraTrees forest alone takes half an hour)

Per model: the default ``.tflite``; the ``micro`` profile's ``.tflite`` (batch 1) with the arena
TFLite Micro's recording allocator measures and its parity (on up to 300 rows, run under the
``tflite-micro`` interpreter); the ``float16`` and ``int8`` weight quantisations with their parity
under LiteRT on every row; the micro profile with int8 products (``--quantize int8 --data``)
calibrated on every 10th row, its parity under ``tflite-micro`` on up to 300 rows. Parity is the
label agreement and the largest float error relative to the output's scale (as ``check``
measures it), leaving out the ties scikit-learn itself breaks either way (run.py's ``tied``).
Last, emlearn's generated C compiled with ``cc -Os`` (``.text`` + ``.rodata`` bytes, its
inference code included) where emlearn converts the model. The micro
``.tflite`` counts the model alone: TFLite Micro's interpreter and kernels take flash of their
own. The chain row of run.py (a Keras network) is left out, and so is any model whose default
``.tflite`` exceeds 8 MiB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from run import Case, build_cases, fmt_bytes
from sklearn.base import is_classifier

import sklir
from sklir.backends.profiles import profile_named
from sklir.errors import SklirError
from sklir.ir.core import Module
from sklir.runtimes import run

MICRO_ROWS = 300
# int8 products are calibrated on every 10th row of the benchmark data
CALIBRATE_EVERY = 10
# a model whose default .tflite is larger than this fits no microcontroller: its row stops there
FLASH_BOUND = 8 * 2**20


def _labels(out: dict[str, np.ndarray]) -> np.ndarray | None:
    return out.get("label", out.get("prediction"))


def _agreement(case: Case, out: dict[str, np.ndarray], X: np.ndarray) -> str:
    """Label agreement (classifiers) and the largest float error against scikit-learn, relative to
    the output's scale (``max(1, max|want|)``, as ``check`` measures it), on the rows without a
    tie scikit-learn itself breaks either way (run.py's ``tied``)."""
    from sklir.check import expected_outputs

    want = expected_outputs(case.model, X.astype(np.float64))
    keep = ~case.tied(X) if case.tied is not None else np.ones(len(X), bool)
    parts = []
    if "label" in want:
        parts.append(f"{np.mean(np.asarray(out['label'])[keep] == np.asarray(want['label'])[keep]):.2%} labels")
    floats = [k for k, v in want.items() if np.asarray(v).dtype.kind == "f"]
    if floats:
        worst = max(float(np.max(np.abs(np.asarray(out[k], np.float64)[keep] - want[k][keep])))
                    / max(1.0, float(np.max(np.abs(want[k][keep])))) for k in floats)
        parts.append(f"max err {worst:.2g} of scale")
    return ", ".join(parts)


def emlearn_bytes(case: Case, workdir: Path) -> tuple[int | None, str]:
    """emlearn's C for the model compiled with ``cc -Os``: (.text + .rodata bytes, its agreement)."""
    saved = np.geterr()
    try:
        import emlearn
    except ImportError:
        return None, "emlearn not installed"
    finally:
        np.seterr(**saved)  # emlearn's import makes every numpy warning an error, process-wide
    if shutil.which("cc") is None or shutil.which("size") is None:
        return None, "no cc"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            converted = emlearn.convert(case.model, method="inline", dtype="float")
    except Exception as err:  # emlearn raises assorted errors for models it does not support
        return None, f"emlearn: {type(err).__name__}"
    header = workdir / "emlearn_model.h"
    converted.save(file=str(header), name="model")
    source = workdir / "emlearn_use.c"
    source.write_text('#include "emlearn_model.h"\n'
                      "int classify(const float *x, int n) { return model_predict(x, n); }\n")
    result = subprocess.run(["cc", "-Os", "-c", source.name, "-I", emlearn.includedir, "-o", "emlearn_use.o"],
                            cwd=workdir, capture_output=True, text=True)
    if result.returncode != 0:
        return None, "does not compile"
    sections = subprocess.run(["size", "-A", "emlearn_use.o"], cwd=workdir, capture_output=True, text=True).stdout
    total = sum(int(line.split()[1]) for line in sections.splitlines()
                if line.startswith((".text", ".rodata")))
    X = case.X[:MICRO_ROWS].astype(np.float32)
    here = os.getcwd()
    os.chdir(workdir)  # emlearn's predict compiles a test program into ./tmp
    try:
        got, want = np.asarray(converted.predict(X), np.float64), np.asarray(case.model.predict(X), np.float64)
    except Exception as err:  # emlearn's predict builds and runs a test program, which may fail
        return total, f"its predict failed: {type(err).__name__}"
    finally:
        os.chdir(here)
    if is_classifier(case.model):
        return total, f"{np.mean(got == want):.2%} labels"
    return total, f"max err {np.abs(got.ravel() - want.ravel()).max() / max(1.0, np.abs(want).max()):.2g} of scale"


def row(case: Case, workdir: Path) -> list[str]:
    module = sklir.lower(case.model)
    X = case.X.astype(np.float32)
    default = sklir.emit(module, "tflite")
    cells = [case.name, fmt_bytes(len(default))]
    if len(default) > FLASH_BOUND:
        # nor float16, int8 or emlearn: the table is about small devices
        return cells + [f"not tried: over {fmt_bytes(FLASH_BOUND)}, beyond a microcontroller's flash"] + \
            ["-"] * (len(HEADER) - 3)
    try:
        micro = sklir.emit(module, "tflite", profile="micro")
        from sklir.runtimes.micro import arena_bytes

        rows = X[:MICRO_ROWS]
        cells += [fmt_bytes(len(micro)), fmt_bytes(arena_bytes(micro)),
                  _agreement(case, run(micro, "micro", rows), rows) or "-"]
    except SklirError as err:
        cells += ["refused", "-", str(err).split(":")[0][:60]]
    for mode in ("float16", "int8"):
        data = sklir.emit(module, "tflite", profile=profile_named("default", quantize=mode))
        out = run(data, "tflite", X)
        cells += [f"{fmt_bytes(len(data))} ({len(data) / len(default):.2f}x)", _agreement(case, out, X)]
    cells += _int8_products(case, module, X)
    size, agreement = emlearn_bytes(case, workdir)
    cells.append(agreement if size is None else f"{fmt_bytes(size)} ({agreement})")
    return cells


HEADER = ["model", "default .tflite", "micro .tflite", "arena", "micro parity", "float16", "float16 parity",
          "int8", "int8 parity", "micro int8 products", "micro int8 parity", "emlearn -Os (text+rodata)"]


def _int8_products(case: Case, module: Module, X: np.ndarray) -> list[str]:
    """The micro profile with int8 products calibrated on every CALIBRATE_EVERY-th row: its size
    (and ratio to the float32 micro file) and its parity under TFLite Micro on MICRO_ROWS rows."""
    try:
        micro = sklir.emit(module, "tflite", profile="micro")
        data = sklir.emit(module, "tflite", profile=profile_named("micro", quantize="int8",
                                                                  representative=X[::CALIBRATE_EVERY]))
    except SklirError as err:
        return ["refused", str(err).split(":")[0][:60]]
    rows = X[:MICRO_ROWS]
    return [f"{fmt_bytes(len(data))} ({len(data) / len(micro):.2f}x)", _agreement(case, run(data, "micro", rows), rows)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="the models whose name contains this text")
    parser.add_argument("--skip", default=None, help="leave out the models whose name contains this text")
    args = parser.parse_args(argv)
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    with tempfile.TemporaryDirectory() as tmp:
        for case in build_cases():
            if args.only not in case.name or case.chain or (args.skip is not None and args.skip in case.name):
                continue
            print(f"... {case.name}", file=sys.stderr, flush=True)
            lines.append("| " + " | ".join(row(case, Path(tmp))) + " |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

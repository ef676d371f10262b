"""Lowering cost at scale: time and peak memory of each step for a large forest and one twice its size.

    python benchmarks/scale.py [--trees 500]

A RandomForestClassifier of ``--trees`` trees of depth 20 and one of twice as many trees (twice
the nodes) are fitted once and saved; then each step runs in a fresh process, which reports its
wall time and its peak resident memory above what the process held before the step (the
imports and the loaded model): ``lower`` (frontend and default passes), ``prepare`` (to-f32 and
lower-trees, as the TFLite backend receives the module), ``emit .tflite`` and ``emit .onnx``
(each including its own prepare). The cost should grow linearly in the node count.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

STEPS = ("lower", "prepare", "emit .tflite", "emit .onnx")


def _status_kib(field: str) -> int:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> int:
    """Reset the peak resident size to the current one (Linux: ``clear_refs`` 5); the current size."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS")


def run_step(model_path: str, step: str) -> dict[str, float]:
    """Run one step on the saved model in this process: seconds and peak MiB above the start."""
    import joblib

    import sklir
    from sklir.backends import prepare

    model = joblib.load(model_path)
    module = sklir.lower(model) if step != "lower" else None
    if step.startswith("emit"):
        import sklir.backends.onnx_backend  # noqa: F401  (imports are not the step's cost)
        import sklir.backends.tflite  # noqa: F401
    before = _reset_peak()
    started = time.perf_counter()
    if step == "lower":
        sklir.lower(model)
    elif step == "prepare":
        assert module is not None
        prepare(module, "tflite")
    else:
        sklir.emit(module, "tflite" if step == "emit .tflite" else "onnx")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mib": max(0, _status_kib("VmHWM") - before) / 1024}


def forests(trees: int, workdir: Path) -> list[tuple[str, str, int]]:
    """Fit the two forests, save them, return (label, path, node count) for each."""
    import joblib
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    X, y = make_classification(n_samples=20000, n_features=20, n_informative=10, random_state=0)
    found = []
    for count in (trees, 2 * trees):
        model = RandomForestClassifier(count, max_depth=20, random_state=0, n_jobs=-1).fit(X, y)
        nodes = sum(e.tree_.node_count for e in model.estimators_)
        path = workdir / f"forest{count}.joblib"
        joblib.dump(model, path)
        found.append((f"RandomForestClassifier {count} trees, depth 20", str(path), nodes))
    return found


def measure(trees: int) -> str:
    """The markdown table: per forest and step, seconds and peak MiB (each step in a fresh process)."""
    lines = ["| model | nodes | " + " | ".join(STEPS) + " |", "|" + "---|" * (len(STEPS) + 2)]
    with tempfile.TemporaryDirectory() as tmp:
        for label, path, nodes in forests(trees, Path(tmp)):
            cells = []
            for step in STEPS:
                out = subprocess.run([sys.executable, __file__, "--step", step, path], check=True,
                                     capture_output=True, text=True).stdout
                r: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
                cells.append(f"{r['seconds']:.1f} s, {r['peak_mib']:.0f} MiB")
            lines.append(f"| {label} | {nodes:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=int, default=500, help="trees of the first forest (the second has twice)")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("model", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        print(json.dumps(run_step(args.model, args.step)))
        return 0
    print(measure(args.trees))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

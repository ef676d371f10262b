"""Latency of sklir's artefacts against scikit-learn and onnxruntime on skl2onnx's model, in one run.

    python benchmarks/run.py            # the full run (a few minutes)
    python benchmarks/run.py --quick    # fewer repetitions, for a smoke test

For each model and batch size (1 and 1024) it prints the median time per call of:
scikit-learn's ``predict``; onnxruntime on the model skl2onnx converts (``zipmap`` off, so the
probabilities come back as a tensor); sklir's ``.tflite`` under LiteRT; sklir's ``.onnx`` under
onnxruntime. Everything runs on one thread (BLAS limited with threadpoolctl, onnxruntime with
intra-op and inter-op threads 1, LiteRT with ``num_threads=1``). Each runtime is prepared once per
batch size (LiteRT resized and allocated once), then only set-input / invoke / get-outputs is
timed. Both sklir artefacts are checked against scikit-learn on the case's data first (labels
identical, floats within 1e-5 of their scale). sklir's artefacts compute every output of the
contract (label, probabilities, decision) while ``predict`` computes labels only, so the
comparison does not favour sklir.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

BATCHES = (1, 1024)
ENGINES = ("scikit-learn", "onnxruntime (skl2onnx)", "sklir .tflite (LiteRT)", "sklir .onnx (onnxruntime)")


@dataclass(frozen=True)
class Case:
    """One benchmarked model: a fitted estimator and the rows it is timed on."""

    name: str
    model: Any
    X: np.ndarray


def build_cases() -> list[Case]:
    """The fixed set of models: the linear rows of the issue's goal."""
    from sklearn.datasets import load_digits, make_regression
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X_digits, y_digits = load_digits(return_X_y=True)
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)).fit(X_digits, y_digits)
    # scikit-learn bundles no multi-target set of useful size (linnerud has 20 rows, 3 targets):
    # a synthetic one with 5 targets, 2000 rows and 20 features stands in
    X_reg, y_reg = make_regression(n_samples=2000, n_features=20, n_informative=15, n_targets=5, noise=5.0,
                                   random_state=0)
    ridge = Ridge(alpha=1.0).fit(X_reg, y_reg)
    return [
        Case("StandardScaler + LogisticRegression, digits", classifier, X_digits),
        Case("Ridge, 5 targets (make_regression, 20 features)", ridge, X_reg),
    ]


def batch_of(X: np.ndarray, rows: int) -> np.ndarray:
    """The first ``rows`` rows as contiguous float32 (repeated when the data is shorter)."""
    reps = -(-rows // len(X))
    return np.ascontiguousarray(np.tile(X, (reps, 1))[:rows], dtype=np.float32)


def median_seconds(call: Callable[[], Any], calls: int, warmup: int) -> float:
    """The median wall time of one ``call()``, each timed on its own after ``warmup`` calls."""
    for _ in range(warmup):
        call()
    times = []
    clock = time.perf_counter
    for _ in range(calls):
        start = clock()
        call()
        times.append(clock() - start)
    return statistics.median(times)


def skl2onnx_bytes(model: Any, X: np.ndarray) -> bytes | None:
    """skl2onnx's conversion with probabilities as a plain tensor, or None when it is not installed."""
    try:
        from skl2onnx import to_onnx
    except ImportError:
        return None
    from sklearn.linear_model import LogisticRegression

    onx = to_onnx(model, X[:1], options={LogisticRegression: {"zipmap": False}})
    return onx.SerializeToString()  # type: ignore[no-any-return]


def engines(case: Case, workdir: Path) -> dict[str, Callable[[np.ndarray], Callable[[], Any]]]:
    """Engine name -> factory that prepares it for a batch and returns the call to time."""
    import sklir
    from sklir.check import check_artefact, passed
    from sklir.runtimes.litert import prepared
    from sklir.runtimes.onnxrt import PreparedOnnx

    module = sklir.lower(case.model)
    tflite = Path(sklir.emit(module, "tflite", workdir / "model.tflite"))
    onnx = Path(sklir.emit(module, "onnx", workdir / "model.onnx"))
    for artefact in (tflite, onnx):
        # timing an artefact that gives other answers than scikit-learn would be meaningless
        if not passed(check_artefact(case.model, artefact, case.X)):
            raise SystemExit(f"{case.name}: {artefact.suffix} fails parity with scikit-learn")
    reference = skl2onnx_bytes(case.model, batch_of(case.X, 1))

    def sklearn(X: np.ndarray) -> Callable[[], Any]:
        X64 = X.astype(np.float64)
        return lambda: case.model.predict(X64)

    def ort_session(data: bytes) -> Callable[[np.ndarray], Callable[[], Any]]:
        session = PreparedOnnx(data)
        return lambda X: (lambda: session.raw(X))

    def litert(X: np.ndarray) -> Callable[[], Any]:
        model = prepared(tflite, len(X), num_threads=1)
        return lambda: model(X, decode=False)

    table: dict[str, Callable[[np.ndarray], Callable[[], Any]]] = {ENGINES[0]: sklearn}
    if reference is not None:
        table[ENGINES[1]] = ort_session(reference)
    table[ENGINES[2]] = litert
    table[ENGINES[3]] = ort_session(onnx.read_bytes())
    return table


def fmt_time(seconds: float | None) -> str:
    """Microseconds below 1 ms, milliseconds above."""
    if seconds is None:
        return "n/a"
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def fmt_ratio(num: float | None, den: float | None) -> str:
    """``num / den`` as ``0.531x``, or n/a."""
    return "n/a" if num is None or den is None else f"{num / den:.3g}x"


def measure(quick: bool) -> list[tuple[str, int, dict[str, float | None]]]:
    """Every case, batch and engine: (case name, batch, engine -> median seconds)."""
    from threadpoolctl import threadpool_limits

    calls = {1: 300, 1024: 50} if quick else {1: 10000, 1024: 1000}
    results = []
    with threadpool_limits(limits=1), tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(build_cases()):
            workdir = Path(tmp) / str(i)
            workdir.mkdir()
            table = engines(case, workdir)
            for batch in BATCHES:
                X = batch_of(case.X, batch)
                times: dict[str, float | None] = dict.fromkeys(ENGINES)
                for name, factory in table.items():
                    times[name] = median_seconds(factory(X), calls[batch], warmup=max(5, calls[batch] // 10))
                results.append((case.name, batch, times))
    return results


def report(results: list[tuple[str, int, dict[str, float | None]]]) -> str:
    """The results as a markdown table with the ratios of the goal."""
    tfl, ort, skl, sko = ENGINES[2], ENGINES[1], ENGINES[0], ENGINES[3]
    header = ["model", "batch", "scikit-learn", "onnxruntime (skl2onnx)", "sklir .tflite (LiteRT)",
              "sklir .onnx (onnxruntime)", "tflite / onnxruntime", "tflite / scikit-learn",
              "sklir .onnx / onnxruntime", "sklir .onnx / scikit-learn"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, batch, t in results:
        cells = [name, str(batch), fmt_time(t[skl]), fmt_time(t[ort]), fmt_time(t[tfl]), fmt_time(t[sko]),
                 fmt_ratio(t[tfl], t[ort]), fmt_ratio(t[tfl], t[skl]), fmt_ratio(t[sko], t[ort]),
                 fmt_ratio(t[sko], t[skl])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def environment() -> str:
    """Versions and machine, printed above the table."""
    from importlib.metadata import PackageNotFoundError, version

    def v(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    packages = ["scikit-learn", "numpy", "onnxruntime", "ai-edge-litert", "skl2onnx", "tensorflow-cpu"]
    return (f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; one thread "
            f"per engine; " + ", ".join(f"{p} {v(p)}" for p in packages))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke test, noisier)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = measure(args.quick)
    print(environment())
    print(f"median time per call{' (--quick)' if args.quick else ''}; measured in "
          f"{time.perf_counter() - started:.0f} s\n")
    print(report(results))
    if any(t[ENGINES[1]] is None for _, _, t in results):
        print("\nskl2onnx is not installed: pip install -e '.[bench]' for the onnxruntime column", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

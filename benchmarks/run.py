"""Latency of sklir's artefacts against scikit-learn and onnxruntime on skl2onnx's model, in one run.

    python benchmarks/run.py            # the full run (a few minutes)
    python benchmarks/run.py --quick    # fewer repetitions, for a smoke test
    python benchmarks/run.py --no-scale # without the lowering-at-scale table (benchmarks/scale.py)
    python benchmarks/run.py --only digits  # the models whose name contains "digits"

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
    # a tree model: every lowering strategy is timed too
    trees: bool = False
    # rows the parity check leaves out: where scikit-learn's own methods disagree on a tie
    tied: Callable[[np.ndarray], np.ndarray] | None = None
    # a chain of models (sklir.frontend.chain.Chain): the "scikit-learn" engine runs its models one
    # after the other, skl2onnx has nothing to convert, and TFLite's own converter times the network
    chain: bool = False


def boundary_ties(model: Any, X: np.ndarray) -> np.ndarray:
    """Rows whose k-th and (k+1)-th nearest training distances are equal: which of the tied rows
    is a neighbour is up to the search (scikit-learn's ``kneighbors`` keeps the lower index, its
    one-thread ``predict_proba`` may keep the other), and the artefact keeps the lower index."""
    distances, _ = model.kneighbors(X, n_neighbors=model.n_neighbors + 1)
    return np.asarray(distances[:, -2] == distances[:, -1])


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
        *tree_cases(),
        *booster_cases(),
        *kernel_cases(),
        *chain_cases(),
    ]


def chain_cases() -> list[Case]:
    """The row of issue 8: iris PCA(2) then a Keras network, one artefact."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    from sklearn.datasets import load_iris
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklir.frontend.chain import Chain

    X, y = load_iris(return_X_y=True)
    pca = make_pipeline(StandardScaler(), PCA(2)).fit(X)
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(128, activation="relu"),
                            keras.layers.Dense(3, activation="softmax")])
    net.compile("adam", "sparse_categorical_crossentropy")
    net.fit(pca.transform(X).astype(np.float32), y, epochs=30, verbose=0)
    chain = Chain((pca, net), ("setosa", "versicolor", "virginica"))
    return [Case("iris StandardScaler + PCA(2) -> Keras Dense(128, relu) -> Dense(3, softmax)", chain, X,
                 chain=True)]


def kernel_cases() -> list[Case]:
    """The rows of issue 7: kernel machines, a network, neighbours and naive Bayes on digits."""
    from sklearn.datasets import load_digits
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    X, y = load_digits(return_X_y=True)
    svc = make_pipeline(StandardScaler(), SVC()).fit(X, y)
    mlp = MLPClassifier((64, 32), max_iter=500, random_state=0).fit(X, y)
    knn = KNeighborsClassifier(5).fit(X, y)
    nb = GaussianNB().fit(X, y)
    return [
        Case("StandardScaler + SVC(rbf), digits", svc, X),
        Case("MLPClassifier (64, 32), digits", mlp, X),
        Case("KNeighborsClassifier k=5, digits", knn, X, tied=lambda rows: boundary_ties(knn, rows)),
        Case("GaussianNB, digits", nb, X),
    ]


def tree_cases() -> list[Case]:
    """The tree rows of issue 6 (synthetic data of 20 features; scikit-learn bundles none of that size)."""
    from sklearn.datasets import make_classification, make_regression
    from sklearn.ensemble import (
        ExtraTreesRegressor,
        GradientBoostingRegressor,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )

    X_c, y_c = make_classification(n_samples=5000, n_features=20, n_informative=10, random_state=0)
    X_r, y_r = make_regression(n_samples=5000, n_features=20, n_informative=10, noise=10.0, random_state=0)
    forest = RandomForestClassifier(100, max_depth=10, random_state=0, n_jobs=-1).fit(X_c, y_c)
    boosted = GradientBoostingRegressor(n_estimators=200, max_depth=4, random_state=0).fit(X_r, y_r)
    extra = ExtraTreesRegressor(300, random_state=0, n_jobs=-1).fit(X_r[:2000], y_r[:2000])
    hist = HistGradientBoostingClassifier(max_iter=100, early_stopping=False, random_state=0).fit(X_c, y_c)
    return [
        Case("RandomForestClassifier 100 trees, depth 10, 20 features", forest, X_c, trees=True),
        Case("GradientBoostingRegressor 200 trees, depth 4", boosted, X_r, trees=True),
        Case("HistGradientBoostingClassifier 100 iterations", hist, X_c, trees=True),
        Case("ExtraTreesRegressor 300 trees, unlimited depth (2000 rows)", extra, X_r, trees=True),
    ]


def booster_cases() -> list[Case]:
    """The rows of issue 11: the gradient-boosting libraries' own models (those installed)."""
    from sklearn.datasets import make_classification, make_regression

    X_c, y_c = make_classification(n_samples=5000, n_features=20, n_informative=10, random_state=0)
    X_r, y_r = make_regression(n_samples=5000, n_features=20, n_informative=10, noise=10.0, random_state=0)
    cases = []
    try:
        import xgboost

        model = xgboost.XGBClassifier(n_estimators=200, max_depth=6, n_jobs=1, random_state=0).fit(X_c, y_c)
        cases.append(Case("XGBClassifier 200 trees, depth 6", model, X_c, trees=True))
    except ImportError:
        print("xgboost is not installed: its row is left out", file=sys.stderr)
    try:
        import lightgbm

        model = lightgbm.LGBMRegressor(n_estimators=500, num_leaves=31, n_jobs=1, verbose=-1, random_state=0)
        cases.append(Case("LGBMRegressor 500 trees, 31 leaves", model.fit(X_r, y_r), X_r, trees=True))
    except ImportError:
        print("lightgbm is not installed: its row is left out", file=sys.stderr)
    try:
        import catboost

        model = catboost.CatBoostClassifier(iterations=300, depth=6, thread_count=1, verbose=0, random_seed=0,
                                            allow_writing_files=False)
        cases.append(Case("CatBoostClassifier 300 iterations, depth 6", model.fit(X_c, y_c), X_c, trees=True))
    except ImportError:
        print("catboost is not installed: its row is left out", file=sys.stderr)
    return cases


# the gradient-boosting libraries whose rows get a table of their own
LIBRARIES = ("xgboost", "lightgbm", "catboost")


def library(model: Any) -> str:
    """The top-level package of a model's class: sklearn, xgboost, lightgbm, catboost (sklir for a chain)."""
    return type(model).__module__.split(".")[0]


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


def reference_onnx(model: Any, X: np.ndarray) -> bytes | None:
    """The ONNX model the model's own ecosystem makes: skl2onnx's for scikit-learn's models,
    onnxmltools' for XGBoost's and LightGBM's, CatBoost's own exporter for CatBoost's; None when
    the converter is not installed or cannot convert the model (said on stderr)."""
    kind = library(model)
    if kind == "catboost":
        with tempfile.TemporaryDirectory() as tmp:
            model.save_model(f"{tmp}/model.onnx", format="onnx")
            return Path(f"{tmp}/model.onnx").read_bytes()
    if kind in ("xgboost", "lightgbm"):
        try:
            import onnxmltools
            from onnxmltools.convert.common.data_types import FloatTensorType
        except ImportError:
            print("onnxmltools is not installed: pip install -e '.[bench]'", file=sys.stderr)
            return None
        convert = onnxmltools.convert_xgboost if kind == "xgboost" else onnxmltools.convert_lightgbm
        options = {"zipmap": False} if kind == "lightgbm" else {}
        onx = convert(model, initial_types=[("input", FloatTensorType([None, X.shape[1]]))], **options)
        return onx.SerializeToString()  # type: ignore[no-any-return]
    return skl2onnx_bytes(model, X)


def treelite_predictor(model: Any, workdir: Path) -> Any:
    """treelite's compiled model (through tl2cgen and gcc, one thread) of an XGBoost or LightGBM
    model, or None when treelite or tl2cgen is not installed or cannot take the model."""
    try:
        import tl2cgen
        import treelite
    except ImportError:
        return None
    kind = library(model)
    if kind == "xgboost":
        imported = treelite.frontend.from_xgboost(model.get_booster())
    elif kind == "lightgbm":
        imported = treelite.frontend.from_lightgbm(model.booster_)
    else:
        return None
    path = workdir / "treelite.so"
    tl2cgen.export_lib(imported, toolchain="gcc", libpath=str(path), params={"parallel_comp": 8})
    return tl2cgen.Predictor(str(path), nthread=1)


def skl2onnx_bytes(model: Any, X: np.ndarray) -> bytes | None:
    """skl2onnx's conversion with probabilities as a plain tensor (``zipmap`` off for the final
    classifier), or None when skl2onnx is not installed or cannot convert the model (said on stderr)."""
    try:
        from skl2onnx import to_onnx
    except ImportError:
        return None
    from sklearn.base import is_classifier

    final = model.steps[-1][1] if hasattr(model, "steps") else model
    options = {id(final): {"zipmap": False}} if is_classifier(final) else None
    try:
        onx = to_onnx(model, X[:1], options=options)
    except Exception as e:  # skl2onnx fails in its own ways (e.g. HistGradientBoosting with scikit-learn 1.9)
        print(f"skl2onnx cannot convert {type(model).__name__}: {type(e).__name__}: {e}", file=sys.stderr)
        return None
    return onx.SerializeToString()  # type: ignore[no-any-return]


Sizes = dict[str, int | None]


def engines(case: Case, workdir: Path) -> tuple[dict[str, Callable[[np.ndarray], Callable[[], Any]]], Sizes]:
    """Engine name -> factory that prepares it for a batch and returns the call to time; and the
    bytes of each artefact (sklir's .tflite and .onnx, skl2onnx's .onnx)."""
    import sklir
    from sklir.check import check_artefact, passed
    from sklir.errors import SklirError
    from sklir.runtimes.litert import prepared
    from sklir.runtimes.onnxrt import PreparedOnnx

    module = sklir.lower(case.model)
    tflite = Path(sklir.emit(module, "tflite", workdir / "model.tflite"))
    onnx = Path(sklir.emit(module, "onnx", workdir / "model.onnx"))
    checked = case.X if case.tied is None else case.X[~case.tied(case.X)]
    if len(checked) < len(case.X):
        print(f"{case.name}: {len(case.X) - len(checked)} of {len(case.X)} rows left out of the parity check "
              "(a tie at the k-th neighbour)", file=sys.stderr)
    for artefact in (tflite, onnx):
        # timing an artefact that gives other answers than scikit-learn would be meaningless
        if not passed(check_artefact(case.model, artefact, checked)):
            raise SystemExit(f"{case.name}: {artefact.suffix} fails parity with scikit-learn")
    reference = None if case.chain else reference_onnx(case.model, batch_of(case.X, 1))
    sizes: Sizes = {"sklir .tflite": tflite.stat().st_size, "sklir .onnx": onnx.stat().st_size,
                    "reference .onnx": None if reference is None else len(reference)}
    strategies = {}
    if case.trees:
        from sklir.passes.lower_trees import STRATEGIES

        for name in STRATEGIES:
            try:
                strategies[name] = sklir.emit(module, "tflite", tree_strategy=name)
            except SklirError as e:  # gemm refuses ensembles whose path matrix is too large
                print(f"{case.name}: {name}: {e}", file=sys.stderr)

    def sklearn(X: np.ndarray) -> Callable[[], Any]:
        X64 = X.astype(np.float64)
        if case.chain:  # scikit-learn's transform, then Keras's predict
            *steps, net = case.model.models
            return lambda: net.predict(_transformed(steps, X64), verbose=0)
        if library(case.model) == "catboost":  # its predict takes every core unless told
            return lambda: case.model.predict(X64, thread_count=1)
        return lambda: case.model.predict(X64)

    def ort_session(data: bytes) -> Callable[[np.ndarray], Callable[[], Any]]:
        session = PreparedOnnx(data)
        return lambda X: (lambda: session.raw(X))

    def litert_of(data: bytes | Path) -> Callable[[np.ndarray], Callable[[], Any]]:
        def litert(X: np.ndarray) -> Callable[[], Any]:
            model = prepared(data, len(X), num_threads=1)
            return lambda: model(X, decode=False)
        return litert

    table: dict[str, Callable[[np.ndarray], Callable[[], Any]]] = {ENGINES[0]: sklearn}
    if reference is not None:
        table[ENGINES[1]] = ort_session(reference)
    table[ENGINES[2]] = litert_of(tflite)
    table[ENGINES[3]] = ort_session(onnx.read_bytes())
    for name, data in strategies.items():
        table[f"tflite {name}"] = litert_of(data)
    compiled = treelite_predictor(case.model, workdir)
    if compiled is not None:
        import tl2cgen

        table[TREELITE] = lambda X: (lambda rows: (lambda: compiled.predict(rows)))(tl2cgen.DMatrix(X))
    if case.chain:
        # TFLite's own converter on the network alone, fed the preprocessed rows
        import tensorflow as tf

        *steps, net = case.model.models
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):  # the converter prints its SavedModel's signature
            converted = tf.lite.TFLiteConverter.from_keras_model(net).convert()
        alone = litert_of(converted)
        table[KERAS_ALONE] = lambda X: alone(_transformed(steps, X.astype(np.float64)).astype(np.float32))
        sizes[KERAS_ALONE] = len(converted)
    return table, sizes


KERAS_ALONE = "TFLite converter (the network alone)"
TREELITE = "treelite (tl2cgen, gcc)"


def _transformed(steps: list[Any], X: np.ndarray) -> np.ndarray:
    for step in steps:
        X = step.transform(X)
    return np.asarray(X)


def chain_report(results: list[Result]) -> str:
    """The chain rows: the two models run as a user runs them, TFLite's converter on the network
    alone (the preprocessing not included), and sklir's one artefact of both."""
    skl, tfl, sko = ENGINES[0], ENGINES[2], ENGINES[3]
    header = ["model", "batch", "scikit-learn transform + Keras predict", KERAS_ALONE, "sklir .tflite (LiteRT)",
              "sklir .onnx (onnxruntime)", "tflite / (transform + predict)", "tflite / converter's network alone"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, batch, t, _, _, _ in results:
        if KERAS_ALONE not in t:
            continue
        cells = [name, str(batch), fmt_time(t[skl]), fmt_time(t[KERAS_ALONE]), fmt_time(t[tfl]), fmt_time(t[sko]),
                 fmt_ratio(t[tfl], t[skl]), fmt_ratio(t[tfl], t[KERAS_ALONE])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fmt_time(seconds: float | None) -> str:
    """Microseconds below 1 ms, milliseconds above."""
    if seconds is None:
        return "n/a"
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def fmt_ratio(num: float | None, den: float | None) -> str:
    """``num / den`` as ``0.531x``, or n/a."""
    return "n/a" if num is None or den is None else f"{num / den:.3g}x"


# (case name, batch, engine -> median seconds, the strategy auto picked, sizes, the model's library)
Result = tuple[str, int, dict[str, float | None], str | None, Sizes, str]


def measure(quick: bool, only: str = "") -> list[Result]:
    """Every case, batch and engine: (case name, batch, engine -> median seconds, the tree strategy
    ``auto`` picked or None, the artefacts' sizes)."""
    from threadpoolctl import threadpool_limits

    calls = {1: 300, 1024: 50} if quick else {1: 10000, 1024: 1000}
    results = []
    with threadpool_limits(limits=1), tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(c for c in build_cases() if only.lower() in c.name.lower()):
            workdir = Path(tmp) / str(i)
            workdir.mkdir()
            table, sizes = engines(case, workdir)
            picked = None
            if case.trees:
                from sklir.passes.lower_trees import choose

                picked = choose(_ensemble(case.model))
            for batch in BATCHES:
                X = batch_of(case.X, batch)
                times: dict[str, float | None] = dict.fromkeys(ENGINES)
                for name, factory in table.items():
                    times[name] = median_seconds(factory(X), calls[batch], warmup=max(5, calls[batch] // 10))
                results.append((case.name, batch, times, picked, sizes, library(case.model)))
    return results


def _ensemble(model: Any) -> Any:
    import sklir
    from sklir.ir.dialects.ml import TreeEnsemble

    return next(n.op for n in sklir.lower(model).nodes if isinstance(n.op, TreeEnsemble))


def strategy_report(results: list[Result]) -> str:
    """The tree rows again: every strategy's .tflite under LiteRT, and the one auto picks."""
    from sklir.passes.lower_trees import STRATEGIES

    header = ["model", "batch", "auto picks", *(f"tflite {s}" for s in STRATEGIES), "onnxruntime (the reference ONNX)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, batch, t, picked, _, _ in results:
        if picked is None:
            continue
        cells = [name, str(batch), picked, *(fmt_time(t.get(f"tflite {s}")) for s in STRATEGIES),
                 fmt_time(t[ENGINES[1]])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(results: list[Result]) -> str:
    """The results as a markdown table with the ratios of the goal."""
    tfl, ort, skl, sko = ENGINES[2], ENGINES[1], ENGINES[0], ENGINES[3]
    header = ["model", "batch", "scikit-learn", "onnxruntime (skl2onnx)", "sklir .tflite (LiteRT)",
              "sklir .onnx (onnxruntime)", "tflite / onnxruntime", "tflite / scikit-learn",
              "sklir .onnx / onnxruntime", "sklir .onnx / scikit-learn"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, batch, t, _, _, kind in results:
        if kind in LIBRARIES:  # in library_report
            continue
        cells = [name, str(batch), fmt_time(t[skl]), fmt_time(t[ort]), fmt_time(t[tfl]), fmt_time(t[sko]),
                 fmt_ratio(t[tfl], t[ort]), fmt_ratio(t[tfl], t[skl]), fmt_ratio(t[sko], t[ort]),
                 fmt_ratio(t[sko], t[skl])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def library_report(results: list[Result]) -> str:
    """The gradient-boosting libraries' rows: their own ``predict``, onnxruntime on the ONNX model
    their ecosystem makes, treelite's compiled model, and sklir's artefacts."""
    tfl, ort, own, sko = ENGINES[2], ENGINES[1], ENGINES[0], ENGINES[3]
    header = ["model", "batch", "library's predict", "onnxruntime (onnxmltools / CatBoost's exporter)", TREELITE,
              "sklir .tflite (LiteRT)", "sklir .onnx (onnxruntime)", "tflite / onnxruntime", "tflite / predict",
              "tflite / treelite"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, batch, t, _, _, kind in results:
        if kind not in LIBRARIES:
            continue
        cells = [name, str(batch), fmt_time(t[own]), fmt_time(t[ort]), fmt_time(t.get(TREELITE)), fmt_time(t[tfl]),
                 fmt_time(t[sko]), fmt_ratio(t[tfl], t[ort]), fmt_ratio(t[tfl], t[own]),
                 fmt_ratio(t[tfl], t.get(TREELITE))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def size_report(results: list[Result]) -> str:
    """Each model's artefact sizes, once per model."""
    header = ["model", "sklir .tflite", "sklir .onnx", "reference .onnx", ".tflite / reference .onnx"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    seen = set()
    for name, _, _, _, sizes, _ in results:
        if name in seen:
            continue
        seen.add(name)
        tfl, ours, theirs = sizes["sklir .tflite"], sizes["sklir .onnx"], sizes["reference .onnx"]
        cells = [name, *(fmt_bytes(v) for v in (tfl, ours, theirs)),
                 fmt_ratio(None if tfl is None else float(tfl), None if theirs is None else float(theirs))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fmt_bytes(size: int | None) -> str:
    """KiB below 1 MiB, MiB above."""
    if size is None:
        return "n/a"
    return f"{size / 1024:.1f} KiB" if size < 2 ** 20 else f"{size / 2 ** 20:.2f} MiB"


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
    parser.add_argument("--no-scale", dest="scale", action="store_false",
                        help="skip the lowering-at-scale table (benchmarks/scale.py)")
    parser.add_argument("--scale-trees", type=int, default=500,
                        help="trees of the first forest of the scale table (the second has twice)")
    parser.add_argument("--only", default="", help="time only the models whose name contains this text")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = measure(args.quick, args.only)
    print(environment())
    print(f"median time per call{' (--quick)' if args.quick else ''}; measured in "
          f"{time.perf_counter() - started:.0f} s\n")
    print(report(results))
    print("\nTree models, each lowering strategy (LiteRT, one thread; n/a: the strategy refused the model):\n")
    print(strategy_report(results))
    print("\nThe gradient-boosting libraries (one thread each):\n")
    print(library_report(results))
    print("\nChains of a scikit-learn step and a Keras network (LiteRT and onnxruntime, one thread):\n")
    print(chain_report(results))
    print("\nArtefact sizes:\n")
    print(size_report(results))
    if args.scale:
        from scale import measure as scale_measure

        print(f"\nLowering at scale (each step in a fresh process; --scale-trees {args.scale_trees}):\n")
        print(scale_measure(args.scale_trees))
    try:
        import skl2onnx  # noqa: F401
    except ImportError:
        print("\nskl2onnx is not installed: pip install -e '.[bench]' for the onnxruntime column", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The support matrix: every class of ``sklearn.utils.all_estimators()``, fitted with sensible
parameters on a bundled dataset, lowered to TFLite and ONNX, run under LiteRT and onnxruntime and
compared with scikit-learn's own methods. Writes ``docs/supported.md``.

    python tools/support_matrix.py                  # every class; writes docs/supported.md
    python tools/support_matrix.py --only SVC,TSNE  # those rows, printed (nothing written)

Per class and backend: ``pass`` (every output of the contract: labels identical, floats within
``RTOL`` of their scale), ``fail`` (the largest error), ``blocked`` (sklir refuses it: the reason),
or ``n/a`` (no method applies to new data). A meta-estimator wraps a supported base (logistic
regression, ridge). Classes fit on iris with a little noise (classifiers, transformers, clusterers,
outlier detectors; non-negative features), regressors on diabetes, multi-output models on two targets.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "supported.md"
# labels identical; floats within this fraction of the output's scale, as `sklir check` and the
# parity tests use it (the few classes that need more are in TOLERANCES, with the tests' reasons)
RTOL = 1e-5
# class -> (tolerance, why): the looser bounds the families' tests state
TOLERANCES: dict[str, tuple[float, str]] = {
    "GaussianProcessClassifier": (1e-3, "the probit approximation sums terms with coefficients in the thousands"),
}
BACKENDS = ("tflite", "onnx")
# skl2onnx's count on scikit-learn 1.9, the reference the issue gives
SKL2ONNX = (139, 208)


@dataclass(frozen=True)
class Row:
    name: str
    module: str
    tflite: str
    onnx: str
    note: str

    def cells(self) -> str:
        return f"| {self.name} | {self.module} | {self.tflite} | {self.onnx} | {self.note} |"


def _bases(cls: type) -> tuple[Any, Any]:
    from sklearn.base import ClassifierMixin
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    if issubclass(cls, ClassifierMixin):
        return LogisticRegression(max_iter=1000), DecisionTreeClassifier(max_depth=3, random_state=0)
    return Ridge(), DecisionTreeRegressor(max_depth=3, random_state=0)


def _special(name: str) -> Callable[[], Any] | None:
    """Parameters for the classes whose defaults do not fit or do not lower."""
    import sklearn.decomposition as dec
    import sklearn.random_projection as rp
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import StandardScaler

    table: dict[str, Callable[[], Any]] = {
        "ColumnTransformer": lambda: ColumnTransformer([("s", StandardScaler(), [0, 1]), ("p", PCA(1), [2, 3])]),
        "FeatureUnion": lambda: FeatureUnion([("s", StandardScaler()), ("p", PCA(2))]),
        "Pipeline": lambda: Pipeline([("s", StandardScaler()), ("m", LogisticRegression(max_iter=1000))]),
        "GridSearchCV": lambda: _search("GridSearchCV", {"C": [0.1, 1.0]}),
        "RandomizedSearchCV": lambda: _search("RandomizedSearchCV", {"C": [0.1, 1.0]}),
        "HalvingGridSearchCV": lambda: _search("HalvingGridSearchCV", {"C": [0.1, 1.0]}),
        "HalvingRandomSearchCV": lambda: _search("HalvingRandomSearchCV", {"C": [0.1, 1.0]}),
        "GaussianRandomProjection": lambda: rp.GaussianRandomProjection(2, random_state=0),
        "SparseRandomProjection": lambda: rp.SparseRandomProjection(2, random_state=0),
        "DictionaryLearning": lambda: dec.DictionaryLearning(3, transform_algorithm="threshold", random_state=0),
        "MiniBatchDictionaryLearning": lambda: dec.MiniBatchDictionaryLearning(
            3, transform_algorithm="threshold", random_state=0),
        "SparseCoder": lambda: dec.SparseCoder(np.random.default_rng(0).normal(size=(3, 4)),
                                               transform_algorithm="threshold"),
        "TransformedTargetRegressor": lambda: _with("TransformedTargetRegressor", regressor=Ridge(),
                                                    func=np.log1p, inverse_func=np.expm1),
        "MLPClassifier": lambda: _with("MLPClassifier", max_iter=300, random_state=0),
        "MLPRegressor": lambda: _with("MLPRegressor", max_iter=300, random_state=0),
        "KernelPCA": lambda: _with("KernelPCA", n_components=2, kernel="rbf"),
        "SVC": lambda: _with("SVC", probability=True, random_state=0),
        "CategoricalNB": lambda: _with("CategoricalNB", min_categories=10),
        # the defaults where the generic rule would pass a base: AdaBoost lowers over trees, RANSAC
        # needs min_samples for another base
        "AdaBoostClassifier": lambda: _with("AdaBoostClassifier", random_state=0),
        "AdaBoostRegressor": lambda: _with("AdaBoostRegressor", random_state=0),
        "RANSACRegressor": lambda: _with("RANSACRegressor", random_state=0),
        "FrozenEstimator": lambda: _with("FrozenEstimator", estimator=LogisticRegression(max_iter=1000).fit(
            *_iris())),
        "LocalOutlierFactor": lambda: _with("LocalOutlierFactor", novelty=True),
        "Nystroem": lambda: _with("Nystroem", n_components=20, random_state=0),
        "OneClassSVM": lambda: _with("OneClassSVM", nu=0.05),
    }
    return table.get(name)


def _iris() -> tuple[np.ndarray, np.ndarray]:
    """Iris with a little noise (its measurements are on a 0.1 grid, so distances between rows tie
    and reach a radius exactly, and neighbours' order is a coin toss), in float32's numbers."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = X + np.random.default_rng(0).uniform(0.0, 0.01, X.shape)
    return X.astype(np.float32).astype(np.float64), y


def _with(name: str, **params: Any) -> Any:
    from sklearn.utils import all_estimators

    return dict(all_estimators())[name](**params)


def _search(name: str, grid: dict[str, list[float]]) -> Any:
    from sklearn.linear_model import LogisticRegression

    key = "param_grid" if "Grid" in name else "param_distributions"
    extra = {"n_iter": 2} if name == "RandomizedSearchCV" else {}
    return _with(name, estimator=LogisticRegression(max_iter=1000), **{key: grid}, cv=3, **extra)


def instance(name: str, cls: type) -> Any:
    """``cls`` with sensible parameters: a supported base for a meta-estimator's required ones."""
    import inspect

    special = _special(name)
    if special is not None:
        return special()
    base, other = _bases(cls)
    params: dict[str, Any] = {}
    for pname, param in inspect.signature(cls).parameters.items():
        if param.default not in (inspect.Parameter.empty, None):
            continue
        if pname == "estimator":
            params[pname] = base
        elif pname == "estimators":
            params[pname] = [("linear", base), ("tree", other)]
    model = cls(**params)
    names = model.get_params()
    for pname, value in (("random_state", 0), ("max_iter", 500)):
        if pname in names and (pname == "random_state" or names[pname] in (100, 200)):
            model.set_params(**{pname: value})
    return model


def _two_targets() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    return X, np.column_stack([y, X[:, 0] * 100]), X


def _two_labels() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, y = _iris()
    return X, np.column_stack([y == 0, y == 1]), X


def _binary() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, y = _iris()
    return X, y == 1, X


def _diabetes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    return X, y, X


# class name -> (X to fit, y, X to score) where iris (or diabetes for a regressor) does not fit
DATA: dict[str, Callable[[], tuple[np.ndarray, Any, np.ndarray]]] = {
    "IsotonicRegression": lambda: (_iris()[0][:, :1], _iris()[0][:, 2], _iris()[0][:, :1]),
    "CategoricalNB": lambda: (np.floor(_iris()[0]), _iris()[1], np.floor(_iris()[0])),
    "KernelCenterer": lambda: (_iris()[0] @ _iris()[0].T, _iris()[1], _iris()[0][:20] @ _iris()[0].T),
    **dict.fromkeys(("MultiOutputClassifier", "ClassifierChain"), _two_labels),
    **dict.fromkeys(("FixedThresholdClassifier", "TunedThresholdClassifierCV"), _binary),
    **dict.fromkeys(("MultiOutputRegressor", "RegressorChain", "PLSSVD", "CCA", "PLSCanonical", "MultiTaskLasso",
                     "MultiTaskElasticNet", "MultiTaskLassoCV", "MultiTaskElasticNetCV"), _two_targets),
    "PLSRegression": _diabetes,
}


def data_for(name: str, model: Any) -> tuple[np.ndarray, Any, np.ndarray]:
    """(X to fit, y, X to score): :data:`DATA`'s, else diabetes for a regressor and iris for the rest."""
    from sklearn.base import is_regressor

    if name in DATA:
        return DATA[name]()
    if is_regressor(model):
        return _diabetes()
    X, y = _iris()
    return X, y, X


def _status(model: Any, X: np.ndarray, module: Any, backend: str, rtol: float) -> str:
    import sklir
    from sklir.check import compare_outputs, expected_outputs, passed
    from sklir.runtimes import run

    X32 = np.asarray(X, np.float32)
    try:
        want = expected_outputs(model, X32.astype(np.float64))
        got = run(sklir.emit(module, backend), backend, X32)
    except Exception as e:  # a backend's failure is the row's finding, not the script's end
        return f"fail: {type(e).__name__}: {str(e).strip().splitlines()[0][:120] if str(e).strip() else ''}"
    rows = compare_outputs(got, want, rtol)
    if passed(rows):
        return "pass"
    bad = [r for r in rows if not r.ok]
    parts = [f"{r.name} " + (f"labels {r.agreement:.1%} identical" if r.agreement is not None else
                             f"max error {r.max_rel:.2g} of scale" if r.max_rel is not None else r.note)
             for r in bad]
    return "fail: " + ", ".join(parts)


def _float32(a: Any) -> Any:
    return np.asarray(a, np.float32).astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a


def row(name: str, cls: type) -> Row:
    """The matrix row of one class."""
    import sklir
    from sklir.errors import SklirError
    from sklir.frontend.not_lowered import reason
    from sklir.frontend.registry import public_name

    public = public_name(cls)
    module = public.rsplit(".", 1)[0]
    known = reason(public)
    if known is not None:
        status = "n/a" if known[0] == "not applicable" else "blocked"
        return Row(name, module, status, status, known[1])
    try:
        model = instance(name, cls)
        # the artefact reads float32: fit on numbers float32 holds, so scikit-learn scores the same ones
        X, y, X_score = (_float32(a) for a in data_for(name, model))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
    except Exception as e:
        return Row(name, module, "fail", "fail", f"fitting it here failed: {type(e).__name__}: {e}"[:160])
    try:
        module_ir = sklir.lower(model)
    except SklirError as e:
        return Row(name, module, "blocked", "blocked", str(e))
    statuses = []
    for backend in BACKENDS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            statuses.append(_status(model, X_score, module_ir, backend, TOLERANCES.get(name, (RTOL, ""))[0]))
    notes = "; ".join(f"{b}: {s[6:]}" for b, s in zip(BACKENDS, statuses, strict=True) if s.startswith("fail"))
    if name in TOLERANCES:
        notes = "; ".join(n for n in (f"within {TOLERANCES[name][0]:g} of scale: {TOLERANCES[name][1]}", notes) if n)
    tflite, onnx = (s.split(":")[0] for s in statuses)
    return Row(name, module, tflite, onnx, notes)


def classes() -> list[tuple[str, type]]:
    """``all_estimators()`` with the halving searches' experimental switch on (sklir's converters
    turn it on when they load, so every run lists the same classes)."""
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.utils import all_estimators

    return list(all_estimators())


def rows(only: set[str] | None = None) -> list[Row]:
    out = []
    for name, cls in classes():
        if only is not None and name not in only:
            continue
        out.append(row(name, cls))
    return out


def counts(table: list[Row]) -> dict[str, int]:
    return {"classes": len(table), "tflite": sum(r.tflite == "pass" for r in table),
            "onnx": sum(r.onnx == "pass" for r in table), "n/a": sum(r.tflite == "n/a" for r in table),
            "blocked": sum(r.tflite == "blocked" for r in table)}


def summary(table: list[Row]) -> str:
    """The sentence the README and the document share."""
    import sklearn

    c = counts(table)
    return (f"Of the {c['classes']} classes of scikit-learn {sklearn.__version__}'s `all_estimators()` (the halving "
            f"searches' experimental switch on), sklir lowers "
            f"{c['tflite']} with parity (labels identical, floats within {RTOL:g} of scale) under LiteRT and "
            f"{c['onnx']} under onnxruntime; {c['n/a']} have no method "
            f"for new data and {c['blocked']} are blocked, each with its reason (skl2onnx converts "
            f"{SKL2ONNX[0]} of {SKL2ONNX[1]}, to ONNX only).")


def document(table: list[Row]) -> str:
    lines = [
        "# Support matrix",
        "",
        "Generated by `python tools/support_matrix.py`; do not edit by hand. Each class is fitted with sensible",
        "parameters on a bundled dataset (a meta-estimator wraps logistic regression or ridge), lowered, run",
        "under LiteRT (`.tflite`) and onnxruntime (`.onnx`), and compared with scikit-learn's own methods:",
        f"`pass` means labels identical and floats within {RTOL:g} of their scale for every output of the",
        "contract. `n/a`: no method applies to new data. `blocked`: sklir refuses it, for the reason given.",
        "",
        summary(table),
        "",
        "| class | module | TFLite | ONNX | notes |",
        "|---|---|---|---|---|",
        *(r.cells() for r in table),
        "",
    ]
    return "\n".join(lines)


def parse(text: str) -> list[Row]:
    """The rows of a document :func:`document` wrote."""
    out = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] not in ("class", "---"):
            out.append(Row(*cells))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated class names: print their rows, write nothing")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    only = set(args.only.split(",")) if args.only else None
    table = rows(only)
    if only is not None:
        print("\n".join(r.cells() for r in table))
        return 0
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(document(table), encoding="utf-8")
    print(summary(table))
    print(f"wrote {DOC.relative_to(ROOT)} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Parity of an emitted artefact against scikit-learn (or the IR interpreter), output by output.

The contract (what each output must equal) lives here, in :func:`expected_outputs`; the test
harness and ``python -m sklir check`` both use it. Floats are compared relative to the output's own
scale, ``|got - want| <= rtol * max(1, max|want|)``, so probabilities in [0, 1] get an absolute
bound and large regression targets a relative one; labels must be identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sklir.errors import InputFileError, SklirError
from sklir.ir.core import Module

DEFAULT_RTOL = 1e-5
# rows and seed of the data check generates when it is given none
GENERATED_ROWS = 256
GENERATED_SEED = 0

# artefact suffix -> runtime kind (sklir.runtimes.RUNNERS)
ARTEFACT_KINDS: dict[str, str] = {".tflite": "tflite", ".onnx": "onnx", ".h": "c"}


# estimator kind -> {output name: the scikit-learn method it must equal}
CONTRACT: dict[str, dict[str, str]] = {
    "classifier": {"label": "predict", "probabilities": "predict_proba", "decision": "decision_function"},
    "regressor": {"prediction": "predict"},
    "transformer": {"transform": "transform"},
    # outlier detectors: predict gives -1 (outlier) or 1, score_samples the raw score
    "outlier": {"label": "predict", "decision": "decision_function", "score": "score_samples"},
    # clusterers: predict gives the cluster of each row; transform where the class has it
    "clusterer": {"label": "predict", "transform": "transform"},
    # density estimators (mixtures): the component of each row, its probabilities, score_samples
    "density": {"label": "predict", "probabilities": "predict_proba", "score": "score_samples"},
    # covariance estimators: the squared Mahalanobis distance to the fitted location
    "covariance": {"score": "mahalanobis"},
    # rankers (XGBRanker, LGBMRanker): predict gives each row's relevance score
    "ranker": {"prediction": "predict"},
}


# output name -> what an app developer reads about it in the artefact's descriptions
OUTPUT_DESCRIPTIONS: dict[str, str] = {
    "label": "the predicted class of each row, as predict returns it (one of the model's classes; "
             "a model of several outputs gives one column per output)",
    "probabilities": "the probability of each class for each row, as predict_proba returns it; "
                     "column j belongs to the j-th class (several outputs: each output's classes in turn)",
    "decision": "the decision function of each row, as decision_function returns it; "
                "with one column per class, column j belongs to the j-th class",
    "prediction": "the prediction for each row, as predict returns it",
    "transform": "the transformed features of each row, as transform returns them",
    "score": "the anomaly score of each row, as score_samples returns it (lower is more abnormal); for a "
             "covariance estimator the squared Mahalanobis distance, as mahalanobis returns it "
             "(higher is more abnormal)",
}

# every output name in the contract's order: the order of outputs in every artefact and message
OUTPUT_ORDER: tuple[str, ...] = tuple(dict.fromkeys(name for methods in CONTRACT.values() for name in methods))


def output_rank(name: str) -> tuple[int, str]:
    """Sort key putting output names in :data:`OUTPUT_ORDER` (unknown names last, by name)."""
    return (OUTPUT_ORDER.index(name) if name in OUTPUT_ORDER else len(OUTPUT_ORDER), name)


# the rankers, by module and class: no scikit-learn mixin or tag says what they are
RANKERS = ("xgboost.sklearn.XGBRanker", "lightgbm.sklearn.LGBMRanker")
# the libraries' bare boosters, by module and class: no estimators, their contract is their own
# prediction method's output (XGBoost's Booster predicts arrays with inplace_predict)
BOOSTERS: dict[str, dict[str, str]] = {"xgboost.core.Booster": {"prediction": "inplace_predict"},
                                       "lightgbm.basic.Booster": {"prediction": "predict"}}


def class_path(obj: Any) -> str:
    """``module.Class`` of an object or a class: the key of :data:`RANKERS` and :data:`BOOSTERS`."""
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__name__}"


def estimator_kind(estimator: Any) -> str | None:
    """``classifier``, ``regressor``, ``ranker``, ``outlier``, ``clusterer``, ``density`` (a mixture, or an
    estimator with ``score_samples`` and none of the others: KernelDensity), ``transformer`` or
    ``covariance`` (an estimator with ``mahalanobis`` and none of the others) for an estimator or
    an estimator class (a clusterer that also transforms, KMeans, is a clusterer)."""
    from sklearn.base import (
        ClassifierMixin,
        ClusterMixin,
        DensityMixin,
        OutlierMixin,
        RegressorMixin,
        TransformerMixin,
        is_classifier,
        is_clusterer,
        is_outlier_detector,
        is_regressor,
    )

    if class_path(estimator) in RANKERS:
        return "ranker"
    if isinstance(estimator, type):
        mixins = {"classifier": ClassifierMixin, "regressor": RegressorMixin, "outlier": OutlierMixin,
                  "clusterer": ClusterMixin, "density": DensityMixin, "transformer": TransformerMixin}
        kind = next((kind for kind, mixin in mixins.items() if issubclass(estimator, mixin)), None)
        return kind or _by_methods(estimator)
    if is_classifier(estimator):
        return "classifier"
    if is_regressor(estimator):
        return "regressor"
    if is_outlier_detector(estimator):
        return "outlier"
    if is_clusterer(estimator):
        return "clusterer"
    # tags that say nothing: scikeras's wrappers put BaseEstimator ahead of their mixin, so their
    # tags (and a Pipeline's that ends in one) carry no estimator type
    if isinstance(estimator, ClassifierMixin):
        return "classifier"
    if isinstance(estimator, RegressorMixin):
        return "regressor"
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps and steps[-1][1] not in (None, "passthrough"):
        last = estimator_kind(steps[-1][1])
        if last in ("classifier", "regressor"):
            return last
    if isinstance(estimator, DensityMixin):
        return "density"
    if hasattr(estimator, "transform"):
        return "transformer"
    return _by_methods(estimator)


def _by_methods(estimator: Any) -> str | None:
    # no mixin says it: KernelDensity has score_samples, the covariance estimators mahalanobis. A
    # class counts only a method of its own: a Pipeline's or a search's score_samples is a
    # descriptor that exists when the final step has one
    import inspect
    import types

    if isinstance(estimator, type):
        own = isinstance(inspect.getattr_static(estimator, "score_samples", None), types.FunctionType)
    else:
        own = hasattr(estimator, "score_samples")
    if own:
        return "density"
    return "covariance" if hasattr(estimator, "mahalanobis") else None


def contract_outputs(estimator: Any) -> dict[str, str]:
    """Output name -> scikit-learn method, for the methods ``estimator`` (or its class) has."""
    if class_path(estimator) in BOOSTERS:
        return dict(BOOSTERS[class_path(estimator)])
    kind = estimator_kind(estimator)
    if kind is None:
        return {}
    # hasattr, not the table alone: scikit-learn hides e.g. predict_proba behind available_if
    return {name: method for name, method in CONTRACT[kind].items() if hasattr(estimator, method)}


def expected_outputs(estimator: Any, X: np.ndarray) -> dict[str, np.ndarray]:
    """What scikit-learn returns for each output name of the contract (for a chain of models, what
    running them one after the other gives: see :func:`sklir.frontend.chain.reference_outputs`).

    Classifiers: ``label`` (predict), ``probabilities`` (predict_proba) and ``decision``
    (decision_function) where the estimator has them; regressors: ``prediction``; transformers:
    ``transform``.
    """
    from sklir.frontend.chain import Chain, resolve
    from sklir.frontend.chain import reference_outputs as chain_outputs

    estimator = resolve(estimator)
    if isinstance(estimator, Chain):
        return chain_outputs(estimator, X)
    methods = contract_outputs(estimator)
    if not methods:
        raise InputFileError(f"no output contract for {type(estimator).__name__}: "
                             "it is neither a classifier, a regressor nor a transformer")
    rows = _named_columns(estimator, X)
    return {name: _dense(getattr(estimator, method)(rows)) for name, method in methods.items()}


def _named_columns(estimator: Any, X: np.ndarray) -> Any:
    """``X`` as a DataFrame with the fitted column names when the estimator was fitted on one
    (a ColumnTransformer that selects columns by name needs them); else ``X`` itself."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None or len(names) != X.shape[1] or hasattr(X, "columns"):
        return X  # an array without names to give, or a DataFrame already
    try:
        import pandas as pd
    except ImportError:
        return X
    return pd.DataFrame(X, columns=list(names))


def _dense(result: Any) -> np.ndarray:
    """A method's result as an array: a sparse matrix (RandomTreesEmbedding's transform) densified,
    since artefacts return dense tensors, and a multi-output classifier's list of per-output
    probability matrices side by side, as its artefact returns them."""
    if isinstance(result, list):
        return np.hstack(result)
    return np.asarray(result.toarray() if hasattr(result, "toarray") else result)


def reference_outputs(model: Any, X: np.ndarray) -> dict[str, np.ndarray]:
    """The outputs an artefact must reproduce: scikit-learn's, or the interpreter's for an IR module."""
    if isinstance(model, Module):
        from sklir.ir.interpreter import interpret

        return interpret(model, X)
    return expected_outputs(model, X)


def generated_data(width: int, rows: int = GENERATED_ROWS, seed: int = GENERATED_SEED) -> np.ndarray:
    """Standard-normal data of the model's width, from a fixed seed (float32-exact float64)."""
    X = np.random.default_rng(seed).standard_normal((rows, width))
    return X.astype(np.float32).astype(np.float64)


@dataclass(frozen=True)
class OutputParity:
    """How one output of the artefact compares with the reference."""

    name: str
    shape: tuple[int, ...] | None
    ok: bool
    max_abs: float | None = None
    # max |got - want| / max(1, max|want|): the quantity the tolerance bounds
    max_rel: float | None = None
    # fraction of identical labels, for label outputs
    agreement: float | None = None
    note: str = ""


def _is_label(name: str, want: np.ndarray) -> bool:
    return name == "label" or want.dtype.kind not in "fc"


def compare_output(name: str, got: np.ndarray | None, want: np.ndarray | None, rtol: float) -> OutputParity:
    """Compare one output; ``None`` on either side means the output is missing there."""
    if want is None:
        return OutputParity(name, None if got is None else got.shape, False, note="not in the reference's outputs")
    if got is None:
        return OutputParity(name, None, False, note="missing from the artefact")
    got = np.asarray(got)
    if got.shape != want.shape:
        return OutputParity(name, got.shape, False, note=f"shape differs from the reference's {list(want.shape)}")
    if _is_label(name, want):
        same = got.astype(object) == want.astype(object) if want.dtype.kind in "OUS" else got == want
        agreement = float(np.mean(same)) if same.size else 1.0
        return OutputParity(name, got.shape, bool(np.all(same)), agreement=agreement)
    g, w = got.astype(np.float64), want.astype(np.float64)
    with np.errstate(invalid="ignore"):
        # equal values (infinities included) and NaN on both sides agree exactly
        same = (g == w) | (np.isnan(g) & np.isnan(w))
        diff = np.where(same, 0.0, np.abs(g - w))
    diff = np.where(np.isnan(diff), np.inf, diff)  # NaN on one side only is an error
    max_abs = float(diff.max()) if diff.size else 0.0
    # the scale comes from the finite values: an infinity must match exactly, not widen the bound
    finite = np.abs(w[np.isfinite(w)])
    scale = max(1.0, float(finite.max())) if finite.size else 1.0
    max_rel = max_abs / scale
    return OutputParity(name, got.shape, max_rel <= rtol, max_abs=max_abs, max_rel=max_rel)


def compare_outputs(got: Mapping[str, np.ndarray], want: Mapping[str, np.ndarray],
                    rtol: float = DEFAULT_RTOL) -> list[OutputParity]:
    """One row per output of either side, reference order first."""
    names = list(want) + [n for n in got if n not in want]
    return [compare_output(n, got.get(n), want.get(n), rtol) for n in names]


def artefact_kind(path: str | Path) -> str:
    """The runtime kind of an artefact: a SavedModel directory, else from the file's suffix."""
    path = Path(path)
    if (path / "saved_model.pb").is_file():
        return "savedmodel"
    kind = ARTEFACT_KINDS.get(path.suffix.lower())
    if kind is None:
        runs = ", ".join(ARTEFACT_KINDS)
        raise InputFileError(f"{path}: cannot run this artefact (check runs {runs} files and SavedModel directories)")
    from sklir.loading import require_file

    require_file(path)  # the same words as for a model: no such file, a symlink loop, ...
    if kind == "tflite" and _for_micro(path):
        return "micro"
    return kind


def _for_micro(path: Path) -> bool:
    """Whether a .tflite was emitted for TensorFlow Lite Micro and its interpreter is installed:
    check then runs it there, where it will run."""
    import importlib.util

    from sklir.runtimes import artefact_metadata

    meta = artefact_metadata(path, "tflite") or {}
    return meta.get("profile") == "micro" and importlib.util.find_spec("tflite_micro") is not None


def check_artefact(model: Any, artefact: str | Path, X: Any, rtol: float = DEFAULT_RTOL,
                   data_name: str | Path | None = None) -> list[OutputParity]:
    """Run ``artefact`` under its runtime and the reference on ``X``; compare every output.

    ``X`` is an array, or a pandas DataFrame for a model fitted on one with string columns (the
    artefact's metadata lists the inputs its columns feed). Numbers are rounded to float32
    first, so the reference sees exactly the numbers the artefact sees. Data the reference
    refuses (scikit-learn's NaN and infinity checks) is an :class:`~sklir.errors.InputFileError`
    naming ``data_name`` and the first offending value.
    """
    from sklir.runtimes import artefact_metadata, dataframe_batch, float32_numbers, run

    kind = artefact_kind(artefact)
    batch: Any
    if hasattr(X, "columns"):
        inputs: Any = (artefact_metadata(artefact, kind) or {}).get("inputs")
        try:  # the artefact's inputs first: they name a column of the wrong kind
            batch = dataframe_batch(inputs, X) if inputs else X.to_numpy(np.float32)
        except (SklirError, ValueError) as e:
            raise InputFileError(f"{data_name or 'the data'}: {e}") from None
        want = _reference_or_refusal(model, float32_numbers(X), data_name)
    else:
        X32 = np.asarray(X, dtype=np.float32)
        want = _reference_or_refusal(model, X32.astype(np.float64), data_name)
        batch = X32
    try:
        got = run(Path(artefact), kind, batch)
    except SklirError as e:
        raise InputFileError(f"{artefact}: {e}") from None
    return compare_outputs(got, want, rtol)


def _reference_or_refusal(model: Any, X: Any, data_name: str | Path | None) -> dict[str, np.ndarray]:
    import warnings

    from sklir.loading import first_non_finite

    try:
        with warnings.catch_warnings():
            # a model fitted on a DataFrame warns about unnamed columns: the columns are its own, in order
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            return reference_outputs(model, X)
    except ValueError as e:
        where = first_non_finite(X, data_name) if isinstance(X, np.ndarray) else None
        name = type(model).__name__ if not isinstance(model, Module) else model.name
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        data = f"{data_name}: " if data_name is not None else ""
        raise InputFileError(f"{data}{name} refuses this data" + (f" ({where})" if where else "")
                             + f": {reason}") from None


def source_mismatch(model: Any, artefact: str | Path) -> str | None:
    """A sentence when the artefact's metadata says it was lowered from another model than
    ``model``: another kind (its ``source`` differs) or another fit (its ``fingerprint`` differs);
    None when they agree or the artefact records neither."""
    from sklir.frontend.registry import describe, fingerprint
    from sklir.runtimes import artefact_metadata

    try:
        recorded = artefact_metadata(artefact, artefact_kind(artefact))
    except SklirError:
        return None
    if recorded is None or "source" not in recorded:
        return None
    from sklir.frontend.chain import Chain, resolve
    from sklir.frontend.chain import fingerprint as chain_fingerprint

    if isinstance(model, Module):
        given = model.attributes.get("source", model.name)
    else:
        model = resolve(model)
        given = model.describe() if isinstance(model, Chain) else describe(model)
    if recorded["source"] != given:
        return f"{artefact} was lowered from {recorded['source']}, but the model given is {given}"
    if isinstance(model, Module):
        return None
    stamp = chain_fingerprint(model) if isinstance(model, Chain) else fingerprint(model)
    if recorded.get("fingerprint") in (None, stamp):
        return None
    return f"{artefact} was lowered from another fitted {given} than the model given (their fingerprints differ)"


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def format_table(rows: list[OutputParity], rtol: float) -> str:
    """The parity table, one line per output, and a verdict line."""
    header = ("output", "shape", "max abs err", "max rel err", "label agreement", "")
    body = [(r.name, "?" if r.shape is None else str(list(r.shape)), _fmt(r.max_abs, ".3g"), _fmt(r.max_rel, ".3g"),
             "-" if r.agreement is None else f"{100 * r.agreement:.2f}%", "ok" if r.ok else f"FAIL {r.note}".strip())
            for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
             for line in [header, *body]]
    verdict = "parity OK" if all(r.ok for r in rows) else "parity FAILED"
    rules = []
    if any(r.agreement is None for r in rows):
        rules.append(f"floats: max|got - want| <= {rtol:g} * max(1, max|want|)")
    if any(r.agreement is not None for r in rows):
        rules.append("labels: identical")
    lines.append(f"{verdict} ({'; '.join(rules)})")
    return "\n".join(lines)


def passed(rows: list[OutputParity]) -> bool:
    """True when every output is within tolerance."""
    return bool(rows) and all(r.ok for r in rows)

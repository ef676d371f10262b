"""Parity of IsotonicRegression and CalibratedClassifierCV (issue 7), on real data.

Predictions and probabilities within 1e-5 of their scale (the harness's default) under the
interpreter, LiteRT and onnxruntime; labels identical. The isotonic interpolation is continuous,
so a float32 input that lands in the neighbouring segment still gives the same value to rounding;
but it multiplies its input's error by its slope, so a calibrated model's tolerance is 1e-5 times
the steepest isotonic slope times its input's scale where that is larger (isotonic_tolerance).

GaussianNB's breast-cancer probabilities saturate (1 - 1e-12 and the like), where isotonic steps
and temperature's ``log(p + 1e-12)`` resolve differences float32 cannot hold: those two pairs are
left out, with sigmoid calibration of the same model kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import standardised
from parity import assert_parity
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC


@pytest.mark.parametrize("out_of_bounds", ["nan", "clip", "raise"])
@pytest.mark.parametrize("increasing", [True, False, "auto"])
def test_isotonic_regression(out_of_bounds: str, increasing: Any) -> None:
    X, y = standardised("diabetes")
    x = X[:, 2]
    model = IsotonicRegression(out_of_bounds=out_of_bounds, increasing=increasing).fit(x[::2], y[::2])
    # queries inside the fitted range: scikit-learn raises outside it for "raise"
    inside = x[(x >= model.X_min_) & (x <= model.X_max_)]
    assert_parity(model, inside.reshape(-1, 1))
    if out_of_bounds != "raise":
        beyond = np.concatenate([inside, [model.X_min_ - 1.0, model.X_max_ + 1.0]])
        assert_parity(model, beyond.reshape(-1, 1))


def test_isotonic_after_a_scaler() -> None:
    """A one-column pipeline (its 1-d output cannot feed another step in scikit-learn either)."""
    X, y = standardised("diabetes")
    model = make_pipeline(StandardScaler(), IsotonicRegression(out_of_bounds="clip")).fit(X[:, 2:3], y)
    assert_parity(model, X[:, 2:3])


def test_isotonic_at_thresholds_and_constant_fit() -> None:
    X, y = standardised("diabetes")
    model = IsotonicRegression().fit(X[:, 2], y)
    assert_parity(model, model.X_thresholds_.reshape(-1, 1))  # exactly on every breakpoint
    constant = IsotonicRegression().fit(np.ones(10), np.arange(10.0))
    assert_parity(constant, np.array([[0.0], [1.0], [5.0]]))


BASES: dict[str, Any] = {
    "svc": lambda: SVC(),
    "linear-svc": lambda: LinearSVC(),
    "logistic": lambda: LogisticRegression(max_iter=2000),
    "gaussian-nb": lambda: GaussianNB(),
    "forest": lambda: RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0),
}


SATURATED = {("gaussian-nb", "breast_cancer", "isotonic"), ("gaussian-nb", "breast_cancer", "temperature")}


def isotonic_tolerance(model: CalibratedClassifierCV, X: np.ndarray) -> float:
    """1e-5, or 1e-5 of the calibrators' input scale times their steepest slope where larger."""
    worst = 1e-5
    for calibrated in model.calibrated_classifiers_:
        if calibrated.method != "isotonic":
            continue
        base = calibrated.estimator
        scores = base.decision_function(X) if hasattr(base, "decision_function") else base.predict_proba(X)
        for calibrator in calibrated.calibrators:
            xs, ys = calibrator.X_thresholds_, calibrator.y_thresholds_
            slope = np.abs(np.diff(ys) / np.diff(xs)).max() if len(xs) > 1 else 0.0
            worst = max(worst, 1e-5 * slope * max(1.0, np.abs(scores).max()))
    return worst


CALIBRATED = [(base, name, method) for base in sorted(BASES) for name in ("iris", "breast_cancer")
              for method in ("sigmoid", "isotonic", "temperature") if (base, name, method) not in SATURATED]


@pytest.mark.parametrize(("base", "name", "method"), CALIBRATED)
def test_calibrated_classifier(base: str, name: str, method: str) -> None:
    X, y = standardised(name)
    model = CalibratedClassifierCV(BASES[base](), method=method, cv=3).fit(X, y)
    assert_parity(model, X, rtol=isotonic_tolerance(model, X))


def test_one_calibrated_classifier_in_a_pipeline_with_string_labels() -> None:
    X, y = standardised("wine")
    names = np.array(["barolo", "grignolino", "barbera"], dtype=object)[y]
    model = make_pipeline(StandardScaler(), CalibratedClassifierCV(SVC(), ensemble=False, cv=3))
    assert_parity(model.fit(X, names), X)

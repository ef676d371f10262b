"""Models fitted on pandas DataFrames with string columns (issue 9): one ``str[N, 1]`` input per
string column beside the numbers' ``x``, the category encoders (OneHotEncoder, OrdinalEncoder,
TargetEncoder) on string and numeric categories, SimpleImputer on strings, and the compositions
that route a frame's columns, end to end through the real ``.tflite`` and ``.onnx``.

The data is the wine dataset: four numeric columns with about 8% NaN, and two string columns made
from its own measurements (hue and proline in named bands, about 8% missing), one of them with a
space in its name. The data scored holds categories seen at no fit in both string columns.
Tolerances are the harness's defaults (labels identical, floats 1e-5 of scale): every encoding is a
row of a constant table, exact in float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from parity import assert_parity, batch_of
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.datasets import load_wine
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    StackingClassifier,
    VotingClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler, TargetEncoder

import sklir
from sklir.errors import UnsupportedEstimatorError

STRINGS = ["hue band", "proline"]
NUMBERS = ["alcohol", "malic_acid", "ash", "color_intensity"]


def wine_frames() -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(training frame, frame to score with unseen categories, class labels)."""
    X, y = load_wine(return_X_y=True, as_frame=True)
    rng = np.random.default_rng(0)
    frame = X[NUMBERS].copy()
    frame["hue band"] = pd.qcut(X["hue"], 4, labels=["pale", "light", "deep", "dark"]).astype(object)
    frame["proline"] = pd.qcut(X["proline"], 5, labels=["very low", "low", "mid", "high", "top"]).astype(object)
    for name in frame.columns:
        frame.loc[rng.random(len(frame)) < 0.08, name] = np.nan
    scored = frame.copy()
    scored.loc[scored.index[:12], "proline"] = "off the chart"
    scored.loc[scored.index[12:20], "hue band"] = "ultraviolet"
    return frame, scored, y.to_numpy()


FRAME, SCORED, LABELS = wine_frames()
# every known category, no missing value: for encoders that refuse unseen or missing values
KNOWN = FRAME.dropna()
# ``ash`` in whole tenths: numeric categories
ROUNDED = FRAME.assign(ash=(FRAME["ash"] * 10).round())


def _strings_then_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[*STRINGS, "ash"]]


@pytest.mark.parametrize("encoder", [
    OneHotEncoder(handle_unknown="ignore"),
    OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20),
    OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=3),
    OneHotEncoder(handle_unknown="warn", min_frequency=0.15),
    OneHotEncoder(drop="first", handle_unknown="ignore"),
    OneHotEncoder(drop="if_binary", handle_unknown="ignore", sparse_output=False),
    OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
    OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=-2),
    OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, max_categories=3),
], ids=repr)
def test_encoders_on_string_and_numeric_categories(encoder: Any) -> None:
    fitted = encoder.fit(_strings_then_numbers(ROUNDED))
    module = assert_parity(fitted, _strings_then_numbers(ROUNDED.fillna({"hue band": "ultraviolet"})))
    assert [v.name for v in module.inputs] == ["x", "hue_band", "proline"]


@pytest.mark.parametrize("target", ["continuous", "binary", "multiclass"])
def test_target_encoder(target: str) -> None:
    y = {"continuous": FRAME["color_intensity"].fillna(5.0).to_numpy(), "binary": LABELS == 1,
         "multiclass": np.array(["a", "b", "c"], dtype=object)[LABELS]}[target]
    fitted = TargetEncoder(random_state=0).fit(FRAME[STRINGS], y)
    assert_parity(fitted, SCORED[STRINGS])


def test_an_unseen_category_scikit_learn_refuses_gives_zeros_or_nan() -> None:
    """``handle_unknown="error"``: scikit-learn raises, an artefact cannot; OneHotEncoder's block
    is all zeros for that column (as ``ignore``), OrdinalEncoder's value NaN."""
    one_hot = OneHotEncoder().fit(KNOWN[STRINGS])
    ordinal = OrdinalEncoder().fit(KNOWN[STRINGS])
    row = pd.DataFrame({"hue band": ["pale"], "proline": ["off the chart"]})
    hot = sklir.interpret(sklir.lower(one_hot), batch_of(sklir.lower(one_hot), row))["transform"]
    hue = one_hot.categories_[0].tolist()
    np.testing.assert_array_equal(hot, [[float(c == "pale") for c in hue] + [0.0] * len(one_hot.categories_[1])])
    ordered = sklir.interpret(sklir.lower(ordinal), batch_of(sklir.lower(ordinal), row))["transform"]
    assert ordered[0, 0] == ordinal.categories_[0].tolist().index("pale") and np.isnan(ordered[0, 1])


@pytest.mark.parametrize("imputer", [
    SimpleImputer(strategy="most_frequent"),
    SimpleImputer(strategy="constant", fill_value="unknown"),
    SimpleImputer(strategy="most_frequent", add_indicator=True),
], ids=repr)
def test_simple_imputer_on_strings_before_an_encoder(imputer: SimpleImputer) -> None:
    """The fill is read as an alias by the encoder after it: a missing value encodes as its fill."""
    pipe = make_pipeline(imputer, OneHotEncoder(handle_unknown="ignore")).fit(FRAME[STRINGS])
    assert_parity(pipe, SCORED[STRINGS])


def _preprocessing(scale: bool = False) -> ColumnTransformer:
    numbers = make_pipeline(SimpleImputer(), StandardScaler()) if scale else SimpleImputer()
    strings = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
    return ColumnTransformer([("numbers", numbers, make_column_selector(dtype_include="number")),
                              ("strings", strings, make_column_selector(dtype_include=object))])


FOREST = make_pipeline(_preprocessing(), RandomForestClassifier(n_estimators=25, random_state=0)).fit(FRAME, LABELS)
LINEAR = make_pipeline(_preprocessing(scale=True), LogisticRegression(max_iter=2000)).fit(FRAME, LABELS)


def test_column_transformer_to_a_forest_end_to_end() -> None:
    """NaN in numeric columns, string columns with missing and unseen categories, through a
    ColumnTransformer into a random forest: labels identical, probabilities exact."""
    module = assert_parity(FOREST, SCORED)
    assert module.attributes["inputs"] == (("x", "float32", tuple(NUMBERS)), ("hue_band", "string", ("hue band",)),
                                           ("proline", "string", ("proline",)))


def test_the_same_through_voting_and_stacking() -> None:
    vote = VotingClassifier([("forest", FOREST), ("linear", LINEAR)], voting="soft").fit(FRAME, LABELS)
    assert_parity(vote, SCORED)
    hard = VotingClassifier([("forest", FOREST), ("linear", LINEAR)], voting="hard", weights=[2, 1]).fit(FRAME, LABELS)
    assert_parity(hard, SCORED)
    stack = StackingClassifier([("forest", FOREST), ("linear", LINEAR)], cv=3).fit(FRAME, LABELS)
    assert_parity(stack, SCORED)
    # the voting's transform as a pipeline's step passes the frame to its members too
    votes = VotingClassifier([("forest", FOREST), ("linear", LINEAR)], voting="soft")
    assert_parity(make_pipeline(votes, LogisticRegression(max_iter=2000)).fit(FRAME, LABELS), SCORED)


def test_ordinal_encoding_into_histogram_boosting_with_named_columns_and_remainder() -> None:
    """Columns by name, the rest passed through (``remainder``), into HistGradientBoosting."""
    pre = ColumnTransformer([("strings", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                                        encoded_missing_value=-1), STRINGS)],
                            remainder="passthrough", verbose_feature_names_out=False)
    model = make_pipeline(pre, HistGradientBoostingClassifier(max_iter=20, random_state=0)).fit(FRAME, LABELS)
    assert_parity(model, SCORED)


def test_searches_and_one_vs_rest_pass_the_frame_on() -> None:
    search = GridSearchCV(make_pipeline(_preprocessing(scale=True), Ridge()), {"ridge__alpha": [0.1, 10.0]},
                          cv=3).fit(FRAME, FRAME["color_intensity"].fillna(5.0) * 0 + LABELS)
    assert_parity(search, SCORED)
    assert_parity(OneVsRestClassifier(LINEAR).fit(FRAME, LABELS), SCORED)


def test_a_numeric_dataframe_keeps_the_single_input() -> None:
    model = make_pipeline(SimpleImputer(), LogisticRegression(max_iter=2000)).fit(FRAME[NUMBERS], LABELS)
    module = assert_parity(model, SCORED[NUMBERS])
    assert [v.name for v in module.inputs] == ["x"] and "inputs" not in module.attributes


def test_input_names_are_valid_and_unique() -> None:
    from sklir.frontend.registry import input_name

    taken = {"x"}
    assert [input_name(n, taken) for n in ["hue band", "hue_band", "_id", "", "x", "1st"]] == \
        ["hue_band", "hue_band_2", "s_id", "s", "x_2", "1st"]


def test_a_string_output_is_refused_by_name() -> None:
    imputer = SimpleImputer(strategy="most_frequent").fit(FRAME[STRINGS])
    with pytest.raises(UnsupportedEstimatorError, match="SimpleImputer's transform holds strings "
                                                         r"\(column\(s\) 'hue band', 'proline'\)"):
        sklir.lower(imputer)


def test_calibration_passes_the_frame_on() -> None:
    """Isotonic calibration multiplies its input's float32 error by its slope: its tolerance is
    test_calibration.isotonic_tolerance's (1e-5 of the input scale times the steepest slope)."""
    from sklearn.calibration import CalibratedClassifierCV
    from test_calibration import isotonic_tolerance

    for method in ("sigmoid", "isotonic"):
        calibrated = CalibratedClassifierCV(make_pipeline(_preprocessing(), LogisticRegression(max_iter=500)),
                                            method=method, cv=3).fit(FRAME, LABELS)
        rtol = 1e-5 if method == "sigmoid" else isotonic_tolerance(calibrated, SCORED)
        assert_parity(calibrated, SCORED, rtol=rtol)


def test_an_encoder_of_strings_given_numbers_says_which_compositions_pass_frames() -> None:
    """No composition scikit-learn fits on a string DataFrame drops the frame today; a converter
    that hands an encoder numbers (as one outside the list would) gets this refusal, not a crash."""
    from sklir.frontend.registry import lower_into
    from sklir.ir import Builder

    encoder = OneHotEncoder().fit(FRAME[STRINGS].fillna("pale"))
    b, x = Builder.new("numbers", 2)
    with pytest.raises(UnsupportedEstimatorError, match="reads strings in its column 0, but the composition "
                                                        "around it gives it numbers: .*CalibratedClassifierCV"):
        lower_into(encoder, b, b.call("cast", x, to=sklir.ir.DType.f64))


def test_numeric_categories_match_their_float32_numbers() -> None:
    """A category fitted as 0.1 (float64) is the float32 input 0.1, as scikit-learn matches 0.1."""
    fitted = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1).fit(
        np.array([[0.1], [0.2], [0.3], [0.5], [7.0]]))
    X = np.array([[0.1], [0.3], [0.5], [0.4], [7.0]])
    module = sklir.lower(fitted)
    np.testing.assert_array_equal(sklir.interpret(module, X.astype(np.float32))["transform"], fitted.transform(X))
    for target in ("tflite", "onnx"):
        got = sklir.runtimes.run(sklir.emit(module, target), target, X.astype(np.float32))["transform"]
        np.testing.assert_array_equal(got, fitted.transform(X))


def test_categories_float32_cannot_tell_apart_are_refused() -> None:
    fitted = OneHotEncoder().fit(np.array([[1.0], [1.0 + 1e-12], [2.0]]))
    with pytest.raises(UnsupportedEstimatorError, match="are one float32 number"):
        sklir.lower(fitted)


def test_a_column_with_a_missing_value_and_the_empty_string_is_refused() -> None:
    fitted = OneHotEncoder().fit(pd.DataFrame({"c": ["a", "", np.nan, "b"]}))
    with pytest.raises(UnsupportedEstimatorError, match="both a missing value and the empty string"):
        sklir.lower(fitted)


def test_string_columns_without_names_are_refused() -> None:
    fitted = OneHotEncoder().fit(np.array([["a"], ["b"]], dtype=object))
    with pytest.raises(UnsupportedEstimatorError, match="records no column names: fit it on a pandas DataFrame"):
        sklir.lower(fitted)


def test_an_imputer_of_another_missing_value_on_strings_is_refused_by_name() -> None:
    pipe = make_pipeline(SimpleImputer(missing_values=0, strategy="most_frequent"), OneHotEncoder())
    pipe.fit(pd.DataFrame({"c": np.array(["a", "b", 0, "a"], dtype=object)}))
    with pytest.raises(UnsupportedEstimatorError, match="missing_values=0 is not supported"):
        sklir.lower(pipe)


def test_columns_the_model_never_reads_get_no_input() -> None:
    """A free-text column and an ID the ColumnTransformer drops are no inputs (an app need not
    feed them, and no text has to pass for a number); a numeric frame with a dropped column too."""
    frame = FRAME.assign(notes=np.where(LABELS == 0, "sweet, dark", "dry"), id=[f"w{i}" for i in range(len(FRAME))])
    model = make_pipeline(ColumnTransformer([("numbers", SimpleImputer(), NUMBERS),
                                             ("strings", _preprocessing().transformers[1][1], STRINGS)]),
                          RandomForestClassifier(n_estimators=10, random_state=0)).fit(frame, LABELS)
    module = assert_parity(model, SCORED.assign(notes="?", id="?"))
    assert [v.name for v in module.inputs] == ["x", "hue_band", "proline"]
    numbers = make_pipeline(ColumnTransformer([("scaled", StandardScaler(), ["alcohol", "ash"])]),
                            LogisticRegression(max_iter=2000)).fit(FRAME[NUMBERS].fillna(0.0), LABELS)
    module = assert_parity(numbers, SCORED[NUMBERS].fillna(0.0))
    assert module.attributes["inputs"] == (("x", "float32", ("alcohol", "ash")),)


def test_an_input_never_takes_an_outputs_name() -> None:
    fitted = OneHotEncoder().fit(pd.DataFrame({"transform": ["a", "b"], "label": ["c", "d"]}))
    module = assert_parity(fitted, pd.DataFrame({"transform": ["b", "a"], "label": ["d", "c"]}))
    assert [v.name for v in module.inputs] == ["transform_2", "label_2"]

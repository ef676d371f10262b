"""``sklir lower`` and ``sklir check`` on a model fitted on a DataFrame with string columns: the
data is a CSV file with a header row or a Parquet file, read by column name; every bad input is
one line naming the problem and exit 1."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from cli_support import assert_one_line_error, run_cli
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"size": rng.normal(size=rows), "home city": rng.choice(["Oslo", "Lima", "Pune"], rows)})
    frame.loc[rng.random(rows) < 0.1, "size"] = np.nan
    frame.loc[rng.random(rows) < 0.1, "home city"] = np.nan
    return frame


@pytest.fixture(scope="module")
def lowered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with ``model.joblib``, its ``.tflite`` and ``.onnx`` (lowered through the CLI),
    and data to check them on."""
    directory = tmp_path_factory.mktemp("frames")
    train = _frame(200, 0)
    y = (train["size"].fillna(0) > 0) ^ (train["home city"] == "Lima")
    pre = ColumnTransformer([("size", SimpleImputer(), ["size"]),
                             ("city", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                                    OneHotEncoder(handle_unknown="ignore")), ["home city"])])
    model = make_pipeline(pre, RandomForestClassifier(n_estimators=10, random_state=0)).fit(train, y)
    joblib.dump(model, directory / "model.joblib")
    scored = _frame(60, 1)
    scored.loc[:5, "home city"] = "Quito"  # seen at no fit
    scored[["home city", "size"]].to_csv(directory / "scored.csv", index=False)  # columns in another order
    scored.to_parquet(directory / "scored.parquet")
    scored[["size"]].to_csv(directory / "no_city.csv", index=False)
    scored.assign(size="big").to_csv(directory / "words.csv", index=False)
    np.save(directory / "scored.npy", scored[["size"]].to_numpy())
    (directory / "broken.parquet").write_text("not parquet")
    for target in ("tflite", "onnx"):
        code, _, err = _quiet_cli("lower", directory / "model.joblib", "-o", directory / f"model.{target}")
        assert (code, err) == (0, ""), err
    return directory


def _quiet_cli(*argv: str | Path) -> tuple[int, str, str]:
    import contextlib
    import io

    from sklir.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("target", ["tflite", "onnx"])
@pytest.mark.parametrize("data", ["scored.csv", "scored.parquet"])
def test_check_reads_named_columns(capsys: pytest.CaptureFixture[str], lowered: Path, target: str, data: str) -> None:
    code, out, err = run_cli(capsys, "check", lowered / "model.joblib", lowered / f"model.{target}",
                             "--data", lowered / data)
    assert (code, err) == (0, "")
    assert f"60 rows from {lowered / data}" in out and "parity OK" in out


@pytest.mark.parametrize(("data", "fragments"), [
    (None, ("this model reads string columns: give --data",)),
    ("scored.npy", ("scored.npy", "this model reads named columns: give a .csv file with a header row")),
    ("no_city.csv", ("no_city.csv", "has no column 'home city' (the model reads size, home city)")),
    ("words.csv", ("words.csv", "the model reads numbers in column(s) size, the data has other values there")),
    ("broken.parquet", ("broken.parquet", "cannot read it as a parquet table")),
])
def test_bad_data_for_a_frame_model_is_one_line(capsys: pytest.CaptureFixture[str], lowered: Path,
                                                data: str | None, fragments: tuple[str, ...]) -> None:
    extra: list[str | Path] = ["--data", lowered / data] if data else []
    code, out, err = run_cli(capsys, "check", lowered / "model.joblib", lowered / "model.onnx", *extra)
    assert code == 1 and out == ""
    assert_one_line_error(err, *fragments)


def test_the_fingerprint_of_a_forest_is_the_same_in_every_process(lowered: Path) -> None:
    """A tree's node records have padding bytes holding whatever the memory held: the fingerprint
    packs them out, so ``check`` does not warn that a forest loaded again is another fit."""
    import subprocess
    import sys

    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(RandomForestClassifier(n_estimators=3, random_state=0), {"max_depth": [2, 3]}, cv=2)
    X = np.random.default_rng(0).normal(size=(40, 3))
    joblib.dump(search.fit(X, X[:, 0] > 0), lowered / "search.joblib")  # masked cv_results_ too
    script = ("import joblib, sys; from sklir.frontend.registry import fingerprint; "
              "print([fingerprint(joblib.load(p)) for p in sys.argv[1:]])")
    paths = [str(lowered / "model.joblib"), str(lowered / "search.joblib")]
    prints = {subprocess.run([sys.executable, "-c", script, *paths], capture_output=True, text=True,
                             check=True).stdout for _ in range(2)}
    assert len(prints) == 1 and "None" not in prints.pop()


def test_string_columns_are_read_as_written(tmp_path: Path) -> None:
    """Only an empty cell is missing in a string column: "NA", "None", "01" and "#4" stay text;
    a numeric column still reads "NA" as missing."""
    from sklir.loading import load_frame

    path = tmp_path / "rows.csv"
    path.write_text("code,size\nNA,1.5\nNone,NA\n01,2\n#4,3\n,4\n", encoding="utf-8")
    frame = load_frame(path, ["size", "code"], {"code"})
    assert frame["code"].tolist()[:4] == ["NA", "None", "01", "#4"] and pd.isna(frame["code"].iloc[4])
    assert frame["size"].tolist()[0] == 1.5 and np.isnan(frame["size"].iloc[1])


def test_a_parquet_file_for_a_model_without_column_names_is_one_line(capsys: pytest.CaptureFixture[str],
                                                                     lowered: Path, tmp_path: Path) -> None:
    from sklearn.linear_model import Ridge

    X = np.random.default_rng(0).normal(size=(20, 2))
    joblib.dump(Ridge().fit(X, X[:, 0]), tmp_path / "ridge.joblib")
    code, _, err = _quiet_cli("lower", tmp_path / "ridge.joblib", "-o", tmp_path / "ridge.onnx")
    assert code == 0, err
    code, out, err = run_cli(capsys, "check", tmp_path / "ridge.joblib", tmp_path / "ridge.onnx",
                             "--data", lowered / "scored.parquet")
    assert code == 1 and out == ""
    assert_one_line_error(err, "scored.parquet", "a .parquet file holds named columns, and the model records no "
                          "column names")

"""``docs/supported.md`` is what ``tools/support_matrix.py`` writes today: every class of
``all_estimators()`` in it, its statuses agreeing with the registry and with the reasons sklir
gives, its counts in the README; and a sample of rows regenerated here (CI's reduced size: the
whole matrix takes minutes) comes out as the document has them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import support_matrix  # noqa: E402

DOC = support_matrix.parse((ROOT / "docs" / "supported.md").read_text(encoding="utf-8"))
BY_NAME = {row.name: row for row in DOC}


def test_every_class_of_scikit_learn_has_a_row() -> None:
    assert [row.name for row in DOC] == [name for name, _ in support_matrix.classes()]


def test_statuses_agree_with_the_registry_and_the_reasons() -> None:
    from sklir.frontend.not_lowered import reason
    from sklir.frontend.registry import public_name, supported_classes

    supported = set(supported_classes())
    for name, cls in support_matrix.classes():
        row = BY_NAME[name]
        known = reason(public_name(cls))
        if cls in supported:
            assert (row.tflite, row.onnx) == ("pass", "pass"), row
        elif known is not None:
            status = "n/a" if known[0] == "not applicable" else "blocked"
            assert (row.tflite, row.onnx, row.note) == (status, status, known[1]), row
        else:
            assert (row.tflite, row.onnx) == ("blocked", "blocked") and "cannot lower" in row.note, row


def test_the_readme_states_the_documents_counts() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert support_matrix.summary(DOC) in readme.replace("\n", " ")
    counts = support_matrix.counts(DOC)
    assert counts["tflite"] > support_matrix.SKL2ONNX[0] and counts["onnx"] > support_matrix.SKL2ONNX[0]


@pytest.mark.filterwarnings("ignore")
def test_sampled_rows_regenerate_as_documented() -> None:
    sample = {"LogisticRegression", "RandomForestClassifier", "OneHotEncoder", "StackingRegressor", "TSNE",
              "CountVectorizer", "NMF"}
    assert {row.name: row for row in support_matrix.rows(sample)} == {name: BY_NAME[name] for name in sample}

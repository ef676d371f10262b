"""Shared fixtures: real scikit-learn datasets, loaded once per session."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "backends"))


@cache
def dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A scikit-learn bundled dataset as (X float32-exact float64, y)."""
    from sklearn import datasets

    loader = {
        "iris": datasets.load_iris, "digits": datasets.load_digits, "wine": datasets.load_wine,
        "breast_cancer": datasets.load_breast_cancer, "diabetes": datasets.load_diabetes,
        "linnerud": datasets.load_linnerud,
    }[name]
    X, y = loader(return_X_y=True)
    return X.astype(np.float32).astype(np.float64), y

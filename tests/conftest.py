"""Shared fixtures: real scikit-learn datasets, loaded once per session."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

import numpy as np
from hypothesis import settings

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


# Heavyweight sweeps (marked `sweep`) run at a reduced size unless SKLIR_FULL_SWEEP=1.
FULL_SWEEP = os.environ.get("SKLIR_FULL_SWEEP") == "1"
FULL_SWEEP_FACTOR = 25


def examples(n: int) -> int:
    """A property test's example count: ``n`` normally, ``FULL_SWEEP_FACTOR * n`` in a full sweep."""
    return n * FULL_SWEEP_FACTOR if FULL_SWEEP else n


# CI must not turn red by the luck of a random draw: there hypothesis replays a fixed sequence of
# examples; a developer's runs stay random and keep exploring.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

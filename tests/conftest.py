"""Shared fixtures: real scikit-learn datasets, loaded once per session."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
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


def knock_out(X: np.ndarray, seed: int | np.random.Generator, fraction: float = 0.1) -> np.ndarray:
    """A copy of ``X`` with ``fraction`` of its entries replaced by NaN at random.

    ``seed`` is a fixed seed, or a generator to draw from (as a sweep case draws everything from its own).
    """
    X = X.copy()
    X[np.random.default_rng(seed).random(X.shape) < fraction] = np.nan
    return X


@cache
def standardised(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``dataset(name)`` with X standardised, rounded to float32 like every test input, and y.

    For data whose raw features span orders of magnitude: linear estimators converge on it, and
    float32 decisions on it do not cancel large terms.
    """
    from sklearn.preprocessing import StandardScaler

    X, y = dataset(name)
    return StandardScaler().fit_transform(X).astype(np.float32).astype(np.float64), y


@cache
def digits_pipeline() -> Any:
    """StandardScaler -> PCA(20) -> LogisticRegression fitted on all of digits, once per session.

    The frontend's pipeline tests and the CLI tests share it, so its artefacts are converted once.
    """
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = dataset("digits")
    return make_pipeline(StandardScaler(), PCA(20, random_state=0), LogisticRegression(max_iter=5000)).fit(X, y)


def deny_writing_to(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """Make ``os.access`` report ``directory`` as not writable for the rest of the test.

    chmod cannot make a directory read-only to root, so tests of the refusal patch what sklir asks.
    """
    real = os.access

    def access(path: str | os.PathLike[str], mode: int, **kwargs: Any) -> bool:
        if mode & os.W_OK and Path(path) == directory:
            return False
        return real(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)


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

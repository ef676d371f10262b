"""The static checks as tests: ruff's lint and mypy's type check (both configured in pyproject.toml) stay clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run_module(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m <args>`` from the repository root, so the tools read its pyproject.toml."""
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=False)


def test_ruff_is_clean() -> None:
    result = _run_module("ruff", "check", "sklir", "tests", "benchmarks", "tools")
    assert result.returncode == 0, f"ruff check failed:\n{result.stdout}{result.stderr}"


def test_mypy_is_clean() -> None:
    # files, strictness flags and python_version come from [tool.mypy]; .mypy_cache keeps reruns fast
    result = _run_module("mypy")
    assert result.returncode == 0, f"mypy failed:\n{result.stdout}{result.stderr}"

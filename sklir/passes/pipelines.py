"""The named pipelines: the default optimisation pipeline and the per-target precision pipeline.

(Placeholder while the passes are written: both pipelines are empty.)
"""

from __future__ import annotations

from collections.abc import Callable

from sklir.passes.manager import PassManager


def default_pipeline(print_after: Callable[[str, str], None] | None = None) -> PassManager:
    """The optimisation pipeline ``sklir.lower`` runs."""
    return PassManager([], print_after)


def precision_pipeline(dtype: str, print_after: Callable[[str, str], None] | None = None) -> PassManager:
    """Lower a module's float precision to ``dtype`` for a backend."""
    return PassManager([], print_after)

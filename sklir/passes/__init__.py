"""Rewrites over the IR, each a named pass in its own module, and the default pipelines.

Importing this package registers every pass in :data:`PASSES` (by its kebab-case name).
"""

from sklir.passes import (
    constant_fold,
    cse,
    dce,
    fold_affine,
    fold_thresholds,
    labels_as_indices,
    lower_kernels,
    lower_trees,
    lower_votes,
    precision,
)
from sklir.passes.manager import PASSES, Pass, PassManager, PassResult, parse_pipeline, register_pass

__all__ = [
    "PASSES", "Pass", "PassManager", "PassResult", "constant_fold", "cse", "dce", "fold_affine",
    "fold_thresholds", "labels_as_indices", "lower_kernels", "lower_trees", "lower_votes", "parse_pipeline",
    "precision", "register_pass",
]

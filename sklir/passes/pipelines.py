"""The named pipelines: the default optimisation pipeline and the per-target precision pipeline.

Each is a :class:`~sklir.passes.manager.PassManager` that repeats its passes until nothing
changes, verifying the module after every pass.
"""

from __future__ import annotations

from collections.abc import Callable

from sklir.errors import SklirError
from sklir.passes.constant_fold import ConstantFold
from sklir.passes.cse import CommonSubexpressionElimination
from sklir.passes.dce import DeadValueElimination
from sklir.passes.fold_affine import FoldAffine
from sklir.passes.fold_thresholds import FoldThresholds
from sklir.passes.labels_as_indices import LabelsAsIndices
from sklir.passes.lower_kernels import LowerKernels
from sklir.passes.lower_trees import LowerTrees
from sklir.passes.lower_votes import LowerVotes
from sklir.passes.manager import Pass, PassManager, PrintAfter, parse_pipeline
from sklir.passes.precision import ToF32


def _cleanups() -> list[Pass]:
    return [ConstantFold(), CommonSubexpressionElimination(), DeadValueElimination()]


def default_pipeline(print_after: PrintAfter | None = None) -> PassManager:
    """The optimisation pipeline ``sklir.lower`` runs: fold column-wise steps into tree thresholds
    (before fold-affine rewrites how they round), fold affine chains, then clean up.

    fold-thresholds, constant-fold, fold-affine, constant-fold, cse, dce, repeated to a fixed point.
    """
    return PassManager([FoldThresholds(), ConstantFold(), FoldAffine(), *_cleanups()], print_after)


# dtype -> the passes that prepare a module for a backend computing in it (tree strategy given):
# the precision first (tree thresholds are rounded on the ensemble op, where their meaning is
# known), then high-level ops lowered to core ops, then cleanups. f64 keeps the module as it is.
PRECISION: dict[str, Callable[[str], list[Pass]]] = {
    "f64": lambda strategy: [],
    "f32": lambda strategy: [ToF32(), LowerKernels(), LowerVotes(), LowerTrees(strategy), *_cleanups()],
}


# a profile's ``labels`` -> the passes that put class labels where its runtime reads them
LABELS: dict[str, list[Pass]] = {
    "values": [],
    "indices": [LabelsAsIndices()],
}


def precision_pipeline(dtype: str, print_after: PrintAfter | None = None, tree_strategy: str = "auto",
                       labels: str = "values") -> PassManager:
    """Prepare a module for a backend computing in ``dtype`` (``"f32"``; ``"f64"`` changes nothing):
    its precision lowered, then its tree ensembles lowered by ``tree_strategy``, then class labels
    left in the graph (``labels="values"``) or output as class indices (``"indices"``)."""
    make = PRECISION.get(dtype)
    if make is None:
        raise SklirError(f"no precision pipeline for {dtype!r} (known: {', '.join(PRECISION)})")
    if labels not in LABELS:
        raise SklirError(f"no label rule {labels!r} (known: {', '.join(LABELS)})")
    return PassManager([*make(tree_strategy), *LABELS[labels]], print_after)


def pipeline_from_spec(spec: str, print_after: PrintAfter | None = None) -> PassManager:
    """A pipeline from text such as ``"fold-affine,cse,dce"``; ``"default"`` names the default pipeline."""
    if spec.strip() == "default":
        return default_pipeline(print_after)
    return PassManager(parse_pipeline(spec), print_after)

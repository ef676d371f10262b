"""Every op family of the IR. Importing this package registers all ops in :data:`sklir.ir.core.OPS`."""

from sklir.ir.dialects import arith, linalg, ml, tensor

ALL_OPS = [*arith.OPS_IN_DIALECT, *tensor.OPS_IN_DIALECT, *linalg.OPS_IN_DIALECT, *ml.OPS_IN_DIALECT]

__all__ = ["ALL_OPS", "arith", "linalg", "ml", "tensor"]

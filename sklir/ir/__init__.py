"""sklir's intermediate representation: typed SSA values, registered ops, text form, interpreter."""

from sklir.ir import dialects
from sklir.ir.builder import Builder
from sklir.ir.core import OPS, Module, Node, Op, Tensor, Value, register_op
from sklir.ir.interpreter import interpret
from sklir.ir.parser import parse
from sklir.ir.printer import print_module
from sklir.ir.types import DType, N, TensorType
from sklir.ir.verifier import verify

__all__ = [
    "OPS", "Builder", "DType", "Module", "N", "Node", "Op", "Tensor", "TensorType", "Value",
    "dialects", "interpret", "parse", "print_module", "register_op", "verify",
]

"""Rewrites over the IR, each a named pass in its own module, and the default pipelines."""

from sklir.passes.manager import PASSES, Pass, PassManager, PassResult, parse_pipeline, register_pass

__all__ = ["PASSES", "Pass", "PassManager", "PassResult", "parse_pipeline", "register_pass"]

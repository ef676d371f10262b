"""The errors sklir raises on purpose.

Every error a user can provoke (an unsupported estimator, an unfitted one, malformed IR text, an
unreadable file, a backend that cannot express an op) is a :class:`SklirError`; the CLI prints its
message on one line and exits non-zero. Anything else escaping is a bug in sklir.
"""

from __future__ import annotations


class SklirError(Exception):
    """Base class of every error sklir reports to its user."""


class UnsupportedEstimatorError(SklirError):
    """The estimator class, or one of its hyper-parameters, has no lowering."""


class NotFittedError(SklirError):
    """The estimator has not been fitted."""


class IRError(SklirError):
    """An IR module breaks an invariant (raised by the verifier and by op type inference)."""


class ParseError(SklirError):
    """IR text that does not parse; carries the line and column."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.line = line
        self.column = column
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(f"{where}{message}")


class BackendError(SklirError):
    """A backend cannot express a module (an op without a builtin, a dtype the runtime lacks)."""


class InputFileError(SklirError):
    """A model or data file that is missing, unreadable or not what it claims to be."""

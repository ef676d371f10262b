"""Pass infrastructure: named, optioned passes, a registry, and a manager that verifies after each.

A pass is a frozen dataclass with a kebab-case ``name`` whose fields are its options. It returns a
:class:`PassResult`; the manager verifies the module after every pass, can print it after every
pass, and can repeat a pipeline until no pass changes anything.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from sklir.errors import IRError, SklirError
from sklir.ir.core import Module
from sklir.ir.verifier import verify

# the hook PassManager calls after every pass with the pass's name and the module it produced
PrintAfter = Callable[[str, Module], None]

# option type -> the python types a value of it may have (bool is not an int here)
OPTION_TYPES: dict[type, tuple[type, ...]] = {int: (int,), float: (int, float), bool: (bool,), str: (str,)}


# name -> pass class; filled by @register_pass
PASSES: dict[str, type[Pass]] = {}


@dataclass(frozen=True)
class PassResult:
    """What a pass returns: the (possibly new) module and whether anything changed."""

    module: Module
    modified: bool


@dataclass(frozen=True)
class Pass:
    """Base class of every pass. Subclasses set ``name`` and implement :meth:`run`."""

    name: ClassVar[str] = ""

    def run(self, module: Module) -> PassResult:
        """Rewrite ``module`` (in place or into a new module) and say whether it changed."""
        raise NotImplementedError


def register_pass(cls: type[Pass]) -> type[Pass]:
    """Class decorator: make ``cls`` available by its name to pipelines and the CLI."""
    if not cls.name or cls.name in PASSES:
        raise TypeError(f"pass {cls.__name__} needs a unique name, got {cls.name!r}")
    hints = typing.get_type_hints(cls)
    odd = [f.name for f in dataclasses.fields(cls) if hints[f.name] not in OPTION_TYPES]
    if odd:
        raise TypeError(f"pass {cls.name}: options must be {', '.join(t.__name__ for t in OPTION_TYPES)}; "
                        f"{', '.join(odd)} is not")
    PASSES[cls.name] = cls
    return cls


def make_pass(spec: str) -> Pass:
    """A pass from ``name`` or ``name{option=value,...}`` (values are python literals).

    Every option value is checked against the type of its field here, when the pipeline is parsed,
    so a bad value is refused on every model instead of failing (or being ignored) inside the pass.
    """
    name, brace, rest = spec.strip().partition("{")
    cls = PASSES.get(name.strip())
    if cls is None:
        raise SklirError(f"unknown pass '{name.strip()}' (known: {', '.join(sorted(PASSES))})")
    options: dict[str, Any] = {}
    if brace and not rest.rstrip().endswith("}"):
        raise SklirError(f"pass {cls.name}: options must end with '}}' (got '{spec.strip()}')")
    body = rest.rstrip().removesuffix("}")
    types = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    for item in filter(None, (p.strip() for p in body.split(","))):
        key, eq, raw = item.partition("=")
        key = key.strip()
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise SklirError(f"pass {cls.name} has no option '{key}' (options: {known})")
        if not eq:
            raise SklirError(f"pass {cls.name}: option '{key}' needs a value ({key}=...)")
        if key in options:
            raise SklirError(f"pass {cls.name}: option '{key}' is given twice")
        options[key] = _option_value(cls.name, key, raw.strip(), types[key])
    return cls(**options)


def _option_value(pass_name: str, key: str, raw: str, annotation: Any) -> Any:
    import ast

    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw  # a bare word is a string
    allowed = OPTION_TYPES[annotation]
    if not isinstance(value, allowed) or (bool not in allowed and isinstance(value, bool)):
        kind = getattr(annotation, "__name__", str(annotation))
        raise SklirError(f"pass {pass_name}: option {key} takes {'an' if kind == 'int' else 'a'} {kind}, got '{raw}'")
    return float(typing.cast(float, value)) if annotation is float else value


def parse_pipeline(text: str) -> list[Pass]:
    """Passes from a comma-separated pipeline string, e.g. ``"fold-affine,cse,dce"``."""
    specs: list[str] = []
    depth = 0
    current = ""
    for ch in text:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            specs.append(current)
            current = ""
        else:
            current += ch
    specs.append(current)
    return [make_pass(s) for s in specs if s.strip()]


@dataclass
class PassManager:
    """Runs passes in order, verifying after each; ``print_after`` receives (pass name, module)."""

    passes: list[Pass]
    print_after: PrintAfter | None = None
    # run the whole pipeline again while something changes, at most this many times
    max_rounds: int = 4

    def run(self, module: Module) -> PassResult:
        """Run the pipeline to a fixed point (bounded by ``max_rounds``)."""
        verify(module)
        changed_any = False
        for _ in range(self.max_rounds):
            changed = False
            for p in self.passes:
                result = p.run(module)
                module = result.module
                try:
                    verify(module)
                except IRError as e:
                    raise IRError(f"after pass {p.name}: {e}") from None
                if self.print_after is not None:
                    self.print_after(p.name, module)
                changed |= result.modified
            changed_any |= changed
            if not changed:
                break
        return PassResult(module, changed_any)

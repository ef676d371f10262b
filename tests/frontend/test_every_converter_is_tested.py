"""Every registered converter has parity tests: its class is used by code that checks parity.

A static guard, so that a new converter cannot land without a parity test. A class registered
with ``@lowers`` counts as tested when its name is *used in code* (a name such as ``Ridge`` or
an attribute such as ``lm.Ridge``) in a ``tests/frontend`` or ``tests/sweeps`` test file that
calls ``assert_parity``. The files are read with :mod:`ast`, so a name that appears only in an
import, a comment, a docstring or a string does not count: importing a class without building
it fails the guard (see :func:`test_imports_comments_and_strings_do_not_count`).

Why not record the classes ``assert_parity`` actually lowers? The record would have to be
gathered from every pytest-xdist worker and judged after the last parity test, i.e. outside any
test, and running a subset of the suite would then report converters as untested. The static
check judges the same files whatever is selected; what it cannot see is a class that is named
in code but never reaches ``assert_parity``, which review of that file has to catch.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sklir.frontend.registry import supported_classes

TEST_ROOT = Path(__file__).resolve().parents[1]


def names_used_in_parity_code(source: str) -> set[str]:
    """Names and attribute names used in the code of ``source``; empty unless it calls ``assert_parity``.

    Import statements, comments and string constants (docstrings included) contribute nothing.
    """
    tree = ast.parse(source)
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
    # importing assert_parity is no Name node: it is in ``used`` only if the code refers to it
    return used if "assert_parity" in used else set()


def test_every_supported_class_is_used_in_a_parity_test() -> None:
    used = set().union(*(names_used_in_parity_code(p.read_text())
                         for d in ("frontend", "sweeps") for p in sorted((TEST_ROOT / d).glob("test_*.py"))))
    untested = [c.__name__ for c in supported_classes() if c.__name__ not in used]
    assert not untested, f"converters without a parity test: {', '.join(untested)}"


def test_imports_comments_and_strings_do_not_count() -> None:
    source = (
        "from sklearn.linear_model import Lasso, Ridge\n"
        "import sklearn.linear_model as lm\n"
        "# Lars is tested elsewhere\n"
        "CASES = {'ElasticNet': lm.LinearRegression}\n"
        "def test_it():\n"
        "    '''Checks HuberRegressor.'''\n"
        "    assert_parity(Ridge().fit(X, y), X)\n"
    )
    used = names_used_in_parity_code(source)
    assert {"Ridge", "LinearRegression"} <= used
    assert not {"Lasso", "Lars", "ElasticNet", "HuberRegressor"} & used
    # a file that never checks parity counts for nothing, whatever it builds
    assert names_used_in_parity_code(source.replace("assert_parity", "print")) == set()

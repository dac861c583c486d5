"""Layers point one way: accel <- matfun <- matfun.optim; only the backend module knows numpy.

Checked on the source's import statements (AST), so a lazy import inside a function
counts too.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the module's package
                package = path.relative_to(ROOT).with_suffix("").parts[: -node.level]
                yield ".".join((*package, node.module or ""))
            else:
                yield node.module


def _modules(package):
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("accel"), ids=str)
def test_accel_never_imports_matfun(path):
    assert not [m for m in _imports(path) if m.split(".")[0] == "matfun"]


@pytest.mark.parametrize(
    "path", [p for p in _modules("matfun") if "optim" not in p.parts], ids=str
)
def test_matfun_core_never_imports_optim(path):
    assert not [m for m in _imports(path) if m.startswith("matfun.optim")]


def test_the_checker_sees_relative_imports():
    found = set(_imports(ROOT / "matfun" / "_series_setup.py"))
    assert "matfun.operators" in found

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


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph():
    """module -> the package modules it imports (anywhere in its source)."""
    paths = _modules("matfun") + _modules("accel")
    names = {_module_name(p) for p in paths}
    graph = {}
    for path in paths:
        module = _module_name(path)
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    package = path.relative_to(ROOT).with_suffix("").parts[: -node.level]
                    if path.name == "__init__.py":
                        package = path.relative_to(ROOT).parts[: -node.level]
                    base = ".".join((*package, node.module or "")).rstrip(".")
                else:
                    base = node.module
                # `from . import x` imports the module x when there is one
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    targets.add(candidate if candidate in names else base)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[module] = {t for t in targets if t in names and t != module}
    return graph


def _cycles(graph):
    # A package's __init__ importing its own submodules is how packages work, not a cycle.
    def edges(module):
        return {t for t in graph[module] if not module.startswith(t + ".")
                and not t.startswith(module + ".")}

    found, state = [], {}

    def visit(module, stack):
        state[module] = "open"
        for target in sorted(edges(module)):
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, [*stack, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_no_import_cycles():
    cycles = _cycles(_import_graph())
    assert not cycles, cycles


def test_the_cycle_checker_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]

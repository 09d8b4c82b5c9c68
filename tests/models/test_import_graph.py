"""The models layer's import graph: no cycles, and the registry never imports the zoo.

A source scan (no import needed): the module-level imports of every module under
``src/dermnet/models`` form the graph; `Registry` loads the zoo by name on first lookup.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
MODELS = SRC / "dermnet" / "models"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__")


def _imported(node: ast.AST, known: set[str]) -> set[str]:
    """The dermnet.models modules an import statement names."""
    names: set[str] = set()
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        names = {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in names if name in known}


def _module_level(tree: ast.Module) -> list[ast.AST]:
    """Import statements outside functions and classes (inside ``if``/``try`` too)."""
    found, stack = [], list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))
    return found


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in MODELS.rglob("*.py")}
    known = set(paths)
    return {
        name: set().union(*(_imported(n, known) for n in _module_level(ast.parse(p.read_text()))))
        - {name}
        for name, p in paths.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles, state = [], {}  # state: 1 = on the path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_the_scan_sees_the_zoo_importing_the_catalog():
    graph = _graph()
    assert "dermnet.models.catalog" in graph["dermnet.models.zoo.resnet"]
    assert "dermnet.models.zoo.resnet" in graph["dermnet.models.zoo"]


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_models_layer_has_no_import_cycle():
    assert _cycles(_graph()) == []


@pytest.mark.parametrize("module", ["catalog.py", "registry.py", "weights.py"])
def test_the_catalog_and_registry_never_import_the_zoo(module):
    """Not at module level, not in a function: `Registry` loads it by name."""
    tree = ast.parse((MODELS / module).read_text())
    named = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            named |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    assert not {n for n in named if n.startswith("dermnet.models.zoo")}
    from dermnet.models.registry import MODELS as registry

    assert registry.builtins == ("dermnet.models.zoo",)

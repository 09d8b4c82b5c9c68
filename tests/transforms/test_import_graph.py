"""The modules of `dermnet.transforms` import each other one way: no import cycle.

Every import counts, also those inside functions (a lazy import still ties two modules
together); imports under ``if TYPE_CHECKING:`` do not. Run this file as a script to print
the graph: ``python tests/transforms/test_import_graph.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dermnet.transforms

PACKAGE = "dermnet.transforms"
ROOT = Path(dermnet.transforms.__file__).parent


def package_modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``root``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join([package, *parts])] = path
    return found


def _imported_names(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    parent = parent.rpartition(".")[0]
                base = f"{parent}.{base}" if base else parent
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                names.add(sub if sub in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def import_graph(root: Path, package: str) -> dict[str, list[str]]:
    """Module -> the modules of the same package it imports (sorted)."""
    modules = package_modules(root, package)
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = _imported_names(tree, name, path.name == "__init__.py", set(modules))
        graph[name] = sorted(m for m in imported if m in modules and m != name)
    return graph


def cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in graph:
        if node not in index:
            connect(node)
    return found


def test_the_transforms_package_has_no_import_cycle():
    graph = import_graph(ROOT, PACKAGE)
    assert f"{PACKAGE}.base" in graph
    assert cycles(graph) == []


def test_base_does_not_import_the_modules_that_define_transforms():
    graph = import_graph(ROOT, PACKAGE)
    assert graph[f"{PACKAGE}.base"] == [f"{PACKAGE}._constraints", f"{PACKAGE}.functional"]


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ({"a": "from . import b", "b": "def f():\n    from .a import x"}, [["pkg.a", "pkg.b"]]),
        (
            {
                "a": "import pkg.b",
                "b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a",
            },
            [],
        ),
        ({"a": "from pkg.b import y", "b": "import os"}, []),
    ],
)
def test_the_checker_finds_lazy_cycles_and_skips_type_checking_imports(tmp_path, sources, expected):
    (tmp_path / "__init__.py").write_text("")
    for name, text in sources.items():
        (tmp_path / f"{name}.py").write_text(text + "\n")
    assert cycles(import_graph(tmp_path, "pkg")) == expected


if __name__ == "__main__":
    graph = import_graph(ROOT, PACKAGE)
    for module, targets in graph.items():
        print(f"{module} -> {', '.join(targets) or '-'}")
    print("cycles:", cycles(graph) or "none")

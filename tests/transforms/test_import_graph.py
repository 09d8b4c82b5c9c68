"""The modules of `dermnet.transforms` import each other one way: no import cycle.

Every import counts, also those inside functions (a lazy import still ties two modules
together); imports under ``if TYPE_CHECKING:`` do not. A second check counts only the
module-level imports, and every module is imported first in a fresh interpreter. Run
this file as a script to print the graph: ``python tests/transforms/test_import_graph.py``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
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


def _imported_names(
    tree: ast.AST, module: str, is_package: bool, known: set[str], module_level: bool = False
) -> set[str]:
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if module_level and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return  # runs when called, not when the module is imported
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


def import_graph(root: Path, package: str, module_level: bool = False) -> dict[str, list[str]]:
    """Module -> the modules of the same package it imports (sorted).

    With ``module_level``, only the imports that run when the module is imported count
    (those inside functions are left out).
    """
    modules = package_modules(root, package)
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        imported = _imported_names(tree, name, is_package, set(modules), module_level)
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


def test_the_transforms_package_has_no_module_level_import_cycle():
    """Only the imports that run when a module is imported (the top-level statements)."""
    graph = import_graph(ROOT, PACKAGE, module_level=True)
    assert len(graph) > 10, "the scan found too few modules: has the package moved?"
    assert cycles(graph) == []


def test_every_module_imports_first_in_a_fresh_interpreter():
    """Each module of the package, imported before any other of it, imports cleanly.

    A runtime import cycle shows only when the modules are imported in a particular order;
    one process imports each module after dropping every ``dermnet.transforms`` module.
    """
    modules = sorted(package_modules(ROOT, PACKAGE))
    script = textwrap.dedent(
        """
        import importlib, sys
        failed = {}
        for name in sys.argv[1:]:
            for loaded in [m for m in sys.modules if m.startswith("dermnet.transforms")]:
                del sys.modules[loaded]
            try:
                importlib.import_module(name)
            except Exception as exc:
                failed[name] = f"{type(exc).__name__}: {exc}"
        print("FAILED", failed)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, *modules], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "FAILED {}" in proc.stdout, proc.stdout[-3000:]


def test_the_registries_load_their_builtins_by_name():
    """The built-in transforms and augmentations are found through the registries alone."""
    from dermnet.transforms._augment_base import AUGMENTATIONS
    from dermnet.transforms.base import TRANSFORMS

    assert TRANSFORMS.builtins == ("dermnet.transforms.preprocessing",)
    assert AUGMENTATIONS.builtins == ("dermnet.transforms.augment",)
    assert {"compose", "resize", "remove_hair"} <= set(TRANSFORMS.names())
    assert {"random_flip", "mixup"} <= set(AUGMENTATIONS.names())


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

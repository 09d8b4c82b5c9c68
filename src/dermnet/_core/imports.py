"""Optional and lazy imports."""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from dermnet._core.errors import OptionalDependencyError

__all__ = ["lazy_exports", "optional_import"]


def optional_import(module: str, *, purpose: str, extra: str | None = None) -> ModuleType:
    """Import ``module`` or raise an `OptionalDependencyError` with an install hint.

    Args:
        module: the module to import, e.g. ``"tf2onnx"``.
        purpose: what needs it, for the message ("ONNX export").
        extra: the dermnet extra that installs it, e.g. ``"onnx"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        hint = f'pip install "dermnet[{extra}]"' if extra else f"pip install {module.split('.')[0]}"
        raise OptionalDependencyError(
            f"{purpose} needs the optional package {module!r}, which is not installed "
            f"({exc}). Install it with: {hint}"
        ) from exc


def _type_checking_imports(path: str) -> dict[str, tuple[str, str]]:
    """Map each name imported under ``if TYPE_CHECKING:`` in ``path`` to (module, attribute)."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    found: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
                    for alias in stmt.names:
                        found[alias.asname or alias.name] = (stmt.module, alias.name)
    return found


def lazy_exports(
    package: str, public: list[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for a package whose public names load on first use.

    The package lists its public names in a static ``__all__`` and imports them under
    ``if TYPE_CHECKING:`` (which type checkers and the API docs read); this helper reads
    those imports to learn which module defines each name, and imports that module only
    when the name is first used. ``import dermnet`` therefore does not import TensorFlow.

    Args:
        package: the package's ``__name__``.
        public: the package's ``__all__``.
    """
    pkg = sys.modules[package]
    sources = _type_checking_imports(pkg.__file__ or "")

    def __getattr__(name: str) -> Any:
        if name in sources:
            module_name, attribute = sources[name]
            if module_name == package:  # ``from pkg import submodule``
                value = importlib.import_module(f"{package}.{attribute}")
            else:
                value = getattr(importlib.import_module(module_name), attribute)
            pkg.__dict__[name] = value  # cache: later lookups skip __getattr__
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(pkg.__dict__) | set(public))

    return __getattr__, __dir__

"""Old public module paths of `dermnet.data` that keep working, with a warning."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any


def moved_names(
    old: str, moved: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of the deprecated module ``old``.

    Each name in ``moved`` (name -> the module that holds it now) still loads from
    ``old``, with a `DeprecationWarning` that says where to import it from.
    """

    def __getattr__(name: str) -> Any:
        if name not in moved:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(
            f"{old} is deprecated; import {name} from {moved[name]} (or from dermnet.data).",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(moved[name]), name)

    def __dir__() -> list[str]:
        return sorted(moved)

    return __getattr__, __dir__

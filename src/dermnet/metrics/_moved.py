"""Old public module paths of `dermnet.metrics` that keep working, with a warning."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any


def moved_names(old: str, moved: Mapping[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of the deprecated module ``old`` whose names moved.

    Each name in ``moved`` (name -> the module that holds it now) still loads from
    ``old``, with a `DeprecationWarning` that says where to import it from.
    """

    def __getattr__(name: str) -> Any:
        if name not in moved:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(
            f"{old} is deprecated; import {name} from dermnet.metrics (it lives in {moved[name]}).",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(moved[name]), name)

    return __getattr__

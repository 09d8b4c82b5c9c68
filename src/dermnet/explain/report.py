"""Deprecated: the file I/O of ``dermnet explain`` moved to `dermnet.explain.files`."""

from __future__ import annotations

import warnings
from typing import Any

_MOVED = ("load_explained_model", "read_images", "write_explanations")


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"dermnet.explain.report is deprecated; import {name} from dermnet.explain.files "
        "(load_explained_model and write_explanations also from dermnet.explain).",
        DeprecationWarning,
        stacklevel=2,
    )
    from dermnet.explain import files

    return getattr(files, name)

"""Deprecated: the ISIC loaders moved to `dermnet.data.datasets.isic`."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

_MOVED = {
    "ISIC2019_CLASSES": "dermnet.data.datasets.isic",
    "ISIC2020_CLASSES": "dermnet.data.datasets.isic",
    "load_isic2018": "dermnet.data.datasets.isic",
    "load_isic2019": "dermnet.data.datasets.isic",
    "load_isic2020": "dermnet.data.datasets.isic",
}


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"dermnet.data.isic is deprecated; import {name} from {_MOVED[name]} (or "
        "dermnet.data) instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(_MOVED[name]), name)


def __dir__() -> list[str]:
    return sorted(_MOVED)

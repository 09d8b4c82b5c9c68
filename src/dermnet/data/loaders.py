"""Deprecated: the dataset registry and loaders moved to `dermnet.data.datasets`."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

_MOVED = {
    "DATASETS": "dermnet.data.datasets",
    "register_dataset": "dermnet.data.datasets",
    "list_datasets": "dermnet.data.datasets",
    "load_dataset": "dermnet.data.datasets",
    "HAM10000_CLASSES": "dermnet.data.datasets.ham10000",
    "load_ham10000": "dermnet.data.datasets.ham10000",
    "MALARIA_CLASSES": "dermnet.data.datasets.malaria",
    "load_malaria": "dermnet.data.datasets.malaria",
    "IMAGE_EXTENSIONS": "dermnet.data.image_files",
    "load_csv": "dermnet.data.datasets.folders",
    "load_image_folder": "dermnet.data.datasets.folders",
}


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"dermnet.data.loaders is deprecated; import {name} from {_MOVED[name]} (or "
        "dermnet.data) instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(_MOVED[name]), name)


def __dir__() -> list[str]:
    return sorted(_MOVED)

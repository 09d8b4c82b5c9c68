"""Deprecated: the MedMNIST and hmnist loaders moved to `dermnet.data.datasets.medmnist`."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

_MOVED = {
    "HMNIST_LABELS": "dermnet.data.datasets.medmnist",
    "load_hmnist_csv": "dermnet.data.datasets.medmnist",
    "load_medmnist": "dermnet.data.datasets.medmnist",
}


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"dermnet.data.arrays is deprecated; import {name} from {_MOVED[name]} (or "
        "dermnet.data) instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(_MOVED[name]), name)


def __dir__() -> list[str]:
    return sorted(_MOVED)

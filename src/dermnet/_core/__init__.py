"""Shared internals: errors, registry, validation, optional imports, seeding, config.

Nothing here imports TensorFlow at import time.
"""

from dermnet._core.config import ConfigMixin
from dermnet._core.errors import (
    DataError,
    DermnetError,
    ExportError,
    LeakageError,
    MissingFileError,
    OptionalDependencyError,
    ParameterError,
    UnknownNameError,
)
from dermnet._core.imports import lazy_exports, optional_import
from dermnet._core.registry import Registry, did_you_mean, look_up_option
from dermnet._core.seeding import seed_everything
from dermnet._core.validation import (
    check_bool,
    check_float,
    check_image_size,
    check_int,
    check_option,
    check_path,
    check_seed,
    fail,
)

__all__ = [
    "ConfigMixin",
    "DataError",
    "DermnetError",
    "ExportError",
    "LeakageError",
    "MissingFileError",
    "OptionalDependencyError",
    "ParameterError",
    "Registry",
    "UnknownNameError",
    "check_bool",
    "check_float",
    "check_image_size",
    "check_int",
    "check_option",
    "check_path",
    "check_seed",
    "did_you_mean",
    "fail",
    "lazy_exports",
    "look_up_option",
    "optional_import",
    "seed_everything",
]

"""Saving and loading dermnet models."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dermnet._core.validation import check_path

if TYPE_CHECKING:
    import keras

__all__ = ["load_model"]


def load_model(path: str | os.PathLike[str], *, compile: bool = True) -> keras.Model:
    """Load a ``.keras`` file saved from a dermnet model (custom layers are registered).

    Raises:
        MissingFileError: the file does not exist.
    """
    import keras

    import dermnet.models.layers  # noqa: F401  (registers dermnet's Keras objects)

    path = check_path(path, "path", "load_model", kind="file", what="model file")
    return keras.models.load_model(path, compile=compile)

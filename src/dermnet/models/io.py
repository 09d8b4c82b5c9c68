"""Saving and loading dermnet models."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from dermnet._core.custom_objects import register_custom_objects
from dermnet._core.errors import ModelFileError
from dermnet._core.validation import check_path

if TYPE_CHECKING:
    import keras

__all__ = ["load_model"]

_KERAS_SUFFIXES = (".keras",)
_H5_SUFFIXES = (".h5", ".hdf5")
_MUST = (
    "a model saved with Keras 3 `model.save` (a `.keras` zip archive holding config.json "
    "and the weights) or a legacy `.h5` model file"
)


def _bad_file(path: Path, got: str) -> ModelFileError:
    return ModelFileError(f"The model file {str(path)!r} must be {_MUST}. Got {got} instead.")


def _check_keras_archive(path: Path) -> None:
    """Check the parts of a ``.keras`` file that Keras reads first, without loading it."""
    if not zipfile.is_zipfile(path):
        size = path.stat().st_size
        raise _bad_file(
            path,
            f"a file of {size:,} bytes that is not a zip archive (not a Keras model, or "
            "truncated: copied or downloaded only in part)",
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                listed = ", ".join(sorted(names)[:5]) or "nothing"
                raise _bad_file(path, f"a zip archive without config.json (it holds {listed})")
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad_file(path, f"a damaged archive ({type(exc).__name__}: {exc})") from exc
    if not isinstance(config, dict) or "class_name" not in config:
        raise _bad_file(path, "an archive whose config.json does not describe a Keras object")


def load_model(path: str | os.PathLike[str], *, compile: bool = True) -> keras.Model:
    """Load a model saved from dermnet (or any Keras 3 model) in any process.

    Every Keras object dermnet defines is registered first
    (`dermnet.models.register_custom_objects`): preprocessing and augmentation layers,
    focal and class-balanced losses, streaming metrics, and the learning-rate schedule
    saved with the optimizer. So ``import dermnet; dermnet.load_model(path)`` is enough
    in a fresh Python process.

    Args:
        path: a ``.keras`` file (``model.save(path)``, `dermnet.train.fit`'s
            ``checkpoint``) or a legacy ``.h5`` model file.
        compile: restore the loss, metrics and optimizer state too; ``False`` loads
            the model for prediction only.

    Returns:
        The Keras model.

    Raises:
        MissingFileError: the file does not exist.
        ModelFileError: the file is not a Keras model (another file renamed, a truncated
            copy, an archive without the model's config), or Keras could not rebuild it
            (e.g. it holds custom objects of another library that are not registered);
            the message names the file and what Keras reported.
    """
    import keras

    path = check_path(path, "path", "load_model", kind="file", what="model file")
    suffix = path.suffix.lower()
    if suffix in _KERAS_SUFFIXES:
        _check_keras_archive(path)
    elif suffix not in _H5_SUFFIXES:
        raise _bad_file(path, f"a file with the suffix {suffix or '(none)'!r}")
    register_custom_objects()
    try:
        return keras.models.load_model(path, compile=compile)
    except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as exc:
        raise ModelFileError(
            f"The model file {str(path)!r} could not be loaded by Keras: "
            f"{type(exc).__name__}: {exc}"
        ) from exc

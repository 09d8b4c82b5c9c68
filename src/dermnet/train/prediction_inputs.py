"""What `dermnet.train.prediction.predict_to_csv` predicts: image files, folders
(searched recursively, in sorted order) and CSVs of image paths (with their metadata)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dermnet._core.errors import DataError, MissingFileError

__all__ = ["image_inputs", "image_paths"]

#: The columns a CSV of images may name its paths in, in order of preference.
_PATH_COLUMNS = ("image_path", "image", "path", "file")


def _folder_images(folder: Path) -> tuple[list[str], list[str]]:
    from dermnet.data.image_files import IMAGE_EXTENSIONS

    found: list[str] = []
    other: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            (found if Path(name).suffix.lower() in IMAGE_EXTENSIONS else other).append(path)
    if not found:
        raise DataError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in folder {folder}.")
    return found, other


def _csv_inputs(path: Path) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The image paths of a CSV (relative ones from the CSV's folder) and its other columns."""
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"The CSV of images {path} is not readable ({exc}).") from None
    column = next((c for c in _PATH_COLUMNS if c in table.columns), None)
    if column is None:
        raise DataError(
            f"The CSV of images {path} must have an image path column (one of "
            f"{list(_PATH_COLUMNS)}). Got columns {list(table.columns)} instead."
        )
    paths = [
        p if os.path.isabs(p) else os.path.normpath(os.path.join(path.parent, p))
        for p in table[column].astype(str)
    ]
    rest = table.drop(columns=column)
    rows = rest.to_dict("records") if len(rest.columns) else [{}] * len(paths)
    return paths, dict(zip(paths, rows, strict=True))


def image_inputs(
    inputs: Sequence[str | os.PathLike[str]],
) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Image paths from files, folders (recursive) and CSVs; the CSVs' metadata."""
    paths: list[str] = []
    metadata: dict[str, dict[str, Any]] = {}
    other: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found, rest = _folder_images(path)
            paths += found
            other += rest
        elif path.is_file() and path.suffix.lower() == ".csv":
            found_csv, rows = _csv_inputs(path)
            paths += found_csv
            metadata.update(rows)
        elif path.is_file():
            paths.append(str(path.resolve()))
        else:
            raise MissingFileError(f"The image, folder or CSV to predict does not exist: {path}")
    if other:
        import warnings

        shown = ", ".join(other[:3]) + (", ..." if len(other) > 3 else "")
        warnings.warn(
            f"scored {len(paths)} of {len(paths) + len(other)} files: {len(other)} file(s) in "
            f"the given folder(s) are not image files dermnet reads: {shown}",
            UserWarning,
            stacklevel=3,
        )
    return paths, metadata


def image_paths(inputs: Sequence[str | os.PathLike[str]]) -> list[str]:
    """The image files of ``inputs`` (files and folders, searched recursively), in order.

    Raises:
        MissingFileError: an input does not exist.
        DataError: a folder holds no image dermnet reads.
    """
    from dermnet.data.image_files import IMAGE_EXTENSIONS

    paths: list[str] = []
    other: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            found = [str(p) for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
            other += [str(p) for p in files if p.suffix.lower() not in IMAGE_EXTENSIONS]
            if not found:
                raise DataError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in folder {path}.")
            paths += found
        elif path.is_file():
            paths.append(str(path.resolve()))
        else:
            raise MissingFileError(f"The image or folder to predict does not exist: {path}")
    if other:
        import warnings

        shown = ", ".join(other[:3]) + (", ..." if len(other) > 3 else "")
        warnings.warn(
            f"scored {len(paths)} of {len(paths) + len(other)} files: {len(other)} file(s) in "
            f"the given folder(s) are not images dermnet reads ({', '.join(IMAGE_EXTENSIONS)}): "
            f"{shown}",
            UserWarning,
            stacklevel=3,
        )
    return paths

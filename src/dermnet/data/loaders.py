"""Loaders that read public datasets as they come, and a registry of them.

No loader downloads anything: where a dataset must be fetched by hand, the error says from
where and which files are expected.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from dermnet._core.errors import DataError, MissingFileError
from dermnet._core.registry import Registry
from dermnet._core.validation import check_option, check_path
from dermnet.data.records import Records

__all__ = [
    "DATASETS",
    "HAM10000_CLASSES",
    "IMAGE_EXTENSIONS",
    "MALARIA_CLASSES",
    "list_datasets",
    "load_dataset",
    "load_ham10000",
    "load_image_folder",
    "load_malaria",
    "register_dataset",
]

#: HAM10000 diagnosis codes in dermnet's fixed (alphabetical) class order.
HAM10000_CLASSES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
#: NIH malaria cell classes in dermnet's fixed order.
MALARIA_CLASSES = ("Parasitized", "Uninfected")
#: File extensions read as images (lower case).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
#: Files that image folders often contain and that are not images.
_IGNORED_FILES = {"thumbs.db", ".ds_store", "desktop.ini"}

#: The dataset registry: name -> loader taking ``root`` (and keyword options).
DATASETS: Registry[Callable[..., Records]] = Registry("dataset")

_ON_ERROR = ("raise", "skip")


def register_dataset(name: str) -> Callable[[Callable[..., Records]], Callable[..., Records]]:
    """Decorator registering a loader ``fn(root, **options) -> Records`` under ``name``."""
    return DATASETS.decorator(name)


def list_datasets(pattern: str | None = None) -> list[str]:
    """Names of the registered datasets, optionally filtered by a shell-style pattern."""
    return DATASETS.names(pattern)


def load_dataset(name: str, root: str | os.PathLike[str], **options: Any) -> Records:
    """Load a registered dataset by name, e.g. ``load_dataset("ham10000", "data/ham")``."""
    return DATASETS.get(name, where="load_dataset")(root, **options)


def _format_paths(paths: list[str], limit: int = 5) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f", ... ({len(paths)} in all)" if len(paths) > limit else "")


def _drop_missing_files(
    frame: pd.DataFrame, dataset: str, on_error: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check every image path exists; raise, or move missing rows to an excluded table."""
    exists = frame["image_path"].map(os.path.isfile)
    missing = frame.loc[~exists]
    if missing.empty:
        return frame, pd.DataFrame(columns=[*frame.columns, "reason"])
    paths = missing["image_path"].astype(str).tolist()
    if on_error == "raise":
        raise MissingFileError(
            f"{len(paths)} image file(s) of dataset {dataset!r} are missing: "
            f"{_format_paths(paths)}. Pass on_error='skip' to exclude them (they are then "
            "listed in records.excluded)."
        )
    excluded = missing.assign(reason="missing file")
    return frame.loc[exists], excluded


def _find_ham_images(root: Path) -> dict[str, str]:
    """Map image_id -> path for the HAM10000 layouts (one folder, or part_1/part_2)."""
    candidates = [
        root / "images",
        root / "HAM10000_images",
        root / "HAM10000_images_part_1",
        root / "HAM10000_images_part_2",
        root / "ham10000_images_part_1",
        root / "ham10000_images_part_2",
        root,
    ]
    found: dict[str, str] = {}
    for folder in candidates:
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            stem, ext = os.path.splitext(entry.name)
            if ext.lower() in IMAGE_EXTENSIONS and entry.is_file():
                found.setdefault(stem, entry.path)
    return found


@register_dataset("ham10000")
def load_ham10000(root: str | os.PathLike[str], *, on_error: str = "raise") -> Records:
    """Load HAM10000 (the ISIC 2018 Task 3 training set) from a local download.

    ``root`` holds ``HAM10000_metadata.csv`` and the images, either in one folder
    (``images/`` or ``root`` itself) or in the ``HAM10000_images_part_1``/``part_2`` layout
    of the Harvard Dataverse and Kaggle downloads. Classes, in this fixed order:
    ``akiec, bcc, bkl, df, mel, nv, vasc``. Rows are grouped by ``lesion_id``; the metadata
    columns are ``age``, ``sex`` and ``localization``.

    Args:
        root: the dataset folder.
        on_error: ``"raise"`` (default) on a missing image, or ``"skip"`` to exclude it
            (excluded rows are kept in ``records.excluded`` with a reason).

    Raises:
        MissingFileError: no metadata CSV, or missing images with ``on_error="raise"``.
        DataError: the CSV lacks a required column or has an unknown diagnosis.
    """
    root = check_path(root, "root", "load_ham10000", kind="dir", what="HAM10000 folder")
    on_error = check_option(on_error, _ON_ERROR, "on_error", "load_ham10000")
    csv = next(
        (p for p in (root / "HAM10000_metadata.csv", root / "HAM10000_metadata") if p.is_file()),
        None,
    )
    if csv is None:
        raise MissingFileError(
            f"No HAM10000_metadata.csv in {root}. Download HAM10000 by hand from "
            "https://doi.org/10.7910/DVN/DBW86T (or the ISIC 2018 Task 3 training data) and "
            "put HAM10000_metadata.csv with the HAM10000_images_part_1/part_2 folders there."
        )
    table = pd.read_csv(csv)
    needed = ["lesion_id", "image_id", "dx"]
    lacking = [c for c in needed if c not in table.columns]
    if lacking:
        raise DataError(
            f"{csv} lacks the column(s) {lacking}; its columns are {list(table.columns)}."
        )
    images = _find_ham_images(root)
    table["image_path"] = (
        table["image_id"]
        .astype(str)
        .map(lambda i: images.get(i, str(root / "images" / f"{i}.jpg")))
    )
    table["label"] = table["dx"].astype(str)
    table, excluded = _drop_missing_files(table, "ham10000", on_error)
    meta = [c for c in ("age", "sex", "localization") if c in table.columns]
    try:
        return Records(
            table,
            HAM10000_CLASSES,
            name="ham10000",
            group_cols=("lesion_id",),
            metadata_cols=meta,
            excluded=excluded,
        )
    except DataError as exc:
        raise DataError(f"{csv}: {exc}") from None


def _scan_class_folders(root: Path, classes: tuple[str, ...] | None) -> pd.DataFrame:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if classes is not None:
        missing = [c for c in classes if not (root / c).is_dir()]
        if missing:
            raise MissingFileError(f"Expected class folder(s) {missing} in {root}.")
        folders = [root / c for c in classes]
    rows = []
    for folder in folders:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if not entry.is_file() or entry.name.lower() in _IGNORED_FILES:
                continue
            if os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
                rows.append(
                    {
                        "image_id": os.path.splitext(entry.name)[0],
                        "image_path": entry.path,
                        "label": folder.name,
                    }
                )
    return pd.DataFrame(rows, columns=["image_id", "image_path", "label"])


@register_dataset("image_folder")
def load_image_folder(
    root: str | os.PathLike[str], *, classes: tuple[str, ...] | None = None, name: str | None = None
) -> Records:
    """Load a folder with one sub-folder of images per class (``root/<class>/<image>``).

    Args:
        root: the folder.
        classes: the class order; by default the sub-folder names, sorted.
        name: the dataset name (default: the folder's name).

    Raises:
        MissingFileError: ``root`` or a named class folder does not exist.
        DataError: no class folders, or a class folder without images.
    """
    root = check_path(root, "root", "load_image_folder", kind="dir", what="image folder")
    frame = _scan_class_folders(root, classes)
    classes = classes or tuple(
        sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    )
    if not classes:
        raise DataError(f"{root} has no class sub-folders (expected root/<class>/<image>).")
    records = Records(frame, classes, name=name or root.name)
    empty = [c for c, n in records.class_counts().items() if n == 0]
    if empty:
        raise DataError(f"Class folder(s) without images in {root}: {empty}.")
    return records


@register_dataset("malaria")
def load_malaria(root: str | os.PathLike[str]) -> Records:
    """Load the NIH malaria cell images (``cell_images/{Parasitized,Uninfected}``).

    ``root`` is either the folder holding ``cell_images`` or the folder holding the two
    class folders. Non-image files such as ``Thumbs.db`` are ignored. Classes, in this
    order: ``Parasitized, Uninfected``. Palette and RGBA PNGs are decoded to RGB by the
    pipeline.

    Raises:
        MissingFileError: the folder does not exist or lacks a class folder; the message
            says where to download the data.
    """
    root = check_path(root, "root", "load_malaria", kind="dir", what="malaria folder")
    if (root / "cell_images").is_dir():
        root = root / "cell_images"
    if not all((root / c).is_dir() for c in MALARIA_CLASSES):
        raise MissingFileError(
            f"{root} lacks the class folders {list(MALARIA_CLASSES)}. Download cell_images.zip "
            "by hand from https://lhncbc.nlm.nih.gov/LHC-research/LHC-projects/image-processing/"
            "malaria-datasheet.html and unpack it there."
        )
    records = load_image_folder(root, classes=MALARIA_CLASSES, name="malaria")
    return records

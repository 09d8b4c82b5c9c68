"""Labelled images in a folder per class, or listed in a CSV table: any dataset on disk."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from dermnet._core.errors import DataError, MissingFileError, ParameterError
from dermnet._core.validation import check_bool, check_path
from dermnet.data.datasets import register_dataset
from dermnet.data.datasets._table_to_records import (
    add_excluded,
    check_loader_options,
    clean_labels,
    index_image_files,
    read_csv_table,
    read_raw_labels,
    records_from_table,
    shorten_list,
)
from dermnet.data.image_files import IMAGE_EXTENSIONS
from dermnet.data.records import Records

__all__ = ["IMAGE_EXTENSIONS", "load_csv", "load_image_folder"]

#: Files that image folders often contain and that are not images.
_IGNORED_FILES = {"thumbs.db", ".ds_store", "desktop.ini"}


def _class_folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _scan_class_folders(root: Path, classes: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(image rows, other files): files with an unknown extension are returned, not dropped."""
    rows, others = [], []
    for cls in classes:
        for entry in sorted(os.scandir(root / cls), key=lambda e: e.name):
            if not entry.is_file() or entry.name.lower() in _IGNORED_FILES:
                continue
            if entry.name.startswith("."):  # hidden files (._name from macOS archives)
                continue
            stem, ext = os.path.splitext(entry.name)
            row = {"image_id": f"{cls}/{stem}", "image_path": entry.path, "label": cls}
            if ext.lower() in IMAGE_EXTENSIONS:
                rows.append(row)
            else:
                others.append({**row, "reason": f"not an image file extension ({ext or 'none'})"})
    columns = ["image_id", "image_path", "label"]
    return pd.DataFrame(rows, columns=columns), pd.DataFrame(others, columns=[*columns, "reason"])


@register_dataset("image_folder")
def load_image_folder(
    root: str | os.PathLike[str],
    *,
    classes: Sequence[str] | None = None,
    name: str | None = None,
    on_error: str = "raise",
    verify: bool = False,
) -> Records:
    """Load a folder with one sub-folder of images per class (``root/<class>/<image>``).

    Image files are those with an extension in `IMAGE_EXTENSIONS` (``.jpg``,
    ``.jpeg``, ``.png``, ``.bmp``, ``.gif``, ``.webp``, ``.tif``, ``.tiff``, any case).
    ``Thumbs.db``, ``.DS_Store``, ``desktop.ini`` and hidden files are ignored; any other
    file in a class folder (``.heic``, ``.txt``, ...) is reported in a warning (count and
    first names) and listed in ``records.excluded`` with its reason, never dropped
    silently. ``image_id`` is ``<class>/<file stem>``.

    Args:
        root: the folder.
        classes: the class order; by default the sub-folder names, sorted.
        name: the dataset name (default: the folder's name).
        on_error: ``"raise"`` or ``"skip"`` for unreadable images (with ``verify``).
        verify: decode every image to find unreadable or truncated files.

    Raises:
        MissingFileError: ``root`` or a named class folder does not exist.
        DataError: no class folders, or a class folder without images.

    Examples:
        >>> from dermnet.data import sample_path
        >>> load_image_folder(sample_path("malaria")).class_counts()
        {'Parasitized': 100, 'Uninfected': 100}
    """
    where = "load_image_folder"
    root = check_path(root, "root", where, kind="dir", what="image folder")
    on_error = check_loader_options(on_error, True, verify, where)
    if classes is not None:
        classes = tuple(str(c) for c in classes)
        missing = [c for c in classes if not (root / c).is_dir()]
        if missing:
            raise MissingFileError(
                f"Expected class folder(s) {missing} in {root}; its sub-folders are "
                f"{_class_folders(root)}."
            )
    else:
        classes = tuple(_class_folders(root))
    if not classes:
        raise DataError(f"{root} has no class sub-folders (expected root/<class>/<image>).")
    frame, others = _scan_class_folders(root, classes)
    if len(others):
        names = [os.path.relpath(p, root) for p in others["image_path"]]
        warnings.warn(
            f"load_image_folder: {len(others)} file(s) in the class folders of {root} are not "
            f"image files and were left out: {shorten_list(names, 3)}. Images must end in "
            f"{', '.join(IMAGE_EXTENSIONS)}; the files are listed in records.excluded.",
            UserWarning,
            stacklevel=2,
        )
    counts = frame["label"].value_counts()
    empty = [c for c in classes if counts.get(c, 0) == 0]
    if empty:
        raise DataError(
            f"Class folder(s) without images in {root}: {empty} (images must end in "
            f"{', '.join(IMAGE_EXTENSIONS)})."
        )
    records = records_from_table(
        frame,
        classes,
        name=name or root.name,
        source=root,
        on_error=on_error,
        check_files=False,
        verify=verify,
    )
    return add_excluded(records, others)


def _outside_root(paths: Sequence[str], root: Path) -> list[int]:
    """Positions of the paths that do not lie under ``root`` (lexically, after ``..``)."""
    base = os.path.normpath(os.path.abspath(root))
    out = []
    for i, path in enumerate(paths):
        full = os.path.normpath(os.path.abspath(path))
        if full != base and not full.startswith(base.rstrip(os.sep) + os.sep):
            out.append(i)
    return out


def _resolve_paths(values: pd.Series, root: Path, recursive: bool) -> list[str]:
    """Paths for a CSV column holding file names, relative paths or ids without extension."""
    index: dict[str, str] | None = None
    out = []
    for value in values.astype(str).str.strip():
        candidate = Path(value)
        if not candidate.is_absolute():
            candidate = root / value
        if candidate.suffix.lower() in IMAGE_EXTENSIONS and candidate.is_file():
            out.append(str(candidate))
            continue
        if index is None:
            index = index_image_files([root], recursive=recursive)
        stem = Path(value).name
        out.append(index.get(stem, index.get(Path(stem).stem, str(candidate))))
    return out


@register_dataset("csv")
def load_csv(
    csv: str | os.PathLike[str],
    root: str | os.PathLike[str] | None = None,
    image_col: str = "image",
    label_col: str = "label",
    group_col: str | None = None,
    *,
    classes: Sequence[str] | None = None,
    metadata_cols: Sequence[str] = (),
    name: str | None = None,
    on_error: str = "raise",
    check_files: bool = True,
    verify: bool = False,
    recursive: bool = False,
    allow_outside_root: bool = False,
) -> Records:
    """Load any table of labelled images: one CSV row per image.

    The image column may hold absolute paths, paths relative to ``root``, file names, or
    ids without extension (``ISIC_0024306``); ids are looked up among the image files in
    ``root`` (and its sub-folders with ``recursive=True``). Every image must lie under
    ``root`` (checked on the path as written, after resolving ``..``; symbolic links are
    not followed): a path that leads outside it (``../other/x.jpg``, ``/etc/...``) is an
    error naming the row, unless ``allow_outside_root=True``.

    Labels are read as text exactly as written (stripped of spaces), with no
    missing-value conversion: an empty or blank label is an error naming its rows, and so
    is a label that pandas and spreadsheets read as missing (``NA``, ``N/A``, ``null``,
    ``None``, ``NaN``, ...) unless ``classes`` names it as a class. A diagnosis table
    should not turn an ambiguous cell into "no label" or into a class silently.

    Args:
        csv: the CSV file.
        root: the folder the image column is relative to (default: the CSV's folder).
        image_col: the column naming the image.
        label_col: the column holding the class name (or class index).
        group_col: the column grouping images of one lesion or patient, if any.
        classes: the class order; by default the sorted distinct labels. When given, a
            label outside it, or a class without rows, is an error.
        metadata_cols: columns to keep as metadata model inputs (age, sex, site, ...).
        name: the dataset name (default: the CSV's stem).
        on_error: ``"raise"`` (default) or ``"skip"`` (exclude and record) for missing or
            unreadable images and repeated image ids.
        check_files: look for every image file (default); ``False`` loads the table only.
        verify: also decode every image to find unreadable or truncated files.
        recursive: look for images in the sub-folders of ``root`` too.
        allow_outside_root: accept image paths that lead outside ``root``.

    Raises:
        DataError: a named column is missing, a label is blank, missing-like or unknown,
            an id is repeated, a given class has no rows, or an image path leads outside
            ``root``.
        MissingFileError: the CSV or (with ``on_error="raise"``) an image is missing.

    Examples:
        >>> from dermnet.data import sample_path
        >>> folder = sample_path("ham10000")
        >>> records = load_csv(folder / "HAM10000_metadata.csv", folder / "images",
        ...                    image_col="image_id", label_col="dx", group_col="lesion_id")
        >>> len(records), records.classes[:3]
        (700, ('akiec', 'bcc', 'bkl'))
    """
    where = "load_csv"
    csv = check_path(csv, "csv", where, kind="file", what="CSV file")
    root = csv.parent if root is None else check_path(root, "root", where, kind="dir")
    on_error = check_loader_options(on_error, check_files, verify, where)
    recursive = check_bool(recursive, "recursive", where)
    allow_outside_root = check_bool(allow_outside_root, "allow_outside_root", where)
    for param, value in (("image_col", image_col), ("label_col", label_col)):
        if not isinstance(value, str):
            raise ParameterError(
                f"The {param!r} parameter of load_csv must be a column name (str). "
                f"Got {value!r} instead."
            )
    wanted = [image_col, label_col, *([group_col] if group_col else []), *metadata_cols]
    table = read_csv_table(csv, wanted, "image table")
    if classes is not None:
        classes = tuple(str(c) for c in classes)
    raw = read_raw_labels(csv, label_col, len(table))
    table["label"] = clean_labels(raw, csv, label_col, classes).to_numpy()
    if classes is None:
        classes = tuple(sorted(table["label"].unique()))
    else:
        counts = table["label"].value_counts()
        empty = [c for c in classes if counts.get(c, 0) == 0]
        if empty and not (set(table["label"]) - set(classes)):
            raise DataError(f"{csv}: class(es) {empty} have no rows in column {label_col!r}.")
    if "image_id" not in table.columns or image_col == "image_id":
        table["image_id"] = table[image_col].astype(str).str.strip()
    if check_files:
        table["image_path"] = _resolve_paths(table[image_col], root, recursive)
    else:
        table["image_path"] = [str(root / str(v).strip()) for v in table[image_col]]
    outside = [] if allow_outside_root else _outside_root(table["image_path"].tolist(), root)
    if outside:
        shown = "; ".join(
            f"row {i}: {str(table[image_col].iloc[i]).strip()!r}" for i in outside[:5]
        )
        raise DataError(
            f"{csv}: {len(outside)} image path(s) in column {image_col!r} lead outside the "
            f"dataset root {root}: {shown}{' ...' if len(outside) > 5 else ''}. Move the "
            "images under the root or pass root=... to load_csv, or pass "
            "allow_outside_root=True if these paths are meant."
        )
    return records_from_table(
        table,
        classes,
        name=name or csv.stem,
        source=csv,
        on_error=on_error,
        check_files=check_files,
        verify=verify,
        group_cols=(group_col,) if group_col else (),
        metadata_cols=tuple(metadata_cols),
    )

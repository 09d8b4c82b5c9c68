"""HAM10000 (the ISIC 2018 Task 3 training set), read from a local download."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dermnet._core.errors import MissingFileError
from dermnet._core.validation import check_path, fail
from dermnet.data.datasets import register_dataset
from dermnet.data.datasets._table_to_records import (
    check_loader_options,
    clean_labels,
    index_image_files,
    read_csv_table,
    records_from_table,
)
from dermnet.data.records import Records, check_records

__all__ = ["HAM10000_CLASSES", "HAM10000_MALIGNANT", "load_ham10000", "to_benign_malignant"]

#: HAM10000 diagnosis codes in dermnet's fixed (alphabetical) class order.
HAM10000_CLASSES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")

_HAM_HINT = (
    "Download HAM10000 by hand from https://doi.org/10.7910/DVN/DBW86T (Harvard Dataverse) "
    "or the ISIC 2018 Task 3 training data, and put HAM10000_metadata.csv with the "
    "HAM10000_images_part_1/part_2 folders (or one images/ folder) in the dataset folder."
)


def _find_ham_csv(root: Path) -> Path | None:
    exact = [root / "HAM10000_metadata.csv", root / "HAM10000_metadata"]
    found = [p for p in exact if p.is_file()]
    found += sorted(p for p in root.glob("HAM10000_metadata*.csv") if p not in found)
    return found[0] if found else None


def _ham_image_folders(root: Path) -> list[Path]:
    names = [
        "images",
        "HAM10000_images",
        "HAM10000_images_part_1",
        "HAM10000_images_part_2",
        "ham10000_images_part_1",
        "ham10000_images_part_2",
    ]
    folders = []
    for name in names:
        folder = root / name
        folders.append(folder)
        folders.append(folder / name)  # some archives unpack into a folder of the same name
    return [*folders, root]


@register_dataset("ham10000")
def load_ham10000(
    root: str | os.PathLike[str],
    *,
    on_error: str = "raise",
    check_files: bool = True,
    verify: bool = False,
) -> Records:
    """Load HAM10000 (the ISIC 2018 Task 3 training set) from a local download.

    ``root`` holds ``HAM10000_metadata.csv`` (or another ``HAM10000_metadata*.csv``) and the
    images, either in one folder (``images/`` or ``root`` itself) or in the
    ``HAM10000_images_part_1``/``part_2`` layout of the Harvard Dataverse and Kaggle
    downloads. Classes, in this fixed order: ``akiec, bcc, bkl, df, mel, nv, vasc``. Rows
    are grouped by ``lesion_id`` (10,015 images of 7,470 lesions); the metadata columns are
    ``age``, ``sex`` and ``localization``.

    Args:
        root: the dataset folder.
        on_error: ``"raise"`` (default) on a missing or (with ``verify``) unreadable image
            or a duplicate ``image_id``, or ``"skip"`` to exclude it (excluded rows are kept
            in ``records.excluded`` with a reason).
        check_files: look for every image file (default); ``False`` loads the table only.
        verify: also decode every image to find unreadable or truncated files (slower).

    Raises:
        MissingFileError: no metadata CSV, or missing images with ``on_error="raise"``.
        DataError: the CSV lacks a required column or has an unknown diagnosis.

    Examples:
        >>> from dermnet.data import sample_path
        >>> records = load_ham10000(sample_path("ham10000"))
        >>> records.group_cols, records.metadata_cols
        (('lesion_id',), ('age', 'sex', 'localization'))
    """
    where = "load_ham10000"
    root = check_path(root, "root", where, kind="dir", what="HAM10000 folder")
    on_error = check_loader_options(on_error, check_files, verify, where)
    csv = _find_ham_csv(root)
    if csv is None:
        raise MissingFileError(f"No HAM10000_metadata.csv in {root}. {_HAM_HINT}")
    table = read_csv_table(csv, ["lesion_id", "image_id", "dx"], "HAM10000 metadata")
    images = index_image_files(_ham_image_folders(root)) if check_files else {}
    table["image_id"] = table["image_id"].astype(str).str.strip()
    table["image_path"] = [
        images.get(i, str(root / "images" / f"{i}.jpg")) for i in table["image_id"]
    ]
    # the diagnosis as written: a blank or "NA" label is named, not read as a class "nan"
    raw = pd.read_csv(csv, usecols=["dx"], dtype=str, keep_default_na=False)["dx"]
    table["label"] = clean_labels(raw, csv, "dx", HAM10000_CLASSES).to_numpy()
    return records_from_table(
        table,
        HAM10000_CLASSES,
        name="ham10000",
        source=csv,
        on_error=on_error,
        check_files=check_files,
        verify=verify,
        group_cols=("lesion_id",),
        metadata_cols=("age", "sex", "localization"),
        hint=_HAM_HINT,
    )


#: The HAM10000 diagnoses that are malignant: melanoma, basal cell carcinoma and actinic
#: keratosis / intraepithelial carcinoma (Bowen's disease). The other four (``bkl``,
#: ``df``, ``nv``, ``vasc``) are benign.
HAM10000_MALIGNANT = ("akiec", "bcc", "mel")


def to_benign_malignant(records: Records, malignant: Sequence[str] = HAM10000_MALIGNANT) -> Records:
    """Relabel diagnosis records to the two classes ``benign, malignant`` (in that order).

    The standard HAM10000 grouping: ``mel``, ``bcc`` and ``akiec`` are malignant
    (`HAM10000_MALIGNANT`), every other diagnosis benign. The original diagnosis is kept
    in the column ``dx``; groups (``lesion_id``), metadata columns, role, exclusions and
    in-memory images are kept. The result is named ``<name>_binary``.

    Args:
        records: records whose classes are diagnosis codes (HAM10000, ISIC 2018, DermaMNIST).
        malignant: the classes that count as malignant; each must be one of the records'
            classes (for ISIC 2019 codes pass e.g. ``("ak", "bcc", "mel", "scc")``).

    Returns:
        New `Records` with classes ``("benign", "malignant")``.

    Raises:
        ParameterError: ``records`` is not `Records`, or a ``malignant`` class is not
            one of its classes.

    Examples:
        >>> from dermnet.data import load_sample
        >>> binary = to_benign_malignant(load_sample("ham10000"))
        >>> binary.classes, binary.class_counts()["malignant"]
        (('benign', 'malignant'), 250)
    """
    where = "to_benign_malignant"
    check_records(records, where)
    if isinstance(malignant, str) or not isinstance(malignant, Sequence):
        raise fail("malignant", where, "a sequence of class names", malignant)
    malignant = tuple(str(c) for c in malignant)
    unknown = [c for c in malignant if c not in records.classes]
    if unknown or not malignant:
        raise fail(
            "malignant",
            where,
            f"a non-empty list of classes among {list(records.classes)}",
            list(malignant),
        )
    frame = records.frame.copy()
    frame["dx"] = frame["label"]
    frame["label"] = np.where(frame["dx"].isin(malignant), "malignant", "benign")
    return Records(
        frame,
        ("benign", "malignant"),
        name=f"{records.name}_binary",
        group_cols=records.group_cols,
        metadata_cols=records.metadata_cols,
        role=records.role,
        excluded=records.excluded,
        images=records.images,
    )

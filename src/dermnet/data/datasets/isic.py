"""Loaders for the ISIC challenge datasets: 2018 Task 3, 2019 and 2020 (SIIM-ISIC).

Each reads the official ground-truth CSV as downloaded (one-hot class columns for 2018 and
2019, a binary ``target`` for 2020) plus its metadata CSV, and finds the images in the
folder layouts of the ISIC archive and of Kaggle. Nothing is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dermnet._core.errors import DataError, MissingFileError
from dermnet._core.validation import check_option, check_path
from dermnet.data.datasets import register_dataset
from dermnet.data.datasets._table_to_records import (
    add_excluded,
    check_loader_options,
    index_image_files,
    read_csv_table,
    records_from_table,
)
from dermnet.data.datasets.ham10000 import HAM10000_CLASSES
from dermnet.data.records import Records

__all__ = [
    "ISIC2019_CLASSES",
    "ISIC2020_CLASSES",
    "UNKNOWN_REASON",
    "load_isic2018",
    "load_isic2019",
    "load_isic2020",
    "unknown_lesions",
]

#: ISIC 2019 diagnoses in dermnet's fixed (alphabetical) class order; ``UNK`` is not a class.
ISIC2019_CLASSES = ("ak", "bcc", "bkl", "df", "mel", "nv", "scc", "vasc")
#: ISIC 2020 classes: ``target`` 0 and 1.
ISIC2020_CLASSES = ("benign", "malignant")

_ISIC2018_COLUMNS = {
    "AKIEC": "akiec",
    "BCC": "bcc",
    "BKL": "bkl",
    "DF": "df",
    "MEL": "mel",
    "NV": "nv",
    "VASC": "vasc",
}
_ISIC2019_COLUMNS = {
    "AK": "ak",
    "BCC": "bcc",
    "BKL": "bkl",
    "DF": "df",
    "MEL": "mel",
    "NV": "nv",
    "SCC": "scc",
    "VASC": "vasc",
}
_SPLIT_NAMES = {
    "training": "Training",
    "train": "Training",
    "validation": "Validation",
    "val": "Validation",
    "test": "Test",
}
_SPLIT_ROLES = {"Training": "train", "Validation": "val", "Test": "test"}
_DOWNSAMPLED = "_downsampled"


def _find_file(root: Path, names: Sequence[str], depth: int = 2) -> Path | None:
    """The first of ``names`` (exact file names or glob patterns) in ``root`` or below it."""
    for name in names:
        for level in range(depth + 1):
            pattern = "/".join(["*"] * level + [name])
            hits = sorted(p for p in root.glob(pattern) if p.is_file())
            if hits:
                return hits[0]
    return None


def _one_hot_labels(
    table: pd.DataFrame, columns: dict[str, str], csv: Path, unknown_col: str | None
) -> tuple[pd.Series, np.ndarray]:
    """Class name per row from one-hot columns; returns (labels, rows whose UNK is set)."""
    try:
        onehot = table[list(columns)].apply(pd.to_numeric, errors="raise").to_numpy(float)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{csv}: the one-hot class columns must be numbers ({exc}).") from None
    unk = np.zeros(len(table), dtype=bool)
    if unknown_col and unknown_col in table.columns:
        unk = pd.to_numeric(table[unknown_col], errors="coerce").fillna(0).to_numpy() > 0.5
    hot = onehot > 0.5
    bad = (hot.sum(axis=1) != 1) & ~unk
    if bad.any():
        rows = [int(i) for i in np.flatnonzero(bad)[:5]]
        raise DataError(
            f"{csv}: {int(bad.sum())} row(s) do not have exactly one class set among "
            f"{list(columns)} (first rows: {rows})."
        )
    names = np.array(list(columns.values()), dtype=object)
    labels = np.where(hot.any(axis=1), names[hot.argmax(axis=1)], "UNK")
    return pd.Series(labels, index=table.index, dtype=object), unk


def _isic_paths(ids: pd.Series, images: dict[str, str], fallback: Path) -> list[str]:
    """Image path per ISIC name, trying the name with and without ``_downsampled``."""
    out = []
    for name in ids:
        plain = name.removesuffix(_DOWNSAMPLED)
        path = images.get(name) or images.get(plain) or images.get(plain + _DOWNSAMPLED)
        out.append(path or str(fallback / f"{name}.jpg"))
    return out


def _exclude_unknown(
    table: pd.DataFrame, unk: np.ndarray, csv: Path, on_error: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not unk.any():
        return table, table.iloc[:0].assign(reason=[])
    if on_error == "raise":
        rows = [int(i) for i in np.flatnonzero(unk)[:5]]
        raise DataError(
            f"{csv}: {int(unk.sum())} row(s) are labelled UNK (none of the known classes; "
            f"first rows: {rows}). Pass on_error='skip' to exclude them (they are then listed "
            "in records.excluded)."
        )
    return table.loc[~unk], table.loc[unk].assign(reason="UNK label")


# -- ISIC 2018 Task 3 ------------------------------------------------------------------------
#: The ``records.excluded`` reason of the UNK rows that ``include_unknown=True`` keeps.
UNKNOWN_REASON = "UNK label: unknown lesion, kept for evaluation only"


def unknown_lesions(records: Records) -> pd.DataFrame:
    """The UNK rows that `load_isic2019` kept with ``include_unknown=True``.

    They are none of the 8 training classes, so they are not records (a `Records`
    label must be one of its classes): they sit in ``records.excluded`` with the reason
    `UNKNOWN_REASON`, with ``image_path``, ``image_id`` and the metadata, for
    out-of-distribution evaluation (score them with the model, compare their confidence
    with the known classes' using `dermnet.metrics.ood.ood_scores_report`).

    Examples:
        >>> import pandas as pd
        >>> rec = Records(pd.DataFrame({"image_path": ["a.jpg"], "label": ["mel"]}), ["mel"])
        >>> len(unknown_lesions(rec))
        0
    """
    if not isinstance(records, Records):
        raise DataError(
            f"unknown_lesions needs the Records of load_isic2019. Got {type(records).__name__}."
        )
    excluded = records.excluded
    if "reason" not in excluded.columns or excluded.empty:
        return excluded.iloc[:0].drop(columns="reason", errors="ignore")
    keep = excluded["reason"] == UNKNOWN_REASON
    return excluded.loc[keep].drop(columns="reason").reset_index(drop=True)


def _isic2018_hint(split: str) -> str:
    return (
        f"Download the ISIC 2018 Task 3 {split} data by hand from "
        "https://challenge.isic-archive.com/data/#2018 (ISIC2018_Task3_"
        f"{split}_Input.zip and ISIC2018_Task3_{split}_GroundTruth.zip) and unpack both in "
        "the dataset folder."
    )


@register_dataset("isic2018")
def load_isic2018(
    root: str | os.PathLike[str],
    split: str = "training",
    *,
    on_error: str = "raise",
    check_files: bool = True,
    verify: bool = False,
) -> Records:
    """Load the ISIC 2018 Task 3 (lesion diagnosis) training, validation or test set.

    ``root`` holds the official downloads, unpacked: ``ISIC2018_Task3_<Split>_GroundTruth.csv``
    (one-hot columns ``MEL, NV, BCC, AKIEC, BKL, DF, VASC``; it may sit in its
    ``..._GroundTruth/`` folder) and the images in ``ISIC2018_Task3_<Split>_Input/``.
    ``ISIC2018_Task3_<Split>_LesionGroupings.csv``, where present, adds ``lesion_id``; a
    ``HAM10000_metadata.csv`` in ``root`` adds ``lesion_id``, ``age``, ``sex`` and
    ``localization`` (the training set is HAM10000). Classes use the HAM10000 codes in the
    fixed order ``akiec, bcc, bkl, df, mel, nv, vasc``. The records' role is the official
    split's: ``"train"``, ``"val"`` or ``"test"``.

    Args:
        root: the dataset folder.
        split: ``"training"`` (10,015 images), ``"validation"`` (193) or ``"test"``
            (1,512); ``"train"`` and ``"val"`` are accepted too.
        on_error: ``"raise"`` (default) or ``"skip"`` (exclude and record) for missing or
            unreadable images and repeated ids.
        check_files: look for every image file (default); ``False`` loads the table only.
        verify: also decode every image to find unreadable or truncated files.

    Raises:
        MissingFileError: the ground-truth CSV (or, with ``on_error="raise"``, an image)
            is missing; the message says where to download it.
        DataError: a row has no class or several classes, or a column is missing.
    """
    where = "load_isic2018"
    root = check_path(root, "root", where, kind="dir", what="ISIC 2018 folder")
    on_error = check_loader_options(on_error, check_files, verify, where)
    key = check_option(split, list(_SPLIT_NAMES), "split", where)
    part = _SPLIT_NAMES[key]
    csv = _find_file(root, [f"ISIC2018_Task3_{part}_GroundTruth.csv"])
    if csv is None:
        raise MissingFileError(
            f"No ISIC2018_Task3_{part}_GroundTruth.csv in {root} (or its sub-folders). "
            f"{_isic2018_hint(part)}"
        )
    table = read_csv_table(
        csv, ["image", *_ISIC2018_COLUMNS], f"ISIC 2018 Task 3 {part} ground-truth"
    )
    labels, _ = _one_hot_labels(table, _ISIC2018_COLUMNS, csv, None)
    table["label"] = labels
    table["image_id"] = table["image"].astype(str).str.strip()
    group_cols: tuple[str, ...] = ()
    groupings = _find_file(root, [f"ISIC2018_Task3_{part}_LesionGroupings.csv"])
    if groupings is not None:
        extra = read_csv_table(groupings, ["image", "lesion_id"], "ISIC 2018 lesion groupings")
        table = table.merge(
            extra.drop_duplicates("image"), on="image", how="left", suffixes=("", "_grouping")
        )
        group_cols = ("lesion_id",)
    metadata: tuple[str, ...] = ()
    ham = _find_file(root, ["HAM10000_metadata.csv"], depth=1)
    if ham is not None:
        meta = read_csv_table(ham, ["image_id"], "HAM10000 metadata")
        keep = [c for c in ("lesion_id", "age", "sex", "localization") if c in meta.columns]
        keep = [c for c in keep if c not in table.columns]
        table = table.merge(meta[["image_id", *keep]], on="image_id", how="left")
        metadata = tuple(c for c in ("age", "sex", "localization") if c in table.columns)
        if "lesion_id" in table.columns:
            group_cols = ("lesion_id",)
    folder = root / f"ISIC2018_Task3_{part}_Input"
    images = index_image_files([folder, folder / folder.name, root]) if check_files else {}
    table["image_path"] = _isic_paths(table["image_id"], images, folder)
    return records_from_table(
        table,
        HAM10000_CLASSES,
        name=f"isic2018_{part.lower()}",
        source=csv,
        on_error=on_error,
        check_files=check_files,
        verify=verify,
        group_cols=group_cols,
        metadata_cols=metadata,
        role=_SPLIT_ROLES[part],
        hint=_isic2018_hint(part),
    )


# -- ISIC 2019 -------------------------------------------------------------------------------
def _isic2019_hint(part: str) -> str:
    return (
        "Download the ISIC 2019 data by hand from https://challenge.isic-archive.com/data/#2019 "
        f"(ISIC_2019_{part}_Input.zip, ISIC_2019_{part}_GroundTruth.csv, "
        f"ISIC_2019_{part}_Metadata.csv) and unpack them in the dataset folder."
    )


def _unknown_rows(table: pd.DataFrame, check_files: bool, on_error: str, csv: Path) -> pd.DataFrame:
    """The UNK rows kept for evaluation, with their reason; missing images named."""
    reasons = pd.Series(UNKNOWN_REASON, index=table.index, dtype=object)
    if check_files:
        missing = ~table["image_path"].map(os.path.isfile).astype(bool)
        if missing.any() and on_error == "raise":
            shown = table.loc[missing, "image_path"].tolist()[:3]
            raise MissingFileError(
                f"{csv}: {int(missing.sum())} UNK image(s) kept by include_unknown=True are "
                f"missing (first: {shown}). Pass on_error='skip' to leave them out."
            )
        reasons[missing] = "UNK label, image missing"
    return table.assign(reason=reasons)


@register_dataset("isic2019")
def load_isic2019(
    root: str | os.PathLike[str],
    split: str = "training",
    *,
    on_error: str = "raise",
    check_files: bool = True,
    verify: bool = False,
    include_unknown: bool = False,
) -> Records:
    """Load ISIC 2019, the 8-class "Skin Lesion Dataset" (25,331 training images).

    ``root`` holds ``ISIC_2019_Training_GroundTruth.csv`` (one-hot columns ``MEL, NV,
    BCC, AK, BKL, DF, VASC, SCC, UNK``), ``ISIC_2019_Training_Metadata.csv``
    (``age_approx, anatom_site_general, lesion_id, sex``; optional) and the images in
    ``ISIC_2019_Training_Input/``. Images from the MSK collection are named
    ``ISIC_xxxxxxx_downsampled`` in the official CSVs; dermnet finds the file with or
    without that suffix and gives ``image_id`` without it, so that `check_leakage`
    sees the same image in HAM10000 and ISIC 2019 (which contains HAM10000). Classes, in
    this fixed order: ``ak, bcc, bkl, df, mel, nv, scc, vasc``. Rows are grouped by
    ``lesion_id``; rows without one are groups of their own. The records' role is
    ``"train"`` for the training set and ``"test"`` for the test set.

    Args:
        root: the dataset folder.
        split: ``"training"`` (default) or ``"test"`` (the test ground truth, released
            after the challenge, uses ``UNK`` for "none of the 8").
        on_error: ``"raise"`` (default) or ``"skip"``. Skipping excludes, and records in
            ``records.excluded``, missing or unreadable images, repeated ids and rows
            labelled ``UNK``.
        check_files: look for every image file (default); ``False`` loads the table only.
        verify: also decode every image to find unreadable or truncated files.
        include_unknown: keep the ``UNK`` rows for evaluation only: they are never an
            error and sit in ``records.excluded`` with the reason `UNKNOWN_REASON`, their
            ``image_path`` and metadata; `unknown_lesions` returns them. The records
            themselves hold the 8 classes only (train on them; the UNK images are the
            out-of-distribution set). With ``check_files``, a missing UNK image raises
            (``on_error="raise"``) or is left out with the reason ``"UNK label, image
            missing"``.

    Raises:
        MissingFileError: the ground-truth CSV (or an image) is missing.
        DataError: a row has no or several classes, or is ``UNK`` with ``on_error="raise"``
            and ``include_unknown=False``.

    Examples:
        >>> records = load_isic2019(root, split="test", include_unknown=True)  # doctest: +SKIP
        >>> ood = unknown_lesions(records)  # the UNK images, for evaluation only  # doctest: +SKIP
    """
    where = "load_isic2019"
    root = check_path(root, "root", where, kind="dir", what="ISIC 2019 folder")
    on_error = check_loader_options(on_error, check_files, verify, where)
    key = check_option(split, ["training", "train", "test"], "split", where)
    part = _SPLIT_NAMES[key]
    csv = _find_file(root, [f"ISIC_2019_{part}_GroundTruth.csv"])
    if csv is None:
        raise MissingFileError(
            f"No ISIC_2019_{part}_GroundTruth.csv in {root} (or its sub-folders). "
            f"{_isic2019_hint(part)}"
        )
    table = read_csv_table(csv, ["image", *_ISIC2019_COLUMNS], f"ISIC 2019 {part} ground-truth")
    labels, unk = _one_hot_labels(table, _ISIC2019_COLUMNS, csv, "UNK")
    table["label"] = labels
    if not include_unknown:
        table, unknown = _exclude_unknown(table, unk, csv, on_error)
        unk = np.zeros(len(table), dtype=bool)
    table["image"] = table["image"].astype(str).str.strip()
    table["image_id"] = table["image"].str.removesuffix(_DOWNSAMPLED)
    meta_csv = _find_file(root, [f"ISIC_2019_{part}_Metadata.csv"])
    metadata: tuple[str, ...] = ()
    if meta_csv is not None:
        meta = read_csv_table(meta_csv, ["image"], f"ISIC 2019 {part} metadata")
        meta["image_id"] = meta["image"].astype(str).str.strip().str.removesuffix(_DOWNSAMPLED)
        meta = meta.drop(columns=["image"]).drop_duplicates("image_id")
        table = table.merge(meta, on="image_id", how="left")
        metadata = ("age_approx", "anatom_site_general", "sex")
    if "lesion_id" not in table.columns:
        table["lesion_id"] = pd.Series([None] * len(table), index=table.index, dtype=object)
    folder = root / f"ISIC_2019_{part}_Input"
    images = index_image_files([folder, folder / folder.name, root]) if check_files else {}
    table["image_path"] = _isic_paths(table["image"], images, folder)
    if include_unknown:
        keep = ~np.asarray(unk)
        unknown = _unknown_rows(table.loc[~keep], check_files, on_error, csv)
        table = table.loc[keep]
    records = records_from_table(
        table,
        ISIC2019_CLASSES,
        name=f"isic2019_{part.lower()}",
        source=csv,
        on_error=on_error,
        check_files=check_files,
        verify=verify,
        group_cols=("lesion_id",),
        metadata_cols=metadata,
        role=_SPLIT_ROLES[part],
        hint=_isic2019_hint(part),
    )
    return add_excluded(records, unknown)


# -- ISIC 2020 -------------------------------------------------------------------------------
_ISIC2020_HINT = (
    "Download the SIIM-ISIC 2020 training data by hand from "
    "https://challenge2020.isic-archive.com/ (ISIC_2020_Training_JPEG.zip and "
    "ISIC_2020_Training_GroundTruth_v2.csv) or Kaggle's siim-isic-melanoma-classification "
    "(train.csv and jpeg/train/)."
)
_ISIC2020_CSVS = (
    "ISIC_2020_Training_GroundTruth_v2.csv",
    "ISIC_2020_Training_GroundTruth.csv",
    "ISIC_2020_Training_GroundTruth*.csv",
    "train.csv",
)


def _isic2020_target(table: pd.DataFrame, csv: Path) -> pd.Series:
    if "target" in table.columns:
        target = pd.to_numeric(table["target"], errors="coerce")
        bad = ~target.isin([0, 1])
        if bad.any():
            rows = [int(i) for i in np.flatnonzero(bad.to_numpy())[:5]]
            values = sorted({str(v) for v in table.loc[bad, "target"]})[:5]
            raise DataError(
                f"{csv}: 'target' must be 0 or 1; {int(bad.sum())} row(s) hold {values} "
                f"(first rows: {rows})."
            )
        return target.map({0: "benign", 1: "malignant"}).astype(object)
    labels = table["benign_malignant"].astype(str).str.strip().str.lower()
    return labels.astype(object)


@register_dataset("isic2020")
def load_isic2020(
    root: str | os.PathLike[str],
    *,
    on_error: str = "raise",
    check_files: bool = True,
    verify: bool = False,
) -> Records:
    """Load the SIIM-ISIC 2020 melanoma training set (33,126 images, 584 malignant).

    ``root`` is the dataset folder, or the CSV itself. The CSV is
    ``ISIC_2020_Training_GroundTruth_v2.csv`` (or ``..._GroundTruth.csv``, or another
    ``ISIC_2020_Training_GroundTruth*.csv``) from the ISIC archive, or Kaggle's
    ``train.csv``; extra columns (some copies add e.g. ``asymmetry``) are kept in the table
    but are not metadata. The label is ``target`` (or ``benign_malignant``): classes
    ``benign, malignant`` in that order. Rows are grouped by ``patient_id`` first (a patient
    has many lesions; splitting by patient is what the challenge did), then ``lesion_id``.
    Metadata: ``age_approx``, ``sex``, ``anatom_site_general_challenge``. Images are looked
    for in ``train/``, ``jpeg/train/``, ``ISIC_2020_Training_JPEG/`` and ``root``.

    Args:
        root: the dataset folder or the ground-truth CSV.
        on_error: ``"raise"`` (default) or ``"skip"`` (exclude and record) for missing or
            unreadable images and repeated ids.
        check_files: look for every image file (default); ``False`` loads the table only,
            for metadata work when the 32 GB of images are elsewhere.
        verify: also decode every image to find unreadable or truncated files.

    Raises:
        MissingFileError: no ground-truth CSV, or missing images with ``on_error="raise"``.
        DataError: the CSV lacks ``image_name``, ``patient_id`` or a label column, or a
            target is not 0/1.
    """
    where = "load_isic2020"
    path = check_path(root, "root", where, what="ISIC 2020 folder or CSV")
    on_error = check_loader_options(on_error, check_files, verify, where)
    if path.is_file():
        csv: Path | None = path
        root_dir = path.parent
    else:
        root_dir = path
        csv = _find_file(path, list(_ISIC2020_CSVS), depth=1)
    if csv is None:
        raise MissingFileError(f"No ISIC 2020 ground-truth CSV in {root_dir}. {_ISIC2020_HINT}")
    table = read_csv_table(csv, ["image_name", "patient_id"], "ISIC 2020 ground-truth")
    if "target" not in table.columns and "benign_malignant" not in table.columns:
        raise DataError(
            f"{csv} lacks a label column: 'target' or 'benign_malignant' is expected; its "
            f"columns are {list(table.columns)}."
        )
    table["label"] = _isic2020_target(table, csv)
    table["image_id"] = table["image_name"].astype(str).str.strip()
    folders = [
        root_dir / "train",
        root_dir / "jpeg" / "train",
        root_dir / "ISIC_2020_Training_JPEG" / "train",
        root_dir / "ISIC_2020_Training_JPEG",
        root_dir / "images",
        root_dir,
    ]
    images = index_image_files(folders) if check_files else {}
    table["image_path"] = _isic_paths(table["image_id"], images, folders[0])
    groups = tuple(c for c in ("patient_id", "lesion_id") if c in table.columns)
    return records_from_table(
        table,
        ISIC2020_CLASSES,
        name="isic2020",
        source=csv,
        on_error=on_error,
        check_files=check_files,
        verify=verify,
        group_cols=groups,
        metadata_cols=("age_approx", "sex", "anatom_site_general_challenge"),
        hint=_ISIC2020_HINT,
    )

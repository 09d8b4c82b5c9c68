"""Turning a dataset's table into `Records`: the steps every loader of this package shares.

A loader reads its table (`read_csv_table`), finds its images (`index_image_files`),
cleans its labels (`clean_labels`), then hands the table to `records_from_table`, which
checks ids are unique and files exist (raising, or excluding with a reason, as
``on_error`` says) and builds the `Records`. Private to `dermnet.data.datasets`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dermnet._core.errors import DataError, MissingFileError
from dermnet._core.validation import check_bool, check_option, check_path
from dermnet.data.image_files import IMAGE_EXTENSIONS
from dermnet.data.records import Records

#: The values of every loader's ``on_error`` parameter.
ON_ERROR = ("raise", "skip")


def shorten_list(paths: Sequence[str], limit: int = 5) -> str:
    """The first ``limit`` items joined by commas, with the total when there are more."""
    shown = ", ".join(str(p) for p in list(paths)[:limit])
    return shown + (f", ... ({len(paths)} in all)" if len(paths) > limit else "")


def read_csv_table(path: Path, required: Iterable[str], what: str) -> pd.DataFrame:
    """Read a CSV; a missing required column is a `DataError` naming file and column."""
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} cannot be read as the {what} CSV: {exc}") from None
    table.columns = [str(c).strip() for c in table.columns]
    lacking = [c for c in required if c not in table.columns]
    if lacking:
        raise DataError(
            f"{path} lacks the column(s) {lacking} expected in the {what} CSV; its columns "
            f"are {list(table.columns)}."
        )
    return table


def index_image_files(folders: Iterable[Path], *, recursive: bool = False) -> dict[str, str]:
    """Map file stem (and name) -> path for the image files in ``folders`` (first wins)."""
    found: dict[str, str] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        walker = os.walk(folder) if recursive else [(str(folder), [], None)]
        for dirpath, _dirs, _files in walker:
            with os.scandir(dirpath) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    stem, ext = os.path.splitext(entry.name)
                    if ext.lower() in IMAGE_EXTENSIONS and entry.is_file():
                        found.setdefault(stem, entry.path)
                        found.setdefault(entry.name, entry.path)
    return found


def exclude_repeated_ids(
    frame: pd.DataFrame, column: str, dataset: str, on_error: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Raise on repeated ``column`` values, or (``skip``) exclude the repeats after the first."""
    ids = frame[column].astype(str)
    repeated = ids.duplicated(keep="first")
    if not repeated.any():
        return frame, frame.iloc[:0].assign(reason=[])
    dupes = sorted(set(ids[repeated]))
    if on_error == "raise":
        rows = [int(i) for i in np.flatnonzero(ids.isin(dupes).to_numpy())[:6]]
        raise DataError(
            f"Dataset {dataset!r} has {len(dupes)} duplicate {column} value(s): "
            f"{shorten_list(dupes)} (rows {rows}). Each image must appear once; pass "
            "on_error='skip' to keep the first row of each and exclude the others."
        )
    excluded = frame.loc[repeated].assign(reason=f"duplicate {column}")
    return frame.loc[~repeated], excluded


def exclude_missing_files(
    frame: pd.DataFrame, dataset: str, on_error: str, hint: str = ""
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check every image path exists; raise, or move missing rows to an excluded table."""
    exists = frame["image_path"].map(os.path.isfile)
    missing = frame.loc[~exists]
    if missing.empty:
        return frame, frame.iloc[:0].assign(reason=[])
    paths = missing["image_path"].astype(str).tolist()
    if on_error == "raise":
        every = " None of its images was found." if len(missing) == len(frame) else ""
        raise MissingFileError(
            f"{len(paths)} image file(s) of dataset {dataset!r} are missing: "
            f"{shorten_list(paths)}.{every}{' ' + hint if hint else ''} Pass "
            "on_error='skip' to exclude them (they are then listed in records.excluded), "
            "or check_files=False to load the table without looking for the images."
        )
    return frame.loc[exists], missing.assign(reason="missing file")


def records_from_table(
    table: pd.DataFrame,
    classes: Sequence[str],
    *,
    name: str,
    source: Path,
    on_error: str,
    check_files: bool,
    verify: bool,
    group_cols: Sequence[str] = (),
    metadata_cols: Sequence[str] = (),
    role: str | None = None,
    id_col: str = "image_id",
    hint: str = "",
    images: np.ndarray | None = None,
) -> Records:
    """Common end of every loader: unique ids, files present, Records built, errors named."""
    try:  # labels and columns first: a table error is reported before any file problem
        Records(table, classes, name=name, group_cols=group_cols)
    except DataError as exc:
        raise DataError(f"{source}: {exc}") from None
    excluded = []
    table, dup = exclude_repeated_ids(table, id_col, name, on_error)
    excluded.append(dup)
    if check_files and images is None:
        table, missing = exclude_missing_files(table, name, on_error, hint)
        excluded.append(missing)
    parts = [e for e in excluded if len(e)]
    try:
        records = Records(
            table,
            classes,
            name=name,
            group_cols=group_cols,
            metadata_cols=[c for c in metadata_cols if c in table.columns],
            role=role,
            excluded=pd.concat(parts, ignore_index=True) if parts else None,
            images=images,
        )
    except DataError as exc:
        raise DataError(f"{source}: {exc}") from None
    if verify:
        from dermnet.data.validation import validate

        report = validate(records, check_duplicates=False, check_classes=False)
        if on_error == "raise":
            report.raise_if_problems()
        records = report.drop_bad(records)
    return records


def check_loader_options(on_error: Any, check_files: Any, verify: Any, where: str) -> str:
    """Validate the options every loader shares; return ``on_error``."""
    check_bool(check_files, "check_files", where)
    check_bool(verify, "verify", where)
    return check_option(on_error, ON_ERROR, "on_error", where)


#: Strings pandas (and most spreadsheet tools) read as a missing value by default.
NA_STRINGS = frozenset(
    {
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)


def describe_rows(rows: Sequence[int], limit: int = 5) -> str:
    """``rows 3, 7 (CSV lines 5, 9)``: 0-based data rows and their line in the file."""
    shown = [int(r) for r in rows[:limit]]
    more = f", ... ({len(rows)} in all)" if len(rows) > limit else ""
    return (
        f"row(s) {', '.join(map(str, shown))}{more} "
        f"(CSV line(s) {', '.join(str(r + 2) for r in shown)})"
    )


def read_raw_labels(csv: Path, label_col: str, expected: int) -> pd.Series:
    """The label column exactly as written: text, no missing-value conversion, unstripped."""
    labels = pd.read_csv(
        csv,
        usecols=lambda c: str(c).strip() == label_col,
        dtype=str,
        keep_default_na=False,
    ).iloc[:, 0]
    if len(labels) != expected:  # cannot happen with one parser; guard the row numbers
        raise DataError(f"{csv}: column {label_col!r} could not be read row by row.")
    return labels


def clean_labels(
    labels: pd.Series, csv: Path, label_col: str, classes: Sequence[str] | None
) -> pd.Series:
    """Stripped labels; a blank label, or one that reads as "missing" elsewhere, is an error.

    Labels are read as text, so ``NA`` is not silently turned into "no label" (nor into a
    class nobody asked for): it is an error unless ``classes`` names it.
    """
    text = labels.str.strip()
    blank = np.flatnonzero((text == "").to_numpy())
    if blank.size:
        raise DataError(
            f"{csv}: {blank.size} row(s) have an empty or blank label in column "
            f"{label_col!r}: {describe_rows(blank)}. Every row needs a class; fill in the label "
            "or remove the row."
        )
    allowed = set(classes or ())
    na_like = text.isin(NA_STRINGS) & ~text.isin(allowed)
    if na_like.any():
        values = sorted(set(text[na_like]))
        rows = np.flatnonzero(na_like.to_numpy())
        raise DataError(
            f"{csv}: label(s) {values} in column {label_col!r} at {describe_rows(rows)} are read "
            "as a missing value by pandas and most tools, so they are ambiguous. dermnet reads "
            "labels as text: if it is a real class, name it in classes=[...] (then it is "
            f"kept as a class, e.g. classes=[..., {values[0]!r}]); if it means 'no label', "
            "fill in the label or remove the rows."
        )
    return text


def add_excluded(records: Records, extra: pd.DataFrame) -> Records:
    """``records`` with the rows of ``extra`` (each with a ``reason``) added to `excluded`."""
    if len(extra):
        frames = [f for f in (records.excluded, extra) if len(f)]
        records.excluded = pd.concat(frames, ignore_index=True)
    return records


def existing_file(path: Any, param: str, where: str, what: str, hint: str) -> Path:
    """``path`` checked to be a file; a missing one is a `MissingFileError` ending in ``hint``."""
    try:
        return check_path(path, param, where, kind="file", what=what)
    except MissingFileError as exc:
        raise MissingFileError(f"{exc}. {hint}") from None

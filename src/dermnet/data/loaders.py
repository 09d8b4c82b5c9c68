"""Loaders that read public datasets as they come, and a registry of them.

No loader downloads anything: where a dataset must be fetched by hand, the error says from
where and which files are expected. The ISIC loaders live in `dermnet.data.isic`, the
array datasets (MedMNIST, hmnist) in `dermnet.data.arrays`; all register here.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dermnet._core.errors import DataError, MissingFileError, ParameterError
from dermnet._core.registry import Registry
from dermnet._core.validation import check_bool, check_option, check_path
from dermnet.data.image_files import IMAGE_EXTENSIONS
from dermnet.data.records import Records

__all__ = [
    "DATASETS",
    "HAM10000_CLASSES",
    "IMAGE_EXTENSIONS",
    "MALARIA_CLASSES",
    "list_datasets",
    "load_csv",
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
#: Files that image folders often contain and that are not images.
_IGNORED_FILES = {"thumbs.db", ".ds_store", "desktop.ini"}

#: The dataset registry: name -> loader taking ``root`` (and keyword options).
DATASETS: Registry[Callable[..., Records]] = Registry("dataset")

_ON_ERROR = ("raise", "skip")
#: Modules whose loaders register themselves on import.
_LOADER_MODULES = ("dermnet.data.isic", "dermnet.data.arrays")


def register_dataset(name: str) -> Callable[[Callable[..., Records]], Callable[..., Records]]:
    """Decorator registering a loader ``fn(root, **options) -> Records`` under ``name``.

    Examples:
        >>> @register_dataset("my_cells")
        ... def load_my_cells(root, **options):
        ...     return load_image_folder(root, name="my_cells", **options)
        >>> "my_cells" in list_datasets()
        True
        >>> DATASETS.unregister("my_cells")
    """
    return DATASETS.decorator(name)


def _import_builtin_loaders() -> None:
    for module in _LOADER_MODULES:
        importlib.import_module(module)


def list_datasets(pattern: str | None = None) -> list[str]:
    """Names of the registered datasets, optionally filtered by a shell-style pattern.

    Examples:
        >>> list_datasets("isic*")
        ['isic2018', 'isic2019', 'isic2020']
    """
    _import_builtin_loaders()
    return DATASETS.names(pattern)


def load_dataset(name: str, root: str | os.PathLike[str], **options: Any) -> Records:
    """Load a registered dataset by name, e.g. ``load_dataset("ham10000", "data/ham")``.

    Args:
        name: a name from `list_datasets`.
        root: the dataset's folder (or file, for ``csv``, ``medmnist`` and ``hmnist``).
        **options: keyword options of the loader (``on_error``, ``split``, ...).
    """
    _import_builtin_loaders()
    return DATASETS.get(name, where="load_dataset")(root, **options)


# -- shared helpers -------------------------------------------------------------------------
def _format_paths(paths: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(str(p) for p in list(paths)[:limit])
    return shown + (f", ... ({len(paths)} in all)" if len(paths) > limit else "")


def _read_csv(path: Path, required: Iterable[str], what: str) -> pd.DataFrame:
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


def _index_images(folders: Iterable[Path], *, recursive: bool = False) -> dict[str, str]:
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


def _ensure_unique_ids(
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
            f"{_format_paths(dupes)} (rows {rows}). Each image must appear once; pass "
            "on_error='skip' to keep the first row of each and exclude the others."
        )
    excluded = frame.loc[repeated].assign(reason=f"duplicate {column}")
    return frame.loc[~repeated], excluded


def _check_files(
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
            f"{_format_paths(paths)}.{every}{' ' + hint if hint else ''} Pass "
            "on_error='skip' to exclude them (they are then listed in records.excluded), "
            "or check_files=False to load the table without looking for the images."
        )
    return frame.loc[exists], missing.assign(reason="missing file")


def _finish(
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
    table, dup = _ensure_unique_ids(table, id_col, name, on_error)
    excluded.append(dup)
    if check_files and images is None:
        table, missing = _check_files(table, name, on_error, hint)
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


def _common_options(on_error: Any, check_files: Any, verify: Any, where: str) -> str:
    check_bool(check_files, "check_files", where)
    check_bool(verify, "verify", where)
    return check_option(on_error, _ON_ERROR, "on_error", where)


# -- HAM10000 -------------------------------------------------------------------------------
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
    on_error = _common_options(on_error, check_files, verify, where)
    csv = _find_ham_csv(root)
    if csv is None:
        raise MissingFileError(f"No HAM10000_metadata.csv in {root}. {_HAM_HINT}")
    table = _read_csv(csv, ["lesion_id", "image_id", "dx"], "HAM10000 metadata")
    images = _index_images(_ham_image_folders(root)) if check_files else {}
    table["image_id"] = table["image_id"].astype(str).str.strip()
    table["image_path"] = [
        images.get(i, str(root / "images" / f"{i}.jpg")) for i in table["image_id"]
    ]
    # the diagnosis as written: a blank or "NA" label is named, not read as a class "nan"
    raw = pd.read_csv(csv, usecols=["dx"], dtype=str, keep_default_na=False)["dx"]
    table["label"] = _check_labels(raw, csv, "dx", HAM10000_CLASSES).to_numpy()
    return _finish(
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


# -- folders --------------------------------------------------------------------------------
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
    on_error = _common_options(on_error, True, verify, where)
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
            f"image files and were left out: {_format_paths(names, 3)}. Images must end in "
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
    records = _finish(
        frame,
        classes,
        name=name or root.name,
        source=root,
        on_error=on_error,
        check_files=False,
        verify=verify,
    )
    if len(others):
        frames = [f for f in (others, records.excluded) if len(f)]
        records.excluded = pd.concat(frames, ignore_index=True)
    return records


@register_dataset("malaria")
def load_malaria(
    root: str | os.PathLike[str], *, on_error: str = "raise", verify: bool = False
) -> Records:
    """Load the NIH malaria cell images (``cell_images/{Parasitized,Uninfected}``).

    ``root`` is either the folder holding ``cell_images`` or the folder holding the two
    class folders. Non-image files such as ``Thumbs.db`` (the NIH archive has one per
    class) are ignored. Classes, in this order: ``Parasitized, Uninfected``. Palette and
    RGBA PNGs (some of the originals) are decoded to RGB by `make_dataset`.

    The group column is ``slide_id``, read from the NIH file names:
    ``C100P61ThinF_IMG_20150918_144348_cell_40.png`` is a cell of smear ``C100`` (patient
    ``P61``). Cells of one smear share the patient, the staining and the microscope, so
    `split` keeps them on one side. A file name without a ``C<n>`` prefix becomes its
    own group (``file:<name>``), and a warning counts such names.

    Args:
        root: the dataset folder.
        on_error: ``"raise"`` or ``"skip"`` for unreadable images (with ``verify``).
        verify: decode every image to find unreadable or truncated files.

    Raises:
        MissingFileError: the folder does not exist or lacks a class folder; the message
            says where to download the data.

    Examples:
        >>> from dermnet.data import sample_path
        >>> cells = load_malaria(sample_path("malaria"))
        >>> len(cells), cells.group_cols, len(set(cells.groups("slide_id")))
        (200, ('slide_id',), 108)
    """
    root = check_path(root, "root", "load_malaria", kind="dir", what="malaria folder")
    if (root / "cell_images").is_dir():
        root = root / "cell_images"
        if (root / "cell_images").is_dir():  # the Kaggle zip nests the folder twice
            root = root / "cell_images"
    if not all((root / c).is_dir() for c in MALARIA_CLASSES):
        raise MissingFileError(
            f"{root} lacks the class folders {list(MALARIA_CLASSES)}. Download cell_images.zip "
            "by hand from https://lhncbc.nlm.nih.gov/LHC-research/LHC-projects/image-processing/"
            "malaria-datasheet.html and unpack it there."
        )
    records = load_image_folder(
        root, classes=MALARIA_CLASSES, name="malaria", on_error=on_error, verify=verify
    )
    frame = records.frame.copy()
    names = frame["image_path"].map(lambda p: Path(p).name)
    slide = names.str.extract(r"^(C\d+)", expand=False)
    missing = int(slide.isna().sum())
    if missing:
        warnings.warn(
            f"load_malaria: {missing} of {len(frame)} file names under {root} do not start "
            f"with a slide id (C<n>), e.g. {names[slide.isna()].iloc[0]!r}; each of them is "
            "its own group in 'slide_id'.",
            stacklevel=2,
        )
    frame["slide_id"] = slide.fillna("file:" + names)
    return Records(
        frame,
        records.classes,
        name="malaria",
        group_cols=("slide_id",),
        excluded=records.excluded,  # what verify / on_error="skip" left out, with why
    )


# -- any CSV --------------------------------------------------------------------------------
#: Strings pandas (and most spreadsheet tools) read as a missing value by default.
_NA_STRINGS = frozenset(
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


def _rows_text(rows: Sequence[int], limit: int = 5) -> str:
    """``rows 3, 7 (CSV lines 5, 9)``: 0-based data rows and their line in the file."""
    shown = [int(r) for r in rows[:limit]]
    more = f", ... ({len(rows)} in all)" if len(rows) > limit else ""
    return (
        f"row(s) {', '.join(map(str, shown))}{more} "
        f"(CSV line(s) {', '.join(str(r + 2) for r in shown)})"
    )


def _raw_labels(csv: Path, label_col: str, expected: int) -> pd.Series:
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


def _check_labels(
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
            f"{label_col!r}: {_rows_text(blank)}. Every row needs a class; fill in the label "
            "or remove the row."
        )
    allowed = set(classes or ())
    na_like = text.isin(_NA_STRINGS) & ~text.isin(allowed)
    if na_like.any():
        values = sorted(set(text[na_like]))
        rows = np.flatnonzero(na_like.to_numpy())
        raise DataError(
            f"{csv}: label(s) {values} in column {label_col!r} at {_rows_text(rows)} are read "
            "as a missing value by pandas and most tools, so they are ambiguous. dermnet reads "
            "labels as text: if it is a real class, name it in classes=[...] (then it is "
            f"kept as a class, e.g. classes=[..., {values[0]!r}]); if it means 'no label', "
            "fill in the label or remove the rows."
        )
    return text


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
            index = _index_images([root], recursive=recursive)
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
    on_error = _common_options(on_error, check_files, verify, where)
    recursive = check_bool(recursive, "recursive", where)
    allow_outside_root = check_bool(allow_outside_root, "allow_outside_root", where)
    for param, value in (("image_col", image_col), ("label_col", label_col)):
        if not isinstance(value, str):
            raise ParameterError(
                f"The {param!r} parameter of load_csv must be a column name (str). "
                f"Got {value!r} instead."
            )
    wanted = [image_col, label_col, *([group_col] if group_col else []), *metadata_cols]
    table = _read_csv(csv, wanted, "image table")
    if classes is not None:
        classes = tuple(str(c) for c in classes)
    raw = _raw_labels(csv, label_col, len(table))
    table["label"] = _check_labels(raw, csv, label_col, classes).to_numpy()
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
    return _finish(
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

"""`validate`: scan a dataset and report what is wrong, before training trips over it."""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from dermnet._core.errors import DataError, ParameterError
from dermnet._core.validation import check_bool, check_int
from dermnet.data.records import Records, _missing, check_records

__all__ = ["PROBLEMS", "ValidationReport", "validate"]

#: The kinds of problem `validate` reports.
PROBLEMS = (
    "missing file",
    "unreadable image",
    "unsupported format",
    "image too large",
    "duplicate image id",
    "duplicate image file",
    "empty class",
)
_COLUMNS = ["row", "image_path", "problem", "detail"]


def _check_image(
    path: str, max_pixels: int | None = None
) -> tuple[str | None, str, str, tuple[int, int] | None]:
    """(problem or None, detail, PIL mode, (height, width)) for one image file.

    The header is read, then the file is decoded by the one decoder every dermnet path
    uses (`dermnet.data.image_files.decode_image_file`).
    """
    from dermnet.data.image_files import decode_image_file, read_image_header

    if not os.path.isfile(path):
        return "missing file", "no such file", "", None
    try:
        header = read_image_header(path, max_pixels)
    except DataError as exc:
        detail = str(exc)[len(path) + 2 :]
        if detail.startswith("unsupported"):
            return "unsupported format", detail, "", None
        if "pixel budget" in detail or "too many pixels" in detail:
            return "image too large", detail, "", None
        return "unreadable image", detail, "", None
    size = (header.height, header.width)
    try:
        decode_image_file(path, max_pixels)
    except DataError as exc:
        return "unreadable image", str(exc)[len(path) + 2 :], header.mode, size
    return None, "", header.mode, size


@dataclasses.dataclass(frozen=True)
class ValidationReport:
    """What `validate` found.

    Attributes:
        dataset: the records' name.
        num_checked: rows checked.
        problems: one row per problem: ``row`` (position in the records, -1 for a whole
            class), ``image_path``, ``problem`` (one of `PROBLEMS`) and ``detail``.
        modes: image count per PIL mode (``RGB``, ``P`` palette, ``RGBA``, ``L`` gray);
            all are decoded to RGB by `make_dataset`.
        sizes: ``{"min": (h, w), "max": (h, w)}`` over the readable images (empty when
            images were not decoded).
        missing_metadata: number of missing values per metadata column (information, not
            a problem: `MetadataEncoder` fills and flags them).
    """

    dataset: str
    num_checked: int
    problems: pd.DataFrame
    modes: dict[str, int]
    sizes: dict[str, tuple[int, int]]
    missing_metadata: dict[str, int]

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return self.problems.empty

    def counts(self) -> dict[str, int]:
        """Number of problems per kind."""
        return {k: int(v) for k, v in self.problems["problem"].value_counts().items()}

    @property
    def bad_rows(self) -> np.ndarray:
        """Sorted positions of the rows with a problem (excluding whole-class problems)."""
        rows = self.problems["row"].to_numpy(dtype=np.int64)
        return np.unique(rows[rows >= 0])

    def summary(self) -> str:
        """A few lines: what was checked and every kind of problem with its first paths."""
        lines = [f"Validation of {self.dataset!r}: {self.num_checked} images checked"]
        if self.modes:
            lines.append("  modes: " + ", ".join(f"{k} {v}" for k, v in self.modes.items()))
        if self.sizes:
            lines.append(f"  sizes (h, w): {self.sizes['min']} .. {self.sizes['max']}")
        if any(self.missing_metadata.values()):
            shown = ", ".join(f"{k} {v}" for k, v in self.missing_metadata.items() if v)
            lines.append(f"  missing metadata values: {shown}")
        if self.ok:
            lines.append("  no problems")
        for kind, group in self.problems.groupby("problem", sort=False):
            first = ", ".join(str(p) for p in group["image_path"].head(3))
            more = f", ... ({len(group)} in all)" if len(group) > 3 else ""
            lines.append(f"  {kind}: {len(group)} ({first}{more})")
        return "\n".join(lines)

    def raise_if_problems(self) -> None:
        """Raise `DataError` with the count and first paths of each problem."""
        if not self.ok:
            raise DataError(
                self.summary()
                + "\nFix the files, or pass on_error='skip' to exclude them (they are then "
                "listed in records.excluded)."
            )

    def drop_bad(self, records: Records) -> Records:
        """The records without the rows that have a problem; those go to ``excluded``.

        Every excluded row keeps its reason (``"unreadable image: OSError: ..."``) in
        ``records.excluded``; nothing is dropped silently.
        """
        rows = self.bad_rows
        if rows.size and rows.max() >= len(records):
            raise ParameterError(
                "ValidationReport.drop_bad was given records other than the validated ones."
            )
        by_row = self.problems[self.problems["row"] >= 0].drop_duplicates("row")
        reasons = {
            int(r): f"{p}: {d}" if d else p
            for r, p, d in zip(by_row["row"], by_row["problem"], by_row["detail"], strict=True)
        }
        return records.exclude(rows, [reasons[int(r)] for r in rows])


def validate(
    records: Records,
    *,
    check_images: bool = True,
    check_duplicates: bool = True,
    check_classes: bool = True,
    workers: int | None = None,
    max_pixels: int | None = None,
) -> ValidationReport:
    """Scan records and report what is wrong: missing, unreadable or truncated image files,
    unsupported formats, images over the pixel budget, repeated image ids or files, and
    empty classes.

    Images are fully decoded (in threads) by the decoder `make_dataset` and `load_images`
    use (`dermnet.data.image_files`), which finds truncated JPEGs that a header check
    misses. The report also counts image modes (palette, RGBA, CMYK and 16-bit images are
    fine: they are decoded to RGB), image sizes and missing metadata values.
    Nothing is changed: use ``report.drop_bad(records)`` to exclude the bad rows (recorded
    in ``records.excluded``) or ``report.raise_if_problems()``.

    Args:
        records: the records to check.
        check_images: decode every image (default); ``False`` only checks that files exist.
        check_duplicates: report repeated ``image_id`` values and image paths.
        check_classes: report classes without any image.
        workers: decoding threads (default: up to 8, by CPU count).
        max_pixels: the pixel budget per image (default:
            `dermnet.data.image_files.max_image_pixels`).

    Returns:
        A `ValidationReport`.

    Examples:
        >>> from dermnet.data import load_sample
        >>> report = validate(load_sample("malaria"))
        >>> report.ok, report.modes
        (True, {'RGB': 189, 'P': 11})
    """
    where = "validate"
    records = check_records(records, where)
    check_images = check_bool(check_images, "check_images", where)
    check_duplicates = check_bool(check_duplicates, "check_duplicates", where)
    check_classes = check_bool(check_classes, "check_classes", where)
    workers = check_int(workers, "workers", where, low=1, allow_none=True)
    workers = workers or min(8, (os.cpu_count() or 1) + 2)
    from dermnet.data.image_files import max_image_pixels

    budget = max_image_pixels(max_pixels, where)
    paths = records.paths
    rows: list[dict[str, Any]] = []
    modes: Counter[str] = Counter()
    heights: list[int] = []
    widths: list[int] = []
    if records.images is not None:  # in-memory arrays: nothing can be missing or unreadable
        modes["RGB"] = len(records)
        if len(records):
            heights.append(records.images.shape[1])
            widths.append(records.images.shape[2])
    elif check_images:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda p: _check_image(p, budget), paths))
        for i, (problem, detail, mode, size) in enumerate(results):
            if mode:
                modes[mode] += 1
            if size:
                heights.append(size[0])
                widths.append(size[1])
            if problem:
                rows.append(
                    {"row": i, "image_path": paths[i], "problem": problem, "detail": detail}
                )
    else:
        for i, path in enumerate(paths):
            if not os.path.isfile(path):
                rows.append({"row": i, "image_path": path, "problem": "missing file", "detail": ""})
    frame = records.frame
    if check_duplicates:
        for column, kind in (
            ("image_id", "duplicate image id"),
            ("image_path", "duplicate image file"),
        ):
            if column not in frame.columns:
                continue
            values = frame[column].astype(str)
            repeated = values.duplicated(keep="first").to_numpy()
            first = {v: i for i, v in reversed(list(enumerate(values)))}
            for i in np.flatnonzero(repeated):
                value = values.iloc[i]
                rows.append(
                    {
                        "row": int(i),
                        "image_path": paths[i],
                        "problem": kind,
                        "detail": f"{column} {value!r} also at row {first[value]}",
                    }
                )
    if check_classes:
        for cls, count in records.class_counts().items():
            if count == 0:
                rows.append({"row": -1, "image_path": "", "problem": "empty class", "detail": cls})
    problems = pd.DataFrame(rows, columns=_COLUMNS)
    problems["row"] = problems["row"].astype(np.int64)
    sizes = (
        {"min": (min(heights), min(widths)), "max": (max(heights), max(widths))} if heights else {}
    )
    missing = {c: int(_missing(frame[c]).sum()) for c in records.metadata_cols}
    return ValidationReport(
        records.name, len(records), problems, dict(modes.most_common()), sizes, missing
    )

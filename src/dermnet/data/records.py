"""`Records`: the table of labelled images that every loader returns."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dermnet._core.errors import DataError, ParameterError
from dermnet._core.validation import check_int, check_seed

__all__ = ["MISSING_STRINGS", "ROLES", "Records", "check_records"]

#: The roles a set of records can play; resampling is only allowed on ``"train"``.
ROLES = ("train", "val", "test")

#: Metadata strings that mean "not recorded" (HAM10000 writes ``unknown``).
MISSING_STRINGS = ("", "unknown", "nan", "none", "na", "n/a", "null")

_REQUIRED = ("image_path", "label")


def _missing(values: pd.Series) -> pd.Series:
    """Boolean mask of missing metadata values: NaN/None or a `MISSING_STRINGS` entry."""
    text = values.astype(object).where(values.notna(), "")
    return values.isna() | text.astype(str).str.strip().str.lower().isin(MISSING_STRINGS)


class Records:
    """A table of labelled images, one row per image, with a fixed class order.

    Every dataset loader returns a ``Records``. The table always has the columns
    ``image_path`` (absolute path) and ``label`` (class name, one of `classes`);
    loaders add ``image_id``, group columns (``lesion_id``, ``patient_id``) and the
    dataset's metadata columns (``age``, ``sex``, ``localization``, ...).

    Args:
        frame: the table; must have ``image_path`` and ``label`` columns.
        classes: the class names in their fixed order; label index ``i`` means
            ``classes[i]``. Every label must be one of them.
        name: the dataset name, for summaries and reports.
        group_cols: columns that identify images of the same lesion or patient; splits
            group by the first by default, so put the one that must never straddle a
            split first (``("lesion_id",)`` for HAM10000, ``("patient_id", "lesion_id")``
            for ISIC 2020). A row whose group id is missing is a group of its own.
        metadata_cols: patient/lesion metadata columns usable as model inputs.
        role: ``"train"``, ``"val"``, ``"test"`` or ``None`` (not split yet).
        excluded: rows a loader excluded (``on_error="skip"``), with a ``reason`` column.
        images: for datasets that ship as arrays (MedMNIST ``.npz``, Kaggle's hmnist CSV),
            the pixels themselves, a uint8 array of shape ``(n, height, width, 3)`` in row
            order; ``image_path`` then holds a pseudo path (``file.npz#train/12``) that
            identifies the image. ``None`` (default) for images on disk.

    Raises:
        DataError: a required column is missing or a label is not in ``classes``.

    Examples:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"image_path": ["a.png", "b.png", "c.png"],
        ...                       "label": ["cat", "dog", "cat"]})
        >>> records = Records(table, ["dog", "cat"])
        >>> records.labels.tolist(), records.class_counts()
        ([1, 0, 1], {'dog': 1, 'cat': 2})
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        classes: Sequence[str],
        *,
        name: str = "custom",
        group_cols: Sequence[str] = (),
        metadata_cols: Sequence[str] = (),
        role: str | None = None,
        excluded: pd.DataFrame | None = None,
        images: np.ndarray | None = None,
    ) -> None:
        if not isinstance(frame, pd.DataFrame):
            raise ParameterError(
                f"The 'frame' parameter of Records must be a pandas DataFrame. "
                f"Got {type(frame).__name__} instead."
            )
        classes = tuple(str(c) for c in classes)
        if not classes:
            raise ParameterError("The 'classes' parameter of Records must not be empty.")
        if len(set(classes)) != len(classes):
            dupes = sorted({c for c in classes if classes.count(c) > 1})
            raise ParameterError(f"The 'classes' of Records must be unique; repeated: {dupes}.")
        for col in (*_REQUIRED, *group_cols, *metadata_cols):
            if col not in frame.columns:
                raise DataError(
                    f"The records table of dataset {name!r} has no {col!r} column; "
                    f"columns are {list(frame.columns)}."
                )
        if role is not None and role not in ROLES:
            raise ParameterError(
                f"The 'role' parameter of Records must be one of {ROLES} or None. "
                f"Got {role!r} instead."
            )
        frame = frame.reset_index(drop=True)
        labels = frame["label"].astype(str)
        unknown = sorted(set(labels) - set(classes))
        if unknown:
            rows = [int(i) for i in np.flatnonzero(~labels.isin(classes))[:5]]
            raise DataError(
                f"Dataset {name!r} has labels that are not among its classes {list(classes)}: "
                f"{unknown} (first rows: {rows})."
            )
        frame = frame.assign(label=labels)
        if images is not None:
            images = np.asarray(images)
            if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
                raise ParameterError(
                    "The 'images' parameter of Records must be a uint8 array of shape "
                    f"(n, height, width, 3). Got {images.dtype} {images.shape} instead."
                )
            if len(images) != len(frame):
                raise ParameterError(
                    f"The 'images' parameter of Records must hold one image per row "
                    f"({len(frame)}). Got {len(images)} instead."
                )
        self._frame = frame
        self.images = images
        self._classes = classes
        self.name = name
        self.group_cols = tuple(group_cols)
        self.metadata_cols = tuple(metadata_cols)
        self.role = role
        self.excluded = excluded if excluded is not None else pd.DataFrame(columns=["reason"])

    # -- table access -------------------------------------------------------------------
    @property
    def frame(self) -> pd.DataFrame:
        """A copy of the table (editing it does not change the records)."""
        return self._frame.copy()

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names in their fixed order."""
        return self._classes

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self._classes)

    @property
    def labels(self) -> np.ndarray:
        """Integer labels (index into `classes`), shape ``(n,)``, dtype int64."""
        lookup = {c: i for i, c in enumerate(self._classes)}
        return self._frame["label"].map(lookup).to_numpy(dtype=np.int64)

    @property
    def paths(self) -> list[str]:
        """Image paths, in row order."""
        return self._frame["image_path"].astype(str).tolist()

    def column(self, name: str) -> np.ndarray:
        """The values of one column as a NumPy array."""
        if name not in self._frame.columns:
            raise DataError(
                f"The records of dataset {self.name!r} have no {name!r} column; "
                f"columns are {list(self._frame.columns)}."
            )
        return self._frame[name].to_numpy()

    def groups(self, by: str | None = None) -> np.ndarray:
        """Group ids per row (``by`` defaults to the first group column, else the image).

        A missing group id (empty or NaN) never joins other rows: such a row is a group of
        its own, identified by its image path.
        """
        if by is None:
            by = self.group_cols[0] if self.group_cols else "image_path"
        values = pd.Series(self.column(by), dtype=object)
        missing = values.isna() | (values.astype(str).str.strip() == "")
        ids = values.astype(str).to_numpy(dtype=object)
        if missing.any():
            paths = self._frame["image_path"].astype(str).to_numpy(dtype=object)
            ids[missing.to_numpy()] = "<no " + by + ">:" + paths[missing.to_numpy()]
        return ids.astype(str)

    def __len__(self) -> int:
        return len(self._frame)

    # -- derived records ----------------------------------------------------------------
    def subset(self, index: Any, *, role: str | type[Ellipsis] | None = ...) -> Records:
        """Records for the rows selected by ``index`` (positions or a boolean mask).

        Args:
            index: integer positions or a boolean mask of length ``len(self)``.
            role: the role of the result; by default the same role as ``self``.
        """
        idx = np.asarray(index)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ParameterError(
                    f"A boolean 'index' for Records.subset must have length {len(self)}. "
                    f"Got shape {idx.shape} instead."
                )
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64)
        return Records(
            self._frame.iloc[idx],
            self._classes,
            name=self.name,
            group_cols=self.group_cols,
            metadata_cols=self.metadata_cols,
            role=self.role if role is ... else role,  # type: ignore[arg-type]
            excluded=self.excluded,
            images=None if self.images is None else self.images[idx],
        )

    def subsample_per_class(self, n: int, *, seed: int | None = 0) -> Records:
        """At most ``n`` random images of each class, in the records' own order.

        Each class keeps a random subset of ``n`` of its rows (all of them when it has
        fewer), drawn by ``np.random.default_rng(seed)`` class after class in class order;
        the kept rows keep their order in ``self``. The same seed gives the same rows. For
        quick experiments and balanced evaluation sets; to rebalance a training split use
        `dermnet.imbalance.undersample`, which checks for leakage.

        Args:
            n: the most images kept per class, >= 1.
            seed: the seed of the draw.

        Examples:
            >>> import pandas as pd
            >>> rec = Records(pd.DataFrame({"image_path": list("abcde"),
            ...                             "label": ["x", "x", "x", "y", "y"]}), ["x", "y"])
            >>> rec.subsample_per_class(2, seed=0).class_counts()
            {'x': 2, 'y': 2}
        """
        where = "Records.subsample_per_class"
        n = check_int(n, "n", where, low=1)
        rng = np.random.default_rng(check_seed(seed, "seed", where))
        labels = self.labels
        keep = [rng.permutation(np.flatnonzero(labels == c))[:n] for c in range(self.num_classes)]
        return self.subset(np.sort(np.concatenate(keep)))

    def with_role(self, role: str | None) -> Records:
        """The same records marked with another role (``"train"``, ``"val"``, ``"test"``)."""
        return self.subset(np.arange(len(self)), role=role)

    def exclude(self, index: Any, reason: str | Sequence[str]) -> Records:
        """Records without the rows selected by ``index``, which are kept in ``excluded``.

        Nothing is dropped silently: each excluded row is appended to `excluded`
        with its ``reason``, and `summary` reports how many there are.

        Args:
            index: integer positions or a boolean mask of the rows to exclude.
            reason: why, one string for all rows or one per row.

        Examples:
            >>> import pandas as pd
            >>> rec = Records(pd.DataFrame({"image_path": ["a", "b"], "label": ["x", "x"]}),
            ...               ["x"])
            >>> kept = rec.exclude([1], "unreadable image")
            >>> len(kept), kept.excluded["reason"].tolist()
            (1, ['unreadable image'])
        """
        idx = np.asarray(index)
        mask = np.zeros(len(self), dtype=bool)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ParameterError(
                    f"A boolean 'index' for Records.exclude must have length {len(self)}. "
                    f"Got shape {idx.shape} instead."
                )
            mask = idx.copy()
        elif idx.size:
            mask[idx.astype(np.int64)] = True
        dropped = self._frame.loc[mask]
        reasons = [reason] * len(dropped) if isinstance(reason, str) else list(reason)
        if len(reasons) != len(dropped):
            raise ParameterError(
                f"The 'reason' parameter of Records.exclude must be a str or one str per "
                f"excluded row ({len(dropped)}). Got {len(reasons)} instead."
            )
        new = dropped.assign(reason=reasons)
        frames = [f for f in (self.excluded, new) if len(f)]
        excluded = (
            pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["reason"])
        )
        kept = self.subset(~mask)
        kept.excluded = excluded
        return kept

    # -- description --------------------------------------------------------------------
    def class_counts(self) -> dict[str, int]:
        """Number of images per class, in class order (zero for absent classes)."""
        counts = self._frame["label"].value_counts()
        return {c: int(counts.get(c, 0)) for c in self._classes}

    def summary(self) -> str:
        """A short human-readable description: size, classes, groups, metadata, exclusions."""
        n = len(self)
        lines = [f"Records {self.name!r}" + (f" ({self.role})" if self.role else "")]
        lines.append(f"  images: {n}")
        for group in self.group_cols:
            lines.append(f"  {group}: {self._frame[group].nunique()} distinct")
        lines.append(f"  classes ({self.num_classes}):")
        width = max(len(c) for c in self._classes)
        for cls, count in self.class_counts().items():
            share = 100.0 * count / n if n else 0.0
            lines.append(f"    {cls:<{width}}  {count:>6}  {share:5.1f}%")
        if self.metadata_cols:
            parts = []
            for col in self.metadata_cols:
                missing = int(_missing(self._frame[col]).sum())
                parts.append(f"{col} ({missing} missing)" if missing else col)
            lines.append(f"  metadata: {', '.join(parts)}")
        if self.images is not None:
            h, w = self.images.shape[1:3]
            lines.append(f"  images held in memory: {h}x{w} RGB")
        if len(self.excluded):
            reasons = self.excluded["reason"].value_counts()
            why = ", ".join(f"{k}: {v}" for k, v in reasons.items())
            lines.append(f"  excluded: {len(self.excluded)} ({why}; see .excluded)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        role = f", role={self.role!r}" if self.role else ""
        return f"Records(name={self.name!r}, n={len(self)}, classes={list(self._classes)}{role})"

    def to_csv(self, path: str | Path) -> Path:
        """Write the table to ``path`` (CSV) and return the path.

        In-memory images (`images`) are not written; only the table is.
        """
        path = Path(path)
        self._frame.to_csv(path, index=False)
        return path


def check_records(records: Any, where: str, param: str = "records") -> Records:
    """``records`` if it is `Records`, else the standard `ParameterError` naming ``where``."""
    if not isinstance(records, Records):
        raise ParameterError(
            f"The {param!r} parameter of {where} must be Records. "
            f"Got {type(records).__name__} instead."
        )
    return records

"""Splits that cannot leak: stratified by class and grouped by lesion or patient at once."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np

from dermnet._core.errors import LeakageError, ParameterError
from dermnet._core.validation import check_bool, check_float, check_seed
from dermnet.data.records import Records

__all__ = ["LeakageReport", "Split", "check_leakage", "split"]


@dataclasses.dataclass(frozen=True)
class Split:
    """The result of :func:`split`: train, optional validation, and test records."""

    train: Records
    val: Records | None
    test: Records

    def __iter__(self):  # allows ``train, val, test = split(...)``
        return iter((self.train, self.val, self.test))


@dataclasses.dataclass(frozen=True)
class LeakageReport:
    """What two sets of records share. ``ok`` is True when they share nothing."""

    group_by: str | None
    shared_groups: tuple[str, ...]
    shared_files: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when no group and no image file is on both sides."""
        return not self.shared_groups and not self.shared_files

    def raise_if_leaky(self) -> None:
        """Raise :class:`LeakageError` naming the first shared groups and files."""
        if self.ok:
            return
        parts = []
        if self.shared_groups:
            parts.append(
                f"{len(self.shared_groups)} {self.group_by} value(s) on both sides "
                f"(first: {list(self.shared_groups[:5])})"
            )
        if self.shared_files:
            parts.append(
                f"{len(self.shared_files)} image file(s) on both sides "
                f"(first: {list(self.shared_files[:5])})"
            )
        raise LeakageError("The two sets of records leak: " + "; ".join(parts) + ".")


def _resolve_group_by(records: Records, group_by: str | None, where: str) -> str | None:
    if group_by == "auto":
        return records.group_cols[0] if records.group_cols else None
    if group_by is not None and group_by not in records.frame.columns:
        raise ParameterError(
            f"The 'group_by' parameter of {where} must be 'auto', None or a column of the "
            f"records ({list(records.frame.columns)}). Got {group_by!r} instead."
        )
    return group_by


def check_leakage(a: Records, b: Records, group_by: str | None = "auto") -> LeakageReport:
    """Report the groups (lesions, patients) and image files that ``a`` and ``b`` share.

    Args:
        a: one side, e.g. the training records.
        b: the other side, e.g. the test records.
        group_by: the group column; ``"auto"`` uses the records' first group column,
            ``None`` checks image files only.

    Returns:
        A :class:`LeakageReport`; call ``raise_if_leaky()`` to turn a leak into an error.
    """
    group_by = _resolve_group_by(a, group_by, "check_leakage")
    shared_groups: tuple[str, ...] = ()
    if group_by is not None:
        shared_groups = tuple(sorted(set(a.groups(group_by)) & set(b.groups(group_by))))
    files_a = set(a.paths)
    shared = set(files_a) & set(b.paths)
    if "image_id" in a.frame.columns and "image_id" in b.frame.columns:
        ids = set(a.column("image_id").astype(str)) & set(b.column("image_id").astype(str))
        shared |= {f"image_id={i}" for i in ids}
    return LeakageReport(group_by, shared_groups, tuple(sorted(shared)))


def _assign_groups(
    groups: np.ndarray,
    labels: np.ndarray,
    fraction: float,
    stratify: bool,
    rng: np.random.Generator,
) -> np.ndarray:
    """Return a boolean mask of rows whose groups are picked to hold ``fraction`` of rows.

    Groups are taken whole. With ``stratify``, each group counts towards its majority
    class, and each class gets close to ``fraction`` of its images.
    """
    unique, inverse = np.unique(groups, return_inverse=True)
    sizes = np.bincount(inverse)
    majority = np.empty(len(unique), dtype=np.int64)
    for g in range(len(unique)):
        majority[g] = Counter(labels[inverse == g].tolist()).most_common(1)[0][0]
    strata = np.unique(majority) if stratify else np.array([0])
    chosen = np.zeros(len(unique), dtype=bool)
    for stratum in strata:
        members = np.flatnonzero(majority == stratum) if stratify else np.arange(len(unique))
        members = members[rng.permutation(len(members))]
        target = fraction * sizes[members].sum()
        count = 0
        for g in members:
            if abs(count + sizes[g] - target) < abs(count - target):
                chosen[g] = True
                count += sizes[g]
    return chosen[inverse]


def split(
    records: Records,
    test_size: float = 0.2,
    val_size: float = 0.0,
    *,
    group_by: str | None = "auto",
    stratify: bool = True,
    seed: int | None = 0,
) -> Split:
    """Split records into train, validation and test sets that cannot leak.

    Groups (lesions, patients) are kept whole on one side; with ``stratify`` each class
    gets close to the asked share of its images on each side. The result is checked with
    :func:`check_leakage`, and each part is marked with its role (``"train"``, ``"val"``,
    ``"test"``), which the resampling functions of :mod:`dermnet.imbalance` check.

    Args:
        records: the records to split (not already split: their role must be ``None``
            or ``"train"``).
        test_size: share of images for the test set, in (0, 1).
        val_size: share of images for the validation set, in [0, 1); 0 gives no
            validation set.
        group_by: the group column; ``"auto"`` (default) uses the records' first group
            column (``lesion_id`` for HAM10000, ``patient_id`` for ISIC 2020), ``None``
            splits image by image.
        stratify: keep class proportions on each side.
        seed: the seed; the same seed gives the same split.

    Returns:
        A :class:`Split` of (train, val, test).

    Example:
        >>> from dermnet.data import load_sample
        >>> parts = split(load_sample("ham10000"), test_size=0.2, seed=0)
        >>> check_leakage(parts.train, parts.test).ok
        True
    """
    where = "split"
    test_size = check_float(
        test_size, "test_size", where, low=0, high=1, low_open=True, high_open=True
    )
    val_size = check_float(val_size, "val_size", where, low=0, high=1, high_open=True)
    if test_size + val_size >= 1:
        raise ParameterError(
            f"test_size + val_size of split must be < 1. Got {test_size} + {val_size} instead."
        )
    stratify = check_bool(stratify, "stratify", where)
    seed = check_seed(seed, "seed", where)
    group_by = _resolve_group_by(records, group_by, where)
    rng = np.random.default_rng(seed)
    groups = records.groups(group_by) if group_by else np.asarray(records.paths)
    labels = records.labels
    test_mask = _assign_groups(groups, labels, test_size, stratify, rng)
    val_mask = np.zeros(len(records), dtype=bool)
    if val_size > 0:
        rest = np.flatnonzero(~test_mask)
        picked = _assign_groups(
            groups[rest], labels[rest], val_size / (1 - test_size), stratify, rng
        )
        val_mask[rest[picked]] = True
    train_mask = ~(test_mask | val_mask)
    train = records.subset(train_mask, role="train")
    test = records.subset(test_mask, role="test")
    val = records.subset(val_mask, role="val") if val_size > 0 else None
    for other in (test, val):
        if other is not None:
            check_leakage(train, other, group_by).raise_if_leaky()
    if val is not None:
        check_leakage(val, test, group_by).raise_if_leaky()
    return Split(train, val, test)

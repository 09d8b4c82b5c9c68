"""Splits that cannot leak: stratified by class and grouped by lesion or patient at once."""

from __future__ import annotations

import dataclasses
import hashlib
import warnings
from collections.abc import Iterator

import numpy as np

from dermnet._core.errors import LeakageError, ParameterError
from dermnet._core.validation import check_bool, check_float, check_int, check_seed
from dermnet.data.records import Records, check_records

__all__ = ["Fold", "LeakageReport", "Split", "check_leakage", "kfold", "split"]


@dataclasses.dataclass(frozen=True)
class Split:
    """The result of `split`: train, optional validation, and test records."""

    train: Records
    val: Records | None
    test: Records

    def __iter__(self) -> Iterator[Records | None]:  # ``train, val, test = split(...)``
        return iter((self.train, self.val, self.test))


@dataclasses.dataclass(frozen=True)
class Fold:
    """One fold of `kfold`: ``train`` (role ``"train"``) and held-out ``val``."""

    index: int
    train: Records
    val: Records

    def __iter__(self) -> Iterator[Records]:  # ``for train, val in kfold(...)``
        return iter((self.train, self.val))


@dataclasses.dataclass(frozen=True)
class LeakageReport:
    """What two sets of records share. ``ok`` is True when they share nothing.

    Attributes:
        group_by: the group column compared (``None``: files only).
        shared_groups: group ids (lesions, patients) found on both sides.
        shared_files: paths (in ``a``) of the images that are also in ``b``, by path or
            by ``image_id``.
        shared_content: pairs ``(path in a, path in b)`` of byte-identical image files
            under different names (only with ``by_content=True``).
    """

    group_by: str | None
    shared_groups: tuple[str, ...]
    shared_files: tuple[str, ...]
    shared_content: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """True when no group, no image file and no identical image is on both sides."""
        return not self.shared_groups and not self.shared_files and not self.shared_content

    def summary(self) -> str:
        """One line per kind of leak, or a line saying there is none."""
        if self.ok:
            what = f"{self.group_by} groups, " if self.group_by else ""
            return f"No leak: no shared {what}image files or image ids."
        lines = []
        if self.shared_groups:
            lines.append(
                f"{len(self.shared_groups)} {self.group_by} value(s) on both sides "
                f"(first: {list(self.shared_groups[:5])})"
            )
        if self.shared_files:
            lines.append(
                f"{len(self.shared_files)} image file(s) on both sides "
                f"(first: {list(self.shared_files[:5])})"
            )
        if self.shared_content:
            lines.append(
                f"{len(self.shared_content)} identical image(s) under different names "
                f"(first: {list(self.shared_content[:3])})"
            )
        return "; ".join(lines)

    def raise_if_leaky(self) -> None:
        """Raise `LeakageError` naming the first shared groups and files."""
        if not self.ok:
            raise LeakageError("The two sets of records leak: " + self.summary() + ".")


def _resolve_group_by(records: Records, group_by: str | None, where: str) -> str | None:
    if group_by == "auto":
        return records.group_cols[0] if records.group_cols else None
    if group_by is not None and group_by not in records.frame.columns:
        raise ParameterError(
            f"The 'group_by' parameter of {where} must be 'auto', None or a column of the "
            f"records ({list(records.frame.columns)}). Got {group_by!r} instead."
        )
    return group_by


def _normalized_ids(records: Records) -> list[str | None]:
    """Per row, the image id without ISIC 2019's ``_downsampled`` suffix (None if absent)."""
    if "image_id" not in records.frame.columns:
        return [None] * len(records)
    ids = records.frame["image_id"]
    return [
        None if v is None or v != v else str(v).strip().removesuffix("_downsampled")
        for v in ids.tolist()
    ]


def _digests(records: Records) -> dict[str, str]:
    """blake2b digest of each image file (or in-memory image) -> its path."""
    out: dict[str, str] = {}
    for i, path in enumerate(records.paths):
        digest = hashlib.blake2b(digest_size=16)
        if records.images is not None:
            digest.update(records.images[i].tobytes())
        else:
            try:
                with open(path, "rb") as handle:
                    for chunk in iter(lambda h=handle: h.read(1 << 20), b""):
                        digest.update(chunk)
            except OSError:
                continue
        out.setdefault(digest.hexdigest(), path)
    return out


def check_leakage(
    a: Records, b: Records, group_by: str | None = "auto", *, by_content: bool = False
) -> LeakageReport:
    """Report the groups (lesions, patients) and image files that ``a`` and ``b`` share.

    Files are compared by path and by ``image_id`` (ignoring ISIC 2019's
    ``_downsampled`` suffix, so HAM10000 and ISIC 2019 copies of one image match); with
    ``by_content`` also by the bytes of the files, which finds the same image saved under
    two names.

    Args:
        a: one side, e.g. the training records.
        b: the other side, e.g. the test records.
        group_by: the group column; ``"auto"`` uses ``a``'s first group column,
            ``None`` checks image files only.
        by_content: also hash every file and report identical images (reads all files).

    Returns:
        A `LeakageReport`; call ``raise_if_leaky()`` to turn a leak into an error.

    Examples:
        >>> from dermnet.data import load_sample
        >>> records = load_sample("ham10000")
        >>> report = check_leakage(records.subset([0, 1]), records.subset([1, 2]))
        >>> report.ok, len(report.shared_files), report.shared_groups
        (False, 1, ('HAM_0002951',))
    """
    where = "check_leakage"
    by_content = check_bool(by_content, "by_content", where)
    group_by = _resolve_group_by(a, group_by, where)
    if group_by is not None:
        _resolve_group_by(b, group_by, where)
    shared_groups: tuple[str, ...] = ()
    if group_by is not None:
        groups_a = {g for g in a.groups(group_by) if not g.startswith("<no ")}
        groups_b = {g for g in b.groups(group_by) if not g.startswith("<no ")}
        shared_groups = tuple(sorted(str(g) for g in groups_a & groups_b))
    paths_b = set(b.paths)
    ids_b = {i for i in _normalized_ids(b) if i}
    shared = {
        path
        for path, image_id in zip(a.paths, _normalized_ids(a), strict=True)
        if path in paths_b or (image_id and image_id in ids_b)
    }
    content: tuple[tuple[str, str], ...] = ()
    if by_content:
        da, db = _digests(a), _digests(b)
        content = tuple(sorted((da[d], db[d]) for d in set(da) & set(db) if da[d] != db[d]))
    return LeakageReport(group_by, shared_groups, tuple(sorted(shared)), content)


def _assign_parts(
    groups: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    fractions: np.ndarray,
    stratify: bool,
    rng: np.random.Generator,
) -> np.ndarray:
    """Part index per row: whole groups assigned so each part gets its share of each class.

    Greedy, groups in random order: each group goes to the part whose per-class counts
    (weighted by 1/class size, so rare classes count as much as common ones) and total size
    move closest to their targets. Random order, rather than largest groups first, keeps
    the group-size mix of every part representative: on HAM10000, largest-first put nearly
    all multi-image lesions in train (1.54 images per lesion) and left test with 1.04.
    """
    unique, inverse = np.unique(groups, return_inverse=True)
    counts = np.zeros((len(unique), num_classes))
    np.add.at(counts, (inverse, labels), 1.0)
    if not stratify:
        counts = counts.sum(axis=1, keepdims=True)
    sizes = counts.sum(axis=1)
    order = rng.permutation(len(unique))
    totals = counts.sum(axis=0)
    targets = fractions[:, None] * totals[None, :]
    size_targets = fractions * sizes.sum()
    weights = 1.0 / np.maximum(totals, 1.0)
    size_weight = 1.0 / max(sizes.sum(), 1.0)
    filled = np.zeros_like(targets)
    filled_sizes = np.zeros(len(fractions))
    part_of_group = np.empty(len(unique), dtype=np.int64)
    for g in order:
        c, s = counts[g], sizes[g]
        err = filled - targets
        size_err = filled_sizes - size_targets
        cost = ((2 * err + c) * c) @ weights + (2 * size_err + s) * s * size_weight
        part = int(np.argmin(cost))
        part_of_group[g] = part
        filled[part] += c
        filled_sizes[part] += s
    return part_of_group[inverse]


def _warn_missing_classes(part: Records, what: str, full: Records) -> None:
    present = {c for c, n in full.class_counts().items() if n}
    absent = [c for c, n in part.class_counts().items() if n == 0 and c in present]
    if absent:
        warnings.warn(
            f"The {what} part has no images of class(es) {absent}: they have too few groups "
            "to spread over every part; metrics for them will be undefined.",
            UserWarning,
            stacklevel=3,
        )


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
    gets close to the asked share of its images on each side, even when groups mix
    classes (an ISIC 2020 patient has benign and malignant lesions). The result is checked
    with `check_leakage`, and each part is marked with its role (``"train"``,
    ``"val"``, ``"test"``), which the resampling functions of `dermnet.imbalance`
    check. A class too small to reach every part gives a warning.

    Args:
        records: the records to split (not already split: role ``None`` or ``"train"``).
        test_size: share of images for the test set, in (0, 1).
        val_size: share of images for the validation set, in [0, 1); 0 gives no
            validation set.
        group_by: the group column; ``"auto"`` (default) uses the records' first group
            column (``lesion_id`` for HAM10000, ``patient_id`` for ISIC 2020), ``None``
            splits image by image.
        stratify: keep class proportions on each side.
        seed: the seed; the same seed gives the same split.

    Returns:
        A `Split` of (train, val, test).

    Raises:
        ParameterError: bad sizes or group column, or records that are already a
            validation or test part.

    Examples:
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
    _check_splittable(records, where)
    group_by = _resolve_group_by(records, group_by, where)
    groups = records.groups(group_by) if group_by else np.asarray(records.paths)
    fractions = np.array([1 - test_size - val_size, val_size, test_size])
    parts = _assign_parts(
        groups,
        records.labels,
        records.num_classes,
        fractions,
        stratify,
        np.random.default_rng(seed),
    )
    train = records.subset(parts == 0, role="train")
    val = records.subset(parts == 1, role="val") if val_size > 0 else None
    test = records.subset(parts == 2, role="test")
    if len(train) == 0 or len(test) == 0 or (val is not None and len(val) == 0):
        raise ParameterError(
            f"split of {len(records)} records in {len(np.unique(groups))} groups left a part "
            "empty; use fewer parts, larger sizes, or more data."
        )
    for other in (test, val):
        if other is not None:
            check_leakage(train, other, group_by).raise_if_leaky()
    if val is not None:
        check_leakage(val, test, group_by).raise_if_leaky()
    for part, what in ((test, "test"), (val, "validation")):
        if part is not None and stratify:
            _warn_missing_classes(part, what, records)
    return Split(train, val, test)


def _check_splittable(records: Records, where: str) -> None:
    check_records(records, where)
    if records.role in ("val", "test"):
        raise ParameterError(
            f"{where} was given records whose role is {records.role!r}; split the full "
            "dataset (or its training part) instead, so that held-out data stays held out."
        )


def kfold(
    records: Records,
    k: int = 5,
    *,
    group_by: str | None = "auto",
    stratify: bool = True,
    seed: int | None = 0,
) -> list[Fold]:
    """K-fold cross-validation folds, grouped and stratified at once.

    Each group (lesion, patient) lands in exactly one held-out fold; with ``stratify``
    every fold gets close to ``1/k`` of each class. Every fold is checked with
    `check_leakage`. Typically run on the training part of a `split`, keeping
    its test part for the end.

    Args:
        records: the records (role ``None`` or ``"train"``).
        k: number of folds, >= 2.
        group_by: the group column; ``"auto"`` (default) uses the first group column.
        stratify: keep class proportions in every fold.
        seed: the seed; the same seed gives the same folds.

    Returns:
        ``k`` `Fold` objects; ``fold.train`` has role ``"train"`` and ``fold.val``
        role ``"val"``.

    Examples:
        >>> from dermnet.data import load_sample
        >>> folds = kfold(load_sample("ham10000"), k=5, seed=0)
        >>> sum(len(f.val) for f in folds)
        700
        >>> all(check_leakage(f.train, f.val).ok for f in folds)
        True
    """
    where = "kfold"
    k = check_int(k, "k", where, low=2)
    stratify = check_bool(stratify, "stratify", where)
    seed = check_seed(seed, "seed", where)
    _check_splittable(records, where)
    group_by = _resolve_group_by(records, group_by, where)
    groups = records.groups(group_by) if group_by else np.asarray(records.paths)
    if len(np.unique(groups)) < k:
        raise ParameterError(
            f"The 'k' parameter of kfold must be at most the number of groups "
            f"({len(np.unique(groups))}). Got {k} instead."
        )
    parts = _assign_parts(
        groups,
        records.labels,
        records.num_classes,
        np.full(k, 1.0 / k),
        stratify,
        np.random.default_rng(seed),
    )
    folds = []
    for i in range(k):
        fold = Fold(
            i, records.subset(parts != i, role="train"), records.subset(parts == i, role="val")
        )
        check_leakage(fold.train, fold.val, group_by).raise_if_leaky()
        if stratify:
            _warn_missing_classes(fold.val, f"fold {i} validation", records)
        folds.append(fold)
    return folds

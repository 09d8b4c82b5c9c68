"""Random over- and undersampling of a training split, on records.

Each function takes the *training* records (the ``.train`` part of
`dermnet.data.split`) and returns new records with a chosen number of images per
class; the leakage guard (`ensure_training_split`) refuses
anything else. To resample on the fly instead of materialising copies, see
`balanced_dataset`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from dermnet._core.errors import DataError
from dermnet._core.validation import check_bool, check_int, check_option, check_seed, fail
from dermnet.imbalance.guard import ensure_training_split

__all__ = ["oversample", "resample", "resample_indices", "target_counts", "undersample"]

_MODES = ("both", "over", "under")
_NAMED_TARGETS = ("max", "min", "mean", "median")


def target_counts(
    counts: Any,
    target: str | int | Mapping[Any, int],
    *,
    class_names: tuple[str, ...] | None = None,
    mode: str = "both",
    where: str = "target_counts",
) -> np.ndarray:
    """The number of images per class that a resampling ``target`` asks for.

    Args:
        counts: current images per class (index order).
        target: ``"max"``, ``"min"``, ``"mean"`` or ``"median"`` of the non-empty classes'
            counts; an int (the same count for every class); or a mapping from class index
            or class name to a count (classes not in it keep their count).
        class_names: names of the classes, to accept names as mapping keys.
        mode: ``"over"`` never lowers a count, ``"under"`` never raises one, ``"both"``
            sets every class to its target.
        where: the calling function, for messages.

    Returns:
        Target count per class, int64.

    Examples:
        >>> target_counts([50, 10, 5], "max").tolist()
        [50, 50, 50]
        >>> target_counts([50, 10, 5], 20, mode="under").tolist()
        [20, 10, 5]
    """
    counts = np.asarray(counts, dtype=np.int64)
    k = len(counts)
    mode = check_option(mode, _MODES, "mode", where)
    present = counts[counts > 0]
    if present.size == 0:
        raise DataError(f"{where}: there are no images to resample.")
    if isinstance(target, str):
        target = check_option(target, _NAMED_TARGETS, "target", where)
        value = {
            "max": present.max(),
            "min": present.min(),
            "mean": np.round(present.mean()),
            "median": np.round(np.median(present)),
        }[target]
        wanted = np.where(counts > 0, int(value), 0)
        absent = np.flatnonzero(counts == 0).tolist()
        if absent:
            shown = [class_names[i] for i in absent] if class_names else absent
            warnings.warn(
                f"{where}: class(es) {shown} have no images and stay absent after "
                "resampling; a model trained on them never sees those classes.",
                UserWarning,
                stacklevel=4,
            )
    elif isinstance(target, Mapping):
        wanted = counts.copy()
        names = list(class_names or ())
        for key, value in target.items():
            if isinstance(key, str) and key in names:
                index = names.index(key)
            elif isinstance(key, (int, np.integer)) and not isinstance(key, bool) and 0 <= key < k:
                index = int(key)
            else:
                must = f"a mapping whose keys are class indices in [0, {k - 1}]"
                if names:
                    must += f" or class names {names}"
                raise fail("target", where, must, key)
            wanted[index] = check_int(value, f"target[{key!r}]", where, low=0)
    else:
        value = check_int(target, "target", where, low=1)
        wanted = np.full(k, value, dtype=np.int64)
    if mode == "over":
        wanted = np.maximum(wanted, counts)
    elif mode == "under":
        wanted = np.minimum(wanted, counts)
    impossible = np.flatnonzero((counts == 0) & (wanted > 0)).tolist()
    if impossible:
        shown = [class_names[i] for i in impossible] if class_names else impossible
        raise DataError(
            f"{where}: class(es) {shown} have no images to resample from, but the target "
            "asks for some. Check the split, or give them a target of 0."
        )
    return wanted.astype(np.int64)


def resample_indices(
    labels: Any,
    target: str | int | Mapping[Any, int] = "max",
    *,
    mode: str = "both",
    num_classes: int | None = None,
    seed: int | None = 0,
    shuffle: bool = True,
) -> np.ndarray:
    """Row indices that resample integer ``labels`` to a target count per class.

    The array-level engine under `resample`. Plain arrays carry no split role, so
    this function cannot check for leakage: call it on training labels only (prefer the
    records functions, which check).

    A class below its target keeps all its rows and gets extra rows drawn with replacement;
    a class above its target keeps a random subset drawn without replacement.

    Args:
        labels: 1-D integer class labels.
        target: see `target_counts`.
        mode: ``"both"``, ``"over"`` (only add) or ``"under"`` (only remove).
        num_classes: number of classes (default ``max(labels) + 1``).
        seed: the seed; the same seed gives the same indices.
        shuffle: shuffle the result (otherwise grouped by class).

    Returns:
        int64 positions into ``labels`` (with repeats when oversampling).

    Examples:
        >>> idx = resample_indices([0, 0, 0, 1], "max", seed=0)
        >>> np.bincount(np.asarray([0, 0, 0, 1])[idx]).tolist()
        [3, 3]
    """
    where = "resample_indices"
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0 or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise fail("labels", where, "a non-empty 1-D array of int class indices >= 0", labels)
    k = check_int(num_classes, "num_classes", where, low=1, allow_none=True) or int(y.max()) + 1
    if y.max() >= k:
        raise fail("labels", where, f"class indices < num_classes={k}", int(y.max()))
    seed = check_seed(seed, "seed", where)
    shuffle = check_bool(shuffle, "shuffle", where)
    counts = np.bincount(y, minlength=k)
    wanted = target_counts(counts, target, mode=mode, where=where)
    return _draw(y, counts, wanted, np.random.default_rng(seed), shuffle)


def _draw(
    y: np.ndarray, counts: np.ndarray, wanted: np.ndarray, rng: np.random.Generator, shuffle: bool
) -> np.ndarray:
    parts = []
    for c, (have, want) in enumerate(zip(counts, wanted, strict=True)):
        rows = np.flatnonzero(y == c)
        if want <= have:
            parts.append(np.sort(rng.choice(rows, size=int(want), replace=False)))
        else:
            extra = rng.choice(rows, size=int(want - have), replace=True)
            parts.append(np.concatenate([rows, np.sort(extra)]))
    index = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
    return rng.permutation(index) if shuffle else index


def _resample_records(
    records: Any,
    target: Any,
    mode: str,
    where: str,
    seed: int | None,
    holdout: Any,
    allow_unsplit: bool,
) -> Any:
    from dermnet.data import Records

    ensure_training_split(records, where=where, holdout=holdout, allow_unsplit=allow_unsplit)
    seed = check_seed(seed, "seed", where)
    y = records.labels
    counts = np.bincount(y, minlength=records.num_classes)
    wanted = target_counts(counts, target, class_names=records.classes, mode=mode, where=where)
    index = _draw(y, counts, wanted, np.random.default_rng(seed), shuffle=True)
    frame = records.frame.iloc[index]
    source = frame["source_index"].to_numpy() if "source_index" in frame.columns else index
    frame = frame.assign(source_index=np.asarray(source, dtype=np.int64))
    return Records(
        frame,
        records.classes,
        name=records.name,
        group_cols=records.group_cols,
        metadata_cols=records.metadata_cols,
        role=records.role,
        excluded=records.excluded,
    )


def resample(
    records: Any,
    target: str | int | Mapping[Any, int] = "mean",
    *,
    seed: int | None = 0,
    holdout: Any = None,
    allow_unsplit: bool = False,
) -> Any:
    """Resample training records to a target number of images per class, both ways.

    Classes below the target are oversampled (all their images plus random copies drawn
    with replacement); classes above it are undersampled (a random subset). The result
    is shuffled and has a ``source_index`` column: the row of each image in the input
    records, so copies can be traced (``result.column("source_index")``).

    Args:
        records: the training records (``split(...).train``).
        target: ``"max"``, ``"min"``, ``"mean"`` (default), ``"median"``, an int, or a
            mapping ``{class name or index: count}`` (other classes keep their count).
        seed: the seed; the same seed gives the same records.
        holdout: evaluation records that must share no lesion, patient or file with
            ``records`` (checked with `dermnet.data.check_leakage`).
        allow_unsplit: accept records whose role is ``None``, with a
            `LeakageWarning`.

    Returns:
        New `Records` with the same role.

    Raises:
        LeakageError: the records are not (only) a training split; see
            `ensure_training_split`.
        DataError: the target asks for images of a class that has none.

    Examples:
        >>> from dermnet.data import load_sample, split
        >>> train = split(load_sample("ham10000"), seed=0).train
        >>> set(resample(train, 60).class_counts().values())
        {60}
    """
    return _resample_records(records, target, "both", "resample", seed, holdout, allow_unsplit)


def oversample(
    records: Any,
    target: str | int | Mapping[Any, int] = "max",
    *,
    seed: int | None = 0,
    holdout: Any = None,
    allow_unsplit: bool = False,
) -> Any:
    """Randomly oversample the rarer classes of training records (never removes images).

    Each class below ``target`` keeps all its images and gets random copies (drawn with
    replacement) up to the target; classes at or above it are unchanged. The default
    ``"max"`` raises every class to the size of the largest.

    ``records``, ``seed``, ``holdout`` and ``allow_unsplit`` are those of `resample`,
    whose errors it raises too; the result has the same ``source_index`` column.

    Args:
        records: the training records (``split(...).train``).
        target: ``"max"`` (default), ``"mean"``, ``"median"``, an int, or a mapping
            ``{class name or index: count}``.

    Examples:
        >>> from dermnet.data import load_sample, split
        >>> train = split(load_sample("ham10000"), seed=0).train
        >>> counts = oversample(train).class_counts()
        >>> len(set(counts.values())), counts["nv"] == train.class_counts()["nv"]
        (1, True)
    """
    return _resample_records(records, target, "over", "oversample", seed, holdout, allow_unsplit)


def undersample(
    records: Any,
    target: str | int | Mapping[Any, int] = "min",
    *,
    seed: int | None = 0,
    holdout: Any = None,
    allow_unsplit: bool = False,
) -> Any:
    """Randomly undersample the larger classes of training records (never copies images).

    Each class above ``target`` keeps a random subset of that size (without replacement);
    classes at or below it are unchanged. The default ``"min"`` lowers every class to the
    size of the smallest non-empty one. The removed images are not lost: they stay in the
    input records.

    ``records``, ``seed``, ``holdout`` and ``allow_unsplit`` are those of `resample`,
    whose errors it raises too; the result has the same ``source_index`` column.

    Args:
        records: the training records (``split(...).train``).
        target: ``"min"`` (default), ``"mean"``, ``"median"``, an int, or a mapping.

    Examples:
        >>> from dermnet.data import load_sample, split
        >>> train = split(load_sample("ham10000"), seed=0).train
        >>> min(train.class_counts().values()) == max(undersample(train).class_counts().values())
        True
    """
    return _resample_records(records, target, "under", "undersample", seed, holdout, allow_unsplit)

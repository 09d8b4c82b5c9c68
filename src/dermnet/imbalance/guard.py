"""The leakage guard shared by every resampling function.

Resampling (and anything else fitted on labels) must see the training split only:
oversampling before the split copies images into the test set, and undersampling or
weighting with test labels tunes the model to the test distribution. The guard reads the
``role`` that `dermnet.data.split` puts on its parts and refuses everything else.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from dermnet._core.errors import LeakageError, LeakageWarning, ParameterError
from dermnet._core.validation import check_bool

__all__ = ["SPLIT_COLUMNS", "ensure_training_split"]

#: Columns that record which split a row came from; a training set must not hold rows
#: marked with an evaluation split in any of them.
SPLIT_COLUMNS = ("split", "role", "partition", "subset")

_EVALUATION_MARKS = frozenset(
    {"val", "valid", "validation", "dev", "test", "testing", "holdout", "eval", "evaluation"}
)


def _is_records(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("labels", "classes", "role", "frame", "subset"))


def _as_holdouts(holdout: Any, where: str) -> list[Any]:
    if holdout is None:
        return []
    items = list(holdout) if isinstance(holdout, (list, tuple)) else [holdout]
    for item in items:
        if not _is_records(item):
            raise ParameterError(
                f"The 'holdout' parameter of {where} must be Records (or a list of Records) "
                f"of the validation/test split. Got {type(item).__name__} instead."
            )
    return items


def _marked_rows(records: Any) -> list[tuple[str, str, int]]:
    """(column, mark, count) for rows marked as an evaluation split in a split column."""
    frame = records.frame
    found = []
    for column in SPLIT_COLUMNS:
        if column not in frame.columns:
            continue
        values = frame[column].astype(str).str.strip().str.lower()
        for mark in sorted(set(values) & _EVALUATION_MARKS):
            found.append((column, mark, int(np.sum(values == mark))))
    return found


def ensure_training_split(
    records: Any,
    *,
    where: str = "ensure_training_split",
    holdout: Any = None,
    allow_unsplit: bool = False,
    group_by: str | None = "auto",
) -> Any:
    """Check that ``records`` are a training split and nothing else; return them.

    Every resampling function of `dermnet.imbalance` calls this first. It refuses:

    * records whose ``role`` is ``"val"`` or ``"test"`` (always);
    * records that span splits: rows marked as validation or test in a split column
      (``split``, ``role``, ``partition`` or ``subset``; e.g. a CSV that concatenates the
      official train and test lists);
    * records that share a lesion/patient group or an image file with ``holdout`` (the
      evaluation records), as found by `dermnet.data.check_leakage`;
    * unsplit records (``role=None``) unless ``allow_unsplit=True``, which then warns with
      a `LeakageWarning` on every call.

    Args:
        records: the records to check (`dermnet.data.Records`).
        where: the calling function, for messages.
        holdout: evaluation records (or a list of them) that must share nothing with
            ``records``.
        allow_unsplit: accept records whose role is ``None`` (with a warning).
        group_by: group column for the holdout check (``"auto"``: the records' first one).

    Returns:
        ``records``, unchanged.

    Raises:
        LeakageError: the records are not (only) a training split.
        ParameterError: ``records`` or ``holdout`` are not Records.

    Examples:
        >>> from dermnet.data import load_sample, split
        >>> parts = split(load_sample("ham10000"), test_size=0.2, seed=0)
        >>> ensure_training_split(parts.train, holdout=parts.test).role
        'train'
        >>> ensure_training_split(parts.test)
        Traceback (most recent call last):
        ...
        dermnet._core.errors.LeakageError: ensure_training_split refuses records whose ...
    """
    allow_unsplit = check_bool(allow_unsplit, "allow_unsplit", where)
    if not _is_records(records):
        raise ParameterError(
            f"The 'records' parameter of {where} must be dermnet Records (from a loader and "
            f"dermnet.data.split). Got {type(records).__name__} instead."
        )
    role = records.role
    if role in ("val", "test"):
        raise LeakageError(
            f"{where} refuses records whose role is {role!r}: resampling or fitting on "
            "validation or test data makes the evaluation optimistic. Pass the training "
            "part of dermnet.data.split(...) instead."
        )
    marked = _marked_rows(records)
    if marked:
        detail = ", ".join(f"{n} row(s) with {col}={mark!r}" for col, mark, n in marked)
        raise LeakageError(
            f"{where} refuses records that span splits: they hold {detail}. Resample only "
            "the training rows (e.g. records.subset(records.column('split') == 'train', "
            "role='train'))."
        )
    for other in _as_holdouts(holdout, where):
        from dermnet.data import check_leakage

        report = check_leakage(records, other, group_by)
        if not report.ok:
            try:
                report.raise_if_leaky()
            except LeakageError as exc:
                raise LeakageError(
                    f"{where} refuses records that overlap the holdout records: {exc}"
                ) from None
    if role is None:
        if not allow_unsplit:
            raise LeakageError(
                f"{where} cannot tell whether these records are a training split: their "
                "role is None (not split yet). Resampling before the split leaks copies of "
                "images into the test set. Split first with dermnet.data.split(records, ...) "
                "and pass its .train part; if these records really are training data only, "
                "mark them with records.with_role('train') or pass allow_unsplit=True."
            )
        warnings.warn(
            f"{where}: the records are not marked as a training split (role=None) and "
            "allow_unsplit=True was passed, so they are used as they are. If they contain "
            "validation or test images, every metric computed later is optimistic.",
            LeakageWarning,
            stacklevel=3,
        )
    elif role != "train":  # pragma: no cover (Records only allows the three roles)
        raise LeakageError(f"{where} refuses records whose role is {role!r}.")
    return records

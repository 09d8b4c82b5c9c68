"""The checks of labels and scores that every metric function shares (one place, one set
of messages): `check_labels_scores`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dermnet._core.errors import DataError
from dermnet._core.protocols import two_class_scores
from dermnet._core.validation import fail

__all__ = ["check_labels_scores"]

#: Rows of a score matrix must sum to 1 within this (float16 softmax outputs are ~1e-3 off).
ROW_SUM_TOLERANCE = 1e-2


def check_labels_scores(
    y_true: Any,
    y_score: Any,
    class_names: Sequence[str] | None,
    where: str,
    *,
    require_distribution: bool = True,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Validate labels and probabilities; return ``(y (n,), scores (n, k), names)``.

    ``y_true`` may be int class indices or one-hot rows; ``y_score`` an ``(n, k)``
    probability matrix or ``(n,)`` positive-class probabilities (binary).
    """
    y = np.asarray(y_true)
    if y.size == 0:
        raise DataError(f"{where}: y_true is empty; there is nothing to evaluate.")
    scores = two_class_scores(np.asarray(y_score, dtype=np.float64))
    if scores.ndim != 2:
        raise fail(
            "y_score", where, "an (n, num_classes) array of probabilities", f"shape {scores.shape}"
        )
    if y.ndim == 2 and y.shape == scores.shape and np.isin(y, (0, 1)).all():
        if not np.all(y.sum(axis=1) == 1):
            raise fail("y_true", where, "int class indices or one-hot rows", "rows not one-hot")
        y = y.argmax(axis=1)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or y.dtype == bool):
        raise fail(
            "y_true", where, "a 1-D array of int class indices", f"shape {y.shape}, dtype {y.dtype}"
        )
    y = y.astype(np.int64)
    if len(y) != len(scores):
        raise DataError(
            f"{where}: y_true has {len(y)} samples but y_score has {len(scores)}; they must match."
        )
    finite = np.all(np.isfinite(scores), axis=1)
    if not finite.all():
        rows = np.flatnonzero(~finite)
        raise DataError(
            f"{where}: y_score has NaN or infinite values in {len(rows)} row(s) "
            f"(first: {rows[:5].tolist()})."
        )
    k = scores.shape[1]
    if k < 2:
        raise fail("y_score", where, "scores for at least 2 classes", f"{k} column(s)")
    if scores.min() < -1e-6 or scores.max() > 1 + 1e-6:
        raise DataError(
            f"{where}: y_score must be probabilities in [0, 1] (apply softmax or sigmoid "
            f"first). Got values from {scores.min():.3g} to {scores.max():.3g}."
        )
    scores = np.clip(scores, 0.0, 1.0)
    if require_distribution:
        sums = scores.sum(axis=1)
        off = np.abs(sums - 1.0) > ROW_SUM_TOLERANCE
        if off.any():
            raise DataError(
                f"{where}: each row of y_score must be a probability distribution summing to 1 "
                f"(a softmax output); {int(off.sum())} row(s) sum to between "
                f"{sums.min():.3g} and {sums.max():.3g}. For one sigmoid per class, normalise "
                "the rows or evaluate each class as a binary task."
            )
    if y.min() < 0 or y.max() >= k:
        raise DataError(f"{where}: y_true has class indices outside [0, {k - 1}].")
    names = (
        tuple(str(c) for c in class_names)
        if class_names is not None
        else tuple(str(i) for i in range(k))
    )
    if len(names) != k:
        raise fail("class_names", where, f"{k} names (one per score column)", list(names))
    if len(set(names)) != k:
        raise fail("class_names", where, "unique names", list(names))
    return y, scores, names

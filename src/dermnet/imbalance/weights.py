"""Class weights for imbalanced training."""

from __future__ import annotations

from typing import Any

import numpy as np

from dermnet._core.errors import DataError
from dermnet._core.validation import check_int, check_option, fail

__all__ = ["class_weights"]

_METHODS = ("balanced",)


def _as_labels(labels: Any, where: str) -> tuple[np.ndarray, int | None]:
    """Integer labels from an array-like or a Records object (with its class count)."""
    if hasattr(labels, "labels") and hasattr(labels, "num_classes"):
        return np.asarray(labels.labels), int(labels.num_classes)
    array = np.asarray(labels)
    if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.integer):
        raise fail("labels", where, "a non-empty 1-D array of int class indices or Records", labels)
    if array.min() < 0:
        raise fail("labels", where, "class indices >= 0", int(array.min()))
    return array, None


def class_weights(
    labels: Any, method: str = "balanced", *, num_classes: int | None = None
) -> dict[int, float]:
    """Per-class loss weights, as the dict ``keras.Model.fit(class_weight=...)`` takes.

    ``"balanced"`` gives class ``c`` the weight ``n / (k * n_c)``, so every class carries
    the same total weight (the scikit-learn definition).

    Args:
        labels: integer class labels of the *training* split, or its Records.
        method: ``"balanced"``.
        num_classes: number of classes (default: from Records, else ``max(labels) + 1``).

    Returns:
        ``{class_index: weight}`` for every class.

    Raises:
        DataError: a class has no training images (its weight would be infinite).

    Example:
        >>> class_weights([0, 0, 0, 1])
        {0: 0.6666666666666666, 1: 2.0}
    """
    where = "class_weights"
    y, k = _as_labels(labels, where)
    method = check_option(method, _METHODS, "method", where)
    k = (
        check_int(num_classes, "num_classes", where, low=1, allow_none=True)
        or k
        or int(y.max()) + 1
    )
    if y.max() >= k:
        raise fail("labels", where, f"class indices < num_classes={k}", int(y.max()))
    counts = np.bincount(y, minlength=k)
    empty = np.flatnonzero(counts == 0).tolist()
    if empty:
        raise DataError(
            f"class_weights: class index(es) {empty} have no images in the labels given; "
            "a balanced weight is undefined. Check the split, or drop the class."
        )
    weights = len(y) / (k * counts.astype(np.float64))
    return {int(i): float(w) for i, w in enumerate(weights)}

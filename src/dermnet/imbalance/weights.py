"""Class weights for imbalanced training."""

from __future__ import annotations

from typing import Any

import numpy as np

from dermnet._core.errors import DataError, LeakageError
from dermnet._core.validation import check_float, check_int, check_option, fail

__all__ = ["class_weights", "effective_number"]

_METHODS = ("balanced", "inverse_sqrt", "effective_number")


def _as_labels(labels: Any, where: str) -> tuple[np.ndarray, int | None]:
    """Integer labels from an array-like or a Records object (with its class count)."""
    if hasattr(labels, "labels") and hasattr(labels, "num_classes"):
        role = getattr(labels, "role", None)
        if role in ("val", "test"):
            raise LeakageError(
                f"{where} refuses records whose role is {role!r}: weights must come from the "
                "training split only. Pass the .train part of dermnet.data.split(...)."
            )
        array = np.asarray(labels.labels)
        if array.size == 0:
            raise fail("labels", where, "non-empty Records", labels)
        return array, int(labels.num_classes)
    array = np.asarray(labels)
    if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.integer):
        raise fail("labels", where, "a non-empty 1-D array of int class indices or Records", labels)
    if array.min() < 0:
        raise fail("labels", where, "class indices >= 0", int(array.min()))
    return array, None


def effective_number(counts: Any, beta: float) -> np.ndarray:
    """The effective number of samples per class, ``(1 - beta**n) / (1 - beta)``.

    Cui et al. (CVPR 2019) argue that new samples of a class add less and less information,
    so a class of ``n`` images is worth ``(1 - beta**n) / (1 - beta)`` of them. ``beta=0``
    gives 1 for every non-empty class; as ``beta`` approaches 1 it approaches ``n``.

    Args:
        counts: images per class.
        beta: in [0, 1).

    Examples:
        >>> effective_number([1, 10, 50], 0.9).round(2)
        array([1.  , 6.51, 9.95])
    """
    beta = check_float(beta, "beta", "effective_number", low=0.0, high=1.0, high_open=True)
    n = np.asarray(counts, dtype=np.float64)
    if beta == 0.0:
        return (n > 0).astype(np.float64)
    return -np.expm1(n * np.log(beta)) / (1.0 - beta)  # (1 - beta**n) / (1 - beta), stable


def class_weights(
    labels: Any,
    method: str = "balanced",
    *,
    beta: float = 0.999,
    num_classes: int | None = None,
) -> dict[int, float]:
    """Per-class loss weights, as the dict ``keras.Model.fit(class_weight=...)`` takes.

    Methods (``n`` training images, ``k`` classes, ``n_c`` images of class ``c``):

    * ``"balanced"``: ``n / (k * n_c)``, so every class carries the same total weight
      ``n / k`` (the scikit-learn definition).
    * ``"inverse_sqrt"``: proportional to ``1 / sqrt(n_c)``, a milder correction that
      over-weights rare classes less (useful when they are very rare and noisy).
    * ``"effective_number"``: proportional to ``1 / E(n_c)`` with the effective number
      ``E(n) = (1 - beta**n) / (1 - beta)`` (Cui et al., "Class-Balanced Loss Based on
      Effective Number of Samples", CVPR 2019). ``beta=0`` gives equal weights; as ``beta``
      approaches 1 the weights approach ``"balanced"``.

    Every method is scaled so that the weights summed over the training images equal ``n``
    (the mean weight of an image is 1), so the loss keeps its scale and the learning rate
    needs no change.

    Args:
        labels: integer class labels of the *training* split, or its Records (records whose
            role is ``"val"`` or ``"test"`` are refused).
        method: ``"balanced"``, ``"inverse_sqrt"`` or ``"effective_number"``.
        beta: the ``beta`` of ``"effective_number"``, in [0, 1); ignored by the others.
        num_classes: number of classes (default: from Records, else ``max(labels) + 1``).

    Returns:
        ``{class_index: weight}`` for every class.

    Raises:
        DataError: a class has no training images (its weight would be infinite).
        LeakageError: the records are a validation or test split.

    Examples:
        >>> class_weights([0, 0, 0, 1])
        {0: 0.6666666666666666, 1: 2.0}
        >>> {c: round(w, 3) for c, w in class_weights([0, 0, 0, 1], "inverse_sqrt").items()}
        {0: 0.845, 1: 1.464}
    """
    where = "class_weights"
    y, k = _as_labels(labels, where)
    method = check_option(method, _METHODS, "method", where)
    beta = check_float(beta, "beta", where, low=0.0, high=1.0, high_open=True)
    k = (
        check_int(num_classes, "num_classes", where, low=1, allow_none=True)
        or k
        or int(y.max()) + 1
    )
    if y.max() >= k:
        raise fail("labels", where, f"class indices < num_classes={k}", int(y.max()))
    counts = np.bincount(y, minlength=k).astype(np.float64)
    empty = np.flatnonzero(counts == 0).tolist()
    if empty:
        raise DataError(
            f"class_weights: class index(es) {empty} have no images in the labels given; "
            f"a {method} weight is undefined. Check the split, or drop the class."
        )
    if method == "balanced":
        raw = 1.0 / counts
    elif method == "inverse_sqrt":
        raw = 1.0 / np.sqrt(counts)
    else:
        raw = 1.0 / effective_number(counts, beta)
    weights = raw * len(y) / np.sum(raw * counts)
    return {int(i): float(w) for i, w in enumerate(weights)}

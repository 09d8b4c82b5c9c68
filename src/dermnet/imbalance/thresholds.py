"""Decision thresholds for binary and one-vs-rest decisions, tuned on validation data.

A softmax's argmax is rarely the decision a clinic wants: a melanoma screen needs a
chosen sensitivity (miss few melanomas) or a chosen specificity (refer few benign
lesions). `tune_threshold` picks the threshold on the *validation* split; the test
split then measures it honestly.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from dermnet._core.config import ConfigMixin
from dermnet._core.errors import DataError, LeakageError, LeakageWarning
from dermnet._core.validation import check_bool, check_float, check_option, fail

__all__ = ["Threshold", "roc_points", "tune_threshold"]

_METHODS = ("youden", "sensitivity", "specificity")


@dataclasses.dataclass(frozen=True)
class Threshold(ConfigMixin):
    """A tuned decision threshold: predict the positive class when ``score >= threshold``.

    Attributes:
        threshold: the cut-off on the positive class's score.
        method: ``"youden"``, ``"sensitivity"`` or ``"specificity"``.
        target: the asked sensitivity or specificity (``None`` for Youden's J).
        positive_class: index of the positive class (one-vs-rest for multi-class scores).
        class_name: its name, when known.
        sensitivity: sensitivity (recall of the positive class) at the threshold, on the
            data it was tuned on.
        specificity: specificity at the threshold, on the data it was tuned on.
        n_positive: positives in the tuning data.
        n_negative: negatives in the tuning data.
    """

    threshold: float
    method: str
    target: float | None
    positive_class: int
    sensitivity: float
    specificity: float
    n_positive: int
    n_negative: int
    class_name: str | None = None

    @property
    def youden_j(self) -> float:
        """Youden's J at the threshold: sensitivity + specificity - 1."""
        return self.sensitivity + self.specificity - 1.0

    def predict(self, y_score: Any) -> np.ndarray:
        """Boolean decisions (``True`` = positive) for new scores.

        Args:
            y_score: scores of the positive class, shape ``(n,)``, or the full score matrix
                ``(n, classes)`` (the column `positive_class` is used).
        """
        scores = np.asarray(y_score, dtype=np.float64)
        if scores.ndim == 2:
            scores = scores[:, self.positive_class]
        return scores >= self.threshold


def _labels_from(y_true: Any, where: str, allow_unsplit: bool) -> tuple[np.ndarray, tuple | None]:
    if hasattr(y_true, "labels") and hasattr(y_true, "role"):
        role = y_true.role
        if role in ("train", "test"):
            raise LeakageError(
                f"{where} refuses records whose role is {role!r}: a threshold must be chosen "
                "on the validation split only (on training data it is optimistic; on test "
                "data the test result is no longer honest). Pass split(...).val."
            )
        if role is None:
            if not allow_unsplit:
                raise LeakageError(
                    f"{where} cannot tell whether these records are the validation split "
                    "(role=None). Pass split(...).val, mark them with "
                    "records.with_role('val'), or pass allow_unsplit=True."
                )
            warnings.warn(
                f"{where}: records not marked as a validation split (role=None) used because "
                "allow_unsplit=True.",
                LeakageWarning,
                stacklevel=3,
            )
        return np.asarray(y_true.labels), tuple(y_true.classes)
    return np.asarray(y_true), None


def _resolve_class(positive_class: Any, k: int, names: Sequence[str] | None, where: str) -> int:
    if positive_class is None:
        if k == 2:
            return 1
        raise fail(
            "positive_class",
            where,
            f"the index or name of the class of interest (the scores have {k} columns)",
            None,
        )
    if isinstance(positive_class, str):
        if names and positive_class in names:
            return list(names).index(positive_class)
        must = f"one of the class names {list(names or [])}"
        raise fail("positive_class", where, must, positive_class)
    is_int = isinstance(positive_class, (int, np.integer)) and not isinstance(positive_class, bool)
    if is_int and 0 <= int(positive_class) < k:
        return int(positive_class)
    must = f"a class index in [0, {k - 1}] or a class name"
    raise fail("positive_class", where, must, positive_class)


def tune_threshold(
    y_true: Any,
    y_score: Any,
    method: str = "youden",
    *,
    target: float | None = None,
    positive_class: int | str | None = None,
    class_names: Sequence[str] | None = None,
    allow_unsplit: bool = False,
) -> Threshold:
    """Choose a decision threshold on validation data.

    Methods (the decision is "positive" when the score is >= the threshold):

    * ``"youden"``: maximise Youden's J = sensitivity + specificity - 1 (ties: the highest
      threshold).
    * ``"sensitivity"``: reach at least ``target`` sensitivity with the highest possible
      specificity (e.g. a melanoma screen that must find 95% of melanomas).
    * ``"specificity"``: reach at least ``target`` specificity with the highest possible
      sensitivity.

    Args:
        y_true: validation labels: 0/1 for 1-D scores, class indices for a score matrix;
            or the validation Records (their role is checked: ``"train"`` and ``"test"``
            are refused, ``None`` needs ``allow_unsplit=True``). Plain arrays carry no role:
            pass validation labels only.
        y_score: scores of the positive class ``(n,)`` or a score matrix ``(n, classes)``.
        method: ``"youden"``, ``"sensitivity"`` or ``"specificity"``.
        target: the sensitivity or specificity to reach, in (0, 1]; required by those two
            methods.
        positive_class: the class of interest (index or name) for one-vs-rest decisions on
            a score matrix; defaults to 1 for two columns.
        class_names: the class names (taken from Records when those are given).
        allow_unsplit: accept Records whose role is ``None``, with a warning.

    Returns:
        A `Threshold` with the cut-off and the sensitivity and specificity it gives
        on the tuning data.

    Raises:
        DataError: mismatched lengths, NaN scores, or no positives or no negatives.
        LeakageError: Records that are not the validation split.

    Examples:
        >>> t = tune_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        >>> t.threshold, t.sensitivity, t.specificity
        (0.8, 0.5, 1.0)
        >>> tune_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], "sensitivity",
        ...                target=1.0).threshold
        0.35
    """
    where = "tune_threshold"
    method = check_option(method, _METHODS, "method", where)
    allow_unsplit = check_bool(allow_unsplit, "allow_unsplit", where)
    if method == "youden":
        if target is not None:
            raise fail("target", where, "None for method='youden'", target)
    else:
        if target is None:
            raise fail("target", where, f"the {method} to reach, in (0, 1]", target)
        target = check_float(target, "target", where, low=0.0, high=1.0, low_open=True)
    y, names_from_records = _labels_from(y_true, where, allow_unsplit)
    names = tuple(class_names) if class_names is not None else names_from_records
    scores = np.asarray(y_score, dtype=np.float64)
    if scores.ndim == 2:
        index = _resolve_class(positive_class, scores.shape[1], names, where)
        column = scores[:, index]
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise fail("y_true", where, "1-D int class indices", f"shape {y.shape}, {y.dtype}")
        positives = y == index
    elif scores.ndim == 1:
        if positive_class not in (None, 1):
            raise fail("positive_class", where, "None or 1 for 1-D scores", positive_class)
        index, column = 1, scores
        if y.ndim != 1 or not np.isin(y, (0, 1)).all():
            raise fail("y_true", where, "1-D labels in {0, 1} for 1-D scores", y)
        positives = y.astype(bool)
    else:
        raise fail("y_score", where, "an (n,) or (n, classes) array", f"shape {scores.shape}")
    if len(y) != len(column):
        raise DataError(f"{where}: y_true has {len(y)} samples but y_score has {len(column)}.")
    if not np.all(np.isfinite(column)):
        raise DataError(f"{where}: y_score has {int(np.sum(~np.isfinite(column)))} NaN/inf values.")
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        raise DataError(
            f"{where}: the tuning data has {n_pos} positive(s) and {n_neg} negative(s); both "
            "are needed to choose a threshold."
        )
    threshold, sens, spec = _choose(positives, column, method, target)
    name = names[index] if names is not None and index < len(names) else None
    return Threshold(
        threshold=threshold,
        method=method,
        target=target,
        positive_class=int(index),
        sensitivity=sens,
        specificity=spec,
        n_positive=n_pos,
        n_negative=n_neg,
        class_name=name,
    )


def roc_points(positives: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every ROC operating point: (thresholds descending, sensitivity, specificity).

    The first point has a threshold above every score (nothing predicted positive).
    """
    order = np.argsort(-scores, kind="stable")
    s, p = scores[order], positives[order]
    ends = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # last index of each tie group
    tp = np.cumsum(p)[ends]
    fp = (ends + 1) - tp
    above = np.nextafter(s[0], np.inf)
    thresholds = np.r_[above, s[ends]]
    sensitivity = np.r_[0.0, tp / p.sum()]
    specificity = np.r_[1.0, 1.0 - fp / (~p).sum()]
    return thresholds, sensitivity, specificity


def _choose(
    positives: np.ndarray, scores: np.ndarray, method: str, target: float | None
) -> tuple[float, float, float]:
    thresholds, sens, spec = roc_points(positives.astype(bool), scores)
    if method == "youden":
        i = int(np.argmax(sens + spec - 1.0))  # first maximum: the highest threshold
    elif method == "sensitivity":
        i = int(np.flatnonzero(sens >= target - 1e-12)[0])  # highest such threshold
    else:
        i = int(np.flatnonzero(spec >= target - 1e-12)[-1])  # lowest such threshold
    return float(thresholds[i]), float(sens[i]), float(spec[i])

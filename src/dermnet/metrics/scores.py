"""Classification scores that stay honest on imbalanced data."""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dermnet._core.errors import DataError
from dermnet._core.validation import fail

__all__ = ["EvaluationReport", "UndefinedMetricWarning", "evaluate"]


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined for the data given (e.g. AUC of a class absent from y_true)."""


@dataclasses.dataclass(frozen=True)
class EvaluationReport:
    """The result of :func:`evaluate`.

    Attributes:
        class_names: the classes, in label order.
        n: number of samples.
        accuracy: share of correct top-1 predictions.
        balanced_accuracy: mean per-class recall (the ISIC challenge metric).
        macro_auc: mean one-vs-rest ROC AUC over the classes where it is defined, or
            ``None`` if it is defined for none.
        per_class: ``{class: {"precision", "recall", "f1", "support", "auc"}}``; ``auc``
            is ``None`` where undefined.
        confusion_matrix: counts, rows = true class, columns = predicted class.
        notes: warnings about undefined metrics, in words.
    """

    class_names: tuple[str, ...]
    n: int
    accuracy: float
    balanced_accuracy: float
    macro_auc: float | None
    per_class: dict[str, dict[str, float | int | None]]
    confusion_matrix: tuple[tuple[int, ...], ...]
    notes: tuple[str, ...] = ()

    def headline(self) -> dict[str, float | None]:
        """The headline numbers: accuracy, balanced accuracy, macro AUC."""
        return {
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "macro_auc": self.macro_auc,
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict of everything in the report."""
        out = dataclasses.asdict(self)
        out["class_names"] = list(self.class_names)
        out["confusion_matrix"] = [list(r) for r in self.confusion_matrix]
        out["notes"] = list(self.notes)
        return out

    def to_json(self, path: str | Path | None = None, *, indent: int = 2) -> str:
        """The report as JSON text; also written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    def to_markdown(self) -> str:
        """A Markdown summary: headline numbers and a per-class table."""

        def fmt(v: Any) -> str:
            return "undefined" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))

        lines = [
            f"| metric | value |\n|---|---|\n| n | {self.n} |",
            *[f"| {k} | {fmt(v)} |" for k, v in self.headline().items()],
            "",
            "| class | precision | recall | f1 | support | AUC |",
            "|---|---|---|---|---|---|",
        ]
        for name, row in self.per_class.items():
            lines.append(
                f"| {name} | {fmt(row['precision'])} | {fmt(row['recall'])} | {fmt(row['f1'])} "
                f"| {row['support']} | {fmt(row['auc'])} |"
            )
        if self.notes:
            lines += ["", *[f"- {note}" for note in self.notes]]
        return "\n".join(lines)


def _check_inputs(
    y_true: Any, y_score: Any, class_names: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    where = "evaluate"
    y = np.asarray(y_true)
    scores = np.asarray(y_score, dtype=np.float64)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise fail(
            "y_true", where, "a 1-D array of int class indices", f"shape {y.shape}, dtype {y.dtype}"
        )
    if scores.ndim == 1:  # binary: probability of the positive class
        scores = np.stack([1.0 - scores, scores], axis=1)
    if scores.ndim != 2:
        raise fail(
            "y_score", where, "an (n, num_classes) array of probabilities", f"shape {scores.shape}"
        )
    if len(y) != len(scores):
        raise DataError(
            f"evaluate: y_true has {len(y)} samples but y_score has {len(scores)}; they must match."
        )
    if len(y) == 0:
        raise DataError("evaluate: y_true is empty; there is nothing to evaluate.")
    if not np.all(np.isfinite(scores)):
        bad = int(np.sum(~np.all(np.isfinite(scores), axis=1)))
        raise DataError(f"evaluate: y_score has NaN or infinite values in {bad} row(s).")
    k = scores.shape[1]
    if k < 2:
        raise fail("y_score", where, "scores for at least 2 classes", f"{k} column(s)")
    if scores.min() < -1e-6 or scores.max() > 1 + 1e-6:
        raise DataError(
            "evaluate: y_score must be probabilities in [0, 1] (apply softmax or sigmoid "
            f"first). Got values from {scores.min():.3g} to {scores.max():.3g}."
        )
    if y.min() < 0 or y.max() >= k:
        raise DataError(f"evaluate: y_true has class indices outside [0, {k - 1}].")
    names = tuple(class_names) if class_names is not None else tuple(str(i) for i in range(k))
    if len(names) != k:
        raise fail("class_names", where, f"{k} names (one per score column)", list(names))
    return y, scores, names


def evaluate(
    y_true: Any, y_score: Any, class_names: Sequence[str] | None = None
) -> EvaluationReport:
    """Score predictions: accuracy, balanced accuracy, per-class metrics, AUC, confusion.

    Args:
        y_true: integer class labels, shape ``(n,)``.
        y_score: predicted probabilities, shape ``(n, num_classes)`` (or ``(n,)`` for the
            positive class of a binary task).
        class_names: the class names, one per column of ``y_score``.

    Returns:
        An :class:`EvaluationReport`. A class absent from ``y_true`` gets ``auc=None`` and
        a note (with an :class:`UndefinedMetricWarning`) instead of an error.

    Raises:
        DataError: mismatched lengths, NaN scores, scores that are not probabilities.

    Example:
        >>> report = evaluate([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], ["a", "b"])
        >>> round(report.balanced_accuracy, 3)
        0.75
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

    y, scores, names = _check_inputs(y_true, y_score, class_names)
    k = len(names)
    pred = scores.argmax(axis=1)
    cm = confusion_matrix(y, pred, labels=list(range(k)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        precision, recall, f1, support = precision_recall_fscore_support(
            y, pred, labels=list(range(k)), zero_division=0
        )
    notes: list[str] = []
    aucs: list[float | None] = []
    for c in range(k):
        positives = int(np.sum(y == c))
        if positives == 0 or positives == len(y):
            aucs.append(None)
            notes.append(
                f"AUC of class {names[c]!r} is undefined: it has "
                f"{'no' if positives == 0 else 'only'} samples in y_true."
            )
        else:
            aucs.append(float(roc_auc_score(y == c, scores[:, c])))
    for note in notes:
        warnings.warn(note, UndefinedMetricWarning, stacklevel=2)
    present = support > 0
    defined = [a for a in aucs if a is not None]
    per_class = {
        names[c]: {
            "precision": float(precision[c]),
            "recall": float(recall[c]),
            "f1": float(f1[c]),
            "support": int(support[c]),
            "auc": aucs[c],
        }
        for c in range(k)
    }
    if not present.all():
        notes.append(
            "Balanced accuracy averages recall over the classes present in y_true "
            f"({int(present.sum())} of {k})."
        )
    return EvaluationReport(
        class_names=names,
        n=len(y),
        accuracy=float(np.mean(pred == y)),
        balanced_accuracy=float(np.mean(recall[present])),
        macro_auc=float(np.mean(defined)) if defined else None,
        per_class=per_class,
        confusion_matrix=tuple(tuple(int(v) for v in row) for row in cm),
        notes=tuple(notes),
    )

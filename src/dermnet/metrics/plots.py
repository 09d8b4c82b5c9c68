"""Figures with matplotlib (the Agg backend; nothing opens a window)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["figure_to_png", "plot_confusion_matrix", "plot_history", "plot_roc_curves"]


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def figure_to_png(fig: Figure, *, dpi: int = 110) -> bytes:
    """Render a figure to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def plot_confusion_matrix(
    matrix: Any, class_names: Sequence[str], *, normalize: bool = True, title: str | None = None
) -> Figure:
    """Heatmap of a confusion matrix (rows true, columns predicted), row-normalized by default."""
    cm = np.asarray(matrix, dtype=np.float64)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    k = len(class_names)
    fig = _figure(1.0 + 0.7 * k, 0.8 + 0.6 * k)
    ax = fig.add_subplot()
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    for i in range(k):
        for j in range(k):
            text = f"{shown[i, j]:.2f}\n({int(cm[i, j])})" if normalize else f"{int(cm[i, j])}"
            color = "white" if shown[i, j] > (0.5 if normalize else shown.max() / 2) else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(k), class_names, rotation=45, ha="right")
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(
        title or ("Confusion matrix (row-normalized)" if normalize else "Confusion matrix")
    )
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def plot_history(history: Mapping[str, Sequence[float]] | Any) -> Figure:
    """Training curves: one panel per metric, training and validation together.

    Args:
        history: a ``keras.callbacks.History`` or its ``.history`` dict.
    """
    logs = dict(getattr(history, "history", history))
    metrics = [m for m in logs if not m.startswith("val_") and m not in ("learning_rate", "lr")]
    fig = _figure(4.0 * max(1, len(metrics)), 3.2)
    for i, metric in enumerate(metrics, start=1):
        ax = fig.add_subplot(1, max(1, len(metrics)), i)
        epochs = np.arange(1, len(logs[metric]) + 1)
        ax.plot(epochs, logs[metric], marker="o", label="train")
        if f"val_{metric}" in logs:
            ax.plot(epochs, logs[f"val_{metric}"], marker="o", label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def plot_roc_curves(y_true: Any, y_score: Any, class_names: Sequence[str]) -> Figure:
    """One-vs-rest ROC curves, one per class present in ``y_true``, with their AUC."""
    from sklearn.metrics import roc_auc_score, roc_curve

    y = np.asarray(y_true)
    scores = np.asarray(y_score, dtype=np.float64)
    fig = _figure(5.0, 4.2)
    ax = fig.add_subplot()
    for c, name in enumerate(class_names):
        positives = y == c
        if positives.all() or not positives.any():
            continue
        fpr, tpr, _ = roc_curve(positives, scores[:, c])
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(positives, scores[:, c]):.2f})")
    ax.plot([0, 1], [0, 1], ls="--", color="gray", lw=1)
    ax.set_xlabel("1 - specificity (false positive rate)")
    ax.set_ylabel("sensitivity (true positive rate)")
    ax.set_title("ROC curves, one-vs-rest")
    ax.legend(fontsize=7, loc="lower right")
    return fig

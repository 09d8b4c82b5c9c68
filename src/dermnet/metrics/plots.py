"""Figures with matplotlib (the Agg backend; nothing opens a window)."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.protocols import two_class_scores
from dermnet._core.validation import fail

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "figure_to_png",
    "plot_class_distribution",
    "plot_confusion_matrix",
    "plot_history",
    "plot_pr_curves",
    "plot_reliability_diagram",
    "plot_roc_curves",
]


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


def _one_vs_rest(
    y_true: Any, y_score: Any, class_names: Sequence[str]
) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, is the class, score of the class)`` of each class present in ``y_true`` and
    absent from some labels (a one-vs-rest curve needs both); one sigmoid column counts as
    two classes."""
    y = np.asarray(y_true)
    scores = two_class_scores(np.asarray(y_score, dtype=np.float64))
    for c, name in enumerate(class_names):
        positives = y == c
        if positives.any() and not positives.all():
            yield name, positives, scores[:, c]


def plot_roc_curves(y_true: Any, y_score: Any, class_names: Sequence[str]) -> Figure:
    """One-vs-rest ROC curves, one per class present in ``y_true``, with their AUC."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig = _figure(5.0, 4.2)
    ax = fig.add_subplot()
    for name, positives, scores in _one_vs_rest(y_true, y_score, class_names):
        fpr, tpr, _ = roc_curve(positives, scores)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(positives, scores):.2f})")
    ax.plot([0, 1], [0, 1], ls="--", color="gray", lw=1)
    ax.set_xlabel("1 - specificity (false positive rate)")
    ax.set_ylabel("sensitivity (true positive rate)")
    ax.set_title("ROC curves, one-vs-rest")
    ax.legend(fontsize=7, loc="lower right")
    return fig


def plot_pr_curves(y_true: Any, y_score: Any, class_names: Sequence[str]) -> Figure:
    """One-vs-rest precision-recall curves, one per class present in ``y_true``.

    Each curve is labelled with its average precision; the dashed line of the same colour
    is the class's prevalence, the precision of a classifier that guesses. On imbalanced
    data this figure says more about the rare classes than the ROC curves do.
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    fig = _figure(5.0, 4.2)
    ax = fig.add_subplot()
    for name, positives, scores in _one_vs_rest(y_true, y_score, class_names):
        precision, recall, _ = precision_recall_curve(positives, scores)
        ap = average_precision_score(positives, scores)
        (line,) = ax.step(recall, precision, where="post", label=f"{name} (AP {ap:.2f})")
        ax.axhline(positives.mean(), ls=":", lw=0.8, color=line.get_color())
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall (sensitivity)")
    ax.set_ylabel("precision (positive predictive value)")
    ax.set_title("Precision-recall curves, one-vs-rest (dotted: prevalence)")
    ax.legend(fontsize=7, loc="lower left")
    return fig


def plot_reliability_diagram(
    y_true: Any = None,
    y_score: Any = None,
    n_bins: int = 15,
    *,
    class_index: int | None = None,
    curve: Mapping[str, Sequence[float]] | None = None,
    title: str | None = None,
) -> Figure:
    """Reliability diagram: observed accuracy against confidence, per bin, and the
    distribution of confidences below it.

    Bars on the diagonal mean calibrated; bars below it mean over-confident. The title
    gives the expected calibration error.

    Args:
        y_true: int class labels.
        y_score: probabilities ``(n, classes)`` or ``(n,)``.
        n_bins: equal-width bins.
        class_index: draw the one-vs-rest curve of this class instead of the top label.
        curve: a precomputed curve from `reliability_curve`
            (instead of ``y_true`` and ``y_score``).
        title: the title (default names the ECE).
    """
    from dermnet.metrics.calibration import reliability_curve

    if curve is None:
        curve = reliability_curve(y_true, y_score, n_bins, class_index=class_index)
    lower = np.asarray(curve["bin_lower"], dtype=np.float64)
    upper = np.asarray(curve["bin_upper"], dtype=np.float64)
    count = np.asarray(curve["count"], dtype=np.float64)
    predicted = np.asarray(curve["predicted"], dtype=np.float64)
    observed = np.asarray(curve["observed"], dtype=np.float64)
    ece = float(np.sum(count * np.abs(observed - predicted)) / max(count.sum(), 1))
    fig = _figure(4.6, 5.0)
    grid = fig.add_gridspec(2, 1, height_ratios=(3, 1))
    ax = fig.add_subplot(grid[0])
    widths = upper - lower
    bars = {"width": widths, "align": "edge", "lw": 0.5}
    ax.bar(lower, observed, edgecolor="black", color="#4c72b0", label="observed", **bars)
    ax.bar(lower, predicted - observed, bottom=observed, fill=False, hatch="//",
           edgecolor="#c44e52", label="gap to confidence", **bars)  # fmt: skip
    ax.plot(lower + widths / 2, predicted, "o", ms=3, color="#c44e52", label="mean confidence")
    ax.plot([0, 1], [0, 1], ls="--", color="gray", lw=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    what = "top-label" if class_index is None else f"class {class_index}"
    ax.set_ylabel("accuracy" if class_index is None else "observed frequency")
    ax.set_title(title or f"Reliability diagram ({what}), ECE {ece:.3f}")
    ax.legend(fontsize=7, loc="upper left")
    hist = fig.add_subplot(grid[1], sharex=ax)
    hist.bar(lower, count, width=widths, align="edge", color="gray", edgecolor="black", lw=0.5)
    hist.set_xlabel("confidence" if class_index is None else "predicted probability")
    hist.set_ylabel("samples")
    return fig


def _class_counts(counts: Any, class_names: Sequence[str] | None) -> dict[str, dict[str, int]]:
    """Normalise the inputs of plot_class_distribution to {split: {class: count}}."""
    if hasattr(counts, "class_counts"):  # Records
        return {counts.role or "all": dict(counts.class_counts())}
    if all(hasattr(counts, a) for a in ("train", "val", "test")) and not isinstance(
        counts, Mapping
    ):  # Split
        parts = {"train": counts.train, "val": counts.val, "test": counts.test}
        return {k: dict(v.class_counts()) for k, v in parts.items() if v is not None}
    if isinstance(counts, Mapping):
        values = list(counts.values())
        if values and all(hasattr(v, "class_counts") for v in values):
            return {str(k): dict(v.class_counts()) for k, v in counts.items()}
        if values and all(isinstance(v, Mapping) for v in values):
            return {str(k): {str(c): int(n) for c, n in v.items()} for k, v in counts.items()}
        return {"all": {str(c): int(n) for c, n in counts.items()}}
    labels = np.asarray(counts)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise fail(
            "counts",
            "plot_class_distribution",
            "Records, a Split, {split: Records}, {split: {class: count}}, {class: count} "
            "or int labels",
            type(counts).__name__,
        )
    k = len(class_names) if class_names is not None else int(labels.max()) + 1
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    return {"all": dict(zip(names, np.bincount(labels, minlength=k).tolist(), strict=True))}


def plot_class_distribution(
    counts: Any, class_names: Sequence[str] | None = None, *, log: bool = False
) -> Figure:
    """Images per class, one group of bars per class and one bar per split.

    Each bar is annotated with its count and its share of the split, which makes the
    imbalance (and any class missing from a split) visible at a glance.

    Args:
        counts: Records, a Split, ``{split: Records}``, ``{split: {class: count}}``,
            ``{class: count}``, or int labels (with ``class_names``).
        class_names: the class order (default: the order of the first split's counts).
        log: logarithmic count axis (for extreme imbalance such as ISIC 2020).
    """
    table = _class_counts(counts, class_names)
    splits = list(table)
    names = list(class_names) if class_names is not None else list(next(iter(table.values())))
    k, s = len(names), max(1, len(splits))
    fig = _figure(max(4.0, 0.55 * k * s + 1.5), 3.6)
    ax = fig.add_subplot()
    width = 0.8 / s
    x = np.arange(k)
    for j, split_name in enumerate(splits):
        values = np.array([table[split_name].get(c, 0) for c in names], dtype=np.float64)
        total = max(values.sum(), 1.0)
        bars = ax.bar(x + (j - (s - 1) / 2) * width, values, width=width, label=split_name)
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(
                f"{int(value)}\n{100 * value / total:.0f}%",
                (bar.get_x() + bar.get_width() / 2, max(value, 1.0 if log else 0.0)),
                ha="center", va="bottom", fontsize=6,
            )  # fmt: skip
    ax.set_xticks(x, names, rotation=45 if k > 6 else 0, ha="right" if k > 6 else "center")
    if log:
        ax.set_yscale("log")
    ax.set_ylabel("images")
    ax.set_title("Class distribution")
    ax.margins(y=0.15)
    if s > 1 or splits[0] != "all":
        ax.legend(fontsize=7)
    return fig

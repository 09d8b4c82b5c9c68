"""`EvaluationReport`: the result of `evaluate`, its JSON form, and its renderings.

The report is data; `dermnet.metrics.report_text` renders it as Markdown and plain text
and `dermnet.metrics.report_html` draws its figures and writes the HTML page.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.validation import check_int, fail
from dermnet.metrics import report_html, report_text
from dermnet.metrics.card import ModelCard
from dermnet.metrics.report_sections import ReportSection

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["EvaluationReport", "none_if_nan"]


def none_if_nan(value: Any) -> float | None:
    """``value`` as a float, ``None`` where it is NaN (an undefined metric)."""
    value = float(value)
    return None if np.isnan(value) else value


@dataclasses.dataclass(frozen=True)
class EvaluationReport:
    """The result of `evaluate` (and `evaluate_model`).

    Metrics that are undefined for the data (e.g. the AUC of a class absent from
    ``y_true``) are ``None``, with the reason in `notes`; nothing is silently
    reported as 0.

    Attributes:
        class_names: the classes, in label order.
        n: number of samples.
        accuracy: share of correct top-1 predictions.
        balanced_accuracy: mean per-class recall over the classes present in ``y_true``
            (the ISIC challenge metric).
        macro_auc: mean one-vs-rest ROC AUC over the classes where it is defined, or
            ``None`` if it is defined for none.
        per_class: ``{class: {"precision", "recall", "specificity", "f1", "support", "auc",
            "average_precision"}}``; recall is the sensitivity; ``None`` where undefined.
        confusion_matrix: counts, rows = true class, columns = predicted class.
        notes: undefined metrics and other caveats, in words.
        macro_f1: unweighted mean F1 over the classes present in ``y_true`` or predicted.
        weighted_f1: F1 averaged with the class supports as weights.
        micro_auc: ROC AUC of all one-vs-rest decisions pooled.
        macro_average_precision: mean per-class average precision (area under the
            precision-recall curve) over the classes where it is defined.
        micro_average_precision: average precision of all one-vs-rest decisions pooled.
        cohen_kappa: Cohen's kappa of the top-1 predictions.
        mcc: Matthews correlation coefficient (multi-class form).
        log_loss: mean negative log-likelihood of the true class.
        confusion_matrix_normalized: each row divided by its support (the per-class
            recall on the diagonal); ``None`` rows for absent classes.
        positive_class: the class of interest (e.g. melanoma), or ``None``.
        operating_points: for the class of interest, one dict per chosen specificity:
            ``{"target_specificity", "threshold", "sensitivity", "specificity"}``: the best
            sensitivity reachable with at least that specificity, one-vs-rest.
        calibration: ``{"ece", "mce", "brier", "n_bins", "reliability"}``: expected and
            maximum calibration error of the top-label confidence, the Brier score, and the
            reliability curve (see `reliability_curve`).
        intervals: bootstrap confidence intervals, ``{metric: (low, high)}``, for the
            headline metrics, ``"recall[c]"``, ``"specificity[c]"``, ``"auc[c]"`` of each
            class and ``"sensitivity@specificity=0.90"`` for the class of interest.
        bootstrap: how the intervals were computed: method, resamples, level, seed,
            stratification.
        model_card: the model card, or ``None``.
        y_true: the labels evaluated (kept for figures; not in `to_dict` unless asked).
        y_score: the probabilities evaluated (likewise).
    """

    class_names: tuple[str, ...]
    n: int
    accuracy: float
    balanced_accuracy: float
    macro_auc: float | None
    per_class: dict[str, dict[str, float | int | None]]
    confusion_matrix: tuple[tuple[int, ...], ...]
    notes: tuple[str, ...] = ()
    macro_f1: float | None = None
    weighted_f1: float | None = None
    micro_auc: float | None = None
    macro_average_precision: float | None = None
    micro_average_precision: float | None = None
    cohen_kappa: float | None = None
    mcc: float | None = None
    log_loss: float | None = None
    confusion_matrix_normalized: tuple[tuple[float | None, ...], ...] = ()
    positive_class: str | None = None
    operating_points: tuple[dict[str, float | None], ...] = ()
    calibration: dict[str, Any] = dataclasses.field(default_factory=dict)
    intervals: dict[str, tuple[float, float] | None] = dataclasses.field(default_factory=dict)
    bootstrap: dict[str, Any] = dataclasses.field(default_factory=dict)
    model_card: ModelCard | None = None
    sections: tuple[ReportSection, ...] = ()
    y_true: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)
    y_score: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)

    # -- access -----------------------------------------------------------------------
    def headline(self) -> dict[str, float | None]:
        """The headline numbers: accuracy, balanced accuracy, macro AUC, macro F1, MCC."""
        return {
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "macro_auc": self.macro_auc,
            "macro_f1": self.macro_f1,
            "mcc": self.mcc,
        }

    def interval(self, metric: str) -> tuple[float, float] | None:
        """The bootstrap interval of ``metric`` (a key of `intervals`), or ``None``."""
        if metric not in self.intervals and self.intervals:
            raise fail(
                "metric", "EvaluationReport.interval", f"one of {sorted(self.intervals)}", metric
            )
        return self.intervals.get(metric)

    def with_model_card(self, card: ModelCard | Any) -> EvaluationReport:
        """A copy with a model card (a `ModelCard`, or anything
        `ModelCard.from_data` takes: a description, Records, a Split)."""
        if not isinstance(card, ModelCard):
            card = ModelCard.from_data(card)
        return dataclasses.replace(self, model_card=card)

    def with_sections(self, *sections: ReportSection) -> EvaluationReport:
        """A copy with extra sections (`ReportSection`: subgroups, abstention); a section
        replaces the report's section with the same key."""
        for section in sections:
            if not isinstance(section, ReportSection):
                raise fail(
                    "sections",
                    "EvaluationReport.with_sections",
                    "ReportSection objects",
                    type(section).__name__,
                )
        keys = {s.key for s in sections}
        kept = tuple(s for s in self.sections if s.key not in keys)
        return dataclasses.replace(self, sections=kept + tuple(sections))

    def section(self, key: str) -> ReportSection | None:
        """The section with this key (``"subgroups"``, ``"abstention"``), or ``None``."""
        return next((s for s in self.sections if s.key == key), None)

    # -- serialization ----------------------------------------------------------------
    def to_dict(self, *, include_predictions: bool = False) -> dict[str, Any]:
        """A JSON-serializable dict of everything in the report.

        Args:
            include_predictions: also include ``y_true`` and ``y_score`` (lets
                `from_dict` rebuild the ROC and PR figures).
        """
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            if field.name in ("y_true", "y_score", "model_card", "sections"):
                continue
            out[field.name] = _jsonable(getattr(self, field.name))
        out["model_card"] = (
            _jsonable(dataclasses.asdict(self.model_card)) if self.model_card else None
        )
        out["sections"] = [section.to_dict() for section in self.sections]
        if include_predictions and self.y_true is not None and self.y_score is not None:
            out["y_true"] = np.asarray(self.y_true).tolist()
            out["y_score"] = np.asarray(self.y_score).tolist()
        return out

    def to_json(
        self, path: str | Path | None = None, *, indent: int = 2, include_predictions: bool = False
    ) -> str:
        """The report as JSON text; also written to ``path`` if given."""
        text = json.dumps(self.to_dict(include_predictions=include_predictions), indent=indent)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationReport:
        """Rebuild a report from `to_dict` (or parsed `to_json`) output."""
        if not isinstance(data, Mapping) or "class_names" not in data:
            raise fail(
                "data", "EvaluationReport.from_dict", "a dict from to_dict()", type(data).__name__
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise fail(
                "data", "EvaluationReport.from_dict", f"only the keys {sorted(known)}", unknown
            )
        values = dict(data)
        values["class_names"] = tuple(values["class_names"])
        values["confusion_matrix"] = tuple(tuple(r) for r in values["confusion_matrix"])
        values["confusion_matrix_normalized"] = tuple(
            tuple(r) for r in values.get("confusion_matrix_normalized", ())
        )
        values["notes"] = tuple(values.get("notes", ()))
        values["operating_points"] = tuple(values.get("operating_points", ()))
        values["intervals"] = {
            k: (tuple(v) if v is not None else None) for k, v in values.get("intervals", {}).items()
        }
        card = values.get("model_card")
        if card is not None:
            card = dict(card)
            card["limitations"] = tuple(card.get("limitations", ()))
            values["model_card"] = ModelCard(**card)
        values["sections"] = tuple(ReportSection.from_dict(d) for d in values.get("sections", ()))
        if values.get("y_true") is not None:
            values["y_true"] = np.asarray(values["y_true"], dtype=np.int64)
            values["y_score"] = np.asarray(values["y_score"], dtype=np.float64)
        return cls(**values)

    @classmethod
    def from_json(cls, source: str | Path) -> EvaluationReport:
        """Read a report written by `to_json` (a path or the JSON text)."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            text = Path(source).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    # -- rendering ----------------------------------------------------------------------
    def summary(self, *, digits: int = 2) -> str:
        """A compact plain-text table for a terminal, like scikit-learn's
        ``classification_report``: one row per class (precision, sensitivity, specificity,
        F1, ROC AUC, support), then accuracy, balanced accuracy, macro AUC (the ROC AUC of
        the positive class for two classes) and the sensitivity of the class of interest
        at each specificity; each with its bootstrap interval ``[low, high]`` when the
        report has intervals. Undefined values read ``-``. About 20 lines for 7 classes,
        under 100 columns; `to_markdown` has everything.

        Args:
            digits: decimals of every value and interval.

        Returns:
            The table as text, ending with a newline.

        Examples:
            >>> from dermnet.metrics import evaluate
            >>> report = evaluate([0, 1, 1, 0], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4],
            ...                   [0.7, 0.3]], ["benign", "malignant"], specificities=[0.9],
            ...                   n_bootstrap=0)
            >>> print(report.summary())
            4 images, 2 classes. No intervals computed.
            <BLANKLINE>
            class      precision  sensitivity  specificity    F1   AUC  support
            benign          0.67         1.00         0.50  0.80  1.00        2
            malignant       1.00         0.50         1.00  0.67  1.00        2
            <BLANKLINE>
            accuracy                                      0.75
            balanced accuracy                             0.75
            ROC AUC                                       1.00
            malignant sensitivity at specificity >= 0.90  1.00
            <BLANKLINE>

            With intervals (the default), each value is followed by ``[low, high]``.
        """
        digits = check_int(digits, "digits", "EvaluationReport.summary", low=0, high=6)
        return report_text.report_summary(self, digits=digits)

    def to_markdown(self) -> str:
        """A Markdown report: headline metrics with intervals, per-class table, confusion
        matrix, operating points, calibration, the model card and the notes."""
        card, given = self._card()
        return report_text.report_markdown(self, card, given=given)

    def model_card_markdown(self) -> str:
        """The model card alone as a Markdown document (for ``model_card.md``): model,
        training, data, split, population, intended use, the headline metrics with their
        intervals, and the limitations (those of the card and those computed from the
        numbers). A report without a card gets the default card and says so; the same as
        ``card.to_markdown(report)``."""
        card, given = self._card()
        return report_text.report_card_markdown(self, card, given=given)

    def figures(self, *, history: Any = None) -> dict[str, Figure]:
        """The report's figures by name: class distribution, confusion matrix, ROC and PR
        curves per class (need the predictions), reliability diagram, and training curves
        when ``history`` (a Keras ``History`` or its dict) is given."""
        return report_html.report_figures(self, history=history)

    def to_html(
        self,
        path: str | Path,
        *,
        title: str | None = None,
        history: Any = None,
        extra_figures: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write one self-contained HTML file (figures embedded as data URIs, no external
        references) with every metric, the figures and the model card; return its path.

        Args:
            path: the file to write.
            title: the page title.
            history: training history for the training-curves figure.
            extra_figures: more figures to embed, ``{caption: matplotlib figure or PNG
                bytes}`` (e.g. Grad-CAM overlays).
        """
        card, given = self._card()
        return report_html.report_html(
            self,
            path,
            card,
            given=given,
            title=title,
            history=history,
            extra_figures=extra_figures,
        )

    def _card(self) -> tuple[ModelCard, bool]:
        """The model card, else the default card; and whether a card was given."""
        return (self.model_card, True) if self.model_card else (ModelCard(), False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value

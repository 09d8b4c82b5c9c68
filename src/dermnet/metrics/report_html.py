"""An `EvaluationReport` as figures and one self-contained HTML page (built with
`dermnet.metrics.html.HtmlReport`; the tables come from `dermnet.metrics.report_text`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dermnet.metrics import plots
from dermnet.metrics.html import HtmlReport
from dermnet.metrics.report_text import (
    bootstrap_text,
    card_metric_rows,
    card_sections,
    computed_limitations,
    confusion_rows,
    metric_rows,
    operating_rows,
    per_class_rows,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dermnet.metrics.card import ModelCard
    from dermnet.metrics.evaluation_report import EvaluationReport

__all__ = ["report_figures", "report_html"]

_CAPTIONS = {
    "class_distribution": "Images per class in each split (count and share of the split).",
    "confusion_matrix": "Confusion matrix: rows are the true class, columns the predicted "
    "class; cells show the share of the row (the recall on the diagonal) and the count.",
    "roc_curves": "ROC curves, one-vs-rest, per class.",
    "pr_curves": "Precision-recall curves, one-vs-rest, per class; dotted lines are the "
    "class prevalences (what guessing achieves).",
    "reliability_diagram": "Reliability diagram of the top-label confidence: bars below the "
    "diagonal mean over-confidence.",
    "training_curves": "Training and validation curves.",
}


def report_figures(report: EvaluationReport, *, history: Any = None) -> dict[str, Figure]:
    """Every figure the report can draw, by name."""
    figures: dict[str, Figure] = {}
    card = report.model_card
    if card is not None and card.class_counts:
        counts: Any = card.class_counts
    else:
        counts = {"evaluated": {n: int(r["support"]) for n, r in report.per_class.items()}}
    figures["class_distribution"] = plots.plot_class_distribution(counts, report.class_names)
    figures["confusion_matrix"] = plots.plot_confusion_matrix(
        report.confusion_matrix, report.class_names
    )
    if report.y_true is not None and report.y_score is not None:
        figures["roc_curves"] = plots.plot_roc_curves(
            report.y_true, report.y_score, report.class_names
        )
        figures["pr_curves"] = plots.plot_pr_curves(
            report.y_true, report.y_score, report.class_names
        )
    curve = (report.calibration or {}).get("reliability")
    if curve:
        figures["reliability_diagram"] = plots.plot_reliability_diagram(curve=curve)
    if history is not None:
        figures["training_curves"] = plots.plot_history(history)
    return figures


def _add_card(page: HtmlReport, report: EvaluationReport, card: ModelCard, given: bool) -> None:
    page.add_heading("Model card")
    if not given:
        page.add_paragraph("No model card was given: data and split are not described.", note=True)
    for heading, text in card_sections(card):
        page.add_heading(heading, level=3)
        page.add_paragraph(text)
    page.add_heading("Metrics with intervals", level=3)
    page.add_paragraph(bootstrap_text(report))
    page.add_table(card_metric_rows(report))
    page.add_heading("Limitations", level=3)
    page.add_list([*card.limitations, *computed_limitations(report)])


def report_html(
    report: EvaluationReport,
    path: str | Path,
    card: ModelCard,
    *,
    given: bool,
    title: str | None = None,
    history: Any = None,
    extra_figures: Mapping[str, Any] | None = None,
) -> Path:
    """Write the self-contained HTML report with ``card`` and return its path."""
    page = HtmlReport(title or "dermnet evaluation report")
    page.add_paragraph(
        f"{report.n} samples, {len(report.class_names)} classes. {bootstrap_text(report)}"
    )
    page.add_heading("Headline metrics")
    page.add_table(card_metric_rows(report))
    page.add_heading("All metrics")
    page.add_table(metric_rows(report))
    page.add_heading("Per class")
    page.add_table(per_class_rows(report))
    if report.operating_points:
        page.add_heading(f"Sensitivity of {report.positive_class!r} at fixed specificity")
        page.add_paragraph(
            "Thresholds chosen on these data (one-vs-rest): the highest sensitivity reachable "
            "with at least the target specificity. Choose the threshold you deploy on "
            "validation data, not on the test set."
        )
        page.add_table(operating_rows(report))
    cal = report.calibration or {}
    if cal:
        page.add_heading("Calibration")
        page.add_table(
            {
                "expected calibration error": cal.get("ece"),
                "maximum calibration error": cal.get("mce"),
                "Brier score": cal.get("brier"),
                "bins": cal.get("n_bins"),
            }
        )
    page.add_heading("Confusion matrix")
    page.add_table(
        confusion_rows(report), caption="Counts (rows: true class, columns: predicted class)"
    )
    if report.confusion_matrix_normalized:
        page.add_table(
            confusion_rows(report, normalized=True),
            caption="Row-normalised (the diagonal is the per-class recall)",
        )
    page.add_heading("Figures")
    for name, fig in report_figures(report, history=history).items():
        page.add_figure(fig, caption=_CAPTIONS.get(name, name))
    for caption, fig in (extra_figures or {}).items():
        page.add_figure(fig, caption=str(caption))
    if report.y_true is None:
        page.add_paragraph(
            "ROC and precision-recall curves need the predictions, which this report does not "
            "hold (it was read from a JSON file saved without them).",
            note=True,
        )
    for section in report.sections:
        page.add_heading(section.title)
        page.add_paragraph(section.text)
        if section.rows:
            page.add_table([dict(r) for r in section.rows])
        for caption, png in section.figures:
            page.add_figure(png, caption=caption)
    _add_card(page, report, card, given)
    if report.notes:
        page.add_heading("Notes")
        for note in report.notes:
            page.add_paragraph(note, note=True)
    return page.save(path)

"""Rendering of an EvaluationReport: Markdown, figures and the self-contained HTML page."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dermnet.metrics.card import ModelCard

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dermnet.metrics.scores import EvaluationReport

__all__ = [
    "card_markdown",
    "report_card_markdown",
    "report_figures",
    "report_html",
    "report_markdown",
    "report_summary",
]

_LABELS = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy (mean recall)",
    "macro_auc": "macro ROC AUC (one-vs-rest)",
    "micro_auc": "micro ROC AUC",
    "macro_f1": "macro F1",
    "weighted_f1": "weighted F1",
    "macro_average_precision": "macro average precision",
    "micro_average_precision": "micro average precision",
    "cohen_kappa": "Cohen's kappa",
    "mcc": "Matthews correlation (MCC)",
    "log_loss": "log loss",
    "ece": "expected calibration error",
    "brier": "Brier score",
}

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


def _fmt(value: Any) -> str:
    if value is None:
        return "undefined"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _ci(report: EvaluationReport, key: str) -> str:
    interval = report.intervals.get(key)
    if interval is None:
        return "undefined" if key in report.intervals else ""
    return f"{interval[0]:.3f} to {interval[1]:.3f}"


def _with_ci(report: EvaluationReport, value: Any, key: str) -> str:
    ci = _ci(report, key)
    return f"{_fmt(value)} ({ci})" if ci and ci != "undefined" else _fmt(value)


def _level(report: EvaluationReport) -> str:
    ci = report.bootstrap.get("ci")
    return f"{100 * ci:g}% CI" if ci else "CI"


def metric_rows(report: EvaluationReport) -> list[dict[str, Any]]:
    """Rows (metric, value, interval) of every summary metric."""
    calibration = report.calibration or {}
    values = {
        "accuracy": report.accuracy,
        "balanced_accuracy": report.balanced_accuracy,
        "macro_auc": report.macro_auc,
        "micro_auc": report.micro_auc,
        "macro_f1": report.macro_f1,
        "weighted_f1": report.weighted_f1,
        "macro_average_precision": report.macro_average_precision,
        "micro_average_precision": report.micro_average_precision,
        "cohen_kappa": report.cohen_kappa,
        "mcc": report.mcc,
        "log_loss": report.log_loss,
        "ece": calibration.get("ece"),
        "brier": calibration.get("brier"),
    }
    level = _level(report)
    return [
        {"metric": _LABELS[key], "value": value, level: _ci(report, key)}
        for key, value in values.items()
    ]


def per_class_rows(report: EvaluationReport) -> list[dict[str, Any]]:
    """One row per class, with intervals next to recall, specificity and AUC."""
    rows = []
    for name, row in report.per_class.items():
        rows.append(
            {
                "class": name,
                "support": row.get("support"),
                "precision": _fmt(row.get("precision")),
                "recall (sensitivity)": _with_ci(report, row.get("recall"), f"recall[{name}]"),
                "specificity": _with_ci(report, row.get("specificity"), f"specificity[{name}]"),
                "F1": _fmt(row.get("f1")),
                "AUC": _with_ci(report, row.get("auc"), f"auc[{name}]"),
                "average precision": _fmt(row.get("average_precision")),
            }
        )
    return rows


def operating_rows(report: EvaluationReport) -> list[dict[str, Any]]:
    """Sensitivity of the class of interest at each target specificity."""
    return [
        {
            "target specificity": _fmt(p["target_specificity"]),
            "threshold": _fmt(p["threshold"]),
            "sensitivity": _with_ci(
                report, p["sensitivity"], f"sensitivity@specificity={p['target_specificity']:g}"
            ),
            "specificity reached": _fmt(p["specificity"]),
        }
        for p in report.operating_points
    ]


def computed_limitations(report: EvaluationReport) -> list[str]:
    """Limitations that follow from the numbers of this evaluation."""
    out = []
    support = {name: row["support"] for name, row in report.per_class.items()}
    if support:
        small = min(support, key=lambda c: support[c])
        large = max(support, key=lambda c: support[c])
        out.append(
            f"In this evaluation the smallest class, {small!r}, has {support[small]} images "
            f"({100 * support[small] / report.n:.1f}%) and the largest, {large!r}, "
            f"{support[large]} ({100 * support[large] / report.n:.1f}%)."
        )
    widest = None
    for name in report.class_names:
        interval = report.intervals.get(f"recall[{name}]")
        if interval and (widest is None or interval[1] - interval[0] > widest[1]):
            widest = (name, interval[1] - interval[0], interval)
    if widest is not None:
        name, _, (low, high) = widest
        out.append(
            f"The least certain per-class sensitivity is that of {name!r}: its "
            f"{_level(report)} spans {low:.2f} to {high:.2f}."
        )
    if any("undefined" in note for note in report.notes):
        out.append("Some metrics are undefined on this data; see the notes.")
    return out


def _card(report: EvaluationReport) -> tuple[ModelCard, bool]:
    return (report.model_card, True) if report.model_card else (ModelCard(), False)


def _card_metrics(report: EvaluationReport) -> list[dict[str, Any]]:
    level = _level(report)
    rows = [
        {"metric": _LABELS[key], "value": getattr(report, key), level: _ci(report, key)}
        for key in ("balanced_accuracy", "macro_auc", "macro_f1", "accuracy")
    ]
    for p in report.operating_points:
        key = f"sensitivity@specificity={p['target_specificity']:g}"
        rows.append(
            {
                "metric": f"sensitivity of {report.positive_class!r} at specificity "
                f">= {p['target_specificity']:g}",
                "value": p["sensitivity"],
                level: _ci(report, key),
            }
        )
    return rows


def _md_table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r[c]) for c in cols) + " |" for r in rows]
    return lines


def _bootstrap_text(report: EvaluationReport) -> str:
    b = report.bootstrap
    if not b:
        return "No bootstrap intervals were computed (the number of resamples was 0)."
    return (
        f"Intervals: {b['method']}, {b['n_resamples']} resamples"
        f"{', stratified by class' if b.get('stratified') else ''}, seed {b.get('seed')}, "
        f"level {100 * b['ci']:g}%."
    )


def report_markdown(report: EvaluationReport) -> str:
    """The whole report as Markdown."""
    lines = [
        "# Evaluation report",
        "",
        f"{report.n} samples, {len(report.class_names)} classes. {_bootstrap_text(report)}",
        "",
        "## Summary metrics",
        "",
        *_md_table(metric_rows(report)),
        "",
        "## Per class",
        "",
    ]
    lines += _md_table(per_class_rows(report))
    if report.operating_points:
        lines += ["", f"## Sensitivity of {report.positive_class!r} at fixed specificity", ""]
        lines += _md_table(operating_rows(report))
    cal = report.calibration or {}
    if cal:
        lines += [
            "",
            "## Calibration",
            "",
            f"ECE {_fmt(cal.get('ece'))}, MCE {_fmt(cal.get('mce'))}, Brier score "
            f"{_fmt(cal.get('brier'))} ({cal.get('n_bins')} equal-width bins, top-label "
            "confidence).",
            "",
        ]
        curve = cal.get("reliability") or {}
        rows = [
            {
                "bin": f"{lo:.2f}-{hi:.2f}",
                "samples": n,
                "mean confidence": p,
                "accuracy": o,
            }
            for lo, hi, n, p, o in zip(
                curve.get("bin_lower", []),
                curve.get("bin_upper", []),
                curve.get("count", []),
                curve.get("predicted", []),
                curve.get("observed", []),
                strict=True,
            )
        ]
        lines += _md_table(rows)
    names = report.class_names
    lines += ["", "## Confusion matrix (rows: true, columns: predicted)", ""]
    lines += _md_table(
        [{"true \\ predicted": n, **dict(zip(names, row, strict=True))}
         for n, row in zip(names, report.confusion_matrix, strict=True)]
    )  # fmt: skip
    if report.confusion_matrix_normalized:
        lines += ["", "Row-normalised:", ""]
        lines += _md_table(
            [{"true \\ predicted": n, **dict(zip(names, row, strict=True))}
             for n, row in zip(names, report.confusion_matrix_normalized, strict=True)]
        )  # fmt: skip
    lines += ["", *_card_markdown(report)]
    if report.notes:
        lines += ["", "## Notes", "", *[f"- {note}" for note in report.notes]]
    return "\n".join(lines) + "\n"


def _card_sections(card: ModelCard) -> tuple[tuple[str, str], ...]:
    return (
        ("Model", card.model),
        ("Training", card.training),
        ("Data", card.data),
        ("Split", card.split),
        ("Population", card.population),
        ("Intended use", card.intended_use),
    )


def _card_lines(
    card: ModelCard, report: EvaluationReport | None, heading: str, *, given: bool = True
) -> list[str]:
    lines = [heading, ""]
    if not given:
        lines += ["*No model card was given; data and split are not described.*", ""]
    for title, text in _card_sections(card):
        lines += [f"**{title}.** {text}", ""]
    computed: list[str] = []
    if report is not None:
        lines += [f"**Metrics with intervals** ({_bootstrap_text(report)})", ""]
        lines += _md_table(_card_metrics(report))
        lines += ["", f"Evaluated on {report.n} images, {len(report.class_names)} classes.", ""]
        computed = computed_limitations(report)
    lines += ["**Limitations.**", ""]
    lines += [f"- {item}" for item in (*card.limitations, *computed)]
    return lines


def _card_markdown(report: EvaluationReport, heading: str = "## Model card") -> list[str]:
    card, given = _card(report)
    return _card_lines(card, report, heading, given=given)


def card_markdown(card: ModelCard, report: EvaluationReport | None = None) -> str:
    """A model card as a Markdown document, with a report's metrics when given."""
    return "\n".join(_card_lines(card, report, "# Model card")) + "\n"


def report_card_markdown(report: EvaluationReport) -> str:
    """The report's model card alone as a Markdown document, with the metrics."""
    return "\n".join(_card_markdown(report, heading="# Model card")) + "\n"


def _num(value: Any, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _bracket(report: EvaluationReport, key: str, digits: int) -> str:
    """``[low, high]`` of a key, ``[-]`` where it is undefined, "" without intervals."""
    if not report.intervals:
        return ""
    interval = report.intervals.get(key)
    if interval is None:
        return "[-]"
    return f"[{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"


def _align(rows: list[list[str]], left: int = 1) -> list[str]:
    """Columns separated by two spaces; the first ``left`` columns left-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(w) if i < left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def report_summary(report: EvaluationReport, *, digits: int = 2) -> str:
    """A compact plain-text table, like scikit-learn's ``classification_report``."""
    has_ci = bool(report.intervals)

    width = len(f"[{0:.{digits}f}, {0:.{digits}f}]")  # every interval has this width

    def cell(value: Any, key: str) -> str:
        if not has_ci or value is None:
            return _num(value, digits) + " " * (width + 1 if has_ci else 0)
        return f"{_num(value, digits)} {_bracket(report, key, digits).ljust(width)}"

    header = ["class", "precision", "sensitivity", "specificity", "F1", "AUC", "support"]
    rows = [header]
    for name, row in report.per_class.items():
        rows.append(
            [
                name,
                _num(row.get("precision"), digits),
                cell(row.get("recall"), f"recall[{name}]"),
                cell(row.get("specificity"), f"specificity[{name}]"),
                _num(row.get("f1"), digits),
                cell(row.get("auc"), f"auc[{name}]"),
                str(row.get("support")),
            ]
        )
    headline = [
        ["accuracy", cell(report.accuracy, "accuracy")],
        ["balanced accuracy", cell(report.balanced_accuracy, "balanced_accuracy")],
    ]
    if len(report.class_names) == 2:
        positive = report.positive_class or report.class_names[1]
        auc = report.per_class[positive].get("auc")
        headline.append(["ROC AUC", cell(auc, f"auc[{positive}]")])
    else:
        headline.append(["macro AUC (one-vs-rest)", cell(report.macro_auc, "macro_auc")])
    for p in report.operating_points:
        target = p["target_specificity"]
        key = f"sensitivity@specificity={target:g}"
        label = f"{report.positive_class} sensitivity at specificity >= {target:.2f}"
        headline.append([label, cell(p["sensitivity"], key)])
    if has_ci:
        level = f"{100 * report.bootstrap.get('ci', 0.95):g}%"
        title = (
            f"{report.n} images, {len(report.class_names)} classes. [low, high]: {level} "
            f"bootstrap interval ({report.bootstrap.get('n_resamples')} resamples)."
        )
    else:
        title = f"{report.n} images, {len(report.class_names)} classes. No intervals computed."
    lines = [title, "", *_align(rows), "", *_align(headline)]
    table = "\n".join(lines)
    footer = []
    if {"-", "[-]"} & set(table.split()):
        footer.append("-: undefined on these data.")
    if report.notes:
        footer.append(f"{len(report.notes)} note(s) in the full report.")
    if footer:
        lines += ["", " ".join(footer)]
    return "\n".join(lines) + "\n"


def report_figures(report: EvaluationReport, *, history: Any = None) -> dict[str, Figure]:
    """Every figure the report can draw, by name."""
    from dermnet.metrics import plots

    figures: dict[str, Figure] = {}
    card = report.model_card
    if card is not None and card.class_counts:
        figures["class_distribution"] = plots.plot_class_distribution(
            card.class_counts, report.class_names
        )
    else:
        support = {n: int(r["support"]) for n, r in report.per_class.items()}
        figures["class_distribution"] = plots.plot_class_distribution(
            {"evaluated": support}, report.class_names
        )
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


def report_html(
    report: EvaluationReport,
    path: str | Path,
    *,
    title: str | None = None,
    history: Any = None,
    extra_figures: Mapping[str, Any] | None = None,
) -> Path:
    """Write the self-contained HTML report and return its path."""
    from dermnet.metrics.report import HtmlReport

    html = HtmlReport(title or "dermnet evaluation report")
    html.add_paragraph(
        f"{report.n} samples, {len(report.class_names)} classes. {_bootstrap_text(report)}"
    )
    html.add_heading("Headline metrics")
    html.add_table(_card_metrics(report))
    html.add_heading("All metrics")
    html.add_table(metric_rows(report))
    html.add_heading("Per class")
    html.add_table(per_class_rows(report))
    if report.operating_points:
        html.add_heading(f"Sensitivity of {report.positive_class!r} at fixed specificity")
        html.add_paragraph(
            "Thresholds chosen on these data (one-vs-rest): the highest sensitivity reachable "
            "with at least the target specificity. Choose the threshold you deploy on "
            "validation data, not on the test set."
        )
        html.add_table(operating_rows(report))
    cal = report.calibration or {}
    if cal:
        html.add_heading("Calibration")
        html.add_table(
            {
                "expected calibration error": cal.get("ece"),
                "maximum calibration error": cal.get("mce"),
                "Brier score": cal.get("brier"),
                "bins": cal.get("n_bins"),
            }
        )
    html.add_heading("Confusion matrix")
    names = report.class_names
    html.add_table(
        [{"true \\ predicted": n, **dict(zip(names, row, strict=True))}
         for n, row in zip(names, report.confusion_matrix, strict=True)],
        caption="Counts (rows: true class, columns: predicted class)",
    )  # fmt: skip
    if report.confusion_matrix_normalized:
        html.add_table(
            [{"true \\ predicted": n, **dict(zip(names, row, strict=True))}
             for n, row in zip(names, report.confusion_matrix_normalized, strict=True)],
            caption="Row-normalised (the diagonal is the per-class recall)",
        )  # fmt: skip
    html.add_heading("Figures")
    for name, fig in report_figures(report, history=history).items():
        html.add_figure(fig, caption=_CAPTIONS.get(name, name))
    for caption, fig in (extra_figures or {}).items():
        html.add_figure(fig, caption=str(caption))
    if report.y_true is None:
        html.add_paragraph(
            "ROC and precision-recall curves need the predictions, which this report does not "
            "hold (it was read from a JSON file saved without them).",
            note=True,
        )
    card, given = _card(report)
    html.add_heading("Model card")
    if not given:
        html.add_paragraph("No model card was given: data and split are not described.", note=True)
    for heading, text in _card_sections(card):
        html.add_heading(heading, level=3)
        html.add_paragraph(text)
    html.add_heading("Metrics with intervals", level=3)
    html.add_paragraph(_bootstrap_text(report))
    html.add_table(_card_metrics(report))
    html.add_heading("Limitations", level=3)
    html.add_list([*card.limitations, *computed_limitations(report)])
    if report.notes:
        html.add_heading("Notes")
        for note in report.notes:
            html.add_paragraph(note, note=True)
    return html.save(path)

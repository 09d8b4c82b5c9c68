"""An `EvaluationReport` as text: the terminal summary, the Markdown report and the
model card in Markdown, and the table rows the HTML page shares with them.

Every value with an interval reads ``0.640 [0.600, 0.690]`` (`format_interval`). The
card is passed in (the report's own, or the default card): this module reads a report
and a card and imports neither class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dermnet.metrics.formatting import format_interval, format_value

if TYPE_CHECKING:
    from dermnet.metrics.card import ModelCard
    from dermnet.metrics.evaluation_report import EvaluationReport

__all__ = [
    "bootstrap_text",
    "card_markdown",
    "card_metric_rows",
    "card_sections",
    "computed_limitations",
    "confusion_rows",
    "metric_rows",
    "operating_rows",
    "per_class_rows",
    "report_card_markdown",
    "report_markdown",
    "report_summary",
    "section_lines",
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


# -- cells and rows (shared with the HTML page) ---------------------------------------------
def _with_ci(report: EvaluationReport, value: Any, key: str, digits: int = 3) -> str:
    """``value [low, high]`` when the report has an interval entry for ``key``."""
    if key not in report.intervals:
        return format_value(value, digits)
    interval = report.intervals[key] or (None, None)
    return format_interval(value, *interval, digits=digits, undefined="undefined")


def _value_column(report: EvaluationReport) -> str:
    """The header of a value column: ``value [95% CI]`` when there are intervals."""
    if not report.intervals:
        return "value"
    ci = report.bootstrap.get("ci")
    return f"value [{100 * ci:g}% CI]" if ci else "value [CI]"


def metric_rows(report: EvaluationReport) -> list[dict[str, Any]]:
    """Rows (metric, value with its interval) of every summary metric."""
    calibration = report.calibration or {}
    values = {key: getattr(report, key) for key in _LABELS if key not in ("ece", "brier")}
    values["ece"] = calibration.get("ece")
    values["brier"] = calibration.get("brier")
    column = _value_column(report)
    return [
        {"metric": _LABELS[key], column: _with_ci(report, value, key)}
        for key, value in values.items()
    ]


def per_class_rows(report: EvaluationReport) -> list[dict[str, Any]]:
    """One row per class, with intervals next to recall, specificity and AUC."""
    return [
        {
            "class": name,
            "support": row.get("support"),
            "precision": format_value(row.get("precision")),
            "recall (sensitivity)": _with_ci(report, row.get("recall"), f"recall[{name}]"),
            "specificity": _with_ci(report, row.get("specificity"), f"specificity[{name}]"),
            "F1": format_value(row.get("f1")),
            "AUC": _with_ci(report, row.get("auc"), f"auc[{name}]"),
            "average precision": format_value(row.get("average_precision")),
        }
        for name, row in report.per_class.items()
    ]


def _sensitivity_key(point: dict[str, Any]) -> str:
    return f"sensitivity@specificity={point['target_specificity']:g}"


def operating_rows(report: EvaluationReport) -> list[dict[str, Any]]:
    """Sensitivity of the class of interest at each target specificity."""
    return [
        {
            "target specificity": format_value(p["target_specificity"]),
            "threshold": format_value(p["threshold"]),
            "sensitivity": _with_ci(report, p["sensitivity"], _sensitivity_key(p)),
            "specificity reached": format_value(p["specificity"]),
        }
        for p in report.operating_points
    ]


def card_metric_rows(report: EvaluationReport) -> list[dict[str, Any]]:
    """The headline metrics of the model card, with their intervals."""
    column = _value_column(report)
    rows = [
        {"metric": _LABELS[key], column: _with_ci(report, getattr(report, key), key)}
        for key in ("balanced_accuracy", "macro_auc", "macro_f1", "accuracy")
    ]
    for p in report.operating_points:
        rows.append(
            {
                "metric": f"sensitivity of {report.positive_class!r} at specificity "
                f">= {p['target_specificity']:g}",
                column: _with_ci(report, p["sensitivity"], _sensitivity_key(p)),
            }
        )
    return rows


def confusion_rows(report: EvaluationReport, *, normalized: bool = False) -> list[dict[str, Any]]:
    """The confusion matrix as rows ``{"true \\ predicted": class, class: cell, ...}``."""
    names = report.class_names
    matrix = report.confusion_matrix_normalized if normalized else report.confusion_matrix
    return [
        {"true \\ predicted": name, **dict(zip(names, row, strict=True))}
        for name, row in zip(names, matrix, strict=True)
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
        level = f"{100 * report.bootstrap['ci']:g}% CI" if report.bootstrap.get("ci") else "CI"
        out.append(
            f"The least certain per-class sensitivity is that of {name!r}: its "
            f"{level} spans {low:.2f} to {high:.2f}."
        )
    if any("undefined" in note for note in report.notes):
        out.append("Some metrics are undefined on this data; see the notes.")
    return out


def bootstrap_text(report: EvaluationReport) -> str:
    """One sentence on how the intervals were computed."""
    b = report.bootstrap
    if not b:
        return "No bootstrap intervals were computed (the number of resamples was 0)."
    return (
        f"Intervals: {b['method']}, {b['n_resamples']} resamples"
        f"{', stratified by class' if b.get('stratified') else ''}, seed {b.get('seed')}, "
        f"level {100 * b['ci']:g}%."
    )


def card_sections(card: ModelCard) -> tuple[tuple[str, str], ...]:
    """The card's prose sections, ``(title, text)``, in the order they are shown."""
    return (
        ("Model", card.model),
        ("Training", card.training),
        ("Data", card.data),
        ("Split", card.split),
        ("Population", card.population),
        ("Intended use", card.intended_use),
    )


# -- Markdown -------------------------------------------------------------------------------
def section_lines(section: Any) -> list[str]:
    """A `ReportSection` as Markdown lines: its paragraph, table and where its figures are."""
    lines = [section.text]
    if section.rows:
        lines += ["", *_md_table([dict(r) for r in section.rows])]
    if section.figures:
        lines += ["", f"*Figure ({len(section.figures)}) in report.html.*"]
    return lines


def _md_table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(format_value(r[c]) for c in cols) + " |" for r in rows]
    return lines


def _calibration_markdown(cal: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Calibration",
        "",
        f"ECE {format_value(cal.get('ece'))}, MCE {format_value(cal.get('mce'))}, Brier score "
        f"{format_value(cal.get('brier'))} ({cal.get('n_bins')} equal-width bins, top-label "
        "confidence).",
        "",
    ]
    curve = cal.get("reliability") or {}
    rows = [
        {"bin": f"{lo:.2f}-{hi:.2f}", "samples": n, "mean confidence": p, "accuracy": o}
        for lo, hi, n, p, o in zip(
            curve.get("bin_lower", []),
            curve.get("bin_upper", []),
            curve.get("count", []),
            curve.get("predicted", []),
            curve.get("observed", []),
            strict=True,
        )
    ]
    return lines + _md_table(rows)


def report_markdown(report: EvaluationReport, card: ModelCard, *, given: bool) -> str:
    """The whole report as Markdown, with ``card`` (``given``: the report's own card)."""
    lines = [
        "# Evaluation report",
        "",
        f"{report.n} samples, {len(report.class_names)} classes. {bootstrap_text(report)}",
        "",
        "## Summary metrics",
        "",
        *_md_table(metric_rows(report)),
        "",
        "## Per class",
        "",
        *_md_table(per_class_rows(report)),
    ]
    if report.operating_points:
        lines += ["", f"## Sensitivity of {report.positive_class!r} at fixed specificity", ""]
        lines += _md_table(operating_rows(report))
    if report.calibration:
        lines += _calibration_markdown(report.calibration)
    lines += ["", "## Confusion matrix (rows: true, columns: predicted)", ""]
    lines += _md_table(confusion_rows(report))
    if report.confusion_matrix_normalized:
        lines += ["", "Row-normalised:", "", *_md_table(confusion_rows(report, normalized=True))]
    for section in report.sections:
        lines += ["", f"## {section.title}", "", *section_lines(section)]
    lines += ["", *_card_lines(card, report, "## Model card", given=given)]
    if report.notes:
        lines += ["", "## Notes", "", *[f"- {note}" for note in report.notes]]
    return "\n".join(lines) + "\n"


def _card_lines(
    card: ModelCard, report: EvaluationReport | None, heading: str, *, given: bool = True
) -> list[str]:
    lines = [heading, ""]
    if not given:
        lines += ["*No model card was given; data and split are not described.*", ""]
    for title, text in card_sections(card):
        lines += [f"**{title}.** {text}", ""]
    computed: list[str] = []
    if report is not None:
        lines += [f"**Metrics with intervals** ({bootstrap_text(report)})", ""]
        lines += _md_table(card_metric_rows(report))
        lines += ["", f"Evaluated on {report.n} images, {len(report.class_names)} classes.", ""]
        computed = computed_limitations(report)
        for section in report.sections:
            lines += [f"**{section.title}.**", "", *section_lines(section), ""]
    lines += ["**Limitations.**", ""]
    lines += [f"- {item}" for item in (*card.limitations, *computed)]
    return lines


def card_markdown(card: ModelCard, report: EvaluationReport | None = None) -> str:
    """A model card as a Markdown document, with a report's metrics when given."""
    return "\n".join(_card_lines(card, report, "# Model card")) + "\n"


def report_card_markdown(report: EvaluationReport, card: ModelCard, *, given: bool) -> str:
    """The report's model card alone as a Markdown document, with the metrics."""
    return "\n".join(_card_lines(card, report, "# Model card", given=given)) + "\n"


# -- the terminal summary -------------------------------------------------------------------
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

    def num(value: Any) -> str:
        return format_value(None if value is None else float(value), digits, undefined="-")

    def cell(value: Any, key: str) -> str:
        if not has_ci:
            return num(value)
        if value is None:
            return num(value) + " " * (width + 1)
        interval = report.intervals.get(key) or (None, None)
        text = format_interval(value, *interval, digits=digits)
        return text.ljust(len(num(value)) + 1 + width)  # intervals line up

    header = ["class", "precision", "sensitivity", "specificity", "F1", "AUC", "support"]
    rows = [header]
    for name, row in report.per_class.items():
        rows.append(
            [
                name,
                num(row.get("precision")),
                cell(row.get("recall"), f"recall[{name}]"),
                cell(row.get("specificity"), f"specificity[{name}]"),
                num(row.get("f1")),
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
        label = (
            f"{report.positive_class} sensitivity at specificity >= {p['target_specificity']:.2f}"
        )
        headline.append([label, cell(p["sensitivity"], _sensitivity_key(p))])
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

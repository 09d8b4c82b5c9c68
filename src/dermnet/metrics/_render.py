"""Moved to `dermnet.metrics.report_text` and `dermnet.metrics.report_html` (this
re-export goes in a later release)."""

from dermnet.metrics.report_html import report_figures
from dermnet.metrics.report_text import (
    card_markdown,
    computed_limitations,
    metric_rows,
    operating_rows,
    per_class_rows,
    report_summary,
)

__all__ = [
    "card_markdown",
    "computed_limitations",
    "metric_rows",
    "operating_rows",
    "per_class_rows",
    "report_figures",
    "report_summary",
]

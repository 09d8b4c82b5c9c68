"""Evaluation that stays honest on imbalanced data: scores, figures and reports."""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet.metrics.plots import (
        figure_to_png,
        plot_confusion_matrix,
        plot_history,
        plot_roc_curves,
    )
    from dermnet.metrics.report import HtmlReport
    from dermnet.metrics.scores import EvaluationReport, UndefinedMetricWarning, evaluate

__all__ = [
    "EvaluationReport",
    "HtmlReport",
    "UndefinedMetricWarning",
    "evaluate",
    "figure_to_png",
    "plot_confusion_matrix",
    "plot_history",
    "plot_roc_curves",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)

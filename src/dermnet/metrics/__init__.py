"""Evaluation that stays honest on imbalanced data: every metric with bootstrap intervals,
calibration and temperature scaling, streaming Keras metrics, figures, and reports (JSON,
Markdown, self-contained HTML) with a model card.

Importing this package does not import TensorFlow; names load on first use.
"""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet.metrics.bootstrap import bootstrap_intervals
    from dermnet.metrics.calibration import (
        TemperatureScaler,
        brier_score,
        expected_calibration_error,
        reliability_curve,
    )
    from dermnet.metrics.card import ModelCard
    from dermnet.metrics.classification import UndefinedMetricWarning, evaluate
    from dermnet.metrics.evaluation import collect_predictions, evaluate_model
    from dermnet.metrics.evaluation_report import EvaluationReport
    from dermnet.metrics.formatting import format_interval
    from dermnet.metrics.html import HtmlReport
    from dermnet.metrics.ood import OpenSetSplit, leave_one_class_out, ood_scores_report
    from dermnet.metrics.plots import (
        figure_to_png,
        plot_class_distribution,
        plot_confusion_matrix,
        plot_history,
        plot_pr_curves,
        plot_reliability_diagram,
        plot_roc_curves,
    )
    from dermnet.metrics.report_sections import (
        ReportSection,
        abstention_section,
        subgroup_section,
    )
    from dermnet.metrics.streaming import BalancedAccuracy, MacroAUC
    from dermnet.metrics.subgroups import (
        SubgroupReport,
        age_bands,
        plot_subgroup_gaps,
        subgroup_report,
    )
    from dermnet.metrics.uncertainty import (
        AbstentionThreshold,
        apply_abstention,
        aurc,
        choose_abstention_threshold,
        confidence_scores,
        mc_dropout_predict,
        optimal_aurc,
        risk_coverage_curve,
    )

__all__ = [
    "AbstentionThreshold",
    "BalancedAccuracy",
    "EvaluationReport",
    "HtmlReport",
    "MacroAUC",
    "ModelCard",
    "OpenSetSplit",
    "ReportSection",
    "SubgroupReport",
    "TemperatureScaler",
    "UndefinedMetricWarning",
    "abstention_section",
    "age_bands",
    "apply_abstention",
    "aurc",
    "bootstrap_intervals",
    "brier_score",
    "choose_abstention_threshold",
    "collect_predictions",
    "confidence_scores",
    "evaluate",
    "evaluate_model",
    "expected_calibration_error",
    "figure_to_png",
    "format_interval",
    "leave_one_class_out",
    "mc_dropout_predict",
    "ood_scores_report",
    "optimal_aurc",
    "plot_class_distribution",
    "plot_confusion_matrix",
    "plot_history",
    "plot_pr_curves",
    "plot_reliability_diagram",
    "plot_roc_curves",
    "plot_subgroup_gaps",
    "reliability_curve",
    "risk_coverage_curve",
    "subgroup_report",
    "subgroup_section",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)

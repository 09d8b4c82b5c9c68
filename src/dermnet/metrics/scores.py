"""Deprecated: `evaluate` moved to `dermnet.metrics.classification`, `EvaluationReport` to
`dermnet.metrics.evaluation_report` and `bootstrap_intervals` to `dermnet.metrics.bootstrap`.
"""

from dermnet._core.moved import moved_names

__getattr__, __dir__ = moved_names(
    __name__,
    {
        "EvaluationReport": "dermnet.metrics.evaluation_report",
        "HEADLINE_METRICS": "dermnet.metrics.bootstrap",
        "UndefinedMetricWarning": "dermnet.metrics.classification",
        "bootstrap_intervals": "dermnet.metrics.bootstrap",
        "evaluate": "dermnet.metrics.classification",
    },
    also="dermnet.metrics",
)

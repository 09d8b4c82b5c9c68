"""Moved to `dermnet.metrics._checks` (this re-export goes in a later release)."""

from dermnet.metrics._checks import ROW_SUM_TOLERANCE, check_labels_scores

__all__ = ["ROW_SUM_TOLERANCE", "check_labels_scores"]

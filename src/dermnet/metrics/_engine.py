"""Moved to `dermnet.metrics._weighted_metrics` (this re-export goes in a later release)."""

from dermnet.metrics._weighted_metrics import MetricEngine, bin_edges, bin_index, bootstrap_weights

__all__ = ["MetricEngine", "bin_edges", "bin_index", "bootstrap_weights"]

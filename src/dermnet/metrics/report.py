"""Deprecated: the HTML page builder moved to `dermnet.metrics.html`."""

from dermnet.metrics._moved import moved_names

__getattr__ = moved_names(__name__, {"HtmlReport": "dermnet.metrics.html"})

"""Deprecated: the HTML page builder moved to `dermnet.metrics.html`."""

from dermnet._core.moved import moved_names

__getattr__, __dir__ = moved_names(
    __name__, {"HtmlReport": "dermnet.metrics.html"}, also="dermnet.metrics"
)

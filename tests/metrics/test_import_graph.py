"""The modules of `dermnet.metrics` import each other one way: no import cycle (every
import counts, also lazy ones inside functions; those under ``if TYPE_CHECKING:`` do not).
The checker is the one of `tests/transforms/test_import_graph.py`."""

from __future__ import annotations

from pathlib import Path

import dermnet.metrics
from tests.transforms.test_import_graph import cycles, import_graph

PACKAGE = "dermnet.metrics"
ROOT = Path(dermnet.metrics.__file__).parent


def test_the_metrics_package_has_no_import_cycle():
    graph = import_graph(ROOT, PACKAGE)
    assert f"{PACKAGE}.report_text" in graph
    assert cycles(graph) == []


def test_the_report_renderers_do_not_import_the_report_or_the_card():
    graph = import_graph(ROOT, PACKAGE)
    assert graph[f"{PACKAGE}.report_text"] == [f"{PACKAGE}.formatting"]
    assert f"{PACKAGE}.evaluation_report" not in graph[f"{PACKAGE}.report_html"]
    assert f"{PACKAGE}.evaluation_report" in graph[f"{PACKAGE}.classification"]

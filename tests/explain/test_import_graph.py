"""The modules of `dermnet.explain` import each other one way: no import cycle (every
import counts, also lazy ones inside functions; those under ``if TYPE_CHECKING:`` do not).
The checker is the one of `tests/transforms/test_import_graph.py`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dermnet.explain
from tests.transforms.test_import_graph import cycles, import_graph

PACKAGE = "dermnet.explain"
ROOT = Path(dermnet.explain.__file__).parent


def test_the_explain_package_has_no_import_cycle():
    graph = import_graph(ROOT, PACKAGE)
    assert f"{PACKAGE}._predictor" in graph
    assert cycles(graph) == []


def test_shap_and_lime_load_only_with_their_explainers():
    code = (
        "import sys, dermnet, dermnet.explain, dermnet.explain.methods, dermnet.explain.cam\n"
        "assert 'shap' not in sys.modules and 'lime' not in sys.modules\n"
        "import dermnet.explain.lime_explainer, dermnet.explain.shap_explainer\n"
        "assert 'shap' in sys.modules and 'lime' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

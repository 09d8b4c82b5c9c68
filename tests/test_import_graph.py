"""The whole `dermnet` package imports one way: no import cycle between any two modules.

Every import counts, also those inside functions (a lazy import still ties two modules
together); imports under ``if TYPE_CHECKING:`` do not, and neither do the modules a
`Registry` imports by name. The per-layer tests (``tests/<layer>/test_import_graph.py``)
say the same for each layer; this one also catches a cycle that crosses layers.
"""

from __future__ import annotations

from pathlib import Path

import dermnet
from tests.transforms.test_import_graph import cycles, import_graph

ROOT = Path(dermnet.__file__).parent


def test_the_package_has_no_import_cycle():
    graph = import_graph(ROOT, "dermnet")
    assert len(graph) > 150, "the scan found too few modules: has the package moved?"
    assert "dermnet.models.catalog" in graph["dermnet.models.zoo.resnet"]
    assert cycles(graph) == []


def test_the_package_has_no_module_level_import_cycle():
    assert cycles(import_graph(ROOT, "dermnet", module_level=True)) == []

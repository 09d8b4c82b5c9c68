"""The public API surface. A change here is an API change: update CHANGELOG.md and docs/."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

EXPECTED = {
    "dermnet": [
        "DataError",
        "DermnetError",
        "EvaluationReport",
        "GradCAM",
        "LeakageError",
        "MissingFileError",
        "OptionalDependencyError",
        "ParameterError",
        "Records",
        "UnknownNameError",
        "__version__",
        "check_leakage",
        "class_weights",
        "create_model",
        "data",
        "evaluate",
        "explain",
        "fit",
        "get_model_spec",
        "imbalance",
        "list_datasets",
        "list_models",
        "load_dataset",
        "load_model",
        "load_sample",
        "make_dataset",
        "metrics",
        "models",
        "overlay",
        "seed_everything",
        "split",
        "train",
        "transforms",
    ],
    "dermnet.data": [
        "HAM10000_CLASSES",
        "LeakageReport",
        "MALARIA_CLASSES",
        "Records",
        "Split",
        "check_leakage",
        "list_datasets",
        "load_dataset",
        "load_ham10000",
        "load_image_folder",
        "load_malaria",
        "load_sample",
        "make_dataset",
        "register_dataset",
        "sample_path",
        "split",
    ],
    "dermnet.transforms": [
        "Compose",
        "Resize",
        "ShadesOfGray",
        "Transform",
        "functional",
        "list_transforms",
        "register_transform",
        "transform_from_dict",
    ],
    "dermnet.imbalance": ["class_weights"],
    "dermnet.models": [
        "EXPORT_FORMATS",
        "ExportError",
        "ExportResult",
        "ImagePreprocessing",
        "ModelSpec",
        "ParameterReport",
        "batchnorm_layers",
        "create_model",
        "export_model",
        "freeze_backbone",
        "get_backbone",
        "get_model_spec",
        "list_models",
        "load_model",
        "parameter_report",
        "recalibrate_batchnorm",
        "register_model",
        "run_exported",
        "set_bn_momentum",
        "unfreeze",
    ],
    "dermnet.metrics": [
        "EvaluationReport",
        "HtmlReport",
        "UndefinedMetricWarning",
        "evaluate",
        "figure_to_png",
        "plot_confusion_matrix",
        "plot_history",
        "plot_roc_curves",
    ],
    "dermnet.explain": [
        "GradCAM",
        "find_target_layer",
        "overlay",
        "plot_explanations",
        "resolve_layer",
    ],
    "dermnet.train": [
        "EpochLogger",
        "FineTuneResult",
        "HistoryPlot",
        "LinearWarmup",
        "RunConfig",
        "WarmupCosine",
        "evaluate_run",
        "fine_tune",
        "fit",
        "predict_run",
        "run_demo",
        "train_run",
    ],
}


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_all_matches_the_expected_surface(module):
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(EXPECTED[module])


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_every_public_name_resolves(module):
    mod = importlib.import_module(module)
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name
    assert set(mod.__all__) <= set(dir(mod))


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_lazy_names_are_imported_for_type_checkers(module):
    """Every public name not bound at import time is imported under TYPE_CHECKING.

    That block is what type checkers, the API docs and the lazy loader read.
    """
    mod = importlib.import_module(module)
    tree = ast.parse(Path(mod.__file__).read_text())
    typed: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for stmt in node.body:
                typed |= {alias.asname or alias.name for alias in stmt.names}
    fresh = subprocess.run(
        [sys.executable, "-c", f"import {module} as m; print(' '.join(vars(m)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    lazy = set(mod.__all__) - set(fresh)
    assert lazy <= typed, sorted(lazy - typed)
    assert typed <= set(mod.__all__), sorted(typed - set(mod.__all__))


def test_import_is_light_and_does_not_load_tensorflow():
    code = "import dermnet, sys; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_every_package_declares_all():
    root = Path(importlib.import_module("dermnet").__file__).parent
    for init in root.rglob("__init__.py"):
        assert "__all__" in init.read_text(), init

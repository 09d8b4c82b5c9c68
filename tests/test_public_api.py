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
        "DataConfig",
        "DataError",
        "DermnetError",
        "EvaluationReport",
        "GradCAM",
        "LeakageError",
        "LeakageWarning",
        "MetadataEncoder",
        "MissingFileError",
        "OptionalDependencyError",
        "ParameterError",
        "Records",
        "UnknownNameError",
        "__version__",
        "balanced_dataset",
        "check_leakage",
        "class_weights",
        "create_model",
        "data",
        "describe",
        "evaluate",
        "evaluate_model",
        "explain",
        "explain_images",
        "fit",
        "get_model_spec",
        "imbalance",
        "kfold",
        "list_datasets",
        "list_models",
        "load_dataset",
        "load_images",
        "load_model",
        "load_sample",
        "make_dataset",
        "metrics",
        "models",
        "overlay",
        "preset",
        "register_custom_objects",
        "resolve_data_config",
        "seed_everything",
        "split",
        "train",
        "transforms",
        "tune_threshold",
        "validate",
    ],
    "dermnet.data": [
        "DataConfig",
        "DatasetDescription",
        "Fold",
        "HAM10000_CLASSES",
        "HAM10000_MALIGNANT",
        "HMNIST_LABELS",
        "ISIC2019_CLASSES",
        "ISIC2020_CLASSES",
        "LeakageReport",
        "MALARIA_CLASSES",
        "MetadataEncoder",
        "Records",
        "Split",
        "UnseenCategoryWarning",
        "ValidationReport",
        "check_image_files",
        "check_leakage",
        "data_root",
        "describe",
        "kfold",
        "list_datasets",
        "load_csv",
        "load_dataset",
        "load_ham10000",
        "load_hmnist_csv",
        "load_image_folder",
        "load_images",
        "load_isic2018",
        "load_isic2019",
        "load_isic2020",
        "load_malaria",
        "load_medmnist",
        "load_sample",
        "make_dataset",
        "register_dataset",
        "sample_path",
        "split",
        "to_benign_malignant",
        "validate",
    ],
    "dermnet.transforms": [
        "CLAHE",
        "BilateralFilter",
        "CenterCrop",
        "Compose",
        "ConvertColor",
        "CropToMask",
        "CutMix",
        "DenoiseNLMeans",
        "EnhanceEdges",
        "EqualizeHistogram",
        "GaussianBlur",
        "GrayWorld",
        "MaxRGB",
        "MedianBlur",
        "MixUp",
        "PreprocessReport",
        "RandomAffine",
        "RandomBrightness",
        "RandomContrast",
        "RandomFlip",
        "RandomHue",
        "RandomRot90",
        "RandomRotation",
        "RandomSaturation",
        "RandomTranslation",
        "RandomZoom",
        "ReinhardNormalize",
        "RemoveHair",
        "Resize",
        "ShadesOfGray",
        "Transform",
        "UnsharpMask",
        "augmentation",
        "functional",
        "list_augmentations",
        "list_presets",
        "list_transforms",
        "preprocess_folder",
        "preset",
        "register_preset",
        "register_transform",
        "show",
        "tf_map",
        "transform_from_dict",
    ],
    "dermnet.imbalance": [
        "BinaryFocalLoss",
        "CategoricalFocalLoss",
        "ClassBalancedLoss",
        "LeakageWarning",
        "Threshold",
        "balanced_dataset",
        "class_weights",
        "ensure_training_split",
        "logit_adjust",
        "oversample",
        "resample",
        "resample_indices",
        "sampling_weights",
        "tune_threshold",
        "undersample",
    ],
    "dermnet.models": [
        "EXPORT_FORMATS",
        "ExportError",
        "ExportResult",
        "ImagePreprocessing",
        "ModelFileError",
        "ModelSpec",
        "ParameterReport",
        "batchnorm_layers",
        "create_model",
        "export_model",
        "find_weights",
        "freeze_backbone",
        "get_backbone",
        "get_model_spec",
        "list_models",
        "load_model",
        "parameter_report",
        "recalibrate_batchnorm",
        "register_custom_objects",
        "register_model",
        "resolve_data_config",
        "run_exported",
        "set_bn_momentum",
        "unfreeze",
    ],
    "dermnet.metrics": [
        "BalancedAccuracy",
        "EvaluationReport",
        "HtmlReport",
        "MacroAUC",
        "ModelCard",
        "TemperatureScaler",
        "UndefinedMetricWarning",
        "bootstrap_intervals",
        "brier_score",
        "collect_predictions",
        "evaluate",
        "evaluate_model",
        "expected_calibration_error",
        "figure_to_png",
        "format_interval",
        "plot_class_distribution",
        "plot_confusion_matrix",
        "plot_history",
        "plot_pr_curves",
        "plot_reliability_diagram",
        "plot_roc_curves",
        "reliability_curve",
    ],
    "dermnet.explain": [
        "BaseCAM",
        "EigenCAM",
        "FaithfulnessCurve",
        "GradCAM",
        "GradCAMPlusPlus",
        "LayerCAM",
        "LimeExplainer",
        "LimeExplanation",
        "RandomizationCheck",
        "ScoreCAM",
        "ShapExplainer",
        "ShapExplanation",
        "deletion_curve",
        "explain_images",
        "find_target_layer",
        "get_explainer",
        "insertion_curve",
        "iter_layers",
        "list_methods",
        "load_explained_model",
        "overlay",
        "plot_attributions",
        "plot_explanations",
        "randomization_check",
        "resolve_layer",
        "write_explanations",
    ],
    "dermnet.train": [
        "TTA_TRANSFORMS",
        "EpochLogger",
        "FineTuneResult",
        "HistoryPlot",
        "LinearWarmup",
        "RunConfig",
        "RunFolder",
        "WarmupCosine",
        "evaluate_run",
        "explain_run",
        "fine_tune",
        "fit",
        "get_recipe",
        "list_recipes",
        "load_run_config",
        "predict_run",
        "predict_tta",
        "recipe_summary",
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

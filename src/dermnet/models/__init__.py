"""The model zoo: a registry of backbones with specs, classifiers built by name,
image+metadata fusion, fine-tuning helpers, BatchNorm care, saving and export.
"""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet._core.custom_objects import register_custom_objects
    from dermnet._core.errors import ExportError, ModelFileError
    from dermnet.models.batchnorm import batchnorm_layers, recalibrate_batchnorm, set_bn_momentum
    from dermnet.models.data_config import resolve_data_config
    from dermnet.models.export import EXPORT_FORMATS, ExportResult, export_model, run_exported
    from dermnet.models.finetune import (
        ParameterReport,
        freeze_backbone,
        get_backbone,
        parameter_report,
        unfreeze,
    )
    from dermnet.models.io import load_model
    from dermnet.models.layers import ImagePreprocessing
    from dermnet.models.registry import create_model, get_model_spec, list_models, register_model
    from dermnet.models.spec import ModelSpec
    from dermnet.models.weights import find_weights

__all__ = [
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
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)

"""The model zoo: a registry of backbones with specs, classifiers built by name, saving."""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet.models.io import load_model
    from dermnet.models.layers import ImagePreprocessing
    from dermnet.models.registry import create_model, get_model_spec, list_models, register_model
    from dermnet.models.spec import ModelSpec

__all__ = [
    "ImagePreprocessing",
    "ModelSpec",
    "create_model",
    "get_model_spec",
    "list_models",
    "load_model",
    "register_model",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)

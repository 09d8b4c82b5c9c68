"""Preprocessing for dermoscopy and microscopy images, and augmentation.

Pure functions live in :mod:`dermnet.transforms.functional`; the classes here wrap them,
validate their parameters and serialize to dicts.
"""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet.transforms import functional
    from dermnet.transforms.base import (
        Compose,
        Resize,
        ShadesOfGray,
        Transform,
        list_transforms,
        register_transform,
        transform_from_dict,
    )

__all__ = [
    "Compose",
    "Resize",
    "ShadesOfGray",
    "Transform",
    "functional",
    "list_transforms",
    "register_transform",
    "transform_from_dict",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)

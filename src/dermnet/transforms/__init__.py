"""Preprocessing for dermoscopy and microscopy images, and augmentation.

Pure functions live in `dermnet.transforms.functional`; the classes here wrap them,
validate their parameters and serialize to dicts. `preset` builds named pipelines,
`tf_map` runs them inside ``tf.data``, `preprocess_folder` (``dermnet
preprocess``) writes an offline cache, `show` draws before/after panels. Random
augmentation is a set of seeded Keras layers (`augmentation` for named sets).
"""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet.transforms import functional
    from dermnet.transforms.augment import (
        CutMix,
        MixUp,
        RandomAffine,
        RandomBrightness,
        RandomContrast,
        RandomDihedral,
        RandomFlip,
        RandomHue,
        RandomRot90,
        RandomRotation,
        RandomSaturation,
        RandomTranslation,
        RandomZoom,
        augmentation,
        list_augmentations,
    )
    from dermnet.transforms.base import (
        Compose,
        Transform,
        list_transforms,
        register_transform,
        transform_from_dict,
    )
    from dermnet.transforms.offline import PreprocessReport, preprocess_folder
    from dermnet.transforms.preprocessing import (
        CLAHE,
        BilateralFilter,
        CenterCrop,
        ConvertColor,
        CropToMask,
        DenoiseNLMeans,
        EnhanceEdges,
        EqualizeHistogram,
        GaussianBlur,
        GrayWorld,
        MaxRGB,
        MedianBlur,
        ReinhardNormalize,
        RemoveHair,
        Resize,
        ShadesOfGray,
        UnsharpMask,
    )
    from dermnet.transforms.presets import list_presets, preset, register_preset
    from dermnet.transforms.tfdata import tf_map
    from dermnet.transforms.visualize import show

__all__ = [
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
    "RandomDihedral",
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
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)

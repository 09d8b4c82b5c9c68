"""The named augmentation pipelines: ``augmentation("dermoscopy")`` and the others.

A pipeline is data: a list of ``(layer name, arguments)`` pairs looked up in the
`AUGMENTATIONS` registry, so this module does not import the module that defines the
layers (`dermnet.transforms.augment`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from dermnet._core.registry import look_up_option
from dermnet._core.validation import check_seed
from dermnet.transforms._augment_base import AUGMENTATIONS, _check_value_range

__all__ = ["augmentation"]

_DERMOSCOPY_AFFINE = {"max_angle": 180.0, "zoom_range": (0.9, 1.1), "translate": 0.05}
_MICROSCOPY_AFFINE = {"max_angle": 180.0, "zoom_range": (0.95, 1.05), "translate": 0.05}

#: Pipeline name -> its layers, as (registered layer name, constructor arguments).
_PIPELINES: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "dermoscopy": (
        ("random_flip", {}),
        ("random_affine", _DERMOSCOPY_AFFINE),
        ("random_brightness", {"max_delta": 0.1}),
        ("random_contrast", {"factor": 0.15}),
        ("random_saturation", {"factor": 0.15}),
        ("random_hue", {"max_delta": 0.02}),
    ),
    "microscopy": (
        ("random_flip", {}),
        ("random_affine", {**_MICROSCOPY_AFFINE, "fill_mode": "constant"}),
        ("random_brightness", {"max_delta": 0.1}),
        ("random_contrast", {"factor": 0.1}),
        ("random_saturation", {"factor": 0.1}),
        ("random_hue", {"max_delta": 0.03}),
    ),
    "geometric": (("random_flip", {}), ("random_rotation", {"max_angle": 180.0})),
    "flips": (("random_flip", {"mode": "horizontal_and_vertical"}),),
    # One flip and the four quarter turns give each of the 8 symmetries with
    # probability 1/8 (a vertical flip is a horizontal flip and a half turn).
    "dihedral": (("random_flip", {"mode": "horizontal"}), ("random_rot90", {})),
}


def augmentation(
    name: str = "dermoscopy",
    *,
    seed: int | None = None,
    value_range: Sequence[float] = (0.0, 255.0),
) -> keras.Sequential:
    """A named augmentation pipeline as a ``keras.Sequential`` of dermnet layers.

    - ``"dermoscopy"``: flips, any rotation with zoom 0.9-1.1 and 5% shift (reflected
      borders), brightness ±10%, contrast ±15%, saturation ±15%, hue ±0.02.
    - ``"microscopy"``: the same with black (constant) borders, as cell crops have a
      black background, and milder zoom and colour changes.
    - ``"geometric"``: flips and any rotation only.
    - ``"flips"``: random horizontal and vertical flips only.
    - ``"dihedral"``: exactly the 8 symmetries of the square (flips and quarter turns),
      each with probability 1/8 per image: no interpolation, no borders to fill; for
      square images only.

    Pass it to ``dermnet.data.make_dataset(augment=...)`` or put it first in a model.

    Args:
        name: ``"dermoscopy"``, ``"microscopy"``, ``"geometric"``, ``"flips"`` or
            ``"dihedral"``.
        seed: base seed; layer ``i`` gets ``seed + i`` (None: unseeded).
        value_range: the images' (low, high) range.

    Examples:
        >>> import numpy as np
        >>> aug = augmentation("dermoscopy", seed=0)
        >>> aug(np.full((2, 32, 32, 3), 128.0), training=True).shape
        TensorShape([2, 32, 32, 3])
    """
    name = look_up_option(name, _PIPELINES, param="name", where="augmentation")
    seed = check_seed(seed, "seed", "augmentation")
    value_range = _check_value_range(value_range, "augmentation")
    layers = [
        AUGMENTATIONS.get(layer)(
            **kwargs, value_range=value_range, seed=None if seed is None else (seed + i) % 2**32
        )
        for i, (layer, kwargs) in enumerate(_PIPELINES[name])
    ]
    return keras.Sequential(layers, name=f"dermnet_augmentation_{name}")

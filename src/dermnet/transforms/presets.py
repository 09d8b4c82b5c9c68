"""Named preprocessing pipelines (``preset("dermoscopy")``) and their registry.

A built-in preset is data: the transforms it chains, by registered name and arguments,
looked up in `dermnet.transforms.base.TRANSFORMS`, then a padded `Resize` to the size
asked for. This module therefore imports no module that defines transforms.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from dermnet._core.registry import Registry
from dermnet._core.validation import check_image_size
from dermnet.transforms.base import TRANSFORMS, Compose

__all__ = ["MALARIA_REFERENCE", "PRESETS", "list_presets", "preset", "register_preset"]

#: Preset name -> builder ``(image_size) -> Compose``.
PRESETS: Registry[Callable[[tuple[int, int]], Compose]] = Registry("preset")

#: CIELAB statistics (OpenCV float units) of NIH malaria thin-smear cells, the target of
#: the ``"microscopy"`` preset: the per-image medians of the foreground (pixels brighter
#: than 10 in some channel) mean and standard deviation over the 200 RGB cell crops of the
#: NIH/NLM malaria dataset (``malaria_rgb`` under the data root, the folder the
#: ``DERMNET_DATA_ROOT`` environment variable names; rechecked by a slow test).
MALARIA_REFERENCE = {
    "target_mean": (67.0, 16.6, 3.0),
    "target_std": (3.6, 3.2, 3.2),
    "background_threshold": 10.0,
}


def register_preset(
    name: str,
) -> Callable[[Callable[[tuple[int, int]], Compose]], Callable[[tuple[int, int]], Compose]]:
    """Decorator registering a preset builder ``(image_size: (h, w)) -> Compose``."""
    return PRESETS.decorator(name)


def list_presets() -> list[str]:
    """Names of the preprocessing presets.

    Examples:
        >>> list_presets()
        ['color_constancy', 'dermoscopy', 'dermoscopy_clahe', 'microscopy', 'resize']
    """
    return PRESETS.names()


def preset(name: str, image_size: int | tuple[int, int] = 224) -> Compose:
    """A named preprocessing pipeline, ending with a resize to ``image_size``.

    - ``"dermoscopy"``: DullRazor hair removal, Shades of Gray (p=6), resize keeping the
      aspect ratio (black padding), the usual ISIC pipeline.
    - ``"dermoscopy_clahe"``: the same plus CLAHE on the lightness before resizing.
    - ``"microscopy"``: Reinhard normalisation to `MALARIA_REFERENCE` (the black
      background of cell crops is kept out of the statistics and left black), resize
      with padding.
    - ``"color_constancy"``: Shades of Gray (p=6) only, then the padded resize; cheap
      enough to run on every image inside ``tf.data`` (what ``dermnet demo`` uses).
    - ``"resize"``: only the padded resize.

    Hair removal works at the input resolution: its 17-pixel element suits the 600x450
    ISIC/HAM10000 originals (hairs are 3-8 pixels wide there).

    Args:
        name: the preset name (see `list_presets`).
        image_size: the output size, an int or ``(height, width)``.

    Returns:
        A `Compose`, serializable like any transform.

    Examples:
        >>> preset("dermoscopy", image_size=224)
        Compose([RemoveHair(kernel_size=17, threshold=10.0, radius=3, method='telea', smoothing=1.0), ShadesOfGray(p=6.0), Resize(size=[224, 224], mode='pad', interpolation='auto')])
    """  # noqa: E501
    size = check_image_size(image_size, "image_size", "preset")
    return PRESETS.get(name, where="preset")(size)


#: The built-in presets: the transforms before the final padded resize, as
#: (registered transform name, constructor arguments).
_PIPELINES: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "dermoscopy": (("remove_hair", {}), ("shades_of_gray", {"p": 6.0})),
    "dermoscopy_clahe": (("remove_hair", {}), ("shades_of_gray", {"p": 6.0}), ("clahe", {})),
    "color_constancy": (("shades_of_gray", {"p": 6.0}),),
    "microscopy": (("reinhard_normalize", MALARIA_REFERENCE),),
    "resize": (),
}


def _build(steps: tuple[tuple[str, dict[str, Any]], ...], size: tuple[int, int]) -> Compose:
    transforms = [TRANSFORMS.get(name)(**kwargs) for name, kwargs in steps]
    return Compose([*transforms, TRANSFORMS.get("resize")(size, mode="pad")])


for _name, _steps in _PIPELINES.items():
    PRESETS.register(_name, functools.partial(_build, _steps))

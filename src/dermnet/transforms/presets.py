"""Named preprocessing pipelines (``preset("dermoscopy")``) and their registry."""

from __future__ import annotations

from collections.abc import Callable

from dermnet._core.registry import Registry
from dermnet._core.validation import check_image_size
from dermnet.transforms.base import Compose
from dermnet.transforms.preprocessing import (
    CLAHE,
    ReinhardNormalize,
    RemoveHair,
    Resize,
    ShadesOfGray,
)

__all__ = ["MALARIA_REFERENCE", "PRESETS", "list_presets", "preset", "register_preset"]

#: Preset name -> builder ``(image_size) -> Compose``.
PRESETS: Registry[Callable[[tuple[int, int]], Compose]] = Registry("preset")

#: CIELAB statistics (OpenCV float units) of NIH malaria thin-smear cells, the target of
#: the ``"microscopy"`` preset: the per-image medians of the foreground (pixels brighter
#: than 10 in some channel) mean and standard deviation over the 200 RGB cell crops of the
#: NIH/NLM malaria dataset (``../shared/data/malaria_rgb``; rechecked by a slow test).
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


@register_preset("dermoscopy")
def _dermoscopy(size: tuple[int, int]) -> Compose:
    return Compose([RemoveHair(), ShadesOfGray(p=6.0), Resize(size, mode="pad")])


@register_preset("dermoscopy_clahe")
def _dermoscopy_clahe(size: tuple[int, int]) -> Compose:
    return Compose([RemoveHair(), ShadesOfGray(p=6.0), CLAHE(), Resize(size, mode="pad")])


@register_preset("color_constancy")
def _color_constancy(size: tuple[int, int]) -> Compose:
    return Compose([ShadesOfGray(p=6.0), Resize(size, mode="pad")])


@register_preset("microscopy")
def _microscopy(size: tuple[int, int]) -> Compose:
    reinhard = ReinhardNormalize(**MALARIA_REFERENCE)  # type: ignore[arg-type]
    return Compose([reinhard, Resize(size, mode="pad")])


@register_preset("resize")
def _resize(size: tuple[int, int]) -> Compose:
    return Compose([Resize(size, mode="pad")])

"""Contrast: CLAHE and histogram equalisation of the lightness (computed at 8 bits)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dermnet.transforms._constraints import constrained, integer, number
from dermnet.transforms.functional.image import _on_uint8, image_function

__all__ = ["clahe", "equalize_histogram"]


@constrained(clip_limit=number(low=0.0, low_open=True), tile_grid_size=integer(low=1))
@image_function((1, 3))
def clahe(image: np.ndarray, clip_limit: float = 2.0, tile_grid_size: int = 8) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation of the lightness (CIELAB L).

    Colour images are converted to CIELAB, CLAHE is applied to L only (so hues are kept)
    and the result is converted back; gray images are equalised directly.

    Args:
        image: ``HxWx3`` (or gray) uint8 or float image (or a batch); computed at 8 bits.
        clip_limit: the contrast limit of each tile's histogram, > 0 (OpenCV's default 40
            is harsh; 2 is usual for dermoscopy).
        tile_grid_size: the image is split into ``tile_grid_size`` x ``tile_grid_size``
            tiles, >= 1.

    Returns:
        The equalised image, same shape and dtype.

    Examples:
        >>> flat = np.tile(np.linspace(100, 140, 64, dtype=np.uint8), (64, 1))
        >>> out = clahe(np.dstack([flat] * 3))
        >>> int(np.ptp(out)) > int(np.ptp(flat))
        True
    """
    import cv2

    tiles = (tile_grid_size, tile_grid_size)
    equaliser = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=tiles)
    return _on_first_channel(image, cv2.COLOR_RGB2LAB, cv2.COLOR_LAB2RGB, equaliser.apply)


@image_function((1, 3))
def equalize_histogram(image: np.ndarray) -> np.ndarray:
    """Global histogram equalisation of the luma (Y of YCrCb); gray images directly.

    Args:
        image: ``HxWx3`` (or gray) uint8 or float image (or a batch); computed at 8 bits.

    Returns:
        The equalised image, same shape and dtype.

    Examples:
        >>> ramp = np.tile(np.arange(100, 132, dtype=np.uint8), (8, 1))
        >>> out = equalize_histogram(ramp)
        >>> int(out.min()), int(out.max())
        (0, 255)
    """
    import cv2

    return _on_first_channel(image, cv2.COLOR_RGB2YCrCb, cv2.COLOR_YCrCb2RGB, cv2.equalizeHist)


def _on_first_channel(
    image: np.ndarray, to_space: int, to_rgb: int, op: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Apply an 8-bit ``op`` to the first channel of an RGB image in another colour space
    (OpenCV codes ``to_space`` and back ``to_rgb``: lightness, luma), or to a gray image."""
    import cv2

    def colour(rgb: np.ndarray) -> np.ndarray:
        converted = cv2.cvtColor(rgb, to_space)
        converted[..., 0] = op(np.ascontiguousarray(converted[..., 0]))
        return cv2.cvtColor(converted, to_rgb)

    return _on_uint8(image, colour, op)

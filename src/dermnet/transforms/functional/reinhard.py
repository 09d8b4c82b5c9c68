"""Microscopy: Reinhard colour normalisation in CIELAB, and the statistics it matches."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet.transforms._constraints import constrained, number, triple
from dermnet.transforms.functional.image import (
    _as_float32,
    _restore,
    _value_max,
    image_function,
)

__all__ = ["reinhard_normalize", "reinhard_stats"]


def _lab_float(image: np.ndarray) -> np.ndarray:
    import cv2

    top = _value_max(image)
    return cv2.cvtColor(_as_float32(image) / np.float32(top), cv2.COLOR_RGB2LAB)


def _foreground(image: np.ndarray, background_threshold: float | None) -> np.ndarray | None:
    """Pixels not darker than the threshold in every channel (None: all pixels)."""
    if background_threshold is None:
        return None
    import cv2

    r, g, b = cv2.split(np.ascontiguousarray(image))
    brightest = cv2.max(cv2.max(r, g), b)
    if image.dtype == np.uint8:
        return brightest > background_threshold
    return brightest * (255.0 / _value_max(image)) > background_threshold


#: `reinhard_stats` and `reinhard_normalize` share it.
_BACKGROUND_THRESHOLD = number(0.0, 255.0, allow_none=True)


@constrained(background_threshold=_BACKGROUND_THRESHOLD)
@image_function(batch=False)
def reinhard_stats(
    image: np.ndarray, background_threshold: float | None = None
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """The CIELAB mean and standard deviation of an image, for `reinhard_normalize`.

    Statistics are in OpenCV's float CIELAB units (L in 0-100, a and b about -128-127).

    Args:
        image: ``HxWx3`` RGB uint8 or float image.
        background_threshold: if set, pixels whose every channel is at or below this
            value (0-255 gray levels) are ignored: the black padding of microscopy cell
            crops.

    Returns:
        ``(mean, std)``, each a tuple of three floats (L, a, b).

    Raises:
        ParameterError: every pixel is background.

    Examples:
        >>> mean, std = reinhard_stats(np.full((4, 4, 3), 255, np.uint8))
        >>> [round(v) for v in mean], [round(v) for v in std]
        ([100, 0, 0], [0, 0, 0])
    """
    keep = _foreground(image, background_threshold)
    return _lab_stats(_lab_float(image), keep, "reinhard_stats")


def _lab_stats(
    lab: np.ndarray, keep: np.ndarray | None, where: str
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    import cv2

    mask = None
    if keep is not None:
        if not keep.any():
            raise ParameterError(
                f"The 'image' parameter of {where} has no pixel above the background_threshold."
            )
        mask = keep.astype(np.uint8)
    mean, std = cv2.meanStdDev(np.ascontiguousarray(lab), mask=mask)  # float64 sums
    mean, std = mean.ravel(), std.ravel()
    return (
        (float(mean[0]), float(mean[1]), float(mean[2])),
        (float(std[0]), float(std[1]), float(std[2])),
    )


@constrained(
    target_mean=triple(nonnegative=False),
    target_std=triple(nonnegative=True),
    background_threshold=_BACKGROUND_THRESHOLD,
)
@image_function()
def reinhard_normalize(
    image: np.ndarray,
    target_mean: Sequence[float],
    target_std: Sequence[float],
    background_threshold: float | None = None,
) -> np.ndarray:
    """Reinhard colour transfer (Reinhard et al., 2001) in CIELAB: match a target's statistics.

    Each CIELAB channel is standardised with the image's own mean and standard deviation
    and rescaled to the target's, which removes stain and scanner colour differences
    between microscopy slides. Get the target from a reference image with
    `reinhard_stats`.

    Args:
        image: ``HxWx3`` RGB uint8 or float image (or a batch).
        target_mean: the target CIELAB mean (L, a, b).
        target_std: the target CIELAB standard deviation (L, a, b), each >= 0.
        background_threshold: if set, background pixels (every channel at or below this
            value, in 0-255 gray levels) are left out of the statistics and returned
            unchanged.

    Returns:
        The normalised image, same shape and dtype, clipped to the range.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> ref = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        >>> img = (ref * 0.5).astype(np.uint8)
        >>> out = reinhard_normalize(img, *reinhard_stats(ref))
        >>> bool(np.abs(out.astype(int) - ref).mean() < np.abs(img.astype(int) - ref).mean())
        True
    """
    import cv2

    keep = _foreground(image, background_threshold)
    if keep is not None and not keep.any():
        return image.copy()
    lab = _lab_float(image)
    mean, std = _lab_stats(lab, keep, "reinhard_normalize")
    scale = np.array(
        [t / s if s > 1e-6 else 1.0 for t, s in zip(target_std, std, strict=True)], np.float32
    )
    lab = (lab - np.array(mean, np.float32)) * scale + np.array(target_mean, np.float32)
    lab[..., 0] = np.clip(lab[..., 0], 0.0, 100.0)
    top = _value_max(image)
    rgb = np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), 0.0, 1.0) * np.float32(top)
    out = _restore(rgb, image)
    if keep is not None:
        out[~keep] = image[~keep]
    return out

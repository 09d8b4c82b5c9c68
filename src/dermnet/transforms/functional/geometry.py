"""Geometry: resize (stretch, pad, crop), centre crop, and crops to a lesion mask."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.validation import check_bool, check_image_size, fail
from dermnet.transforms._constraints import constrained, number, one_of
from dermnet.transforms.functional.image import ANY_CHANNELS, _u8_or_float32, image_function

__all__ = ["center_crop", "crop_to_mask", "mask_bbox", "resize"]

_RESIZE_MODES = ("stretch", "pad", "crop")
_INTERPOLATIONS = ("auto", "nearest", "linear", "cubic", "area")


def _cv_resize(img: np.ndarray, height: int, width: int, interpolation: str) -> np.ndarray:
    import cv2

    if interpolation == "auto":
        shrink = height < img.shape[0] or width < img.shape[1]
        flag = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    else:
        flag = {
            "nearest": cv2.INTER_NEAREST_EXACT,
            "linear": cv2.INTER_LINEAR,
            "cubic": cv2.INTER_CUBIC,
            "area": cv2.INTER_AREA,
        }[interpolation]
    out = cv2.resize(img, (width, height), interpolation=flag)
    if img.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    return out


@constrained(
    size=check_image_size, mode=one_of(_RESIZE_MODES), interpolation=one_of(_INTERPOLATIONS)
)
@image_function(ANY_CHANNELS)
def resize(
    image: np.ndarray,
    size: int | tuple[int, int],
    mode: str = "stretch",
    interpolation: str = "auto",
) -> np.ndarray:
    """Resize to ``size`` = ``(height, width)``: stretch, pad to keep aspect, or centre crop.

    Args:
        image: ``HxWxC`` (or ``HxW``) uint8 or float image (or a batch), any channels.
        size: an int (square) or ``(height, width)``.
        mode: ``"stretch"``, ``"pad"`` (keep aspect, pad with black around) or ``"crop"``
            (keep aspect, centre crop).
        interpolation: ``"auto"`` (area when shrinking, linear when enlarging),
            ``"nearest"`` (for masks and labels), ``"linear"``, ``"cubic"`` or ``"area"``.

    Returns:
        The resized image, same dtype and channels.

    Examples:
        >>> resize(np.zeros((450, 600, 3), np.uint8), 224, mode="pad").shape
        (224, 224, 3)
    """
    h, w = size  # type: ignore[misc]
    src = _u8_or_float32(image)
    if mode == "stretch":
        out = _cv_resize(src, h, w, interpolation)
    elif mode == "pad":
        scale = min(h / src.shape[0], w / src.shape[1])
        nh = min(h, max(1, round(src.shape[0] * scale)))
        nw = min(w, max(1, round(src.shape[1] * scale)))
        inner = _cv_resize(src, nh, nw, interpolation)
        out = np.zeros((h, w, *src.shape[2:]), dtype=src.dtype)
        top, left = (h - nh) // 2, (w - nw) // 2
        out[top : top + nh, left : left + nw] = inner
    else:
        scale = max(h / src.shape[0], w / src.shape[1])
        ch = max(1, min(src.shape[0], round(h / scale)))
        cw = max(1, min(src.shape[1], round(w / scale)))
        top, left = (src.shape[0] - ch) // 2, (src.shape[1] - cw) // 2
        out = _cv_resize(src[top : top + ch, left : left + cw], h, w, interpolation)
    return out.astype(image.dtype, copy=False)


@constrained(size=check_image_size)
@image_function(ANY_CHANNELS)
def center_crop(image: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Cut the central ``size`` = ``(height, width)`` region (no resampling).

    Args:
        image: ``HxWxC`` (or ``HxW``) uint8 or float image (or a batch), any channels.
        size: an int (square) or ``(height, width)``, at most the image size.

    Returns:
        The crop, same dtype and channels.

    Examples:
        >>> center_crop(np.arange(25, dtype=np.uint8).reshape(5, 5), 3)[0].tolist()
        [6, 7, 8]
    """
    h, w = size  # type: ignore[misc]
    if h > image.shape[0] or w > image.shape[1]:
        raise fail(
            "size",
            "center_crop",
            f"at most the image size ({image.shape[0]}, {image.shape[1]})",
            (h, w),
        )
    top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    return image[top : top + h, left : left + w].copy()


def _check_mask(mask: object, where: str, shape: Sequence[int] | None = None) -> np.ndarray:
    if not isinstance(mask, np.ndarray):
        raise fail("mask", where, "a NumPy array", type(mask).__name__)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[..., 0]
    if mask.ndim != 2:
        raise ParameterError(
            f"The 'mask' parameter of {where} must have shape (height, width). "
            f"Got shape {mask.shape} instead."
        )
    if shape is not None and tuple(mask.shape) != tuple(shape[:2]):
        raise ParameterError(
            f"The 'mask' parameter of {where} must have the image's height and width "
            f"{tuple(shape[:2])}. Got shape {mask.shape} instead."
        )
    return mask


def mask_bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """The bounding box ``(top, left, bottom, right)`` of the nonzero pixels of a mask.

    ``bottom`` and ``right`` are exclusive, so ``mask[top:bottom, left:right]`` holds
    every nonzero pixel.

    Args:
        mask: an ``HxW`` (or ``HxWx1``) array; nonzero is foreground.

    Raises:
        ParameterError: the mask is empty (no nonzero pixel).

    Examples:
        >>> m = np.zeros((6, 8), bool); m[2:4, 3:7] = True
        >>> mask_bbox(m)
        (2, 3, 4, 7)
    """
    mask = _check_mask(mask, "mask_bbox")
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ParameterError(
            "The 'mask' parameter of mask_bbox has no foreground pixel (all zeros)."
        )
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _crop_box(
    shape: Sequence[int], mask: np.ndarray, margin: float, square: bool
) -> tuple[int, int, int, int]:
    top, left, bottom, right = mask_bbox(mask)
    height, width = bottom - top, right - left
    cy, cx = (top + bottom) / 2.0, (left + right) / 2.0
    height, width = height * (1.0 + 2.0 * margin), width * (1.0 + 2.0 * margin)
    if square:
        height = width = max(height, width)
    top = max(0, math.floor(cy - height / 2.0))
    left = max(0, math.floor(cx - width / 2.0))
    bottom = min(int(shape[0]), math.ceil(cy + height / 2.0))
    right = min(int(shape[1]), math.ceil(cx + width / 2.0))
    return top, left, bottom, right


@constrained(margin=number(low=0.0), square=check_bool)
@image_function(ANY_CHANNELS, batch=False)
def crop_to_mask(
    image: np.ndarray,
    mask: np.ndarray,
    margin: float = 0.1,
    square: bool = False,
) -> np.ndarray:
    """Crop to the bounding box of a lesion mask, widened by a margin.

    Every nonzero mask pixel stays inside the crop. The box grows by ``margin`` times
    its height (width) on each side, is made square around its centre when ``square``,
    and is clipped to the image.

    Args:
        image: ``HxWxC`` (or ``HxW``) uint8 or float image, any channels.
        mask: ``HxW`` lesion mask (nonzero is lesion), the image's height and width.
        margin: the extra border as a fraction of the box size, >= 0.
        square: make the box square (before clipping to the image).

    Returns:
        The crop, same dtype and channels; its size depends on the mask.

    Raises:
        ParameterError: the mask is empty or its size differs from the image's.

    Examples:
        >>> img = np.zeros((100, 100, 3), np.uint8)
        >>> m = np.zeros((100, 100), np.uint8); m[40:60, 30:50] = 1
        >>> crop_to_mask(img, m, margin=0.5).shape
        (40, 40, 3)
    """
    mask = _check_mask(mask, "crop_to_mask", image.shape)
    top, left, bottom, right = _crop_box(image.shape, mask, margin, square)
    return image[top:bottom, left:right].copy()

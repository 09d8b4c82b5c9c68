"""Pure preprocessing functions on NumPy images.

Contract for every function here: the input is an ``HxWx3`` (or ``HxW`` where stated)
image of dtype uint8 (values 0-255) or floating point (values 0-255 or 0-1, kept as
given); the output has the same dtype, and float outputs keep the input's range. The same
input always gives the same output.
"""

from __future__ import annotations

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.validation import check_float, check_image_size, check_option

__all__ = ["check_image", "resize", "shades_of_gray"]

_RESIZE_MODES = ("stretch", "pad", "crop")


def check_image(image: object, where: str, *, channels: tuple[int, ...] = (3,)) -> np.ndarray:
    """Validate an image for transform ``where``; return it as an ndarray.

    Raises:
        ParameterError: not an array, wrong rank or channel count, unsupported dtype,
            empty, or with NaN/inf values.
    """
    if not isinstance(image, np.ndarray):
        raise ParameterError(
            f"The 'image' parameter of {where} must be a NumPy array. "
            f"Got {type(image).__name__} instead."
        )
    if image.dtype != np.uint8 and not np.issubdtype(image.dtype, np.floating):
        raise ParameterError(
            f"The 'image' parameter of {where} must have dtype uint8 or float. "
            f"Got {image.dtype} instead."
        )
    if image.ndim == 2 and 1 in channels:
        pass
    elif image.ndim != 3 or image.shape[-1] not in channels:
        raise ParameterError(
            f"The 'image' parameter of {where} must have shape (height, width, "
            f"{'|'.join(map(str, channels))}). Got shape {image.shape} instead."
        )
    if image.size == 0 or image.shape[0] == 0 or image.shape[1] == 0:
        raise ParameterError(f"The 'image' parameter of {where} is empty (shape {image.shape}).")
    if image.dtype != np.uint8 and not np.all(np.isfinite(image)):
        raise ParameterError(f"The 'image' parameter of {where} has NaN or infinite values.")
    return image


def _value_max(image: np.ndarray) -> float:
    """255 for uint8 and for float images in 0-255, 1 for float images in 0-1."""
    if image.dtype == np.uint8:
        return 255.0
    return 1.0 if float(image.max(initial=0.0)) <= 1.0 else 255.0


def _restore(out: np.ndarray, like: np.ndarray) -> np.ndarray:
    if like.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(like.dtype, copy=False)


def shades_of_gray(image: np.ndarray, p: float = 6.0) -> np.ndarray:
    """Shades of Gray colour constancy (Finlayson and Trezzi, 2004).

    Estimates the illuminant of each channel as the Minkowski ``p``-norm mean of its
    values and rescales the channels so the illuminant becomes neutral gray. ``p=1`` is
    Gray World; large ``p`` approaches max-RGB. ``p=6`` is the usual choice for dermoscopy
    (ISIC 2019 winning entries).

    Args:
        image: ``HxWx3`` uint8 or float image.
        p: the Minkowski norm, >= 1.

    Returns:
        The colour-corrected image, same shape and dtype.

    Example:
        >>> tinted = np.dstack([np.full((4, 4), v, np.uint8) for v in (200, 100, 50)])
        >>> shades_of_gray(tinted)[0, 0].tolist()
        [132, 132, 132]
    """
    image = check_image(image, "shades_of_gray")
    p = check_float(p, "p", "shades_of_gray", low=1.0)
    top = _value_max(image)
    x = image.astype(np.float64)
    illuminant = np.power(np.mean(np.power(x, p), axis=(0, 1)), 1.0 / p)
    illuminant = np.where(illuminant > 0, illuminant, 1.0)
    gains = np.sqrt(np.sum(illuminant**2) / 3.0) / illuminant
    out = np.clip(x * gains, 0, top)
    return _restore(out, image)


def resize(image: np.ndarray, size: int | tuple[int, int], mode: str = "stretch") -> np.ndarray:
    """Resize to ``size`` = ``(height, width)``: stretch, pad to keep aspect, or centre crop.

    Args:
        image: ``HxWx3`` uint8 or float image.
        size: an int (square) or ``(height, width)``.
        mode: ``"stretch"``, ``"pad"`` (keep aspect, pad with black around) or ``"crop"``
            (keep aspect, centre crop).

    Returns:
        The resized image, same dtype.
    """
    import cv2

    image = check_image(image, "resize")
    h, w = check_image_size(size, "size", "resize")
    mode = check_option(mode, _RESIZE_MODES, "mode", "resize")
    src = image if image.dtype == np.uint8 else image.astype(np.float32)

    def _cv_resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
        shrink = height < img.shape[0] or width < img.shape[1]
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        return cv2.resize(img, (width, height), interpolation=interp)

    if mode == "stretch":
        out = _cv_resize(src, h, w)
    elif mode == "pad":
        scale = min(h / src.shape[0], w / src.shape[1])
        nh, nw = max(1, round(src.shape[0] * scale)), max(1, round(src.shape[1] * scale))
        inner = _cv_resize(src, nh, nw)
        out = np.zeros((h, w, src.shape[2]), dtype=src.dtype)
        top, left = (h - nh) // 2, (w - nw) // 2
        out[top : top + nh, left : left + nw] = inner
    else:
        scale = max(h / src.shape[0], w / src.shape[1])
        ch, cw = min(src.shape[0], round(h / scale)), min(src.shape[1], round(w / scale))
        top, left = (src.shape[0] - ch) // 2, (src.shape[1] - cw) // 2
        out = _cv_resize(src[top : top + ch, left : left + cw], h, w)
    return out.astype(image.dtype, copy=False)

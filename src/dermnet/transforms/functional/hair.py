"""Hair removal: the DullRazor black-hat hair mask and inpainting."""

from __future__ import annotations

import numpy as np

from dermnet._core.validation import check_bool
from dermnet.transforms._constraints import constrained, integer, number, odd, one_of
from dermnet.transforms.functional.image import (
    _gray_u8,
    _on_uint8,
    image_function,
)

__all__ = ["hair_mask", "remove_hair"]

_INPAINT_METHODS = ("telea", "ns")

#: The parameters `hair_mask` and `remove_hair` share.
_HAIR_MASK_CHECKS = {
    "kernel_size": odd(3),
    "threshold": number(0.0, 255.0),
    "smoothing": number(low=0.0),
}


@constrained(**_HAIR_MASK_CHECKS)
@image_function((1, 3))
def hair_mask(
    image: np.ndarray,
    kernel_size: int = 17,
    threshold: float = 10.0,
    smoothing: float = 1.0,
) -> np.ndarray:
    """The DullRazor hair mask: thin dark structures found by a morphological black-hat.

    The gray image is smoothed (Gaussian, ``smoothing`` pixels) so single noisy pixels do
    not count, then its black-hat (closing minus image) with a cross-shaped
    ``kernel_size`` element responds to dark structures thinner than the element (hairs,
    ruler marks) and not to dark regions larger than it (the lesion; a few pixels of a
    curved lesion rim can respond). Pixels whose response exceeds ``threshold`` (in 0-255
    gray levels) form the mask; the smoothing widens it by about a pixel on each side,
    which covers the hair's soft edge.

    Args:
        image: ``HxWx3`` (or gray ``HxW``/``HxWx1``) uint8 or float image.
        kernel_size: the size of the structuring element in pixels, odd, >= 3; it must be
            wider than the hairs (17 suits 600x450 dermoscopy, about 7 suits 224x224).
        threshold: the black-hat response (0-255 gray levels) above which a pixel is hair.
        smoothing: the sigma of the Gaussian applied first, in pixels (0: none).

    Returns:
        A boolean ``HxW`` mask, True on hair.

    Examples:
        >>> skin = np.full((32, 32, 3), 200, np.uint8)
        >>> skin[15:17, :] = 40  # a dark line, 2 pixels thick
        >>> mask = hair_mask(skin, kernel_size=7)
        >>> bool(mask[15:17].all()), bool(mask[:12].any())
        (True, False)
    """
    import cv2

    gray = _gray_u8(image)
    if smoothing > 0:
        gray = cv2.GaussianBlur(gray, (0, 0), sigmaX=smoothing, sigmaY=smoothing)
    element = cv2.getStructuringElement(cv2.MORPH_CROSS, (kernel_size, kernel_size))
    blackhat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, element)
    return blackhat > threshold


@constrained(
    **_HAIR_MASK_CHECKS,
    radius=integer(low=1),
    method=one_of(_INPAINT_METHODS),
    return_mask=check_bool,
)
@image_function((1, 3))
def remove_hair(
    image: np.ndarray,
    kernel_size: int = 17,
    threshold: float = 10.0,
    radius: int = 3,
    method: str = "telea",
    smoothing: float = 1.0,
    return_mask: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """DullRazor-style hair removal (Lee et al., 1997): black-hat mask, then inpainting.

    Finds hairs with `hair_mask` and fills them by inpainting from the surrounding
    skin (Telea's fast marching method or Navier-Stokes). Pixels outside the mask are
    returned unchanged (for float input too: only the hair pixels are rounded to 8 bits).

    Args:
        image: ``HxWx3`` (or gray) uint8 or float image (or a batch).
        kernel_size: see `hair_mask`.
        threshold: see `hair_mask`.
        radius: the inpainting neighbourhood in pixels, >= 1.
        method: ``"telea"`` or ``"ns"`` (Navier-Stokes).
        smoothing: see `hair_mask`.
        return_mask: also return the boolean hair mask.

    Returns:
        The image without hair (same shape and dtype), or ``(image, mask)``.

    Examples:
        >>> skin = np.full((32, 32, 3), 200, np.uint8)
        >>> skin[15:17, :] = 40
        >>> clean, mask = remove_hair(skin, kernel_size=7, return_mask=True)
        >>> int(np.abs(clean.astype(int) - 200).max()) <= 3, int(mask.sum())  # the line is gone
        (True, 128)
    """
    import cv2

    mask = hair_mask(image, kernel_size, threshold, smoothing)
    if not mask.any():
        out = image.copy()
    else:
        flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
        holes = mask.astype(np.uint8)
        painted = _on_uint8(image, lambda u8: cv2.inpaint(u8, holes, float(radius), flag))
        out = image.copy()
        out[mask] = painted[mask]
    return (out, mask) if return_mask else out

"""Smoothing, denoising and sharpening filters."""

from __future__ import annotations

import numpy as np

from dermnet.transforms._constraints import constrained, integer, number, odd
from dermnet.transforms.functional.image import (
    _as_float32,
    _on_uint8,
    _plane,
    _restore,
    _u8_or_float32,
    _value_max,
    image_function,
)

__all__ = [
    "bilateral_filter",
    "denoise_nl_means",
    "gaussian_blur",
    "median_blur",
    "unsharp_mask",
]


@constrained(sigma=number(low=0.0, low_open=True), kernel_size=odd(1, or_zero=True))
@image_function((1, 3))
def gaussian_blur(image: np.ndarray, sigma: float = 1.0, kernel_size: int = 0) -> np.ndarray:
    """Gaussian blur.

    Args:
        image: ``HxWx3`` (or gray) uint8 or float image (or a batch).
        sigma: the standard deviation in pixels, > 0.
        kernel_size: odd kernel size, or 0 to derive it from ``sigma`` (OpenCV's rule).

    Returns:
        The blurred image, same shape and dtype.

    Examples:
        >>> dot = np.zeros((15, 15), np.float32); dot[7, 7] = 1.0
        >>> round(float(gaussian_blur(dot, sigma=1.0).sum()), 4)
        1.0
    """
    import cv2

    size = (kernel_size, kernel_size)
    out = cv2.GaussianBlur(_u8_or_float32(image), size, sigmaX=sigma, sigmaY=sigma)
    return _restore(out, image)


@constrained(kernel_size=odd(3))
@image_function((1, 3))
def median_blur(image: np.ndarray, kernel_size: int = 3) -> np.ndarray:
    """Median filter: removes salt-and-pepper noise and thin artefacts, keeps edges.

    Args:
        image: ``HxWx3`` (or gray) uint8 or float image (or a batch); float input with a
            kernel above 5 is computed at 8 bits (an OpenCV limit).
        kernel_size: odd aperture size, >= 3.

    Returns:
        The filtered image, same shape and dtype.

    Examples:
        >>> noisy = np.full((5, 5), 100, np.uint8); noisy[2, 2] = 255
        >>> int(median_blur(noisy)[2, 2])
        100
    """
    import cv2

    if image.dtype == np.uint8 or kernel_size > 5:
        return _on_uint8(image, lambda u8: cv2.medianBlur(u8, kernel_size))
    return _restore(cv2.medianBlur(_as_float32(image), kernel_size), image)


@constrained(
    diameter=integer(low=1),
    sigma_color=number(low=0.0, low_open=True),
    sigma_space=number(low=0.0, low_open=True),
)
@image_function((1, 3))
def bilateral_filter(
    image: np.ndarray,
    diameter: int = 9,
    sigma_color: float = 75.0,
    sigma_space: float = 75.0,
) -> np.ndarray:
    """Edge-preserving bilateral filter.

    Args:
        image: ``HxWx3`` (or gray) uint8 or float image (or a batch).
        diameter: the pixel neighbourhood diameter, >= 1.
        sigma_color: the range sigma in 0-255 gray levels (scaled for [0, 1] floats), > 0.
        sigma_space: the spatial sigma in pixels, > 0.

    Returns:
        The filtered image, same shape and dtype.

    Examples:
        >>> step = np.zeros((8, 8), np.uint8); step[:, 4:] = 200
        >>> out = bilateral_filter(step, diameter=5, sigma_color=20)
        >>> int(out[0, 3]), int(out[0, 4])  # the edge stays sharp
        (0, 200)
    """
    import cv2

    src = _plane(_u8_or_float32(image))
    out = cv2.bilateralFilter(src, diameter, sigma_color * _value_max(image) / 255.0, sigma_space)
    return _restore(out, image)


@constrained(
    strength=number(low=0.0, low_open=True),
    template_window_size=odd(3),
    search_window_size=odd(3),
)
@image_function((1, 3))
def denoise_nl_means(
    image: np.ndarray,
    strength: float = 10.0,
    template_window_size: int = 7,
    search_window_size: int = 21,
) -> np.ndarray:
    """Non-local means denoising (Buades et al., 2005; OpenCV's fast variant).

    Args:
        image: ``HxWx3`` (or gray) uint8 or float image (or a batch); computed at 8 bits.
        strength: the filter strength ``h`` (for luminance and colour) in gray levels;
            higher removes more noise and more detail, > 0.
        template_window_size: the patch size, odd, >= 3.
        search_window_size: the search area size, odd, >= 3.

    Returns:
        The denoised image, same shape and dtype.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> noisy = np.clip(128 + rng.normal(0, 20, (32, 32)), 0, 255).astype(np.uint8)
        >>> float(denoise_nl_means(noisy, strength=20).std()) < float(noisy.std())
        True
    """
    import cv2

    h, template, search = strength, template_window_size, search_window_size
    return _on_uint8(
        image,
        lambda rgb: cv2.fastNlMeansDenoisingColored(rgb, None, h, h, template, search),
        lambda gray: cv2.fastNlMeansDenoising(gray, None, h, template, search),
    )


@constrained(
    sigma=number(low=0.0, low_open=True), amount=number(low=0.0), threshold=number(0.0, 255.0)
)
@image_function((1, 3))
def unsharp_mask(
    image: np.ndarray, sigma: float = 1.0, amount: float = 1.0, threshold: float = 0.0
) -> np.ndarray:
    """Unsharp masking: add back ``amount`` times the detail removed by a Gaussian blur.

    ``out = image + amount * (image - blur(image))`` where ``|image - blur| > threshold``.

    Args:
        image: ``HxWx3`` (or gray) uint8 or float image (or a batch).
        sigma: the blur sigma in pixels, > 0.
        amount: the sharpening strength, >= 0 (0 returns the image).
        threshold: the smallest detail (0-255 gray levels) that is sharpened, >= 0.

    Returns:
        The sharpened image, same shape and dtype, clipped to the range.

    Examples:
        >>> step = np.zeros((1, 8), np.float32); step[:, 4:] = 0.5
        >>> out = unsharp_mask(step, sigma=1.0, amount=1.0)
        >>> bool(out[0, 4] > 0.5 and out[0, 3] < 0.01)
        True
    """
    import cv2

    top = _value_max(image)
    x = _plane(_as_float32(image))
    detail = x - cv2.GaussianBlur(x, (0, 0), sigmaX=sigma, sigmaY=sigma)
    if threshold > 0:
        detail = np.where(np.abs(detail) > threshold * top / 255.0, detail, 0.0)
    return _restore(np.clip(x + amount * detail, 0.0, top), image)

"""Pure preprocessing functions on NumPy images.

The contract every function here keeps (the per-function docstrings say where it differs):

- **Input**: one image of shape ``HxWx3`` (``HxW`` or ``HxWx1`` too where a function says
  it takes gray images), or a batch ``NxHxWxC`` for the functions that keep the size.
- **dtype and range**: uint8 (values 0-255) or floating point with values in [0, 1] or in
  [0, 255]. A float image whose maximum is at most 1 is taken as [0, 1]. The output has
  the input's dtype and value range (results are clipped to it).
- **Shape**: the output keeps the input's rank; functions that change the channel count
  (`convert_color` to gray, `enhance_edges` with ``mode="channel"``) say so.
- **Determinism**: the same input and parameters always give the same output.
- **Precision**: OpenCV operations that only exist for 8-bit images (CLAHE, histogram
  equalisation, non-local means, inpainting, Canny, median blur with a kernel above 5)
  run on float input rounded to 8 bits, then return floats in the input's range.

Bad input raises `ParameterError` naming the function and
the parameter.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.validation import check_bool, check_image_size, fail
from dermnet.transforms._constraints import (
    constrained,
    integer,
    number,
    odd,
    one_of,
    triple,
)

__all__ = [
    "COLOR_SPACES",
    "bilateral_filter",
    "center_crop",
    "check_image",
    "clahe",
    "convert_color",
    "crop_to_mask",
    "denoise_nl_means",
    "edge_map",
    "enhance_edges",
    "equalize_histogram",
    "gaussian_blur",
    "gray_world",
    "hair_mask",
    "mask_bbox",
    "max_rgb",
    "median_blur",
    "reinhard_normalize",
    "reinhard_stats",
    "remove_hair",
    "resize",
    "shades_of_gray",
    "unsharp_mask",
]

_RESIZE_MODES = ("stretch", "pad", "crop")
_INTERPOLATIONS = ("auto", "nearest", "linear", "cubic", "area")
#: The colour spaces `convert_color` converts RGB images to.
COLOR_SPACES = ("gray", "hls", "hsv", "lab", "ycrcb")
_EDGE_METHODS = ("sobel", "laplacian", "canny")
_EDGE_MODES = ("channel", "blend")
_INPAINT_METHODS = ("telea", "ns")
_ANY_CHANNELS = (1, 2, 3, 4)

F = TypeVar("F", bound=Callable[..., Any])


# -- validation and dtype helpers ------------------------------------------------------------
def check_image(
    image: object,
    where: str,
    *,
    channels: tuple[int, ...] = (3,),
    batch: bool = False,
) -> np.ndarray:
    """Validate an image for transform ``where``; return it as an ndarray.

    Args:
        image: the image to check.
        where: the function or transform, named in messages.
        channels: the allowed channel counts; when 1 is allowed, ``HxW`` is accepted too.
        batch: also accept a batch ``NxHxWxC``.

    Raises:
        ParameterError: not an array, wrong rank or channel count, unsupported dtype,
            empty, NaN/inf values, or float values outside [0, 255].

    Examples:
        >>> check_image(np.zeros((2, 2), np.uint8), "clahe")
        Traceback (most recent call last):
        ...
        dermnet._core.errors.ParameterError: The 'image' parameter of clahe must have shape (height, width, 3). Got shape (2, 2) instead.
    """  # noqa: E501
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
    ok_rank = image.ndim == 3 or (batch and image.ndim == 4)
    if image.ndim == 2 and 1 in channels:
        pass
    elif not ok_rank or image.shape[-1] not in channels:
        shape = f"(height, width, {'|'.join(map(str, channels))})"
        if batch:
            shape += " or (batch, height, width, channels)"
        raise ParameterError(
            f"The 'image' parameter of {where} must have shape {shape}. "
            f"Got shape {image.shape} instead."
        )
    if image.size == 0:
        raise ParameterError(f"The 'image' parameter of {where} is empty (shape {image.shape}).")
    if image.dtype != np.uint8:
        if not np.all(np.isfinite(image)):
            raise ParameterError(f"The 'image' parameter of {where} has NaN or infinite values.")
        low, high = float(image.min()), float(image.max())
        if low < 0.0 or high > 255.0:
            raise ParameterError(
                f"The 'image' parameter of {where} must have float values in [0, 1] or "
                f"[0, 255]. Got values in [{low:g}, {high:g}] instead."
            )
    return image


def _value_max(image: np.ndarray) -> float:
    """255 for uint8 and for float images in 0-255, 1 for float images in 0-1."""
    if image.dtype == np.uint8:
        return 255.0
    return 1.0 if float(image.max(initial=0.0)) <= 1.0 else 255.0


def _restore(out: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Cast ``out`` (float, in ``like``'s range) back to ``like``'s dtype and rank."""
    if out.ndim == 2 and like.ndim == 3:
        out = out[..., None]
    if like.dtype == np.uint8:
        if out.dtype == np.uint8:
            return out
        # float32 at least: np.rint of a small integer dtype would give slow float16
        return np.clip(np.rint(out.astype(np.float32, copy=False)), 0, 255).astype(np.uint8)
    return out.astype(like.dtype, copy=False)


def _to_uint8(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The image as uint8 (float input rounded to 8 bits) and its value maximum."""
    top = _value_max(image)
    if image.dtype == np.uint8:
        return image, top
    return np.clip(np.rint(image * (255.0 / top)), 0, 255).astype(np.uint8), top


def _from_uint8(out: np.ndarray, like: np.ndarray, top: float) -> np.ndarray:
    """Undo `_to_uint8`: back to ``like``'s dtype, range and rank."""
    if out.ndim == 2 and like.ndim == 3:
        out = out[..., None]
    if like.dtype == np.uint8:
        return out
    return (out.astype(np.float32) * (top / 255.0)).astype(like.dtype, copy=False)


def _as_float32(image: np.ndarray) -> np.ndarray:
    return image if image.dtype == np.float32 else image.astype(np.float32)


def _gray_u8(image: np.ndarray) -> np.ndarray:
    """An 8-bit gray version of an RGB or gray image (``HxW``)."""
    import cv2

    u8, _ = _to_uint8(image)
    if u8.ndim == 3 and u8.shape[2] == 3:
        return cv2.cvtColor(u8, cv2.COLOR_RGB2GRAY)
    return u8.reshape(u8.shape[0], u8.shape[1])


def _batchable(fn: F) -> F:
    """Let a per-image function also take a batch ``NxHxWxC`` (applied image by image)."""

    @functools.wraps(fn)
    def wrapper(image: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(image, np.ndarray) and image.ndim == 4:
            if image.shape[0] == 0:
                raise ParameterError(
                    f"The 'image' parameter of {fn.__name__} is an empty batch "
                    f"(shape {image.shape})."
                )
            results = [fn(img, *args, **kwargs) for img in image]
            if isinstance(results[0], tuple):
                return tuple(np.stack(parts) for parts in zip(*results, strict=True))
            return np.stack(results)
        return fn(image, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


# -- colour constancy ------------------------------------------------------------------------
@constrained(p=number(low=1.0))
@_batchable
def shades_of_gray(image: np.ndarray, p: float = 6.0) -> np.ndarray:
    """Shades of Gray colour constancy (Finlayson and Trezzi, 2004).

    Estimates the illuminant of each channel as the Minkowski ``p``-norm mean of its
    values and rescales the channels so the illuminant becomes neutral gray. ``p=1`` is
    Gray World; large ``p`` approaches max-RGB. ``p=6`` is the usual choice for dermoscopy
    (ISIC 2019 winning entries).

    Args:
        image: ``HxWx3`` uint8 or float image (or a batch).
        p: the Minkowski norm, >= 1.

    Returns:
        The colour-corrected image, same shape and dtype; values are clipped to the range.

    Examples:
        >>> tinted = np.dstack([np.full((4, 4), v, np.uint8) for v in (200, 100, 50)])
        >>> shades_of_gray(tinted)[0, 0].tolist()
        [132, 132, 132]
    """
    image = check_image(image, "shades_of_gray")
    if image.dtype == np.uint8:  # exact and fast: per-channel histograms
        counts = _channel_histograms(image)
        values = np.power(np.arange(256, dtype=np.float64), p)
        illuminant = np.power(counts @ values / counts.sum(axis=1), 1.0 / p)
        return _apply_illuminant(image, illuminant)
    x = image.astype(np.float64)
    illuminant = np.power(np.mean(np.power(x, p), axis=(0, 1)), 1.0 / p)
    return _apply_illuminant(image, illuminant)


def _channel_histograms(image: np.ndarray) -> np.ndarray:
    """``3x256`` value counts of a uint8 ``HxWx3`` image."""
    import cv2

    channels = cv2.split(np.ascontiguousarray(image))
    counts = [cv2.calcHist([c], [0], None, [256], [0, 256]).ravel() for c in channels]
    return np.stack(counts).astype(np.float64)


def _apply_illuminant(image: np.ndarray, illuminant: np.ndarray) -> np.ndarray:
    """Scale each channel so that ``illuminant`` becomes neutral gray (same norm)."""
    illuminant = np.where(illuminant > 0, illuminant, 1.0)
    gains = np.sqrt(np.sum(illuminant**2) / 3.0) / illuminant
    if image.dtype == np.uint8:  # one lookup table per channel
        import cv2

        ramp = np.arange(256, dtype=np.float64)
        luts = np.clip(np.rint(ramp[:, None] * gains[None, :]), 0, 255).astype(np.uint8)
        return cv2.LUT(np.ascontiguousarray(image), luts.reshape(256, 1, 3))
    out = np.clip(image.astype(np.float64) * gains, 0, _value_max(image))
    return _restore(out, image)


@_batchable
def gray_world(image: np.ndarray) -> np.ndarray:
    """Gray World colour constancy: scale the channels to equal means (Buchsbaum, 1980).

    The same as `shades_of_gray` with ``p=1``.

    Args:
        image: ``HxWx3`` uint8 or float image (or a batch).

    Returns:
        The colour-corrected image, same shape and dtype.

    Examples:
        >>> tinted = np.dstack([np.full((2, 2), v, np.uint8) for v in (120, 60, 30)])
        >>> gray_world(tinted)[0, 0].tolist()
        [79, 79, 79]
    """
    image = check_image(image, "gray_world")
    if image.dtype == np.uint8:
        counts = _channel_histograms(image)
        return _apply_illuminant(image, counts @ np.arange(256.0) / counts.sum(axis=1))
    return _apply_illuminant(image, image.astype(np.float64).mean(axis=(0, 1)))


@constrained(percentile=number(0.0, 100.0))
@_batchable
def max_rgb(image: np.ndarray, percentile: float = 100.0) -> np.ndarray:
    """Max-RGB (white patch) colour constancy: the brightest value of each channel is white.

    Args:
        image: ``HxWx3`` uint8 or float image (or a batch).
        percentile: the illuminant of a channel is this percentile of its values; 100 is
            the maximum, a value such as 99 ignores a few saturated pixels.

    Returns:
        The colour-corrected image, same shape and dtype.

    Examples:
        >>> tinted = np.dstack([np.full((2, 2), v, np.uint8) for v in (200, 100, 50)])
        >>> max_rgb(tinted)[0, 0].tolist()
        [132, 132, 132]
    """
    image = check_image(image, "max_rgb")
    if percentile == 100.0:
        import cv2

        source = image if image.dtype == np.uint8 else _as_float32(image)
        channels = cv2.split(np.ascontiguousarray(source))
        illuminant = np.array([cv2.minMaxLoc(c)[1] for c in channels], np.float64)
    elif image.dtype == np.uint8:  # the percentile from the histogram (inverted_cdf rule)
        cumulative = np.cumsum(_channel_histograms(image), axis=1)
        rank = np.ceil(percentile / 100.0 * cumulative[:, -1:])
        illuminant = np.argmax(cumulative >= np.maximum(rank, 1), axis=1).astype(np.float64)
    else:
        x = image.reshape(-1, 3).astype(np.float64)
        illuminant = np.percentile(x, percentile, axis=0, method="inverted_cdf")
    return _apply_illuminant(image, illuminant)


# -- hair removal ----------------------------------------------------------------------------
#: The parameters `hair_mask` and `remove_hair` share.
_HAIR_MASK_CHECKS = {
    "kernel_size": odd(3),
    "threshold": number(0.0, 255.0),
    "smoothing": number(low=0.0),
}


@constrained(**_HAIR_MASK_CHECKS)
@_batchable
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

    image = check_image(image, "hair_mask", channels=(1, 3))
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
@_batchable
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

    image = check_image(image, "remove_hair", channels=(1, 3))
    mask = hair_mask(image, kernel_size, threshold, smoothing)
    if not mask.any():
        out = image.copy()
    else:
        u8, top = _to_uint8(image)
        flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
        painted = cv2.inpaint(u8, mask.astype(np.uint8), float(radius), flag)
        painted = _from_uint8(painted.reshape(u8.shape), image, top)
        out = image.copy()
        out[mask] = painted[mask]
    return (out, mask) if return_mask else out


# -- contrast --------------------------------------------------------------------------------
@constrained(clip_limit=number(low=0.0, low_open=True), tile_grid_size=integer(low=1))
@_batchable
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

    image = check_image(image, "clahe", channels=(1, 3))
    u8, top = _to_uint8(image)
    tiles = (tile_grid_size, tile_grid_size)
    equaliser = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=tiles)
    if u8.ndim == 3 and u8.shape[2] == 3:
        lab = cv2.cvtColor(u8, cv2.COLOR_RGB2LAB)
        lab[..., 0] = equaliser.apply(np.ascontiguousarray(lab[..., 0]))
        out = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    else:
        out = equaliser.apply(u8.reshape(u8.shape[:2]))
    return _from_uint8(out, image, top)


@_batchable
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

    image = check_image(image, "equalize_histogram", channels=(1, 3))
    u8, top = _to_uint8(image)
    if u8.ndim == 3 and u8.shape[2] == 3:
        ycc = cv2.cvtColor(u8, cv2.COLOR_RGB2YCrCb)
        ycc[..., 0] = cv2.equalizeHist(np.ascontiguousarray(ycc[..., 0]))
        out = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
    else:
        out = cv2.equalizeHist(u8.reshape(u8.shape[:2]))
    return _from_uint8(out, image, top)


# -- smoothing, denoising, sharpening --------------------------------------------------------
@constrained(sigma=number(low=0.0, low_open=True), kernel_size=odd(1, or_zero=True))
@_batchable
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

    image = check_image(image, "gaussian_blur", channels=(1, 3))
    src = image if image.dtype == np.uint8 else _as_float32(image)
    out = cv2.GaussianBlur(src, (kernel_size, kernel_size), sigmaX=sigma, sigmaY=sigma)
    return _restore(out, image)


@constrained(kernel_size=odd(3))
@_batchable
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

    image = check_image(image, "median_blur", channels=(1, 3))
    if image.dtype == np.uint8 or kernel_size > 5:
        u8, top = _to_uint8(image)
        return _from_uint8(cv2.medianBlur(u8, kernel_size), image, top)
    return _restore(cv2.medianBlur(_as_float32(image), kernel_size), image)


@constrained(
    diameter=integer(low=1),
    sigma_color=number(low=0.0, low_open=True),
    sigma_space=number(low=0.0, low_open=True),
)
@_batchable
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

    image = check_image(image, "bilateral_filter", channels=(1, 3))
    top = _value_max(image)
    src = image if image.dtype == np.uint8 else _as_float32(image)
    if src.ndim == 3 and src.shape[2] == 1:
        src = src[..., 0]
    out = cv2.bilateralFilter(src, diameter, sigma_color * top / 255.0, sigma_space)
    return _restore(out, image)


@constrained(
    strength=number(low=0.0, low_open=True),
    template_window_size=odd(3),
    search_window_size=odd(3),
)
@_batchable
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

    image = check_image(image, "denoise_nl_means", channels=(1, 3))
    template, search = template_window_size, search_window_size
    u8, top = _to_uint8(image)
    if u8.ndim == 3 and u8.shape[2] == 3:
        out = cv2.fastNlMeansDenoisingColored(u8, None, strength, strength, template, search)
    else:
        out = cv2.fastNlMeansDenoising(u8.reshape(u8.shape[:2]), None, strength, template, search)
    return _from_uint8(out, image, top)


@constrained(
    sigma=number(low=0.0, low_open=True), amount=number(low=0.0), threshold=number(0.0, 255.0)
)
@_batchable
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

    image = check_image(image, "unsharp_mask", channels=(1, 3))
    top = _value_max(image)
    x = _as_float32(image)
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[..., 0]
    detail = x - cv2.GaussianBlur(x, (0, 0), sigmaX=sigma, sigmaY=sigma)
    if threshold > 0:
        detail = np.where(np.abs(detail) > threshold * top / 255.0, detail, 0.0)
    return _restore(np.clip(x + amount * detail, 0.0, top), image)


# -- edges -----------------------------------------------------------------------------------
def _thresholds_in_order(params: dict[str, Any], where: str) -> None:
    low, high = params["low_threshold"], params["high_threshold"]
    if high < low:
        raise fail("high_threshold", where, f">= low_threshold ({low:g})", high)


#: The parameters `edge_map` and `enhance_edges` share.
_EDGE_CHECKS = {
    "method": one_of(_EDGE_METHODS),
    "low_threshold": number(low=0.0),
    "high_threshold": number(low=0.0),
}


@constrained(**_EDGE_CHECKS, rule=_thresholds_in_order)
@_batchable
def edge_map(
    image: np.ndarray,
    method: str = "sobel",
    low_threshold: float = 50.0,
    high_threshold: float = 150.0,
) -> np.ndarray:
    """An edge-strength map of the gray image, in the image's dtype and range.

    - ``"sobel"``: the gradient magnitude of 3x3 Sobel filters divided by 4, so a step of
      height ``h`` gives about ``h`` (clipped to the range).
    - ``"laplacian"``: the absolute 3x3 Laplacian (a step of height ``h`` gives ``h``).
    - ``"canny"``: Canny's binary edges (0 or the range maximum), computed at 8 bits with
      hysteresis thresholds in 0-255 gray levels.

    Args:
        image: ``HxWx3`` (or gray) uint8 or float image (or a batch).
        method: ``"sobel"``, ``"laplacian"`` or ``"canny"``.
        low_threshold: Canny's lower hysteresis threshold, >= 0.
        high_threshold: Canny's upper hysteresis threshold, >= ``low_threshold``.

    Returns:
        The edge map, shape ``HxW`` (``HxWx1`` for 3-d input), dtype and range of the input.

    Examples:
        >>> step = np.zeros((6, 6), np.uint8); step[:, 3:] = 200
        >>> edge_map(step, "sobel")[2].tolist()
        [0, 0, 200, 200, 0, 0]
    """
    import cv2

    image = check_image(image, "edge_map", channels=(1, 3))
    top = _value_max(image)
    if method == "canny":
        edges = cv2.Canny(_gray_u8(image), low_threshold, high_threshold)
        edges = edges.astype(np.float32) * (top / 255.0)
    else:
        x = _as_float32(image)
        if x.ndim == 3 and x.shape[2] == 3:
            gray = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)
        else:
            gray = x.reshape(x.shape[:2])
        if method == "sobel":
            dx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
            dy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)
            edges = np.sqrt(dx * dx + dy * dy) / 4.0
        else:
            lap = cv2.Laplacian(gray, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT)
            edges = np.abs(lap)
        edges = np.clip(edges, 0.0, top)
    like = image if image.ndim == 2 else image[..., :1]
    return _restore(edges, like)


@constrained(
    **_EDGE_CHECKS,
    mode=one_of(_EDGE_MODES),
    alpha=number(0.0, 1.0),
    rule=_thresholds_in_order,
)
@_batchable
def enhance_edges(
    image: np.ndarray,
    method: str = "sobel",
    mode: str = "channel",
    alpha: float = 0.5,
    low_threshold: float = 50.0,
    high_threshold: float = 150.0,
) -> np.ndarray:
    """Add an edge map (`edge_map`) to an image, as an extra channel or blended in.

    Args:
        image: ``HxWx3`` (or gray) uint8 or float image (or a batch).
        method: ``"sobel"``, ``"laplacian"`` or ``"canny"``.
        mode: ``"channel"`` appends the edge map as a last channel (``HxWx3`` becomes
            ``HxWx4``, gray ``HxW`` becomes ``HxWx2``); ``"blend"`` returns
            ``(1 - alpha) * image + alpha * edges`` with the input's shape.
        alpha: the edge weight of ``"blend"``, in [0, 1].
        low_threshold: see `edge_map`.
        high_threshold: see `edge_map`.

    Returns:
        The image with edges, dtype and range of the input.

    Examples:
        >>> enhance_edges(np.zeros((8, 8, 3), np.uint8)).shape
        (8, 8, 4)
    """
    image = check_image(image, "enhance_edges", channels=(1, 3))
    edges = edge_map(image, method, low_threshold, high_threshold)
    if edges.ndim == 2:
        edges = edges[..., None]
    base = image if image.ndim == 3 else image[..., None]
    if mode == "channel":
        return np.concatenate([base, edges], axis=2)
    blended = (1.0 - alpha) * base.astype(np.float32) + alpha * edges.astype(np.float32)
    return _restore(blended.reshape(image.shape), image)


# -- colour spaces ---------------------------------------------------------------------------
def _color_channels(params: dict[str, Any], where: str) -> None:
    """``channels`` of `convert_color`: 1 or 3 for gray (default 1), else 3 (None: 3)."""
    space, channels = params["space"], params["channels"]
    if space == "gray":
        channels = 1 if channels is None else channels
        if isinstance(channels, bool) or channels not in (1, 3):
            raise fail("channels", where, "1 or 3 for space='gray'", channels)
    elif isinstance(channels, bool) or channels not in (None, 3):
        raise fail("channels", where, f"3 (or None) for space={space!r}", channels)
    params["channels"] = 3 if channels is None else int(channels)


@constrained(space=one_of(COLOR_SPACES), rule=_color_channels)
@_batchable
def convert_color(image: np.ndarray, space: str, channels: int | None = None) -> np.ndarray:
    """Convert an RGB image to HSV, HLS, CIELAB, YCrCb or gray.

    uint8 images use OpenCV's 8-bit encodings exactly (the values of
    ``cv2.cvtColor(image, cv2.COLOR_RGB2<SPACE>)``): H in 0-179 for HSV and HLS; L
    scaled to 0-255 and a, b offset by 128 for CIELAB. Float images keep their range
    (1 or 255) on every channel: H is the hue angle / 360, CIELAB's L is L / 100 and a, b
    are (a + 128) / 255, all multiplied by the range.

    Args:
        image: ``HxWx3`` RGB uint8 or float image (or a batch).
        space: ``"hsv"``, ``"hls"``, ``"lab"``, ``"ycrcb"`` or ``"gray"``.
        channels: for ``"gray"``, 1 (``HxWx1``) or 3 (the gray value repeated, for models
            that expect three channels); default 1. The other spaces have 3.

    Returns:
        The converted image, same dtype, ``HxWx3`` (or ``HxWx1`` for one gray channel).

    Examples:
        >>> red = np.zeros((1, 1, 3), np.uint8); red[..., 0] = 255
        >>> convert_color(red, "hsv")[0, 0].tolist(), convert_color(red, "gray").shape
        ([0, 255, 255], (1, 1, 1))
    """
    import cv2

    image = check_image(image, "convert_color")
    codes = {
        "gray": cv2.COLOR_RGB2GRAY,
        "hls": cv2.COLOR_RGB2HLS,
        "hsv": cv2.COLOR_RGB2HSV,
        "lab": cv2.COLOR_RGB2LAB,
        "ycrcb": cv2.COLOR_RGB2YCrCb,
    }
    if image.dtype == np.uint8:
        out = cv2.cvtColor(image, codes[space])
    else:
        top = _value_max(image)
        x = _as_float32(image) / np.float32(top)
        out = cv2.cvtColor(x, codes[space])
        if space in ("hsv", "hls"):
            out[..., 0] /= 360.0
        elif space == "lab":
            out[..., 0] /= 100.0
            out[..., 1:] = (out[..., 1:] + 128.0) / 255.0
        out = np.clip(out, 0.0, 1.0) * np.float32(top)
        out = out.astype(image.dtype)
    if space == "gray":
        out = out[..., None]
        if channels == 3:
            out = np.repeat(out, 3, axis=2)
    return out


# -- geometry --------------------------------------------------------------------------------
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
@_batchable
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
    image = check_image(image, "resize", channels=_ANY_CHANNELS)
    h, w = size  # type: ignore[misc]
    src = image if image.dtype == np.uint8 else _as_float32(image)
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
@_batchable
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
    image = check_image(image, "center_crop", channels=_ANY_CHANNELS)
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
    where = "crop_to_mask"
    image = check_image(image, where, channels=_ANY_CHANNELS)
    mask = _check_mask(mask, where, image.shape)
    top, left, bottom, right = _crop_box(image.shape, mask, margin, square)
    return image[top:bottom, left:right].copy()


# -- microscopy: Reinhard colour normalisation -----------------------------------------------
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
    image = check_image(image, "reinhard_stats")
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
@_batchable
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

    where = "reinhard_normalize"
    image = check_image(image, where)
    keep = _foreground(image, background_threshold)
    if keep is not None and not keep.any():
        return image.copy()
    lab = _lab_float(image)
    mean, std = _lab_stats(lab, keep, where)
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

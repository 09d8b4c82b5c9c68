"""The preprocessing transforms: registered, serializable classes around the functions.

Each class names the function of `dermnet.transforms.functional` it calls (whose
docstring states the dtype, range and shape contract) and only stores its constructor
arguments under their own names. `Transform` checks them against the constraints the
function declares when the class is constructed (a bad value raises `ParameterError`
naming the class and the parameter) and derives ``get_config`` from the signature.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet.transforms import functional as F
from dermnet.transforms.base import Shape, Transform, _hwc, register_transform
from dermnet.transforms.functional.geometry import _check_mask, _crop_box

__all__ = [
    "CLAHE",
    "BilateralFilter",
    "CenterCrop",
    "ConvertColor",
    "CropToMask",
    "DenoiseNLMeans",
    "EnhanceEdges",
    "EqualizeHistogram",
    "GaussianBlur",
    "GrayWorld",
    "MaxRGB",
    "MedianBlur",
    "ReinhardNormalize",
    "RemoveHair",
    "Resize",
    "ShadesOfGray",
    "UnsharpMask",
]

_GRAY_OR_RGB = (1, 3)
_ANY = (1, 2, 3, 4)


def _mask_u8(mask: np.ndarray) -> np.ndarray:
    return mask.astype(np.uint8) if mask.dtype == bool else mask


# -- colour constancy ------------------------------------------------------------------------
@register_transform("shades_of_gray")
class ShadesOfGray(Transform):
    """Shades of Gray colour constancy; see `dermnet.transforms.functional.shades_of_gray`.

    Args:
        p: the Minkowski norm (default 6), >= 1.

    Examples:
        >>> ShadesOfGray(p=0.5)
        Traceback (most recent call last):
        ...
        dermnet._core.errors.ParameterError: The 'p' parameter of ShadesOfGray must be a finite number >= 1.0. Got 0.5 instead.
    """  # noqa: E501

    function = staticmethod(F.shades_of_gray)

    def __init__(self, p: float = 6.0) -> None:
        self._store(locals())


@register_transform("gray_world")
class GrayWorld(Transform):
    """Gray World colour constancy; see `dermnet.transforms.functional.gray_world`."""

    function = staticmethod(F.gray_world)


@register_transform("max_rgb")
class MaxRGB(Transform):
    """Max-RGB (white patch) colour constancy; see `dermnet.transforms.functional.max_rgb`.

    Args:
        percentile: the percentile taken as each channel's white, in [0, 100].
    """

    function = staticmethod(F.max_rgb)

    def __init__(self, percentile: float = 100.0) -> None:
        self._store(locals())


# -- hair removal ----------------------------------------------------------------------------
@register_transform("remove_hair")
class RemoveHair(Transform):
    """DullRazor hair removal; see `dermnet.transforms.functional.remove_hair`.

    `hair_mask` gives the mask of the pixels that would be inpainted.

    Args:
        kernel_size: black-hat structuring element size in pixels, odd, >= 3; wider than
            the hairs (17 for 600x450 images, about 7 for 224x224).
        threshold: black-hat response (0-255 gray levels) above which a pixel is hair.
        radius: inpainting radius in pixels, >= 1.
        method: ``"telea"`` or ``"ns"``.
        smoothing: sigma in pixels of the Gaussian applied before the black-hat, >= 0.
    """

    input_channels = _GRAY_OR_RGB
    function = staticmethod(F.remove_hair)

    def __init__(
        self,
        kernel_size: int = 17,
        threshold: float = 10.0,
        radius: int = 3,
        method: str = "telea",
        smoothing: float = 1.0,
    ) -> None:
        self._store(locals())

    def hair_mask(self, image: np.ndarray) -> np.ndarray:
        """The boolean ``HxW`` hair mask (``NxHxW`` for a batch) of ``image``."""
        return F.hair_mask(image, self.kernel_size, self.threshold, self.smoothing)


# -- contrast --------------------------------------------------------------------------------
@register_transform("clahe")
class CLAHE(Transform):
    """CLAHE on the lightness channel; see `dermnet.transforms.functional.clahe`.

    Args:
        clip_limit: contrast limit, > 0.
        tile_grid_size: tiles per side, >= 1.
    """

    input_channels = _GRAY_OR_RGB
    function = staticmethod(F.clahe)

    def __init__(self, clip_limit: float = 2.0, tile_grid_size: int = 8) -> None:
        self._store(locals())


@register_transform("equalize_histogram")
class EqualizeHistogram(Transform):
    """Global histogram equalisation of the luma; see
    `dermnet.transforms.functional.equalize_histogram`."""

    input_channels = _GRAY_OR_RGB
    function = staticmethod(F.equalize_histogram)


# -- smoothing, denoising, sharpening --------------------------------------------------------
@register_transform("gaussian_blur")
class GaussianBlur(Transform):
    """Gaussian blur; see `dermnet.transforms.functional.gaussian_blur`.

    Args:
        sigma: standard deviation in pixels, > 0.
        kernel_size: odd kernel size, or 0 to derive it from ``sigma``.
    """

    input_channels = _GRAY_OR_RGB
    function = staticmethod(F.gaussian_blur)

    def __init__(self, sigma: float = 1.0, kernel_size: int = 0) -> None:
        self._store(locals())


@register_transform("median_blur")
class MedianBlur(Transform):
    """Median filter; see `dermnet.transforms.functional.median_blur`.

    Args:
        kernel_size: odd aperture, >= 3.
    """

    input_channels = _GRAY_OR_RGB
    function = staticmethod(F.median_blur)

    def __init__(self, kernel_size: int = 3) -> None:
        self._store(locals())


@register_transform("bilateral_filter")
class BilateralFilter(Transform):
    """Edge-preserving bilateral filter; see
    `dermnet.transforms.functional.bilateral_filter`.

    Args:
        diameter: neighbourhood diameter in pixels, >= 1.
        sigma_color: range sigma in 0-255 gray levels, > 0.
        sigma_space: spatial sigma in pixels, > 0.
    """

    input_channels = _GRAY_OR_RGB
    function = staticmethod(F.bilateral_filter)

    def __init__(
        self, diameter: int = 9, sigma_color: float = 75.0, sigma_space: float = 75.0
    ) -> None:
        self._store(locals())


@register_transform("denoise_nl_means")
class DenoiseNLMeans(Transform):
    """Non-local means denoising; see `dermnet.transforms.functional.denoise_nl_means`.

    Args:
        strength: filter strength in gray levels, > 0.
        template_window_size: patch size, odd, >= 3.
        search_window_size: search area size, odd, >= 3.
    """

    input_channels = _GRAY_OR_RGB
    function = staticmethod(F.denoise_nl_means)

    def __init__(
        self,
        strength: float = 10.0,
        template_window_size: int = 7,
        search_window_size: int = 21,
    ) -> None:
        self._store(locals())


@register_transform("unsharp_mask")
class UnsharpMask(Transform):
    """Unsharp masking; see `dermnet.transforms.functional.unsharp_mask`.

    Args:
        sigma: blur sigma in pixels, > 0.
        amount: sharpening strength, >= 0.
        threshold: smallest detail sharpened, in 0-255 gray levels.
    """

    input_channels = _GRAY_OR_RGB
    function = staticmethod(F.unsharp_mask)

    def __init__(self, sigma: float = 1.0, amount: float = 1.0, threshold: float = 0.0) -> None:
        self._store(locals())


@register_transform("enhance_edges")
class EnhanceEdges(Transform):
    """Edges as an extra channel or blended in; see
    `dermnet.transforms.functional.enhance_edges`.

    With ``mode="channel"`` the output has one channel more than the input (``HxWx4``
    for RGB): models then need ``input_shape=(h, w, 4)``.

    Args:
        method: ``"sobel"``, ``"laplacian"`` or ``"canny"``.
        mode: ``"channel"`` or ``"blend"``.
        alpha: edge weight for ``"blend"``, in [0, 1].
        low_threshold: Canny's lower threshold (0-255), >= 0.
        high_threshold: Canny's upper threshold, >= ``low_threshold``.
    """

    input_channels = _GRAY_OR_RGB
    function = staticmethod(F.enhance_edges)

    def __init__(
        self,
        method: str = "sobel",
        mode: str = "channel",
        alpha: float = 0.5,
        low_threshold: float = 50.0,
        high_threshold: float = 150.0,
    ) -> None:
        self._store(locals())

    def output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        h, w, c = _hwc(input_shape)
        if self.mode == "channel" and c is not None:
            c += 1
        return h, w, c


# -- colour spaces ---------------------------------------------------------------------------
@register_transform("convert_color")
class ConvertColor(Transform):
    """RGB to HSV, HLS, CIELAB, YCrCb or gray; see
    `dermnet.transforms.functional.convert_color` (value encodings per dtype).

    Args:
        space: ``"hsv"``, ``"hls"``, ``"lab"``, ``"ycrcb"`` or ``"gray"``.
        channels: for ``"gray"``, 1 or 3 (default 1); otherwise 3 or None.

    Examples:
        >>> ConvertColor("gray", channels=3)(np.zeros((4, 4, 3), np.uint8)).shape
        (4, 4, 3)
    """

    function = staticmethod(F.convert_color)

    def __init__(self, space: str, channels: int | None = None) -> None:
        self._store(locals())

    def output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        h, w, _ = _hwc(input_shape)
        return h, w, self.channels


# -- geometry --------------------------------------------------------------------------------
@register_transform("resize")
class Resize(Transform):
    """Resize to a fixed size; see `dermnet.transforms.functional.resize`.

    Masks passed along (``t(image, mask=m)``) are resized with nearest-neighbour
    interpolation and the same padding or crop.

    Args:
        size: an int or ``(height, width)``.
        mode: ``"stretch"``, ``"pad"`` or ``"crop"``.
        interpolation: ``"auto"``, ``"nearest"``, ``"linear"``, ``"cubic"`` or ``"area"``.
    """

    input_channels = _ANY
    geometric = True
    function = staticmethod(F.resize)

    def __init__(
        self, size: int | tuple[int, int], mode: str = "stretch", interpolation: str = "auto"
    ) -> None:
        self._store(locals())

    def apply_with_mask(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        moved = F.resize(_mask_u8(mask), self.size, self.mode, "nearest")
        return self.apply(image), moved.astype(mask.dtype, copy=False)

    def output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        _, _, c = _hwc(input_shape)
        return self.size[0], self.size[1], c


@register_transform("center_crop")
class CenterCrop(Transform):
    """Cut the central region; see `dermnet.transforms.functional.center_crop`.

    Args:
        size: an int or ``(height, width)``, at most the image size.
    """

    input_channels = _ANY
    geometric = True
    function = staticmethod(F.center_crop)

    def __init__(self, size: int | tuple[int, int]) -> None:
        self._store(locals())

    def apply_with_mask(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.apply(image), F.center_crop(_mask_u8(mask), self.size).astype(mask.dtype)

    def output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        _, _, c = _hwc(input_shape)
        return self.size[0], self.size[1], c


@register_transform("crop_to_mask")
class CropToMask(Transform):
    """Crop to the lesion mask's bounding box with a margin; see
    `dermnet.transforms.functional.crop_to_mask`.

    It needs the mask: call it as ``t(image, mask=mask)`` (which returns the cropped image
    and mask); calling it on an image alone is an error. The output size depends on the
    mask, so follow it with `Resize` for a fixed size.

    Args:
        margin: extra border as a fraction of the box size, >= 0.
        square: make the box square.

    Examples:
        >>> img = np.zeros((100, 100, 3), np.uint8)
        >>> m = np.zeros((100, 100), bool); m[40:60, 30:50] = True
        >>> crop, cropped_mask = CropToMask(margin=0.5)(img, mask=m)
        >>> crop.shape, int(cropped_mask.sum())
        ((40, 40, 3), 400)
    """

    input_channels = _ANY
    geometric = True
    function = staticmethod(F.crop_to_mask)  # its constraints; the crop needs the mask

    def __init__(self, margin: float = 0.1, square: bool = False) -> None:
        self._store(locals())

    def apply(self, image: np.ndarray) -> np.ndarray:
        raise ParameterError(
            "CropToMask needs the lesion mask: call it as transform(image, mask=mask) "
            "(it returns the cropped image and mask)."
        )

    def apply_with_mask(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mask = _check_mask(mask, "CropToMask", image.shape)
        top, left, bottom, right = _crop_box(image.shape, mask, self.margin, self.square)
        return image[top:bottom, left:right].copy(), mask[top:bottom, left:right].copy()

    def output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        _, _, c = _hwc(input_shape)
        return None, None, c


# -- microscopy ------------------------------------------------------------------------------
@register_transform("reinhard_normalize")
class ReinhardNormalize(Transform):
    """Reinhard colour normalisation to target CIELAB statistics; see
    `dermnet.transforms.functional.reinhard_normalize`.

    Build it from statistics, or from a reference image with `from_reference`
    (the statistics, not the image, are stored, so the transform stays a small dict).

    Args:
        target_mean: target CIELAB mean (L, a, b).
        target_std: target CIELAB standard deviation (L, a, b), each >= 0.
        background_threshold: if set, pixels at or below it in every channel (0-255) are
            background: left out of the statistics and unchanged.

    Examples:
        >>> ref = np.dstack([np.full((4, 4), v, np.uint8) for v in (200, 120, 160)])
        >>> t = ReinhardNormalize.from_reference(ref)
        >>> t(np.full((4, 4, 3), 90, np.uint8))[0, 0].tolist()
        [200, 120, 160]
    """

    function = staticmethod(F.reinhard_normalize)

    def __init__(
        self,
        target_mean: Sequence[float],
        target_std: Sequence[float],
        background_threshold: float | None = None,
    ) -> None:
        self._store(locals())

    @classmethod
    def from_reference(
        cls, reference: np.ndarray, background_threshold: float | None = None
    ) -> ReinhardNormalize:
        """Normalise to the statistics of ``reference`` (an ``HxWx3`` RGB image)."""
        mean, std = F.reinhard_stats(reference, background_threshold)
        return cls(mean, std, background_threshold)

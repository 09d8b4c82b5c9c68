"""Edges: an edge-strength map (Sobel, Laplacian, Canny) and images enhanced with it."""

from __future__ import annotations

from typing import Any

import numpy as np

from dermnet._core.validation import fail
from dermnet.transforms._constraints import constrained, number, one_of
from dermnet.transforms.functional.image import (
    _as_float32,
    _gray,
    _gray_u8,
    _restore,
    _value_max,
    image_function,
)

__all__ = ["edge_map", "enhance_edges"]

_EDGE_METHODS = ("sobel", "laplacian", "canny")
_EDGE_MODES = ("channel", "blend")


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
@image_function((1, 3))
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

    top = _value_max(image)
    if method == "canny":
        edges = cv2.Canny(_gray_u8(image), low_threshold, high_threshold)
        edges = edges.astype(np.float32) * (top / 255.0)
    else:
        gray = _gray(_as_float32(image))
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
@image_function((1, 3))
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
    edges = edge_map(image, method, low_threshold, high_threshold)
    if edges.ndim == 2:
        edges = edges[..., None]
    base = image if image.ndim == 3 else image[..., None]
    if mode == "channel":
        return np.concatenate([base, edges], axis=2)
    blended = (1.0 - alpha) * base.astype(np.float32) + alpha * edges.astype(np.float32)
    return _restore(blended.reshape(image.shape), image)
